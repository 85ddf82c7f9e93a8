//! `cargo xtask <task>`: project automation.
//!
//! * `ci`: what `.ci/run` runs: `cargo fmt --check`, clippy with `-D warnings`, the tests.
//! * `bench orchestrate [--iterations N]`: orchestrator overhead per stage (spawn + outcome +
//!   publish of an empty stage), `dist` build, test-only stage executables.
//! * `bench detect [--events N]`: Sigma rule load time and matching throughput (1 thread and all
//!   cores) over OCSF events from EVTX-ATTACK-SAMPLES, `dist` build
//!   (`crates/pa-detection/examples/detect_bench.rs`).
//! * `bench normalize [--events N]`: EVTX parsing, normalization alone, and the
//!   raw_parquet → OCSF Parquet data path, with peak memory at N/4 and N events
//!   (`tests/examples/normalize_bench.rs`: it composes two stages, telemetry and normalization, so
//!   it lives in the end-to-end package).
//! * `bench runner [--actions N]`: the runner's per-action overhead for a trivial command on
//!   this host (resolve + spawn + capture + record), `dist` build; see `bench_runner.rs`.
//! * `bench score [--actions N]`: scoring of a synthetic run of N actions (default 10,000),
//!   `dist` build (`crates/pa-scoring/examples/score_bench.rs`).
//! * `bench report [--actions N]`: the reporting stage (`pa-report`) over a synthetic bundle of N
//!   actions (default 10,000), `dist` build; see `bench_report.rs`.
//! * `bench e2e [--runs N] [--records N] [--profile dist|release]`: a folder of EVTX to
//!   detections, the bundle and stream paths against rsigma; see `bench_e2e.rs`.
//! * `bench scale [--events N] [--profile release|dist]`: the detection stage over a replicated
//!   normalized store of at least N events (default 10,000,000), native engine against DuckDB:
//!   wall time, peak RSS, the store's size on disk (`release` build by default); see
//!   `bench_scale.rs`.
//! * `fuzz [--seconds N] [--target NAME]`: the cargo-fuzz targets of `fuzz/` (nightly), N
//!   seconds each (default 600), seeded from the reference data; see `fuzz.rs`.
//! * `bench lint [--runs N]`: `pa-lint` over the SigmaHQ rule corpus
//!   (`../shared/data/sigma/rules`), `release` build; see `bench_lint.rs`.
//! * `attack-table`: regenerate the report's technique → tactic table from `../shared/data`
//!   (`attack_table.rs`).
//! * `tidy`: architecture and hygiene checks (the allowed dependency map of `ARCHITECTURE.md`,
//!   no ignored tests, no wall-clock assertions in tests, no printing in library crates, no
//!   ungated failpoints, file sizes); see `tidy.rs`.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

mod attack_table;
mod bench_common;
mod bench_e2e;
mod bench_lint;
mod bench_report;
mod bench_runner;
mod bench_scale;
mod fuzz;
mod tidy;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn cargo() -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(root());
    c
}

fn run(mut c: Command) -> Result<()> {
    eprintln!("$ {c:?}");
    let s = c.status().with_context(|| format!("running {c:?}"))?;
    if !s.success() {
        bail!("{c:?} failed: {s}");
    }
    Ok(())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["ci"] => ci(),
        ["tidy"] => {
            if !tidy::run(&root())? {
                std::process::exit(1);
            }
            Ok(())
        }
        ["bench", "orchestrate", rest @ ..] => bench_orchestrate(iterations(rest)?),
        ["bench", "detect", rest @ ..] => bench_detect(events(rest)?),
        ["bench", "normalize", rest @ ..] => bench_normalize(events(rest)?),
        ["bench", "runner", rest @ ..] => bench_runner::bench_runner(actions(rest)?),
        ["bench", "score", rest @ ..] => {
            let n = match rest {
                [] => 10_000,
                ["--actions", n] => n.parse().context("--actions N")?,
                _ => bail!("usage: cargo xtask bench score [--actions N]"),
            };
            run_example("pa-scoring", "score_bench", &[n.to_string()])
        }
        ["bench", "report", rest @ ..] => bench_report::bench_report(report_actions(rest)?),
        ["bench", "e2e", rest @ ..] => {
            let (mut runs, mut records, mut profile) = (3usize, 100_000u64, "dist".to_string());
            let mut it = rest.iter();
            while let Some(a) = it.next() {
                match (*a, it.next()) {
                    ("--runs", Some(n)) => runs = n.parse().context("--runs N")?,
                    ("--records", Some(n)) => records = n.parse().context("--records N")?,
                    ("--profile", Some(p)) if ["dist", "release"].contains(p) => {
                        profile = p.to_string()
                    }
                    _ => bail!(
                        "usage: cargo xtask bench e2e [--runs N] [--records N] [--profile dist|release]"
                    ),
                }
            }
            bench_e2e::bench_e2e(runs, records, &profile)
        }
        ["bench", "scale", rest @ ..] => {
            let (mut events, mut profile) = (10_000_000u64, "release".to_string());
            let mut it = rest.iter();
            while let Some(a) = it.next() {
                match (*a, it.next()) {
                    ("--events", Some(n)) => events = n.parse().context("--events N")?,
                    ("--profile", Some(p)) if ["dist", "release"].contains(p) => {
                        profile = p.to_string()
                    }
                    _ => bail!(
                        "usage: cargo xtask bench scale [--events N] [--profile release|dist]"
                    ),
                }
            }
            bench_scale::bench_scale(events.max(1), &profile)
        }
        ["bench", "lint", rest @ ..] => bench_lint::bench_lint(match rest {
            [] => 5,
            ["--runs", n] => n.parse().context("--runs N")?,
            _ => bail!("usage: cargo xtask bench lint [--runs N]"),
        }),
        ["attack-table"] => attack_table::attack_table(&root()),
        ["fuzz", rest @ ..] => {
            let (mut seconds, mut target) = (600u64, None);
            let mut it = rest.iter();
            while let Some(a) = it.next() {
                match (*a, it.next()) {
                    ("--seconds", Some(n)) => seconds = n.parse().context("--seconds N")?,
                    ("--target", Some(t)) => target = Some(t.to_string()),
                    _ => bail!("usage: cargo xtask fuzz [--seconds N] [--target NAME]"),
                }
            }
            fuzz::fuzz(&root(), seconds, target.as_deref())
        }
        _ => {
            eprintln!(
                "usage: cargo xtask ci | cargo xtask tidy | cargo xtask bench orchestrate [--iterations N] | cargo xtask bench detect [--events N] | cargo xtask bench normalize [--events N] | cargo xtask bench runner [--actions N] | cargo xtask bench score [--actions N] | cargo xtask bench report [--actions N] | cargo xtask bench lint [--runs N] | cargo xtask bench e2e [--runs N] [--records N] [--profile dist|release] | cargo xtask bench scale [--events N] [--profile release|dist] | cargo xtask fuzz [--seconds N] [--target NAME] | cargo xtask attack-table"
            );
            std::process::exit(2);
        }
    }
}

fn actions(rest: &[&str]) -> Result<usize> {
    match rest {
        [] => Ok(200),
        ["--actions", n] => n.parse().context("--actions N"),
        _ => bail!("usage: cargo xtask bench runner [--actions N]"),
    }
}

fn report_actions(rest: &[&str]) -> Result<usize> {
    match rest {
        [] => Ok(10_000),
        ["--actions", n] => n.parse().context("--actions N"),
        _ => bail!("usage: cargo xtask bench report [--actions N]"),
    }
}

fn iterations(rest: &[&str]) -> Result<usize> {
    match rest {
        [] => Ok(30),
        ["--iterations", n] => Ok(n.parse().context("--iterations N")?),
        _ => bail!("unknown arguments {rest:?}"),
    }
}

fn events(rest: &[&str]) -> Result<u64> {
    match rest {
        [] => Ok(1_000_000),
        ["--events", n] => Ok(n.parse().context("--events N")?),
        _ => bail!("unknown arguments {rest:?}"),
    }
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    format!("{cpu}, {cores} cores")
}

/// Build an example with the `dist` profile (release + thin LTO) and run it with `args`,
/// echoing its figures.
fn run_example(package: &str, example: &str, args: &[String]) -> Result<()> {
    let mut build = cargo();
    build.args([
        "build",
        "--profile",
        "dist",
        "-p",
        package,
        "--example",
        example,
    ]);
    run(build)?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"));
    let exe = target.join("dist/examples").join(example);
    let mut c = Command::new(&exe);
    c.current_dir(root()).args(args);
    eprintln!("$ {} {}", exe.display(), args.join(" "));
    let out = c
        .output()
        .with_context(|| format!("running {}", exe.display()))?;
    if !out.status.success() {
        bail!("{example} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    print!("{}", String::from_utf8_lossy(&out.stdout));
    Ok(())
}

fn bench_detect(n: u64) -> Result<()> {
    println!("machine: {}", machine());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    for threads in [1, cores] {
        println!("--- detect, {threads} thread(s), {n} events");
        run_example(
            "pa-detection",
            "detect_bench",
            &[
                "--events".into(),
                n.to_string(),
                "--threads".into(),
                threads.to_string(),
            ],
        )?;
        if cores == 1 {
            break;
        }
    }
    Ok(())
}

fn bench_normalize(n: u64) -> Result<()> {
    println!("machine: {}", machine());
    println!("--- normalize, all phases, {n} events");
    run_example(
        "pa-e2e",
        "normalize_bench",
        &["--events".into(), n.to_string()],
    )?;
    let quarter = (n / 4).max(1);
    println!("--- pipeline only, {quarter} events (memory at a quarter of the input)");
    run_example(
        "pa-e2e",
        "normalize_bench",
        &[
            "--events".into(),
            quarter.to_string(),
            "--phase".into(),
            "pipeline".into(),
        ],
    )
}

fn ci() -> Result<()> {
    let mut fmt = cargo();
    fmt.args(["fmt", "--all", "--", "--check"]);
    run(fmt)?;
    if !tidy::run(&root())? {
        bail!("tidy found violations");
    }
    let mut clippy = cargo();
    clippy.args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]);
    run(clippy)?;
    let mut test = cargo();
    test.args(["test", "--workspace"]);
    run(test)
}

const ALL_STAGES_RANGE: &str = "\
range_id: bench-range
lab:
  provider: replay
  assets:
    - asset_id: host-01
      os: linux
      role: endpoint
stages:
  lab_provider: true
  runner: true
  telemetry: true
  normalization: true
  validation: true
  detection: true
  scoring: true
  reporting: true
  signing: true
replay:
  ground_truth: ground_truth.jsonl
";

const SCENARIO: &str = "scenario_id: bench\nscenario_version: 1.0.0\nactions: []\n";

const STAGE_BINS: [&str; 9] = [
    "pa-lab",
    "pa-runner",
    "pa-telemetry",
    "pa-normalize",
    "pa-validate",
    "pa-detect",
    "pa-score",
    "pa-report",
    "pa-sign",
];

fn bench_orchestrate(iterations: usize) -> Result<()> {
    let mut build = cargo();
    build.args([
        "build",
        "--profile",
        "dist",
        "-p",
        "pa-orchestrate",
        "-p",
        "pa-e2e",
        "--bins",
    ]);
    run(build)?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"));
    let release = target.join("dist");
    let tmp = std::env::temp_dir().join(format!("pa-bench-orchestrate-{}", std::process::id()));
    let bins = tmp.join("bins");
    std::fs::create_dir_all(&bins)?;
    for b in STAGE_BINS {
        std::os::unix::fs::symlink(release.join("pa-fixture-stage"), bins.join(b))?;
    }
    std::fs::write(tmp.join("range.yaml"), ALL_STAGES_RANGE)?;
    std::fs::write(tmp.join("scenario.yaml"), SCENARIO)?;
    let orch = release.join("pa-orchestrate");
    let once = |dir: &Path| -> Result<f64> {
        let t = Instant::now();
        let out = Command::new(&orch)
            .current_dir(dir)
            .args([
                "-q",
                "run",
                "--range",
                "range.yaml",
                "--scenario",
                "scenario.yaml",
                "--stage-bin-dir",
            ])
            .arg(&bins)
            .output()?;
        let secs = t.elapsed().as_secs_f64();
        if !out.status.success() {
            bail!(
                "pa-orchestrate failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(secs)
    };
    once(&tmp)?; // warm-up
    let mut per_stage_ms: Vec<f64> = Vec::new();
    for _ in 0..iterations {
        per_stage_ms.push(once(&tmp)? * 1000.0 / STAGE_BINS.len() as f64);
    }
    per_stage_ms.sort_by(f64::total_cmp);
    let pct = |p: f64| per_stage_ms[((per_stage_ms.len() as f64 - 1.0) * p).round() as usize];
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    println!("orchestrator overhead per stage (9 empty stages, {iterations} runs, release build)");
    println!(
        "machine: {cpu}, {} cores",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0)
    );
    println!(
        "min {:.2} ms  median {:.2} ms  p90 {:.2} ms  max {:.2} ms",
        pct(0.0),
        pct(0.5),
        pct(0.9),
        pct(1.0)
    );
    println!(
        "target < 20 ms per stage: {}",
        if pct(0.5) < 20.0 { "met" } else { "NOT met" }
    );
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(())
}
