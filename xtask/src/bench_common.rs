//! What the end-to-end benches share (`bench e2e`, `bench scale`): the reference data they read,
//! a generated replay range over a folder of EVTX, one timed bundle run, timed shell commands
//! with their peak RSS.

use anyhow::{Context, Result, bail};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

pub const SAMPLES: &str = "../shared/data/evtx/EVTX-ATTACK-SAMPLES";
pub const RULES: &str = "../shared/data/sigma/rules/windows";

/// Fail unless the reference data the benches read is beside the repository.
pub fn check_data(root: &Path) -> Result<()> {
    for need in [SAMPLES, RULES] {
        if !root.join(need).is_dir() {
            bail!("{need} not found beside the repository: the bench needs ../shared/data");
        }
    }
    Ok(())
}

/// Build every binary and the given examples of the `pa-e2e` package with `profile`.
pub fn build(profile: &str, e2e_examples: &[&str]) -> Result<()> {
    let mut build = super::cargo();
    build.args(["build", "--profile", profile, "--bins"]);
    super::run(build)?;
    let mut build = super::cargo();
    build.args(["build", "--profile", profile, "-p", "pa-e2e"]);
    for e in e2e_examples {
        build.args(["--example", e]);
    }
    super::run(build)
}

/// The cargo target directory (`CARGO_TARGET_DIR`, else `target/`).
pub fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
}

/// One timed process (or pipeline): wall seconds and the peak RSS in MiB.
pub struct Timed {
    pub wall: f64,
    pub rss_mib: f64,
}

/// Run `sh -c script` with every process of it under `/usr/bin/time -f %M` writing to the
/// given files; the wall time of the whole and the largest peak RSS.
pub fn timed_sh(script: &str, rss_files: &[&Path]) -> Result<Timed> {
    for f in rss_files {
        let _ = std::fs::remove_file(f);
    }
    let t = Instant::now();
    let out = Command::new("sh")
        .args(["-c", &format!("set -e; {script}")])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .context("running sh")?;
    let wall = t.elapsed().as_secs_f64();
    if !out.status.success() {
        bail!(
            "`{script}` failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut rss = 0.0f64;
    for f in rss_files {
        let text = std::fs::read_to_string(f).with_context(|| format!("{}", f.display()))?;
        let kib: f64 = text
            .lines()
            .filter_map(|l| l.trim().parse::<f64>().ok())
            .next_back()
            .with_context(|| format!("{}: no RSS figure", f.display()))?;
        rss = rss.max(kib / 1024.0);
    }
    Ok(Timed { wall, rss_mib: rss })
}

pub fn q(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', r"'\''"))
}

pub fn count_lines(p: &Path) -> Result<u64> {
    let text = std::fs::read(p).with_context(|| format!("{}", p.display()))?;
    Ok(text.iter().filter(|&&b| b == b'\n').count() as u64)
}

/// A replay range over the EVTX folder `dir`: telemetry, normalization and detection with the
/// rules `rules`, no other stage.
pub fn range_yaml(range_id: &str, dir: &Path, rules: &Path) -> String {
    let json = |p: &Path| serde_json::to_string(&p.display().to_string()).unwrap_or_default();
    format!(
        "range_id: {range_id}\nlab:\n  provider: replay\n  assets:\n    - asset_id: corpus\n      os: windows\n      role: workstation\n      hostname: corpus\nstages:\n  lab_provider: false\n  runner: false\n  telemetry: true\n  normalization: true\n  validation: false\n  detection: true\n  scoring: false\n  reporting: false\ntelemetry:\n  sources:\n    - source_id: evtx\n      format: evtx\n      asset_id: corpus\n      paths: [{}]\ndetection:\n  sigma:\n    rule_paths: [{}]\nreplay:\n  ground_truth: ground_truth.jsonl\n",
        json(dir),
        json(rules)
    )
}

/// Write `range.yaml` (the replay range of [`range_yaml`] over `dir`), an empty
/// `ground_truth.jsonl` and `scenario.yaml` into `cdir`; the range and scenario paths.
pub fn replay_inputs(
    cdir: &Path,
    range_id: &str,
    dir: &Path,
    rules: &Path,
) -> Result<(PathBuf, PathBuf)> {
    std::fs::create_dir_all(cdir)?;
    let range = cdir.join("range.yaml");
    std::fs::write(&range, range_yaml(range_id, dir, rules))?;
    // No recorded actions: the replay lab only imports telemetry.
    std::fs::write(cdir.join("ground_truth.jsonl"), "")?;
    let scenario = cdir.join("scenario.yaml");
    std::fs::write(
        &scenario,
        format!(
            "scenario_id: {range_id}\nscenario_version: 1.0.0\ndescription: EVTX folder to detections\nactions: []\n"
        ),
    )?;
    Ok((range, scenario))
}

/// Stage names with their recorded durations in seconds, in the manifest's order.
pub type StageTimes = Vec<(String, f64)>;

/// One bundle run: `pa-orchestrate run` of `range` into a new workspace `ws` (emptied first),
/// timed with its peak RSS written to `rss`; the run directory (status `success`, else an error)
/// and the stages' recorded durations in seconds.
pub fn run_bundle(
    bin: &Path,
    range: &Path,
    scenario: &Path,
    ws: &Path,
    rss: &Path,
) -> Result<(Timed, PathBuf, StageTimes)> {
    let _ = std::fs::remove_dir_all(ws);
    std::fs::create_dir_all(ws)?;
    let timed = timed_sh(
        &format!(
            "{} {} run --range {} --scenario {} --workspace {} --stage-bin-dir {} -q",
            time_prefix(rss),
            q(&bin.join("pa-orchestrate")),
            q(range),
            q(scenario),
            q(ws),
            q(bin)
        ),
        &[rss],
    )?;
    let run_dir = std::fs::read_dir(ws.join("runs"))?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.join("manifest.json").is_file())
        .context("no run directory")?;
    let manifest: Value = serde_json::from_slice(&std::fs::read(run_dir.join("manifest.json"))?)?;
    if manifest["status"] != "success" {
        bail!("bundle run status {}", manifest["status"]);
    }
    let stages: StageTimes = manifest["stage_outcomes"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|o| {
                    Some((
                        o["stage"].as_str()?.to_string(),
                        o["duration_ms"].as_f64()? / 1000.0,
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    Ok((timed, run_dir, stages))
}

/// `/usr/bin/time -f %M -o FILE`: a command's peak RSS (KiB) into `rss`.
pub fn time_prefix(rss: &Path) -> String {
    format!("/usr/bin/time -f %M -o {}", q(rss))
}

/// Events the detection stage evaluated (`bridge/coverage.json`).
pub fn manifest_events(run_dir: &Path) -> Result<u64> {
    let p = run_dir.join("bridge/coverage.json");
    let cov: Value =
        serde_json::from_slice(&std::fs::read(&p).with_context(|| format!("{}", p.display()))?)?;
    cov["events_evaluated"]
        .as_u64()
        .context("bridge/coverage.json: no events_evaluated")
}
