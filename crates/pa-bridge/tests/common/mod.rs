//! Shared helpers of the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// `../shared/data` relative to the repository root; fails loudly when absent.
pub fn shared_data() -> PathBuf {
    let p = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data"));
    assert!(
        p.is_dir(),
        "reference data not found at {} (expected ../shared/data beside the repository)",
        p.display()
    );
    p.to_path_buf()
}

/// The repository's `mappings/bridge` directory.
pub fn bridge_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../mappings/bridge"
    ))
}

/// The crate's JSON Schemas.
pub fn schema(name: &str) -> serde_json::Value {
    let p = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/schemas")).join(name);
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Validate `doc` against the schema file `name`, panicking with every error.
pub fn assert_valid(name: &str, doc: &serde_json::Value) {
    let s = schema(name);
    let v = jsonschema::validator_for(&s).unwrap_or_else(|e| panic!("{name}: bad schema: {e}"));
    let errors: Vec<String> = v
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{name}: {errors:#?}");
}
