//! `pa.run_relpath.v1`: bundle-relative paths that cannot escape the bundle.

/// Why a path is not a valid bundle-relative path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RelPathError {
    /// The empty string.
    #[error("empty path")]
    Empty,
    /// A `\` (a Windows separator).
    #[error("contains a backslash")]
    Backslash,
    /// NUL, CR or LF.
    #[error("contains a control character")]
    ControlCharacter,
    /// Absolute, or a directory form.
    #[error("leading or trailing '/'")]
    LeadingOrTrailingSlash,
    /// `//`.
    #[error("empty segment ('//')")]
    EmptySegment,
    /// `C:`.
    #[error("drive letter")]
    DriveLetter,
    /// A `.` or `..` segment.
    #[error("'{0}' segment")]
    DotSegment(&'static str),
    /// `runs/<run_id>/...`: the path names the run instead of being relative to it.
    #[error("starts with runs/<run_id>/: paths are relative to the run")]
    RunPrefix,
}

/// Check a bundle-relative path: no `\`, NUL, newline, leading or trailing `/`, `//`,
/// `.`/`..` segments, drive letters, or a `runs/<id>/` prefix.
pub fn check(p: &str) -> Result<(), RelPathError> {
    if p.is_empty() {
        return Err(RelPathError::Empty);
    }
    if p.contains('\\') {
        return Err(RelPathError::Backslash);
    }
    if p.contains('\0') || p.contains('\n') || p.contains('\r') {
        return Err(RelPathError::ControlCharacter);
    }
    if p.starts_with('/') || p.ends_with('/') {
        return Err(RelPathError::LeadingOrTrailingSlash);
    }
    if p.contains("//") {
        return Err(RelPathError::EmptySegment);
    }
    let b = p.as_bytes();
    if b.len() >= 2 && b[1] == b':' && b[0].is_ascii_alphabetic() {
        return Err(RelPathError::DriveLetter);
    }
    for seg in p.split('/') {
        match seg {
            ".." => return Err(RelPathError::DotSegment("..")),
            "." => return Err(RelPathError::DotSegment(".")),
            _ => {}
        }
    }
    if let Some(rest) = p.strip_prefix("runs/") {
        let first = rest.split('/').next().unwrap_or("");
        if crate::layout::validate_run_id(first).is_ok() {
            return Err(RelPathError::RunPrefix);
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
