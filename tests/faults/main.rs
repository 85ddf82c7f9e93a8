//! Fault suite: the real stages of the shipped replay example (`examples/replay-evtx`) killed
//! at each point of their publish (`crash`), and given a full disk (`full_disk`), through the
//! test-only fault points of `pa_bundle::publish` (`PA_FAILPOINT`, `PA_FAILPOINT_STAGE`).
//!
//! The example is run once per test process (the golden bundle); every case works on a copy of
//! it, so a case costs the re-run of a suffix of the pipeline, not the whole pipeline.

mod crash;
mod full_disk;
mod reliability;

use pa_e2e::{copy_tree, output_within, process_dir, run_replay_example_as, workspace_bin};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

/// The run id of the golden bundle and of every copy.
pub const RUN_ID: &str = "f0000000-0000-4000-8000-00000000fa17";

/// The real stages of the example, in pipeline order.
pub const STAGES: [&str; 8] = [
    "lab_provider",
    "runner",
    "telemetry",
    "normalization",
    "validation",
    "detection",
    "scoring",
    "reporting",
];

/// Far above any normal run of the example's pipeline: only a hang reaches it.
pub const LIMIT: Duration = Duration::from_secs(300);

/// Fields that differ between two runs of the same inputs (ADR-0001 and the informational
/// generation times of the scoring and reporting documents).
const VOLATILE: [&str; 5] = [
    "duration_ms",
    "started_at_utc",
    "ended_at_utc",
    "generated_at_utc",
    "evaluated_at_utc",
];

/// The golden bundle: the replay example run once, uninterrupted.
pub struct Golden {
    /// `…/ws/runs/<RUN_ID>`.
    pub run: PathBuf,
    /// Every file of the bundle, by bundle-relative path.
    pub files: BTreeMap<String, Vec<u8>>,
}

/// The golden bundle of this test process (built on first use).
pub fn golden() -> &'static Golden {
    static G: OnceLock<Golden> = OnceLock::new();
    G.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("faults");
        let run = run_replay_example_as(&process_dir(&root, "golden"), RUN_ID);
        let files = tree(&run);
        Golden { run, files }
    })
}

/// Every file under `run` (`.staging` excluded), by relative path.
pub fn tree(run: &Path) -> BTreeMap<String, Vec<u8>> {
    pa_e2e::file_tree(run, &[".staging"])
}

/// The stage owning a bundle path in the contract registry (`orchestrator`, a stage id, `*`).
pub fn owner(rel: &str) -> String {
    pa_bundle::contracts::entry_for(rel)
        .expect("registry")
        .map(|e| e.stage.to_string())
        .unwrap_or_else(|| panic!("{rel} is not a registry path"))
}

/// The files of `files` owned by `stage`.
pub fn owned<'a>(files: &'a BTreeMap<String, Vec<u8>>, stage: &str) -> BTreeMap<&'a str, &'a [u8]> {
    files
        .iter()
        .filter(|(rel, _)| owner(rel) == stage)
        .map(|(k, v)| (k.as_str(), v.as_slice()))
        .collect()
}

/// A file's bytes with the volatile fields of a JSON document removed (other files as they are).
pub fn stable(rel: &str, bytes: &[u8]) -> Vec<u8> {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(m) => {
                for k in VOLATILE {
                    m.remove(k);
                }
                m.values_mut().for_each(strip);
            }
            Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    if !rel.ends_with(".json") {
        return bytes.to_vec();
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(mut v) => {
            strip(&mut v);
            serde_json::to_vec(&v).expect("serialize")
        }
        Err(_) => bytes.to_vec(),
    }
}

/// A copy of the golden bundle in a workspace of its own.
pub struct Case {
    dir: tempfile::TempDir,
}

impl Default for Case {
    fn default() -> Case {
        Case::new()
    }
}

impl Case {
    pub fn new() -> Case {
        let g = golden();
        let dir = tempfile::tempdir().expect("tempdir");
        copy_tree(&g.run, &dir.path().join("ws/runs").join(RUN_ID));
        Case { dir }
    }

    /// `…/ws/runs/<RUN_ID>`.
    pub fn run(&self) -> PathBuf {
        self.dir.path().join("ws/runs").join(RUN_ID)
    }

    /// Replace every published output of `stage` by an "old" version that no run produces
    /// (its bytes and a marker), so old and new outputs can be told apart; the old files.
    pub fn age_outputs(&self, stage: &str) -> BTreeMap<String, Vec<u8>> {
        let mut old = BTreeMap::new();
        for (rel, bytes) in owned(&golden().files, stage) {
            let mut b = bytes.to_vec();
            b.extend_from_slice(b"\n# an older output\n");
            std::fs::write(self.run().join(rel), &b).expect("age an output");
            old.insert(rel.to_string(), b);
        }
        assert!(
            !old.is_empty(),
            "{stage} published nothing in the golden run"
        );
        old
    }

    /// `pa-orchestrate run --run-dir <copy> --from <stage>` with `env` (the fault point).
    pub fn rerun_from(&self, stage: &str, env: &[(&str, &str)]) -> std::process::Output {
        self.rerun(stage, None, env)
    }

    /// `pa-orchestrate run --run-dir <copy> --from <stage> [--until <until>]` with `env`.
    pub fn rerun(
        &self,
        stage: &str,
        until: Option<&str>,
        env: &[(&str, &str)],
    ) -> std::process::Output {
        let mut cmd = std::process::Command::new(workspace_bin("pa-orchestrate"));
        cmd.args(["-q", "run", "--from", stage, "--run-dir"])
            .arg(self.run())
            .env_remove("PA_FAILPOINT")
            .env_remove("PA_FAILPOINT_STAGE");
        if let Some(u) = until {
            cmd.args(["--until", u]);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        output_within(&mut cmd, LIMIT, &format!("pa-orchestrate --from {stage}"))
    }

    /// The manifest, opened as a stage would (it must pass its contract).
    pub fn manifest(&self) -> Value {
        if let Err(e) = pa_bundle::RunDir::open(&self.run()) {
            panic!("the manifest after the fault is not valid: {e}");
        }
        pa_e2e::read_json(&self.run().join("manifest.json"))
    }

    /// The recorded top-level outcome of `stage`: (status, reason code, message).
    pub fn outcome(&self, stage: &str) -> (String, Option<String>, String) {
        let m = self.manifest();
        let o = m["stage_outcomes"]
            .as_array()
            .expect("outcomes")
            .iter()
            .find(|o| o["stage"] == stage)
            .unwrap_or_else(|| panic!("no outcome of {stage}"))
            .clone();
        (
            o["status"].as_str().expect("status").to_string(),
            o["reason_code"].as_str().map(str::to_string),
            o["message"].as_str().unwrap_or_default().to_string(),
        )
    }

    /// Nothing left in `.staging/`: no staged file, no journal.
    pub fn assert_staging_empty(&self) {
        let staging = self.run().join(".staging");
        if let Ok(rd) = std::fs::read_dir(&staging) {
            let left: Vec<_> = rd.flatten().map(|e| e.file_name()).collect();
            assert!(left.is_empty(), "left in .staging: {left:?}");
        }
    }

    /// Every stage output of the bundle equals the golden run's, volatile fields aside.
    pub fn assert_outputs_as_golden(&self, what: &str) {
        let now = tree(&self.run());
        let g = &golden().files;
        let stage_files = |m: &BTreeMap<String, Vec<u8>>| -> Vec<String> {
            m.keys()
                .filter(|rel| owner(rel) != "orchestrator")
                .cloned()
                .collect()
        };
        assert_eq!(
            stage_files(&now),
            stage_files(g),
            "{what}: the set of files"
        );
        for rel in stage_files(g) {
            assert!(
                stable(&rel, &now[&rel]) == stable(&rel, &g[&rel]),
                "{what}: {rel} differs from the uninterrupted run's"
            );
        }
        let outcomes = |m: &Value| -> Vec<(Value, Value, Value)> {
            m["stage_outcomes"]
                .as_array()
                .expect("outcomes")
                .iter()
                .map(|o| {
                    (
                        o["stage"].clone(),
                        o["status"].clone(),
                        o["reason_code"].clone(),
                    )
                })
                .collect()
        };
        let golden_manifest: Value =
            serde_json::from_slice(&g["manifest.json"]).expect("golden manifest");
        assert_eq!(
            outcomes(&self.manifest()),
            outcomes(&golden_manifest),
            "{what}: the recorded outcomes"
        );
        assert_eq!(self.manifest()["status"], golden_manifest["status"]);
    }
}

/// The executable of a stage.
pub fn stage_bin(stage: &str) -> PathBuf {
    let name = pa_bundle::Stage::parse(stage)
        .unwrap_or_else(|| panic!("unknown stage {stage}"))
        .binary_name();
    workspace_bin(name)
}
