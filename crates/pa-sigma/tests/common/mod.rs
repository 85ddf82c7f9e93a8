//! Shared helpers for the integration tests: locating the reference data.

#![allow(dead_code)]

pub mod synth;

use std::path::PathBuf;

/// `../shared/data` relative to the repository root; panics with a message when absent.
pub fn data_dir() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let d = root.join("../shared/data");
    assert!(
        d.join("sigma").is_dir() && d.join("sigma-regression").is_dir(),
        "reference data not found at {} (expected ../shared/data next to the repository root); \
         these tests need the SigmaHQ corpus and regression data",
        d.display()
    );
    d.canonicalize().unwrap_or(d)
}

/// The positive rule directories of the SigmaHQ corpus.
pub fn positive_rule_dirs() -> Vec<PathBuf> {
    let s = data_dir().join("sigma");
    [
        "rules",
        "rules-emerging-threats",
        "rules-threat-hunting",
        "rules-placeholder",
        "rules-compliance",
        "rules-dfir",
    ]
    .iter()
    .map(|d| s.join(d))
    .filter(|p| p.exists())
    .collect()
}
