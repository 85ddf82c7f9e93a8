//! `pa.auditd_record_kv.v1` against `parser_modules/auditd_record_kv_v1/vectors.json`.

use crate::common;

use pa_sources::auditd;
use serde_json::Value;

#[test]
fn auditd_record_kv_v1_vectors() {
    let path =
        common::data("purple-axiom-ref/fixtures/parser_modules/auditd_record_kv_v1/vectors.json");
    let doc: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    assert_eq!(doc["module_token"], auditd::MODULE_TOKEN);
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() >= 12, "vector file shrank: {}", cases.len());
    let (mut oks, mut errs) = (0, 0);
    for c in cases {
        let id = c["case_id"].as_str().unwrap();
        assert_eq!(c["input_kind"], "utf8_text", "{id}");
        let input = c["input"]["utf8"].as_str().unwrap();
        match auditd::parse_record(input) {
            Ok(r) => {
                assert!(c["expect_ok"].as_bool().unwrap(), "{id}: expected an error");
                let ast = serde_json::to_value(r.ast()).unwrap();
                assert_eq!(ast, c["expected_ast"], "{id}: AST differs");
                oks += 1;
            }
            Err(e) => {
                assert!(
                    !c["expect_ok"].as_bool().unwrap(),
                    "{id}: expected ok, got {e}"
                );
                let exp = &c["expected_errors"][0];
                assert_eq!(e.code(), exp["error_code"].as_str().unwrap(), "{id}: {e}");
                assert_eq!(
                    Some(e.byte_offset),
                    exp["location"]["byte_offset"].as_u64(),
                    "{id}: {e}"
                );
                assert!(
                    e.to_string()
                        .starts_with(exp["message_prefix"].as_str().unwrap()),
                    "{id}"
                );
                errs += 1;
            }
        }
    }
    assert_eq!((oks, errs), (5, 7));
}
