//! One action's lifecycle: prepare (requirements, prerequisites) → execute → revert (the
//! test's cleanup, also after a failed execute) → teardown, each phase with its times, exit
//! code, outcome and reason code.

use crate::live::plan::{Plan, PlannedAction};
use pa_exec::{Cancel, Captured, CommandResult, CommandSpec, Executor, Interpreter};
use std::time::Duration;

/// Longest a cleanup may take after the run was interrupted.
const CLEANUP_AFTER_INTERRUPT: Duration = Duration::from_secs(60);

/// `success`, `failed` or `skipped`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failed,
    Skipped,
}

impl Outcome {
    /// The contract's word.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failed => "failed",
            Outcome::Skipped => "skipped",
        }
    }
}

/// One command the phase ran.
#[derive(Debug, Clone)]
pub struct Step {
    /// `prereq_check`, `get_prereq`, `execute`, `cleanup`.
    pub step: &'static str,
    /// How it ended.
    pub result: CommandResult,
}

/// One phase.
#[derive(Debug, Clone)]
pub struct Phase {
    /// `prepare`, `execute`, `revert`, `teardown`.
    pub phase: &'static str,
    pub started_ms: Option<i64>,
    pub ended_ms: Option<i64>,
    pub outcome: Outcome,
    /// Reason code (`reason_domain` `ground_truth`), unless success.
    pub reason_code: Option<&'static str>,
    /// The exit code of the phase's last command.
    pub exit_code: Option<i32>,
    /// `(type, message)` of a failure (`timeout`, `nonzero_exit`, `exception`, ...).
    pub error: Option<(&'static str, String)>,
    /// The commands run.
    pub steps: Vec<Step>,
}

impl Phase {
    fn skipped(phase: &'static str, reason: &'static str, message: String) -> Phase {
        let now = crate::live::now_ms();
        Phase {
            phase,
            started_ms: Some(now),
            ended_ms: Some(now),
            outcome: Outcome::Skipped,
            reason_code: Some(reason),
            exit_code: None,
            error: Some((
                if reason == "cleanup_suppressed" {
                    "cleanup_suppressed"
                } else {
                    "validation_failed"
                },
                message,
            )),
            steps: Vec::new(),
        }
    }

    fn blocked(phase: &'static str) -> Phase {
        Phase {
            phase,
            started_ms: None,
            ended_ms: None,
            outcome: Outcome::Skipped,
            reason_code: Some("prior_phase_blocked"),
            exit_code: None,
            error: None,
            steps: Vec::new(),
        }
    }

    /// The phase's output of one stream over its steps (`stdout` or `stderr`), with a header
    /// per step when it ran several.
    pub fn output(&self, stderr: bool) -> Option<(Captured, Vec<&'static str>)> {
        if self.steps.is_empty() {
            return None;
        }
        let mut all = Captured::default();
        let mut names = Vec::new();
        for s in &self.steps {
            let c = if stderr {
                &s.result.stderr
            } else {
                &s.result.stdout
            };
            if self.steps.len() > 1 {
                all.bytes
                    .extend_from_slice(format!("=== {} ===\n", s.step).as_bytes());
            }
            all.bytes.extend_from_slice(&c.bytes);
            all.total += c.total;
            names.push(s.step);
        }
        Some((all, names))
    }
}

/// What ran for one action.
#[derive(Debug, Clone)]
pub struct ActionRun {
    /// prepare, execute, revert, teardown.
    pub phases: Vec<Phase>,
}

impl ActionRun {
    /// The phase by name.
    pub fn phase(&self, name: &str) -> Option<&Phase> {
        self.phases.iter().find(|p| p.phase == name)
    }
}

/// One command of a phase.
struct StepRequest<'c> {
    step: &'static str,
    interpreter: Interpreter,
    commands: &'c [String],
    phase: &'static str,
    cancel: &'c Cancel,
    timeout: Duration,
}

/// Runs actions on one target.
pub struct Lifecycle<'a> {
    pub exec: &'a dyn Executor,
    pub plan: &'a Plan,
    pub run_id: &'a str,
    /// The audit login uid to tag commands with.
    pub tag: Option<u32>,
    /// Set when the runner is interrupted.
    pub cancel: &'a Cancel,
    /// Commands run as root on the target.
    pub is_root: bool,
    /// The working directory of the commands on the target.
    pub workdir: Option<&'a str>,
}

fn command_failure(r: &CommandResult, what: &str) -> (&'static str, String) {
    if r.timed_out {
        (
            "timeout",
            format!("{what} ran past its timeout and was killed with its process group"),
        )
    } else if r.cancelled {
        (
            "exception",
            format!("{what} was killed: the runner was interrupted"),
        )
    } else if let Some(sig) = r.signal {
        ("exception", format!("{what} was killed by signal {sig}"))
    } else if r.exit_code == Some(pa_exec::TAG_FAILED_EXIT)
        && r.stderr.text().contains("audit login uid")
    {
        (
            "exception",
            format!("{what} did not run: the audit login uid could not be set (run as root)"),
        )
    } else {
        (
            "nonzero_exit",
            format!("{what} exited with code {}", r.exit_code.unwrap_or(-1)),
        )
    }
}

impl Lifecycle<'_> {
    fn spec(
        &self,
        p: &PlannedAction,
        interpreter: Interpreter,
        commands: &[String],
        phase: &str,
        timeout: Duration,
    ) -> CommandSpec {
        let marker = format!("pa:synth:v1:{}:{}:{phase}", self.run_id, p.action.action_id);
        CommandSpec {
            interpreter,
            script: commands.join("\n"),
            env: vec![
                ("PA_MARKER".into(), marker),
                ("PA_RUN_ID".into(), self.run_id.to_string()),
                ("PA_ACTION_ID".into(), p.action.action_id.clone()),
            ],
            timeout,
            audit_login_uid: self.tag,
            output_limit: self.plan.output_limit,
            workdir: self.workdir.map(str::to_string),
        }
    }

    fn run_step(&self, p: &PlannedAction, req: StepRequest<'_>) -> Result<Step, String> {
        let spec = self.spec(p, req.interpreter, req.commands, req.phase, req.timeout);
        self.exec
            .run(&spec, req.cancel)
            .map(|result| Step {
                step: req.step,
                result,
            })
            .map_err(|e| e.to_string())
    }

    fn prepare(&self, p: &PlannedAction) -> Phase {
        let t = &p.test;
        let unsupported = |what: &str, i: Option<Interpreter>, name: &str| {
            Phase::skipped(
                "prepare",
                "unsupported_executor",
                format!(
                    "the {name} executor of the {what} is not run by the {} executor of this version (sh and bash only){}",
                    self.exec.kind(),
                    if i.is_none() {
                        ""
                    } else {
                        "; a PowerShell/WinRM executor is planned"
                    }
                ),
            )
        };
        let Some(interp) = p.interpreter.filter(|i| self.exec.supports(*i)) else {
            return unsupported("test", p.interpreter, t.executor.as_str());
        };
        let _ = interp;
        let platforms = &t.derived_requirements.platform_os;
        if !platforms.is_empty() && !platforms.contains(&p.asset.os) {
            return Phase::skipped(
                "prepare",
                "unsupported_platform",
                format!(
                    "the test supports {} but the target {} is {}",
                    platforms.join(", "),
                    p.asset.asset_id,
                    p.asset.os
                ),
            );
        }
        if t.elevation_required && !self.is_root {
            return Phase::skipped(
                "prepare",
                "insufficient_privileges",
                format!(
                    "the test needs elevation and commands on {} do not run as root",
                    self.exec.target_label()
                ),
            );
        }
        let started = crate::live::now_ms();
        let mut phase = Phase {
            phase: "prepare",
            started_ms: Some(started),
            ended_ms: None,
            outcome: Outcome::Success,
            reason_code: None,
            exit_code: None,
            error: None,
            steps: Vec::new(),
        };
        if !t.dependencies.is_empty() {
            let Some(dep_interp) = p.dependency_interpreter.filter(|i| self.exec.supports(*i))
            else {
                return unsupported(
                    "prerequisites",
                    p.dependency_interpreter,
                    t.dependency_executor.as_str(),
                );
            };
            for (i, d) in t.dependencies.iter().enumerate() {
                let what = format!("prerequisite {} check", i + 1);
                let check = |phase: &mut Phase| -> Option<bool> {
                    match self.run_step(
                        p,
                        StepRequest {
                            step: "prereq_check",
                            interpreter: dep_interp,
                            commands: &d.prereq_command.actual,
                            phase: "prepare",
                            cancel: self.cancel,
                            timeout: p.timeout,
                        },
                    ) {
                        Ok(s) => {
                            let ok = s.result.succeeded();
                            let bad_run = s.result.timed_out
                                || s.result.cancelled
                                || s.result.signal.is_some();
                            phase.exit_code = s.result.exit_code;
                            if bad_run {
                                phase.error = Some(command_failure(&s.result, &what));
                            }
                            phase.steps.push(s);
                            if bad_run { None } else { Some(ok) }
                        }
                        Err(e) => {
                            phase.error = Some(("exception", e));
                            None
                        }
                    }
                };
                let mut met = match check(&mut phase) {
                    Some(m) => m,
                    None => return self.fail(phase, "prereq_check_failed"),
                };
                if !met && self.plan.get_prereqs {
                    if d.get_prereq_command.is_empty() {
                        phase.error = Some((
                            "validation_failed",
                            format!(
                                "prerequisite {} is not met and has no get_prereq_command",
                                i + 1
                            ),
                        ));
                        return self.fail(phase, "prereq_get_command_missing");
                    }
                    match self.run_step(
                        p,
                        StepRequest {
                            step: "get_prereq",
                            interpreter: dep_interp,
                            commands: &d.get_prereq_command.actual,
                            phase: "prepare",
                            cancel: self.cancel,
                            timeout: p.timeout,
                        },
                    ) {
                        Ok(s) => {
                            let ok = s.result.succeeded();
                            phase.exit_code = s.result.exit_code;
                            if !ok {
                                phase.error = Some(command_failure(
                                    &s.result,
                                    &format!("prerequisite {} get_prereq_command", i + 1),
                                ));
                            }
                            phase.steps.push(s);
                            if !ok {
                                return self.fail(phase, "prereq_get_failed");
                            }
                        }
                        Err(e) => {
                            phase.error = Some(("exception", e));
                            return self.fail(phase, "prereq_get_failed");
                        }
                    }
                    met = match check(&mut phase) {
                        Some(m) => m,
                        None => return self.fail(phase, "prereq_check_failed"),
                    };
                }
                if !met {
                    let desc = d
                        .description
                        .as_deref()
                        .map(|s| p.redactor.text(s.trim()))
                        .unwrap_or_default();
                    phase.error = Some((
                        "validation_failed",
                        format!(
                            "prerequisite {} is not met{}{}",
                            i + 1,
                            if desc.is_empty() {
                                String::new()
                            } else {
                                format!(" ({desc})")
                            },
                            if self.plan.get_prereqs {
                                ""
                            } else {
                                "; get_prereq_command runs only with runner.atomic.prereqs.mode: get_prereqs and the scenario's safety.allow_get_prereqs"
                            }
                        ),
                    ));
                    return self.fail(phase, "prereq_unsatisfied");
                }
            }
        }
        phase.ended_ms = Some(crate::live::now_ms());
        phase
    }

    fn fail(&self, mut phase: Phase, reason: &'static str) -> Phase {
        phase.outcome = Outcome::Failed;
        phase.reason_code = Some(reason);
        phase.ended_ms = Some(crate::live::now_ms());
        phase
    }

    fn command_phase(
        &self,
        p: &PlannedAction,
        req: StepRequest<'_>,
        fail_reason: &'static str,
    ) -> Phase {
        let phase_name = req.phase;
        let started = crate::live::now_ms();
        let mut phase = Phase {
            phase: phase_name,
            started_ms: Some(started),
            ended_ms: None,
            outcome: Outcome::Success,
            reason_code: None,
            exit_code: None,
            error: None,
            steps: Vec::new(),
        };
        match self.run_step(p, req) {
            Ok(s) => {
                phase.started_ms = Some(s.result.started_ms);
                phase.ended_ms = Some(s.result.ended_ms);
                phase.exit_code = s.result.exit_code;
                if !s.result.succeeded() {
                    let (kind, msg) = command_failure(&s.result, phase_name);
                    phase.outcome = Outcome::Failed;
                    phase.reason_code = Some(if s.result.timed_out {
                        "action_timeout"
                    } else {
                        fail_reason
                    });
                    phase.error = Some((kind, msg));
                }
                phase.steps.push(s);
                phase
            }
            Err(e) => {
                phase.error = Some(("exception", e));
                self.fail(phase, fail_reason)
            }
        }
    }

    /// Run the whole lifecycle of one action.
    pub fn run(&self, p: &PlannedAction) -> ActionRun {
        let t = &p.test;
        let prepare = self.prepare(p);
        let prepared = prepare.outcome == Outcome::Success;
        let execute = if !prepared {
            Phase::blocked("execute")
        } else if self.cancel.is_cancelled() {
            Phase::skipped(
                "execute",
                "interrupted",
                "the runner was interrupted before this action".into(),
            )
        } else {
            self.command_phase(
                p,
                StepRequest {
                    step: "execute",
                    interpreter: p.interpreter.unwrap_or(Interpreter::Sh),
                    commands: &t.command.actual,
                    phase: "execute",
                    cancel: self.cancel,
                    timeout: p.timeout,
                },
                "execute_failed",
            )
        };
        let revert = if !prepared || execute.reason_code == Some("interrupted") {
            Phase::blocked("revert")
        } else if !p.action.cleanup || !self.plan.cleanup_invoke {
            Phase::skipped(
                "revert",
                "cleanup_suppressed",
                "cleanup is off for this action (action cleanup: false or runner.atomic.cleanup.invoke: false)".into(),
            )
        } else if t.cleanup_command.is_empty() {
            Phase::skipped(
                "revert",
                "cleanup_command_missing",
                "the test has no cleanup_command".into(),
            )
        } else {
            // Cleanup runs also when execute failed or the run was interrupted (with a fresh
            // cancellation and a bounded time, so that it can finish).
            let (cancel, timeout) = if self.cancel.is_cancelled() {
                (Cancel::new(), p.timeout.min(CLEANUP_AFTER_INTERRUPT))
            } else {
                (self.cancel.clone(), p.timeout)
            };
            self.command_phase(
                p,
                StepRequest {
                    step: "cleanup",
                    interpreter: p.interpreter.unwrap_or(Interpreter::Sh),
                    commands: &t.cleanup_command.actual,
                    phase: "revert",
                    cancel: &cancel,
                    timeout,
                },
                "revert_failed",
            )
        };
        let teardown = if !prepared {
            Phase::blocked("teardown")
        } else {
            Phase::skipped(
                "teardown",
                "cleanup_verification_not_configured",
                "no cleanup verification checks are configured for this action".into(),
            )
        };
        ActionRun {
            phases: vec![prepare, execute, revert, teardown],
        }
    }
}
