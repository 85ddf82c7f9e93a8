//! `pa.run_relpath.v1`: bundle-relative paths that cannot escape the bundle.

/// Check a bundle-relative path: no `\`, NUL, newline, leading or trailing `/`, `//`,
/// `.`/`..` segments, drive letters, or a `runs/<id>/` prefix.
pub fn check(p: &str) -> Result<(), String> {
    if p.is_empty() {
        return Err("empty path".into());
    }
    if p.contains('\\') {
        return Err("contains a backslash".into());
    }
    if p.contains('\0') || p.contains('\n') || p.contains('\r') {
        return Err("contains a control character".into());
    }
    if p.starts_with('/') || p.ends_with('/') {
        return Err("leading or trailing '/'".into());
    }
    if p.contains("//") {
        return Err("empty segment ('//')".into());
    }
    let b = p.as_bytes();
    if b.len() >= 2 && b[1] == b':' && b[0].is_ascii_alphabetic() {
        return Err("drive letter".into());
    }
    for seg in p.split('/') {
        if seg == ".." || seg == "." {
            return Err(format!("'{seg}' segment"));
        }
    }
    if let Some(rest) = p.strip_prefix("runs/") {
        let first = rest.split('/').next().unwrap_or("");
        if crate::layout::validate_run_id(first).is_ok() {
            return Err("starts with runs/<run_id>/: paths are relative to the run".into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn accepts_and_rejects() {
        for ok in [
            "manifest.json",
            "normalized/ocsf_events/part-0000.parquet",
            "a/b.c",
        ] {
            assert!(check(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "/etc/passwd",
            "a/../b",
            "..",
            "a//b",
            "a/",
            "a\\b",
            "C:x",
            "a\nb",
            "./a",
            "runs/123e4567-e89b-42d3-a456-426614174000/manifest.json",
        ] {
            assert!(check(bad).is_err(), "{bad:?}");
        }
    }
}
