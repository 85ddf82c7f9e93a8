//! Support for the end-to-end tests: locating (and building, once) the workspace binaries,
//! and the reference data.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `../shared/data`, or a panic saying it is missing.
pub fn shared_data() -> PathBuf {
    let p = repo_root().join("../shared/data");
    assert!(
        p.is_dir(),
        "reference data not found at {}: the tests need ../shared beside the repository",
        p.display()
    );
    p
}

/// The directory of the test-only stage wrappers.
pub fn fixture_stage_dir() -> PathBuf {
    repo_root().join("tests/fixtures/stages")
}

fn target_debug_dir() -> PathBuf {
    // tests run from target/<profile>/deps/<test-binary>
    let exe = std::env::current_exe().expect("current_exe");
    let deps = exe.parent().expect("deps dir");
    deps.parent().expect("profile dir").to_path_buf()
}

/// Path of a workspace binary, built once per test process with
/// `cargo build --workspace --bins --examples` (binaries of other packages are not built by
/// `cargo test` on their own). `--examples` makes cargo resolve features with dev-dependencies,
/// exactly as `cargo test --workspace` does, so the build reuses every library the test build
/// compiled and only links the executables (without it, parquet, arrow, evtx and the project
/// crates were compiled a second time with another feature set). It also turns on the
/// test-only `failpoints` feature of `pa-bundle`, which `pa-e2e` enables as a dev-dependency.
pub fn workspace_bin(name: &str) -> PathBuf {
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    let built = BUILT.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let profile_dir = target_debug_dir();
        let release = profile_dir.file_name().is_some_and(|n| n == "release");
        let mut cmd = std::process::Command::new(cargo);
        cmd.current_dir(repo_root()).args([
            "build",
            "--quiet",
            "--workspace",
            "--bins",
            "--examples",
        ]);
        if release {
            cmd.arg("--release");
        }
        if let Some(target) = profile_dir.parent() {
            cmd.env("CARGO_TARGET_DIR", target);
        }
        match cmd.status() {
            Ok(s) if s.success() => Ok(()),
            Ok(s) => Err(format!(
                "cargo build --workspace --bins --examples failed: {s}"
            )),
            Err(e) => Err(format!("cannot run cargo: {e}")),
        }
    });
    if let Err(e) = built {
        panic!("{e}");
    }
    let p = target_debug_dir().join(name);
    assert!(p.is_file(), "{} was not built", p.display());
    p
}

/// Copy a file, creating parent directories.
pub fn copy_into(src: &Path, dst: &Path) {
    if let Some(d) = dst.parent() {
        std::fs::create_dir_all(d).expect("mkdir");
    }
    std::fs::copy(src, dst)
        .unwrap_or_else(|e| panic!("copy {} -> {}: {e}", src.display(), dst.display()));
}

/// A throw-away replay range in a temporary directory, run with `pa-orchestrate` under a fixed
/// run id. `stages` lists the enabled stages; `body` is the rest of `range.yaml` (sources,
/// detection settings...), inserted before the `replay:` section.
pub struct ReplayCase {
    dir: tempfile::TempDir,
    run_id: String,
}

impl ReplayCase {
    /// A case with one Windows asset `host` (plus `lin-a`, a Linux one) and one action.
    pub fn new(name: &str, run_id: &str, stages: &[&str], body: &str) -> ReplayCase {
        let dir = tempfile::tempdir().expect("tempdir");
        let all = [
            "lab_provider",
            "runner",
            "telemetry",
            "normalization",
            "detection",
        ];
        let switches: String = all
            .iter()
            .map(|s| format!("  {s}: {}\n", stages.contains(s)))
            .collect();
        let range = format!(
            "range_id: {name}\nlab:\n  provider: replay\n  assets:\n    - {{asset_id: host, os: windows, role: endpoint}}\n    - {{asset_id: lin-a, os: linux, role: server}}\nstages:\n{switches}{body}replay:\n  ground_truth: gt.jsonl\n"
        );
        std::fs::write(dir.path().join("range.yaml"), range).expect("range.yaml");
        std::fs::write(
            dir.path().join("scenario.yaml"),
            format!("scenario_id: {name}\nscenario_version: 1.0.0\nactions:\n  - {{action_id: s1, technique_id: T1059.003}}\n"),
        )
        .expect("scenario.yaml");
        ReplayCase {
            dir,
            run_id: run_id.to_string(),
        }
    }

    /// The case directory (holds `range.yaml`, `scenario.yaml`, and the workspace `ws/`).
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `ws/runs/<run_id>`.
    pub fn run_dir(&self) -> PathBuf {
        self.path().join("ws/runs").join(&self.run_id)
    }

    /// Run the pipeline; returns the process output.
    pub fn orchestrate(&self) -> std::process::Output {
        std::process::Command::new(workspace_bin("pa-orchestrate"))
            .current_dir(self.path())
            .args(["run", "--workspace", "ws", "--run-id", &self.run_id])
            .args(["--range", "range.yaml", "--scenario", "scenario.yaml"])
            .output()
            .expect("run pa-orchestrate")
    }

    /// Run the pipeline and require exit code `code`; returns stderr.
    pub fn orchestrate_expect(&self, code: i32) -> String {
        let out = self.orchestrate();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(code), "pa-orchestrate: {err}");
        err
    }

    /// The run's manifest.
    pub fn manifest(&self) -> serde_json::Value {
        read_json(&self.run_dir().join("manifest.json"))
    }

    /// The recorded outcome of `stage` (null when absent).
    pub fn outcome(&self, stage: &str) -> serde_json::Value {
        self.manifest()["stage_outcomes"]
            .as_array()
            .and_then(|a| a.iter().find(|o| o["stage"] == stage).cloned())
            .unwrap_or(serde_json::Value::Null)
    }
}

/// Read a JSON file, panicking with its path.
pub fn read_json(p: &Path) -> serde_json::Value {
    let bytes = std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The shipped replay example (`examples/replay-evtx`) as a range of its own in `dir`: its
/// relative paths made absolute and `extra` (YAML of further top-level sections, such as
/// `signing:`) appended. Returns the paths of the range and scenario files written.
pub fn replay_example_variant(dir: &Path, extra: &str) -> (PathBuf, PathBuf) {
    shared_data();
    let ex = repo_root().join("examples/replay-evtx");
    let ex = ex.canonicalize().unwrap_or(ex);
    let text = std::fs::read_to_string(ex.join("range.yaml")).expect("example range.yaml");
    let mut out = String::new();
    for line in text.lines() {
        // Every path of the example is a quoted relative path or the ground truth file.
        let line = line
            .replace("\"../", &format!("\"{}/../", ex.display()))
            .replace(
                "ground_truth: ground_truth.jsonl",
                &format!("ground_truth: {}/ground_truth.jsonl", ex.display()),
            );
        out.push_str(&line);
        out.push('\n');
    }
    out.push_str(extra);
    let range = dir.join("range.yaml");
    let scenario = dir.join("scenario.yaml");
    std::fs::write(&range, out).expect("write range.yaml");
    copy_into(&ex.join("scenario.yaml"), &scenario);
    (range, scenario)
}

/// Run the shipped replay example (`examples/replay-evtx`) into the workspace `ws`, expecting
/// exit `code`; the run directory the driver printed.
pub fn run_replay_example(ws: &Path, code: i32) -> PathBuf {
    shared_data();
    let ex = repo_root().join("examples/replay-evtx");
    let out = std::process::Command::new(workspace_bin("pa-orchestrate"))
        .current_dir(repo_root())
        .args(["run", "--workspace"])
        .arg(ws)
        .arg("--range")
        .arg(ex.join("range.yaml"))
        .arg("--scenario")
        .arg(ex.join("scenario.yaml"))
        .output()
        .expect("run pa-orchestrate");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(code),
        "pa-orchestrate: {}{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = text
        .lines()
        .last()
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or_else(|| panic!("no run directory in {text}"));
    repo_root().join(dir)
}

/// Run `cmd` to its end with stdout and stderr collected, or kill it and panic naming `what`
/// when it is still running after `limit`. A guard that turns a hang into a failure, not a
/// measure of speed: pick a limit far above any normal run.
pub fn output_within(
    cmd: &mut std::process::Command,
    limit: std::time::Duration,
    what: &str,
) -> std::process::Output {
    use std::process::Stdio;
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{what}: cannot start: {e}"));
    let drain = |r: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut r) = r {
                let _ = r.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out = drain(child.stdout.take().map(|s| Box::new(s) as _));
    let err = drain(child.stderr.take().map(|s| Box::new(s) as _));
    let status = wait_within(&mut child, limit, what);
    std::process::Output {
        status,
        stdout: out.join().expect("stdout reader"),
        stderr: err.join().expect("stderr reader"),
    }
}

/// [`output_within`] for a command whose standard output the caller has set (a closed pipe,
/// `/dev/full`): only standard error is collected (its output's `stdout` is empty).
pub fn stderr_within(
    cmd: &mut std::process::Command,
    limit: std::time::Duration,
    what: &str,
) -> std::process::Output {
    let mut child = cmd
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{what}: cannot start: {e}"));
    let mut err = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = std::io::Read::read_to_end(&mut err, &mut buf);
        buf
    });
    let status = wait_within(&mut child, limit, what);
    std::process::Output {
        status,
        stdout: Vec::new(),
        stderr: reader.join().expect("stderr reader"),
    }
}

/// Wait for `child`, or kill it and panic naming `what` when it is still running after `limit`.
pub fn wait_within(
    child: &mut std::process::Child,
    limit: std::time::Duration,
    what: &str,
) -> std::process::ExitStatus {
    let started = std::time::Instant::now();
    loop {
        if let Some(s) = child.try_wait().expect("wait for child") {
            return s;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running after {limit:?}: killed (a hang)");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Copy the directory tree `src` into `dst` (created): directories and regular files.
pub fn copy_tree(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap_or_else(|e| panic!("mkdir {}: {e}", dst.display()));
    for entry in std::fs::read_dir(src).unwrap_or_else(|e| panic!("{}: {e}", src.display())) {
        let entry = entry.expect("dir entry");
        let (from, to) = (entry.path(), dst.join(entry.file_name()));
        if entry.file_type().expect("file type").is_dir() {
            copy_tree(&from, &to);
        } else {
            copy_into(&from, &to);
        }
    }
}

/// A directory of this test process, `<root>/<name>-<pid>`, created empty; those that processes
/// now gone left under `root` are removed first (so a suite that keeps a bundle for the whole
/// process leaves at most one behind).
pub fn process_dir(root: &Path, name: &str) -> PathBuf {
    if let Ok(rd) = std::fs::read_dir(root) {
        for e in rd.flatten() {
            let file_name = e.file_name().to_string_lossy().into_owned();
            let gone = file_name
                .strip_prefix(&format!("{name}-"))
                .is_some_and(|pid| !Path::new("/proc").join(pid).exists());
            if gone {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    let dir = root.join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    dir
}

/// Run the shipped replay example, uninterrupted, into `<dir>/ws` under `run_id` (its range
/// made absolute in `dir` by [`replay_example_variant`]); its run directory. The example is
/// judged partial (thresholds not met): exit 10.
pub fn run_replay_example_as(dir: &Path, run_id: &str) -> PathBuf {
    run_replay_example_edited(dir, run_id, |range| range)
}

/// [`run_replay_example_as`] with the range file's text changed by `edit` first.
pub fn run_replay_example_edited(
    dir: &Path,
    run_id: &str,
    edit: impl FnOnce(String) -> String,
) -> PathBuf {
    let (range, scenario) = replay_example_variant(dir, "");
    let text = std::fs::read_to_string(&range).expect("read range.yaml");
    std::fs::write(&range, edit(text)).expect("write range.yaml");
    let out = output_within(
        std::process::Command::new(workspace_bin("pa-orchestrate"))
            .args(["-q", "run", "--run-id", run_id, "--workspace"])
            .arg(dir.join("ws"))
            .arg("--range")
            .arg(&range)
            .arg("--scenario")
            .arg(&scenario)
            .env_remove("PA_FAILPOINT")
            .env_remove("PA_FAILPOINT_STAGE"),
        std::time::Duration::from_secs(300),
        "the replay example",
    );
    assert_eq!(
        out.status.code(),
        Some(10),
        "the replay example: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir.join("ws/runs").join(run_id)
}

/// Every regular file under `root` and its bytes, by path relative to `root` (`/`-separated),
/// leaving out the entries whose relative path is in `skip` (and all under them). Symlinks are
/// listed with the bytes of their target path, not followed.
pub fn file_tree(root: &Path, skip: &[&str]) -> std::collections::BTreeMap<String, Vec<u8>> {
    fn walk(
        root: &Path,
        d: &Path,
        skip: &[&str],
        out: &mut std::collections::BTreeMap<String, Vec<u8>>,
    ) {
        for e in std::fs::read_dir(d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let e = e.expect("dir entry");
            let p = e.path();
            let rel = p
                .strip_prefix(root)
                .expect("under root")
                .to_string_lossy()
                .replace('\\', "/");
            if skip.contains(&rel.as_str()) {
                continue;
            }
            let ft = e.file_type().expect("file type");
            if ft.is_symlink() {
                let target = std::fs::read_link(&p).expect("read link");
                out.insert(rel, target.to_string_lossy().as_bytes().to_vec());
            } else if ft.is_dir() {
                walk(root, &p, skip, out);
            } else {
                out.insert(rel, std::fs::read(&p).expect("read"));
            }
        }
    }
    let mut m = std::collections::BTreeMap::new();
    walk(root, root, skip, &mut m);
    m
}

/// Every `.evtx` file under `dir` (any case of the extension, folders walked), sorted by path.
/// Panics naming the folder when it cannot be read (for the test and benchmark tools).
pub fn evtx_files(dir: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for e in entries {
            let p = e.expect("dir entry").path();
            if p.is_dir() {
                walk(&p, out);
            } else if p
                .extension()
                .is_some_and(|x| x.eq_ignore_ascii_case("evtx"))
            {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, &mut out);
    out.sort();
    out
}
