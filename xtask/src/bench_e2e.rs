//! `cargo xtask bench e2e [--runs N] [--records N] [--profile dist|release]`: a folder of EVTX to detections, our two
//! paths against rsigma, in one invocation, on the same files and rules (issue 15).
//!
//! - **bundle**: `pa-orchestrate run` of a generated replay range (telemetry → normalization →
//!   detection; no lab, runner, validation, scoring or reporting) over the folder; the per-stage
//!   split comes from the manifest's recorded durations.
//! - **stream**: `pa-normalize --source evtx --input DIR | pa-detect --rules R --events -`.
//! - **rsigma**: rsigma 0.23.0 (installed by the bench into the user's cache directory with
//!   `cargo install rsigma --version 0.23.0 --no-default-features --features logfmt --locked`:
//!   0.23.0 does not compile with no feature at all, its `disposition_spool` command needs the
//!   `rsigma-runtime` crate, which `logfmt`, the smallest feature, brings in), fed JSON lines
//!   that `evtx_flatten` (ours, `tests/examples`) writes from the same files, then
//!   `rsigma engine eval --logsource-routing`; flattening time included.
//!
//! Corpora: EVTX-ATTACK-SAMPLES as it is, and a replicated corpus of at least `--records`
//! records (default 100,000) written by `evtx_replicate` with distinct record IDs. Rules: every
//! SigmaHQ `rules/windows` rule. Each run times the three paths one after the other (bundle,
//! stream, rsigma), so ratios are paired run by run; the first run of each corpus is a warm-up
//! (page cache, rule files) and is reported but not counted. Peak RSS is each process's own
//! (`/usr/bin/time -f %M`; for a pipeline the larger of its two processes).

use crate::bench_common::{
    RULES, SAMPLES, Timed, count_lines, manifest_events, q, replay_inputs, run_bundle, time_prefix,
    timed_sh,
};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

const RSIGMA_VERSION: &str = "0.23.0";
/// Records in EVTX-ATTACK-SAMPLES (read by telemetry, `bench normalize`).
const SAMPLE_RECORDS: u64 = 7_840;

pub fn bench_e2e(runs: usize, records: u64, profile: &str) -> Result<()> {
    let root = super::root();
    crate::bench_common::check_data(&root)?;
    crate::bench_common::build(profile, &["evtx_flatten", "evtx_replicate"])?;
    let target = crate::bench_common::target_dir(&root);
    let bin = target.join(profile);
    let rsigma = install_rsigma()?;
    let work = target.join("bench-e2e");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;

    let copies = records.div_ceil(SAMPLE_RECORDS).max(1);
    let replicated = work.join("replicated");
    let out = Command::new(bin.join("examples/evtx_replicate"))
        .args([
            root.join(SAMPLES).as_os_str(),
            replicated.as_os_str(),
            copies.to_string().as_ref(),
        ])
        .output()
        .context("running evtx_replicate")?;
    if !out.status.success() {
        bail!("evtx_replicate: {}", String::from_utf8_lossy(&out.stderr));
    }
    print!("{}", String::from_utf8_lossy(&out.stdout));

    println!("machine: {}; profile: {profile}", super::machine());
    println!(
        "rules: {RULES}; rsigma {RSIGMA_VERSION} at {}",
        rsigma.display()
    );
    let corpora = [
        ("EVTX-ATTACK-SAMPLES", root.join(SAMPLES)),
        ("replicated", replicated),
    ];
    for (name, dir) in &corpora {
        corpus(&root, &bin, &rsigma, &work, name, dir, runs.max(1))?;
    }
    Ok(())
}

/// rsigma's binary in the cache directory, installed there first if needed.
fn install_rsigma() -> Result<PathBuf> {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .context("neither XDG_CACHE_HOME nor HOME is set")?;
    let dir = cache
        .join("purple-axiom")
        .join(format!("rsigma-{RSIGMA_VERSION}"));
    let exe = dir.join("bin/rsigma");
    if !exe.is_file() {
        eprintln!("installing rsigma {RSIGMA_VERSION} into {}", dir.display());
        let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        c.args([
            "install",
            "rsigma",
            "--version",
            RSIGMA_VERSION,
            "--no-default-features",
            "--features",
            "logfmt",
            "--locked",
            "--root",
        ])
        .arg(&dir);
        super::run(c)?;
    }
    Ok(exe)
}

struct Row {
    bundle: Timed,
    stages: Vec<(String, f64)>,
    stream: Timed,
    flatten: Timed,
    rsigma: Timed,
    events: u64,
    ours: u64,
    stream_hits: u64,
    theirs: u64,
}

fn corpus(
    root: &Path,
    bin: &Path,
    rsigma: &Path,
    work: &Path,
    name: &str,
    dir: &Path,
    runs: usize,
) -> Result<()> {
    let cdir = work.join(name);
    let rules = root.join(RULES);
    let (range, scenario) = replay_inputs(&cdir, "bench-e2e", dir, &rules)?;
    let (r1, r2) = (cdir.join("rss1"), cdir.join("rss2"));
    let mut rows = Vec::new();
    println!("=== {name}: {}", dir.display());
    println!(
        "{:>3} | {:>10} | {:>10} | {:>10} ({:>6} + {:>6}) | {:>7} | {:>7} | stages (s)",
        "run", "bundle s", "stream s", "rsigma s", "flat", "eval", "ratio b", "ratio s",
    );
    for i in 0..=runs {
        let (bundle, run_dir, stages) = run_bundle(bin, &range, &scenario, &cdir.join("ws"), &r1)?;
        let ours = count_lines(&run_dir.join("detections/detections.jsonl"))?;
        let events = manifest_events(&run_dir)?;
        let stream_out = cdir.join("stream.jsonl");
        let stream = timed_sh(
            &format!(
                "{} {} --source evtx --input {} -q | {} {} --rules {} --events - -q > {}",
                time_prefix(&r1),
                q(&bin.join("pa-normalize")),
                q(dir),
                time_prefix(&r2),
                q(&bin.join("pa-detect")),
                q(&rules),
                q(&stream_out)
            ),
            &[&r1, &r2],
        )?;
        let stream_hits = count_lines(&stream_out)?;
        let flat = cdir.join("flat.jsonl");
        let flatten = timed_sh(
            &format!(
                "{} {} {} > {}",
                time_prefix(&r1),
                q(&bin.join("examples/evtx_flatten")),
                q(dir),
                q(&flat)
            ),
            &[&r1],
        )?;
        let theirs_out = cdir.join("rsigma.jsonl");
        let eval = timed_sh(
            &format!(
                "{} {} engine eval -r {} --logsource-routing -e @{} > {}",
                time_prefix(&r1),
                q(rsigma),
                q(&rules),
                q(&flat),
                q(&theirs_out)
            ),
            &[&r1],
        )?;
        let theirs = count_lines(&theirs_out)?;
        let rs = Timed {
            wall: flatten.wall + eval.wall,
            rss_mib: flatten.rss_mib.max(eval.rss_mib),
        };
        println!(
            "{:>3} | {:>10.2} | {:>10.2} | {:>10.2} ({:>6.2} + {:>6.2}) | {:>7.2} | {:>7.2} | {}{}",
            i,
            bundle.wall,
            stream.wall,
            rs.wall,
            flatten.wall,
            eval.wall,
            rs.wall / bundle.wall,
            rs.wall / stream.wall,
            stages
                .iter()
                .map(|(s, d)| format!("{s} {d:.2}"))
                .collect::<Vec<_>>()
                .join(", "),
            if i == 0 { "  (warm-up)" } else { "" }
        );
        let row = Row {
            bundle,
            stages,
            stream,
            flatten,
            rsigma: rs,
            events,
            ours,
            stream_hits,
            theirs,
        };
        if i > 0 {
            rows.push(row);
        }
    }
    summarize(name, &rows);
    Ok(())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn summarize(name: &str, rows: &[Row]) {
    let Some(last) = rows.last() else { return };
    let b = median(rows.iter().map(|r| r.bundle.wall).collect());
    let s = median(rows.iter().map(|r| r.stream.wall).collect());
    let r = median(rows.iter().map(|r| r.rsigma.wall).collect());
    let fl = median(rows.iter().map(|r| r.flatten.wall).collect());
    let rb = median(rows.iter().map(|r| r.rsigma.wall / r.bundle.wall).collect());
    let rsr = median(rows.iter().map(|r| r.rsigma.wall / r.stream.wall).collect());
    println!(
        "--- {name}: {} events in the store, detections: bundle {}, stream {}, rsigma {}",
        last.events, last.ours, last.stream_hits, last.theirs
    );
    println!(
        "median of {} runs: bundle {b:.2} s ({:.0} events/s), stream {s:.2} s ({:.0} events/s), rsigma {r:.2} s (flatten {fl:.2} s); rsigma/bundle {rb:.2}×, rsigma/stream {rsr:.2}× (paired run by run; target ≥ 2×)",
        rows.len(),
        last.events as f64 / b,
        last.events as f64 / s,
    );
    let mut stage_names: Vec<&str> = last.stages.iter().map(|(s, _)| s.as_str()).collect();
    stage_names.dedup();
    let split: Vec<String> = stage_names
        .iter()
        .map(|st| {
            let m = median(
                rows.iter()
                    .filter_map(|r| r.stages.iter().find(|(n, _)| n == st).map(|(_, d)| *d))
                    .collect(),
            );
            format!("{st} {m:.2} s")
        })
        .collect();
    println!("bundle per stage (median): {}", split.join(", "));
    println!(
        "peak RSS (last run): bundle {:.0} MiB (largest stage process: the orchestrator's own), stream {:.0} MiB, rsigma {:.0} MiB (flatten {:.0} MiB)",
        last.bundle.rss_mib, last.stream.rss_mib, last.rsigma.rss_mib, last.flatten.rss_mib
    );
}
