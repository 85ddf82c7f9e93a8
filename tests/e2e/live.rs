//! Live labs end to end: Atomic Red Team tests executed on this host (and over ssh on
//! loopback), captured by the real Linux audit subsystem, normalized and detected.
//!
//! The tests that need root and a running auditd (and, for ssh, the loopback server of
//! `tests/fixtures/ssh/start-loopback-sshd`) skip with a note where those are missing, and fail
//! instead when `PA_REQUIRE_LIVE=1` (as `.ci/run` sets). They run one at a time: they share
//! the kernel's audit configuration.

use assert_cmd::Command;
use pa_e2e::{repo_root, shared_data, workspace_bin};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

static AUDIT: Mutex<()> = Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    AUDIT.lock().unwrap_or_else(|p| p.into_inner())
}

fn required() -> bool {
    std::env::var("PA_REQUIRE_LIVE").as_deref() == Ok("1")
}

fn sh(cmd: &str) -> (bool, String) {
    let out = std::process::Command::new("sh")
        .args(["-c", cmd])
        .env(
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        )
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// Root with a running auditd, or a skip note (a failure under `PA_REQUIRE_LIVE=1`).
fn live_audit() -> bool {
    let (_, uid) = sh("id -u");
    let (ok, status) = sh("auditctl -s 2>/dev/null");
    // The registered pid must be a live process (not gone, not a zombie): a killed auditd stays
    // registered until the kernel next fails to send it a record.
    let running = ok
        && status
            .lines()
            .filter_map(|l| l.strip_prefix("pid "))
            .any(|pid| {
                let pid = pid.trim();
                let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
                let state = stat
                    .rsplit_once(')')
                    .and_then(|(_, r)| r.split_whitespace().next());
                pid != "0" && !matches!(state, None | Some("Z" | "X"))
            });
    if uid.trim() == "0" && running {
        return true;
    }
    assert!(
        !required(),
        "PA_REQUIRE_LIVE=1 but this is not root with a running auditd (uid {}, auditctl -s: {status:?})",
        uid.trim()
    );
    eprintln!("skipped: needs root and a running auditd (apt-get install auditd; auditd)");
    false
}

fn ssh_config() -> Option<String> {
    match std::env::var("PA_TEST_SSH_CONFIG") {
        Ok(c) if !c.is_empty() => Some(c),
        _ => {
            assert!(
                !required(),
                "PA_REQUIRE_LIVE=1 but PA_TEST_SSH_CONFIG is not set (tests/fixtures/ssh/start-loopback-sshd)"
            );
            eprintln!("skipped: PA_TEST_SSH_CONFIG is not set");
            None
        }
    }
}

/// Rules of the runner's tagged session still loaded (key `pa-…`, auid 4242).
fn leftover_rules() -> Vec<String> {
    let (_, rules) = sh("auditctl -l 2>/dev/null");
    rules
        .lines()
        .filter(|l| l.contains("key=pa-") && l.contains("auid=4242"))
        .map(str::to_string)
        .collect()
}

fn fixture_atomics() -> PathBuf {
    repo_root().join("tests/fixtures/atomics")
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// Run the pipeline; (exit code, run directory).
fn orchestrate(ws: &Path, range: &Path, scenario: &Path, envs: &[(&str, &str)]) -> (i32, PathBuf) {
    let mut cmd = Command::new(workspace_bin("pa-orchestrate"));
    cmd.current_dir(repo_root())
        .args(["run", "--workspace"])
        .arg(ws)
        .arg("--range")
        .arg(range)
        .arg("--scenario")
        .arg(scenario);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let code = out.status.code().unwrap_or(-1);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let run_dir = stdout
        .lines()
        .last()
        .and_then(|l| l.split_whitespace().nth(1))
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            panic!(
                "no run directory in the output (exit {code}): {stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    (code, run_dir)
}

fn json(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .unwrap()
}

fn jsonl(p: &Path) -> Vec<Value> {
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn outcome<'a>(manifest: &'a Value, stage: &str) -> &'a Value {
    manifest["stage_outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["stage"] == stage)
        .unwrap_or_else(|| panic!("no outcome for {stage}: {manifest}"))
}

fn phase<'a>(row: &'a Value, name: &str) -> &'a Value {
    row["lifecycle"]["phases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["phase"] == name)
        .unwrap()
}

fn ms(v: &Value) -> i64 {
    let s = v.as_str().unwrap_or_else(|| panic!("not a time: {v}"));
    pa_canon::parse_rfc3339_to_millis(s).unwrap()
}

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// The processes the hanging fixture test wrote down (`background.pid`, `foreground.pid`) are
/// gone (or zombies nobody reaped yet).
fn assert_test_processes_gone(work: &Path) {
    for f in ["background.pid", "foreground.pid"] {
        let pid = std::fs::read_to_string(work.join(f)).unwrap();
        let pid = pid.trim();
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let state = stat.rsplit(')').next().unwrap_or("").trim_start();
        assert!(
            stat.is_empty() || state.starts_with('Z'),
            "{f} {pid} still runs: {stat}"
        );
    }
}

fn bundle_contains(run: &Path, needle: &[u8]) -> Vec<PathBuf> {
    files(run)
        .into_iter()
        .filter(|f| {
            std::fs::read(f)
                .map(|b| b.windows(needle.len()).any(|w| w == needle))
                .unwrap_or(false)
        })
        .collect()
}

const LOCAL_RANGE_FAULTS: &str = r#"range_id: local-faults
lab:
  provider: local
  assets: [{asset_id: local, os: linux, role: workstation, hostname: localhost}]
stages: {telemetry: false, normalization: false, detection: false}
runner:
  allow_local_execution: true
  atomic: {atomics_root: ATOMICS}
"#;

/// `range.yaml` of the local lab over the test-only atomics, runner stages only, in `dir`.
fn faults_range(dir: &Path) -> PathBuf {
    write(
        dir,
        "range.yaml",
        &LOCAL_RANGE_FAULTS.replace("ATOMICS", &fixture_atomics().display().to_string()),
    )
}

#[test]
fn lifecycle_faults_are_explicit_outcomes_and_secrets_never_reach_the_bundle() {
    let _g = lock();
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    std::fs::create_dir(&work).unwrap();
    let w = work.display().to_string();
    let range = faults_range(dir.path());
    let scenario = write(
        dir.path(),
        "scenario.yaml",
        &format!(
            r#"scenario_id: faults
scenario_version: 1.0.0
actions:
  - {{action_id: f1, technique_id: T0001, engine_test_id: 00000001-0000-4000-8000-000000000001, input_args: {{dir: "{w}"}}}}
  - {{action_id: f2, technique_id: T0001, engine_test_id: 00000001-0000-4000-8000-000000000002, input_args: {{dir: "{w}"}}, timeout_seconds: 1}}
  - {{action_id: f3, technique_id: T0001, engine_test_id: 00000001-0000-4000-8000-000000000003}}
  - {{action_id: f4, technique_id: T0001, engine_test_id: 00000001-0000-4000-8000-000000000004, input_args: {{dir: "{w}"}}, secret_input_args: {{token: env:PA_E2E_SECRET}}}}
  - {{action_id: f5, technique_id: T0001, engine_test_id: 00000001-0000-4000-8000-000000000005}}
  - {{action_id: f6, technique_id: T0001, engine_test_id: 00000001-0000-4000-8000-000000000008}}
"#
        ),
    );
    let ws = dir.path().join("ws");
    let secret = "s3cr3t-Value-7f1c9e";
    let (code, run) = orchestrate(&ws, &range, &scenario, &[("PA_E2E_SECRET", secret)]);
    let m = json(&run.join("manifest.json"));
    assert_eq!(code, 10, "{m}");
    assert_eq!(m["status"], "partial");
    let runner = outcome(&m, "runner");
    assert_eq!(runner["status"], "failed");
    assert_eq!(runner["fail_mode"], "warn_and_skip");
    assert_eq!(
        runner["reason_code"], "prepare_failed",
        "the earliest failing phase decides"
    );
    let rows: BTreeMap<String, Value> = jsonl(&run.join("ground_truth.jsonl"))
        .into_iter()
        .map(|r| (r["action_id"].as_str().unwrap().to_string(), r))
        .collect();
    assert_eq!(rows.len(), 6);

    // f1: execute fails with its exit code; cleanup still runs.
    let f1 = &rows["f1"];
    assert_eq!(f1["engine_test_id"], "00000001-0000-4000-8000-000000000001");
    assert_eq!(phase(f1, "execute")["phase_outcome"], "failed");
    assert_eq!(phase(f1, "execute")["reason_code"], "execute_failed");
    assert_eq!(phase(f1, "execute")["exit_code"], 3);
    assert_eq!(phase(f1, "execute")["error"]["type"], "nonzero_exit");
    assert_eq!(phase(f1, "revert")["phase_outcome"], "success");
    assert!(work.join("executed").is_file() && work.join("cleaned").is_file());

    // f2: the timeout kills the whole process group; cleanup runs after it.
    let f2 = &rows["f2"];
    assert_eq!(phase(f2, "execute")["reason_code"], "action_timeout");
    assert_eq!(phase(f2, "execute")["error"]["type"], "timeout");
    assert!(work.join("cleaned-after-timeout").is_file());
    assert_test_processes_gone(&work);
    let ex = json(&run.join("runner/actions/f2/executor.json"));
    assert_eq!(ex["commands"][0]["timed_out"], true);

    // f3: an executor this version does not run is skipped with its reason.
    let f3 = &rows["f3"];
    assert_eq!(phase(f3, "prepare")["phase_outcome"], "skipped");
    assert_eq!(phase(f3, "prepare")["reason_code"], "unsupported_executor");
    assert_eq!(phase(f3, "execute")["reason_code"], "prior_phase_blocked");
    assert!(
        !run.join("runner/actions/f3/stdout.txt").exists(),
        "nothing ran"
    );

    // f4: the secret ran (the command saw it) but is in no published file.
    let f4 = &rows["f4"];
    assert_eq!(phase(f4, "execute")["phase_outcome"], "success");
    assert_eq!(
        f4["parameters"]["input_args_redacted"]["token"],
        "<REDACTED>"
    );
    let out = std::fs::read_to_string(run.join("runner/actions/f4/stdout.txt")).unwrap();
    assert_eq!(out, "token=<REDACTED>\n");
    let err = std::fs::read_to_string(run.join("runner/actions/f4/stderr.txt")).unwrap();
    assert_eq!(err, "stderr <REDACTED>\n");
    assert!(
        bundle_contains(&run, secret.as_bytes()).is_empty(),
        "the secret leaked"
    );
    assert!(bundle_contains(&ws, secret.as_bytes()).is_empty());

    // f6: secrets of every kind the redaction policy knows, printed by the test and written
    // in its command, reach no published file (SPEC §13).
    assert_eq!(phase(&rows["f6"], "execute")["phase_outcome"], "success");
    let out = std::fs::read_to_string(run.join("runner/actions/f6/stdout.txt")).unwrap();
    for marker in [
        "<REDACTED:JWT>",
        "<REDACTED:AWS_ACCESS_KEY_ID>",
        "DB_PASSWORD=<REDACTED>",
        "https://svc:<REDACTED>@db.example/x",
        "<REDACTED:PRIVATE_KEY>",
    ] {
        assert!(out.contains(marker), "{marker} not in {out}");
    }
    let err = std::fs::read_to_string(run.join("runner/actions/f6/stderr.txt")).unwrap();
    assert_eq!(err, "tool --token <REDACTED> --verbose\n");
    for planted in [
        "eyJzdWIiOiJwYS10ZXN0In0",
        "AKIAPLANTEDSECRET012",
        "Planted-Pa55-91x",
        "Planted-Uri-Pw-7",
        "Planted-Cli-Tok-3",
        "MIIEvPlantedPrivateKeyBody",
    ] {
        assert!(
            bundle_contains(&run, planted.as_bytes()).is_empty(),
            "planted secret {planted} leaked into {:?}",
            bundle_contains(&run, planted.as_bytes())
        );
    }

    // f5: an unmet prerequisite fails prepare; nothing executes.
    let f5 = &rows["f5"];
    assert_eq!(phase(f5, "prepare")["phase_outcome"], "failed");
    assert_eq!(phase(f5, "prepare")["reason_code"], "prereq_unsatisfied");
    assert_eq!(phase(f5, "execute")["phase_outcome"], "skipped");

    // Every row is contract-valid (the publish gate passed) and names its times.
    for r in rows.values() {
        assert!(r.get("timestamp_utc").is_some());
    }
}

#[test]
fn a_missing_secret_or_an_unknown_test_runs_nothing_and_says_why() {
    let _g = lock();
    let dir = tempfile::tempdir().unwrap();
    let range = faults_range(dir.path());
    let scenario = write(
        dir.path(),
        "scenario.yaml",
        "scenario_id: bad\nscenario_version: 1.0.0\nactions:\n  - {action_id: a, technique_id: T0001, engine_test_id: 00000001-0000-4000-8000-000000000006}\n  - {action_id: b, technique_id: T0001, engine_test_id: 99999999-0000-4000-8000-000000000000}\n  - {action_id: c, technique_id: T0001, engine_test_id: 00000001-0000-4000-8000-000000000004, secret_input_args: {token: env:PA_E2E_UNSET_SECRET}}\n  - {action_id: d, technique_id: T0001, engine_test_id: 00000001-0000-4000-8000-000000000006, target: {asset_ids: [nowhere]}}\n",
    );
    let ws = dir.path().join("ws");
    let (code, run) = orchestrate(&ws, &range, &scenario, &[]);
    assert_eq!(code, 20);
    let m = json(&run.join("manifest.json"));
    let runner = outcome(&m, "runner");
    let msg = runner["message"].as_str().unwrap();
    for want in [
        "actions[b]",
        "99999999-0000-4000-8000-000000000000",
        "actions[c]",
        "PA_E2E_UNSET_SECRET",
        "actions[d]",
        "nowhere",
    ] {
        assert!(msg.contains(want), "{want} not in {msg}");
    }
    assert!(
        !run.join("ground_truth.jsonl").exists(),
        "nothing is published"
    );
    assert!(!run.join("runner").exists());
}

/// The overlap of a run with `linux-audit-lab`: per action, the expected rules of its test
/// (command phase) and the rules that fired in the action's execute session. Records are
/// attributed exactly: the tagged pid of the execute command (executor.json) has a `LOGIN`
/// audit record naming its session; a detection belongs to the sessions of the SYSCALL
/// records stamped at its first_seen time.
fn agreement(run: &Path) -> Vec<(String, BTreeSet<String>, BTreeSet<String>)> {
    let expected = json(&shared_data().join("linux-audit-lab/sigma/expected_detections.json"));
    let mut pid_action: BTreeMap<u64, String> = BTreeMap::new();
    for f in files(&run.join("runner/actions")) {
        if f.file_name().is_some_and(|n| n == "executor.json") {
            let d = json(&f);
            for c in d["commands"].as_array().unwrap() {
                if c["phase"] == "execute" {
                    if let Some(pid) = c["tagged_pid"].as_u64() {
                        pid_action.insert(pid, d["action_id"].as_str().unwrap().to_string());
                    }
                }
            }
        }
    }
    let field = |line: &str, key: &str| -> Option<String> {
        line.split([' ', '\u{1d}'])
            .find_map(|t| t.strip_prefix(key).map(str::to_string))
    };
    let stamp = |line: &str| -> Option<i64> {
        let s = line.split("msg=audit(").nth(1)?;
        let (secs, rest) = s.split_once('.')?;
        let frac = rest.split(':').next()?;
        Some(secs.parse::<i64>().ok()? * 1000 + frac.parse::<i64>().ok()?)
    };
    let mut ses_action: BTreeMap<String, String> = BTreeMap::new();
    let mut ms_ses: BTreeMap<i64, BTreeSet<String>> = BTreeMap::new();
    let log = std::fs::read_to_string(run.join("raw/live/audit/audit.log")).unwrap();
    for line in log.lines() {
        if line.starts_with("type=LOGIN") {
            if let (Some(pid), Some(ses)) = (field(line, "pid="), field(line, "ses=")) {
                if let Some(a) = pid.parse().ok().and_then(|p: u64| pid_action.get(&p)) {
                    ses_action.insert(ses, a.clone());
                }
            }
        }
        if line.starts_with("type=SYSCALL") {
            if let (Some(t), Some(ses)) = (stamp(line), field(line, "ses=")) {
                ms_ses.entry(t).or_default().insert(ses);
            }
        }
    }
    let mut fired: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for d in jsonl(&run.join("detections/detections.jsonl")) {
        for ses in ms_ses.get(&ms(&d["first_seen_utc"])).into_iter().flatten() {
            if let Some(a) = ses_action.get(ses) {
                fired
                    .entry(a.clone())
                    .or_default()
                    .insert(d["rule_id"].as_str().unwrap().to_string());
            }
        }
    }
    let mut out = Vec::new();
    for r in jsonl(&run.join("ground_truth.jsonl")) {
        let a = r["action_id"].as_str().unwrap().to_string();
        let Some(e) = expected.get(r["engine_test_id"].as_str().unwrap()) else {
            continue;
        };
        let want: BTreeSet<String> = e["sigma_rules"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| {
                x["phases"]
                    .as_array()
                    .is_none_or(|p| p.iter().any(|p| p == "command"))
            })
            .map(|x| x["rule_id"].as_str().unwrap().to_string())
            .collect();
        let got = fired.get(&a).cloned().unwrap_or_default();
        out.push((a, want, got));
    }
    out
}

#[test]
fn the_local_linux_example_runs_live_and_reproduces_the_lab_detections() {
    let _g = lock();
    if !live_audit() {
        return;
    }
    shared_data();
    let ex = repo_root().join("examples/local-linux");
    let ws = tempfile::tempdir().unwrap();
    let (code, run) = orchestrate(
        ws.path(),
        &ex.join("range.yaml"),
        &ex.join("scenario.yaml"),
        &[],
    );
    let m = json(&run.join("manifest.json"));
    assert_eq!(code, 0, "{m}");
    assert_eq!(
        m["status"], "success",
        "a clean live run ends success, not partial: {m}"
    );
    for o in m["stage_outcomes"].as_array().unwrap() {
        assert_eq!(o["status"], "success", "{o}");
    }
    // Ground truth: every action ran, with its test's GUID and the execute phase's times.
    let rows = jsonl(&run.join("ground_truth.jsonl"));
    assert_eq!(rows.len(), 15);
    for r in &rows {
        let guid = r["engine_test_id"].as_str().unwrap();
        assert_eq!(guid.len(), 36, "{guid}");
        let e = phase(r, "execute");
        assert_eq!(e["phase_outcome"], "success", "{r}");
        assert!(ms(&e["ended_at_utc"]) >= ms(&e["started_at_utc"]));
        assert!(
            r["parameters"]["resolved_inputs_sha256"]
                .as_str()
                .unwrap()
                .len()
                == 64
        );
    }
    // The capture: rules installed and removed, nothing lost, the window covers the actions.
    let cs = json(&run.join("runner/capture_session.json"));
    let s = &cs["sessions"][0];
    let installed = s["audit"]["rules_installed"].as_array().unwrap().len();
    assert!(installed > 10, "{s}");
    assert_eq!(s["audit"]["rules_removed"], installed);
    assert_eq!(s["lost_before"], s["lost_after"]);
    assert!(leftover_rules().is_empty(), "{:?}", leftover_rules());
    let tv = json(&run.join("logs/telemetry_validation.json"));
    let first = rows
        .iter()
        .map(|r| ms(&phase(r, "prepare")["started_at_utc"]))
        .min()
        .unwrap();
    assert!(ms(&tv["capture_window"]["start_time_utc"]) < first);
    assert_eq!(tv["totals"]["records_dropped"], 0, "{tv}");
    let cov = json(&run.join("normalized/mapping_coverage.json"));
    assert!(cov.to_string().len() > 2);
    // Validation: every action's expected telemetry (mappings/criteria/linux-atomics.yaml).
    let results = jsonl(&run.join("criteria/results.jsonl"));
    assert_eq!(results.len(), 15);
    for r in &results {
        assert_eq!(r["status"], "pass", "{r}");
    }
    // Detections: the rules the reference evaluator found on the lab capture, per action.
    let table = agreement(&run);
    assert!(
        table.len() >= 15,
        "every example test overlaps the lab: {}",
        table.len()
    );
    let missed: Vec<String> = table
        .iter()
        .flat_map(|(a, want, got)| want.difference(got).map(move |r| format!("{a}: {r}")))
        .collect();
    let expected: usize = table.iter().map(|(_, w, _)| w.len()).sum();
    eprintln!(
        "agreement: {} of {expected} expected (action, rule) pairs reproduced",
        expected - missed.len()
    );
    assert!(missed.is_empty(), "missed: {missed:?}");
}

const LIVE_RANGE: &str = r#"range_id: live-test
lab:
  provider: PROVIDER
  assets: [ASSET]
runner:
  allow_local_execution: true
  SSH
  atomic: {atomics_root: ATOMICS, timeout_seconds: 120}
telemetry:
  sources: [{source_id: audit, format: auditd, asset_id: lab1, live: true, manage_audit_rules: true, padding_seconds: 1}]
detection:
  sigma: {rule_paths: [RULES]}
"#;

fn live_range(provider: &str, atomics: &Path, ssh_config: Option<&str>) -> String {
    let asset = match provider {
        "ssh" => "{asset_id: lab1, os: linux, role: workstation, hostname: pa-loopback}",
        _ => "{asset_id: lab1, os: linux, role: workstation, hostname: localhost}",
    };
    LIVE_RANGE
        .replace("PROVIDER", provider)
        .replace("ASSET", asset)
        .replace(
            "SSH",
            &ssh_config
                .map(|c| format!("ssh: {{config_file: {c}}}"))
                .unwrap_or_default(),
        )
        .replace("ATOMICS", &atomics.display().to_string())
        .replace(
            "RULES",
            &shared_data()
                .join("sigma/rules/linux")
                .display()
                .to_string(),
        )
}

/// The shape of a ground-truth row: its keys, recursively, and its phases' outcomes.
fn shape(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let keep = matches!(
                        k.as_str(),
                        "phase"
                            | "phase_outcome"
                            | "reason_code"
                            | "engine"
                            | "engine_test_id"
                            | "technique_id"
                            | "action_id"
                    );
                    (k.clone(), if keep { v.clone() } else { shape(v) })
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(shape).collect()),
        _ => Value::Null,
    }
}

#[test]
fn an_ssh_target_on_loopback_records_ground_truth_of_the_same_shape() {
    let _g = lock();
    if !live_audit() {
        return;
    }
    let Some(cfg) = ssh_config() else { return };
    let atomics = shared_data().join("atomics");
    let dir = tempfile::tempdir().unwrap();
    let scenario = write(
        dir.path(),
        "scenario.yaml",
        "scenario_id: ssh-subset\nscenario_version: 1.0.0\nactions:\n  - {action_id: a01, technique_id: T1082, engine: atomic, engine_test_id: cccb070c-df86-4216-a5bc-9fb60c74e27c, target: {asset_ids: [lab1]}}\n  - {action_id: a06, technique_id: T1087.001, engine: atomic, engine_test_id: f8aab3dd-5990-4bf8-b8ab-2226c951696f, target: {asset_ids: [lab1]}}\n  - {action_id: a13, technique_id: T1070.006, engine: atomic, engine_test_id: 631ea661-d661-44b0-abdb-7a7f3fc08e50, target: {asset_ids: [lab1]}}\n",
    );
    let mut shapes = Vec::new();
    for provider in ["local", "ssh"] {
        let range = write(
            dir.path(),
            &format!("{provider}.yaml"),
            &live_range(
                provider,
                &atomics,
                (provider == "ssh").then_some(cfg.as_str()),
            ),
        );
        let ws = dir.path().join(format!("ws-{provider}"));
        let (code, run) = orchestrate(&ws, &range, &scenario, &[]);
        let m = json(&run.join("manifest.json"));
        let unattributed = std::fs::read_to_string(run.join("scoring/summary.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
            .map(|v| v["unattributed_detections"].clone());
        // Every stage succeeds; the judgement's threshold gates (a handful of detections
        // here) may make the run partial, which is not what this test is about.
        assert!(
            matches!(code, 0 | 10),
            "{provider}: {m}\nunattributed: {unattributed:?}"
        );
        for o in m["stage_outcomes"].as_array().unwrap() {
            if o["stage"] != "scoring.thresholds" {
                assert_eq!(o["status"], "success", "{provider}: {o}");
            }
        }
        let rows = jsonl(&run.join("ground_truth.jsonl"));
        assert_eq!(rows.len(), 3);
        shapes.push(rows.iter().map(shape).collect::<Vec<_>>());
        assert!(
            leftover_rules().is_empty(),
            "{provider}: {:?}",
            leftover_rules()
        );
        let inv = json(&run.join("logs/lab_inventory_snapshot.json"));
        assert_eq!(inv["assets"][0]["facts"]["privileges"], "root", "{inv}");
        if provider == "ssh" {
            let ex = json(&run.join("runner/actions/a01/executor.json"));
            assert_eq!(ex["executor"], "ssh");
            assert!(
                json(&run.join("manifest.json"))["stage_outcomes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|o| o["stage"] == "lab_provider.connectivity" && o["status"] == "success")
            );
            // Nothing of the ssh configuration's keys is in the bundle.
            let cfg_dir = Path::new(&cfg).parent().unwrap();
            let key = std::fs::read_to_string(cfg_dir.join("client_key")).unwrap();
            for line in key.lines().filter(|l| l.len() > 40) {
                assert!(
                    bundle_contains(&run, line.as_bytes()).is_empty(),
                    "private key material leaked"
                );
            }
            let ids = std::fs::read_to_string(&cfg).unwrap();
            let identity = ids
                .lines()
                .find_map(|l| l.trim().strip_prefix("IdentityFile "))
                .unwrap();
            assert!(
                bundle_contains(&run, identity.as_bytes()).is_empty(),
                "identity path leaked"
            );
        }
    }
    assert_eq!(
        shapes[0], shapes[1],
        "local and ssh ground truth differ in shape"
    );
}

#[test]
fn an_interrupted_run_kills_the_action_runs_its_cleanup_and_removes_the_audit_rules() {
    let _g = lock();
    if !live_audit() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    std::fs::create_dir(&work).unwrap();
    let range = write(
        dir.path(),
        "range.yaml",
        &live_range("local", &fixture_atomics(), None),
    );
    let scenario = write(
        dir.path(),
        "scenario.yaml",
        &format!(
            "scenario_id: interrupted\nscenario_version: 1.0.0\nactions:\n  - {{action_id: hang, technique_id: T0001, engine_test_id: 00000001-0000-4000-8000-000000000002, input_args: {{dir: \"{}\", seconds: \"293\"}}}}\n",
            work.display()
        ),
    );
    let ws = dir.path().join("ws");
    let mut child = std::process::Command::new(workspace_bin("pa-orchestrate"))
        .current_dir(repo_root())
        .args(["run", "--workspace"])
        .arg(&ws)
        .arg("--range")
        .arg(&range)
        .arg("--scenario")
        .arg(&scenario)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the action runs (its pid file) with the run's rules loaded.
    let fg = work.join("foreground.pid");
    let mut waited = 0;
    while !fg.is_file() || leftover_rules().is_empty() {
        assert!(waited < 600, "the action never started");
        std::thread::sleep(Duration::from_millis(100));
        waited += 1;
    }
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(child.id() as i32).unwrap(),
        rustix::process::Signal::INT,
    )
    .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(20), "an interrupted run fails");
    assert!(
        leftover_rules().is_empty(),
        "rules left after SIGINT: {:?}",
        leftover_rules()
    );
    assert!(
        work.join("cleaned-after-timeout").is_file(),
        "the cleanup did not run"
    );
    assert_test_processes_gone(&work);
    let run = files(&ws.join("runs"))
        .into_iter()
        .find(|f| f.ends_with("manifest.json"))
        .unwrap();
    let m = json(&run);
    assert_eq!(m["status"], "failed");
    assert!(!run.parent().unwrap().join("ground_truth.jsonl").exists());
}

/// Puts the kernel's audit rate limit back when dropped.
struct RateLimit(String);

impl Drop for RateLimit {
    fn drop(&mut self) {
        sh(&format!("auditctl -r {} >/dev/null", self.0));
    }
}

#[test]
fn lost_audit_records_fail_the_telemetry_stage() {
    let _g = lock();
    if !live_audit() {
        return;
    }
    let (_, status) = sh("auditctl -s");
    let old = status
        .lines()
        .find_map(|l| l.strip_prefix("rate_limit "))
        .unwrap_or("0")
        .trim()
        .to_string();
    let _restore = RateLimit(old);
    // At most 5 records a second: the kernel drops the rest and counts them as lost.
    assert!(sh("auditctl -r 5 >/dev/null").0);
    let dir = tempfile::tempdir().unwrap();
    let range = write(
        dir.path(),
        "range.yaml",
        &live_range("local", &fixture_atomics(), None),
    );
    let scenario = write(
        dir.path(),
        "scenario.yaml",
        "scenario_id: lossy\nscenario_version: 1.0.0\nactions:\n  - {action_id: burst, technique_id: T0001, engine_test_id: 00000001-0000-4000-8000-000000000007, input_args: {count: \"300\"}}\n",
    );
    let (code, run) = orchestrate(&dir.path().join("ws"), &range, &scenario, &[]);
    assert_eq!(code, 20);
    let m = json(&run.join("manifest.json"));
    assert_eq!(outcome(&m, "runner")["status"], "success");
    let t = outcome(&m, "telemetry");
    assert_eq!(t["reason_code"], "audit_events_lost", "{t}");
    assert!(t["message"].as_str().unwrap().contains("lost"), "{t}");
    assert!(
        !run.join("raw_parquet").exists(),
        "a failed capture publishes nothing"
    );
    assert!(leftover_rules().is_empty());
}

#[test]
fn an_ssh_host_that_refuses_is_a_connectivity_outcome_and_runs_nothing() {
    let _g = lock();
    let dir = tempfile::tempdir().unwrap();
    let range = write(
        dir.path(),
        "range.yaml",
        &format!(
            "range_id: refused\nlab:\n  provider: ssh\n  assets: [{{asset_id: h1, os: linux, role: server, ip: 127.0.0.1, port: 1, user: nobody}}]\nrunner:\n  ssh: {{connect_timeout_seconds: 5}}\n  atomic: {{atomics_root: {}}}\nstages: {{telemetry: false, normalization: false, detection: false}}\n",
            fixture_atomics().display()
        ),
    );
    let scenario = write(
        dir.path(),
        "scenario.yaml",
        "scenario_id: refused\nscenario_version: 1.0.0\nactions:\n  - {action_id: a, technique_id: T0001, engine_test_id: 00000001-0000-4000-8000-000000000006}\n",
    );
    let (code, run) = orchestrate(&dir.path().join("ws"), &range, &scenario, &[]);
    assert_eq!(code, 20);
    let m = json(&run.join("manifest.json"));
    let conn = outcome(&m, "lab_provider.connectivity");
    assert_eq!(conn["reason_code"], "partial_connectivity", "{conn}");
    assert!(conn["message"].as_str().unwrap().contains("h1"), "{conn}");
    let runner = outcome(&m, "runner");
    assert_eq!(runner["reason_code"], "target_unreachable", "{runner}");
    assert!(
        runner["message"].as_str().unwrap().contains("127.0.0.1"),
        "{runner}"
    );
    assert!(!run.join("ground_truth.jsonl").exists());
}

#[test]
fn dry_run_prints_the_resolved_commands_and_runs_nothing() {
    let _g = lock();
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    std::fs::create_dir(&work).unwrap();
    let range = faults_range(dir.path());
    let scenario = write(
        dir.path(),
        "scenario.yaml",
        &format!(
            "scenario_id: dry\nscenario_version: 1.0.0\nactions:\n  - {{action_id: f1, technique_id: T0001, engine_test_id: 00000001-0000-4000-8000-000000000001, input_args: {{dir: \"{w}\"}}}}\n  - {{action_id: f4, technique_id: T0001, test_number: 4, input_args: {{dir: \"{w}\"}}, secret_input_args: {{token: env:PA_E2E_DRY_SECRET}}}}\n  - {{action_id: f3, technique_id: T0001, test_name: Needs PowerShell}}\n",
            w = work.display()
        ),
    );
    let out = Command::new(workspace_bin("pa-runner"))
        .args(["--dry-run", "--range"])
        .arg(&range)
        .arg("--scenario")
        .arg(&scenario)
        .env("PA_E2E_DRY_SECRET", "dry-secret-91")
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains(&format!("echo ran > {}/executed", work.display())),
        "{text}"
    );
    assert!(text.contains("## cleanup"), "{text}");
    assert!(text.contains("echo \"token=<REDACTED>\""), "{text}");
    assert!(!text.contains("dry-secret-91"), "{text}");
    assert!(text.contains("skipped: the powershell executor"), "{text}");
    assert_eq!(std::fs::read_dir(&work).unwrap().count(), 0, "nothing ran");
    // A bad plan is refused with its problems, still running nothing.
    let bad = write(
        dir.path(),
        "bad.yaml",
        "scenario_id: dry\nscenario_version: 1.0.0\nactions:\n  - {action_id: x, technique_id: T0001, engine_test_id: 00000001-0000-4000-8000-000000000001, input_args: {nope: \"1\"}}\n",
    );
    let err = Command::new(workspace_bin("pa-runner"))
        .args(["--dry-run", "--range"])
        .arg(&range)
        .arg("--scenario")
        .arg(&bad)
        .assert()
        .code(20)
        .get_output()
        .stderr
        .clone();
    let err = String::from_utf8(err).unwrap();
    assert!(err.contains("nope") && err.contains("actions[x]"), "{err}");
}

#[test]
fn the_minimal_range_and_scenario_forms_run() {
    let _g = lock();
    if !live_audit() {
        return;
    }
    let data = shared_data();
    let dir = tempfile::tempdir().unwrap();
    // Exactly the minimal form of the live-lab issue: no ids, no versions, no stages.
    let range = write(
        dir.path(),
        "range.yaml",
        &format!(
            "lab: {{provider: local, assets: [{{asset_id: local, os: linux, role: workstation, hostname: localhost}}]}}\nrunner: {{allow_local_execution: true, atomic: {{atomics_root: {}}}}}\ntelemetry: {{sources: [{{source_id: audit, format: auditd, asset_id: local, live: true, manage_audit_rules: true}}]}}\ndetection: {{sigma: {{rule_paths: [{}]}}}}\n",
            data.join("atomics").display(),
            data.join("sigma/rules/linux").display()
        ),
    );
    let scenario = write(
        dir.path(),
        "scenario.yaml",
        "actions:\n  - {action_id: a1, technique_id: T1082, engine: atomic, engine_test_id: cccb070c-df86-4216-a5bc-9fb60c74e27c, target: {asset_ids: [local]}}\n",
    );
    let (code, run) = orchestrate(&dir.path().join("ws"), &range, &scenario, &[]);
    let m = json(&run.join("manifest.json"));
    // Every stage succeeds (the gates of a one-action run may still make it partial).
    assert!(matches!(code, 0 | 10), "{m}");
    for o in m["stage_outcomes"].as_array().unwrap() {
        if !o["stage"].as_str().unwrap().ends_with(".thresholds") {
            assert_eq!(o["status"], "success", "{o}");
        }
    }
    let rows = jsonl(&run.join("ground_truth.jsonl"));
    assert_eq!(
        rows[0]["engine_test_id"],
        "cccb070c-df86-4216-a5bc-9fb60c74e27c"
    );
    assert_eq!(rows[0]["scenario_id"], "scenario");
    let e = phase(&rows[0], "execute");
    for k in ["started_at_utc", "ended_at_utc"] {
        let t = e[k].as_str().unwrap();
        assert!(
            t.len() == 24 && t.ends_with('Z') && t.as_bytes()[19] == b'.',
            "{k}: {t}"
        );
    }
    assert!(leftover_rules().is_empty());
}
