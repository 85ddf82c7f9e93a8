//! `cargo xtask fuzz [--seconds N] [--target NAME]`: run the cargo-fuzz targets of `fuzz/`
//! (nightly toolchain, libFuzzer) for a bounded time each, seeded from the reference data, and
//! report executions and crashes. cargo-fuzz is installed into the user's cache directory when
//! it is missing (never by `.ci/run`).

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The targets, in the order they run.
pub const TARGETS: [&str; 5] = [
    "sigma_rule",
    "event_xml",
    "audit_log",
    "mapping_profile",
    "jcs",
];

fn cache_dir() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir)
        .join("purple-axiom")
}

/// `PATH` with cargo-fuzz on it, installing it into the cache when `cargo fuzz` is missing.
fn ensure_cargo_fuzz(root: &Path) -> Result<std::ffi::OsString> {
    let install = cache_dir().join("cargo-fuzz");
    let mut path = std::ffi::OsString::from(install.join("bin"));
    if let Some(p) = std::env::var_os("PATH") {
        path.push(":");
        path.push(p);
    }
    let ok = |path: &std::ffi::OsString| {
        Command::new("cargo")
            .current_dir(root)
            .env("PATH", path)
            .args(["+nightly", "fuzz", "--version"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if ok(&path) {
        return Ok(path);
    }
    eprintln!(
        "cargo-fuzz not found: installing it into {}",
        install.display()
    );
    let mut c = Command::new("cargo");
    c.args(["install", "cargo-fuzz", "--locked", "--root"])
        .arg(&install);
    super::run(c)?;
    if !ok(&path) {
        bail!("cargo +nightly fuzz still does not run after installing cargo-fuzz");
    }
    Ok(path)
}

/// Seed a target's corpus (under `fuzz/corpus/<target>`, not committed) from the reference
/// data beside the repository.
fn seed(root: &Path, target: &str) -> Result<PathBuf> {
    let corpus = root.join("fuzz/corpus").join(target);
    std::fs::create_dir_all(&corpus)?;
    let data = root.join("../shared/data");
    let mut sources: Vec<PathBuf> = Vec::new();
    let mut walk = |dir: PathBuf, exts: &[&str], max: usize| {
        let mut found = Vec::new();
        let mut stack = vec![dir];
        while let Some(d) = stack.pop() {
            let Ok(rd) = std::fs::read_dir(&d) else {
                continue;
            };
            let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
            entries.sort();
            for p in entries {
                if p.is_dir() {
                    stack.push(p);
                } else if p
                    .extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| exts.contains(&e))
                {
                    found.push(p);
                }
            }
        }
        found.sort();
        let step = (found.len() / max.max(1)).max(1);
        sources.extend(found.into_iter().step_by(step).take(max));
    };
    match target {
        "sigma_rule" => walk(data.join("sigma/rules"), &["yml", "yaml"], 300),
        "event_xml" => walk(
            data.join("purple-axiom-ref/fixtures/windows_event_xml"),
            &["xml"],
            50,
        ),
        "audit_log" => walk(data.join("linux-audit-lab/audit"), &["log"], 20),
        "mapping_profile" => walk(
            data.join("purple-axiom-ref/fixtures/raw"),
            &["json", "ndjson"],
            50,
        ),
        "jcs" => walk(data.join("purple-axiom-ref/fixtures/jcs"), &["json"], 50),
        _ => {}
    }
    if target == "audit_log" {
        // Audit logs are long: seeds of 40 lines each, spread over the files.
        let mut chunks = Vec::new();
        for src in &sources {
            let text = std::fs::read_to_string(src).with_context(|| src.display().to_string())?;
            let lines: Vec<&str> = text.lines().collect();
            chunks.extend(lines.chunks(40).map(|c| c.join("\n") + "\n"));
        }
        let step = (chunks.len() / 200).max(1);
        for (i, c) in chunks.iter().step_by(step).take(200).enumerate() {
            std::fs::write(corpus.join(format!("seed-{i:04}")), c)?;
        }
        return Ok(corpus);
    }
    for (i, src) in sources.iter().enumerate() {
        let mut bytes = std::fs::read(src).with_context(|| src.display().to_string())?;
        // Seeds stay small: libFuzzer mutates better from short inputs.
        bytes.truncate(64 * 1024);
        if target == "mapping_profile" {
            // The first byte picks the source family.
            bytes.insert(0, i as u8);
        }
        std::fs::write(corpus.join(format!("seed-{i:04}")), bytes)?;
    }
    Ok(corpus)
}

/// What one run gave.
struct Outcome {
    target: &'static str,
    seconds: u64,
    runs: Option<u64>,
    crashes: Vec<PathBuf>,
}

fn artifacts(root: &Path, target: &str) -> Vec<PathBuf> {
    let dir = root.join("fuzz/artifacts").join(target);
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.sort();
    v
}

pub fn fuzz(root: &Path, seconds: u64, only: Option<&str>) -> Result<()> {
    if let Some(t) = only {
        if !TARGETS.contains(&t) {
            bail!("unknown fuzz target {t}: one of {}", TARGETS.join(", "));
        }
    }
    let path = ensure_cargo_fuzz(root)?;
    let mut outcomes = Vec::new();
    for target in TARGETS
        .iter()
        .copied()
        .filter(|t| only.is_none_or(|o| o == *t))
    {
        let corpus = seed(root, target)?;
        let before = artifacts(root, target);
        let mut c = Command::new("cargo");
        c.current_dir(root.join("fuzz"))
            .env("PATH", &path)
            .args(["+nightly", "fuzz", "run", target])
            .arg(&corpus)
            .args([
                "--",
                &format!("-max_total_time={seconds}"),
                "-rss_limit_mb=4096",
                "-timeout=20",
                "-max_len=65536",
                "-print_final_stats=1",
            ]);
        eprintln!("$ {c:?}");
        let out = c.output().with_context(|| format!("running {c:?}"))?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        let runs = stderr
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix("stat::number_of_executed_units:"))
            .and_then(|n| n.trim().parse().ok());
        let crashes: Vec<PathBuf> = artifacts(root, target)
            .into_iter()
            .filter(|p| !before.contains(p))
            .collect();
        if !out.status.success() && crashes.is_empty() {
            let tail: Vec<&str> = stderr.lines().rev().take(30).collect();
            bail!(
                "fuzz target {target} failed without a crash artifact:\n{}",
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
        outcomes.push(Outcome {
            target,
            seconds,
            runs,
            crashes,
        });
    }
    println!("| target | seconds | executions | exec/s | new crashes |");
    println!("|---|---|---|---|---|");
    let mut failed = false;
    for o in &outcomes {
        let runs = o.runs.map(|r| r.to_string()).unwrap_or_else(|| "?".into());
        let rate = o
            .runs
            .map(|r| format!("{:.0}", r as f64 / o.seconds.max(1) as f64))
            .unwrap_or_else(|| "?".into());
        println!(
            "| {} | {} | {runs} | {rate} | {} |",
            o.target,
            o.seconds,
            if o.crashes.is_empty() {
                "0".to_string()
            } else {
                o.crashes
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        );
        failed |= !o.crashes.is_empty();
    }
    if failed {
        bail!(
            "crashes found: reproduce with `cargo +nightly fuzz run <target> <artifact>` in fuzz/, fix, and add a regression test"
        );
    }
    Ok(())
}
