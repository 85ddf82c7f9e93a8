//! Every EVTX file of EVTX-ATTACK-SAMPLES reads without a panic; every record is yielded or
//! counted as dropped with a reason. Prints per-channel counts, drop reasons and records/s.

use crate::common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use pa_sources::{Counters, SourceFormat};

/// Records announced by the chunk headers (first..=last record id of each `ElfChnk`),
/// computed independently of the `evtx` crate.
fn announced_records(path: &Path) -> u64 {
    let b = std::fs::read(path).unwrap();
    let mut n = 0;
    let mut off = 4096;
    while off + 40 <= b.len() {
        if &b[off..off + 8] == b"ElfChnk\0" {
            let first = u64::from_le_bytes(b[off + 24..off + 32].try_into().unwrap());
            let last = u64::from_le_bytes(b[off + 32..off + 40].try_into().unwrap());
            if last >= first {
                n += last - first + 1;
            }
        }
        off += 65536;
    }
    n
}

#[test]
fn evtx_attack_samples_all_records_accounted() {
    let root = common::data("evtx/EVTX-ATTACK-SAMPLES");
    let mut files = Vec::new();
    common::files_with_ext(&root, "evtx", &mut files);
    assert!(
        files.len() >= 250,
        "expected the ~277 EVTX files, found {}",
        files.len()
    );

    let mut per_channel: BTreeMap<String, u64> = BTreeMap::new();
    let mut per_source_type: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut total = Counters::default();
    let mut open_failures = Vec::new();
    let mut bytes = 0u64;
    let mut all_raw: Vec<String> = Vec::new();
    let started = Instant::now();
    for f in &files {
        bytes += std::fs::metadata(f).unwrap().len();
        assert_eq!(
            pa_sources::sniff(f).unwrap(),
            SourceFormat::Evtx,
            "{}",
            f.display()
        );
        let mut reader = match pa_sources::open(f, SourceFormat::Evtx) {
            Ok(r) => r,
            Err(e) => {
                assert!(
                    e.to_string().contains(&f.display().to_string()),
                    "error names the file: {e}"
                );
                open_failures.push(e.to_string());
                continue;
            }
        };
        let mut ordinals = Vec::new();
        let mut raws = Vec::new();
        for item in reader.by_ref() {
            let rec = item.unwrap_or_else(|e| panic!("file-level error mid-read: {e}"));
            assert_eq!(rec.provenance.file, f.display().to_string());
            assert!(rec.provenance.record_id.is_some());
            assert!(rec.raw.starts_with("<?xml") || rec.raw.trim_start().starts_with("<Event"));
            let ch = rec.fields["System"]["Channel"].as_str().unwrap().to_owned();
            assert_eq!(
                pa_sources::SourceType::from_windows_channel(&ch),
                rec.source_type
            );
            assert!(
                rec.time_ms.is_some(),
                "{}: record without time",
                f.display()
            );
            *per_channel.entry(ch).or_default() += 1;
            *per_source_type.entry(rec.source_type.as_str()).or_default() += 1;
            ordinals.push(rec.provenance.ordinal);
            raws.push(rec.raw);
        }
        all_raw.extend(raws);
        let c = reader.counters();
        assert_eq!(c.read, c.kept + c.dropped_total(), "{}: {c:?}", f.display());
        assert_eq!(
            c.read,
            announced_records(f),
            "{}: every announced record is accounted for",
            f.display()
        );
        assert_eq!(c.kept as usize, ordinals.len());
        assert!(
            ordinals.windows(2).all(|w| w[0] < w[1]),
            "ordinals increase"
        );
        total.merge(c);
    }
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "EVTX-ATTACK-SAMPLES: {} files, {:.1} MB, {:.2} s",
        files.len(),
        bytes as f64 / 1e6,
        secs
    );
    eprintln!(
        "records read {} kept {} dropped {}",
        total.read,
        total.kept,
        total.dropped_total()
    );
    eprintln!(
        "records/s (this build profile): {:.0}",
        total.read as f64 / secs
    );
    // The XML parser alone, over the canonical XML of every kept record (re-parse is stable).
    let xml_bytes: usize = all_raw.iter().map(String::len).sum();
    let t = Instant::now();
    for raw in &all_raw {
        let p = pa_sources::winxml::parse(raw.as_bytes()).unwrap();
        assert_eq!(&p.canonical, raw);
    }
    let xs = t.elapsed().as_secs_f64();
    eprintln!(
        "pa.win_event_xml.v1 alone: {} events, {:.1} MB in {xs:.2} s ({:.0} MB/s, {:.0} events/s)",
        all_raw.len(),
        xml_bytes as f64 / 1e6,
        xml_bytes as f64 / 1e6 / xs,
        all_raw.len() as f64 / xs
    );
    eprintln!("per channel:");
    for (ch, n) in &per_channel {
        eprintln!("  {n:>7}  {ch}");
    }
    eprintln!("per source type: {per_source_type:?}");
    eprintln!("drop reasons: {:?}", total.dropped);
    for (reason, detail) in &total.first_drop_detail {
        eprintln!("  first {reason}: {detail}");
    }
    eprintln!("open failures: {open_failures:?}");
    assert!(total.read >= 8_000, "too few records: {}", total.read);
    assert!(per_channel.contains_key("Microsoft-Windows-Sysmon/Operational"));
    assert!(per_channel.contains_key("Security"));
    // Rejections by the XML parser would mean the renderer and the parser disagree.
    let xml_drops: u64 = total
        .dropped
        .iter()
        .filter(|(k, _)| k.starts_with("xml_") || k.as_str() == "rendering_info_present")
        .map(|(_, v)| v)
        .sum();
    // The only rejections allowed are records the spec refuses: ETW-session events with an empty
    // <Channel> (xml_missing_required_field), under 10% of the corpus.
    let known = [
        "xml_missing_required_field",
        "evtx_record_error",
        "evtx_chunk_error",
        "evtx_incomplete_chunk",
    ];
    assert!(
        total.dropped.keys().all(|k| known.contains(&k.as_str())),
        "{:?}",
        total.dropped
    );
    assert!(
        xml_drops * 10 <= total.read,
        "too many XML rejections: {:?}",
        total.dropped
    );
}
