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

/// CPU time this thread has run, in seconds (`/proc/thread-self/schedstat`, first field, ns):
/// on a machine shared with other work, the per-core rate is records over this, not over the
/// wall clock. 0 where the file is not available.
fn thread_cpu_s() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .next()
                .and_then(|v| v.parse::<f64>().ok())
        })
        .unwrap_or(0.0)
        / 1e9
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

/// The replica ids of one record: copy `k` of a record has the same content and its own record
/// id (so its own event identity), `base + k * 100_000_000`.
struct BaseIds {
    /// `System.EventRecordID` as read (restored for copy 0).
    orig_field: Option<serde_json::Value>,
    /// `System.EventRecordID` parsed (0 when it is not a number); None when absent.
    field: Option<u64>,
    /// `provenance.record_id`.
    record_id: Option<u64>,
}

fn base_ids(rec: &SourceRecord) -> BaseIds {
    BaseIds {
        orig_field: rec.fields.pointer("/System/EventRecordID").cloned(),
        field: rec
            .fields
            .pointer("/System/EventRecordID")
            .map(|id| id.as_str().and_then(|s| s.parse().ok()).unwrap_or(0)),
        record_id: rec.provenance.record_id,
    }
}

/// Turn `rec` (any copy of the record whose original ids are `base`) into copy `k` in place: no clone of the record,
/// so the timed loop measures the normalizer and not the bench's copying.
fn make_replica(rec: &mut SourceRecord, base: &BaseIds, k: u64) {
    let slot = rec
        .fields
        .get_mut("System")
        .and_then(|s| s.get_mut("EventRecordID"));
    if let (Some(b), Some(id)) = (base.field, slot) {
        *id = match (&base.orig_field, k) {
            (Some(orig), 0) => orig.clone(),
            _ => serde_json::Value::String((b + k * 100_000_000).to_string()),
        };
    }
    rec.provenance.record_id = base.record_id.map(|x| x + k * 100_000_000);
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
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
    let bases: Vec<BaseIds> = records.iter().map(base_ids).collect();
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
        let c1 = thread_cpu_s();
        let (mut done, mut mapped, mut k) = (0u64, 0u64, 0u64);
        'outer: loop {
            for (rec, base) in records.iter_mut().zip(&bases) {
                make_replica(rec, base, k);
                if let pa_ocsf::Normalized::Mapped(_) = normalizer.normalize(rec, &ctx) {
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
        let cpu = thread_cpu_s() - c1;
        println!(
            "normalize_records={done} mapped={mapped} normalize_s={s:.3} normalize_records_per_s_per_core={:.0}",
            done as f64 / s
        );
        if cpu > 0.0 {
            println!(
                "normalize_cpu_s={cpu:.3} normalize_records_per_cpu_s={:.0}",
                done as f64 / cpu
            );
        }
    }

    if phase == "all" || phase == "pipeline" {
        let tmp = tempfile::tempdir().expect("tmp");
        let raw_dir = tmp.path().join("raw_parquet/bench");
        let t2 = Instant::now();
        let mut w =
            pa_store::raw::RawWriter::new(&raw_dir, pa_ingest::ROWS_PER_PART).expect("raw writer");
        let (mut done, mut k) = (0u64, 0u64);
        'outer2: loop {
            for (rec, base) in records.iter_mut().zip(&bases) {
                make_replica(rec, base, k);
                let (row, _) =
                    pa_ingest::raw_row(rec, "host", "bench.evtx", pa_sources::SourceFormat::Evtx)
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
        let summary = ev.finish().expect("finish");
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
