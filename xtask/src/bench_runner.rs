//! `cargo xtask bench runner [--actions N]`: the runner's per-action overhead (resolve the
//! test, spawn its command, capture its output, record the phases and the evidence) for a
//! trivial command (`true`) on this host, `dist` build.
//!
//! Two runs through `pa-orchestrate` (lab_provider and runner only): one action, then N. The
//! runner stage's recorded duration divided by N is the cost per action with the stage's
//! fixed costs (plan, probes, work directory, publish) spread over N; the difference between
//! the two runs divided by N − 1 is the marginal cost of one more action.

use anyhow::{Context, Result, bail};
use std::path::Path;
use std::process::Command;

const RANGE: &str = "\
range_id: bench-runner
lab:
  provider: local
  assets: [{asset_id: local, os: linux, role: workstation, hostname: localhost}]
stages: {telemetry: false, normalization: false, detection: false}
runner:
  allow_local_execution: true
  atomic: {atomics_root: ATOMICS}
";

fn scenario(n: usize) -> String {
    let mut s = String::from("scenario_id: bench-runner\nscenario_version: 1.0.0\nactions:\n");
    for i in 0..n {
        s.push_str(&format!(
            "  - {{action_id: a{i:05}, technique_id: T0001, engine_test_id: 00000001-0000-4000-8000-000000000006, input_args: {{n: \"{i}\"}}}}\n"
        ));
    }
    s
}

/// (runner stage ms, tagged) of one run with `n` actions.
fn once(orch: &Path, dir: &Path, n: usize) -> Result<(f64, bool)> {
    std::fs::write(dir.join("scenario.yaml"), scenario(n))?;
    let ws = dir.join("ws");
    let _ = std::fs::remove_dir_all(&ws);
    let out = Command::new(orch)
        .current_dir(dir)
        .args([
            "-q",
            "run",
            "--range",
            "range.yaml",
            "--scenario",
            "scenario.yaml",
            "--workspace",
        ])
        .arg(&ws)
        .output()?;
    if !out.status.success() {
        bail!(
            "pa-orchestrate failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let run = stdout
        .lines()
        .last()
        .and_then(|l| l.split_whitespace().nth(1))
        .context("no run directory printed")?
        .to_string();
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(Path::new(&run).join("manifest.json"))?)?;
    let runner = m["stage_outcomes"]
        .as_array()
        .and_then(|a| a.iter().find(|o| o["stage"] == "runner"))
        .context("no runner outcome")?;
    let ms = runner["duration_ms"]
        .as_f64()
        .context("no runner duration")?;
    let ex: serde_json::Value = serde_json::from_slice(&std::fs::read(
        Path::new(&run).join("runner/actions/a00000/executor.json"),
    )?)?;
    Ok((ms, ex.get("audit_login_uid").is_some()))
}

pub fn bench_runner(n: usize) -> Result<()> {
    if n < 2 {
        bail!("--actions must be at least 2");
    }
    let mut build = super::cargo();
    build.args([
        "build",
        "--profile",
        "dist",
        "-p",
        "pa-orchestrate",
        "-p",
        "pa-lab",
        "-p",
        "pa-runner",
    ]);
    super::run(build)?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| super::root().join("target"));
    let orch = target.join("dist/pa-orchestrate");
    let tmp = std::env::temp_dir().join(format!("pa-bench-runner-{}", std::process::id()));
    std::fs::create_dir_all(&tmp)?;
    let atomics = super::root().join("tests/fixtures/atomics");
    let atomics = std::path::absolute(&atomics)?;
    std::fs::write(
        tmp.join("range.yaml"),
        RANGE.replace("ATOMICS", &atomics.display().to_string()),
    )?;
    once(&orch, &tmp, 1)?; // warm-up
    let mut singles = Vec::new();
    let mut manys = Vec::new();
    let mut tagged = false;
    for _ in 0..3 {
        singles.push(once(&orch, &tmp, 1)?.0);
        let (ms, t) = once(&orch, &tmp, n)?;
        manys.push(ms);
        tagged = t;
    }
    singles.sort_by(f64::total_cmp);
    manys.sort_by(f64::total_cmp);
    let (one, many) = (singles[1], manys[1]);
    println!(
        "runner overhead per action (trivial `true`, {n} actions, median of 3 runs, dist build)"
    );
    println!("machine: {}", super::machine());
    println!(
        "commands tagged with an audit login uid: {}",
        if tagged {
            "yes (one more exec per command: the tagging wrapper)"
        } else {
            "no (not root)"
        }
    );
    println!("runner stage: 1 action {one:.0} ms, {n} actions {many:.0} ms");
    let per = many / n as f64;
    let marginal = (many - one) / (n as f64 - 1.0);
    println!(
        "per action: {per:.2} ms (stage time / {n}), marginal {marginal:.2} ms (one more action)"
    );
    println!(
        "target < 10 ms per action: {}",
        if marginal < 10.0 { "met" } else { "NOT met" }
    );
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(())
}
