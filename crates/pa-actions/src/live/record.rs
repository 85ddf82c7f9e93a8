//! What a live action leaves in the bundle: its `ground_truth.jsonl` row,
//! `runner/actions/<action_id>/executor.json` and the redacted transcripts beside it.

use crate::identity;
use crate::live::lifecycle::{ActionRun, Outcome, Phase};
use crate::live::plan::{Plan, PlannedAction};
use pa_exec::Captured;
use serde_json::{Value, json};

/// A transcript file of an action: bundle-relative path and its bytes.
pub type Transcript = (String, Vec<u8>);

fn ts(ms: i64) -> String {
    pa_canon::format_utc_millis(ms)
}

/// The directory of an action's evidence.
pub fn action_dir(action_id: &str) -> String {
    format!("runner/actions/{action_id}")
}

/// The transcript file name of a phase's stream (`stdout.txt`, `prereqs_stderr.txt`,
/// `cleanup_stdout.txt`).
fn transcript_name(phase: &str, stderr: bool) -> Option<String> {
    let stream = if stderr { "stderr" } else { "stdout" };
    match phase {
        "prepare" => Some(format!("prereqs_{stream}.txt")),
        "execute" => Some(format!("{stream}.txt")),
        "revert" => Some(format!("cleanup_{stream}.txt")),
        _ => None,
    }
}

/// A transcript's text: UTF-8 (U+FFFD for invalid bytes), LF line ends, secrets redacted, and
/// a last line saying how much was cut when the stream was longer than the bound.
fn transcript_text(c: &Captured, p: &PlannedAction) -> Vec<u8> {
    let r = p.redactor.redact(&c.text());
    if let Some(why) = &r.withheld {
        tracing::warn!(
            action_id = %p.action.action_id,
            check = %why,
            "a transcript of action {} is withheld: the redaction policy's check {why} still matched after redaction",
            p.action.action_id
        );
    }
    let mut text = r.text;
    if c.truncated() {
        if !text.ends_with('\n') && !text.is_empty() {
            text.push('\n');
        }
        text.push_str(&format!(
            "<TRUNCATED len={} kept={}>\n",
            c.total,
            c.bytes.len()
        ));
    }
    text.into_bytes()
}

/// The transcripts of an action (only for phases that ran a command).
pub fn transcripts(p: &PlannedAction, run: &ActionRun) -> Vec<Transcript> {
    let dir = action_dir(&p.action.action_id);
    let mut out = Vec::new();
    for ph in &run.phases {
        for stderr in [false, true] {
            if let (Some(name), Some((c, _))) =
                (transcript_name(ph.phase, stderr), ph.output(stderr))
            {
                out.push((format!("{dir}/{name}"), transcript_text(&c, p)));
            }
        }
    }
    out
}

fn phase_json(p: &PlannedAction, ph: &Phase) -> Value {
    let mut v = json!({
        "phase": ph.phase,
        "attempt_ordinal": 1,
        "phase_outcome": ph.outcome.as_str(),
    });
    if let Some(t) = ph.started_ms {
        v["started_at_utc"] = json!(ts(t));
    }
    if let Some(t) = ph.ended_ms {
        v["ended_at_utc"] = json!(ts(t));
    }
    if let Some(code) = ph.reason_code {
        v["reason_domain"] = json!("ground_truth");
        v["reason_code"] = json!(code);
    }
    if !ph.steps.is_empty() {
        v["exit_code"] = json!(ph.exit_code);
    }
    if let Some((kind, msg)) = &ph.error {
        if ph.outcome != Outcome::Success {
            v["error"] = json!({"type": kind, "message": p.redactor.text(msg)});
        }
    }
    if !ph.steps.is_empty() {
        let dir = action_dir(&p.action.action_id);
        let mut ev = json!({"executor_ref": format!("{dir}/executor.json")});
        if let Some(n) = transcript_name(ph.phase, false) {
            ev["stdout_ref"] = json!(format!("{dir}/{n}"));
        }
        if let Some(n) = transcript_name(ph.phase, true) {
            ev["stderr_ref"] = json!(format!("{dir}/{n}"));
        }
        v["evidence"] = ev;
    }
    v
}

/// The first line of the canonical command (secrets redacted), at most 200 characters.
fn command_summary(p: &PlannedAction) -> String {
    let text = p.redactor.text(&p.test.command.canonical.join("\n"));
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let mut s: String = line.chars().take(200).collect();
    if line.chars().count() > 200 {
        s.push('…');
    }
    s
}

/// The action's `ground_truth.jsonl` row.
pub fn ground_truth_row(
    run_id: &str,
    scenario: &pa_config::ScenarioConfig,
    p: &PlannedAction,
    run: &ActionRun,
) -> Value {
    let first = run
        .phases
        .iter()
        .filter_map(|ph| ph.started_ms)
        .min()
        .unwrap_or_else(crate::live::now_ms);
    let a = &p.asset;
    let mut target = json!({"os": a.os, "role": a.role, "tags": a.tags});
    if let Some(h) = &a.hostname {
        target["hostname"] = json!(h);
    }
    if let Some(ip) = &a.ip {
        target["ip"] = json!(ip);
    }
    let marker = identity::marker(run_id, &p.action.action_id);
    json!({
        "run_id": run_id,
        "scenario_id": scenario.scenario_id,
        "scenario_version": scenario.scenario_version,
        "action_id": p.action.action_id,
        "action_key": p.action_key,
        "timestamp_utc": ts(first),
        "engine": "atomic",
        "engine_test_id": p.test.engine_test_id,
        "technique_id": p.action.technique_id,
        "target_asset_id": a.asset_id,
        "resolved_target": target,
        "parameters": {
            "input_args_redacted": p.inputs_redacted,
            "resolved_inputs_sha256": p.resolved_inputs_sha256,
            "command_summary": command_summary(p),
        },
        "lifecycle": {"phases": run.phases.iter().map(|ph| phase_json(p, ph)).collect::<Vec<_>>()},
        "extensions": {
            "synthetic_correlation_marker_digest": identity::marker_digest(&marker),
            "synthetic_correlation_marker": marker,
            "command_sha256": p.command_sha256,
            "atomic": {
                "test_number": p.test.test_number,
                "test_name": p.test.name,
                "executor": p.test.executor.as_str(),
                "elevation_required": p.test.elevation_required,
            },
        },
    })
}

/// Where an action ran, for its executor document.
pub struct RanOn<'a> {
    /// `local` or `ssh`.
    pub executor: &'a str,
    /// The target's label.
    pub target: &'a str,
    /// Commands ran as root.
    pub privileged: bool,
    /// The audit login uid the commands were tagged with.
    pub tag: Option<u32>,
}

/// `runner/actions/<action_id>/executor.json`: how each command of the action ran.
pub fn executor_document(
    run_id: &str,
    plan: &Plan,
    p: &PlannedAction,
    run: &ActionRun,
    on: &RanOn<'_>,
) -> Value {
    let RanOn {
        executor,
        target,
        privileged,
        tag,
    } = *on;
    let mut commands = Vec::new();
    for ph in &run.phases {
        for s in &ph.steps {
            let r = &s.result;
            commands.push(json!({
                "phase": ph.phase,
                "step": s.step,
                "started_at_utc": ts(r.started_ms),
                "ended_at_utc": ts(r.ended_ms),
                "duration_ms": r.duration_ms().max(0),
                "exit_code": r.exit_code,
                "signal": r.signal,
                "timed_out": r.timed_out,
                "cancelled": r.cancelled,
                "strays_killed": r.strays_killed,
                "tagged_pid": r.tagged_pid,
                "stdout_bytes": r.stdout.total,
                "stdout_kept": r.stdout.bytes.len(),
                "stderr_bytes": r.stderr.total,
                "stderr_kept": r.stderr.bytes.len(),
            }));
        }
    }
    let mut doc = json!({
        "contract_version": pa_bundle::CONTRACT_VERSION,
        "run_id": run_id,
        "action_id": p.action.action_id,
        "executor": executor,
        "target": target,
        "interpreter": p.test.executor.as_str(),
        "atomics_root_actual": plan.atomics_root_actual,
        "elevation_required": p.test.elevation_required,
        "privileged": privileged,
        "timeout_seconds": p.timeout.as_secs(),
        "commands": commands,
    });
    if let Some(uid) = tag {
        doc["audit_login_uid"] = json!(uid);
    }
    doc
}
