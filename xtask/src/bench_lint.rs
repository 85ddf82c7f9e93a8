//! `cargo xtask bench lint [--runs N]`: `pa-lint ../shared/data/sigma/rules` (the SigmaHQ rule
//! corpus: load, route and compile every rule as `pa-detect check` does, plus the YAML outline
//! of every file), `release` build. One warm-up run, then N timed runs (default 5) of the whole
//! process; the figures are the median, minimum and maximum wall time.

use anyhow::{Context, Result, bail};
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

pub fn bench_lint(runs: usize) -> Result<()> {
    let mut build = super::cargo();
    build.args([
        "build",
        "--release",
        "-p",
        "pa-lint-cli",
        "--bin",
        "pa-lint",
    ]);
    super::run(build)?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| super::root().join("target"));
    let exe = target.join("release/pa-lint");
    let rules = "../shared/data/sigma/rules";
    if !super::root().join(rules).is_dir() {
        bail!("{rules} not found beside the repository: the bench needs ../shared/data");
    }
    let runs = runs.max(1);
    let mut walls = Vec::new();
    let mut last = None;
    for i in 0..=runs {
        let t = Instant::now();
        let out = Command::new(&exe)
            .current_dir(super::root())
            .args([rules, "--format", "json", "-qq"])
            .output()
            .with_context(|| format!("running {}", exe.display()))?;
        let wall = t.elapsed().as_secs_f64();
        if !matches!(out.status.code(), Some(0) | Some(20)) || out.stdout.is_empty() {
            bail!("pa-lint failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        if i > 0 {
            walls.push(wall);
        }
        last = Some(out.stdout);
    }
    walls.sort_by(f64::total_cmp);
    let doc: serde_json::Value = serde_json::from_slice(&last.unwrap_or_default())?;
    let files = count_rule_files(&super::root().join(rules));
    println!("pa-lint {rules} (release build, {runs} runs after a warm-up)");
    println!("machine: {}", super::machine());
    println!(
        "{files} rule files; findings: {} error(s), {} warning(s), {} info",
        doc["summary"]["counts"]["error"],
        doc["summary"]["counts"]["warning"],
        doc["summary"]["counts"]["info"]
    );
    let median = walls[walls.len() / 2];
    println!(
        "wall time: median {median:.2} s (min {:.2}, max {:.2}); target < 5 s: {}",
        walls[0],
        walls[walls.len() - 1],
        if median < 5.0 { "met" } else { "NOT met" }
    );
    Ok(())
}

fn count_rule_files(dir: &std::path::Path) -> usize {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return 0;
    };
    rd.flatten()
        .map(|e| e.path())
        .map(|p| {
            if p.is_dir() {
                count_rule_files(&p)
            } else {
                usize::from(p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
            }
        })
        .sum()
}
