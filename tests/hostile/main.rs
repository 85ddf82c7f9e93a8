//! Hostile-input suite: every command-line tool under a closed pipe and a full disk (`pipes`),
//! and bad inputs, each answered by a clear error that names the file and what is wrong (and, run
//! as a stage, its reason code in the manifest), never a panic or a hang, and nothing read or
//! written outside the run directory: corrupt Parquet (`parquet`), JSON lines that are not UTF-8
//! or too long (`lines`), YAML alias bombs and deep nesting (`yaml`), pathological Sigma regular
//! expressions (`regex`), hostile event XML and malformed audit records (`telemetry`), symlinks
//! and escaping ids (`paths`).
//!
//! Hostile inputs are generated in temporary directories. Every child runs under a deadline
//! ([`LIMIT`]) that turns a hang into a failure; no test measures speed.

mod lines;
mod parquet;
mod paths;
mod pipes;
mod regex;
mod telemetry;
mod yaml;

use pa_e2e::{copy_tree, output_within, process_dir, run_replay_example_as, workspace_bin};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Duration;

/// The run id of the replay bundle and of every copy.
pub const RUN_ID: &str = "c0ffee00-0000-4000-8000-00000000ba0d";

/// Far above any normal run of a tool on these inputs: only a hang reaches it.
pub const LIMIT: Duration = Duration::from_secs(180);

/// The replay example run once in this test process (its run directory).
pub fn bundle() -> &'static Path {
    static B: OnceLock<PathBuf> = OnceLock::new();
    B.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("hostile");
        run_replay_example_as(&process_dir(&root, "bundle"), RUN_ID)
    })
}

/// Run a tool to its end under [`LIMIT`]; it must not panic.
pub fn run(cmd: &mut Command, what: &str) -> Output {
    let out = output_within(cmd, LIMIT, what);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{what} panicked: {err}");
    out
}

/// A workspace binary as a command, with the test-only fault points off.
pub fn tool(name: &str) -> Command {
    let mut c = Command::new(workspace_bin(name));
    c.env_remove("PA_FAILPOINT")
        .env_remove("PA_FAILPOINT_STAGE");
    c
}

/// Standard error of an output, as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A scratch directory holding a copy of the replay bundle (`ws/runs/<RUN_ID>`) and an
/// `outside/` directory beside the workspace, where hostile bundles point.
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
        let dir = tempfile::tempdir().expect("tempdir");
        copy_tree(bundle(), &dir.path().join("ws/runs").join(RUN_ID));
        std::fs::create_dir_all(dir.path().join("outside")).expect("outside");
        Case { dir }
    }

    /// The scratch directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The run directory.
    pub fn run(&self) -> PathBuf {
        self.path().join("ws/runs").join(RUN_ID)
    }

    /// A path beside the workspace, outside the run directory.
    pub fn outside(&self, name: &str) -> PathBuf {
        self.path().join("outside").join(name)
    }

    /// Every file of the scratch directory but the run directory and the lock directory: what
    /// a tool working on the run must leave alone.
    pub fn around_the_run(&self) -> BTreeMap<String, Vec<u8>> {
        let run = format!("ws/runs/{RUN_ID}");
        pa_e2e::file_tree(self.path(), &[run.as_str(), "ws/runs/.locks"])
    }

    /// Run a stage executable in bundle mode on the run, with `args`.
    pub fn stage(&self, bin: &str, args: &[&str]) -> Output {
        let before = self.around_the_run();
        let out = run(
            tool(bin).arg("--run-dir").arg(self.run()).args(args),
            &format!("{bin} --run-dir"),
        );
        assert_eq!(
            self.around_the_run(),
            before,
            "{bin} wrote outside the run directory"
        );
        out
    }

    /// The recorded top-level outcome of `stage`: (status, reason code, message).
    pub fn outcome(&self, stage: &str) -> (String, String, String) {
        let m = pa_e2e::read_json(&self.run().join("manifest.json"));
        let o = m["stage_outcomes"]
            .as_array()
            .expect("outcomes")
            .iter()
            .find(|o| o["stage"] == stage)
            .cloned()
            .unwrap_or(Value::Null);
        let s = |k: &str| o[k].as_str().unwrap_or_default().to_string();
        (s("status"), s("reason_code"), s("message"))
    }

    /// Replace the criteria pack the bundle's range names by `pack`.
    pub fn use_criteria_pack(&self, pack: &Path) {
        let p = self.run().join("inputs/range.yaml");
        let text = std::fs::read_to_string(&p).expect("inputs/range.yaml");
        let start = text.find("criteria_packs: [").expect("criteria_packs");
        let end = start + text[start..].find(']').expect("]") + 1;
        let text = format!(
            "{}criteria_packs: [\"{}\"]{}",
            &text[..start],
            pack.display(),
            &text[end..]
        );
        std::fs::write(&p, text).expect("write inputs/range.yaml");
    }
}

/// Sigma rules written from `(file name, YAML)` pairs into a new directory under `dir`.
pub fn rules(dir: &Path, name: &str, files: &[(&str, String)]) -> PathBuf {
    let d = dir.join(name);
    std::fs::create_dir_all(&d).expect("rules dir");
    for (f, text) in files {
        std::fs::write(d.join(f), text).expect("rule");
    }
    d
}

/// A Sigma rule over Windows process creation with the given detection block (indented by two).
pub fn rule(id: u32, detection: &str) -> String {
    format!(
        "title: hostile {id}\nid: 00000000-0000-4000-8000-{id:012}\nlogsource: {{product: windows, category: process_creation}}\ndetection:\n{detection}\nlevel: low\n"
    )
}
