//! The three ways of matching a row of the normalized store give the same detections: key hints
//! (`BatchView::row_hinted`), no hints (every engine key looked up), and the batch plan
//! (`Detector::plan` + `Detector::detect_row`). Real data: SigmaHQ `rules/windows` over OCSF
//! events normalized from a spread of EVTX-ATTACK-SAMPLES files, written to a store and read back.

use crate::common;

use pa_detection::columnar::{BatchView, RowEvent};
use pa_detection::detector::{Detector, FieldMode};
use pa_sigma::{Event, FieldValue};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A row with its key hints hidden.
struct NoHints<'a>(RowEvent<'a>);

impl Event for NoHints<'_> {
    fn values<'b>(&'b self, key: &str, out: &mut Vec<FieldValue<'b>>) {
        self.0.values(key, out);
    }
    fn for_each_string(&self, f: &mut dyn FnMut(&str)) {
        self.0.for_each_string(f);
    }
}

fn evtx_files(d: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(d).expect("evtx dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            evtx_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "evtx") {
            out.push(p);
        }
    }
}

/// A normalized store of every 8th EVTX-ATTACK-SAMPLES file (all tactics directories, a few
/// hundred events) in `tmp`; its directory and the number of events written.
fn sample_store(tmp: &Path) -> (PathBuf, usize) {
    let normalizer =
        pa_ocsf::Normalizer::load(&common::root().join("mappings/normalizer/ocsf/1.7.0"))
            .expect("profiles");
    let mut files = Vec::new();
    evtx_files(&common::data("evtx/EVTX-ATTACK-SAMPLES"), &mut files);
    files.sort();
    assert!(files.len() > 50, "expected the EVTX-ATTACK-SAMPLES files");
    let store = tmp.join("ocsf_events");
    let mut w = pa_store::events::EventWriter::new(&store, tmp, 64 << 20).expect("writer");
    let mut pushed = 0;
    for f in files.iter().step_by(8) {
        let Ok(reader) = pa_sources::open(f, pa_sources::SourceFormat::Evtx) else {
            continue;
        };
        for rec in reader.flatten() {
            let ctx = pa_ocsf::EventContext {
                run_id: "t",
                scenario_id: "t",
                raw_ref: None,
                normalizer_version: "t",
                collector_version: None,
                host: None,
            };
            if let pa_ocsf::Normalized::Mapped(e) = normalizer.normalize(&rec, &ctx) {
                if w.push(&e).is_ok() {
                    pushed += 1;
                }
            }
        }
    }
    assert!(pushed > 200, "only {pushed} events normalized");
    let s = w.finish().expect("finish");
    std::fs::write(
        store.join("_schema.json"),
        serde_json::to_vec(&s.schema_document).expect("schema"),
    )
    .expect("write schema");
    (store, pushed)
}

#[test]
fn hints_plan_and_plain_lookups_detect_the_same() {
    let set = pa_detection::load_rules(&[common::data("sigma/rules/windows")]).expect("rules");
    let bridge =
        pa_detection::load_bridge(Some(&common::root().join("mappings/bridge"))).expect("bridge");
    let det =
        Detector::build(&set, Some(&bridge), FieldMode::Ocsf, &Default::default()).expect("build");
    let tmp = tempfile::tempdir().expect("tmp");
    let (store, pushed) = sample_store(tmp.path());
    let mut reader = pa_store::events::EventReader::open(&store).expect("reader");
    let (mut rows, mut hits) = (0usize, 0usize);
    let mut per_rule: BTreeMap<String, usize> = BTreeMap::new();
    while let Some((batch, info)) = reader.next_batch().expect("batch") {
        let view = BatchView::new(&batch, &info);
        let plan = det.plan(&view);
        assert_eq!(plan.len(), view.len());
        for r in 0..view.len() {
            let class = view.int("class_uid", r).and_then(|c| u64::try_from(c).ok());
            let plain = det.detect_event(class, &NoHints(view.row(r)));
            let hinted = det.detect_event(class, &view.row_hinted(r));
            assert!(
                !view.row(r).for_each_key_hint(&mut |_| {}),
                "row {r}: row() hints"
            );
            assert!(
                view.row_hinted(r).for_each_key_hint(&mut |_| {}),
                "row {r}: no hints"
            );
            let planned = det.detect_row(&plan, r);
            let uid = view.str("metadata.uid", r).unwrap_or_default();
            assert_eq!(
                hinted, plain,
                "row {r} ({uid}): hints changed the detections"
            );
            assert_eq!(
                planned, plain,
                "row {r} ({uid}): the plan changed the detections"
            );
            for &i in &plain {
                *per_rule.entry(det.rules[i].rule_id.clone()).or_default() += 1;
            }
            hits += plain.len();
            rows += 1;
        }
    }
    eprintln!(
        "{rows} rows, {hits} detections, {} rules fired",
        per_rule.len()
    );
    assert!(rows >= pushed / 2, "{rows} rows read back of {pushed}");
    // The comparison is only meaningful if rules fire: many, and many different ones.
    assert!(hits > 50, "only {hits} detections over {rows} rows");
    assert!(per_rule.len() > 20, "only {} rules fired", per_rule.len());
}

/// Keyword searches through the plan (each string column searched once per batch for the
/// needles, exact scans only on candidate cells) give the answers of the row-by-row scan of
/// every string: for needles in every case, with backslashes and quotes (JSON-text columns
/// are searched JSON-escaped), wildcards, a negated keyword search, and with a rule that makes
/// the class search every string (`*`), which turns the column search off for its classes.
#[test]
fn keyword_searches_through_the_plan_equal_the_row_by_row_scan() {
    use pa_sigma::KeywordLiterals;
    let tmp = tempfile::tempdir().expect("tmp");
    let (store, _) = sample_store(tmp.path());
    let bridge =
        pa_detection::load_bridge(Some(&common::root().join("mappings/bridge"))).expect("bridge");
    let rule = |id: &str, detection: &str| {
        format!(
            "title: kw {id}\nid: 00000000-0000-4000-8000-0000000000{id}\nstatus: test\nlevel: low\n\
             logsource:\n  product: windows\ndetection:\n{detection}"
        )
    };
    let mut rules = vec![
        rule(
            "01",
            "  keywords:\n    - svchost\n    - SYSTEM32\n    - PowerShell\n  condition: keywords",
        ),
        rule(
            "02",
            "  keywords:\n    - '\\Windows\\System32\\'\n    - '\"C:\\'\n  condition: keywords",
        ),
        rule(
            "03",
            "  keywords:\n    - '*lsass*.exe'\n    - 'C:\\*\\cmd.exe'\n    - 'sha?256'\n  condition: keywords",
        ),
        rule(
            "04",
            "  keywords:\n    - zzzz-never-there\n  condition: not keywords",
        ),
        rule(
            "05",
            "  keywords:\n    - 'S-1-5-18'\n    - md5\n    - '{'\n  condition: keywords",
        ),
    ];
    for every in [false, true] {
        if every {
            rules.push(rule("06", "  keywords:\n    - '*'\n  condition: keywords"));
        }
        let dir = tmp.path().join(format!("rules-{every}"));
        std::fs::create_dir_all(&dir).expect("dir");
        for (i, r) in rules.iter().enumerate() {
            std::fs::write(dir.join(format!("r{i}.yml")), r).expect("rule");
        }
        let set = pa_detection::load_rules(&[dir]).expect("rules");
        assert!(set.issues.is_empty(), "{:?}", set.issues);
        let det = Detector::build(&set, Some(&bridge), FieldMode::Ocsf, &Default::default())
            .expect("build");
        assert_eq!(
            det.executable_count(),
            rules.len(),
            "every keyword rule routes"
        );
        let planned_classes = det
            .class_engines()
            .expect("engines")
            .iter()
            .filter(|(_, e, _)| matches!(e.keyword_literals(), KeywordLiterals::Needles(_)))
            .count();
        assert_eq!(
            planned_classes > 0,
            !every,
            "column searches in use: {planned_classes}"
        );
        let mut reader = pa_store::events::EventReader::open(&store).expect("reader");
        let mut per_rule: BTreeMap<String, usize> = BTreeMap::new();
        let mut rows = 0;
        while let Some((batch, info)) = reader.next_batch().expect("batch") {
            let view = BatchView::new(&batch, &info);
            let plan = det.plan(&view);
            for r in 0..view.len() {
                let class = view.int("class_uid", r).and_then(|c| u64::try_from(c).ok());
                let plain = det.detect_event(class, &NoHints(view.row(r)));
                let uid = view.str("metadata.uid", r).unwrap_or_default();
                assert_eq!(
                    det.detect_row(&plan, r),
                    plain,
                    "row {r} ({uid}), every={every}"
                );
                for &i in &plain {
                    *per_rule.entry(det.rules[i].rule_id.clone()).or_default() += 1;
                }
                rows += 1;
            }
        }
        eprintln!("every={every}: {rows} rows, hits per rule {per_rule:?}");
        // Each rule fires, and no rule fires on every row (the searches discriminate).
        for id in ["01", "02", "03", "04", "05"] {
            let n = per_rule
                .iter()
                .find(|(k, _)| k.ends_with(&format!("0000000000{id}")))
                .map_or(0, |(_, n)| *n);
            assert!(n > 0, "rule {id} never fired");
            assert!(id == "04" || n < rows, "rule {id} fired on every row");
        }
    }
}
