//! Sigma correlation rules in the detection stage: their plans (executable when every rule
//! they rest on runs and their fields resolve) and [`Correlator`], which feeds the matches of
//! the referenced rules, in event order, to `pa_sigma`'s correlation engine and turns its
//! results into detection instances that list the events that formed them.

use crate::detector::{Detector, ExecRule, RulePlan, rule_id_of};
use crate::instance::{
    CorrelatedEvent, CorrelationDetails, DetectionInstance, GroupValue, InstanceExtensions,
    SigmaProvenance,
};
use pa_sigma::{
    CorrelationEngine, CorrelationHit, CorrelationLimits, CorrelationRule, CorrelationSet, Event,
    Member,
};
use std::collections::BTreeSet;

/// Reason code of a correlation rule that rests on a rule that cannot run.
pub const CORRELATION_RULE_NOT_EXECUTABLE: &str = "correlation_rule_not_executable";

fn describe(c: &CorrelationRule) -> String {
    let cond: Vec<String> = c
        .condition
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    let mut s = format!("{} over {}", c.correlation_type, c.rules.join(", "));
    if !c.condition_fields.is_empty() {
        s.push_str(&format!(" of {}", c.condition_fields.join(", ")));
    }
    if !cond.is_empty() {
        s.push_str(&format!(" {}", cond.join(" and ")));
    }
    if !c.group_by.is_empty() {
        s.push_str(&format!(" by {}", c.group_by.join(", ")));
    }
    if let Some(t) = &c.timespan {
        s.push_str(&format!(" within {t}"));
    }
    s
}

/// The plan of correlation `index` of the set: executable, or why not (a referenced rule that
/// cannot run, or a field with no path in any compilation of a referenced rule). `plans` are
/// the detection rules' plans (index = rule index) and the correlations' before this one.
pub fn correlation_plan(
    index: usize,
    c: &CorrelationRule,
    set: &CorrelationSet,
    plans: &[RulePlan],
    rules: &[ExecRule],
) -> RulePlan {
    let mut plan = RulePlan {
        rule_id: rule_id_of(c.id.as_deref(), c.name.as_deref(), &c.rule_sha256),
        title: c.title.clone(),
        rule_sha256: c.rule_sha256.clone(),
        file: c.file.display().to_string(),
        line: c.line,
        routed: true,
        route: None,
        field_resolution: Vec::new(),
        fallback_used: false,
        unmapped_fields: Vec::new(),
        non_executable: None,
        non_executable_item: None,
        exec_indices: Vec::new(),
        condition: describe(c),
        technique_ids: c.technique_ids.clone(),
        correlation: Some(index),
    };
    let Some(cc) = set.correlations.iter().find(|x| x.index == index) else {
        plan.non_executable = Some((
            "backend_compile_error".into(),
            "correlation rule was not checked against the set".into(),
        ));
        return plan;
    };
    for (pos, m) in cc.members.iter().enumerate() {
        let p = match *m {
            Member::Rule(r) => plans.get(r),
            Member::Correlation(j) => plans.iter().find(|p| p.correlation == Some(j)),
        };
        let Some(p) = p else { continue };
        if let Some((code, _)) = &p.non_executable {
            plan.non_executable = Some((
                CORRELATION_RULE_NOT_EXECUTABLE.into(),
                format!(
                    "{} correlation references `{}` ({}), which is not executable: {code}",
                    c.correlation_type, p.title, p.rule_id
                ),
            ));
            return plan;
        }
        let Member::Rule(r) = *m else { continue };
        let fields = &set.rule_fields[&r];
        let mf = &cc.member_fields[pos];
        for f in mf.group.iter().chain(&mf.value) {
            let at = fields.iter().position(|x| x == f).unwrap_or(usize::MAX);
            let resolves = p
                .exec_indices
                .iter()
                .any(|&e| rules[e].corr_keys.get(at).is_some_and(Option::is_some));
            if !resolves {
                plan.unmapped_fields.push(f.clone());
                plan.non_executable = Some((
                    "unmapped_field".into(),
                    format!(
                        "field {f} of the correlation has no event path for rule `{}` ({})",
                        p.title, p.rule_id
                    ),
                ));
                return plan;
            }
        }
    }
    plan
}

/// Correlation evaluation over one pass of events in order.
pub struct Correlator<'d> {
    det: &'d Detector,
    engine: CorrelationEngine<'d>,
    /// Per exec rule: whether correlations read its matches.
    wanted: Vec<bool>,
    /// Per exec rule: whether its own detections are not generated.
    silent: Vec<bool>,
    /// Correlation rules (set index) whose plan is executable.
    runnable: BTreeSet<usize>,
    /// Matches of referenced rules on events without a time.
    pub without_time: u64,
    /// Correlation rules (set index) that fired at least once.
    pub fired: BTreeSet<usize>,
}

impl<'d> Correlator<'d> {
    /// A fresh pass over `det`'s correlations (its `correlation_limits`).
    pub fn new(det: &'d Detector) -> Correlator<'d> {
        let set = &det.correlations;
        let runnable: BTreeSet<usize> = det
            .plans
            .iter()
            .filter(|p| p.non_executable.is_none())
            .filter_map(|p| p.correlation)
            .collect();
        let wanted = det
            .rules
            .iter()
            .map(|r| set.rule_fields.contains_key(&r.source))
            .collect();
        let silent = det
            .rules
            .iter()
            .map(|r| set.silent_rules.contains(&r.source))
            .collect();
        Correlator {
            runnable,
            engine: CorrelationEngine::new(set, det.correlation_limits),
            det,
            wanted,
            silent,
            without_time: 0,
            fired: BTreeSet::new(),
        }
    }

    /// Whether correlations read the matches of exec rule `rule`.
    pub fn wants(&self, rule: usize) -> bool {
        self.wanted.get(rule).copied().unwrap_or(false)
    }

    /// Whether the detections of exec rule `rule` itself are written.
    pub fn generates(&self, rule: usize) -> bool {
        !self.silent.get(rule).copied().unwrap_or(false)
    }

    /// Feed the match of exec rule `rule` on `ev`; the correlation detections it completes.
    pub fn feed(
        &mut self,
        rule: usize,
        ev: &crate::EventRef,
        event: &dyn Event,
        run_id: Option<&str>,
        scenario_id: Option<&str>,
    ) -> Vec<DetectionInstance> {
        if !self.wants(rule) {
            return Vec::new();
        }
        let Some(t) = ev.time_ms else {
            self.without_time += 1;
            return Vec::new();
        };
        let r = &self.det.rules[rule];
        let mut buf = Vec::new();
        let fields: Vec<Option<String>> = r
            .corr_keys
            .iter()
            .map(|k| {
                let k = k.as_deref()?;
                buf.clear();
                event.values(k, &mut buf);
                buf.iter().find_map(|v| v.text().map(|t| t.into_owned()))
            })
            .collect();
        let hits = self.engine.feed(r.source, t, &ev.id, &fields);
        let mut out = Vec::new();
        for h in &hits {
            // an intermediate correlation fires (coverage counts it) without a detection
            self.fired.insert(h.correlation);
            if h.emits && self.runs(h.correlation) {
                out.push(correlation_instance(self.det, h, run_id, scenario_id));
            }
        }
        out
    }

    fn runs(&self, correlation: usize) -> bool {
        self.runnable.contains(&correlation)
    }

    /// What state bounds left out, one line per correlation that lost anything (logged).
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (ci, st) in self.engine.stats() {
            if !st.truncated() && st.late_matches == 0 {
                continue;
            }
            let id = self
                .det
                .plans
                .iter()
                .find(|p| p.correlation == Some(ci))
                .map_or_else(String::new, |p| p.rule_id.clone());
            let l = self.det.correlation_limits;
            let w = format!(
                "correlation {id}: state bounds reached, results may be missing: {} group(s) evicted (max {} groups), {} match(es) dropped from full windows (max {} per group), {} late match(es) out of time order",
                st.groups_evicted,
                l.max_groups,
                st.window_matches_dropped,
                l.max_window,
                st.late_matches
            );
            tracing::warn!("{w}");
            out.push(w);
        }
        out
    }

    /// The engine's state size now.
    pub fn state_size(&self) -> pa_sigma::StateSize {
        self.engine.state_size()
    }
}

/// Default bounds, settable on the command line.
pub fn limits(max_groups: Option<usize>, max_window: Option<usize>) -> CorrelationLimits {
    let d = CorrelationLimits::default();
    CorrelationLimits {
        max_groups: max_groups.unwrap_or(d.max_groups),
        max_window: max_window.unwrap_or(d.max_window),
    }
}

fn number(x: f64) -> serde_json::Number {
    if x.fract() == 0.0 && x.abs() < 9e15 {
        serde_json::Number::from(x as i64)
    } else {
        serde_json::Number::from_f64((x * 1e4).round() / 1e4).unwrap_or_else(|| 0.into())
    }
}

/// The detection instance of a correlation result.
pub fn correlation_instance(
    det: &Detector,
    h: &CorrelationHit,
    run_id: Option<&str>,
    scenario_id: Option<&str>,
) -> DetectionInstance {
    let plan = det
        .plans
        .iter()
        .find(|p| p.correlation == Some(h.correlation));
    let rule_id = plan.map_or_else(String::new, |p| p.rule_id.clone());
    let mut ids: Vec<String> = Vec::new();
    let mut seen = BTreeSet::new();
    for e in &h.events {
        if seen.insert(e.event_id.as_str()) {
            ids.push(e.event_id.clone());
        }
    }
    let base_id = |r: usize| {
        det.plans
            .get(r)
            .map_or_else(String::new, |p| p.rule_id.clone())
    };
    let cc = det
        .correlations
        .correlations
        .iter()
        .find(|c| c.index == h.correlation);
    let ctype = cc.map_or("", |c| c.kind.as_str());
    let start = pa_canon::format_utc_millis(h.window_start_ms);
    let end = pa_canon::format_utc_millis(h.window_end_ms);
    DetectionInstance {
        rule_id,
        rule_title: plan.map_or_else(String::new, |p| p.title.clone()),
        rule_source: "sigma".to_owned(),
        rule_level: cc.and_then(|c| c.level.clone()),
        technique_ids: plan.map_or_else(Vec::new, |p| p.technique_ids.clone()),
        matched_event_ids: ids,
        first_seen_utc: Some(start.clone()),
        last_seen_utc: Some(end.clone()),
        run_id: run_id.map(str::to_owned),
        scenario_id: scenario_id.map(str::to_owned),
        correlation: Some(CorrelationDetails {
            correlation_type: ctype.to_owned(),
            group_by: h
                .group
                .iter()
                .map(|(field, value)| GroupValue {
                    field: field.clone(),
                    value: value.clone(),
                })
                .collect(),
            window_start_utc: start,
            window_end_utc: end,
            aggregate: number(h.value),
            events: h
                .events
                .iter()
                .map(|e| CorrelatedEvent {
                    event_id: e.event_id.clone(),
                    rule_id: base_id(e.rule),
                    time_utc: pa_canon::format_utc_millis(e.time_ms),
                })
                .collect(),
        }),
        extensions: InstanceExtensions {
            sigma: SigmaProvenance {
                rule_file: plan.map_or_else(String::new, |p| p.file.clone()),
                rule_line: plan.map_or(0, |p| p.line),
                rule_sha256: plan.map_or_else(String::new, |p| p.rule_sha256.clone()),
            },
            bridge: None,
        },
    }
}
