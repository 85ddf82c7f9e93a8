//! From ground truth, packs and events to the three `criteria/` documents. No bundle here: the
//! stage ([`crate::run`]) feeds the normalized store, tests feed hand-built events.

use crate::ValidateError;
use crate::ground_truth::{CleanupSummary, Disposition, GroundTruthAction};
use pa_criteria::{Defaults, Entry, Evaluator, MAX_SAMPLE_EVENT_IDS, Pack, SignalResult, select};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The `contract_version` of `criteria/manifest.json`.
pub const CONTRACT_VERSION: &str = "0.1.0";
/// `reason_domain` of every result row.
pub const REASON_DOMAIN: &str = "criteria_result";
/// The fail code of an evaluated action whose signals did not all pass.
pub const MISSING_EXPECTED_SIGNAL: &str = "missing_expected_signal";
/// The skip code of an action no entry applies to.
pub const CRITERIA_UNAVAILABLE: &str = "criteria_unavailable";

/// Which entry an action was judged by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CriteriaRef {
    pub pack_id: String,
    pub pack_version: String,
    pub entry_id: String,
}

/// The window an action was evaluated over (inclusive, RFC 3339 UTC ms).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimeWindowOut {
    pub start_time_utc: String,
    pub end_time_utc: String,
    pub before_seconds: u64,
    pub after_seconds: u64,
}

/// A pointer to a bundle artifact (`selector`: `jsonl_line:<n>`, 1-based).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct EvidenceRef {
    pub artifact_path: String,
    pub selector: String,
}

/// One line of `criteria/results.jsonl`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResultRow {
    pub run_id: String,
    pub scenario_id: String,
    pub action_id: String,
    pub action_key: String,
    pub technique_id: String,
    /// `null` when no entry applies (`criteria_unavailable`).
    pub criteria_ref: Option<CriteriaRef>,
    /// `pass`, `fail`, `skipped`.
    pub status: &'static str,
    pub reason_domain: &'static str,
    /// `null` on pass; `missing_expected_signal` on fail; a skip code on skipped.
    pub reason_code: Option<&'static str>,
    /// One per expected signal (`signal_id` order); empty when skipped.
    pub signals: Vec<SignalResult>,
    /// `null` when skipped.
    pub time_window: Option<TimeWindowOut>,
    pub cleanup: CleanupSummary,
    /// This row, the entry used (when one applies) and the action's ground-truth line.
    pub evidence_refs: Vec<EvidenceRef>,
}

/// The documents of `criteria/`.
#[derive(Debug, Clone)]
pub struct Outputs {
    /// `criteria/manifest.json` (a value; staged as canonical JSON).
    pub manifest: Value,
    /// `criteria/criteria.jsonl` bytes.
    pub criteria_jsonl: String,
    /// `criteria/results.jsonl` bytes.
    pub results_jsonl: String,
    /// The rows of `results.jsonl`, in order.
    pub rows: Vec<ResultRow>,
    /// Events the reader went through.
    pub events_read: u64,
}

impl Outputs {
    /// How many rows have `status`.
    pub fn count(&self, status: &str) -> usize {
        self.rows.iter().filter(|r| r.status == status).count()
    }
}

struct Planned<'a, 'p> {
    gt: &'a GroundTruthAction,
    selected: Option<(&'p Pack, &'p Entry)>,
    outcome: Planned2,
}

enum Planned2 {
    Skip(&'static str),
    Evaluated(usize),
}

fn canon(e: pa_canon::CanonError) -> ValidateError {
    ValidateError::Canonical(e.to_string())
}

/// Evaluate every ground-truth action with the packs (`pack.file` as the manifest should name
/// it). `read_events` feeds the evaluator every event (it may skip those
/// [`Evaluator::wants`] declines) and returns how many it read.
pub fn evaluate<F>(
    actions: &[GroundTruthAction],
    packs: &[Pack],
    defaults: Defaults,
    read_events: F,
) -> Result<Outputs, ValidateError>
where
    F: for<'p> FnOnce(&mut Evaluator<'p>) -> Result<u64, ValidateError>,
{
    let mut sorted: Vec<&GroundTruthAction> = actions.iter().collect();
    sorted.sort_by(|a, b| {
        (a.scenario_id.as_bytes(), a.action_id.as_bytes())
            .cmp(&(b.scenario_id.as_bytes(), b.action_id.as_bytes()))
    });
    let mut ev = Evaluator::new(defaults);
    let mut planned = Vec::new();
    for gt in sorted {
        let selected = select(packs, &gt.context());
        let outcome = match (gt.disposition()?, selected) {
            (Disposition::Skip(code), _) => Planned2::Skip(code),
            (Disposition::Evaluate { .. }, None) => Planned2::Skip(CRITERIA_UNAVAILABLE),
            (Disposition::Evaluate { t0_ms }, Some((_, entry))) => {
                Planned2::Evaluated(ev.add(&gt.action_id, entry, t0_ms)?)
            }
        };
        planned.push(Planned {
            gt,
            selected,
            outcome,
        });
    }
    let events_read = read_events(&mut ev)?;
    let verdicts = ev.finish();

    // criteria.jsonl: every entry some action selected, by entry_id, then pack.
    let mut used: BTreeMap<(&[u8], &str, &str), (&Pack, &Entry)> = BTreeMap::new();
    for p in &planned {
        if let Some((pack, e)) = p.selected {
            used.insert(
                (
                    e.entry_id.as_bytes(),
                    pack.pack_id.as_str(),
                    pack.pack_version.as_str(),
                ),
                (pack, e),
            );
        }
    }
    let mut criteria_jsonl = String::new();
    let mut entry_line: BTreeMap<(&str, &str, &str), usize> = BTreeMap::new();
    for (i, (pack, e)) in used.values().enumerate() {
        let mut v = pa_canon::to_value(e).map_err(canon)?;
        v["pack_id"] = json!(pack.pack_id);
        v["pack_version"] = json!(pack.pack_version);
        criteria_jsonl.push_str(&pa_canon::to_jsonl_line(&v).map_err(canon)?);
        entry_line.insert((&pack.pack_id, &pack.pack_version, &e.entry_id), i + 1);
    }

    let mut rows = Vec::new();
    for (i, p) in planned.iter().enumerate() {
        let gt = p.gt;
        let criteria_ref = p.selected.map(|(pack, e)| CriteriaRef {
            pack_id: pack.pack_id.clone(),
            pack_version: pack.pack_version.clone(),
            entry_id: e.entry_id.clone(),
        });
        let mut evidence_refs = vec![
            EvidenceRef {
                artifact_path: "criteria/results.jsonl".into(),
                selector: format!("jsonl_line:{}", i + 1),
            },
            EvidenceRef {
                artifact_path: "ground_truth.jsonl".into(),
                selector: format!("jsonl_line:{}", gt.line),
            },
        ];
        if let Some((pack, e)) = p.selected {
            let line = entry_line[&(
                pack.pack_id.as_str(),
                pack.pack_version.as_str(),
                e.entry_id.as_str(),
            )];
            evidence_refs.push(EvidenceRef {
                artifact_path: "criteria/criteria.jsonl".into(),
                selector: format!("jsonl_line:{line}"),
            });
        }
        evidence_refs.sort();
        let (status, reason_code, signals, time_window) = match p.outcome {
            Planned2::Skip(code) => ("skipped", Some(code), Vec::new(), None),
            Planned2::Evaluated(idx) => {
                let v = &verdicts[idx];
                let w = TimeWindowOut {
                    start_time_utc: pa_canon::format_utc_millis(v.window.start_ms),
                    end_time_utc: pa_canon::format_utc_millis(v.window.end_ms),
                    before_seconds: v.window.before_seconds,
                    after_seconds: v.window.after_seconds,
                };
                if v.pass {
                    ("pass", None, v.signals.clone(), Some(w))
                } else {
                    (
                        "fail",
                        Some(MISSING_EXPECTED_SIGNAL),
                        v.signals.clone(),
                        Some(w),
                    )
                }
            }
        };
        rows.push(ResultRow {
            run_id: gt.run_id.clone(),
            scenario_id: gt.scenario_id.clone(),
            action_id: gt.action_id.clone(),
            action_key: gt.action_key.clone(),
            technique_id: gt.technique_id.clone(),
            criteria_ref,
            status,
            reason_domain: REASON_DOMAIN,
            reason_code,
            signals,
            time_window,
            cleanup: gt.cleanup(),
            evidence_refs,
        });
    }
    let mut results_jsonl = String::new();
    for r in &rows {
        results_jsonl.push_str(&pa_canon::to_jsonl_line(r).map_err(canon)?);
    }
    let count = |s: &str| rows.iter().filter(|r| r.status == s).count();
    let manifest = json!({
        "contract_version": CONTRACT_VERSION,
        "packs": packs.iter().map(|p| {
            let mut v = json!({
                "pack_id": p.pack_id,
                "pack_version": p.pack_version,
                "file": p.file.to_string_lossy(),
                "sha256": p.sha256,
                "entry_count": p.entries.len(),
            });
            if let Some(d) = &p.description {
                v["description"] = json!(d);
            }
            v
        }).collect::<Vec<_>>(),
        "evaluation": {
            "default_before_seconds": defaults.before_seconds,
            "default_after_seconds": defaults.after_seconds,
            "max_sample_event_ids": MAX_SAMPLE_EVENT_IDS,
        },
        "criteria_sha256": pa_canon::sha256_prefixed(criteria_jsonl.as_bytes()),
        "entries_selected": used.len(),
        "counts": {
            "actions": rows.len(),
            "pass": count("pass"),
            "fail": count("fail"),
            "skipped": count("skipped"),
        },
    });
    Ok(Outputs {
        manifest,
        criteria_jsonl,
        results_jsonl,
        rows,
        events_read,
    })
}
