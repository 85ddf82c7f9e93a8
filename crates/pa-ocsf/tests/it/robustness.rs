//! Bad input never panics and always gets an accounted outcome with a reason; the envelope
//! carries the caller's context.

use crate::common;

use pa_ocsf::{EventContext, Normalized};
use pa_sources::SourceType;
use serde_json::{Value, json};

fn win(event_id: &str, record_id: &str, time: &str) -> Value {
    json!({"System": {"Provider": {"Name": "Microsoft-Windows-Sysmon"}, "EventID": event_id,
        "EventRecordID": record_id, "TimeCreated": {"SystemTime": time},
        "Channel": "Microsoft-Windows-Sysmon/Operational", "Computer": "HOST1", "Level": "4"},
        "EventData": {"Image": "C:\\x.exe", "ProcessId": "12", "User": "D\\u"}})
}

fn reason(n: &Normalized) -> &str {
    match n {
        Normalized::Failed {
            reason_code,
            message,
        } => {
            assert!(
                message.contains("synthetic"),
                "message names the record: {message}"
            );
            reason_code
        }
        Normalized::Mapped(_) => "mapped",
        Normalized::Unmapped { .. } => "unmapped",
        Normalized::Fallback { .. } => "fallback",
    }
}

#[test]
fn windows_defects_have_reason_codes() {
    let n = common::normalizer();
    let ctx = common::ctx();
    let ok = win("1", "5", "2024-01-01T00:00:00.123Z");
    assert_eq!(
        reason(&n.normalize(&common::record(SourceType::WindowsSysmon, ok.clone()), &ctx)),
        "mapped"
    );
    let bad_time = win("1", "5", "yesterday");
    assert_eq!(
        reason(&n.normalize(&common::record(SourceType::WindowsSysmon, bad_time), &ctx)),
        "timestamp_parse_failed"
    );
    let mut no_time = ok.clone();
    no_time["System"]
        .as_object_mut()
        .map(|m| m.remove("TimeCreated"));
    assert_eq!(
        reason(&n.normalize(&common::record(SourceType::WindowsSysmon, no_time), &ctx)),
        "missing_core_field"
    );
    for bad_id in ["", "abc", "-", "99999999999999999999"] {
        let r = common::record(
            SourceType::WindowsSysmon,
            win("1", bad_id, "2024-01-01T00:00:00Z"),
        );
        assert_eq!(
            reason(&n.normalize(&r, &ctx)),
            "event_id_generation_failed",
            "{bad_id:?}"
        );
    }
    // an integer beyond 2^53 parses but cannot be canonicalized
    let r = common::record(
        SourceType::WindowsSysmon,
        win("1", "9007199254740993", "2024-01-01T00:00:00Z"),
    );
    assert_eq!(reason(&n.normalize(&r, &ctx)), "event_id_generation_failed");
    let mut no_host = ok.clone();
    no_host["System"]
        .as_object_mut()
        .map(|m| m.remove("Computer"));
    assert_eq!(
        reason(&n.normalize(&common::record(SourceType::WindowsSysmon, no_host), &ctx)),
        "event_id_generation_failed"
    );
    // a non-numeric event id has no route and cannot be part of the identity
    let r = common::record(
        SourceType::WindowsSysmon,
        win("x", "5", "2024-01-01T00:00:00Z"),
    );
    assert_eq!(reason(&n.normalize(&r, &ctx)), "event_id_generation_failed");
    // an unknown event id has no route: the profile's default class makes it a fallback Base
    // Event, every EventData member under unmapped
    let (id, label) = ("999", "windows-sysmon:999");
    let r = common::record(
        SourceType::WindowsSysmon,
        win(id, "5", "2024-01-01T00:00:00Z"),
    );
    let Normalized::Fallback { event, event_type } = n.normalize(&r, &ctx) else {
        panic!("event id {id}: not a fallback event");
    };
    assert_eq!(event_type, label);
    assert_eq!(
        (
            &event["class_uid"],
            &event["category_uid"],
            &event["activity_id"],
            &event["type_uid"]
        ),
        (&json!(0), &json!(0), &json!(99), &json!(99))
    );
    assert_eq!(event["metadata"]["event_code"], id);
    assert_eq!(
        event["metadata"]["log_name"],
        "Microsoft-Windows-Sysmon/Operational"
    );
    assert_eq!(
        event["unmapped"],
        json!({"Image": "C:\\x.exe", "ProcessId": "12", "User": "D\\u"})
    );
}

#[test]
fn wrong_shapes_never_panic() {
    let n = common::normalizer();
    let ctx = common::ctx();
    let shapes = [
        json!(null),
        json!([]),
        json!("text"),
        json!(42),
        json!({"System": "x"}),
        json!({"System": {"EventID": ["1", "2"]}}),
        json!({"System": {"EventID": 1, "TimeCreated": 5}, "EventData": [1, 2]}),
        json!({"System": {"EventID": "1", "EventRecordID": {"a": 1}, "Computer": [], "TimeCreated": {"SystemTime": null}}, "EventData": {"Image": {"deep": [[[]]]}, "ProcessId": "0x"}}),
        json!({"records": "nope", "msg_id": 5}),
        json!({"records": [{"type": "SYSCALL", "fields": {"SYSCALL": "execve", "pid": "x", "success": 3}}], "msg_id": "1.2:3", "execve_argv": [1, null, {"a": 1}]}),
        json!({"records": [{"type": "SYSCALL", "fields": "x"}, null, 7], "msg_id": "1.2:3", "time_ms": "soon"}),
        json!({"name": "process_events", "columns": "x", "unixTime": "-1", "hostIdentifier": 3}),
        json!({"name": "socket_events", "columns": {"remote_port": "99999", "remote_address": "not-ip"}, "unixTime": "1768089605", "hostIdentifier": "h", "action": "added"}),
        json!({"name": ["process_events"]}),
    ];
    let types = [
        SourceType::WindowsSysmon,
        SourceType::WindowsSecurity,
        SourceType::WindowsSystem,
        SourceType::WindowsPowershell,
        SourceType::WindowsOther,
        SourceType::LinuxAuditd,
        SourceType::Osquery,
    ];
    let mut outcomes = std::collections::BTreeMap::new();
    for st in types {
        for f in &shapes {
            let out = n.normalize(&common::record(st, f.clone()), &ctx);
            *outcomes.entry(reason(&out).to_string()).or_insert(0) += 1;
            if let Normalized::Mapped(ev) = &out {
                for k in [
                    "time",
                    "class_uid",
                    "activity_id",
                    "type_uid",
                    "severity_id",
                ] {
                    assert!(ev[k].is_i64(), "{st:?} {f}: {k} in {ev}");
                }
            }
        }
    }
    println!("{outcomes:?}");
    // the socket row with bad values maps with those values left absent
    let ev = n.normalize(
        &common::record(SourceType::Osquery, shapes[12].clone()),
        &ctx,
    );
    let ev = common::mapped(&ev);
    assert!(
        common::at(ev, "dst_endpoint.port").is_none()
            && common::at(ev, "dst_endpoint.ip").is_none()
    );
}

#[test]
fn envelope_carries_the_context_and_raw_ref() {
    let n = common::normalizer();
    let raw_ref = json!({"kind": "dataset_row_v1", "path": "raw_parquet/windows_eventlog/part-0000.parquet", "row_locator": {"row": 3}});
    let ctx = EventContext {
        run_id: "0f1e2d3c-0000-4000-8000-000000000001",
        scenario_id: "sc-1",
        raw_ref: Some(raw_ref.clone()),
        normalizer_version: "9.9.9",
        collector_version: Some("otelcol-contrib 0.120.0"),
        host: Some("ignored-the-record-names-its-host"),
    };
    let ev = n.normalize(
        &common::record(
            SourceType::WindowsSysmon,
            win("1", "5", "2024-01-01T00:00:00.123Z"),
        ),
        &ctx,
    );
    let ev = common::mapped(&ev);
    let m = &ev["metadata"];
    assert_eq!(m["run_id"], ctx.run_id);
    assert_eq!(m["scenario_id"], "sc-1");
    assert_eq!(m["normalizer_version"], "9.9.9");
    assert_eq!(m["version"], "1.7.0");
    assert_eq!(m["source_type"], "windows-sysmon");
    assert_eq!(m["identity_tier"], 1);
    assert_eq!(m["uid"], m["event_id"]);
    assert_eq!(m["raw_ref"], raw_ref);
    assert_eq!(m["collector_version"], "otelcol-contrib 0.120.0");
    // the Purple Axiom extension is declared as an OCSF `extension` object, taken from its
    // definition file
    let decl: Value = serde_json::from_str(
        &std::fs::read_to_string(common::repo_root().join(pa_ocsf::PROJECT_EXTENSION_FILE))
            .expect("extension.json"),
    )
    .expect("extension.json is JSON");
    assert_eq!(
        m["extensions"],
        json!([{"name": decl["name"], "uid": decl["uid"].to_string(), "version": decl["version"]}])
    );
    assert_eq!(m["extensions"], json!(n.extensions()));
    assert_eq!(ev["device"]["hostname"], "host1", "the record's host wins");
    assert_eq!(ev["time"], 1704067200123_i64);
    assert_eq!(ev["type_uid"], 100701);
    assert_eq!(ev["severity_id"], 1);
    let obs = ev["observables"].as_array().expect("observables");
    assert!(
        obs.contains(&json!({"name": "device.hostname", "type_id": 1, "value": "host1"})),
        "{obs:?}"
    );
    assert!(
        obs.contains(&json!({"name": "process.file.path", "type_id": 45, "value": "C:\\x.exe"})),
        "{obs:?}"
    );
    assert_eq!(pa_ocsf::tier1_fields_present(ev), 6, "{ev}");
    // the identity does not depend on the context
    let ev2 = n.normalize(
        &common::record(
            SourceType::WindowsSysmon,
            win("1", "5", "2024-01-01T00:00:00.123Z"),
        ),
        &common::ctx(),
    );
    assert_eq!(common::mapped(&ev2)["metadata"]["event_id"], m["event_id"]);
}
