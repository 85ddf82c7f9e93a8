//! Output freeze: one SHA-256 over every outcome of the normalizer on real data, in a fixed
//! order, so that optimisations of the interpreter provably leave every event byte-identical.
//!
//! Input: every record of EVTX-ATTACK-SAMPLES (files sorted by path) and of the linux-audit-lab
//! captures (`audit_tagged.log`, `quirks_sample.log`), each record's `provenance.file` made
//! relative to the reference-data folder (so the digest does not depend on where the checkout
//! lives). Records of source type `windows-other` are skipped (their profile is edited
//! elsewhere). Two contexts are used: the bare test context, and one with every optional
//! member set (`raw_ref`, `collector_version`, default `host`).
//!
//! Per record, in order, the digest absorbs one line: `M <JCS of the event>`,
//! `B <event_type> <JCS of the fallback event>`, `U <event_type>` or `F <reason_code> <message>`. A second digest absorbs each mapped event
//! serialized in its own member order (`serde_json::to_vec`), so member order is frozen too.
//!
//! When a profile change under `windows-sysmon`, `windows-security`, `windows-system`,
//! `windows-powershell`, `linux-auditd` or `osquery` changes outputs on purpose, update
//! [`EXPECTED`] (the test prints the new value).

use crate::common;

use std::path::Path;

use pa_ocsf::{EventContext, Normalized};
use pa_sources::{SourceRecord, SourceType};
use serde_json::json;
use sha2::{Digest, Sha256};

/// The digest of the same mapped events serialized in their member (insertion) order: the
/// order downstream writers see.
const EXPECTED_ORDERED: &str = "ee56e087a6e735a880ed3de56ad16dd6ed23ce1d41abc0330e2aeac096cdf483";

/// The digest of the mapped events in canonical (JCS) form. Both digests change when a profile
/// changes what it emits: update them in the same commit, saying why.
const EXPECTED: &str = "cbce13a725f919b5a4fade1e21a113b8e607e927f5150b0b547ea7ced8bd8a8a";

fn corpus_records() -> Vec<SourceRecord> {
    let data = common::data_dir();
    let mut files = common::files_with_ext(&common::data("evtx/EVTX-ATTACK-SAMPLES"), "evtx");
    assert!(
        files.len() > 200,
        "only {} EVTX files under the reference data",
        files.len()
    );
    files.push(common::data("linux-audit-lab/audit/audit_tagged.log"));
    files.push(common::data("linux-audit-lab/audit/quirks_sample.log"));
    let mut out = Vec::new();
    for f in &files {
        let rel = f
            .strip_prefix(&data)
            .unwrap_or(Path::new("?"))
            .to_string_lossy()
            .into_owned();
        let reader = if f.extension().is_some_and(|x| x == "evtx") {
            match pa_sources::open(f, pa_sources::SourceFormat::Evtx) {
                Ok(r) => r,
                Err(_) => continue, // not an EVTX file despite the extension
            }
        } else {
            pa_sources::open_auto(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()))
        };
        for r in reader {
            let Ok(mut rec) = r else { break };
            if rec.source_type == SourceType::WindowsOther {
                continue;
            }
            rec.provenance.file = rel.clone();
            out.push(rec);
        }
    }
    out
}

fn absorb(h: &mut Sha256, ordered: &mut Sha256, out: &Normalized) {
    if let Normalized::Mapped(ev) = out {
        ordered.update(serde_json::to_vec(ev).expect("a mapped event serializes"));
        ordered.update(b"\n");
    }
    match out {
        Normalized::Mapped(ev) => {
            h.update(b"M ");
            h.update(pa_canon::jcs_value(ev).expect("a mapped event is canonicalizable"));
        }
        Normalized::Unmapped { event_type } => {
            h.update(b"U ");
            h.update(event_type.as_bytes());
        }
        Normalized::Fallback { event, event_type } => {
            h.update(b"B ");
            h.update(event_type.as_bytes());
            h.update(b" ");
            h.update(pa_canon::jcs_value(event).expect("a fallback event is canonicalizable"));
        }
        Normalized::Failed {
            reason_code,
            message,
        } => {
            h.update(b"F ");
            h.update(reason_code.as_bytes());
            h.update(b" ");
            h.update(message.as_bytes());
        }
    }
    h.update(b"\n");
}

#[test]
fn outputs_are_frozen() {
    let records = corpus_records();
    assert!(records.len() > 6000, "only {} records", records.len());
    let n = common::normalizer();
    let bare = common::ctx();
    let full = EventContext {
        run_id: "run-digest",
        scenario_id: "scenario-digest",
        raw_ref: Some(
            json!({"kind": "dataset_row_v1", "path": "raw_parquet/x", "row_locator": {"row": 1}}),
        ),
        normalizer_version: "0.1.0-digest",
        collector_version: Some("collector-9"),
        host: Some("lab-host"),
    };
    let mut h = Sha256::new();
    let mut ordered = Sha256::new();
    let (mut mapped, mut unmapped, mut failed) = (0u64, 0u64, 0u64);
    for ctx in [&bare, &full] {
        for rec in &records {
            let out = n.normalize(rec, ctx);
            match &out {
                Normalized::Mapped(_) => mapped += 1,
                Normalized::Unmapped { .. } | Normalized::Fallback { .. } => unmapped += 1,
                Normalized::Failed { .. } => failed += 1,
            }
            absorb(&mut h, &mut ordered, &out);
        }
    }
    let got = hex::encode(h.finalize());
    let got_ordered = hex::encode(ordered.finalize());
    println!(
        "records={} mapped={mapped} unmapped={unmapped} failed={failed} digest={got} ordered={got_ordered}",
        records.len()
    );
    assert!(mapped > 8_000, "only {mapped} mapped events");
    assert_eq!(
        got,
        EXPECTED,
        "normalizer outputs changed (records={}, mapped={mapped}, unmapped={unmapped}, failed={failed})",
        records.len()
    );
    assert_eq!(
        got_ordered, EXPECTED_ORDERED,
        "member order of the emitted events changed (the JCS digest still matches)"
    );
}
