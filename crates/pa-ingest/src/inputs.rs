//! Resolving a source's configured paths into a sorted list of input files.

use std::path::{Path, PathBuf};

/// A configured input path that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("{}: {error}", path.display())]
pub struct InputPathError {
    /// The configured path (joined to the range's directory).
    pub path: PathBuf,
    /// What the file system said (in the message; not exposed as a `source()`).
    pub error: std::io::Error,
}

/// Expand files and directories (recursively, regular files only, sorted by path bytes),
/// relative to `base`. A path that does not exist is reported, not skipped silently.
pub fn expand(
    base: &Path,
    paths: &[String],
    extensions: &[&str],
) -> Result<Vec<PathBuf>, InputPathError> {
    let mut out = Vec::new();
    for p in paths {
        let full = base.join(p);
        let err = |error| InputPathError {
            path: full.clone(),
            error,
        };
        let meta = std::fs::metadata(&full).map_err(err)?;
        if meta.is_dir() {
            walk(&full, extensions, &mut out).map_err(err)?;
        } else {
            out.push(full);
        }
    }
    out.sort_by(|a, b| {
        a.as_os_str()
            .as_encoded_bytes()
            .cmp(b.as_os_str().as_encoded_bytes())
    });
    out.dedup();
    Ok(out)
}

fn walk(dir: &Path, extensions: &[&str], out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let p = entry.path();
        let ft = entry.file_type()?;
        if ft.is_dir() {
            walk(&p, extensions, out)?;
        } else if ft.is_file() {
            let ext = p
                .extension()
                .and_then(|e| e.to_str())
                .unwrap_or("")
                .to_ascii_lowercase();
            if extensions.is_empty() || extensions.contains(&ext.as_str()) {
                out.push(p);
            }
        }
    }
    Ok(())
}

/// `sha256:<hex>` of a file, streamed.
pub fn file_sha256(p: &Path) -> std::io::Result<String> {
    use sha2::{Digest, Sha256};
    use std::io::Read;
    let mut f = std::fs::File::open(p)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(format!("sha256:{}", hex::encode(h.finalize())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_sorted_and_reports_missing() {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(t.path().join("d/sub")).unwrap();
        std::fs::write(t.path().join("d/b.evtx"), b"x").unwrap();
        std::fs::write(t.path().join("d/sub/a.evtx"), b"x").unwrap();
        std::fs::write(t.path().join("d/notes.txt"), b"x").unwrap();
        std::fs::write(t.path().join("single.log"), b"x").unwrap();
        let files = expand(t.path(), &["d".into(), "single.log".into()], &["evtx"]).unwrap();
        let names: Vec<String> = files
            .iter()
            .map(|p| p.strip_prefix(t.path()).unwrap().display().to_string())
            .collect();
        assert_eq!(names, ["d/b.evtx", "d/sub/a.evtx", "single.log"]);
        let e = expand(t.path(), &["nope.evtx".into()], &[]).unwrap_err();
        assert!(e.to_string().contains("nope.evtx"), "{e}");
        assert!(
            file_sha256(&t.path().join("single.log"))
                .unwrap()
                .starts_with("sha256:2d711642")
        );
    }
}
