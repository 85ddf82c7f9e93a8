//! `cargo xtask bench scale [--events N] [--profile release|dist]`: the detection stage over a
//! normalized store of at least N events (default 10,000,000), the native engine against the
//! DuckDB engine, on the same bundle and rules (issue 12).
//!
//! 1. A base bundle: `pa-orchestrate run` of the replay range of `bench e2e` (telemetry →
//!    normalization → detection) over EVTX-ATTACK-SAMPLES with every SigmaHQ `rules/windows`
//!    rule. Its `normalized/ocsf_events/` (~7.8k events) is the source store.
//! 2. The bundle's workspace is copied to a scratch workspace, whose store is replaced by
//!    `ceil(N / source events)` copies of the source written by `store_replicate` (ours,
//!    `tests/examples`: distinct `metadata.uid`, disjoint time ranges, the store's order, parts
//!    and row groups of the base store's layout, with pa-store's writer properties).
//! 3. On the scratch bundle, `pa-detect --run-dir B --engine native`, then
//!    `pa-detect --run-dir B --engine duckdb` (the `duckdb` CLI on PATH), each timed with its
//!    peak RSS (`/usr/bin/time -f %M`; for DuckDB the larger of `pa-detect` and the `duckdb`
//!    process it spawns, which `time` counts as a child: `%M` is the largest of the process
//!    tree's members, not their sum). They run in the bench's work directory, where DuckDB
//!    spills (`.tmp/`, its default temporary directory; its size is reported, then it is
//!    removed). A stage re-run replaces the stage's outputs when it
//!    publishes, so nothing is deleted between the two runs; the rule-set cache is warm for
//!    both (the base bundle's detection filled it).
//!
//! It prints the store (events, parts, bytes on disk) and one row per engine: wall time,
//! events/s, peak RSS, detections, rules not executable (for DuckDB: those it refuses,
//! `unsupported_in_dialect`).

use crate::bench_common::{
    RULES, SAMPLES, count_lines, manifest_events, q, replay_inputs, run_bundle, time_prefix,
    timed_sh,
};
use anyhow::{Context, Result, bail};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

pub fn bench_scale(events: u64, profile: &str) -> Result<()> {
    let root = super::root();
    crate::bench_common::check_data(&root)?;
    crate::bench_common::build(profile, &["store_replicate"])?;
    let duckdb = Command::new("duckdb")
        .arg("--version")
        .output()
        .context("the duckdb CLI is not on PATH (pip install duckdb-cli)")?;
    let duckdb_version = String::from_utf8_lossy(&duckdb.stdout).trim().to_string();
    let target = crate::bench_common::target_dir(&root);
    let bin = target.join(profile);
    let work = target.join("bench-scale");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;
    let rules = root.join(RULES);

    let (range, scenario) = replay_inputs(&work, "bench-scale", &root.join(SAMPLES), &rules)?;
    let rss = work.join("rss");
    let base_ws = work.join("base");
    let (base, base_run, _) = run_bundle(&bin, &range, &scenario, &base_ws, &rss)?;
    let source_events = manifest_events(&base_run)?;
    if source_events == 0 {
        bail!("{}: the base bundle's store is empty", base_run.display());
    }
    eprintln!(
        "base bundle: {} events in {:.2} s",
        source_events, base.wall
    );

    let scratch_ws = work.join("scratch");
    let status = Command::new("cp")
        .args(["-a"])
        .arg(&base_ws)
        .arg(&scratch_ws)
        .status()
        .context("cp -a")?;
    if !status.success() {
        bail!("copying {} failed: {status}", base_ws.display());
    }
    let run_name = base_run.file_name().context("run directory name")?;
    let run = scratch_ws.join("runs").join(run_name);
    let store = run.join("normalized/ocsf_events");
    std::fs::remove_dir_all(&store).with_context(|| format!("{}", store.display()))?;
    let copies = events.div_ceil(source_events).max(1);
    let replicate = timed_sh(
        &format!(
            "{} {} {} {} {}",
            time_prefix(&rss),
            q(&bin.join("examples/store_replicate")),
            q(&base_run.join("normalized/ocsf_events")),
            q(&store),
            copies
        ),
        &[&rss],
    )?;
    let parts = pa_parts(&store)?;
    let bytes = du_bytes(&store)?;
    eprintln!(
        "replicated: {copies} copies in {:.2} s (peak {:.0} MiB)",
        replicate.wall, replicate.rss_mib
    );

    println!(
        "machine: {}; profile: {profile}; {duckdb_version}",
        super::machine()
    );
    println!(
        "rules: {RULES}; store: {copies} copies of the {source_events} events of the EVTX-ATTACK-SAMPLES bundle"
    );
    println!(
        "store: {} events expected, {parts} part(s), {bytes} bytes on disk ({:.1} MiB, `du -sb`); written in {:.1} s",
        source_events * copies,
        bytes as f64 / (1024.0 * 1024.0),
        replicate.wall
    );
    println!();
    println!(
        "| engine | wall | events/s | peak RSS | events evaluated | detections | rules not executable | of which unsupported_in_dialect |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let expected = source_events * copies;
    let failed_flag = work.join("failed");
    let mut problems = Vec::new();
    for engine in ["native", "duckdb"] {
        let _ = std::fs::remove_file(&failed_flag);
        // A failed engine run is a row of the table (its time, peak RSS and reason), not the
        // end of the bench: the other engine's figures still stand.
        let t = timed_sh(
            &format!(
                "cd {} && {} {} --run-dir {} --engine {engine} -q || echo $? > {}",
                q(&work),
                time_prefix(&rss),
                q(&bin.join("pa-detect")),
                q(&run),
                q(&failed_flag)
            ),
            &[&rss],
        )
        .with_context(|| format!("pa-detect --engine {engine}"))?;
        // DuckDB spills to `.tmp/` in its working directory (its default temp_directory).
        let spill = work.join(".tmp");
        if spill.exists() {
            eprintln!(
                "{engine}: DuckDB spilled {} bytes to {}",
                du_bytes(&spill)?,
                spill.display()
            );
            std::fs::remove_dir_all(&spill).with_context(|| format!("{}", spill.display()))?;
        }
        if let Ok(code) = std::fs::read_to_string(&failed_flag) {
            let why = detection_failure(&run).unwrap_or_else(|e| format!("{e:#}"));
            println!(
                "| {engine} | **failed** after {:.2} s (exit {}: {why}) | — | {:.0} MiB | — | — | — | — |",
                t.wall,
                code.trim(),
                t.rss_mib
            );
            problems.push(format!("{engine} failed: {why}"));
            continue;
        }
        let evaluated = manifest_events(&run)?;
        let detections = count_lines(&run.join("detections/detections.jsonl"))?;
        let (not_exec, dialect) = not_executable(&run)?;
        println!(
            "| {engine} | {:.2} s | {:.0} | {:.0} MiB | {evaluated} | {detections} | {not_exec} | {dialect} |",
            t.wall,
            evaluated as f64 / t.wall,
            t.rss_mib
        );
        if evaluated != expected {
            problems.push(format!(
                "{engine} evaluated {evaluated} events, the store holds {expected}"
            ));
        }
    }
    if !problems.is_empty() {
        bail!("{}", problems.join("; "));
    }
    Ok(())
}

/// The detection stage's recorded failure: reason code and message (manifest).
fn detection_failure(run: &Path) -> Result<String> {
    let p = run.join("manifest.json");
    let m: Value =
        serde_json::from_slice(&std::fs::read(&p).with_context(|| format!("{}", p.display()))?)?;
    let o = m["stage_outcomes"]
        .as_array()
        .and_then(|a| a.iter().find(|o| o["stage"] == "detection"))
        .with_context(|| format!("{}: no detection outcome", p.display()))?;
    Ok(format!(
        "{}: {}",
        o["reason_code"].as_str().unwrap_or("?"),
        o["message"].as_str().unwrap_or("").trim()
    ))
}

/// Part files of the store.
fn pa_parts(store: &Path) -> Result<usize> {
    Ok(std::fs::read_dir(store)
        .with_context(|| format!("{}", store.display()))?
        .flatten()
        .filter(|e| {
            let n = e.file_name();
            let n = n.to_string_lossy();
            n.starts_with("part-") && n.ends_with(".parquet")
        })
        .count())
}

/// `du -sb DIR`: apparent bytes of the directory tree.
fn du_bytes(dir: &Path) -> Result<u64> {
    let out = Command::new("du")
        .arg("-sb")
        .arg(dir)
        .output()
        .context("running du")?;
    if !out.status.success() {
        bail!(
            "du -sb {}: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .with_context(|| format!("du -sb {}: no byte count", dir.display()))
}

/// Rules not executable in the last detection run, and of them those the SQL dialect refused
/// (`bridge/coverage.json`).
fn not_executable(run: &Path) -> Result<(u64, u64)> {
    let p = run.join("bridge/coverage.json");
    let cov: Value =
        serde_json::from_slice(&std::fs::read(&p).with_context(|| format!("{}", p.display()))?)
            .with_context(|| format!("{}", p.display()))?;
    let all = cov["non_executable_rules"]
        .as_u64()
        .with_context(|| format!("{}: no non_executable_rules", p.display()))?;
    let dialect = cov["non_executable_reason_counts"]["unsupported_in_dialect"]
        .as_u64()
        .unwrap_or(0);
    Ok((all, dialect))
}
