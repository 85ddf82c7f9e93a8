//! `report/run_timeline.md`: the run summary and every action's lifecycle, one table row per
//! action in time order (`-` for what is missing).

use crate::analysis::{ActionView, Analysis};
use crate::inputs::Inputs;

/// A Markdown table cell: one line, `|` escaped, `-` when empty.
pub fn cell(s: &str) -> String {
    let s: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let s = s.trim().replace('\\', "\\\\").replace('|', "\\|");
    if s.is_empty() { "-".into() } else { s }
}

fn opt(s: Option<&str>) -> String {
    cell(s.unwrap_or(""))
}

fn phase(a: &ActionView, i: usize) -> String {
    match &a.phases[i] {
        None => "-".into(),
        Some(p) => {
            let mut s = p.outcome.clone();
            if let Some(c) = &p.reason_code {
                s.push_str(&format!(" ({c})"));
            } else if let Some(e) = p.exit_code.filter(|e| *e != 0) {
                s.push_str(&format!(" (exit {e})"));
            }
            cell(&s)
        }
    }
}

/// Render the timeline.
pub fn render(inputs: &Inputs, analysis: &Analysis, status: &str) -> String {
    let m = &inputs.manifest;
    let s = &inputs.summary;
    let mut out = String::from("# Run timeline\n\n");
    out.push_str("| field | value |\n|---|---|\n");
    let rows: Vec<(&str, String)> = vec![
        ("run_id", cell(&m.run_id)),
        (
            "scenario",
            cell(&format!("{} {}", s.scenario_id, s.scenario_version)),
        ),
        ("status", cell(status)),
        (
            "pipeline status (stages before reporting)",
            cell(crate::report::pipeline_status(m).as_str()),
        ),
        ("started_utc", cell(&m.started_at_utc)),
        ("actions_window_utc", {
            let (a, b, _) = crate::report::actions_window(analysis);
            cell(&format!(
                "{} → {}",
                a.as_deref().unwrap_or("-"),
                b.as_deref().unwrap_or("-")
            ))
        }),
        (
            "targets",
            cell(
                &m.targets
                    .iter()
                    .map(|t| t.asset_id.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
        ),
        (
            "actions (total / executed / detected)",
            format!(
                "{} / {} / {}",
                s.metrics.actions_total, s.metrics.actions_executed, s.metrics.actions_detected
            ),
        ),
        (
            "techniques (executed / detected)",
            format!(
                "{} / {}",
                s.metrics.techniques_executed, s.metrics.techniques_detected
            ),
        ),
    ];
    for (k, v) in rows {
        out.push_str(&format!("| {k} | {v} |\n"));
    }
    out.push_str("\n## Actions\n\n");
    out.push_str("| order | action_id | action_key | technique_id | target_asset_id | start_utc | end_utc | duration_ms | prepare | execute | revert | teardown | evidence |\n");
    out.push_str("|---:|---|---|---|---|---|---|---:|---|---|---|---|---|\n");
    for a in &analysis.actions {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            a.order,
            cell(&a.action_id),
            cell(&a.action_key),
            cell(&a.technique_id),
            cell(&a.target_asset_id),
            opt(a.start_utc.as_deref()),
            opt(a.end_utc.as_deref()),
            a.duration_ms
                .map(|d| d.to_string())
                .unwrap_or_else(|| "-".into()),
            phase(a, 0),
            phase(a, 1),
            phase(a, 2),
            phase(a, 3),
            cell(&a.evidence.join(", ")),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_stay_in_their_column() {
        assert_eq!(cell("a|b\nc"), "a\\|b c");
        assert_eq!(cell("  "), "-");
    }
}
