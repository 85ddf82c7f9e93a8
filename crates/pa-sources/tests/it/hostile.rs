//! Hostile inputs give the right typed error (or a counted drop), never a panic, and never
//! unbounded memory.

use crate::common;

use std::io::Write;

use pa_sources::winxml::{self, WinXmlErrorKind as K};
use pa_sources::{ReadError, SourceFormat};

const SYSTEM: &str = "<System><Provider Name='P'/><EventID>1</EventID><TimeCreated SystemTime='2026-01-01T00:00:00Z'/><EventRecordID>1</EventRecordID><Channel>Security</Channel><Computer>H</Computer></System>";

fn code(input: &[u8]) -> K {
    winxml::parse(input).unwrap_err().kind
}

#[test]
fn billion_laughs_is_a_disallowed_doctype() {
    let mut doc =
        String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n <!ENTITY lol \"lol\">\n");
    for i in 1..10 {
        let prev = if i == 1 {
            "lol".to_owned()
        } else {
            format!("lol{}", i - 1)
        };
        let refs: String = (0..10).map(|_| format!("&{prev};")).collect();
        doc.push_str(&format!(" <!ENTITY lol{i} \"{refs}\">\n"));
    }
    doc.push_str(&format!(
        "]>\n<Event>{SYSTEM}<EventData><Data>&lol9;</Data></EventData></Event>"
    ));
    assert_eq!(code(doc.as_bytes()), K::DisallowedDoctype);
}

#[test]
fn xxe_is_refused_before_any_resolution() {
    let doc = format!(
        "<!DOCTYPE Event [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]><Event>{SYSTEM}<EventData><Data>&xxe;</Data></EventData></Event>"
    );
    assert_eq!(code(doc.as_bytes()), K::ExternalEntityDisallowed);
    let doc = format!(
        "<!DOCTYPE Event PUBLIC \"-//X//Y\" \"http://example.com/x.dtd\"><Event>{SYSTEM}</Event>"
    );
    assert_eq!(code(doc.as_bytes()), K::ExternalEntityDisallowed);
    // An undeclared entity without any DOCTYPE is not expanded either.
    let doc = format!("<Event>{SYSTEM}<EventData><Data>&xxe;</Data></EventData></Event>");
    assert_eq!(code(doc.as_bytes()), K::NotWellFormed);
}

#[test]
fn deep_nesting_stops_at_the_limit() {
    let n = 200_000;
    let mut doc = String::with_capacity(n * 8 + 400);
    doc.push_str("<Event>");
    doc.push_str(SYSTEM);
    for _ in 0..n {
        doc.push_str("<a>");
    }
    for _ in 0..n {
        doc.push_str("</a>");
    }
    doc.push_str("</Event>");
    let e = winxml::parse(doc.as_bytes()).unwrap_err();
    assert_eq!(e.kind, K::DepthExceeded);
    assert!(e.position < 1000, "stopped early, at {}", e.position);
}

#[test]
fn token_flood_is_refused() {
    let attrs: String = (0..5000).map(|i| format!(" a{i}='x'")).collect();
    let doc = format!("<Event>{SYSTEM}<EventData{attrs}/></Event>");
    assert_eq!(code(doc.as_bytes()), K::TokenLimitExceeded);
}

#[test]
fn oversized_event_is_refused_by_parser_and_reader() {
    let pad = "x".repeat(17 * 1024 * 1024);
    let doc = format!("<Event>{SYSTEM}<EventData><Data>{pad}</Data></EventData></Event>");
    assert_eq!(code(doc.as_bytes()), K::InputTooLarge);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.xml");
    let mut f = std::fs::File::create(&path).unwrap();
    f.write_all(doc.as_bytes()).unwrap();
    f.write_all(format!("<Event>{SYSTEM}</Event>").as_bytes())
        .unwrap();
    drop(f);
    let mut r = pa_sources::open(&path, SourceFormat::WinXml).unwrap();
    let recs: Vec<_> = r.by_ref().map(Result::unwrap).collect();
    assert_eq!(
        recs.len(),
        1,
        "the event after the oversized one is still read"
    );
    assert_eq!(r.counters().dropped.get("xml_input_too_large"), Some(&1));
}

#[test]
fn invalid_utf8_everywhere() {
    let mut doc = format!("<Event>{SYSTEM}<EventData><Data>").into_bytes();
    let at = doc.len();
    doc.extend_from_slice(b"\xff\xfe</Data></EventData></Event>");
    let e = winxml::parse(&doc).unwrap_err();
    assert_eq!(
        (e.kind, e.location_byte_offset),
        (K::InvalidUtf8, at as u64)
    );

    let dir = tempfile::tempdir().unwrap();
    // auditd: invalid bytes are replaced, the line still parses.
    let p = dir.path().join("audit.log");
    std::fs::write(&p, b"type=SYSCALL msg=audit(1.0:1): comm=\"a\xffb\" exe=\"/x\"\ntype=PROCTITLE msg=audit(1.0:1): proctitle=6869\n").unwrap();
    let mut r = pa_sources::open(&p, SourceFormat::Auditd).unwrap();
    let recs: Vec<_> = r.by_ref().map(Result::unwrap).collect();
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].fields["records"][0]["fields"]["comm"], "a\u{fffd}b");
    // NDJSON: an invalid line is a counted drop.
    let p = dir.path().join("osq.ndjson");
    std::fs::write(&p, b"{\"name\":\"\xff\",\"hostIdentifier\":\"h\",\"columns\":{}}\n{\"name\":\"q\",\"hostIdentifier\":\"h\",\"unixTime\":\"1\",\"columns\":{}}\n").unwrap();
    let mut r = pa_sources::open(&p, SourceFormat::Osquery).unwrap();
    assert_eq!(r.by_ref().count(), 1);
    assert_eq!(r.counters().dropped.get("json_invalid"), Some(&1));
}

fn sample_evtx() -> std::path::PathBuf {
    common::data(
        "evtx/EVTX-ATTACK-SAMPLES/AutomatedTestingTools/PanacheSysmon_vs_AtomicRedTeam01.evtx",
    )
}

#[test]
fn truncated_evtx_counts_the_lost_chunk() {
    let bytes = std::fs::read(sample_evtx()).unwrap();
    assert!(
        bytes.len() > 4096 + 2 * 65536,
        "sample has at least two chunks"
    );
    let dir = tempfile::tempdir().unwrap();

    // Cut inside the second chunk: the first chunk is read, the second chunk's records (as its
    // header announces them) are counted as lost, nothing panics.
    let p = dir.path().join("cut.evtx");
    std::fs::write(&p, &bytes[..4096 + 65536 + 30_000]).unwrap();
    let mut r = pa_sources::open(&p, SourceFormat::Evtx).unwrap();
    let kept = r.by_ref().map(Result::unwrap).count();
    let c = r.counters();
    assert!(kept > 0, "{c:?}");
    let first = u64::from_le_bytes(
        bytes[4096 + 65536 + 24..4096 + 65536 + 32]
            .try_into()
            .unwrap(),
    );
    let last = u64::from_le_bytes(
        bytes[4096 + 65536 + 32..4096 + 65536 + 40]
            .try_into()
            .unwrap(),
    );
    assert_eq!(
        c.dropped.get("evtx_incomplete_chunk").copied(),
        Some(last - first + 1),
        "{c:?}"
    );
    assert_eq!(c.read, c.kept + c.dropped_total());
    assert!(c.first_drop_detail["evtx_incomplete_chunk"].contains("cut.evtx"));

    // Cut inside the header: a typed error naming the file.
    let p = dir.path().join("header.evtx");
    std::fs::write(&p, &bytes[..100]).unwrap();
    match pa_sources::open(&p, SourceFormat::Evtx) {
        Err(e @ ReadError::Format { .. }) => assert!(e.to_string().contains("header.evtx"), "{e}"),
        Err(e) => panic!("unexpected error kind: {e}"),
        Ok(_) => panic!("a 100-byte EVTX file must not open"),
    }
}

#[test]
fn corrupted_evtx_never_panics_and_accounts() {
    let bytes = std::fs::read(sample_evtx()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut dropped = 0;
    for round in 0..12 {
        let mut b = bytes.clone();
        for _ in 0..(round + 1) * 40 {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let pos = 4096 + (seed >> 33) as usize % (b.len() - 4096);
            b[pos] ^= (seed >> 24) as u8 | 1;
        }
        let p = dir.path().join(format!("corrupt{round}.evtx"));
        std::fs::write(&p, &b).unwrap();
        let mut r = pa_sources::open(&p, SourceFormat::Evtx).unwrap();
        for item in r.by_ref() {
            let rec = item.unwrap();
            assert!(rec.fields["System"]["EventRecordID"].is_string());
        }
        let c = r.counters();
        assert_eq!(c.read, c.kept + c.dropped_total(), "round {round}: {c:?}");
        dropped += c.dropped_total();
    }
    assert!(dropped > 0, "the corruption must have hit some records");
}

#[test]
fn unknown_format_is_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.bin");
    std::fs::write(&p, b"\x00\x01garbage").unwrap();
    match pa_sources::open_auto(&p) {
        Err(e @ ReadError::UnknownFormat { .. }) => assert!(e.to_string().contains("x.bin")),
        Err(e) => panic!("unexpected: {e}"),
        Ok(_) => panic!("garbage must not open"),
    }
    match pa_sources::open(&dir.path().join("missing.evtx"), SourceFormat::Evtx) {
        Err(e @ ReadError::Io { .. }) => assert!(e.file().ends_with("missing.evtx")),
        Err(e) => panic!("unexpected: {e}"),
        Ok(_) => panic!("a missing file must not open"),
    }
}
