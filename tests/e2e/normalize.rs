//! End to end: `pa-normalize` as a pipeline filter and as a stage.

use assert_cmd::Command;
use pa_e2e::{ReplayCase, shared_data, workspace_bin};
use serde_json::Value;

fn evtx(rel: &str) -> std::path::PathBuf {
    shared_data().join("evtx/EVTX-ATTACK-SAMPLES").join(rel)
}

fn lines(out: &[u8]) -> Vec<Value> {
    String::from_utf8(out.to_vec())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn stream_mode_turns_an_evtx_into_ocsf_jsonl_in_input_order() {
    let f = evtx("Persistence/sysmon_local_account_creation_and_added_admingroup_12_13.evtx");
    let out = Command::new(workspace_bin("pa-normalize"))
        .args(["--source", "evtx", "--input"])
        .arg(&f)
        .assert()
        .code(0)
        .get_output()
        .clone();
    let evs = lines(&out.stdout);
    assert_eq!(evs.len(), 17);
    for e in &evs {
        assert!(e["class_uid"].as_u64().is_some(), "{e}");
        assert!(
            e["metadata"]["uid"]
                .as_str()
                .unwrap()
                .starts_with("pa:eid:v1:")
        );
        assert_eq!(
            e["type_uid"].as_u64().unwrap(),
            e["class_uid"].as_u64().unwrap() * 100 + e["activity_id"].as_u64().unwrap()
        );
    }
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("17 record(s): 17 normalized"), "{err}");
    // The same file through stdin gives the same events.
    let again = Command::new(workspace_bin("pa-normalize"))
        .args(["--source", "evtx", "--input", "-"])
        .pipe_stdin(&f)
        .unwrap()
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let evs2 = lines(&again);
    let uids = |v: &[Value]| {
        v.iter()
            .map(|e| e["metadata"]["uid"].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(uids(&evs), uids(&evs2));
}

#[test]
fn stream_mode_reads_linux_audit_logs() {
    let f = shared_data().join("linux-audit-lab/audit/audit_tagged.log");
    let out = Command::new(workspace_bin("pa-normalize"))
        .args(["--source", "auditd", "--input"])
        .arg(&f)
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let evs = lines(&out);
    let launches: Vec<&Value> = evs
        .iter()
        .filter(|e| e["class_uid"] == 1007 && e["activity_id"] == 1)
        .collect();
    assert!(launches.len() > 30, "{} process launches", launches.len());
    assert!(launches.iter().any(|e| {
        e["process"]["cmd_line"]
            .as_str()
            .is_some_and(|c| !c.is_empty())
    }));
}

#[test]
fn stream_mode_errors_name_the_problem() {
    let out = Command::new(workspace_bin("pa-normalize"))
        .args(["--source", "pcap", "--input", "x"])
        .assert()
        .code(20)
        .get_output()
        .stderr
        .clone();
    assert!(String::from_utf8_lossy(&out).contains("unknown --source \"pcap\""));
    let out = Command::new(workspace_bin("pa-normalize"))
        .args(["--source", "evtx", "--input", "no/such.evtx"])
        .assert()
        .code(20)
        .get_output()
        .stderr
        .clone();
    assert!(String::from_utf8_lossy(&out).contains("no/such.evtx"));
}

#[test]
fn bundle_mode_without_raw_telemetry_is_input_missing() {
    let case = ReplayCase::new(
        "norm-case",
        "0e0e0e0e-0000-4000-8000-000000000001",
        &["lab_provider", "normalization"],
        "",
    );
    let err = case.orchestrate_expect(20);
    assert!(err.contains("raw_parquet"), "{err}");
    assert_eq!(
        case.outcome("normalization")["reason_code"],
        "input_missing"
    );
    assert!(!case.run_dir().join("normalized").exists());
}

/// `--input` takes folders (walked for the format's files, sorted) and several paths: a folder
/// gives what its files give one by one, in path order, and a folder without such a file is an
/// error naming it.
#[test]
fn stream_mode_reads_folders_and_several_inputs_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("b-sub");
    std::fs::create_dir(&sub).unwrap();
    let a = evtx("Persistence/sysmon_local_account_creation_and_added_admingroup_12_13.evtx");
    let b = evtx("Execution/sysmon_mshta_sharpshooter_stageless_meterpreter.evtx");
    std::fs::copy(&a, dir.path().join("a.EVTX")).unwrap();
    std::fs::copy(&b, sub.join("c.evtx")).unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not an event log").unwrap();
    let run = |args: &[&std::ffi::OsStr]| {
        let out = Command::new(workspace_bin("pa-normalize"))
            .args(["--source", "evtx", "--input"])
            .args(args)
            .assert()
            .code(0)
            .get_output()
            .clone();
        lines(&out.stdout)
    };
    let uids = |v: &[Value]| {
        v.iter()
            .map(|e| e["metadata"]["uid"].clone())
            .collect::<Vec<_>>()
    };
    let one_by_one: Vec<Value> = [&a, &b]
        .iter()
        .flat_map(|f| run(&[f.as_os_str()]))
        .collect();
    assert!(one_by_one.len() > 17);
    // the folder: a.EVTX, then b-sub/c.evtx (path order), notes.txt ignored
    assert_eq!(uids(&run(&[dir.path().as_os_str()])), uids(&one_by_one));
    // several inputs, in the order given
    let reversed: Vec<Value> = [&b, &a]
        .iter()
        .flat_map(|f| run(&[f.as_os_str()]))
        .collect();
    assert_eq!(uids(&run(&[b.as_os_str(), a.as_os_str()])), uids(&reversed));
    // a folder with no EVTX file
    let empty = tempfile::tempdir().unwrap();
    let err = Command::new(workspace_bin("pa-normalize"))
        .args(["--source", "evtx", "--input"])
        .arg(empty.path())
        .assert()
        .code(20)
        .get_output()
        .stderr
        .clone();
    let err = String::from_utf8_lossy(&err);
    assert!(
        err.contains(&empty.path().display().to_string()) && err.contains("no evtx input file"),
        "{err}"
    );
}
