//! The live runner: Atomic Red Team tests executed on the range's targets (`local`: this host;
//! `ssh`: hosts reached with the system ssh client).
//!
//! Order of work: the whole plan is resolved first (targets, tests, inputs, secrets, identity;
//! any problem fails the stage with every problem named and nothing executed); then, per
//! target, the executor is probed (reachable, root or not); the capture sessions of live audit
//! sources are opened (audit rules installed, lost-event counter read, canary run); the
//! actions run in scenario order through their lifecycle; the capture sessions are closed
//! (rules removed: also after a failure or an interruption); and only then is anything
//! staged. An interruption (SIGINT/SIGTERM) kills the running command's process group, runs
//! its cleanup, closes the capture and fails the stage with nothing published.

pub mod capture;
pub mod lifecycle;
pub mod plan;
pub mod record;
pub mod redact;

use lifecycle::{ActionRun, Lifecycle, Outcome};
use pa_bundle::reason::{CommonReason, RunnerReason};
use pa_bundle::{ReasonCode, Stage};
use pa_config::{Asset, RangeConfig, ScenarioConfig};
use pa_exec::{Cancel, Executor};
use pa_stage::{StageContext, StageFailure, StageSuccess};
use plan::{Plan, PlanProblems};
use std::collections::BTreeMap;
use std::path::Path;

pub(crate) fn now_ms() -> i64 {
    pa_canon::now_utc_millis()
}

/// The stage failure of a plan that cannot run: the first problem's code when the catalog
/// has it, else `prepare_failed`; the message lists every problem.
pub fn plan_failure(p: &PlanProblems) -> StageFailure {
    let code = p
        .problems
        .first()
        .and_then(|(c, _)| ReasonCode::parse_for(Stage::Runner, c))
        .unwrap_or(ReasonCode::Runner(RunnerReason::PrepareFailed));
    StageFailure::new(code, p.to_string())
}

/// The executor that runs actions on an asset.
pub fn executor_for(
    range: &RangeConfig,
    base: &Path,
    asset: &Asset,
) -> Result<Box<dyn Executor>, StageFailure> {
    pa_exec::executor_for(range, base, asset, pa_exec::Purpose::Execute).map_err(|e| {
        let code = match e {
            pa_exec::TargetError::LocalExecutionNotAllowed => {
                RunnerReason::LocalExecutionNotAllowed
            }
            pa_exec::TargetError::AddressMissing(_) => RunnerReason::TargetConnectionAddressMissing,
            pa_exec::TargetError::Replay => RunnerReason::ExecutorNotFound,
        };
        StageFailure::new(code, e.to_string())
    })
}

/// `pa-runner --dry-run`: the resolved plan as text; runs nothing.
pub fn dry_run(
    run_id: &str,
    range: &RangeConfig,
    scenario: &ScenarioConfig,
    base: &Path,
) -> Result<String, StageFailure> {
    let plan = plan::build(run_id, range, scenario, base, &plan::ProcessEnv)
        .map_err(|p| plan_failure(&p))?;
    Ok(plan::describe(&plan))
}

/// A target's executor, probed.
struct Target {
    exec: Box<dyn Executor>,
    is_root: bool,
    /// The audit login uid its commands are tagged with (`None`: tagging is not possible
    /// there, e.g. not root, and no live audit source needs it).
    tag: Option<u32>,
}

/// Whether commands on a target can be tagged with an audit login uid: a tagged `true` runs.
fn can_tag(exec: &dyn Executor, tag: u32) -> bool {
    let spec = pa_exec::CommandSpec {
        interpreter: pa_exec::Interpreter::Sh,
        script: "true".into(),
        env: vec![],
        timeout: std::time::Duration::from_secs(30),
        audit_login_uid: Some(tag),
        output_limit: 4096,
        workdir: None,
    };
    exec.run(&spec, &Cancel::new()).is_ok_and(|r| r.succeeded())
}

/// The working directory of a run's commands on every target: a fresh directory, so that a
/// test that lists or searches "." sees nothing of the host's, removed when the run ends.
pub fn workdir(run_id: &str) -> String {
    format!("/tmp/pa-runner-{}", &run_id[..8.min(run_id.len())])
}

fn make_workdir(t: &Target, dir: &str, asset_id: &str) -> Result<(), StageFailure> {
    let argv: Vec<String> = ["mkdir", "-p", "-m", "0700", "--", dir]
        .iter()
        .map(|s| s.to_string())
        .collect();
    match t.exec.run_argv(&argv, pa_exec::PROBE_TIMEOUT) {
        Ok(out) if out.ok() => Ok(()),
        Ok(out) => Err(StageFailure::new(
            RunnerReason::PrepareFailed,
            format!(
                "target {asset_id}: cannot create the working directory {dir}: {}",
                out.stderr.trim()
            ),
        )),
        Err(e) => Err(StageFailure::new(
            RunnerReason::TargetUnreachable,
            format!("target {asset_id}: {e}"),
        )),
    }
}

fn remove_workdir(t: &Target, dir: &str, asset_id: &str) {
    let argv: Vec<String> = ["rm", "-rf", "--", dir]
        .iter()
        .map(|s| s.to_string())
        .collect();
    match t.exec.run_argv(&argv, pa_exec::PROBE_TIMEOUT) {
        Ok(out) if out.ok() => {}
        Ok(out) => tracing::warn!(
            asset = asset_id,
            "cannot remove {dir}: {}",
            out.stderr.trim()
        ),
        Err(e) => tracing::warn!(asset = asset_id, "cannot remove {dir}: {e}"),
    }
}

/// Register SIGINT/SIGTERM to set a cancellation flag (the orchestrator forwards SIGTERM).
fn interrupt_flag() -> Cancel {
    let cancel = Cancel::new();
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        if let Err(e) = signal_hook::flag::register(sig, cancel.flag()) {
            tracing::warn!("cannot watch signal {sig}: {e}");
        }
    }
    cancel
}

/// The stage code of an action's earliest failing phase.
fn failure_code(run: &ActionRun) -> Option<RunnerReason> {
    run.phases
        .iter()
        .find(|p| p.outcome == Outcome::Failed)
        .map(|p| match (p.phase, p.reason_code) {
            (_, Some("action_timeout")) => RunnerReason::ActionTimeout,
            ("prepare", _) => RunnerReason::PrepareFailed,
            ("execute", _) => RunnerReason::ExecuteFailed,
            ("revert", _) => RunnerReason::RevertFailed,
            _ => RunnerReason::TeardownFailed,
        })
}

/// Run the scenario's actions on the range's targets and stage the ground truth and evidence.
pub fn run(
    ctx: &mut StageContext<'_>,
    range: &RangeConfig,
    scenario: &ScenarioConfig,
) -> Result<StageSuccess, StageFailure> {
    let base = ctx.range_base_dir();
    let run_id = ctx.run.run_id().to_string();
    let plan: Plan = plan::build(&run_id, range, scenario, &base, &plan::ProcessEnv)
        .map_err(|p| plan_failure(&p))?;
    let cancel = interrupt_flag();

    // Targets in use, probed before anything runs.
    let mut targets: BTreeMap<String, Target> = BTreeMap::new();
    for p in &plan.actions {
        if targets.contains_key(&p.asset.asset_id) {
            continue;
        }
        let exec = executor_for(range, &base, &p.asset)?;
        let is_root = exec.is_root().map_err(|e| {
            StageFailure::new(
                RunnerReason::TargetUnreachable,
                format!("target {}: {e}", p.asset.asset_id),
            )
        })?;
        let tag = range.runner.audit_login_uid();
        let live = range
            .telemetry
            .sources
            .iter()
            .any(|s| s.live && s.asset_id == p.asset.asset_id);
        let tag = if can_tag(exec.as_ref(), tag) {
            Some(tag)
        } else if live {
            return Err(StageFailure::new(
                RunnerReason::CaptureSetupFailed,
                format!(
                    "target {}: commands cannot be tagged with audit login uid {tag} (writing /proc/self/loginuid needs root with CAP_AUDIT_CONTROL, and loginuid not immutable); the live audit source on it needs the tag to attribute records",
                    p.asset.asset_id
                ),
            ));
        } else {
            tracing::warn!(
                target = %p.asset.asset_id,
                "commands cannot be tagged with an audit login uid (not root?): they run untagged"
            );
            None
        };
        let t = Target { exec, is_root, tag };
        make_workdir(&t, &workdir(&run_id), &p.asset.asset_id)?;
        targets.insert(p.asset.asset_id.clone(), t);
    }
    let wd = workdir(&run_id);

    // Capture sessions: opened before the first action, closed after the last (the guard
    // closes them on every path out of this function).
    let tag = range.runner.audit_login_uid();
    let mut sessions = capture::Sessions::new(&run_id, range, tag);
    for (asset_id, t) in &targets {
        sessions.open(asset_id, t.exec.as_ref(), &cancel)?;
    }

    let mut runs: Vec<ActionRun> = Vec::new();
    for p in &plan.actions {
        if cancel.is_cancelled() {
            break;
        }
        let t = &targets[&p.asset.asset_id];
        let life = Lifecycle {
            exec: t.exec.as_ref(),
            plan: &plan,
            run_id: &run_id,
            tag: t.tag,
            cancel: &cancel,
            is_root: t.is_root,
            workdir: Some(&wd),
        };
        tracing::info!(
            action = %p.action.action_id,
            technique = %p.action.technique_id,
            test = %p.test.engine_test_id,
            target = %p.asset.asset_id,
            "running"
        );
        let r = life.run(p);
        for ph in &r.phases {
            tracing::debug!(action = %p.action.action_id, phase = ph.phase, outcome = ph.outcome.as_str(), reason = ?ph.reason_code);
        }
        runs.push(r);
    }
    let report = sessions.close();
    for (asset_id, t) in &targets {
        remove_workdir(t, &wd, asset_id);
    }
    if cancel.is_cancelled() {
        return Err(StageFailure::new(
            CommonReason::StageInterrupted,
            format!(
                "interrupted after {} of {} action(s); the running command was killed, its cleanup run, and the audit rules removed",
                runs.len(),
                plan.actions.len()
            ),
        ));
    }
    let report = report?;

    // Stage everything.
    let mut rows = Vec::new();
    let mut warnings = Vec::new();
    let (mut ok, mut failed, mut skipped) = (0usize, 0usize, 0usize);
    for (p, r) in plan.actions.iter().zip(&runs) {
        let t = &targets[&p.asset.asset_id];
        rows.push(record::ground_truth_row(&run_id, scenario, p, r));
        let dir = record::action_dir(&p.action.action_id);
        let label = t.exec.target_label();
        let on = record::RanOn {
            executor: t.exec.kind(),
            target: &label,
            privileged: t.is_root,
            tag: t.tag,
        };
        let doc = record::executor_document(&run_id, &plan, p, r, &on);
        ctx.staging
            .write_json(&format!("{dir}/executor.json"), &doc)?;
        for (rel, bytes) in record::transcripts(p, r) {
            ctx.staging.write(&rel, &bytes)?;
        }
        match failure_code(r) {
            Some(code) => {
                failed += 1;
                let ph = r.phases.iter().find(|x| x.outcome == Outcome::Failed);
                let why = ph
                    .and_then(|x| x.error.as_ref())
                    .map(|(_, m)| p.redactor.text(m))
                    .unwrap_or_default();
                warnings.push((
                    ReasonCode::from(code),
                    format!(
                        "action {} ({}): {why}",
                        p.action.action_id, p.action.technique_id
                    ),
                ));
            }
            None if r
                .phase("execute")
                .is_some_and(|e| e.outcome == Outcome::Success) =>
            {
                ok += 1
            }
            None => {
                skipped += 1;
                let why = r.phases[0]
                    .error
                    .as_ref()
                    .map(|(_, m)| m.clone())
                    .unwrap_or_default();
                tracing::warn!(action = %p.action.action_id, "skipped: {why}");
            }
        }
    }
    rows.sort_by(|a, b| a["action_id"].as_str().cmp(&b["action_id"].as_str()));
    let mut body = String::new();
    for r in &rows {
        body.push_str(
            &pa_canon::to_jsonl_line(r).map_err(|e| {
                StageFailure::new(RunnerReason::GroundTruthWriteFailed, e.to_string())
            })?,
        );
    }
    ctx.staging.write("ground_truth.jsonl", body.as_bytes())?;
    if let Some(doc) = report {
        ctx.staging.write_json(capture::SESSION_PATH, &doc)?;
    }
    // The earliest failing phase across actions decides the stage's code.
    warnings.sort_by_key(|(c, _)| match c.as_str() {
        "prepare_failed" => 0,
        "execute_failed" | "action_timeout" => 1,
        "revert_failed" => 2,
        _ => 3,
    });
    Ok(StageSuccess {
        summary: format!(
            "{} action(s): {ok} executed, {failed} with a failed phase, {skipped} skipped",
            runs.len()
        ),
        warnings,
        ..Default::default()
    })
}
