//! End to end: `pa-orchestrate` over test-only stage executables (tests/fixtures/stages/*,
//! which exec `pa-fixture-stage`), plus the real `pa-lab`.

use assert_cmd::Command;
use pa_e2e::{fixture_stage_dir, workspace_bin};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const RANGE: &str = "\
range_id: fixture-range
lab:
  provider: replay
  assets:
    - asset_id: win-01
      os: windows
      role: endpoint
stages:
  lab_provider: true
  runner: false
  telemetry: true
  normalization: true
  detection: true
  scoring: true
  # Reporting follows scoring by default; these tests are about the driver's mechanics.
  reporting: false
replay:
  ground_truth: ground_truth.jsonl
";

const SCENARIO: &str = "\
scenario_id: fixture-scenario
scenario_version: 1.0.0
actions:
  - action_id: s1
    technique_id: T1059.001
";

const RUN_ID: &str = "0a1b2c3d-0000-4000-8000-00000000abcd";

struct Ws {
    dir: tempfile::TempDir,
}

impl Ws {
    fn new() -> Ws {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("range.yaml"), RANGE).unwrap();
        std::fs::write(dir.path().join("scenario.yaml"), SCENARIO).unwrap();
        Ws { dir }
    }
    fn path(&self) -> &Path {
        self.dir.path()
    }
    fn run_dir(&self) -> PathBuf {
        self.path().join("runs").join(RUN_ID)
    }
    fn orch(&self) -> Command {
        let mut c = Command::new(workspace_bin("pa-orchestrate"));
        c.current_dir(self.path())
            .env(
                "PA_FIXTURE_STAGE_BIN",
                env!("CARGO_BIN_EXE_pa-fixture-stage"),
            )
            .env_remove("PA_FAILPOINT");
        c
    }
    fn std_orch(&self) -> std::process::Command {
        let mut c = std::process::Command::new(workspace_bin("pa-orchestrate"));
        c.current_dir(self.path()).env(
            "PA_FIXTURE_STAGE_BIN",
            env!("CARGO_BIN_EXE_pa-fixture-stage"),
        );
        c
    }
    fn new_run_args(&self) -> Vec<String> {
        vec![
            "run".into(),
            "--range".into(),
            "range.yaml".into(),
            "--scenario".into(),
            "scenario.yaml".into(),
            "--run-id".into(),
            RUN_ID.into(),
            "--stage-bin-dir".into(),
            fixture_stage_dir().display().to_string(),
        ]
    }
    fn rerun_args(&self, stage: &str) -> Vec<String> {
        vec![
            "run".into(),
            "--run-dir".into(),
            self.run_dir().display().to_string(),
            "--from".into(),
            stage.into(),
            "--stage-bin-dir".into(),
            fixture_stage_dir().display().to_string(),
        ]
    }
    /// Start `--from detection` with a detection stage that stages its artifact and hangs;
    /// return the orchestrator process and the stage's pid once it is ready.
    fn spawn_hanging_detection(&self) -> (std::process::Child, String) {
        let ready = self.path().join("ready");
        let _ = std::fs::remove_file(&ready);
        let child = self
            .std_orch()
            .args(self.rerun_args("detection"))
            .env("PA_FIXTURE_DETECTION", "hang")
            .env("PA_FIXTURE_TAG", "HALF")
            .env("PA_FIXTURE_READY", &ready)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let pid = wait_for(&ready);
        (child, pid)
    }

    fn manifest(&self) -> Value {
        serde_json::from_slice(&std::fs::read(self.run_dir().join("manifest.json")).unwrap())
            .unwrap()
    }
    fn outcomes(&self) -> Vec<(String, String, Option<String>)> {
        self.manifest()["stage_outcomes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| {
                (
                    o["stage"].as_str().unwrap().to_string(),
                    o["status"].as_str().unwrap().to_string(),
                    o["reason_code"].as_str().map(String::from),
                )
            })
            .collect()
    }
    fn detections(&self) -> String {
        std::fs::read_to_string(self.run_dir().join("detections/detections.jsonl")).unwrap()
    }
    /// Every published file and its bytes (staging excluded).
    fn tree(&self) -> BTreeMap<String, Vec<u8>> {
        fn walk(root: &Path, d: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
            for e in std::fs::read_dir(d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    walk(root, &p, out);
                } else {
                    out.insert(
                        p.strip_prefix(root).unwrap().display().to_string(),
                        std::fs::read(&p).unwrap(),
                    );
                }
            }
        }
        let mut m = BTreeMap::new();
        walk(self.path(), &self.path().join("runs"), &mut m);
        m
    }
}

fn wait_for(path: &Path) -> String {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(60) {
        if let Ok(s) = std::fs::read_to_string(path) {
            if !s.is_empty() {
                return s;
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("timed out waiting for {}", path.display());
}

fn kill(pid: &str, sig: rustix::process::Signal) {
    let pid = rustix::process::Pid::from_raw(pid.trim().parse().unwrap()).unwrap();
    rustix::process::kill_process(pid, sig).unwrap();
}

fn s(v: &str) -> String {
    v.to_string()
}

#[test]
fn all_stages_succeed() {
    let ws = Ws::new();
    ws.orch()
        .args(ws.new_run_args())
        .env("PA_FIXTURE_TAG", "A")
        .assert()
        .code(0);
    let m = ws.manifest();
    assert_eq!(m["status"], "success");
    assert_eq!(
        ws.outcomes(),
        vec![
            (s("lab_provider"), s("success"), None),
            (s("telemetry"), s("success"), None),
            (s("normalization"), s("success"), None),
            (s("detection"), s("success"), None),
            (s("scoring"), s("success"), None),
        ]
    );
    let rr: Value =
        serde_json::from_slice(&std::fs::read(ws.run_dir().join("run_results.json")).unwrap())
            .unwrap();
    assert_eq!(rr["status"], "success");
    assert_eq!(rr["exit_code"], 0);
    assert_eq!(rr["counts"]["stages"]["success"], 5);
    let health: Value =
        serde_json::from_slice(&std::fs::read(ws.run_dir().join("logs/health.json")).unwrap())
            .unwrap();
    assert_eq!(health["stages"].as_array().unwrap().len(), 5);
    assert_eq!(
        std::fs::read(ws.run_dir().join("inputs/range.yaml")).unwrap(),
        RANGE.as_bytes()
    );
    assert!(
        m["inputs"]["range_yaml_sha256"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    assert!(ws.detections().contains("fixture A"));
    // Nothing left in staging, and the lock is released.
    let staging = ws.run_dir().join(".staging");
    assert!(!staging.exists() || std::fs::read_dir(&staging).unwrap().next().is_none());
    assert!(
        !ws.path()
            .join(format!("runs/.locks/{RUN_ID}.lock"))
            .exists()
    );
}

#[test]
fn warn_and_skip_degrades_to_partial_and_continues() {
    let ws = Ws::new();
    ws.orch()
        .args(ws.new_run_args())
        .env("PA_FIXTURE_NORMALIZATION", "warn")
        .assert()
        .code(10);
    assert_eq!(ws.manifest()["status"], "partial");
    let o = ws.outcomes();
    assert_eq!(
        o[2],
        (s("normalization"), s("failed"), Some(s("input_missing")))
    );
    assert_eq!(o[4], (s("scoring"), s("success"), None));
}

#[test]
fn fail_closed_stops_and_skips_downstream() {
    let ws = Ws::new();
    ws.orch()
        .args(ws.new_run_args())
        .env("PA_FIXTURE_NORMALIZATION", "fail")
        .assert()
        .code(20);
    assert_eq!(ws.manifest()["status"], "failed");
    let o = ws.outcomes();
    assert_eq!(
        o[2],
        (s("normalization"), s("failed"), Some(s("input_missing")))
    );
    assert_eq!(
        o[3],
        (
            s("detection"),
            s("skipped"),
            Some(s("blocked_by_upstream_failure"))
        )
    );
    assert_eq!(
        o[4],
        (
            s("scoring"),
            s("skipped"),
            Some(s("blocked_by_upstream_failure"))
        )
    );
    assert!(!ws.run_dir().join("detections/detections.jsonl").exists());
}

#[test]
fn from_reruns_a_suffix_and_replaces_its_outputs() {
    let ws = Ws::new();
    ws.orch()
        .args(ws.new_run_args())
        .env("PA_FIXTURE_TAG", "A")
        .env("PA_FIXTURE_SCORING", "fail")
        .assert()
        .code(20);
    assert_eq!(ws.manifest()["status"], "failed");
    let lab_before = ws.manifest()["stage_outcomes"][0].clone();
    ws.orch()
        .args(ws.rerun_args("detection"))
        .env("PA_FIXTURE_TAG", "B")
        .assert()
        .code(0);
    assert!(ws.detections().contains("fixture B"));
    assert_eq!(ws.manifest()["status"], "success");
    assert_eq!(ws.manifest()["stage_outcomes"][0], lab_before);
    assert_eq!(ws.outcomes().len(), 5);
}

#[test]
fn an_artifact_failing_its_contract_is_not_published() {
    let ws = Ws::new();
    ws.orch()
        .args(ws.new_run_args())
        .env("PA_FIXTURE_TAG", "A")
        .assert()
        .code(0);
    let before = ws.detections();
    ws.orch()
        .args(ws.rerun_args("detection"))
        .env("PA_FIXTURE_DETECTION", "bad_artifact")
        .assert()
        .code(20);
    assert_eq!(
        ws.detections(),
        before,
        "the earlier detections must be intact"
    );
    let o = ws.outcomes();
    assert_eq!(
        o[3],
        (
            s("detection"),
            s("failed"),
            Some(s("contract_validation_failed"))
        )
    );
    assert_eq!(
        o[4],
        (
            s("scoring"),
            s("skipped"),
            Some(s("blocked_by_upstream_failure"))
        )
    );
    let report: Value = serde_json::from_slice(
        &std::fs::read(ws.run_dir().join("logs/contract_validation/detection.json")).unwrap(),
    )
    .unwrap();
    let art = &report["artifacts"][0];
    assert_eq!(art["artifact_path"], "detections/detections.jsonl");
    assert!(
        art["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["instance_path"].as_str().unwrap().starts_with("/line/1"))
    );
    // A later good run clears the report.
    ws.orch()
        .args(ws.rerun_args("detection"))
        .env("PA_FIXTURE_TAG", "C")
        .assert()
        .code(0);
    assert!(
        !ws.run_dir()
            .join("logs/contract_validation/detection.json")
            .exists()
    );
    assert!(ws.detections().contains("fixture C"));
}

#[test]
fn kill_9_while_writing_leaves_no_partial_output_and_from_recovers() {
    let ws = Ws::new();
    ws.orch()
        .args(ws.new_run_args())
        .env("PA_FIXTURE_TAG", "A")
        .assert()
        .code(0);
    let before = ws.detections();
    let (mut child, pid) = ws.spawn_hanging_detection();
    kill(&pid, rustix::process::Signal::KILL);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(20));
    assert_eq!(
        ws.detections(),
        before,
        "published detections changed after kill -9"
    );
    let o = ws.outcomes();
    assert_eq!(
        o[3],
        (s("detection"), s("failed"), Some(s("stage_process_failed")))
    );
    assert!(!ws.run_dir().join(".staging/detection").exists());
    ws.orch()
        .args(ws.rerun_args("detection"))
        .env("PA_FIXTURE_TAG", "D")
        .assert()
        .code(0);
    assert!(ws.detections().contains("fixture D"));
    assert_eq!(ws.manifest()["status"], "success");
}

#[test]
fn a_second_orchestrator_on_the_same_run_exits_20_and_changes_nothing() {
    let ws = Ws::new();
    ws.orch().args(ws.new_run_args()).assert().code(0);
    let (mut first, pid) = ws.spawn_hanging_detection();
    let before = ws.tree();
    let out = ws
        .orch()
        .args(ws.rerun_args("lab_provider"))
        .assert()
        .code(20)
        .get_output()
        .stderr
        .clone();
    let err = String::from_utf8_lossy(&out);
    assert!(err.contains("lock"), "{err}");
    assert_eq!(
        ws.tree(),
        before,
        "the refused orchestrator changed the bundle"
    );
    // A stage run standalone is refused the same way.
    Command::new(workspace_bin("pa-lab"))
        .arg("--run-dir")
        .arg(ws.run_dir())
        .assert()
        .code(20);
    assert_eq!(ws.tree(), before);
    kill(&pid, rustix::process::Signal::KILL);
    first.wait().unwrap();
}

#[test]
fn sigterm_is_forwarded_recorded_and_releases_the_lock() {
    let ws = Ws::new();
    ws.orch().args(ws.new_run_args()).assert().code(0);
    let (mut orch, _pid) = ws.spawn_hanging_detection();
    kill(&orch.id().to_string(), rustix::process::Signal::TERM);
    let status = orch.wait().unwrap();
    assert_eq!(status.code(), Some(20));
    let o = ws.outcomes();
    assert_eq!(
        o[3],
        (s("detection"), s("failed"), Some(s("stage_interrupted")))
    );
    assert!(
        !ws.path()
            .join(format!("runs/.locks/{RUN_ID}.lock"))
            .exists()
    );
}

#[test]
fn an_injected_full_disk_fails_the_stage_and_keeps_earlier_outputs() {
    let ws = Ws::new();
    ws.orch()
        .args(ws.new_run_args())
        .env("PA_FIXTURE_TAG", "A")
        .assert()
        .code(0);
    let before = ws.detections();
    ws.orch()
        .args(ws.rerun_args("detection"))
        .env("PA_FAILPOINT", "staging_write:enospc")
        .assert()
        .code(20);
    assert_eq!(ws.detections(), before);
    assert_eq!(
        ws.outcomes()[3],
        (s("detection"), s("failed"), Some(s("storage_io_error")))
    );
    let msg = ws.manifest()["stage_outcomes"][3]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        msg.contains("detections.jsonl") && msg.contains("space"),
        "{msg}"
    );
}

#[test]
fn a_missing_stage_binary_is_named_with_where_it_looked() {
    let ws = Ws::new();
    let bins = ws.path().join("bins");
    std::fs::create_dir_all(&bins).unwrap();
    for b in ["pa-lab", "pa-telemetry"] {
        pa_e2e::copy_into(&fixture_stage_dir().join(b), &bins.join(b));
    }
    let mut args = ws.new_run_args();
    let n = args.len();
    args[n - 1] = bins.display().to_string();
    ws.orch().args(args).assert().code(20);
    let o = ws.outcomes();
    assert_eq!(
        o[2],
        (
            s("normalization"),
            s("failed"),
            Some(s("stage_binary_not_found"))
        )
    );
    let msg = ws.manifest()["stage_outcomes"][2]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        msg.contains("pa-normalize") && msg.contains(&bins.display().to_string()),
        "{msg}"
    );
    assert_eq!(o[3].2.as_deref(), Some("blocked_by_upstream_failure"));
}

#[test]
fn a_stage_that_dies_without_an_outcome_is_recorded_as_failed() {
    let ws = Ws::new();
    ws.orch()
        .args(ws.new_run_args())
        .env("PA_FIXTURE_TELEMETRY", "exit_silently")
        .assert()
        .code(20);
    let o = ws.outcomes();
    assert_eq!(
        o[1],
        (s("telemetry"), s("failed"), Some(s("stage_process_failed")))
    );
    let msg = ws.manifest()["stage_outcomes"][1]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(msg.contains("exited with code 3"), "{msg}");
}

#[test]
fn invalid_config_is_rejected_with_file_key_and_code_and_creates_nothing() {
    let ws = Ws::new();
    std::fs::write(
        ws.path().join("range.yaml"),
        RANGE.replace("  provider: replay", "  provider: replay\n  flavour: x"),
    )
    .unwrap();
    let out = ws
        .orch()
        .args(ws.new_run_args())
        .assert()
        .code(20)
        .get_output()
        .stderr
        .clone();
    let err = String::from_utf8_lossy(&out);
    assert!(
        err.contains("config_schema_invalid")
            && err.contains("range.yaml")
            && err.contains("flavour"),
        "{err}"
    );
    assert!(!ws.run_dir().exists());
}

#[test]
fn not_a_run_and_bad_manifest_are_clear_errors() {
    let ws = Ws::new();
    let out = ws
        .orch()
        .args(ws.rerun_args("detection"))
        .assert()
        .code(20)
        .get_output()
        .stderr
        .clone();
    assert!(String::from_utf8_lossy(&out).contains("is not a run directory"));
    ws.orch().args(ws.new_run_args()).assert().code(0);
    let mpath = ws.run_dir().join("manifest.json");
    let mut m = ws.manifest();
    m["status"] = Value::from("great");
    std::fs::write(&mpath, serde_json::to_vec(&m).unwrap()).unwrap();
    let before = ws.tree();
    let out = ws
        .orch()
        .args(ws.rerun_args("detection"))
        .assert()
        .code(20)
        .get_output()
        .stderr
        .clone();
    let err = String::from_utf8_lossy(&out);
    assert!(
        err.contains("manifest.json") && err.contains("/status"),
        "{err}"
    );
    assert_eq!(ws.tree(), before);
}

#[test]
fn status_and_list() {
    let ws = Ws::new();
    ws.orch()
        .args(ws.new_run_args())
        .env("PA_FIXTURE_SCORING", "warn")
        .assert()
        .code(10);
    let out = ws
        .orch()
        .args(["status", &ws.run_dir().display().to_string()])
        .assert()
        .code(10)
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8_lossy(&out);
    assert!(
        text.contains("partial") && text.contains("scoring") && text.contains("input_missing"),
        "{text}"
    );
    let out = ws
        .orch()
        .args(["list", "--workspace", "."])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8_lossy(&out);
    assert!(text.contains(RUN_ID) && text.contains("partial"), "{text}");
}

#[test]
fn the_real_lab_stage_publishes_the_inventory_snapshot() {
    let ws = Ws::new();
    let bins = ws.path().join("bins");
    for b in ["pa-telemetry", "pa-normalize", "pa-detect", "pa-score"] {
        pa_e2e::copy_into(&fixture_stage_dir().join(b), &bins.join(b));
    }
    pa_e2e::copy_into(&workspace_bin("pa-lab"), &bins.join("pa-lab"));
    let mut args = ws.new_run_args();
    let n = args.len();
    args[n - 1] = bins.display().to_string();
    ws.orch().args(args).assert().code(0);
    let snap: Value = serde_json::from_slice(
        &std::fs::read(ws.run_dir().join("logs/lab_inventory_snapshot.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(snap["provider"], "replay");
    assert_eq!(snap["assets"][0]["asset_id"], "win-01");
    assert!(
        snap["inventory_sha256"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    // Standalone re-run of one stage on the existing bundle.
    Command::new(workspace_bin("pa-lab"))
        .arg("--run-dir")
        .arg(ws.run_dir())
        .assert()
        .code(0);
    assert_eq!(ws.manifest()["status"], "success");
}

#[test]
fn force_run_lock_breaks_a_held_lock_and_records_it() {
    let ws = Ws::new();
    ws.orch().args(ws.new_run_args()).assert().code(0);
    // Hold the lock from this test process, as a live orchestrator would.
    let locks = ws.path().join("runs/.locks");
    let lock_file = locks.join(format!("{RUN_ID}.lock"));
    std::fs::write(&lock_file, "pid=1").unwrap();
    let held = std::fs::File::open(&lock_file).unwrap();
    held.lock().unwrap();
    ws.orch().args(ws.rerun_args("detection")).assert().code(20);
    let mut args = ws.rerun_args("detection");
    args.push("--force-run-lock".into());
    ws.orch().args(args).assert().code(0);
    let ev = &ws.manifest()["extensions"]["orchestrator"]["run_lock"]["break_glass_events"][0];
    assert_eq!(ev["seq"], 1);
    assert_eq!(ev["policy"], "manual_break_glass_v1");
    assert_eq!(
        ev["stale_lock_filename"],
        format!("{RUN_ID}.lock.stale.0001")
    );
    assert!(locks.join(format!("{RUN_ID}.lock.stale.0001")).exists());
    drop(held);
}

#[test]
fn a_lock_file_left_by_a_dead_process_does_not_block() {
    let ws = Ws::new();
    ws.orch().args(ws.new_run_args()).assert().code(0);
    std::fs::write(
        ws.path().join(format!("runs/.locks/{RUN_ID}.lock")),
        "pid=999999",
    )
    .unwrap();
    ws.orch().args(ws.rerun_args("detection")).assert().code(0);
}

#[test]
fn until_stops_early_and_from_accepts_binary_names() {
    let ws = Ws::new();
    let mut args = ws.new_run_args();
    args.extend(["--until".into(), "normalization".into()]);
    ws.orch().args(args).assert().code(0);
    assert_eq!(ws.outcomes().len(), 3);
    ws.orch().args(ws.rerun_args("pa-detect")).assert().code(0);
    assert_eq!(ws.outcomes().len(), 5);
    let out = ws
        .orch()
        .args(ws.rerun_args("nonsense"))
        .assert()
        .code(2)
        .get_output()
        .stderr
        .clone();
    assert!(String::from_utf8_lossy(&out).contains("unknown stage"));
}
