//! `pa-report trend`: coverage and detection latency across the runs of a workspace, one
//! series per scenario (manifest `scenario_id`), runs ordered by `started_at_utc`: `trend.json`
//! and a self-contained `trend.html` with SVG line charts.

use crate::ReportError;
use crate::html::{pct, render_template};
use crate::svg;
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const TEMPLATE: &str = include_str!("../templates/trend.html");
const STYLE: &str = include_str!("../templates/style.css");

/// One run of a scenario.
#[derive(Debug, Clone, Serialize)]
pub struct TrendPoint {
    pub run_id: String,
    pub started_at_utc: String,
    pub scenario_version: String,
    pub run_status: String,
    pub status_recommendation: String,
    pub technique_coverage_rate: Option<f64>,
    pub techniques_executed: u64,
    pub techniques_detected: u64,
    pub detection_latency_p50_seconds: Option<f64>,
    pub detection_latency_p95_seconds: Option<f64>,
    pub detection_latency_max_seconds: Option<f64>,
    pub gaps_total: u64,
    pub false_positive_detection_count: u64,
}

/// The runs of one scenario.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioTrend {
    pub scenario_id: String,
    pub runs: Vec<TrendPoint>,
}

/// A run that has no place in the trend, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    pub run: String,
    pub reason: String,
}

/// `trend.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Trend {
    pub contract_version: &'static str,
    /// Volatile.
    pub generated_at_utc: String,
    pub scenarios: Vec<ScenarioTrend>,
    pub skipped: Vec<Skipped>,
}

/// What [`trend`] wrote.
#[derive(Debug, Clone)]
pub struct TrendOutput {
    pub json: PathBuf,
    pub html: PathBuf,
    pub trend: Trend,
}

/// Collect the trend of the workspace at `workspace` (its `runs/`), keeping only `scenario`
/// when given.
pub fn collect(workspace: &Path, scenario: Option<&str>, now: &str) -> Result<Trend, ReportError> {
    let runs = workspace.join("runs");
    let rd = std::fs::read_dir(&runs).map_err(|error| ReportError::Read {
        path: runs.clone(),
        error,
    })?;
    let mut dirs: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_dir()
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    dirs.sort();
    let mut by: BTreeMap<String, Vec<TrendPoint>> = BTreeMap::new();
    let mut skipped = Vec::new();
    for d in dirs {
        let name = d
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let manifest = match crate::inputs::load_manifest(&d) {
            Ok(m) => m,
            Err(e) => {
                skipped.push(Skipped {
                    run: name,
                    reason: e.to_string(),
                });
                continue;
            }
        };
        if scenario.is_some_and(|s| s != manifest.scenario.scenario_id) {
            continue;
        }
        let summary = match crate::inputs::load_summary(&d) {
            Ok(s) => s,
            Err(e) => {
                skipped.push(Skipped {
                    run: name,
                    reason: e.to_string(),
                });
                continue;
            }
        };
        let m = &summary.metrics;
        by.entry(manifest.scenario.scenario_id.clone())
            .or_default()
            .push(TrendPoint {
                run_id: manifest.run_id.clone(),
                started_at_utc: manifest.started_at_utc.clone(),
                scenario_version: manifest.scenario.scenario_version.clone(),
                run_status: manifest.status.as_str().into(),
                status_recommendation: summary.status_recommendation.clone(),
                technique_coverage_rate: m.technique_coverage_rate,
                techniques_executed: m.techniques_executed,
                techniques_detected: m.techniques_detected,
                detection_latency_p50_seconds: m.detection_latency_p50_seconds,
                detection_latency_p95_seconds: m.detection_latency_p95_seconds,
                detection_latency_max_seconds: m.detection_latency_max_seconds,
                gaps_total: m.gap_counts.values().sum(),
                false_positive_detection_count: m.false_positive_detection_count,
            });
    }
    let scenarios: Vec<ScenarioTrend> = by
        .into_iter()
        .map(|(scenario_id, mut runs)| {
            runs.sort_by(|a, b| {
                (&a.started_at_utc, &a.run_id).cmp(&(&b.started_at_utc, &b.run_id))
            });
            ScenarioTrend { scenario_id, runs }
        })
        .collect();
    if scenarios.is_empty() {
        return Err(ReportError::NoRuns {
            workspace: workspace.to_path_buf(),
            scenario: scenario.map(str::to_string),
            skipped: skipped.len(),
        });
    }
    Ok(Trend {
        contract_version: pa_bundle::CONTRACT_VERSION,
        generated_at_utc: now.into(),
        scenarios,
        skipped,
    })
}

/// Render the trend page; `report_link` gives the relative link to a run's report, if any.
pub fn html(
    trend: &Trend,
    report_link: &dyn Fn(&str) -> Option<String>,
) -> Result<String, ReportError> {
    let scenarios: Vec<serde_json::Value> = trend
        .scenarios
        .iter()
        .map(|s| {
            let labels: Vec<String> = s.runs.iter().map(|r| r.started_at_utc.get(..16).unwrap_or(&r.started_at_utc).replace('T', " ")).collect();
            let cov = svg::lines(
                "Technique coverage per run",
                &labels,
                &[svg::Series {
                    name: "technique coverage".into(),
                    color: "#2e7d32",
                    values: s.runs.iter().map(|r| r.technique_coverage_rate.map(|c| c * 100.0)).collect(),
                }],
                Some(100.0),
                "%",
            );
            let lat = svg::lines(
                "Detection latency per run",
                &labels,
                &[
                    svg::Series { name: "p50".into(), color: "#1d4ed8", values: s.runs.iter().map(|r| r.detection_latency_p50_seconds).collect() },
                    svg::Series { name: "p95".into(), color: "#7c3aed", values: s.runs.iter().map(|r| r.detection_latency_p95_seconds).collect() },
                ],
                None,
                " s",
            );
            let runs: Vec<serde_json::Value> = s
                .runs
                .iter()
                .map(|r| json!({
                    "run_id": r.run_id, "started": r.started_at_utc, "version": r.scenario_version,
                    "status": r.status_recommendation, "coverage": pct(r.technique_coverage_rate),
                    "detected": format!("{} / {}", r.techniques_detected, r.techniques_executed),
                    "p50": r.detection_latency_p50_seconds.map(svg::num).unwrap_or_else(|| "-".into()),
                    "p95": r.detection_latency_p95_seconds.map(svg::num).unwrap_or_else(|| "-".into()),
                    "gaps": r.gaps_total, "fp": r.false_positive_detection_count,
                    "href": report_link(&r.run_id),
                }))
                .collect();
            json!({"scenario_id": s.scenario_id, "coverage_svg": cov, "latency_svg": lat, "runs": runs})
        })
        .collect();
    render_template(
        "trend.html",
        TEMPLATE,
        &json!({"style": STYLE, "scenarios": scenarios, "skipped": trend.skipped}),
    )
}

/// Collect and write `trend.json` and `trend.html` into `out` (created when missing).
pub fn write(
    workspace: &Path,
    scenario: Option<&str>,
    out: &Path,
    now: &str,
) -> Result<TrendOutput, ReportError> {
    let trend = collect(workspace, scenario, now)?;
    let default_out = out == workspace.join("trend");
    let runs = workspace.join("runs");
    let link = |run_id: &str| {
        (default_out && runs.join(run_id).join("report/report.html").is_file())
            .then(|| format!("../runs/{run_id}/report/report.html"))
            .filter(|_| run_id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-'))
    };
    let page = html(&trend, &link)?;
    std::fs::create_dir_all(out).map_err(|error| ReportError::Write {
        path: out.to_path_buf(),
        error,
    })?;
    let json_path = out.join("trend.json");
    let html_path = out.join("trend.html");
    let bytes = pa_canon::jcs(&trend).map_err(ReportError::Canonical)?;
    for (p, b) in [
        (&json_path, bytes.as_slice()),
        (&html_path, page.as_bytes()),
    ] {
        pa_bundle::fsutil::write_atomic(p, b).map_err(ReportError::Bundle)?;
    }
    Ok(TrendOutput {
        json: json_path,
        html: html_path,
        trend,
    })
}
