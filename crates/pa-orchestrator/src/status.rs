//! `pa-orchestrate status` and `list`.

use pa_bundle::{BundleError, Manifest, RunDir, Workspace};
use std::fmt::Write;

/// A table of a run's outcomes.
pub fn status_table(m: &Manifest) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "run {}  status {}  scenario {} {}",
        m.run_id,
        m.status.as_str(),
        m.scenario.scenario_id,
        m.scenario.scenario_version
    );
    let _ = writeln!(
        s,
        "started {}  ended {}",
        m.started_at_utc,
        m.ended_at_utc.as_deref().unwrap_or("-")
    );
    let _ = writeln!(
        s,
        "{:<40} {:<8} {:<13} {:<32} {:>10}",
        "STAGE", "STATUS", "FAIL_MODE", "REASON", "DURATION"
    );
    for o in &m.stage_outcomes {
        let dur = o
            .duration_ms
            .map(|d| format!("{:.3}s", d as f64 / 1000.0))
            .unwrap_or_else(|| "-".into());
        let _ = writeln!(
            s,
            "{:<40} {:<8} {:<13} {:<32} {:>10}",
            o.stage,
            o.status.as_str(),
            o.fail_mode.as_str(),
            o.reason_code.as_deref().unwrap_or("-"),
            dur
        );
        if let Some(msg) = &o.message {
            let _ = writeln!(s, "    {msg}");
        }
    }
    for st in &m.enabled_stages {
        if m.outcome(*st).is_none() {
            let _ = writeln!(s, "{:<40} {:<8}", st.as_str(), "pending");
        }
    }
    s
}

/// One line per run in the workspace, newest first: (started_at, run_id, status, scenario).
pub fn list_runs(ws: &Workspace) -> Result<Vec<(String, String, String, String)>, BundleError> {
    let mut rows = Vec::new();
    for dir in ws.list_runs()? {
        match RunDir::open(&dir) {
            Ok((_, m)) => rows.push((
                m.started_at_utc.clone(),
                m.run_id.clone(),
                m.status.as_str().to_string(),
                m.scenario.scenario_id.clone(),
            )),
            Err(e) => rows.push((
                String::new(),
                dir.file_name()
                    .map(|n| n.to_string_lossy().to_string())
                    .unwrap_or_default(),
                "unreadable".into(),
                e.to_string(),
            )),
        }
    }
    rows.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    Ok(rows)
}
