//! Shared helpers for the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The reference data folder (`../shared/data` relative to the repository root).
/// Panics with a clear message when it is absent: these tests must not pass silently.
pub fn data_dir() -> PathBuf {
    let p = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data"));
    assert!(
        p.is_dir(),
        "reference data not found at {} (expected ../shared/data relative to the repository root)",
        p.display()
    );
    p
}

/// A path inside the reference data, which must exist.
pub fn data(rel: &str) -> PathBuf {
    let p = data_dir().join(rel);
    assert!(p.exists(), "reference data file missing: {}", p.display());
    p
}

/// Every file under `dir` (recursively, each directory's entries in sorted order) whose
/// extension is `ext` (ASCII case-insensitive), appended to `out`.
pub fn files_with_ext(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files_with_ext(&p, ext, out);
        } else if p
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case(ext))
        {
            out.push(p);
        }
    }
}
