//! The judgement itself, over loaded inputs: attribution of detections to actions, the gap of
//! every executed action that was not detected, per-technique rows and the run's metrics.
//!
//! Attribution (`pa.attribution.v1`, the action's technique must be among the detection's, a
//! parent or sub-technique counting): a matched event in one of the action's tagged audit
//! sessions → `exact`; a hit inside the action's criteria window → `partial`; a hit within
//! `[start − skew, start + max_allowed_latency]` on the action's host → `weak_signal`; the
//! strongest wins, then the smallest |Δt|, then the smallest action id. A detection in an
//! action's own sessions by a rule of another technique is *collateral* (the action caused it,
//! e.g. its cleanup): neither a detection of the technique nor a false positive.

use crate::load::EventFacts;
use crate::model::*;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// Default criteria window when an action has no criteria result: 5 s before, 120 s after.
const BEFORE_MS: i64 = 5_000;
const AFTER_MS: i64 = 120_000;

/// Everything scoring reads.
pub struct Inputs {
    pub run_id: String,
    pub scenario_id: String,
    pub scenario_version: String,
    /// `(line, row)` of `ground_truth.jsonl`.
    pub ground_truth: Vec<(usize, Value)>,
    /// `(line, row)` of `criteria/results.jsonl`, when validation ran.
    pub criteria: Option<Vec<(usize, Value)>>,
    /// `(line, row)` of `detections/detections.jsonl`.
    pub detections: Vec<(usize, Value)>,
    /// The rows of `bridge/compiled_plans.jsonl` (or of a legacy bundle's plan files).
    pub plans: Vec<crate::load::PlanRow>,
    /// Rule id → its 1-based line in `bridge/compiled_plans.jsonl` (empty for a legacy bundle).
    pub plan_lines: BTreeMap<String, usize>,
    /// `normalized/mapping_coverage.json`.
    pub mapping_coverage: Option<Value>,
    pub events: Vec<EventFacts>,
    /// Action id → (phase, tagged pid) of its commands.
    pub tagged: BTreeMap<String, Vec<(String, i64)>>,
    pub thresholds: ThresholdValues,
}

fn ms(v: &Value) -> Option<i64> {
    v.as_str()
        .and_then(|s| pa_canon::parse_rfc3339_to_millis(s).ok())
}

fn ts(ms: i64) -> String {
    pa_canon::format_utc_millis(ms)
}

/// Whether a detection tagged `tags` is about technique `t` (equal, parent or sub-technique).
pub fn technique_matches(t: &str, tags: &[String]) -> bool {
    let parent = |x: &str| x.split('.').next().unwrap_or(x).to_string();
    tags.iter()
        .any(|g| g == t || parent(t) == *g || parent(g) == t)
}

fn strength(a: &str) -> u8 {
    match a {
        "exact" => 3,
        "partial" => 2,
        "weak_signal" => 1,
        _ => 0,
    }
}

/// Which gap category a non-executable reason code belongs to.
pub fn bridge_category(code: &str) -> &'static str {
    if code.starts_with("unsupported_") {
        "bridge_gap_feature"
    } else if matches!(
        code,
        "unroutable_logsource" | "unrouted_logsource" | "unmapped_field" | "ambiguous_field_alias"
    ) || code.contains("fallback")
        || code.contains("mapping")
    {
        "bridge_gap_mapping"
    } else {
        "bridge_gap_other"
    }
}

fn host_matches(action_host: Option<&str>, event_host: Option<&str>) -> bool {
    match (action_host, event_host) {
        (Some(a), Some(e)) => {
            let short = |s: &str| s.split('.').next().unwrap_or(s).to_ascii_lowercase();
            a.eq_ignore_ascii_case(e) || short(a) == short(e) || a == "localhost"
        }
        _ => true,
    }
}

struct Act<'a> {
    line: usize,
    row: &'a Value,
    id: String,
    technique: String,
    host: Option<String>,
    start: Option<i64>,
    end: Option<i64>,
    executed: bool,
    execute_outcome: String,
    not_executed_reason: Option<String>,
    /// Sessions of all the action's commands, and of its execute command.
    sessions: BTreeSet<String>,
    execute_sessions: BTreeSet<String>,
    criteria: Option<(usize, &'a Value)>,
    window: Option<(i64, i64)>,
}

/// A rule's hits on an action: (title, best attribution, first ms, count).
type Hit = (String, String, i64, u64);

/// Intervals `(from, to, action index)` sorted by `from`, for the actions overlapping a time.
struct Intervals {
    by_from: Vec<(i64, i64, usize)>,
    longest: i64,
}

impl Intervals {
    fn new(mut v: Vec<(i64, i64, usize)>) -> Intervals {
        v.sort_unstable();
        let longest = v.iter().map(|(a, b, _)| b - a).max().unwrap_or(0);
        Intervals {
            by_from: v,
            longest,
        }
    }

    /// Action indices whose interval holds `t`, ascending.
    fn at(&self, t: i64) -> Vec<usize> {
        let end = self.by_from.partition_point(|(from, _, _)| *from <= t);
        let mut out: Vec<usize> = self.by_from[..end]
            .iter()
            .rev()
            .take_while(|(from, _, _)| *from >= t.saturating_sub(self.longest))
            .filter(|(_, to, _)| *to >= t)
            .map(|(_, _, i)| *i)
            .collect();
        out.sort_unstable();
        out
    }
}

/// Score a run.
pub fn score(inp: &Inputs, generated_at_utc: String) -> Summary {
    // Audit sessions opened by the runner's tagged commands: pid → sessions.
    let mut pid_sessions: BTreeMap<i64, BTreeSet<String>> = BTreeMap::new();
    for e in &inp.events {
        if let Some((s, pid)) = &e.opened_session {
            pid_sessions.entry(*pid).or_default().insert(s.clone());
        }
    }
    let criteria_by_action: BTreeMap<String, (usize, &Value)> = inp
        .criteria
        .iter()
        .flatten()
        .filter_map(|(l, r)| r["action_id"].as_str().map(|a| (a.to_string(), (*l, r))))
        .collect();
    let mut acts: Vec<Act> = Vec::new();
    for (line, row) in &inp.ground_truth {
        let id = row["action_id"].as_str().unwrap_or_default().to_string();
        let phases = row["lifecycle"]["phases"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let execute = phases.iter().find(|p| p["phase"] == "execute");
        let execute_outcome = execute
            .and_then(|p| p["phase_outcome"].as_str())
            .unwrap_or("absent")
            .to_string();
        let executed = matches!(execute_outcome.as_str(), "success" | "failed");
        let not_executed_reason = (!executed).then(|| {
            execute
                .and_then(|p| p["reason_code"].as_str())
                .or_else(|| phases.first().and_then(|p| p["reason_code"].as_str()))
                .unwrap_or("not_executed")
                .to_string()
        });
        let start = execute
            .and_then(|p| ms(&p["started_at_utc"]))
            .or_else(|| ms(&row["timestamp_utc"]));
        let end = execute.and_then(|p| ms(&p["ended_at_utc"])).or(start);
        let mut sessions = BTreeSet::new();
        let mut execute_sessions = BTreeSet::new();
        for (phase, pid) in inp.tagged.get(&id).into_iter().flatten() {
            for s in pid_sessions.get(pid).into_iter().flatten() {
                sessions.insert(s.clone());
                if phase == "execute" {
                    execute_sessions.insert(s.clone());
                }
            }
        }
        let criteria = criteria_by_action.get(&id).copied();
        let window = criteria
            .and_then(|(_, c)| {
                Some((
                    ms(&c["time_window"]["start_time_utc"])?,
                    ms(&c["time_window"]["end_time_utc"])?,
                ))
            })
            .or_else(|| start.map(|s| (s - BEFORE_MS, end.unwrap_or(s) + AFTER_MS)));
        acts.push(Act {
            line: *line,
            row,
            id,
            technique: row["technique_id"].as_str().unwrap_or_default().to_string(),
            host: row["resolved_target"]["hostname"]
                .as_str()
                .map(str::to_string),
            start,
            end,
            executed,
            execute_outcome,
            not_executed_reason,
            sessions,
            execute_sessions,
            criteria,
            window,
        });
    }
    acts.sort_by(|a, b| a.id.cmp(&b.id));

    // Events of each action: its execute sessions when tagged, else its window on its host.
    let by_uid: BTreeMap<&str, &EventFacts> =
        inp.events.iter().map(|e| (e.uid.as_str(), e)).collect();
    let mut action_events: Vec<Vec<&EventFacts>> = vec![Vec::new(); acts.len()];
    let mut by_execute_session: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    let mut by_session: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, a) in acts.iter().enumerate() {
        for s in &a.execute_sessions {
            by_execute_session.entry(s.as_str()).or_default().push(i);
        }
        for s in &a.sessions {
            by_session.entry(s.as_str()).or_default().push(i);
        }
    }
    let untagged_windows = Intervals::new(
        acts.iter()
            .enumerate()
            .filter(|(_, a)| a.sessions.is_empty())
            .filter_map(|(i, a)| a.window.map(|(w0, w1)| (w0, w1, i)))
            .collect(),
    );
    for e in &inp.events {
        if let Some(list) = e.session.as_deref().and_then(|s| by_execute_session.get(s)) {
            for &i in list {
                action_events[i].push(e);
            }
        }
        if let Some(t) = e.time_ms {
            for i in untagged_windows.at(t) {
                if host_matches(acts[i].host.as_deref(), e.host.as_deref()) {
                    action_events[i].push(e);
                }
            }
        }
    }

    // Attribution.
    let skew = (inp.thresholds.clock_skew_tolerance_seconds * 1000.0) as i64;
    let max_lat = (inp.thresholds.max_allowed_latency_seconds * 1000.0) as i64;
    let mut matched: BTreeMap<(usize, String), Hit> = BTreeMap::new();
    let mut collateral: BTreeMap<usize, u64> = BTreeMap::new();
    let mut unattributed: BTreeMap<String, Unattributed> = BTreeMap::new();
    let mut attributed_total = 0u64;
    let mut fp = 0u64;
    let criteria_windows = Intervals::new(
        acts.iter()
            .enumerate()
            .filter(|(_, a)| a.criteria.is_some())
            .filter_map(|(i, a)| a.window.map(|(w0, w1)| (w0, w1, i)))
            .collect(),
    );
    let latency_windows = Intervals::new(
        acts.iter()
            .enumerate()
            .filter_map(|(i, a)| a.start.map(|s| (s - skew, s + max_lat, i)))
            .collect(),
    );
    for (_, d) in &inp.detections {
        let rule_id = d["rule_id"].as_str().unwrap_or_default().to_string();
        let title = d["rule_title"].as_str().unwrap_or_default().to_string();
        let tags: Vec<String> = d["technique_ids"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t.as_str().map(str::to_string))
            .collect();
        let t = ms(&d["first_seen_utc"]);
        let ev: Vec<&EventFacts> = d["matched_event_ids"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|u| u.as_str().and_then(|u| by_uid.get(u).copied()))
            .collect();
        let sessions: BTreeSet<&str> = ev.iter().filter_map(|e| e.session.as_deref()).collect();
        let host = ev.iter().find_map(|e| e.host.as_deref());
        let mut best: Option<(u8, i64, usize)> = None;
        let mut collateral_of: Option<usize> = None;
        let mut candidates: Vec<usize> = sessions
            .iter()
            .filter_map(|s| by_session.get(s))
            .flatten()
            .copied()
            .collect();
        if let Some(t) = t {
            candidates.extend(criteria_windows.at(t));
            candidates.extend(latency_windows.at(t));
        }
        candidates.sort_unstable();
        candidates.dedup();
        for i in candidates {
            let a = &acts[i];
            let own = sessions.iter().any(|s| a.sessions.contains(*s));
            let tech = technique_matches(&a.technique, &tags);
            if own && !tech {
                collateral_of.get_or_insert(i);
                continue;
            }
            if !tech || !a.executed {
                continue;
            }
            let (Some(start), Some(t)) = (a.start, t) else {
                continue;
            };
            let kind = if own {
                "exact"
            } else if !a.sessions.is_empty() && !sessions.is_empty() {
                // Both sides carry sessions and they differ: another command did it.
                continue;
            } else if a.criteria.is_some() && a.window.is_some_and(|(w0, w1)| t >= w0 && t <= w1) {
                "partial"
            } else if t >= start - skew
                && t <= start + max_lat
                && host_matches(a.host.as_deref(), host)
            {
                "weak_signal"
            } else {
                continue;
            };
            // Strongest first, then the smallest |Δt|, then the smallest action id (actions
            // are sorted by id).
            let cand = (strength(kind), (t - start).abs(), i);
            let better = |b: &(u8, i64, usize)| {
                cand.0 > b.0 || (cand.0 == b.0 && (cand.1 < b.1 || (cand.1 == b.1 && cand.2 < b.2)))
            };
            if best.as_ref().is_none_or(better) {
                best = Some(cand);
            }
        }
        match (best, t) {
            (Some((s, _, i)), Some(t)) => {
                attributed_total += 1;
                let kind = match s {
                    3 => "exact",
                    2 => "partial",
                    _ => "weak_signal",
                };
                let e = matched
                    .entry((i, rule_id.clone()))
                    .or_insert_with(|| (title.clone(), kind.to_string(), t, 0));
                if strength(kind) > strength(&e.1) {
                    e.1 = kind.to_string();
                }
                e.2 = e.2.min(t);
                e.3 += 1;
            }
            _ => {
                if let Some(i) = collateral_of {
                    *collateral.entry(i).or_default() += 1;
                    continue;
                }
                fp += 1;
                let first = t.map(ts).unwrap_or_default();
                let u = unattributed
                    .entry(rule_id.clone())
                    .or_insert_with(|| Unattributed {
                        rule_id: rule_id.clone(),
                        rule_title: title.clone(),
                        first_seen_utc: first.clone(),
                        technique_ids: tags.clone(),
                        detections: 0,
                    });
                if !first.is_empty() && (u.first_seen_utc.is_empty() || first < u.first_seen_utc) {
                    u.first_seen_utc = first;
                }
                u.detections += 1;
            }
        }
    }

    // Rules by technique.
    let rules = rule_counts(&inp.plans, &inp.detections);
    let tagged_plans = |t: &str| -> Vec<&crate::load::PlanRow> {
        inp.plans
            .iter()
            .filter(|p| {
                let tags: Vec<String> = p
                    .technique_ids
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect();
                technique_matches(t, &tags)
            })
            .collect()
    };
    let tagged_rules = |t: &str| -> Vec<&Value> {
        tagged_plans(t)
            .into_iter()
            .map(crate::load::PlanRow::document)
            .collect()
    };

    // Per action.
    let mut matched_by_action: BTreeMap<usize, Vec<(&String, &Hit)>> = BTreeMap::new();
    for ((i, rid), v) in &matched {
        matched_by_action.entry(*i).or_default().push((rid, v));
    }
    let mut detections_by_uid: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (k, (_, d)) in inp.detections.iter().enumerate() {
        for u in d["matched_event_ids"].as_array().into_iter().flatten() {
            if let Some(u) = u.as_str() {
                detections_by_uid.entry(u).or_default().push(k);
            }
        }
    }
    let mut actions = Vec::new();
    for (i, a) in acts.iter().enumerate() {
        let mine = matched_by_action.get(&i).map(Vec::as_slice).unwrap_or(&[]);
        let mut rm: Vec<RuleMatch> = mine
            .iter()
            .map(|(rid, (title, kind, first, n))| RuleMatch {
                rule_id: (*rid).clone(),
                rule_title: title.clone(),
                attribution: kind.clone(),
                first_seen_utc: ts(*first),
                detections: *n,
            })
            .collect();
        rm.sort_by(|x, y| {
            x.first_seen_utc
                .cmp(&y.first_seen_utc)
                .then(x.rule_id.cmp(&y.rule_id))
        });
        let detected = !rm.is_empty();
        let attribution = rm
            .iter()
            .max_by_key(|r| strength(&r.attribution))
            .map(|r| r.attribution.clone());
        let first = mine.iter().map(|(_, v)| v.2).min();
        let latency = match (first, a.start) {
            (Some(f), Some(s)) => Some(round(((f - s).max(0)) as f64 / 1000.0, 3)),
            _ => None,
        };
        let evs = &action_events[i];
        let mut classes: BTreeMap<String, u64> = BTreeMap::new();
        for e in evs {
            *classes
                .entry(
                    e.class_uid
                        .map(|c| c.to_string())
                        .unwrap_or_else(|| "none".into()),
                )
                .or_default() += 1;
        }
        let telemetry = Telemetry {
            criteria_status: a
                .criteria
                .and_then(|(_, c)| c["status"].as_str().map(str::to_string)),
            criteria_reason_code: a
                .criteria
                .and_then(|(_, c)| c["reason_code"].as_str().map(str::to_string)),
            events_in_window: evs.len() as u64,
            classes_in_window: classes,
            window: a.window.map(|(w0, w1)| Window {
                start_time_utc: ts(w0),
                end_time_utc: ts(w1),
            }),
        };
        // Rules of other techniques that matched this action's events: the tags may be what
        // differs (a renamed technique), worth saying next to a gap.
        let mut others: BTreeMap<String, (String, Vec<String>)> = BTreeMap::new();
        let mut other_lines: Vec<usize> = Vec::new();
        let mut seen_detections: BTreeSet<usize> = BTreeSet::new();
        for e in evs {
            for &k in detections_by_uid.get(e.uid.as_str()).into_iter().flatten() {
                if !seen_detections.insert(k) {
                    continue;
                }
                let (line, d) = &inp.detections[k];
                let rid = d["rule_id"].as_str().unwrap_or_default();
                if rm.iter().any(|r| r.rule_id == rid) {
                    continue;
                }
                other_lines.push(*line);
                others.entry(rid.to_string()).or_insert_with(|| {
                    (
                        d["rule_title"].as_str().unwrap_or_default().to_string(),
                        d["technique_ids"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|t| t.as_str().map(str::to_string))
                            .collect(),
                    )
                });
            }
        }
        other_lines.sort_unstable();
        let gap = (a.executed && !detected).then(|| {
            let mut g = crate::gaps::classify(
                a.line,
                a.criteria,
                &a.technique,
                evs,
                &tagged_rules(&a.technique),
                inp.mapping_coverage.as_ref(),
                &inp.plan_lines,
            );
            if !others.is_empty() {
                let list: Vec<Value> = others
                    .iter()
                    .map(|(id, (t, tags))| json!({"rule_id": id, "rule_title": t, "technique_ids": tags}))
                    .collect();
                let names: Vec<String> = others
                    .values()
                    .map(|(t, tags)| format!("{t} ({})", tags.join(", ")))
                    .collect();
                g.summary.push_str(&format!(
                    "; rules tagged with other techniques matched its events: {} (check the rules' or the scenario's technique ids)",
                    names.join("; ")
                ));
                if let Some(o) = g.evidence.as_object_mut() {
                    o.insert("other_rules_matched".into(), Value::Array(list));
                }
                g.evidence_refs.extend(
                    other_lines
                        .iter()
                        .take(20)
                        .map(|l| jsonl_ref("detections/detections.jsonl", *l)),
                );
                g.evidence_refs.sort();
                g.evidence_refs.dedup();
            }
            g
        });
        actions.push(ActionScore {
            action_id: a.id.clone(),
            action_key: a.row["action_key"].as_str().unwrap_or_default().to_string(),
            technique_id: a.technique.clone(),
            engine: a.row["engine"].as_str().unwrap_or_default().to_string(),
            engine_test_id: a.row["engine_test_id"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            target_asset_id: a.row["target_asset_id"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            started_at_utc: a.start.map(ts),
            ended_at_utc: a.end.map(ts),
            executed: a.executed,
            execute_outcome: a.execute_outcome.clone(),
            not_executed_reason: a.not_executed_reason.clone(),
            telemetry,
            detected,
            attribution,
            first_detection_utc: first.map(ts),
            latency_seconds: latency,
            rules_matched: rm,
            collateral_detections: collateral.get(&i).copied().unwrap_or(0),
            gap,
        });
    }

    let techniques = techniques(&actions, &tagged_plans);
    let metrics = crate::metrics::metrics(
        &actions,
        &techniques,
        &inp.events,
        inp.detections.len() as u64,
        attributed_total,
        fp,
    );
    let gates = crate::metrics::gates(&metrics, &inp.thresholds);
    let status = if gates.iter().any(|g| g.pass == Some(false)) {
        "partial"
    } else {
        "success"
    };
    Summary {
        contract_version: pa_bundle::CONTRACT_VERSION.to_string(),
        run_id: inp.run_id.clone(),
        scenario_id: inp.scenario_id.clone(),
        scenario_version: inp.scenario_version.clone(),
        generated_at_utc,
        thresholds: inp.thresholds.clone(),
        metrics,
        gates,
        status_recommendation: status.to_string(),
        actions,
        techniques,
        unattributed_detections: unattributed.into_values().collect(),
        rules,
        inputs: BTreeMap::new(),
    }
}

fn rule_counts(plans: &[crate::load::PlanRow], detections: &[(usize, Value)]) -> RuleCounts {
    let mut c = RuleCounts::default();
    for p in plans {
        c.total += 1;
        if p.executable.as_bool() == Some(true) {
            c.executable += 1;
        } else {
            c.non_executable += 1;
            let code = p.non_executable_reason["reason_code"]
                .as_str()
                .unwrap_or("unknown")
                .to_string();
            *c.non_executable_reason_counts.entry(code).or_default() += 1;
        }
    }
    let matched: BTreeSet<&str> = detections
        .iter()
        .filter_map(|(_, d)| d["rule_id"].as_str())
        .collect();
    c.matched = matched.len() as u64;
    c
}

fn techniques<'a>(
    actions: &[ActionScore],
    tagged_plans: &dyn Fn(&str) -> Vec<&'a crate::load::PlanRow>,
) -> Vec<TechniqueScore> {
    let mut by: BTreeMap<String, Vec<&ActionScore>> = BTreeMap::new();
    for a in actions {
        by.entry(a.technique_id.clone()).or_default().push(a);
    }
    by.into_iter()
        .map(|(t, acts)| {
            let rules = tagged_plans(&t);
            let mut cats: Vec<String> = acts
                .iter()
                .filter_map(|a| a.gap.as_ref().map(|g| g.category.clone()))
                .collect();
            cats.sort_by_key(|c| GAP_CATEGORIES.iter().position(|x| x == c));
            cats.dedup();
            TechniqueScore {
                actions: acts.len() as u64,
                executed: acts.iter().filter(|a| a.executed).count() as u64,
                detected: acts.iter().filter(|a| a.detected).count() as u64,
                fastest_latency_seconds: acts
                    .iter()
                    .filter_map(|a| a.latency_seconds)
                    .min_by(f64::total_cmp),
                gap_categories: cats,
                rules_tagged: rules.len() as u64,
                rules_executable: rules
                    .iter()
                    .filter(|p| p.executable.as_bool() == Some(true))
                    .count() as u64,
                technique_id: t,
            }
        })
        .collect()
}

/// Evidence reference helpers.
pub fn jsonl_ref(path: &str, line: usize) -> EvidenceRef {
    EvidenceRef {
        artifact_path: path.to_string(),
        selector: format!("jsonl_line:{line}"),
    }
}

/// A JSON pointer reference.
pub fn pointer_ref(path: &str, pointer: &str) -> EvidenceRef {
    EvidenceRef {
        artifact_path: path.to_string(),
        selector: format!("json_pointer:{pointer}"),
    }
}

/// A compact evidence value.
pub fn evidence(v: Value) -> Value {
    if v.is_object() {
        v
    } else {
        json!({ "value": v })
    }
}
