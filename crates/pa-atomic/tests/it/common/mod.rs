//! Locating the reference data.

use std::path::{Path, PathBuf};

/// `../shared/data` relative to the repository root; panics with a message when absent.
pub fn data_dir() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let d = root.join("../shared/data");
    assert!(
        d.join("atomics").is_dir() && d.join("purple-axiom-ref/fixtures").is_dir(),
        "reference data not found at {} (expected ../shared/data next to the repository root \
         with atomics/ and purple-axiom-ref/fixtures/); these tests need it",
        d.display()
    );
    d.canonicalize().unwrap_or(d)
}

/// `purple-axiom-ref/fixtures`.
pub fn fixtures() -> PathBuf {
    data_dir().join("purple-axiom-ref/fixtures")
}

/// A file's text; panics naming the file.
pub fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// A JSON file.
pub fn read_json(p: &Path) -> serde_json::Value {
    serde_json::from_str(&read(p)).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}
