//! Capture sessions of live audit sources: opened on each target before its first action,
//! closed after the last one, recorded in `runner/capture_session.json` for the telemetry
//! stage.
//!
//! Opening a session on a target with a live `auditd` source checks that auditd runs there,
//! installs the run's audit rules when the source says `manage_audit_rules: true` (scoped to
//! the runner's tagged session: `-F auid=<tag> -k <run key>`), reads the kernel's lost-record
//! counter, and runs the canary: a tagged `/bin/echo pa-canary-<run>` whose execve record the
//! telemetry stage must find in the capture. Closing removes exactly the run's rules and reads
//! the counter again. A [`Sessions`] that is dropped without being closed (an error or a panic
//! on the way) still removes the rules.

use pa_audit::{AuditReport, AuditStatus, ExecHost, InstallReport, RulePlan};
use pa_bundle::reason::RunnerReason;
use pa_config::{RangeConfig, TelemetrySource};
use pa_exec::{Cancel, CommandSpec, Executor, Interpreter};
use pa_stage::StageFailure;
use serde_json::{Value, json};
use std::time::Duration;

/// Where the sessions are recorded.
pub const SESSION_PATH: &str = "runner/capture_session.json";

/// The canary's argument for a run.
pub fn canary_token(run_id: &str) -> String {
    let d = pa_canon::sha256_prefixed(run_id.as_bytes());
    let hex = d.trim_start_matches("sha256:");
    format!("pa-canary-{}", &hex[..16])
}

struct Open<'a> {
    asset_id: String,
    source_ids: Vec<String>,
    exec: &'a dyn Executor,
    install: Option<InstallReport>,
    status_before: AuditStatus,
    opened_ms: i64,
    canary: (i64, i64, Option<i32>),
}

/// The capture sessions of one run.
pub struct Sessions<'a> {
    run_id: String,
    tag: u32,
    sources: Vec<TelemetrySource>,
    open: Vec<Open<'a>>,
    closed: bool,
}

fn setup_failed(asset_id: &str, e: impl std::fmt::Display) -> StageFailure {
    StageFailure::new(
        RunnerReason::CaptureSetupFailed,
        format!("capture on {asset_id}: {e}"),
    )
}

impl<'a> Sessions<'a> {
    /// The sessions a range needs (its live auditd sources), none opened yet.
    pub fn new(run_id: &str, range: &RangeConfig, tag: u32) -> Sessions<'a> {
        Sessions {
            run_id: run_id.to_string(),
            tag,
            sources: range
                .telemetry
                .sources
                .iter()
                .filter(|s| s.live && s.format == "auditd")
                .cloned()
                .collect(),
            open: Vec::new(),
            closed: false,
        }
    }

    /// Open the session of one target (nothing when no live source is on it).
    pub fn open(
        &mut self,
        asset_id: &str,
        exec: &'a dyn Executor,
        cancel: &Cancel,
    ) -> Result<(), StageFailure> {
        let mine: Vec<&TelemetrySource> = self
            .sources
            .iter()
            .filter(|s| s.asset_id == asset_id)
            .collect();
        if mine.is_empty() {
            return Ok(());
        }
        let host = ExecHost::new(exec);
        let opened_ms = pa_canon::now_utc_millis();
        let managed = mine.iter().any(|s| s.manage_audit_rules);
        let (install, status_before) = if managed {
            let key = pa_audit::key_for_run(&self.run_id).map_err(|e| setup_failed(asset_id, e))?;
            let plan = RulePlan::new(&key, self.tag).map_err(|e| setup_failed(asset_id, e))?;
            let report = pa_audit::install(&host, &plan).map_err(|e| setup_failed(asset_id, e))?;
            tracing::info!(
                asset = asset_id,
                rules = report.rules_installed.len(),
                key = %report.key,
                "audit rules installed"
            );
            let st = report.status_before.clone();
            (Some(report), st)
        } else {
            let st = pa_audit::ready_status(&host).map_err(|e| setup_failed(asset_id, e))?;
            (None, st)
        };
        // Registered before the canary, so that a failing canary still removes the rules.
        self.open.push(Open {
            asset_id: asset_id.to_string(),
            source_ids: mine.iter().map(|s| s.source_id.clone()).collect(),
            exec,
            install,
            status_before,
            opened_ms,
            canary: (opened_ms, opened_ms, None),
        });
        let token = canary_token(&self.run_id);
        let spec = CommandSpec {
            interpreter: Interpreter::Sh,
            script: format!("/bin/echo {token}"),
            env: vec![],
            timeout: Duration::from_secs(30),
            audit_login_uid: Some(self.tag),
            output_limit: 4096,
            workdir: None,
        };
        let r = exec
            .run(&spec, cancel)
            .map_err(|e| setup_failed(asset_id, e))?;
        if !r.succeeded() {
            return Err(setup_failed(
                asset_id,
                format!(
                    "the canary command (/bin/echo {token}, tagged with audit login uid {}) failed with exit code {:?}: {}",
                    self.tag,
                    r.exit_code,
                    r.stderr.text().trim()
                ),
            ));
        }
        if let Some(o) = self.open.last_mut() {
            o.canary = (r.started_ms, r.ended_ms, r.exit_code);
        }
        Ok(())
    }

    /// Close every session: remove the run's rules, read the lost counter. Returns the
    /// `runner/capture_session.json` document (`None` when no session was opened).
    pub fn close(&mut self) -> Result<Option<Value>, StageFailure> {
        self.closed = true;
        if self.open.is_empty() {
            return Ok(None);
        }
        let token = canary_token(&self.run_id);
        let mut docs = Vec::new();
        let mut first_error = None;
        for o in &self.open {
            let host = ExecHost::new(o.exec);
            let closed_ms = pa_canon::now_utc_millis();
            let (audit, lost_after) = match &o.install {
                Some(inst) => match pa_audit::remove(&host, &inst.key, inst.backlog_restore()) {
                    Ok(rm) => {
                        let rep = AuditReport::new(inst, &rm);
                        let lost = rep.lost_after;
                        (Some(rep), Some(lost))
                    }
                    Err(e) => {
                        first_error.get_or_insert_with(|| setup_failed(&o.asset_id, e));
                        (None, None)
                    }
                },
                None => match pa_audit::status(&host) {
                    Ok(st) => (None, Some(st.lost)),
                    Err(e) => {
                        first_error.get_or_insert_with(|| setup_failed(&o.asset_id, e));
                        (None, None)
                    }
                },
            };
            docs.push(json!({
                "asset_id": o.asset_id,
                "source_ids": o.source_ids,
                "target": o.exec.target_label(),
                "opened_at_utc": pa_canon::format_utc_millis(o.opened_ms),
                "closed_at_utc": pa_canon::format_utc_millis(closed_ms),
                "rules_managed": o.install.is_some(),
                "audit": audit.map(|a| serde_json::to_value(a).unwrap_or(Value::Null)),
                "lost_before": o.status_before.lost,
                "lost_after": lost_after,
                "canary": {
                    "token": token,
                    "started_at_utc": pa_canon::format_utc_millis(o.canary.0),
                    "ended_at_utc": pa_canon::format_utc_millis(o.canary.1),
                    "exit_code": o.canary.2,
                },
            }));
        }
        if let Some(e) = first_error {
            return Err(e);
        }
        Ok(Some(json!({
            "contract_version": pa_bundle::CONTRACT_VERSION,
            "run_id": self.run_id,
            "audit_login_uid": self.tag,
            "sessions": docs,
        })))
    }
}

impl Drop for Sessions<'_> {
    fn drop(&mut self) {
        if self.closed {
            return;
        }
        for o in &self.open {
            if let Some(inst) = &o.install {
                let host = ExecHost::new(o.exec);
                match pa_audit::remove(&host, &inst.key, inst.backlog_restore()) {
                    Ok(rm) => {
                        tracing::info!(asset = %o.asset_id, removed = rm.rules_removed, "audit rules removed")
                    }
                    Err(e) => {
                        tracing::error!(asset = %o.asset_id, "audit rules of key {} could not be removed: {e}", inst.key)
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_canary_token_is_stable_and_plain() {
        let t = canary_token("123e4567-e89b-42d3-a456-426614174000");
        assert_eq!(t, canary_token("123e4567-e89b-42d3-a456-426614174000"));
        assert!(
            t.starts_with("pa-canary-") && t.len() == "pa-canary-".len() + 16,
            "{t}"
        );
        assert!(t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    }
}
