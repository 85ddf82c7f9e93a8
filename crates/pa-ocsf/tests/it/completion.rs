//! How the profiles complete OCSF objects without inventing them: conditional rules
//! (`when_present`) only fire for objects the event has, the context's default host stands in
//! for a record without one (device and identity alike), and the audit uid declares the linux
//! profile. Each synthetic record is also validated with the project schema.

use crate::common;

use pa_ocsf::{EventContext, Normalized};
use pa_sources::SourceType;
use serde_json::{Value, json};

fn mapped(n: Normalized) -> Value {
    match n {
        Normalized::Mapped(v) => v,
        other => panic!("expected a mapped event, got {other:?}"),
    }
}

fn violations(ev: &Value) -> Vec<String> {
    pa_ocsf_schema::reference_with_project_extensions()
        .validate(ev)
        .iter()
        .map(ToString::to_string)
        .collect()
}

/// A Sysmon 1 record on `computer` ("-": the placeholder of an unnamed computer).
fn sysmon_launch(computer: &str, parent: bool) -> Value {
    let mut v = json!({"System": {"Provider": {"Name": "Microsoft-Windows-Sysmon"}, "EventID": "1",
        "EventRecordID": "7", "TimeCreated": {"SystemTime": "2024-01-01T00:00:00Z"},
        "Channel": "Microsoft-Windows-Sysmon/Operational", "Level": "4", "Computer": computer},
        "EventData": {"Image": "C:\\w\\x.exe", "ProcessId": "12", "User": "D\\u"}});
    if parent {
        v["EventData"]["ParentImage"] = json!("C:\\w\\p.exe");
        v["EventData"]["ParentProcessId"] = json!("3");
    }
    v
}

#[test]
fn conditional_rules_complete_only_objects_the_event_has() {
    let n = common::normalizer();
    let ctx = common::ctx();
    let ev = mapped(n.normalize(
        &common::record(SourceType::WindowsSysmon, sysmon_launch("HOST1", true)),
        &ctx,
    ));
    assert_eq!(
        ev["device"],
        json!({"name": "HOST1", "hostname": "host1", "type_id": 0})
    );
    assert_eq!(ev["process"]["file"]["type_id"], 1);
    assert_eq!(ev["actor"]["process"]["file"]["type_id"], 1);
    assert_eq!(ev["metadata"]["profiles"], json!(["host"]));
    assert_eq!(violations(&ev), Vec::<String>::new());

    // an unnamed computer: no device at all (never a bare {type_id: 0}); no ParentImage: the actor
    // has a user but no process file to complete
    let ev = mapped(n.normalize(
        &common::record(SourceType::WindowsSysmon, sysmon_launch("-", false)),
        &ctx,
    ));
    assert!(ev.get("device").is_none(), "{ev}");
    assert!(ev["actor"].get("process").is_none(), "{ev}");
    assert_eq!(ev["actor"]["user"]["name"], "u");
    assert_eq!(
        ev["metadata"]["profiles"],
        json!(["host"]),
        "the actor alone declares it"
    );
}

/// An aggregated execve audit event without node= (single-host capture).
fn audit_execve(auid: &str, node: Option<&str>) -> Value {
    let mut v = json!({"msg_id": "1700000000.123:456", "time_ms": 1700000000123_i64,
        "records": [
            {"type": "SYSCALL", "fields": {"SYSCALL": "execve", "success": "yes", "exe": "/usr/bin/id",
             "comm": "id", "pid": "20", "ppid": "10", "uid": "0", "auid": auid, "ses": "2"}},
            {"type": "PATH", "fields": {"item": "0", "name": "/usr/bin/id", "mode": "0100755", "nametype": "NORMAL"}}
        ],
        "paths": [{"item": "0", "name": "/usr/bin/id", "mode": "0100755", "nametype": "NORMAL"}]});
    if let Some(h) = node {
        v["node"] = json!(h);
    }
    v
}

#[test]
fn default_host_feeds_device_and_identity_and_the_record_host_wins() {
    let n = common::normalizer();
    let none = common::ctx();
    let with_host = EventContext {
        host: Some("lab1"),
        ..common::ctx()
    };
    let plain = mapped(n.normalize(
        &common::record(SourceType::LinuxAuditd, audit_execve("4242", None)),
        &none,
    ));
    assert!(plain.get("device").is_none(), "no host anywhere: no device");
    let hosted = mapped(n.normalize(
        &common::record(SourceType::LinuxAuditd, audit_execve("4242", None)),
        &with_host,
    ));
    assert_eq!(hosted["device"], json!({"hostname": "lab1", "type_id": 0}));
    // the identity basis gains origin.host, exactly as a record host would give it
    let by_record = {
        let mut r = common::record(SourceType::LinuxAuditd, audit_execve("4242", None));
        r.host = Some("lab1".into());
        mapped(n.normalize(&r, &none))
    };
    assert_ne!(plain["metadata"]["uid"], hosted["metadata"]["uid"]);
    assert_eq!(hosted["metadata"]["uid"], by_record["metadata"]["uid"]);
    let expected = pa_ocsf::event_id(&json!({"source_type": "linux_auditd",
        "origin": {"host": "lab1", "audit_msg_id": "audit(1700000000.123:456)"}}))
    .expect("basis");
    assert_eq!(hosted["metadata"]["uid"], expected);
    // node= names the host: the default is not used
    let noded = mapped(n.normalize(
        &common::record(SourceType::LinuxAuditd, audit_execve("4242", Some("web7"))),
        &with_host,
    ));
    assert_eq!(noded["device"]["hostname"], "web7");
    assert_eq!(violations(&hosted), Vec::<String>::new());
}

#[test]
fn audit_uid_declares_the_linux_users_profile() {
    let n = common::normalizer();
    let ctx = EventContext {
        host: Some("lab1"),
        ..common::ctx()
    };
    let ev = mapped(n.normalize(
        &common::record(SourceType::LinuxAuditd, audit_execve("4242", None)),
        &ctx,
    ));
    assert_eq!(ev["process"]["auid"], 4242);
    assert_eq!(ev["process"]["file"]["type_id"], 1);
    assert_eq!(
        ev["metadata"]["profiles"],
        json!(["host", "linux/linux_users"])
    );
    // auid is kept verbatim for the Sigma auditd alias set too
    assert_eq!(ev["unmapped"]["auid"], "4242");
    assert_eq!(violations(&ev), Vec::<String>::new());
    // never set ((uid_t)-1): no auid, no linux profile
    let unset = mapped(n.normalize(
        &common::record(SourceType::LinuxAuditd, audit_execve("4294967295", None)),
        &ctx,
    ));
    assert!(unset["process"].get("auid").is_none(), "{unset}");
    assert_eq!(unset["metadata"]["profiles"], json!(["host"]));
    // without the profile declared, the validator would object: the declaration is needed
    let mut undeclared = ev.clone();
    undeclared["metadata"]["profiles"] = json!(["host"]);
    assert!(
        violations(&undeclared)
            .iter()
            .any(|v| v.contains("/process/auid") && v.contains("undeclared_profile")),
        "{:?}",
        violations(&undeclared)
    );
}

#[test]
fn audit_file_type_comes_from_the_path_mode() {
    let n = common::normalizer();
    let ctx = EventContext {
        host: Some("lab1"),
        ..common::ctx()
    };
    let mk = |mode: &str, name: &str| {
        json!({"msg_id": "1700000000.123:457", "time_ms": 1700000000123_i64,
            "records": [{"type": "SYSCALL", "fields": {"SYSCALL": "mkdir", "success": "yes",
                "exe": "/usr/bin/mkdir", "comm": "mkdir", "pid": "20", "auid": "4242"}}],
            "paths": [{"item": "0", "name": "/tmp", "mode": "041777", "nametype": "PARENT"},
                      {"item": "1", "name": name, "mode": mode, "nametype": "CREATE"}]})
    };
    let dir = mapped(n.normalize(
        &common::record(SourceType::LinuxAuditd, mk("040755", "victim-files/")),
        &ctx,
    ));
    assert_eq!(dir["file"]["type_id"], 2, "{dir}");
    assert_eq!(dir["file"]["name"], "victim-files");
    let fifo = mapped(n.normalize(
        &common::record(SourceType::LinuxAuditd, mk("010644", "/tmp/p")),
        &ctx,
    ));
    assert_eq!(fifo["file"]["type_id"], 6);
    let unknown = mapped(n.normalize(
        &common::record(SourceType::LinuxAuditd, mk("bogus", "/tmp/q")),
        &ctx,
    ));
    assert_eq!(unknown["file"]["type_id"], 0, "no readable mode: 0 Unknown");
    assert_eq!(violations(&dir), Vec::<String>::new());
}
