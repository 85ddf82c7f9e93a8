//! Helpers shared by the modules: locating the repository and the reference data.

use std::path::PathBuf;

/// The repository root (two levels above this crate).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A file or directory under `../shared/data` beside the repository; panics with a clear
/// message when absent.
pub fn data(rel: &str) -> PathBuf {
    let p = root().join("../shared/data").join(rel);
    assert!(
        p.exists(),
        "reference data missing at {}: the tests need ../shared beside the repository",
        p.display()
    );
    p
}
