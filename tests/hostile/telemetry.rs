//! Hostile telemetry: event XML with a DTD, external entities, entity expansion, nesting and
//! token floods (`--source win-xml`; the `windows_event_xml/v1` reference cases and generated
//! ones), and malformed Linux audit records (`--source auditd`). Each bad record is dropped with
//! its reason code and the file (stream mode says so on stderr; the telemetry stage accounts for
//! it in `logs/telemetry_validation.json`), the good records around it still come through.

use crate::{RUN_ID, run, stderr, tool};
use pa_e2e::{ReplayCase, read_json, shared_data};
use std::path::{Path, PathBuf};

fn normalize(source: &str, input: &Path) -> (std::process::Output, usize) {
    let out = run(
        tool("pa-normalize")
            .args(["--source", source, "--input"])
            .arg(input),
        &format!("pa-normalize --source {source} {}", input.display()),
    );
    let lines = String::from_utf8_lossy(&out.stdout).lines().count();
    (out, lines)
}

/// The dropped-record line of `code` on stderr, naming `file`.
fn dropped(err: &str, code: &str, file: &Path) -> bool {
    err.lines()
        .any(|l| l.contains(&format!("dropped × {code}, first: {}", file.display())))
}

#[test]
fn the_windows_event_xml_reference_cases_through_the_cli() {
    let root = shared_data().join("purple-axiom-ref/fixtures/windows_event_xml/v1");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("fixture")
        .map(|e| e.expect("entry").path())
        .collect();
    cases.sort();
    assert_eq!(cases.len(), 9);
    for case in cases {
        let expected = read_json(&case.join("expected/result.json"));
        let input = case.join("inputs/event.xml");
        let (out, lines) = normalize("win-xml", &input);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(0), "{}: {err}", case.display());
        match expected["error_code"].as_str() {
            None => assert_eq!(lines, 1, "{}: {err}", case.display()),
            Some(code) => {
                assert_eq!(lines, 0, "{}", case.display());
                assert!(dropped(&err, code, &input), "{}: {err}", case.display());
            }
        }
    }
}

/// One good event (from the reference cases).
fn good_event() -> String {
    std::fs::read_to_string(shared_data().join(
        "purple-axiom-ref/fixtures/windows_event_xml/v1/well_formed_default_namespace_minimal_identity/inputs/event.xml",
    ))
    .expect("fixture")
}

/// Hostile event XML documents, each with the reason code it must be dropped with.
fn hostile_xml() -> Vec<(&'static str, String, &'static str)> {
    let mut lol = String::from("<!ENTITY lol \"lol\">");
    for i in 1..10 {
        let prev = if i == 1 {
            "lol".to_string()
        } else {
            format!("lol{}", i - 1)
        };
        lol.push_str(&format!(
            "<!ENTITY lol{i} \"{}\">",
            format!("&{prev};").repeat(10)
        ));
    }
    vec![
        (
            "billion-laughs",
            format!("<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [{lol}]>\n<Event><System><Provider Name=\"&lol9;\"/></System></Event>\n"),
            "xml_disallowed_doctype",
        ),
        (
            "xxe",
            "<?xml version=\"1.0\"?>\n<!DOCTYPE Event [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n<Event><System><Computer>&xxe;</Computer></System></Event>\n".into(),
            "xml_external_entity_disallowed",
        ),
        (
            "undeclared-entity",
            "<Event><System><Computer>&undefined;</Computer></System></Event>\n".into(),
            "xml_not_well_formed",
        ),
        (
            "depth",
            format!("<Event><System>{}{}</System></Event>\n", "<a>".repeat(200_000), "</a>".repeat(200_000)),
            "xml_depth_exceeded",
        ),
        (
            "elements",
            format!("<Event><System>{}</System></Event>\n", "<a/>".repeat(2_000_000)),
            "xml_token_limit_exceeded",
        ),
        (
            "attributes",
            format!(
                "<Event><System><Provider {}/></System></Event>\n",
                (0..500_000).map(|i| format!("a{i}=\"1\"")).collect::<Vec<_>>().join(" ")
            ),
            "xml_token_limit_exceeded",
        ),
        (
            "huge-text",
            format!("<Event><System><Computer>{}</Computer></System></Event>\n", "A".repeat(17 << 20)),
            "xml_input_too_large",
        ),
        (
            "unclosed",
            format!("<Event><System>{}", "x".repeat(1 << 20)),
            "xml_not_well_formed",
        ),
    ]
}

#[test]
fn hostile_event_xml_is_dropped_with_its_reason_and_the_good_event_kept() {
    let t = tempfile::tempdir().expect("tempdir");
    for (name, doc, code) in hostile_xml() {
        let f = t.path().join(format!("{name}.xml"));
        // The unclosed element swallows whatever follows it: its file has nothing after it.
        let body = if name == "unclosed" {
            format!("{}{doc}", good_event())
        } else {
            format!("{doc}{}", good_event())
        };
        std::fs::write(&f, body).expect("xml");
        let (out, lines) = normalize("win-xml", &f);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(0), "{name}: {err}");
        assert_eq!(lines, 1, "{name}: the good event is kept: {err}");
        assert!(dropped(&err, code, &f), "{name}: {err}");
    }
}

/// Audit records that are not what auditd writes, with the reason each is dropped for (none:
/// read, but must not break the reader).
fn hostile_audit() -> String {
    let mut lines = vec![
        "type=SYSCALL msg=audit(abc:xyz): arch=c000003e".to_string(),
        "type=SYSCALL msg=audit(1700000000.123:42".into(),
        "type=EXECVE msg=audit(1700000000.123:43): argc=2 a0=\"unterminated a1=41".into(),
        "garbage without any structure at all".into(),
        "type= msg=audit(1700000000.123:44): ".into(),
        "type=SYSCALL msg=audit(99999999999999999999.123:45): x=1".into(),
        "type=SYSCALL msg=audit(1700000000.123:18446744073709551616): x=1".into(),
        // A forged argc: the reader must not try to allocate 2 TB.
        "type=EXECVE msg=audit(1700000000.123:46): argc=99999999999 a0=\"id\"".into(),
        format!(
            "type=PATH msg=audit(1700000000.123:47): name={}",
            "A".repeat(2 << 20)
        ),
        "type=SYSCALL msg=audit(1700000000.123:48): \u{1}\u{2} key=\u{7f}".into(),
    ];
    // A record flood for one event, then records of it after it was emitted.
    for i in 0..10_000 {
        lines.push(format!(
            "type=PATH msg=audit(1700000001.000:50): item={i} name=\"x\""
        ));
    }
    lines.join("\n") + "\n"
}

#[test]
fn malformed_audit_records_are_dropped_with_their_reasons() {
    let t = tempfile::tempdir().expect("tempdir");
    let good =
        std::fs::read_to_string(shared_data().join("linux-audit-lab/audit/quirks_sample.log"))
            .expect("audit sample");
    let good: String = good.lines().take(40).map(|l| format!("{l}\n")).collect();
    let f = t.path().join("audit.log");
    std::fs::write(&f, format!("{good}{}{good}", hostile_audit())).expect("audit.log");
    let (out, lines) = normalize("auditd", &f);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(lines > 0, "{err}");
    for code in [
        "missing_correlation_key",
        "missing_required_field",
        "unterminated_quote",
        "line_too_long",
    ] {
        assert!(dropped(&err, code, &f), "{code}: {err}");
    }
}

/// The same inputs as telemetry sources of a run: the stage succeeds, and its accounting names
/// every reason and file.
#[test]
fn the_telemetry_stage_accounts_for_every_hostile_record() {
    let t = tempfile::tempdir().expect("tempdir");
    let mut xml = Vec::new();
    for (name, doc, _) in hostile_xml() {
        if name == "unclosed" {
            continue;
        }
        let f = t.path().join(format!("{name}.xml"));
        std::fs::write(&f, format!("{doc}{}", good_event())).expect("xml");
        xml.push(serde_json::to_string(&f.display().to_string()).expect("path"));
    }
    let audit = t.path().join("audit.log");
    std::fs::write(&audit, hostile_audit()).expect("audit");
    let case = ReplayCase::new(
        "hostile-telemetry",
        RUN_ID,
        &["lab_provider", "telemetry", "normalization"],
        &format!(
            "telemetry:\n  sources:\n    - {{source_id: xml, format: win-xml, asset_id: host, paths: [{}]}}\n    - {{source_id: audit, format: auditd, asset_id: lin-a, paths: [{}]}}\n",
            xml.join(", "),
            serde_json::to_string(&audit.display().to_string()).expect("path")
        ),
    );
    let out = case.orchestrate();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert!(matches!(out.status.code(), Some(0 | 10)), "{err}");
    assert_eq!(case.outcome("telemetry")["status"], "success");
    let tv = read_json(&case.run_dir().join("logs/telemetry_validation.json"));
    let source = |id: &str| {
        tv["sources"]
            .as_array()
            .expect("sources")
            .iter()
            .find(|s| s["source_id"] == id)
            .cloned()
            .expect("source")
    };
    let xml = source("xml");
    for (name, _, code) in hostile_xml() {
        if name != "unclosed" {
            assert!(
                xml["drop_reasons"][code].as_u64() > Some(0),
                "{code}: {xml}"
            );
        }
    }
    assert_eq!(xml["records_kept"], 7, "{xml}");
    let audit = source("audit");
    for code in [
        "missing_correlation_key",
        "unterminated_quote",
        "line_too_long",
    ] {
        assert!(
            audit["drop_reasons"][code].as_u64() > Some(0),
            "{code}: {audit}"
        );
    }
    let read = audit["records_read"].as_u64().expect("read");
    let kept = audit["records_kept"].as_u64().expect("kept");
    let dropped = audit["records_dropped"].as_u64().expect("dropped");
    assert_eq!(read, kept + dropped, "{audit}");
}
