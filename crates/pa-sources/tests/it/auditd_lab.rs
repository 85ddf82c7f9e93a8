//! The Linux audit lab capture: the whole `audit_tagged.log` and `quirks_sample.log` parse, and
//! the events agree with the lab's independently derived process creations and test commands.

use crate::common;

use std::collections::HashMap;

use pa_sources::{Counters, SourceFormat, SourceRecord};
use serde_json::Value;

fn read_all(rel: &str) -> (Vec<SourceRecord>, Counters) {
    let path = common::data(rel);
    assert_eq!(pa_sources::sniff(&path).unwrap(), SourceFormat::Auditd);
    let mut r = pa_sources::open(&path, SourceFormat::Auditd).unwrap();
    let recs: Vec<_> = r.by_ref().map(|x| x.unwrap()).collect();
    let c = r.counters().clone();
    assert_eq!(c.read, c.kept + c.dropped_total(), "{c:?}");
    (recs, c)
}

fn by_msg_id(recs: &[SourceRecord]) -> HashMap<String, &SourceRecord> {
    let mut m = HashMap::new();
    for r in recs {
        let id = r.fields["msg_id"].as_str().unwrap().to_owned();
        assert!(
            m.insert(id.clone(), r).is_none(),
            "event {id} emitted twice"
        );
    }
    m
}

fn argv(r: &SourceRecord) -> Vec<String> {
    r.fields["execve_argv"]
        .as_array()
        .map(|a| a.iter().map(|v| v.as_str().unwrap().to_owned()).collect())
        .unwrap_or_default()
}

fn syscall_field<'a>(r: &'a SourceRecord, key: &str) -> Option<&'a str> {
    r.fields["records"]
        .as_array()?
        .iter()
        .find(|x| x["type"] == "SYSCALL")?["fields"][key]
        .as_str()
}

#[test]
fn audit_tagged_log_matches_derived_process_creations() {
    let (recs, c) = read_all("linux-audit-lab/audit/audit_tagged.log");
    eprintln!("audit_tagged.log: {:?}", c.as_map());
    assert_eq!(c.dropped_total(), 0, "{:?}", c.first_drop_detail);
    assert_eq!(c.extra["audit_lines_total"], 5643);
    // Every line is in exactly one event.
    let lines: usize = recs.iter().map(|r| r.raw.lines().count()).sum();
    assert_eq!(lines, 5643);
    let events = by_msg_id(&recs);

    let derived = std::fs::read_to_string(common::data(
        "linux-audit-lab/derived/process_creation.jsonl",
    ))
    .unwrap();
    let mut n = 0;
    for line in derived.lines() {
        let row: Value = serde_json::from_str(line).unwrap();
        let id = row["event_id"].as_str().unwrap();
        let ev = events
            .get(id)
            .unwrap_or_else(|| panic!("derived process creation {id} not found"));
        let want: Vec<String> = serde_json::from_value(row["argv"].clone()).unwrap();
        assert_eq!(argv(ev), want, "{id}: argv");
        assert_eq!(
            syscall_field(ev, "exe"),
            row["Image"].as_str(),
            "{id}: SYSCALL exe"
        );
        assert_eq!(
            ev.fields["paths"][0]["name"].as_str(),
            row["ImageInvoked"].as_str(),
            "{id}: invoked path"
        );
        assert_eq!(
            syscall_field(ev, "pid").map(str::to_owned),
            Some(row["ProcessId"].to_string()),
            "{id}: pid"
        );
        // PROCTITLE is kept (decoded) but is not the command line.
        let ts = (row["timestamp"].as_f64().unwrap() * 1000.0).round() as i64;
        assert_eq!(ev.time_ms, Some(ts));
        n += 1;
    }
    assert_eq!(n, 272);

    // Concrete test commands (after input substitution) come out of hex-encoded EXECVE args.
    let tests: Value = serde_json::from_slice(
        &std::fs::read(common::data("linux-audit-lab/selected_tests.json")).unwrap(),
    )
    .unwrap();
    let sh_c: Vec<String> = recs
        .iter()
        .map(argv)
        .filter(|a| a.len() == 3 && a[1] == "-c")
        .map(|a| a[2].clone())
        .collect();
    let mut found = 0;
    let mut total = 0;
    for t in tests["tests"].as_array().unwrap() {
        let cmd = t["command"].as_str().unwrap();
        total += 1;
        if sh_c.iter().any(|c| c == cmd) {
            found += 1;
        }
    }
    eprintln!("selected test commands found verbatim as sh -c argv: {found}/{total}");
    assert_eq!(found, total);
    let uname = "uname -a >> /tmp/T1082.txt\n";
    assert!(
        sh_c.iter().any(|c| c.starts_with(uname)),
        "multi-line hex-encoded command decoded"
    );
    assert!(recs.iter().any(|r| argv(r)
        == [
            "useradd",
            "-M",
            "-N",
            "-r",
            "-s",
            "/bin/bash",
            "-c",
            "evil_account",
            "evil_user"
        ]));
}

#[test]
fn quirks_sample_hex_split_and_multi_execve() {
    let (recs, c) = read_all("linux-audit-lab/audit/quirks_sample.log");
    eprintln!("quirks_sample.log: {:?}", c.as_map());
    assert_eq!(c.dropped_total(), 0, "{:?}", c.first_drop_detail);
    let ev = by_msg_id(&recs);
    assert_eq!(
        argv(ev["1795344161.291:6952"]),
        ["/bin/echo", "has space", "has\"quote", "", "ümlaut"]
    );
    let split = argv(ev["1795344161.299:6955"]);
    assert_eq!(split.len(), 2);
    assert_eq!(
        split[1].len(),
        9000,
        "a1_len=18000 hex chars reassembled from a1[i] chunks"
    );
    assert!(split[1].bytes().all(|b| b == b'A'));
    let many = argv(ev["1795344161.303:6957"]);
    assert_eq!(
        many.len(),
        2501,
        "argc=2501 spread over several EXECVE records"
    );
    assert_eq!(many[0], "/bin/echo");
    assert!(
        many[1..]
            .iter()
            .enumerate()
            .all(|(i, a)| a == &(i + 1).to_string())
    );
    assert_eq!(
        argv(ev["1795344161.311:6958"]),
        ["/bin/sh", "-c", "echo one; echo two"]
    );
    assert_eq!(argv(ev["1795344161.327:6962"]), ["/tmp/q/odd name"]);
    assert_eq!(argv(ev["1795344161.295:6954"]), ["tr", "\\0", "A"]);
    // PROCTITLE kept decoded in its record, independent of argv.
    let pt = ev["1795344161.311:6958"].fields["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["type"] == "PROCTITLE")
        .unwrap()["fields"]["proctitle"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!pt.contains('\0'));
}
