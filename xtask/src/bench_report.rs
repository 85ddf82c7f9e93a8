//! `cargo xtask bench report [--actions N]`: the reporting stage over a synthetic scored bundle
//! of N actions (default 10,000; `pa_reporting::synthetic`, written by the `report_bench`
//! example), `dist` build. One warm-up run, then five timed runs of `pa-report --run-dir`
//! (wall time of the process, and the stage duration it records in the manifest); the figures
//! are the median, minimum and maximum. Before that, `pa-score --run-dir` is timed the same way
//! on the same bundle (its ground truth, no telemetry: every action a gap), so the figure of
//! the issue — scoring + reporting of 10,000 actions — is one command's output.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

fn reporting_ms(run: &Path) -> Result<f64> {
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(run.join("manifest.json"))?)?;
    m["stage_outcomes"]
        .as_array()
        .and_then(|a| a.iter().find(|o| o["stage"] == "reporting"))
        .and_then(|o| o["duration_ms"].as_f64())
        .context("no reporting outcome with a duration")
}

pub fn bench_report(n: usize) -> Result<()> {
    for args in [
        ["-p", "pa-score", "--bin", "pa-score"],
        ["-p", "pa-report", "--bin", "pa-report"],
        ["-p", "pa-reporting", "--example", "report_bench"],
    ] {
        let mut build = super::cargo();
        build.args(["build", "--profile", "dist"]).args(args);
        super::run(build)?;
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| super::root().join("target"));
    let tmp = std::env::temp_dir().join(format!("pa-bench-report-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let started = Instant::now();
    let out = Command::new(target.join("dist/examples/report_bench"))
        .args(["--actions", &n.to_string(), "--workspace"])
        .arg(&tmp)
        .output()
        .context("running report_bench")?;
    if !out.status.success() {
        bail!(
            "report_bench failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let gen_s = started.elapsed().as_secs_f64();
    let run = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    // The stages read the range of the run: a replay range for the synthetic actions' asset.
    std::fs::create_dir_all(run.join("inputs"))?;
    if !run.join("inputs/range.yaml").exists() {
        std::fs::write(
            run.join("inputs/range.yaml"),
            "range_id: bench\nlab:\n  provider: replay\nreplay: {ground_truth: ground_truth.jsonl}\n",
        )?;
    }
    let score = target.join("dist/pa-score");
    let mut score_walls = Vec::new();
    for i in 0..6 {
        let t = Instant::now();
        let st = Command::new(&score)
            .args(["-qq", "--run-dir"])
            .arg(&run)
            .output()
            .context("running pa-score")?;
        let wall = t.elapsed().as_secs_f64() * 1000.0;
        if !matches!(st.status.code(), Some(0) | Some(10)) {
            bail!("pa-score failed: {}", String::from_utf8_lossy(&st.stderr));
        }
        if i > 0 {
            score_walls.push(wall);
        }
    }
    score_walls.sort_by(f64::total_cmp);
    let summary_mb = std::fs::metadata(run.join("scoring/summary.json"))?.len() as f64 / 1e6;
    let report = target.join("dist/pa-report");
    let mut walls = Vec::new();
    let mut stages = Vec::new();
    for i in 0..6 {
        let t = Instant::now();
        let st = Command::new(&report)
            .args(["-qq", "--run-dir"])
            .arg(&run)
            .output()
            .context("running pa-report")?;
        let wall = t.elapsed().as_secs_f64() * 1000.0;
        if !matches!(st.status.code(), Some(0) | Some(10)) {
            bail!("pa-report failed: {}", String::from_utf8_lossy(&st.stderr));
        }
        if i > 0 {
            walls.push(wall);
            stages.push(reporting_ms(&run)?);
        }
    }
    walls.sort_by(f64::total_cmp);
    stages.sort_by(f64::total_cmp);
    let size = |p: &str| {
        std::fs::metadata(run.join(p))
            .map(|m| format!("{:.1} MB", m.len() as f64 / 1e6))
            .unwrap_or_else(|_| "-".into())
    };
    println!(
        "reporting, {n} actions (synthetic scored bundle, dist build, 5 runs after a warm-up)"
    );
    println!("machine: {}", super::machine());
    println!("bundle written in {gen_s:.2} s; scoring/summary.json {summary_mb:.1} MB");
    println!(
        "pa-report wall time: median {:.0} ms (min {:.0}, max {:.0}); stage duration recorded: median {:.0} ms",
        walls[2], walls[0], walls[4], stages[2]
    );
    println!(
        "outputs: report.json {}, report.html {}, junit.xml {}, run_timeline.md {}, attack_layer.json {}",
        size("report/report.json"),
        size("report/report.html"),
        size("report/junit.xml"),
        size("report/run_timeline.md"),
        size("report/attack_layer.json")
    );
    println!(
        "pa-score wall time: median {:.0} ms (min {:.0}, max {:.0})",
        score_walls[2], score_walls[0], score_walls[4]
    );
    let both = score_walls[2] + walls[2];
    println!(
        "scoring + reporting: {both:.0} ms; target < 2 s: {}",
        if both < 2000.0 { "met" } else { "NOT met" }
    );
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(())
}
