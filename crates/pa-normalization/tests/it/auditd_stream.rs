//! Stream mode over the real Linux audit captures: every record is normalized, none fails, so
//! the stage's outcome (which degrades to `partial` on any failed record, e.g.
//! `missing_core_field`) stays `success` for a clean capture.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// `../shared/data` beside the repository (relative to this crate's manifest).
fn data(rel: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data")
        .join(rel);
    assert!(p.exists(), "reference data missing: {}", p.display());
    p
}

fn mappings() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../mappings/normalizer/ocsf/1.7.0")
}

#[test]
fn linux_audit_captures_normalize_without_a_failed_record() {
    for (rel, records) in [
        ("linux-audit-lab/audit/audit_tagged.log", 1398),
        ("linux-audit-lab/audit/quirks_sample.log", 257),
    ] {
        let input = data(rel);
        // with the host the stage gives a log without node= (the asset's), and without one
        for host in [Some("linux-audit-lab"), None] {
            let mut out = Vec::new();
            let tally = pa_normalization::stream(
                "auditd",
                &input.display().to_string(),
                Some(&mappings()),
                host,
                &mut out,
            )
            .unwrap_or_else(|e| panic!("{rel}: {e}"));
            assert!(
                tally.failed.is_empty(),
                "{rel} (host {host:?}): failed records {:?}",
                tally.failed
            );
            assert!(tally.uncovered_source_types.is_empty(), "{rel}");
            assert_eq!(tally.records, records, "{rel}");
            assert_eq!(tally.mapped, records, "{rel}: every record is an event");
            assert_eq!(tally.unmapped, 0, "{rel}");
            let text = String::from_utf8(out).expect("utf-8");
            let events: Vec<Value> = text
                .lines()
                .map(|l| serde_json::from_str(l).expect("json line"))
                .collect();
            assert_eq!(events.len() as u64, records, "{rel}");
            for e in &events {
                let class = e["class_uid"].as_u64().expect("class_uid");
                let activity = e["activity_id"].as_u64().expect("activity_id");
                assert_eq!(e["type_uid"].as_u64(), Some(class * 100 + activity), "{e}");
                assert_eq!(e["metadata"]["product"]["name"], "auditd");
            }
        }
    }
}
