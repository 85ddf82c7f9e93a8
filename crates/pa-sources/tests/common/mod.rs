//! Shared helpers for the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

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
