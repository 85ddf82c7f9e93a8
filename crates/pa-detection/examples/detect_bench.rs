//! `cargo xtask bench detect` runs this (release build): rule-load time for a Sigma corpus, then
//! steady-state matching throughput over OCSF events normalized from EVTX-ATTACK-SAMPLES, read
//! back from the normalized store as Arrow batches and replicated until `--events` rows have been
//! evaluated (memory stays that of the base batches).
//!
//! Usage: detect_bench [--rules DIR] [--bridge DIR] [--events N] [--threads T] [--mode plan|hints|plain]
//!                     [--mapped-only]
//!
//! The base events are what the normalized store holds: the events of a specific class and the
//! fallback Base Events (class 0) of records no route names; `--mapped-only` leaves the Base
//! Events out (the workload of the figures recorded before 2026-12-06).
//!
//! Modes: `plan` (default) resolves the engines' keys once per batch ([`Detector::plan`],
//! [`Detector::detect_row`]); `hints` matches each row through [`Detector::detect_event`] with the
//! row's key hints; `plain` does the same with hints hidden (every key looked up).
//!
//! `DETECT_BENCH_ENGINES=1` also lists each class engine (rules, keys) and the rules it
//! evaluates on every event (no literal prerequisite). On a shared VM, `taskset -c 1` gives the
//! steadiest single-thread figure.
//!
//! For instructions per event without hardware counters, run it under
//! `valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*Detector*detect_*'` and
//! divide the collected instructions by the events evaluated.

use pa_detection::columnar::{BatchView, RowEvent};
use pa_detection::detector::{Detector, FieldMode};
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use std::time::Instant;

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// A row with its key hints hidden: the engine looks every key up.
struct NoHints<'a>(RowEvent<'a>);

impl pa_sigma::Event for NoHints<'_> {
    fn values<'b>(&'b self, key: &str, out: &mut Vec<pa_sigma::FieldValue<'b>>) {
        self.0.values(key, out);
    }
    fn for_each_string(&self, f: &mut dyn FnMut(&str)) {
        self.0.for_each_string(f);
    }
}

fn walk(d: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(d) else { return };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else if p.extension().is_some_and(|x| x == "evtx") {
            out.push(p);
        }
    }
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let data = root.join("../shared/data");
    let mut rules = data.join("sigma/rules/windows");
    let mut n_events: u64 = 1_000_000;
    let mut threads = 1usize;
    let mut mode = "plan".to_string();
    let mut mapped_only = false;
    let mut bridge_dir: Option<PathBuf> = None;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        if args[i] == "--mapped-only" {
            mapped_only = true;
            i += 1;
            continue;
        }
        match (args[i].as_str(), args.get(i + 1)) {
            ("--rules", Some(v)) => rules = PathBuf::from(v),
            ("--bridge", Some(v)) => bridge_dir = Some(PathBuf::from(v)),
            ("--events", Some(v)) => n_events = v.parse().expect("--events N"),
            ("--threads", Some(v)) => threads = v.parse().expect("--threads T"),
            ("--mode", Some(v)) if ["plan", "hints", "plain"].contains(&v.as_str()) => {
                mode = v.clone()
            }
            _ => panic!(
                "usage: detect_bench [--rules DIR] [--events N] [--threads T] [--mode plan|hints|plain] [--mapped-only]"
            ),
        }
        i += 2;
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
        .expect("pool");

    // 1. Rule load + compile.
    let t0 = Instant::now();
    let set = pa_detection::load_rules(std::slice::from_ref(&rules)).expect("rules");
    let bridge_dir = bridge_dir.unwrap_or_else(|| root.join("mappings/bridge"));
    let bridge = pa_detection::load_bridge(Some(&bridge_dir)).expect("bridge");
    let det =
        Detector::build(&set, Some(&bridge), FieldMode::Ocsf, &Default::default()).expect("build");
    // Every class engine built up front (the stage builds them when a class is first met), so
    // the evaluation figures below are the matching alone.
    det.class_engines().expect("engines");
    let load_s = t0.elapsed().as_secs_f64();

    // 2. Base events: EVTX-ATTACK-SAMPLES normalized to OCSF, written to a store, read back.
    let normalizer =
        pa_ocsf::Normalizer::load(&root.join("mappings/normalizer/ocsf/1.7.0")).expect("profiles");
    let mut files = Vec::new();
    walk(&data.join("evtx/EVTX-ATTACK-SAMPLES"), &mut files);
    files.sort();
    let tmp = tempfile::tempdir().expect("tmp");
    let store = tmp.path().join("ocsf_events");
    let mut w = pa_store::events::EventWriter::new(&store, tmp.path(), 256 << 20).expect("writer");
    let mut base = 0u64;
    for f in &files {
        let Ok(reader) = pa_sources::open(f, pa_sources::SourceFormat::Evtx) else {
            continue;
        };
        for rec in reader.flatten() {
            let ctx = pa_ocsf::EventContext {
                run_id: "bench",
                scenario_id: "bench",
                raw_ref: None,
                normalizer_version: "bench",
                collector_version: None,
                host: None,
            };
            let e = match normalizer.normalize(&rec, &ctx) {
                pa_ocsf::Normalized::Mapped(e) => e,
                pa_ocsf::Normalized::Fallback { event, .. } if !mapped_only => event,
                _ => continue,
            };
            if w.push(&e).is_ok() {
                base += 1;
            }
        }
    }
    let s = w.finish().expect("finish");
    std::fs::write(
        store.join("_schema.json"),
        serde_json::to_vec(&s.schema_document).unwrap(),
    )
    .unwrap();
    let mut reader = pa_store::events::EventReader::open(&store).expect("reader");
    let mut batches = Vec::new();
    while let Some(b) = reader.next_batch().expect("batch") {
        batches.push(b);
    }
    let views: Vec<BatchView<'_>> = batches.iter().map(|(b, i)| BatchView::new(b, i)).collect();
    let rows: u64 = views.iter().map(|v| v.len() as u64).sum();

    // 3. Steady state: evaluate rows (cycling over the base batches) until n_events.
    let t1 = Instant::now();
    let mut evaluated = 0u64;
    let mut detections = 0u64;
    let mut plan_s = 0f64;
    'outer: loop {
        if evaluated >= n_events {
            break;
        }
        for v in &views {
            let take = (n_events - evaluated).min(v.len() as u64) as usize;
            let class = |r: usize| v.int("class_uid", r).and_then(|c| u64::try_from(c).ok());
            let hits: usize = match mode.as_str() {
                "plan" => {
                    let tp = Instant::now();
                    let plan = det.plan(v);
                    plan_s += tp.elapsed().as_secs_f64();
                    (0..take)
                        .into_par_iter()
                        .map(|r| det.detect_row(&plan, r).len())
                        .sum()
                }
                "hints" => (0..take)
                    .into_par_iter()
                    .map(|r| det.detect_event(class(r), &v.row_hinted(r)).len())
                    .sum(),
                _ => (0..take)
                    .into_par_iter()
                    .map(|r| det.detect_event(class(r), &NoHints(v.row(r))).len())
                    .sum(),
            };
            detections += hits as u64;
            evaluated += take as u64;
            if evaluated >= n_events {
                break 'outer;
            }
        }
    }
    let eval_s = t1.elapsed().as_secs_f64();
    let eps = evaluated as f64 / eval_s;
    println!("rules_dir={}", rules.display());
    println!(
        "rules_loaded={} executable_rules={} compilations={}",
        det.plans.len(),
        det.executable_count(),
        det.rules.len()
    );
    println!("rule_load_compile_s={load_s:.3}");
    if std::env::var_os("DETECT_BENCH_ENGINES").is_some() {
        for (class, engine, idx) in det.class_engines().expect("engines") {
            println!(
                "engine class={class} rules={} keys={} always_evaluated={}",
                idx.len(),
                engine.key_count(),
                engine.always_evaluated()
            );
            for r in engine.always_evaluated_rules() {
                println!("    always: {} ({})", r.title, r.file.display());
            }
        }
    }
    println!("base_events={base} base_rows={rows} files={}", files.len());
    println!("events_evaluated={evaluated} detections={detections} threads={threads} mode={mode}");
    println!(
        "eval_s={eval_s:.3} events_per_s={eps:.0} events_per_s_per_core={:.0}",
        eps / threads as f64
    );
    println!(
        "plan_s={plan_s:.3} (batch plans: key resolution, key presence, prescan of string keys' distinct values; part of eval_s)"
    );
    println!("peak_rss_mib={:.1}", peak_rss_kib() as f64 / 1024.0);
}
