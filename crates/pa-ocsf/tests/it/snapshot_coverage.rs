//! Snapshot and coverage documents: shape, determinism, sensitivity to the mapping files.

use crate::common;

use pa_ocsf::{Coverage, Normalized, Normalizer};
use serde_json::{Value, json};

#[test]
fn snapshot_is_deterministic_and_digests_the_files() {
    let a = pa_canon::to_value(&common::normalizer().snapshot_document()).expect("json");
    let b = pa_canon::to_value(&common::normalizer().snapshot_document()).expect("json");
    assert_eq!(
        pa_canon::jcs_value(&a).expect("jcs"),
        pa_canon::jcs_value(&b).expect("jcs")
    );
    assert_eq!(a["ocsf_version"], "1.7.0");
    let sps = a["source_profiles"].as_array().expect("source_profiles");
    let names: Vec<&str> = sps
        .iter()
        .filter_map(|s| s["source_type"].as_str())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    for sp in sps {
        let files = sp["mapping_files"].as_array().expect("files");
        assert!(files.len() >= 3, "{sp}");
        // mapping_material_sha256 = hex(sha256(JCS(sorted files)))
        let want = pa_canon::sha256_hex(&pa_canon::jcs_value(&sp["mapping_files"]).expect("jcs"));
        assert_eq!(sp["mapping_material_sha256"], want.as_str());
        for f in files {
            let p = common::mappings_dir().join(f["path"].as_str().expect("path"));
            let bytes = std::fs::read(&p).expect("mapping file exists");
            assert_eq!(
                f["sha256"],
                pa_canon::sha256_hex(&bytes).as_str(),
                "{}",
                p.display()
            );
        }
    }
    let basis = serde_json::json!({
        "ocsf_version": a["ocsf_version"],
        "mapping_profile_id": a["mapping_profile_id"],
        "mapping_profile_version": a["mapping_profile_version"],
        "source_profiles": sps.iter().map(|s| serde_json::json!({
            "source_type": s["source_type"], "profile": s["profile"],
            "mapping_material_sha256": s["mapping_material_sha256"]})).collect::<Vec<_>>(),
    });
    assert_eq!(
        a["mapping_profile_sha256"],
        pa_canon::sha256_hex(&pa_canon::jcs_value(&basis).expect("jcs")).as_str()
    );
}

#[test]
fn snapshot_changes_when_a_mapping_file_changes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let src = common::mappings_dir();
    let status = std::process::Command::new("cp")
        .arg("-r")
        .arg(format!("{}/.", src.display()))
        .arg(tmp.path())
        .status()
        .expect("cp");
    assert!(status.success());
    let before = Normalizer::load(tmp.path())
        .expect("loads")
        .mapping_profile_sha256();
    let f = tmp
        .path()
        .join("windows-sysmon/classes/dns_activity_4003.yaml");
    let text = std::fs::read_to_string(&f).expect("read") + "\n# comment\n";
    std::fs::write(&f, text).expect("write");
    let after = Normalizer::load(tmp.path())
        .expect("loads")
        .mapping_profile_sha256();
    assert_ne!(before, after);
    assert_eq!(before, common::normalizer().mapping_profile_sha256());
}

#[test]
fn coverage_counts_and_sorts() {
    let n = common::normalizer();
    let ctx = common::ctx();
    let mut cov = Coverage::new(&n);
    let dir = common::data("purple-axiom-ref/fixtures/raw/windows_security");
    let mut total = 0;
    for f in common::files_with_ext(&dir, "json") {
        for r in common::records(&f) {
            let out = n.normalize(&r, &ctx);
            assert!(matches!(out, Normalized::Mapped(_)));
            cov.add(&r, &out);
            // the same record with an event id no route names is a fallback Base Event
            let mut u = r.clone();
            u.fields["System"]["EventID"] = Value::String("4799".into());
            let out = n.normalize(&u, &ctx);
            assert!(
                matches!(&out, Normalized::Fallback { event_type, event }
                    if event_type == "windows-security:4799" && event["class_uid"] == 0),
                "{out:?}"
            );
            cov.add(&u, &out);
            // and with a broken timestamp it fails with the reason
            let mut b = r.clone();
            b.fields["System"]["TimeCreated"]["SystemTime"] = Value::String("yesterday".into());
            let out = n.normalize(&b, &ctx);
            assert!(
                matches!(
                    out,
                    Normalized::Failed {
                        reason_code: "timestamp_parse_failed",
                        ..
                    }
                ),
                "{out:?}"
            );
            cov.add(&b, &out);
            total += 3;
        }
    }
    let doc = pa_canon::to_value(&cov.document("abc")).expect("json");
    assert_eq!(doc["mapping_profile_sha256"], "abc");
    assert_eq!(doc["events_total"], total);
    assert_eq!(doc["events_mapped"], total / 3);
    assert_eq!(doc["events_fallback"], total / 3);
    assert_eq!(doc["events_unmapped"], 0);
    assert_eq!(doc["mapped_pct"], 0.3333);
    assert_eq!(doc["unknown_event_types"], json!([]));
    assert_eq!(
        doc["fallback_event_types"],
        json!([{"source_type": "windows-security", "event_type": "windows-security:4799", "count": total / 3}])
    );
    assert_eq!(
        doc["source_types"][0]["fallback_event_types"],
        json!([{"event_type": "windows-security:4799", "count": total / 3}])
    );
    let classes = doc["classes"].as_array().expect("classes");
    let uids: Vec<u64> = classes
        .iter()
        .filter_map(|c| c["class_uid"].as_u64())
        .collect();
    assert_eq!(uids, vec![0, 1007, 1008, 3002]);
    // failed records count in their routed class
    let auth = classes
        .iter()
        .find(|c| c["class_uid"] == 3002)
        .expect("3002");
    assert_eq!(auth["events_total"], 4);
    assert_eq!(auth["events_mapped"], 2);
    assert_eq!(auth["mapped_pct"], 0.5);
}
