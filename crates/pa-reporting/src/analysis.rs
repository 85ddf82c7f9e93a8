//! The judged run as every output shows it: actions (scoring rows joined with their ground-truth
//! lifecycle, in time order), techniques with one outcome each, and the gaps. Computed once;
//! the JSON, Markdown, XML and HTML writers only format it.

use crate::attack;
use crate::inputs::Inputs;
use crate::model::{ActionRow, Gap, GroundTruthRow, gap_ordinal};
use std::collections::{BTreeMap, BTreeSet};

/// The lifecycle phases in order.
pub const PHASES: [&str; 4] = ["prepare", "execute", "revert", "teardown"];

/// What happened to an action or a technique, for colours and scores.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    /// At least one attributed detection.
    Detected,
    /// Telemetry arrived but nothing fired; the gap category that lost it (`None`: scoring named
    /// no gap).
    SeenNotDetected(Option<String>),
    /// Executed, but the telemetry it should have produced is missing.
    NotSeen,
    /// Not executed.
    NotExecuted,
}

impl Outcome {
    /// A stable key: `detected`, `not_executed`, `missing_telemetry` or the gap category of a
    /// seen-not-detected outcome (`undetected` when scoring named none).
    pub fn key(&self) -> &str {
        match self {
            Outcome::Detected => "detected",
            Outcome::SeenNotDetected(Some(c)) => c,
            Outcome::SeenNotDetected(None) => "undetected",
            Outcome::NotSeen => "missing_telemetry",
            Outcome::NotExecuted => "not_executed",
        }
    }

    /// The broad class: `detected`, `seen_not_detected`, `not_seen`, `not_executed`.
    pub fn class(&self) -> &'static str {
        match self {
            Outcome::Detected => "detected",
            Outcome::SeenNotDetected(_) => "seen_not_detected",
            Outcome::NotSeen => "not_seen",
            Outcome::NotExecuted => "not_executed",
        }
    }

    /// The ATT&CK Navigator score: 100 detected, 50 seen but not detected, 0 not seen.
    pub fn score(&self) -> Option<u32> {
        match self {
            Outcome::Detected => Some(100),
            Outcome::SeenNotDetected(_) => Some(50),
            Outcome::NotSeen => Some(0),
            Outcome::NotExecuted => None,
        }
    }
}

/// One lifecycle phase as shown.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PhaseView {
    pub outcome: String,
    pub reason_code: Option<String>,
    pub exit_code: Option<i64>,
    pub duration_ms: Option<u64>,
}

/// One action: scoring's row (when scoring has one) and its ground truth (when recorded).
#[derive(Debug, Clone)]
pub struct ActionView {
    /// 1-based position in time order.
    pub order: usize,
    pub action_id: String,
    pub action_key: String,
    pub technique_id: String,
    pub engine_test_id: String,
    pub test_name: Option<String>,
    pub target_asset_id: String,
    pub start_utc: Option<String>,
    pub end_utc: Option<String>,
    pub duration_ms: Option<u64>,
    /// prepare, execute, revert, teardown.
    pub phases: [Option<PhaseView>; 4],
    /// Bundle-relative evidence paths the lifecycle names (executor, stdout, stderr...).
    pub evidence: Vec<String>,
    /// Index of the row in `scoring/summary.json`'s `actions` (for JSON pointers).
    pub summary_index: Option<usize>,
    pub row: Option<ActionRow>,
    pub outcome: Outcome,
}

impl ActionView {
    /// The gap scoring named for this action.
    pub fn gap(&self) -> Option<&Gap> {
        self.row.as_ref().and_then(|r| r.gap.as_ref())
    }
    /// Whether the action was executed.
    pub fn executed(&self) -> bool {
        self.row.as_ref().is_some_and(|r| r.executed)
    }
    /// The display name of the test: `<action_id>: <test name> (<engine_test_id>)`.
    pub fn test_label(&self) -> String {
        match &self.test_name {
            Some(n) => format!("{}: {n} ({})", self.action_id, self.engine_test_id),
            None => format!("{} ({})", self.action_id, self.engine_test_id),
        }
    }
}

/// One technique.
#[derive(Debug, Clone)]
pub struct TechniqueView {
    pub technique_id: String,
    pub name: String,
    pub tactics: Vec<&'static str>,
    pub actions: u64,
    pub executed: u64,
    pub detected: u64,
    pub fastest_latency_seconds: Option<f64>,
    pub gap_categories: Vec<String>,
    pub rules_tagged: u64,
    pub rules_executable: u64,
    pub outcome: Outcome,
    /// Distinct rules attributed to the technique's actions (id → title), sorted by id.
    pub rules: BTreeMap<String, String>,
}

/// The judged run.
#[derive(Debug, Clone)]
pub struct Analysis {
    pub actions: Vec<ActionView>,
    pub techniques: Vec<TechniqueView>,
    /// Indexes into `actions` of every gap, in category order, then technique, then action id.
    pub gaps: Vec<usize>,
}

fn ms_between(a: &str, b: &str) -> Option<u64> {
    let a = pa_canon::parse_rfc3339_to_millis(a).ok()?;
    let b = pa_canon::parse_rfc3339_to_millis(b).ok()?;
    u64::try_from(b - a).ok()
}

fn phases_of(gt: &GroundTruthRow) -> ([Option<PhaseView>; 4], Vec<String>) {
    let mut out: [Option<PhaseView>; 4] = Default::default();
    let mut evidence = BTreeSet::new();
    for p in &gt.lifecycle.phases {
        let Some(i) = PHASES.iter().position(|x| *x == p.phase) else {
            continue;
        };
        let duration_ms = match (&p.started_at_utc, &p.ended_at_utc) {
            (Some(a), Some(b)) => ms_between(a, b),
            _ => None,
        };
        // The last attempt of a phase wins.
        out[i] = Some(PhaseView {
            outcome: p.phase_outcome.clone(),
            reason_code: p.reason_code.clone(),
            exit_code: p.exit_code,
            duration_ms,
        });
        evidence.extend(p.evidence.values().cloned());
    }
    (out, evidence.into_iter().collect())
}

fn action_outcome(row: Option<&ActionRow>) -> Outcome {
    match row {
        None => Outcome::NotExecuted,
        Some(r) if !r.executed => Outcome::NotExecuted,
        Some(r) if r.detected => Outcome::Detected,
        Some(r) => match r.gap.as_ref().map(|g| g.category.as_str()) {
            Some("missing_telemetry") => Outcome::NotSeen,
            c => Outcome::SeenNotDetected(c.map(str::to_string)),
        },
    }
}

fn technique_outcome(actions: &[&ActionView]) -> Outcome {
    if actions.iter().any(|a| a.outcome == Outcome::Detected) {
        return Outcome::Detected;
    }
    let seen: Vec<&Outcome> = actions
        .iter()
        .map(|a| &a.outcome)
        .filter(|o| matches!(o, Outcome::SeenNotDetected(_)))
        .collect();
    if let Some(first) = seen.iter().min_by_key(|o| match o {
        Outcome::SeenNotDetected(Some(c)) => gap_ordinal(c),
        _ => usize::MAX,
    }) {
        return (*first).clone();
    }
    if actions.iter().any(|a| a.outcome == Outcome::NotSeen) {
        return Outcome::NotSeen;
    }
    Outcome::NotExecuted
}

/// Judge the run from its inputs.
pub fn analyze(inputs: &Inputs) -> Analysis {
    let summary = &inputs.summary;
    let gt: BTreeMap<&str, &GroundTruthRow> = inputs
        .ground_truth
        .iter()
        .map(|g| (g.action_id.as_str(), g))
        .collect();
    let rows: BTreeMap<&str, (usize, &ActionRow)> = summary
        .actions
        .iter()
        .enumerate()
        .map(|(i, r)| (r.action_id.as_str(), (i, r)))
        .collect();
    let ids: BTreeSet<&str> = gt.keys().chain(rows.keys()).copied().collect();
    let mut actions: Vec<ActionView> = ids
        .into_iter()
        .map(|id| {
            let g = gt.get(id).copied();
            let r = rows.get(id).copied();
            let (phases, evidence) = g.map(phases_of).unwrap_or_default();
            let start_utc = g
                .and_then(|g| g.timestamp_utc.clone())
                .or_else(|| r.and_then(|(_, r)| r.started_at_utc.clone()));
            let end_utc = g
                .and_then(|g| {
                    g.lifecycle
                        .phases
                        .iter()
                        .filter_map(|p| p.ended_at_utc.clone())
                        .max()
                })
                .or_else(|| r.and_then(|(_, r)| r.ended_at_utc.clone()));
            let duration_ms = match (&start_utc, &end_utc) {
                (Some(a), Some(b)) => ms_between(a, b),
                _ => None,
            };
            let outcome = action_outcome(r.map(|(_, r)| r));
            ActionView {
                order: 0,
                action_id: id.to_string(),
                action_key: r
                    .map(|(_, r)| r.action_key.clone())
                    .or_else(|| g.map(|g| g.action_key.clone()))
                    .unwrap_or_default(),
                technique_id: r
                    .map(|(_, r)| r.technique_id.clone())
                    .or_else(|| g.map(|g| g.technique_id.clone()))
                    .unwrap_or_default(),
                engine_test_id: r
                    .map(|(_, r)| r.engine_test_id.clone())
                    .or_else(|| g.and_then(|g| g.engine_test_id.clone()))
                    .unwrap_or_default(),
                test_name: g.and_then(|g| g.extensions.atomic.as_ref()?.test_name.clone()),
                target_asset_id: r
                    .map(|(_, r)| r.target_asset_id.clone())
                    .or_else(|| g.map(|g| g.target_asset_id.clone()))
                    .unwrap_or_default(),
                start_utc,
                end_utc,
                duration_ms,
                phases,
                evidence,
                summary_index: r.map(|(i, _)| i),
                row: r.map(|(_, r)| r.clone()),
                outcome,
            }
        })
        .collect();
    // Time order; actions that never started last; ties by id.
    actions.sort_by(|a, b| {
        (a.start_utc.is_none(), &a.start_utc, &a.action_id).cmp(&(
            b.start_utc.is_none(),
            &b.start_utc,
            &b.action_id,
        ))
    });
    for (i, a) in actions.iter_mut().enumerate() {
        a.order = i + 1;
    }

    let mut by_tech: BTreeMap<&str, Vec<&ActionView>> = BTreeMap::new();
    for a in &actions {
        by_tech.entry(a.technique_id.as_str()).or_default().push(a);
    }
    let rows_by_tech: BTreeMap<&str, &crate::model::TechniqueRow> = summary
        .techniques
        .iter()
        .map(|t| (t.technique_id.as_str(), t))
        .collect();
    let tech_ids: BTreeSet<&str> = by_tech.keys().chain(rows_by_tech.keys()).copied().collect();
    let techniques = tech_ids
        .into_iter()
        .map(|t| {
            let acts = by_tech.get(t).cloned().unwrap_or_default();
            let info = attack::technique(t);
            let row = rows_by_tech.get(t);
            let mut rules = BTreeMap::new();
            for a in &acts {
                for m in a.row.iter().flat_map(|r| &r.rules_matched) {
                    rules.insert(m.rule_id.clone(), m.rule_title.clone());
                }
            }
            let count = |f: fn(&ActionView) -> bool| acts.iter().filter(|a| f(a)).count() as u64;
            TechniqueView {
                technique_id: t.to_string(),
                name: info.name,
                tactics: info.tactics,
                actions: row.map_or(acts.len() as u64, |r| r.actions),
                executed: row.map_or_else(|| count(ActionView::executed), |r| r.executed),
                detected: row
                    .map_or_else(|| count(|a| a.outcome == Outcome::Detected), |r| r.detected),
                fastest_latency_seconds: row.and_then(|r| r.fastest_latency_seconds),
                gap_categories: row.map(|r| r.gap_categories.clone()).unwrap_or_default(),
                rules_tagged: row.map_or(0, |r| r.rules_tagged),
                rules_executable: row.map_or(0, |r| r.rules_executable),
                outcome: technique_outcome(&acts),
                rules,
            }
        })
        .collect();

    let mut gaps: Vec<usize> = (0..actions.len())
        .filter(|i| actions[*i].gap().is_some())
        .collect();
    gaps.sort_by(|a, b| {
        let (a, b) = (&actions[*a], &actions[*b]);
        let ka = (
            gap_ordinal(&a.gap().map(|g| g.category.clone()).unwrap_or_default()),
            &a.technique_id,
            &a.action_id,
        );
        let kb = (
            gap_ordinal(&b.gap().map(|g| g.category.clone()).unwrap_or_default()),
            &b.technique_id,
            &b.action_id,
        );
        ka.cmp(&kb)
    });
    Analysis {
        actions,
        techniques,
        gaps,
    }
}
