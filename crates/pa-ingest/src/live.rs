//! Live audit sources: the run's capture window read from the asset's audit log.
//!
//! The runner opened a capture session on the asset (`runner/capture_session.json`: audit
//! rules, lost-record counter before and after, the canary) and ran the actions
//! (`ground_truth.jsonl`). This stage checks that no record was lost, computes the capture
//! window (the canary and the first action's start − padding → the last action's end +
//! padding), reads that window from the audit log and its rotated files on the asset (over
//! ssh for ssh targets), checks that the canary's execve record is in it, and stages the slice
//! as `raw/live/<source_id>/audit.log`, which is then read like a recorded audit log.

use pa_audit::{ExecHost, WindowSlice};
use pa_bundle::reason::TelemetryReason;
use pa_config::{RangeConfig, TelemetrySource};
use pa_stage::{StageContext, StageFailure};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where the runner records its capture sessions.
pub const SESSION_PATH: &str = "runner/capture_session.json";
/// How long to wait for the canary to reach the log (auditd writes asynchronously).
const CANARY_WAIT: Duration = Duration::from_secs(10);

/// A live source's capture: the staged slice and its window.
#[derive(Debug)]
pub struct LiveCapture {
    /// The staged slice (absolute, in the staging area).
    pub file: PathBuf,
    /// Its bundle-relative path.
    pub rel: String,
    /// The capture window (ms).
    pub window: (i64, i64),
    /// Counts of the slice.
    pub slice: WindowSlice,
    /// Audit events of the runner's own rule changes (`CONFIG_CHANGE` with the run's key, and
    /// their syscall records) left out of the capture: instrumentation, not the scenario's.
    pub control_events_excluded: u64,
}

/// Remove the events (every record of an `audit(TS:SERIAL)` id) whose `CONFIG_CHANGE` record
/// carries the run's audit key: the runner installing and removing its rules. Returns the text
/// without them and how many events went.
pub fn without_control_events(text: &str, key: &str) -> (String, u64) {
    let needle = format!("key=\"{key}\"");
    let id_of = |line: &str| -> Option<String> {
        let rest = line.split("msg=audit(").nth(1)?;
        Some(rest.split(')').next()?.to_string())
    };
    let ids: std::collections::BTreeSet<String> = text
        .lines()
        .filter(|l| l.starts_with("type=CONFIG_CHANGE") && l.contains(&needle))
        .filter_map(id_of)
        .collect();
    if ids.is_empty() {
        return (text.to_string(), 0);
    }
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        if id_of(line).is_some_and(|id| ids.contains(&id)) {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    (out, ids.len() as u64)
}

fn fail(code: TelemetryReason, msg: String) -> StageFailure {
    StageFailure::new(code, msg)
}

fn read_json_lines(path: &Path) -> Result<Vec<Value>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| format!("{}:{}: {e}", path.display(), i + 1))
        })
        .collect()
}

fn ms(v: &Value) -> Option<i64> {
    v.as_str()
        .and_then(|s| pa_canon::parse_rfc3339_to_millis(s).ok())
}

/// The span of the asset's actions in the ground truth: earliest phase start, latest phase end.
pub fn actions_span(rows: &[Value], asset_id: &str) -> Option<(i64, i64)> {
    let mut span: Option<(i64, i64)> = None;
    for r in rows.iter().filter(|r| r["target_asset_id"] == asset_id) {
        for ph in r["lifecycle"]["phases"].as_array().into_iter().flatten() {
            for t in [ms(&ph["started_at_utc"]), ms(&ph["ended_at_utc"])]
                .into_iter()
                .flatten()
            {
                span = Some(match span {
                    None => (t, t),
                    Some((a, b)) => (a.min(t), b.max(t)),
                });
            }
        }
    }
    span
}

/// Slack for the kernel's coarse audit clock, which stamps records a few ms behind the wall clock.
const CLOCK_SLACK_MS: i64 = 100;

/// The capture window: the first phase start (or the canary) − padding → the last phase end +
/// padding, never wider than the capture session itself (opened before the rules went in,
/// closed after they came out, ± the clock slack): what happened on the host before this run
/// began or after it ended is not this run's (another run's tail in the padding would count
/// as this run's unexplained detections).
pub fn capture_window(
    first: i64,
    last: i64,
    pad: i64,
    opened: Option<i64>,
    closed: Option<i64>,
) -> (i64, i64) {
    let mut start = first - pad;
    let mut end = last + pad;
    if let Some(o) = opened {
        start = start.max(o - CLOCK_SLACK_MS);
    }
    if let Some(c) = closed {
        end = end.min(c + CLOCK_SLACK_MS);
    }
    (start.min(first), end.max(last))
}

/// Read a live source's capture window and stage it.
pub fn capture(
    ctx: &mut StageContext<'_>,
    range: &RangeConfig,
    base: &Path,
    src: &TelemetrySource,
) -> Result<LiveCapture, StageFailure> {
    let id = &src.source_id;
    let session_path = ctx.input(SESSION_PATH).map_err(|_| {
        fail(
            TelemetryReason::CaptureSessionMissing,
            format!(
                "{SESSION_PATH}: missing: live source {id} captures what the runner of this run executed; run the runner stage first"
            ),
        )
    })?;
    let doc: Value = std::fs::read(&session_path)
        .map_err(|e| e.to_string())
        .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
        .map_err(|e| {
            fail(
                TelemetryReason::CaptureSessionMissing,
                format!("{SESSION_PATH}: {e}"),
            )
        })?;
    let session = doc["sessions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| {
            s["source_ids"]
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x == id.as_str()))
        })
        .ok_or_else(|| {
            fail(
                TelemetryReason::CaptureSessionMissing,
                format!(
                    "{SESSION_PATH}: no capture session for live source {id} (asset {})",
                    src.asset_id
                ),
            )
        })?;
    // Lost records: the capture is incomplete.
    let before = session["lost_before"].as_u64();
    let after = session["lost_after"].as_u64();
    match (before, after) {
        (Some(b), Some(a)) if a > b => {
            return Err(fail(
                TelemetryReason::AuditEventsLost,
                format!(
                    "live source {id}: {} audit record(s) were lost during the run (kernel lost counter {b} → {a}): the capture is incomplete; raise the backlog (auditctl -b), lower the rate limit (auditctl -r 0) or load fewer rules, and run again",
                    a - b
                ),
            ));
        }
        (Some(_), Some(_)) => {}
        _ => {
            return Err(fail(
                TelemetryReason::AuditEventsLost,
                format!(
                    "live source {id}: {SESSION_PATH} does not say how many records were lost (lost_before/lost_after): the capture cannot be trusted"
                ),
            ));
        }
    }
    // The window.
    let gt = ctx.input("ground_truth.jsonl")?;
    let rows = read_json_lines(&gt).map_err(|e| fail(TelemetryReason::CaptureSessionMissing, e))?;
    let canary = &session["canary"];
    let token = canary["token"].as_str().unwrap_or_default().to_string();
    let mut span = actions_span(&rows, &src.asset_id);
    for t in [ms(&canary["started_at_utc"]), ms(&canary["ended_at_utc"])]
        .into_iter()
        .flatten()
    {
        span = Some(match span {
            None => (t, t),
            Some((a, b)) => (a.min(t), b.max(t)),
        });
    }
    let Some((first, last)) = span else {
        return Err(fail(
            TelemetryReason::CaptureSessionMissing,
            format!(
                "live source {id}: neither the ground truth nor the capture session has a time on asset {}",
                src.asset_id
            ),
        ));
    };
    let pad = src.padding_ms();
    let window = capture_window(
        first,
        last,
        pad,
        ms(&session["opened_at_utc"]),
        ms(&session["closed_at_utc"]),
    );
    // The window's end may still be ahead: wait for it (at most the padding).
    let now = pa_canon::now_utc_millis();
    if window.1 > now {
        std::thread::sleep(Duration::from_millis((window.1 - now).min(pad) as u64));
    }
    let asset = range
        .lab
        .assets
        .iter()
        .find(|a| a.asset_id == src.asset_id)
        .ok_or_else(|| {
            fail(
                TelemetryReason::RequiredSourceMissing,
                format!("live source {id}: asset {} is not in the lab", src.asset_id),
            )
        })?;
    let exec = pa_exec::executor_for(range, base, asset, pa_exec::Purpose::Read)
        .map_err(|e| fail(TelemetryReason::AuditLogUnavailable, e.to_string()))?;
    let host = ExecHost::new(exec.as_ref());
    let log = src.live_log_path();
    let started = std::time::Instant::now();
    let slice = loop {
        let slice = pa_audit::read_window(&host, log, window.0, window.1).map_err(|e| {
            fail(
                TelemetryReason::AuditLogUnavailable,
                format!("live source {id}: {e}"),
            )
        })?;
        if pa_audit::find_execve_arg(&slice.text, &token).is_some() {
            break slice;
        }
        if started.elapsed() >= CANARY_WAIT {
            return Err(fail(
                TelemetryReason::CaptureCanaryMissing,
                format!(
                    "live source {id}: the canary ({token}, run by the runner with audit login uid {}) is not in {log} between {} and {}: the capture does not see the runner's session; are execve rules loaded for that auid (manage_audit_rules: true installs them) and is auditd writing {log}?",
                    doc["audit_login_uid"],
                    pa_canon::format_utc_millis(window.0),
                    pa_canon::format_utc_millis(window.1)
                ),
            ));
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    let key = session["audit"]["key"].as_str().unwrap_or_default();
    let (text, control_events_excluded) = if key.is_empty() {
        (slice.text.clone(), 0)
    } else {
        without_control_events(&slice.text, key)
    };
    let rel = format!("raw/live/{id}/audit.log");
    ctx.staging.write(&rel, text.as_bytes())?;
    let file = ctx.staging.path_for(&rel)?;
    tracing::info!(
        source = %id,
        records = slice.records_kept,
        from = %pa_canon::format_utc_millis(window.0),
        to = %pa_canon::format_utc_millis(window.1),
        "live capture read"
    );
    Ok(LiveCapture {
        file,
        rel,
        window,
        slice,
        control_events_excluded,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_runner_s_own_rule_changes_are_left_out_and_counted() {
        let log = "type=CONFIG_CHANGE msg=audit(1.000:10): auid=4294967295 op=add_rule key=\"pa-1234abcd\" list=4 res=1\n\
type=SYSCALL msg=audit(1.000:10): syscall=44 comm=\"auditctl\" key=(null)\n\
type=PATH msg=audit(1.000:10): item=0 name=\"/root/.ssh\"\n\
type=SYSCALL msg=audit(1.001:11): syscall=59 comm=\"ls\" key=\"pa-1234abcd\"\n\
type=CONFIG_CHANGE msg=audit(1.002:12): auid=0 op=add_rule key=\"someone-else\" list=4 res=1\n";
        let (out, n) = without_control_events(log, "pa-1234abcd");
        assert_eq!(n, 1);
        assert_eq!(
            out,
            "type=SYSCALL msg=audit(1.001:11): syscall=59 comm=\"ls\" key=\"pa-1234abcd\"\n\
type=CONFIG_CHANGE msg=audit(1.002:12): auid=0 op=add_rule key=\"someone-else\" list=4 res=1\n"
        );
        assert_eq!(without_control_events(log, "pa-other").1, 0);
    }

    #[test]
    fn the_window_is_padded_but_never_wider_than_the_capture_session() {
        // Padding 5 s; the session opened 1 s before the first phase, closed 0.5 s after the last.
        assert_eq!(
            capture_window(10_000, 20_000, 5_000, Some(9_000), Some(20_500)),
            (8_900, 20_600)
        );
        // Without session times: the padding alone.
        assert_eq!(
            capture_window(10_000, 20_000, 5_000, None, None),
            (5_000, 25_000)
        );
        // Never narrower than the run's own phases.
        assert_eq!(
            capture_window(10_000, 20_000, 0, Some(12_000), Some(15_000)),
            (10_000, 20_000)
        );
    }

    #[test]
    fn the_span_covers_every_phase_of_the_asset_only() {
        let rows = vec![
            json!({"target_asset_id": "a", "lifecycle": {"phases": [
                {"started_at_utc": "2026-01-01T00:00:01.000Z", "ended_at_utc": "2026-01-01T00:00:02.000Z"},
                {"started_at_utc": "2026-01-01T00:00:05.000Z", "ended_at_utc": "2026-01-01T00:00:09.500Z"},
                {"phase_outcome": "skipped"}]}}),
            json!({"target_asset_id": "b", "lifecycle": {"phases": [
                {"started_at_utc": "2025-01-01T00:00:00.000Z"}]}}),
        ];
        let (a, b) = actions_span(&rows, "a").unwrap();
        assert_eq!(pa_canon::format_utc_millis(a), "2026-01-01T00:00:01.000Z");
        assert_eq!(pa_canon::format_utc_millis(b), "2026-01-01T00:00:09.500Z");
        assert!(actions_span(&rows, "c").is_none());
    }
}
