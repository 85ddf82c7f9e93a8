//! The Purple Axiom reference vectors: RFC 8785 (`fixtures/jcs`) and identity hash
//! bases (`fixtures/hash_basis`) must reproduce byte for byte.

use std::path::PathBuf;

fn fixtures() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/purple-axiom-ref/fixtures");
    assert!(
        p.is_dir(),
        "reference data not found at {}: clone the repository with ../shared beside it",
        p.display()
    );
    p
}

fn read(p: &PathBuf) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn every_jcs_vector_reproduces() {
    let dir = fixtures().join("jcs");
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".input.json"))
        .collect();
    inputs.sort();
    assert!(
        inputs.len() >= 4,
        "expected the jcs vectors in {}",
        dir.display()
    );
    for input in inputs {
        let stem = input
            .to_string_lossy()
            .trim_end_matches(".input.json")
            .to_string();
        let value: serde_json::Value = serde_json::from_str(&read(&input)).unwrap();
        let bytes = pa_canon::jcs_value(&value).unwrap();
        let hex_expected: String = read(&PathBuf::from(format!("{stem}.expected.utf8hex")))
            .split_whitespace()
            .collect();
        assert_eq!(hex::encode(&bytes), hex_expected.to_lowercase(), "{stem}");
        let sha = PathBuf::from(format!("{stem}.expected.sha256"));
        if sha.exists() {
            assert_eq!(pa_canon::sha256_hex(&bytes), read(&sha).trim(), "{stem}");
        }
    }
}

#[test]
fn every_hash_basis_reproduces() {
    let dir = fixtures().join("hash_basis");
    let cases = [
        (
            "action_key_basis_v1.json",
            "action_key_basis_v1.expected.action_key.sha256",
        ),
        (
            "command_material_v1_redacted.json",
            "command_material_v1_redacted.expected.command_sha256",
        ),
    ];
    for (input, expected) in cases {
        let value: serde_json::Value = serde_json::from_str(&read(&dir.join(input))).unwrap();
        let got = pa_canon::jcs_sha256_hex(&value).unwrap();
        assert_eq!(got, read(&dir.join(expected)).trim(), "{input}");
    }
}
