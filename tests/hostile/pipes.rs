//! Every tool that writes to standard output, with a reader that went away (`… | head -1`) and
//! with a full disk behind it (`… > /dev/full`).

use crate::{Case, rule, rules, stderr, tool};
use pa_e2e::{repo_root, shared_data};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

/// Events in Sigma field names, each matched by every rule of [`many_rules`].
fn many_events(dir: &Path) -> std::path::PathBuf {
    let p = dir.join("events.jsonl");
    let mut text = String::new();
    for i in 0..20_000 {
        text.push_str(&format!(
            "{{\"EventID\":1,\"Image\":\"C:\\\\x\\\\a{i}.exe\"}}\n"
        ));
    }
    std::fs::write(&p, text).expect("events");
    p
}

fn many_rules(dir: &Path) -> std::path::PathBuf {
    let files: Vec<(String, String)> = (1..=20)
        .map(|i| {
            (
                format!("r{i}.yml"),
                rule(i, "  sel: {EventID: 1}\n  condition: sel"),
            )
        })
        .collect();
    let files: Vec<(&str, String)> = files.iter().map(|(f, t)| (f.as_str(), t.clone())).collect();
    rules(dir, "rules", &files)
}

/// Run a tool whose standard output is set, under the deadline; it must not panic.
fn run_with_stdout(cmd: &mut Command, what: &str) -> std::process::Output {
    let out = pa_e2e::stderr_within(cmd, crate::LIMIT, what);
    let err = stderr(&out);
    assert!(!err.contains("panicked"), "{what} panicked: {err}");
    out
}

/// The tools, each with the exit code it ends with when its output is not read: the verdict of
/// the tools whose exit code is one (a run's status, a verification), else 0.
fn tools(case: &Case) -> Vec<(String, Command, i32)> {
    let run = case.run();
    let ws = case.path().join("ws");
    let rules = many_rules(case.path());
    let events = many_events(case.path());
    let local = repo_root().join("examples/local-linux");
    let mut v: Vec<(String, Command, i32)> = Vec::new();
    let mut add = |name: &str, code: i32, f: &dyn Fn(&mut Command)| {
        let bin = name.split_whitespace().next().expect("binary");
        let mut c = tool(bin);
        f(&mut c);
        v.push((name.to_string(), c, code));
    };
    add("pa-orchestrate list", 0, &|c| {
        c.args(["list", "--workspace"]).arg(&ws);
    });
    add("pa-orchestrate status", 10, &|c| {
        c.arg("status").arg(&run);
    });
    add("pa-orchestrate run --from reporting", 10, &|c| {
        c.args(["-q", "run", "--from", "reporting", "--run-dir"])
            .arg(&run);
    });
    add("pa-detect --events", 0, &|c| {
        c.arg("--rules")
            .arg(&rules)
            .args(["--fields", "sigma", "--events"])
            .arg(&events);
    });
    add("pa-detect check", 0, &|c| {
        c.arg("--rules")
            .arg(shared_data().join("sigma/rules/windows/process_creation"))
            .arg("check");
    });
    add("pa-detect explain", 0, &|c| {
        c.arg("--rules")
            .arg(&rules)
            .args(["--fields", "sigma", "explain", "--rule"])
            .arg("00000000-0000-4000-8000-000000000001")
            .arg("--event")
            .arg(&events);
    });
    add("pa-normalize --source evtx", 0, &|c| {
        c.args(["--source", "evtx", "--input"])
            .arg(shared_data().join("evtx/EVTX-ATTACK-SAMPLES/Credential Access"));
    });
    add("pa-report diff", 0, &|c| {
        c.arg("diff").arg(&run).arg(&run);
    });
    add("pa-report trend", 0, &|c| {
        c.args(["trend", "--workspace"])
            .arg(&ws)
            .arg("--out")
            .arg(case.path().join("trend"));
    });
    // The bundle is not signed: the verification fails, and says so by its exit code.
    add("pa-sign verify", 20, &|c| {
        c.arg("verify").arg(&run);
    });
    add("pa-sign keygen", 0, &|c| {
        c.args(["keygen", "--force", "--out"])
            .arg(case.path().join("k.key"));
    });
    add("pa-runner --dry-run", 0, &|c| {
        c.arg("--dry-run")
            .arg("--range")
            .arg(local.join("range.yaml"))
            .arg("--scenario")
            .arg(local.join("scenario.yaml"));
    });
    // A stage: its outcome is recorded, its summary line is best effort.
    add("pa-score --run-dir", 10, &|c| {
        c.arg("-q").arg("--run-dir").arg(&run);
    });
    v
}

/// A reader that went away: the tool ends quietly, with its verdict (or 0).
#[test]
fn every_tool_into_a_closed_pipe_exits_quietly() {
    let case = Case::new();
    for (name, mut cmd, code) in tools(&case) {
        let (reader, writer) = std::io::pipe().expect("pipe");
        drop(reader);
        let out = run_with_stdout(cmd.stdout(writer), &name);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(code), "{name}: {err}");
        for bad in ["error", "ERROR", "Broken pipe", "os error 32"] {
            assert!(!err.contains(bad), "{name} complained: {err}");
        }
    }
}

/// `pa-detect --events … | head -1`: the reader takes one detection and goes away mid-stream.
#[test]
fn detections_into_head_1() {
    let case = Case::new();
    let rules = many_rules(case.path());
    let events = many_events(case.path());
    let mut child = tool("pa-detect")
        .arg("--rules")
        .arg(&rules)
        .args(["--fields", "sigma", "--events"])
        .arg(&events)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("pa-detect");
    let mut first = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut first)
        .expect("one line");
    // The reader is gone (dropped above); the rest of the detections go into a closed pipe.
    assert!(first.contains("\"rule_id\""), "{first}");
    let status = pa_e2e::wait_within(&mut child, crate::LIMIT, "pa-detect | head -1");
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut err)
        .expect("stderr");
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(err.is_empty(), "{err}");
}

/// A full disk behind standard output: an error that names standard output, exit 20.
#[test]
fn every_tool_into_a_full_disk_names_standard_output() {
    let case = Case::new();
    for (name, mut cmd, code) in tools(&case) {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full exists on Linux");
        let out = run_with_stdout(cmd.stdout(full), &name);
        let err = stderr(&out);
        if name.contains("--run-dir") {
            // A stage records its outcome before its summary line: the exit code is the
            // outcome's, whatever became of the line.
            assert_eq!(out.status.code(), Some(code), "{name}: {err}");
            continue;
        }
        assert_eq!(out.status.code(), Some(20), "{name}: {err}");
        assert!(
            err.contains("writing to standard output") && err.contains("No space left on device"),
            "{name}: {err}"
        );
    }
}
