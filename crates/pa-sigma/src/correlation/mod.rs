//! Sigma correlation rules (specification 2.1.0): the checks that tie a correlation to the rules
//! it references ([`compile_correlations`]) and the stateful engine that evaluates them over
//! rule matches in time order ([`CorrelationEngine`]).
//!
//! The engine is pure: it is fed (base rule, event time, event id, field values) and returns
//! the correlations that fired, each with the events that formed it. Which values an event
//! has for a field is the caller's business (the same field resolution its base rule uses).
//!
//! # Semantics decided here (ADR-0017)
//!
//! - A group's window holds the matches whose time `t` satisfies `latest - timespan <= t`
//!   (both ends inclusive); matches with equal times keep their feed order.
//! - The condition is evaluated when a match enters a group; when it holds, the correlation
//!   fires with the window's matches and the group starts over (a match forms at most one
//!   result of a correlation).
//! - A match without a value for a `group-by` field (or, for the value types, for the
//!   `condition.field`) does not take part; it is counted.
//! - `temporal` counts the distinct referenced rules in the window (condition default: all of
//!   them); `temporal_ordered` counts the longest prefix of `rules` found in order in the window.
//! - `value_percentile` is the share (percent, 0-100) of the window's matches whose field value
//!   equals the arriving match's value; it fires with those matches only.
//! - A chained correlation sees a fired child result as one match at the child's window end,
//!   whose fields are the child's `group-by` values.

mod engine;
mod parse;

pub use engine::{
    Contribution, CorrelationEngine, CorrelationHit, CorrelationLimits, CorrelationStats, StateSize,
};
pub(crate) use parse::parse_correlation;
pub use parse::{CONDITION_OPS, CORRELATION_TYPES};

use crate::rule::{CorrelationRule, LoadIssue, REASON_LOAD_FAILED, RuleSet};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// A correlation type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CorrelationKind {
    /// Number of matches.
    EventCount,
    /// Number of distinct values of `condition.field`.
    ValueCount,
    /// Distinct referenced rules, any order.
    Temporal,
    /// Referenced rules in the order listed.
    TemporalOrdered,
    /// Sum of a numeric field.
    ValueSum,
    /// Average of a numeric field.
    ValueAvg,
    /// Share of the arriving value among the window's values, in percent.
    ValuePercentile,
}

impl CorrelationKind {
    fn parse(s: &str) -> Option<CorrelationKind> {
        Some(match s {
            "event_count" => CorrelationKind::EventCount,
            "value_count" => CorrelationKind::ValueCount,
            "temporal" => CorrelationKind::Temporal,
            "temporal_ordered" => CorrelationKind::TemporalOrdered,
            "value_sum" => CorrelationKind::ValueSum,
            "value_avg" => CorrelationKind::ValueAvg,
            "value_percentile" => CorrelationKind::ValuePercentile,
            _ => return None,
        })
    }

    /// The type as Sigma spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            CorrelationKind::EventCount => "event_count",
            CorrelationKind::ValueCount => "value_count",
            CorrelationKind::Temporal => "temporal",
            CorrelationKind::TemporalOrdered => "temporal_ordered",
            CorrelationKind::ValueSum => "value_sum",
            CorrelationKind::ValueAvg => "value_avg",
            CorrelationKind::ValuePercentile => "value_percentile",
        }
    }

    /// Whether the type aggregates `condition.field`.
    pub fn needs_field(self) -> bool {
        matches!(
            self,
            CorrelationKind::ValueCount
                | CorrelationKind::ValueSum
                | CorrelationKind::ValueAvg
                | CorrelationKind::ValuePercentile
        )
    }
}

/// A comparison of a correlation condition.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CondOp {
    /// `gt`, `gte`, `lt`, `lte`, `eq`, `neq`.
    pub op: &'static str,
    /// The threshold.
    pub value: f64,
}

impl CondOp {
    fn holds(&self, x: f64) -> bool {
        match self.op {
            "gt" => x > self.value,
            "gte" => x >= self.value,
            "lt" => x < self.value,
            "lte" => x <= self.value,
            "eq" => x == self.value,
            _ => x != self.value,
        }
    }
}

/// What a correlation references.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "index", rename_all = "snake_case")]
pub enum Member {
    /// A detection rule: index into [`RuleSet::rules`].
    Rule(usize),
    /// A correlation rule: index into [`RuleSet::correlations`].
    Correlation(usize),
}

/// The field names read on one member's matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberFields {
    /// Per `group-by` entry, the field (aliases applied).
    pub group: Vec<String>,
    /// Per `condition.field` entry, the field (aliases applied).
    pub value: Vec<String>,
}

/// A correlation rule tied to the set it belongs to.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CompiledCorrelation {
    /// Index into [`RuleSet::correlations`].
    pub index: usize,
    /// The type.
    pub kind: CorrelationKind,
    /// The referenced rules, in the order written.
    pub members: Vec<Member>,
    /// The `group-by` entries as written.
    pub group_by: Vec<String>,
    /// The timespan in milliseconds.
    pub span_ms: i64,
    /// Every comparison must hold.
    pub condition: Vec<CondOp>,
    /// Per member, its fields.
    pub member_fields: Vec<MemberFields>,
    /// Whether its results are detections: it is referenced by no correlation, or by one that
    /// says `generate: true`.
    pub emits: bool,
    /// Its `level`.
    pub level: Option<String>,
}

/// One consumer of a member's matches.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Use {
    correlation: usize,
    member: usize,
    /// Per group-by entry: index into the supplier's field list.
    group: Vec<usize>,
    /// Per value field: index into the supplier's field list.
    value: Vec<usize>,
}

/// The correlations of a rule set, checked and ready for [`CorrelationEngine`].
#[derive(Debug, Clone, Default)]
pub struct CorrelationSet {
    /// In [`RuleSet::correlations`] order (only valid ones are in a loaded set).
    pub correlations: Vec<CompiledCorrelation>,
    /// Detection rule index → the fields its matches must carry, in the order
    /// [`CorrelationEngine::feed`] takes them.
    pub rule_fields: BTreeMap<usize, Vec<String>>,
    /// Detection rules whose own detections are not generated (referenced by a correlation,
    /// none of which says `generate: true`).
    pub silent_rules: BTreeSet<usize>,
    users_of_rule: BTreeMap<usize, Vec<Use>>,
    users_of_corr: Vec<Vec<Use>>,
}

impl CorrelationSet {
    /// Whether there is nothing to evaluate.
    pub fn is_empty(&self) -> bool {
        self.correlations.is_empty()
    }

    /// Detection rules referenced by some correlation (they must be evaluated).
    pub fn referenced_rules(&self) -> impl Iterator<Item = usize> + '_ {
        self.users_of_rule.keys().copied()
    }
}

/// Parse a Sigma timespan (`number + s|m|h|d`) to milliseconds.
pub fn parse_timespan(s: &str) -> Result<i64, String> {
    let t = s.trim();
    let unit = t.chars().last().ok_or("timespan is empty")?;
    let mult: i64 = match unit {
        's' => 1_000,
        'm' => 60_000,
        'h' => 3_600_000,
        'd' => 86_400_000,
        _ => {
            return Err(format!(
                "timespan `{s}` does not end in s, m, h or d (number + unit, e.g. `5m`)"
            ));
        }
    };
    let digits = &t[..t.len() - 1];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "timespan `{s}` is not a whole number followed by s, m, h or d (e.g. `90m`)"
        ));
    }
    let n: i64 = digits
        .parse()
        .map_err(|_| format!("timespan `{s}` is too large"))?;
    if n == 0 {
        return Err(format!("timespan `{s}` is zero"));
    }
    n.checked_mul(mult)
        .ok_or_else(|| format!("timespan `{s}` is too large"))
}

fn find_member(set: &RuleSet, name: &str) -> Option<Member> {
    let rule = |f: &dyn Fn(&crate::rule::Rule) -> bool| set.rules.iter().position(f);
    let corr = |f: &dyn Fn(&CorrelationRule) -> bool| set.correlations.iter().position(f);
    rule(&|r| r.id.as_deref() == Some(name))
        .map(Member::Rule)
        .or_else(|| corr(&|c| c.id.as_deref() == Some(name)).map(Member::Correlation))
        .or_else(|| rule(&|r| r.name.as_deref() == Some(name)).map(Member::Rule))
        .or_else(|| corr(&|c| c.name.as_deref() == Some(name)).map(Member::Correlation))
}

fn member_names(set: &RuleSet, m: Member) -> (Option<&str>, Option<&str>) {
    match m {
        Member::Rule(i) => (set.rules[i].id.as_deref(), set.rules[i].name.as_deref()),
        Member::Correlation(i) => (
            set.correlations[i].id.as_deref(),
            set.correlations[i].name.as_deref(),
        ),
    }
}

/// Check one correlation on its own (not its references' health).
fn compile_one(set: &RuleSet, index: usize) -> Result<CompiledCorrelation, String> {
    let c = &set.correlations[index];
    let kind = CorrelationKind::parse(&c.correlation_type)
        .ok_or_else(|| format!("unknown correlation type `{}`", c.correlation_type))?;
    let span = c
        .timespan
        .as_deref()
        .ok_or("`correlation.timespan` is missing")?;
    let span_ms = parse_timespan(span)?;
    let mut members = Vec::new();
    for name in &c.rules {
        let m = find_member(set, name).ok_or_else(|| {
            format!("`correlation.rules` names `{name}`, which is no rule id or name in the set")
        })?;
        if m == Member::Correlation(index) {
            return Err(format!(
                "`correlation.rules` names the correlation itself (`{name}`)"
            ));
        }
        if members.contains(&m) {
            return Err(format!("`correlation.rules` names `{name}` twice"));
        }
        members.push(m);
    }
    let mut condition = Vec::new();
    for (op, text) in &c.condition {
        let value = crate::event::parse_number(text)
            .ok_or_else(|| format!("`correlation.condition.{op}` is not a number"))?;
        let op = CONDITION_OPS
            .iter()
            .find(|o| *o == op)
            .copied()
            .ok_or_else(|| format!("unknown condition operator `{op}`"))?;
        condition.push(CondOp { op, value });
    }
    let temporal = matches!(
        kind,
        CorrelationKind::Temporal | CorrelationKind::TemporalOrdered
    );
    if condition.is_empty() && temporal {
        // default: every referenced rule
        condition.push(CondOp {
            op: "gte",
            value: members.len() as f64,
        });
    } else if condition.is_empty() {
        return Err(format!(
            "{} needs a `correlation.condition` with a comparison ({})",
            kind.as_str(),
            CONDITION_OPS.join(", ")
        ));
    }
    if kind.needs_field() && c.condition_fields.is_empty() {
        return Err(format!(
            "{} needs `correlation.condition.field`",
            kind.as_str()
        ));
    }
    if !kind.needs_field() && !c.condition_fields.is_empty() {
        return Err(format!(
            "{} takes no `correlation.condition.field`",
            kind.as_str()
        ));
    }
    for (alias, per_rule) in &c.aliases {
        for rule in per_rule.keys() {
            let known = members.iter().any(|&m| {
                let (id, name) = member_names(set, m);
                id == Some(rule.as_str()) || name == Some(rule.as_str())
            });
            if !known {
                return Err(format!(
                    "alias `{alias}` names rule `{rule}`, which `correlation.rules` does not reference"
                ));
            }
        }
    }
    let member_fields = members
        .iter()
        .map(|&m| {
            let (id, name) = member_names(set, m);
            let resolve = |f: &String| {
                c.aliases
                    .get(f)
                    .and_then(|per| {
                        name.and_then(|n| per.get(n))
                            .or_else(|| id.and_then(|i| per.get(i)))
                    })
                    .cloned()
                    .unwrap_or_else(|| f.clone())
            };
            MemberFields {
                group: c.group_by.iter().map(resolve).collect(),
                value: c.condition_fields.iter().map(resolve).collect(),
            }
        })
        .collect();
    Ok(CompiledCorrelation {
        index,
        kind,
        members,
        group_by: c.group_by.clone(),
        span_ms,
        condition,
        member_fields,
        emits: true,
        level: c.level.clone(),
    })
}

/// Tie every correlation of `set` to the rules it references. A correlation that references a
/// missing rule (by id or `name`), whose timespan does not parse, whose condition does not fit
/// its type, that is part of a reference cycle or references a correlation with any of these
/// problems is left out, with a load issue at its file and line.
pub fn compile_correlations(set: &RuleSet) -> (CorrelationSet, Vec<LoadIssue>) {
    let n = set.correlations.len();
    let mut compiled: Vec<Option<CompiledCorrelation>> = Vec::with_capacity(n);
    let mut issues = Vec::new();
    let issue = |i: usize, message: String| {
        let c = &set.correlations[i];
        LoadIssue {
            file: c.file.clone(),
            line: c.line,
            reason_code: REASON_LOAD_FAILED.into(),
            message: format!("correlation `{}`: {message}", c.title),
        }
    };
    for i in 0..n {
        match compile_one(set, i) {
            Ok(c) => compiled.push(Some(c)),
            Err(e) => {
                issues.push(issue(i, e));
                compiled.push(None);
            }
        }
    }
    // Cycles: a correlation that reaches itself through its references.
    for i in 0..n {
        let mut seen = BTreeSet::new();
        let mut stack = vec![i];
        let mut cyclic = false;
        while let Some(x) = stack.pop() {
            let Some(c) = &compiled[x] else { continue };
            for m in &c.members {
                if let Member::Correlation(j) = *m {
                    if j == i {
                        cyclic = true;
                    } else if seen.insert(j) {
                        stack.push(j);
                    }
                }
            }
        }
        if cyclic && compiled[i].is_some() {
            issues.push(issue(i, "its references form a cycle".into()));
            compiled[i] = None;
        }
    }
    // A correlation over a left-out correlation is left out too (to a fixed point).
    loop {
        let mut changed = false;
        for i in 0..n {
            let Some(c) = &compiled[i] else { continue };
            let bad = c.members.iter().find_map(|m| match *m {
                Member::Correlation(j) if compiled[j].is_none() => Some(j),
                _ => None,
            });
            if let Some(j) = bad {
                let other = &set.correlations[j];
                issues.push(issue(
                    i,
                    format!(
                        "references correlation `{}` ({}:{}), which has problems",
                        other.title,
                        other.file.display(),
                        other.line
                    ),
                ));
                compiled[i] = None;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    issues.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    (build(set, compiled), issues)
}

fn build(set: &RuleSet, compiled: Vec<Option<CompiledCorrelation>>) -> CorrelationSet {
    let mut out = CorrelationSet {
        users_of_corr: vec![Vec::new(); compiled.len()],
        ..Default::default()
    };
    let mut generated_rules = BTreeSet::new();
    let mut referenced_corrs: BTreeMap<usize, bool> = BTreeMap::new();
    for c in compiled.iter().flatten() {
        let generate = set.correlations[c.index].generate == Some(true);
        for (pos, m) in c.members.iter().enumerate() {
            let mf = &c.member_fields[pos];
            match *m {
                Member::Rule(r) => {
                    if generate {
                        generated_rules.insert(r);
                    }
                    let fields = out.rule_fields.entry(r).or_default();
                    for f in mf.group.iter().chain(&mf.value) {
                        if !fields.contains(f) {
                            fields.push(f.clone());
                        }
                    }
                    out.silent_rules.insert(r);
                }
                Member::Correlation(j) => {
                    *referenced_corrs.entry(j).or_default() |= generate;
                }
            }
        }
    }
    for r in generated_rules {
        out.silent_rules.remove(&r);
    }
    for c in compiled.iter().flatten() {
        for (pos, m) in c.members.iter().enumerate() {
            let mf = &c.member_fields[pos];
            match *m {
                Member::Rule(r) => {
                    let fields = &out.rule_fields[&r];
                    let at = |f: &String| fields.iter().position(|x| x == f).unwrap_or(0);
                    out.users_of_rule.entry(r).or_default().push(Use {
                        correlation: c.index,
                        member: pos,
                        group: mf.group.iter().map(at).collect(),
                        value: mf.value.iter().map(at).collect(),
                    });
                }
                Member::Correlation(j) => {
                    // a child's result carries its group-by values; a field it does not
                    // group by is missing (usize::MAX)
                    let child = &set.correlations[j].group_by;
                    let at = |f: &String| child.iter().position(|x| x == f).unwrap_or(usize::MAX);
                    out.users_of_corr[j].push(Use {
                        correlation: c.index,
                        member: pos,
                        group: mf.group.iter().map(at).collect(),
                        value: mf.value.iter().map(at).collect(),
                    });
                }
            }
        }
    }
    out.correlations = compiled
        .into_iter()
        .flatten()
        .map(|mut c| {
            c.emits = referenced_corrs.get(&c.index).is_none_or(|g| *g);
            c
        })
        .collect();
    out
}

/// Drop the correlations of a freshly loaded set that [`compile_correlations`] leaves out,
/// recording their load issues (indices are re-established: the set keeps only valid ones).
pub(crate) fn drop_unresolved(set: &mut RuleSet) {
    if set.correlations.is_empty() {
        return;
    }
    let (compiled, issues) = compile_correlations(set);
    if issues.is_empty() {
        return;
    }
    let keep: BTreeSet<usize> = compiled.correlations.iter().map(|c| c.index).collect();
    set.correlations = std::mem::take(&mut set.correlations)
        .into_iter()
        .enumerate()
        .filter(|(i, _)| keep.contains(i))
        .map(|(_, c)| c)
        .collect();
    set.issues.extend(issues);
}

#[cfg(test)]
mod tests;
