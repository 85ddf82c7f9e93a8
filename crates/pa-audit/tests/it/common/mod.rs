//! Locating the reference data.

use std::path::{Path, PathBuf};

/// `../shared/data/linux-audit-lab` relative to the repository root; panics with a message when
/// absent.
pub fn lab_dir() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/linux-audit-lab");
    assert!(
        d.join("audit/audit_tagged.log").is_file(),
        "reference data not found at {} (expected ../shared/data/linux-audit-lab next to the \
         repository root with audit/audit_tagged.log); these tests need it",
        d.display()
    );
    d.canonicalize().unwrap_or(d)
}

/// `audit/<name>` of the lab data.
pub fn lab_audit(name: &str) -> PathBuf {
    lab_dir().join("audit").join(name)
}

/// A file's text; panics naming the file.
pub fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// A path as `&str` (the host API takes text paths).
pub fn text(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}
