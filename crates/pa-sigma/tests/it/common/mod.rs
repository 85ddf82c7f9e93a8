//! Shared helpers for the integration tests: locating the reference data and walking it.

#![allow(dead_code)]

pub mod synth;

use std::path::{Path, PathBuf};

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

/// Every file under `dir` (recursively, each directory's entries in sorted order) that `keep`
/// accepts, appended to `out`. A directory that cannot be read is skipped.
pub fn files_where(dir: &Path, keep: &dyn Fn(&Path) -> bool, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files_where(&p, keep, out);
        } else if keep(&p) {
            out.push(p);
        }
    }
}

/// Every file under `dir` whose extension is one of `exts` (see [`files_where`]).
pub fn files(dir: &Path, exts: &[&str], out: &mut Vec<PathBuf>) {
    files_where(
        dir,
        &|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| exts.contains(&e))
        },
        out,
    );
}
