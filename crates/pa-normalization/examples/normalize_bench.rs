//! `cargo xtask bench normalize` runs this (release build) over EVTX-ATTACK-SAMPLES:
//!
//! * `parse`: EVTX → `SourceRecord`s (the `pa-sources` reader), records/s;
//! * `normalize`: `SourceRecord` → OCSF event (the mapping-profile interpreter alone), over the
//!   corpus records replicated until `--events` (each copy gets its own record id, so its own
//!   identity), events/s;
//! * `pipeline`: the two stages' data path in-process: records → raw Parquet rows → read back →
//!   normalize → the sorted, deduplicated OCSF Parquet store, over `--events` events; events/s
//!   and peak RSS (run it at two sizes to see that memory is flat in input size).
//!
//! Usage: normalize_bench [--events N] [--phase parse|normalize|pipeline|all]

use pa_sources::SourceRecord;
use std::path::{Path, PathBuf};
use std::time::Instant;

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
        })
        .unwrap_or(0.0)
        / 1024.0
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

/// Copy `k` of a record: same content, its own record id (so its own event identity).
fn replica(rec: &SourceRecord, k: u64) -> SourceRecord {
    let mut r = rec.clone();
    if k > 0 {
        if let Some(id) = r.fields.pointer_mut("/System/EventRecordID") {
            let base: u64 = id.as_str().and_then(|s| s.parse().ok()).unwrap_or(0);
            *id = serde_json::Value::String((base + k * 100_000_000).to_string());
        }
        r.provenance.record_id = r.provenance.record_id.map(|x| x + k * 100_000_000);
    }
    r
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let data = root.join("../shared/data");
    let mut n_events: u64 = 1_000_000;
    let mut phase = "all".to_string();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        match (args[i].as_str(), args.get(i + 1)) {
            ("--events", Some(v)) => n_events = v.parse().expect("--events N"),
            ("--phase", Some(v)) => phase = v.clone(),
            _ => {
                panic!("usage: normalize_bench [--events N] [--phase parse|normalize|pipeline|all]")
            }
        }
        i += 2;
    }
    let mut files = Vec::new();
    walk(&data.join("evtx/EVTX-ATTACK-SAMPLES"), &mut files);
    files.sort();
    let bytes: u64 = files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();

    // parse
    let t0 = Instant::now();
    let mut records = Vec::new();
    for f in &files {
        let Ok(reader) = pa_sources::open(f, pa_sources::SourceFormat::Evtx) else {
            continue;
        };
        records.extend(reader.flatten());
    }
    let parse_s = t0.elapsed().as_secs_f64();
    println!(
        "files={} evtx_bytes={bytes} records={}",
        files.len(),
        records.len()
    );
    println!(
        "parse_s={parse_s:.3} parse_records_per_s={:.0} parse_mib_per_s={:.1}",
        records.len() as f64 / parse_s,
        bytes as f64 / 1048576.0 / parse_s
    );
    let normalizer =
        pa_ocsf::Normalizer::load(&root.join(pa_normalization::MAPPINGS_REL)).expect("profiles");
    let ctx = pa_ocsf::EventContext {
        run_id: "00000000-0000-4000-8000-000000000000",
        scenario_id: "bench",
        raw_ref: None,
        normalizer_version: pa_normalization::NORMALIZER_VERSION,
        collector_version: None,
        host: None,
    };

    if phase == "all" || phase == "normalize" {
        let t1 = Instant::now();
        let (mut done, mut mapped, mut k) = (0u64, 0u64, 0u64);
        'outer: loop {
            for rec in &records {
                let r = replica(rec, k);
                if let pa_ocsf::Normalized::Mapped(_) = normalizer.normalize(&r, &ctx) {
                    mapped += 1;
                }
                done += 1;
                if done >= n_events {
                    break 'outer;
                }
            }
            k += 1;
        }
        let s = t1.elapsed().as_secs_f64();
        println!(
            "normalize_records={done} mapped={mapped} normalize_s={s:.3} normalize_records_per_s_per_core={:.0}",
            done as f64 / s
        );
    }

    if phase == "all" || phase == "pipeline" {
        let tmp = tempfile::tempdir().expect("tmp");
        let raw_dir = tmp.path().join("raw_parquet/bench");
        let t2 = Instant::now();
        let mut w =
            pa_store::raw::RawWriter::new(&raw_dir, pa_ingest::ROWS_PER_PART).expect("raw writer");
        let (mut done, mut k) = (0u64, 0u64);
        'outer2: loop {
            for rec in &records {
                let r = replica(rec, k);
                let (row, _) =
                    pa_ingest::raw_row(&r, "host", "bench.evtx", pa_sources::SourceFormat::Evtx)
                        .expect("row");
                w.push(&row).expect("push");
                done += 1;
                if done >= n_events {
                    break 'outer2;
                }
            }
            k += 1;
        }
        w.finish().expect("raw finish");
        let raw_s = t2.elapsed().as_secs_f64();
        let t3 = Instant::now();
        let store = tmp.path().join("ocsf_events");
        let mut ev = pa_store::events::EventWriter::new(
            &store,
            tmp.path(),
            pa_normalization::SORT_BUDGET_BYTES,
        )
        .expect("writer");
        let mut mapped = 0u64;
        for row in pa_store::raw::RawReader::open(&raw_dir).expect("raw reader") {
            let rec = pa_normalization::record_of_row(&row.expect("row")).expect("record");
            if let pa_ocsf::Normalized::Mapped(e) = normalizer.normalize(&rec, &ctx) {
                ev.push(&e).expect("push");
                mapped += 1;
            }
        }
        let summary = ev.finish(pa_normalization::ROWS_PER_PART).expect("finish");
        let norm_s = t3.elapsed().as_secs_f64();
        let total = raw_s + norm_s;
        println!(
            "pipeline_records={done} raw_write_s={raw_s:.3} raw_to_ocsf_s={norm_s:.3} events_stored={} parts={}",
            summary.rows,
            summary.parts.len()
        );
        println!(
            "pipeline_records_per_s={:.0} raw_to_ocsf_records_per_s={:.0} mapped={mapped}",
            done as f64 / total,
            done as f64 / norm_s
        );
    }
    println!("peak_rss_mib={:.1}", peak_rss_mib());
}
