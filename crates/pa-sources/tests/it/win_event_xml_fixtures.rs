//! `pa.win_event_xml.v1` against the reference fixtures: the 9 `windows_event_xml/v1` cases and
//! `parser_modules/win_event_xml_v1/vectors.json` (codes, offsets and ASTs).

use crate::common;

use base64::Engine;
use pa_sources::winxml;
use serde_json::Value;

fn check(
    case: &str,
    input: &[u8],
    expect_ok: bool,
    expected_ast: Option<&Value>,
    code: Option<&str>,
    offset: Option<u64>,
) {
    match winxml::parse(input) {
        Ok(p) => {
            assert!(expect_ok, "{case}: expected an error {code:?}, got ok");
            let ast = serde_json::to_value(&p.ast).unwrap();
            assert_eq!(Some(&ast), expected_ast, "{case}: AST differs");
        }
        Err(e) => {
            assert!(!expect_ok, "{case}: expected ok, got {e}");
            assert_eq!(Some(e.code()), code, "{case}: {e}");
            assert_eq!(Some(e.location_byte_offset), offset, "{case}: offset ({e})");
            assert!(
                e.to_string().starts_with("pa.win_event_xml.v1: "),
                "{case}: message prefix"
            );
        }
    }
}

#[test]
fn windows_event_xml_v1_cases() {
    let root = common::data("purple-axiom-ref/fixtures/windows_event_xml/v1");
    let mut cases: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    cases.sort();
    assert_eq!(cases.len(), 9, "expected the 9 reference cases");
    let mut codes = Vec::new();
    for dir in cases {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let input = std::fs::read(dir.join("inputs/event.xml")).unwrap();
        let expected: Value =
            serde_json::from_slice(&std::fs::read(dir.join("expected/result.json")).unwrap())
                .unwrap();
        let ok = expected["ok"].as_bool().unwrap();
        check(
            &name,
            &input,
            ok,
            expected.get("ast"),
            expected["error_code"].as_str(),
            expected["location_byte_offset"].as_u64(),
        );
        codes.push(expected["error_code"].as_str().unwrap_or("ok").to_owned());
    }
    codes.sort();
    eprintln!("windows_event_xml v1: {codes:?}");
}

#[test]
fn win_event_xml_v1_parser_vectors() {
    let path =
        common::data("purple-axiom-ref/fixtures/parser_modules/win_event_xml_v1/vectors.json");
    let doc: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    assert_eq!(doc["module_token"], winxml::MODULE_TOKEN);
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() >= 12, "vector file shrank: {}", cases.len());
    for c in cases {
        let id = c["case_id"].as_str().unwrap();
        let input = base64::engine::general_purpose::STANDARD
            .decode(c["input"]["base64"].as_str().unwrap())
            .unwrap();
        let ok = c["expect_ok"].as_bool().unwrap();
        let err = c["expected_errors"].get(0);
        if let Some(e) = err {
            assert_eq!(e["message_prefix"], "pa.win_event_xml.v1: ", "{id}");
        }
        check(
            id,
            &input,
            ok,
            c.get("expected_ast"),
            err.and_then(|e| e["error_code"].as_str()),
            err.and_then(|e| e["location"]["byte_offset"].as_u64()),
        );
    }
}

/// The same 9 cases read as files by the `win-xml` reader: ok cases are yielded, the others
/// are dropped under exactly the expected reason code.
#[test]
fn windows_event_xml_v1_cases_through_the_file_reader() {
    let root = common::data("purple-axiom-ref/fixtures/windows_event_xml/v1");
    let mut cases: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    cases.sort();
    for dir in cases {
        let input = dir.join("inputs/event.xml");
        let expected: Value =
            serde_json::from_slice(&std::fs::read(dir.join("expected/result.json")).unwrap())
                .unwrap();
        assert_eq!(
            pa_sources::sniff(&input).unwrap(),
            pa_sources::SourceFormat::WinXml
        );
        let mut r = pa_sources::open_auto(&input).unwrap();
        let recs: Vec<_> = r.by_ref().map(Result::unwrap).collect();
        let c = r.counters();
        assert_eq!(c.read, 1, "{}", dir.display());
        if expected["ok"] == true {
            assert_eq!(recs.len(), 1);
            assert_eq!(
                recs[0].provenance.record_id,
                expected["ast"]["system"]["event_record_id"]
                    .as_str()
                    .and_then(|s| s.parse().ok())
            );
        } else {
            let code = expected["error_code"].as_str().unwrap();
            assert_eq!(c.dropped.get(code), Some(&1), "{}: {c:?}", dir.display());
        }
    }
}
