//! The correlation engine: per correlation and group, a time window of matches; bounded state.

use super::{CompiledCorrelation, CorrelationKind, CorrelationSet, Member, Use};
use serde::Serialize;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

/// How much state the engine may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CorrelationLimits {
    /// Groups per correlation. When a new group would exceed it, groups whose window has
    /// passed are dropped first, then the least recently active group is evicted (counted in
    /// [`CorrelationStats::groups_evicted`]).
    pub max_groups: usize,
    /// Matches per group window; beyond it the oldest match is dropped (counted in
    /// [`CorrelationStats::window_matches_dropped`]).
    pub max_window: usize,
}

impl Default for CorrelationLimits {
    fn default() -> Self {
        CorrelationLimits {
            max_groups: 100_000,
            max_window: 10_000,
        }
    }
}

/// An event that took part in a correlation result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Contribution {
    /// The event id the caller gave.
    pub event_id: String,
    /// The detection rule it matched: index into `RuleSet::rules`.
    pub rule: usize,
    /// Its time (ms since the epoch).
    pub time_ms: i64,
}

/// A correlation that fired.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CorrelationHit {
    /// Index into `RuleSet::correlations`.
    pub correlation: usize,
    /// `group-by` entry → value.
    pub group: Vec<(String, String)>,
    /// Time of the earliest event of the result.
    pub window_start_ms: i64,
    /// Time of the latest event of the result (the match that made the condition hold).
    pub window_end_ms: i64,
    /// The aggregate the condition held on (count, distinct count, sum, average, percent).
    pub value: f64,
    /// The events, in window order (a chained correlation lists its children's events).
    pub events: Vec<Contribution>,
    /// Whether this result is a detection ([`CompiledCorrelation::emits`]).
    pub emits: bool,
}

/// What the engine had to leave out, per correlation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CorrelationStats {
    /// Matches fed to the correlation.
    pub matches: u64,
    /// Matches without a value for a `group-by` field.
    pub missing_group_field: u64,
    /// Matches without a (numeric, for sum/avg) value for `condition.field`.
    pub missing_value_field: u64,
    /// Matches older than the correlation's newest match minus the timespan (out of order).
    pub late_matches: u64,
    /// Groups evicted because `max_groups` was reached while their window was still open.
    pub groups_evicted: u64,
    /// Matches dropped from full group windows (`max_window`).
    pub window_matches_dropped: u64,
    /// Results.
    pub fired: u64,
}

impl CorrelationStats {
    /// Whether state limits cut anything (results may be missing).
    pub fn truncated(&self) -> bool {
        self.groups_evicted > 0 || self.window_matches_dropped > 0
    }
}

/// The engine's current state size.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StateSize {
    /// Open groups over all correlations.
    pub groups: usize,
    /// Matches held in windows.
    pub matches: usize,
    /// Approximate bytes of the keys, values and event ids held.
    pub approx_bytes: usize,
}

#[derive(Debug, Clone)]
enum Val {
    None,
    Text(String),
    Num(f64),
}

#[derive(Debug, Clone)]
struct Entry {
    time: i64,
    member: usize,
    value: Val,
    events: Arc<[Contribution]>,
}

#[derive(Debug, Default)]
struct Group {
    window: VecDeque<Entry>,
    last_seq: u64,
}

#[derive(Debug, Default)]
struct CorrState {
    groups: HashMap<Vec<String>, Group>,
    /// (last time, last seq, key) per activity, oldest first; stale when the group's
    /// `last_seq` moved on.
    lru: VecDeque<(i64, u64, Vec<String>)>,
    newest: Option<i64>,
    stats: CorrelationStats,
}

/// Evaluates a [`CorrelationSet`] over matches fed in time order.
pub struct CorrelationEngine<'s> {
    set: &'s CorrelationSet,
    /// `RuleSet::correlations` index → position in `set.correlations`.
    pos: HashMap<usize, usize>,
    states: Vec<CorrState>,
    limits: CorrelationLimits,
    seq: u64,
}

impl<'s> CorrelationEngine<'s> {
    /// A fresh engine.
    pub fn new(set: &'s CorrelationSet, limits: CorrelationLimits) -> CorrelationEngine<'s> {
        CorrelationEngine {
            pos: set
                .correlations
                .iter()
                .enumerate()
                .map(|(p, c)| (c.index, p))
                .collect(),
            states: set
                .correlations
                .iter()
                .map(|_| CorrState::default())
                .collect(),
            set,
            limits: CorrelationLimits {
                max_groups: limits.max_groups.max(1),
                max_window: limits.max_window.max(1),
            },
            seq: 0,
        }
    }

    /// Feed one match of detection rule `rule` (index into `RuleSet::rules`) at `time_ms`;
    /// `fields` are its values of [`CorrelationSet::rule_fields`]`[rule]`, in that order
    /// (`None` when the event has none). Returns every correlation that fired, chained ones
    /// after the results they are built on.
    pub fn feed(
        &mut self,
        rule: usize,
        time_ms: i64,
        event_id: &str,
        fields: &[Option<String>],
    ) -> Vec<CorrelationHit> {
        let set = self.set;
        let Some(uses) = set.users_of_rule.get(&rule) else {
            return Vec::new();
        };
        let events: Arc<[Contribution]> = Arc::from(vec![Contribution {
            event_id: event_id.to_owned(),
            rule,
            time_ms,
        }]);
        let mut out = Vec::new();
        for u in uses {
            let get = |i: usize| fields.get(i).cloned().flatten();
            self.apply(u, time_ms, &get, &events, &mut out);
        }
        out
    }

    fn apply(
        &mut self,
        u: &Use,
        time_ms: i64,
        get: &dyn Fn(usize) -> Option<String>,
        events: &Arc<[Contribution]>,
        out: &mut Vec<CorrelationHit>,
    ) {
        let set = self.set;
        let Some(&p) = self.pos.get(&u.correlation) else {
            return;
        };
        let corr = &set.correlations[p];
        let before = out.len();
        if let Some(hit) = self.push(p, corr, u, time_ms, get, events) {
            out.push(hit);
        }
        // chained: each new result is a match of the correlations over this one
        let mut i = before;
        while i < out.len() {
            let hit = out[i].clone();
            i += 1;
            let Some(parents) = set.users_of_corr.get(hit.correlation) else {
                continue;
            };
            let evs: Arc<[Contribution]> = Arc::from(hit.events.clone());
            for pu in parents {
                let get = |k: usize| hit.group.get(k).map(|(_, v)| v.clone());
                let Some(&pp) = self.pos.get(&pu.correlation) else {
                    continue;
                };
                let pc = &set.correlations[pp];
                if let Some(h) = self.push(pp, pc, pu, hit.window_end_ms, &get, &evs) {
                    out.push(h);
                }
            }
        }
    }

    /// One match into correlation `p`; the result when it fires.
    fn push(
        &mut self,
        p: usize,
        corr: &CompiledCorrelation,
        u: &Use,
        time: i64,
        get: &dyn Fn(usize) -> Option<String>,
        events: &Arc<[Contribution]>,
    ) -> Option<CorrelationHit> {
        let limits = self.limits;
        self.seq += 1;
        let seq = self.seq;
        let st = &mut self.states[p];
        st.stats.matches += 1;
        let mut key = Vec::with_capacity(u.group.len());
        for &g in &u.group {
            match get(g) {
                Some(v) => key.push(v),
                None => {
                    st.stats.missing_group_field += 1;
                    return None;
                }
            }
        }
        let value = if corr.kind.needs_field() {
            let parts: Option<Vec<String>> = u.value.iter().map(|&i| get(i)).collect();
            let v = match (corr.kind, parts) {
                (_, None) => Val::None,
                (CorrelationKind::ValueSum | CorrelationKind::ValueAvg, Some(p)) => p
                    .first()
                    .and_then(|s| crate::event::parse_number(s))
                    .map_or(Val::None, Val::Num),
                // several fields are one value (a tuple)
                (_, Some(p)) => Val::Text(p.join("\u{1f}")),
            };
            if matches!(v, Val::None) {
                st.stats.missing_value_field += 1;
                return None;
            }
            v
        } else {
            Val::None
        };
        let newest = st.newest.map_or(time, |n| n.max(time));
        let horizon = newest.saturating_sub(corr.span_ms);
        if time < horizon {
            st.stats.late_matches += 1;
            return None;
        }
        st.newest = Some(newest);
        if !st.groups.contains_key(&key) {
            make_room(st, horizon, limits.max_groups);
        }
        if st.lru.len() > 2 * st.groups.len() + 1024 {
            compact(st);
        }
        st.lru.push_back((time, seq, key.clone()));
        let group = st.groups.entry(key.clone()).or_default();
        let entry = Entry {
            time,
            member: u.member,
            value,
            events: events.clone(),
        };
        // in (time, seq) order; out-of-order matches are rare
        let at = group
            .window
            .iter()
            .rposition(|e| e.time <= time)
            .map_or(0, |i| i + 1);
        group.window.insert(at, entry);
        let mut popped = 0;
        while group.window.front().is_some_and(|e| e.time < horizon) {
            group.window.pop_front();
            popped += 1;
        }
        while group.window.len() > limits.max_window {
            group.window.pop_front();
            popped += 1;
            st.stats.window_matches_dropped += 1;
        }
        group.last_seq = seq;
        // the arriving match's position, unless the window bound dropped it
        let at = at.checked_sub(popped)?;
        let (value, picked) = evaluate(corr, &group.window, at)?;
        if !corr.condition.iter().all(|c| c.holds(value)) {
            return None;
        }
        st.stats.fired += 1;
        let chosen: Vec<Entry> = match &picked {
            None => group.window.drain(..).collect(),
            Some(idx) => {
                let mut keep = VecDeque::new();
                let mut chosen = Vec::new();
                for (i, e) in group.window.drain(..).enumerate() {
                    if idx.contains(&i) {
                        chosen.push(e);
                    } else {
                        keep.push_back(e);
                    }
                }
                group.window = keep;
                chosen
            }
        };
        if group.window.is_empty() {
            st.groups.remove(&key);
        }
        // the span of the events (a chained entry counts at its child's window end, but its
        // events start earlier)
        let times = chosen
            .iter()
            .flat_map(|e| e.events.iter().map(|c| c.time_ms));
        let start = times.clone().min().unwrap_or(time);
        let end = times.max().unwrap_or(time);
        Some(CorrelationHit {
            correlation: corr.index,
            group: corr.group_by.iter().cloned().zip(key).collect(),
            window_start_ms: start,
            window_end_ms: end,
            value,
            events: chosen
                .iter()
                .flat_map(|e| e.events.iter().cloned())
                .collect(),
            emits: corr.emits,
        })
    }

    /// Per correlation (in `CorrelationSet::correlations` order), what was left out.
    pub fn stats(&self) -> Vec<(usize, CorrelationStats)> {
        self.set
            .correlations
            .iter()
            .zip(&self.states)
            .map(|(c, s)| (c.index, s.stats))
            .collect()
    }

    /// The state held now.
    pub fn state_size(&self) -> StateSize {
        let mut s = StateSize::default();
        for st in &self.states {
            s.groups += st.groups.len();
            for (k, g) in &st.groups {
                s.approx_bytes += k.iter().map(|x| x.len() + 24).sum::<usize>() + 64;
                s.matches += g.window.len();
                for e in &g.window {
                    s.approx_bytes += std::mem::size_of::<Entry>()
                        + e.events
                            .iter()
                            .map(|c| c.event_id.len() + 40)
                            .sum::<usize>()
                        + match &e.value {
                            Val::Text(t) => t.len(),
                            _ => 0,
                        };
                }
            }
            s.approx_bytes += st.lru.len() * 56;
        }
        s
    }
}

/// Drop groups whose newest match is older than `horizon`, then, while still at `max`, the
/// least recently active group.
fn make_room(st: &mut CorrState, horizon: i64, max: usize) {
    while let Some((t, seq, _)) = st.lru.front() {
        let (t, seq) = (*t, *seq);
        let full = st.groups.len() >= max;
        if t >= horizon && !full {
            break;
        }
        let Some((_, _, key)) = st.lru.pop_front() else {
            break;
        };
        if st.groups.get(&key).is_some_and(|g| g.last_seq == seq) {
            st.groups.remove(&key);
            if t >= horizon {
                st.stats.groups_evicted += 1;
            }
        }
    }
}

/// Rebuild the activity queue from the groups (one entry each, oldest first).
fn compact(st: &mut CorrState) {
    let mut v: Vec<(i64, u64, Vec<String>)> = st
        .groups
        .iter()
        .map(|(k, g)| {
            let t = g.window.back().map_or(i64::MIN, |e| e.time);
            (t, g.last_seq, k.clone())
        })
        .collect();
    v.sort_by_key(|(_, s, _)| *s);
    st.lru = v.into();
}

/// The aggregate of a window and, when only some of its matches form the result, their
/// positions. `None` when the type cannot be evaluated on this window.
fn evaluate(
    corr: &CompiledCorrelation,
    w: &VecDeque<Entry>,
    at: usize,
) -> Option<(f64, Option<Vec<usize>>)> {
    Some(match corr.kind {
        CorrelationKind::EventCount => (w.len() as f64, None),
        CorrelationKind::ValueCount => {
            let distinct: HashSet<&str> = w
                .iter()
                .filter_map(|e| match &e.value {
                    Val::Text(t) => Some(t.as_str()),
                    _ => None,
                })
                .collect();
            (distinct.len() as f64, None)
        }
        CorrelationKind::Temporal => {
            let distinct: HashSet<usize> = w.iter().map(|e| e.member).collect();
            (distinct.len() as f64, None)
        }
        CorrelationKind::TemporalOrdered => {
            // greedy: the earliest match of each rule after the previous pick
            let mut next = 0;
            let mut picked = Vec::new();
            for (i, e) in w.iter().enumerate() {
                if next < corr.members.len() && e.member == next {
                    picked.push(i);
                    next += 1;
                }
            }
            (next as f64, Some(picked))
        }
        CorrelationKind::ValueSum | CorrelationKind::ValueAvg => {
            let nums: Vec<f64> = w
                .iter()
                .filter_map(|e| match e.value {
                    Val::Num(n) => Some(n),
                    _ => None,
                })
                .collect();
            let sum: f64 = nums.iter().sum();
            if corr.kind == CorrelationKind::ValueSum {
                (sum, None)
            } else {
                (sum / nums.len().max(1) as f64, None)
            }
        }
        CorrelationKind::ValuePercentile => {
            let Val::Text(v) = &w.get(at)?.value else {
                return None;
            };
            let same: Vec<usize> = w
                .iter()
                .enumerate()
                .filter(|(_, e)| matches!(&e.value, Val::Text(t) if t == v))
                .map(|(i, _)| i)
                .collect();
            (100.0 * same.len() as f64 / w.len() as f64, Some(same))
        }
    })
}

impl Member {
    /// The detection rule index, when the member is a detection rule.
    pub fn rule(self) -> Option<usize> {
        match self {
            Member::Rule(r) => Some(r),
            Member::Correlation(_) => None,
        }
    }
}
