//! Installing a run's rules and removing exactly those again: [`install`], [`remove`], the
//! [`AuditSession`] guard that removes them when dropped, and the reports the runner writes
//! into the bundle.

use serde::{Deserialize, Serialize};

use crate::plan::{PlannedRule, RuleSpec, WatchKind, validate_key};
use crate::status::{
    AUDITCTL, auditctl_argv, auditctl_ok, failure, list_rules, ready_status, rules_with_key,
    set_backlog_limit, status,
};
use crate::{AuditError, AuditHost, AuditStatus, RulePlan};

/// The smallest kernel backlog a run is captured with; [`install`] raises a lower limit to it
/// for the run and [`remove`] puts the old value back.
pub const MIN_BACKLOG_LIMIT: u64 = 8192;

/// How the installed form of a planned rule differs from the plan, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Adjustment {
    /// auditctl does not know the syscall: it was left out of the rule.
    SyscallDropped {
        /// The syscall.
        syscall: String,
    },
    /// auditctl does not know the syscall's name: it was given by number.
    SyscallByNumber {
        /// The syscall.
        syscall: String,
        /// Its number.
        number: u32,
    },
    /// The watched directory does not exist: watched as a path (`-F path=`), which records
    /// its creation and, once it exists, changes directly inside it.
    DirWatchedAsPath {
        /// The directory.
        path: String,
    },
    /// The rule was not installed: none of its syscalls is known, or the watched path's parent
    /// directory does not exist.
    RuleDropped,
}

/// One adjustment of one rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleAdjustment {
    /// The rule as planned (auditctl arguments joined by spaces).
    pub planned: String,
    /// What changed.
    #[serde(flatten)]
    pub adjustment: Adjustment,
    /// What auditctl said about the rejected form.
    pub auditctl_said: String,
}

/// A backlog limit raised by [`install`], to be put back by [`remove`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BacklogRestore {
    /// The limit set for the run.
    pub set: u64,
    /// The limit before.
    pub original: u64,
}

/// What [`install`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstallReport {
    /// The host's label.
    pub host: String,
    /// The run's key.
    pub key: String,
    /// The audit login uid the rules are scoped to.
    pub auid: u32,
    /// `auditctl -s` before anything was changed.
    pub status_before: AuditStatus,
    /// The rules added, as given to auditctl (arguments joined by spaces).
    pub rules_installed: Vec<String>,
    /// How the installed rules differ from the plan.
    pub adjustments: Vec<RuleAdjustment>,
    /// The kernel's lost-record counter before the run.
    pub lost_before: u64,
    /// The backlog limit before the run.
    pub backlog_limit_before: u64,
    /// The backlog limit set for the run, when the old one was below [`MIN_BACKLOG_LIMIT`].
    pub backlog_limit_set: Option<u64>,
}

impl InstallReport {
    /// What [`remove`] must put back.
    pub fn backlog_restore(&self) -> Option<BacklogRestore> {
        self.backlog_limit_set.map(|set| BacklogRestore {
            set,
            original: self.backlog_limit_before,
        })
    }
}

/// What [`remove`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoveReport {
    /// The host's label.
    pub host: String,
    /// The run's key.
    pub key: String,
    /// How many rules with the key were loaded and removed (0: none were loaded).
    pub rules_removed: usize,
    /// The kernel's lost-record counter after the run.
    pub lost_after: u64,
    /// The backlog limit after removal.
    pub backlog_limit_after: u64,
    /// Why the backlog limit was not put back, when it was not.
    pub backlog_note: Option<String>,
}

/// The audit record of a run, as the runner writes it into the bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditReport {
    /// The host's label.
    pub host: String,
    /// The run's key.
    pub key: String,
    /// The audit login uid the rules were scoped to.
    pub auid: u32,
    /// The rules installed, as given to auditctl.
    pub rules_installed: Vec<String>,
    /// How they differ from the plan.
    pub adjustments: Vec<RuleAdjustment>,
    /// How many rules with the key were removed.
    pub rules_removed: usize,
    /// The kernel's lost-record counter before the run.
    pub lost_before: u64,
    /// The counter after the run.
    pub lost_after: u64,
    /// Records lost during the run (0 when the counter went down: auditd or the kernel reset).
    pub lost_during: u64,
    /// The backlog limit before the run.
    pub backlog_limit_before: u64,
    /// The backlog limit during the run.
    pub backlog_limit_during: u64,
    /// The backlog limit after the run.
    pub backlog_limit_after: u64,
    /// Anything else the runner should know (e.g. why the backlog limit was not put back).
    pub notes: Vec<String>,
}

impl AuditReport {
    /// Combines what [`install`] and [`remove`] did.
    pub fn new(install: &InstallReport, removal: &RemoveReport) -> Self {
        AuditReport {
            host: install.host.clone(),
            key: install.key.clone(),
            auid: install.auid,
            rules_installed: install.rules_installed.clone(),
            adjustments: install.adjustments.clone(),
            rules_removed: removal.rules_removed,
            lost_before: install.lost_before,
            lost_after: removal.lost_after,
            lost_during: removal.lost_after.saturating_sub(install.lost_before),
            backlog_limit_before: install.backlog_limit_before,
            backlog_limit_during: install
                .backlog_limit_set
                .unwrap_or(install.backlog_limit_before),
            backlog_limit_after: removal.backlog_limit_after,
            notes: removal.backlog_note.iter().cloned().collect(),
        }
    }
}

/// Installs the plan's rules on the host.
///
/// Checks the status first ([`ready_status`]: auditctl present, root, auditd running, auditing
/// enabled and not locked) and that no rule with the plan's key is loaded; raises the backlog
/// limit to [`MIN_BACKLOG_LIMIT`] when it is lower; records the lost counter; adds each rule.
/// A rule auditctl rejects is adapted, not fatal, when auditctl does not know one of its
/// syscalls (the syscall is given by number when the plan has one, else left out; a rule left
/// with none is dropped) or when a watched directory or file's parent does not exist (a
/// directory is watched as a path; a path whose parent is missing is dropped); each such
/// change is in [`InstallReport::adjustments`]. Any other failure removes every rule added so
/// far (and puts the backlog limit back) and returns [`AuditError::RuleAdd`] naming the rule
/// and what auditctl said.
pub fn install(host: &dyn AuditHost, plan: &RulePlan) -> Result<InstallReport, AuditError> {
    let key = plan.key();
    let st = ready_status(host)?;
    let loaded = list_rules(host)?;
    let ours = rules_with_key(&loaded, key);
    if let Some(first) = ours.first() {
        return Err(AuditError::KeyInUse {
            host: host.label(),
            key: key.to_owned(),
            count: ours.len(),
            first: (*first).clone(),
        });
    }
    let mut report = InstallReport {
        host: host.label(),
        key: key.to_owned(),
        auid: plan.auid(),
        status_before: st.clone(),
        rules_installed: Vec::new(),
        adjustments: Vec::new(),
        lost_before: st.lost,
        backlog_limit_before: st.backlog_limit,
        backlog_limit_set: None,
    };
    if st.backlog_limit < MIN_BACKLOG_LIMIT {
        set_backlog_limit(host, MIN_BACKLOG_LIMIT)?;
        report.backlog_limit_set = Some(MIN_BACKLOG_LIMIT);
    }
    for rule in plan.rules() {
        match add_rule(host, rule, plan.auid(), key, &mut report.adjustments) {
            Ok(Some(text)) => report.rules_installed.push(text),
            Ok(None) => {}
            Err(failed) => {
                let rollback = roll_back(host, key, report.backlog_restore());
                return Err(match failed {
                    AddFailure::Rejected { rule, stderr } => AuditError::RuleAdd {
                        host: host.label(),
                        rule,
                        stderr,
                        rollback,
                    },
                    AddFailure::Error(e) => {
                        tracing::error!(key, %rollback, "installing audit rules failed: {e}");
                        e
                    }
                });
            }
        }
    }
    tracing::info!(
        key,
        installed = report.rules_installed.len(),
        adjusted = report.adjustments.len(),
        "audit rules installed"
    );
    Ok(report)
}

enum AddFailure {
    Rejected { rule: String, stderr: String },
    Error(AuditError),
}

/// Adds one rule, adapting it as [`install`] describes; `Ok(None)` when it was dropped.
fn add_rule(
    host: &dyn AuditHost,
    rule: &PlannedRule,
    auid: u32,
    key: &str,
    adjustments: &mut Vec<RuleAdjustment>,
) -> Result<Option<String>, AddFailure> {
    let planned = rule.args(auid, key).join(" ");
    let mut current = rule.clone();
    loop {
        let args = current.args(auid, key);
        let text = args.join(" ");
        let argv: Vec<String> = std::iter::once(AUDITCTL.to_owned()).chain(args).collect();
        let out = auditctl_argv(host, &argv).map_err(AddFailure::Error)?;
        if out.success() {
            return Ok(Some(text));
        }
        let said = out.message();
        let mut note = |adjustment| {
            tracing::warn!(%planned, ?adjustment, %said, "audit rule adjusted");
            adjustments.push(RuleAdjustment {
                planned: planned.clone(),
                adjustment,
                auditctl_said: said.clone(),
            });
        };
        match (&mut current.spec, unknown_syscall(&said)) {
            (RuleSpec::Syscalls { syscalls, .. }, Some(name)) => {
                let Some(pos) = syscalls.iter().position(|s| s.name == name) else {
                    return Err(rejected(host, &argv, &out, text));
                };
                if let Some(number) = syscalls[pos].number.take() {
                    note(Adjustment::SyscallByNumber {
                        syscall: name.to_owned(),
                        number,
                    });
                    syscalls[pos].name = number.to_string();
                } else {
                    note(Adjustment::SyscallDropped {
                        syscall: name.to_owned(),
                    });
                    syscalls.remove(pos);
                    if syscalls.is_empty() {
                        note(Adjustment::RuleDropped);
                        return Ok(None);
                    }
                }
            }
            (RuleSpec::Watch { path, kind, .. }, None) if is_enoent(&said) => {
                if *kind == WatchKind::Dir {
                    note(Adjustment::DirWatchedAsPath { path: path.clone() });
                    *kind = WatchKind::File;
                } else {
                    note(Adjustment::RuleDropped);
                    return Ok(None);
                }
            }
            _ => return Err(rejected(host, &argv, &out, text)),
        }
    }
}

fn rejected(
    host: &dyn AuditHost,
    argv: &[String],
    out: &crate::CmdOutput,
    rule: String,
) -> AddFailure {
    match failure(host, argv, out) {
        AuditError::Command { stderr, .. } => AddFailure::Rejected { rule, stderr },
        other => AddFailure::Error(other),
    }
}

/// The syscall name of auditctl's "Syscall name unknown: NAME".
fn unknown_syscall(said: &str) -> Option<&str> {
    let rest = said.split("Syscall name unknown: ").nth(1)?;
    rest.split_whitespace().next()
}

/// auditctl's report of ENOENT from the kernel (a watched directory, or a watched file's parent
/// directory, does not exist).
fn is_enoent(said: &str) -> bool {
    said.contains("No such file or directory")
}

/// Removes what an aborted install added; the text says how that went, for the error message.
fn roll_back(host: &dyn AuditHost, key: &str, restore: Option<BacklogRestore>) -> String {
    match remove(host, key, restore) {
        Ok(r) if r.rules_removed == 0 => "no rule had been added".to_owned(),
        Ok(r) => format!("the {} rule(s) added before were removed", r.rules_removed),
        Err(e) => format!("removing the rules added before failed too: {e}"),
    }
}

/// Removes exactly the rules carrying `key` (`auditctl -D -k <key>`), checks with `auditctl -l`
/// that none remain ([`AuditError::RulesRemain`] otherwise), reads the lost counter and puts the
/// backlog limit back when `restore` says install raised it (and nobody changed it since).
/// Idempotent: with no rule of the key loaded it removes nothing and succeeds, so it can run
/// from a drop guard or a signal handler after a crash.
pub fn remove(
    host: &dyn AuditHost,
    key: &str,
    restore: Option<BacklogRestore>,
) -> Result<RemoveReport, AuditError> {
    validate_key(key)?;
    let st = status(host)?;
    let loaded = list_rules(host)?;
    let count = rules_with_key(&loaded, key).len();
    if count > 0 {
        if st.enabled == 2 {
            return Err(AuditError::RulesLocked { host: host.label() });
        }
        auditctl_ok(host, &["-D", "-k", key])?;
        let after = list_rules(host)?;
        let remaining: Vec<String> = rules_with_key(&after, key).into_iter().cloned().collect();
        if !remaining.is_empty() {
            return Err(AuditError::RulesRemain {
                host: host.label(),
                key: key.to_owned(),
                remaining,
            });
        }
    }
    let mut backlog_limit_after = st.backlog_limit;
    let mut backlog_note = None;
    if let Some(r) = restore {
        if st.backlog_limit != r.set {
            backlog_note = Some(format!(
                "backlog_limit is {} but was set to {} for the run: changed since, left as is \
                 (it was {} before the run)",
                st.backlog_limit, r.set, r.original
            ));
        } else if st.enabled == 2 {
            backlog_note = Some(format!(
                "backlog_limit {} not put back to {}: the audit configuration is locked",
                r.set, r.original
            ));
        } else {
            match set_backlog_limit(host, r.original) {
                Ok(()) => backlog_limit_after = r.original,
                Err(e) => {
                    backlog_note = Some(format!(
                        "backlog_limit {} not put back to {}: {e}",
                        r.set, r.original
                    ))
                }
            }
        }
    }
    if let Some(note) = &backlog_note {
        tracing::warn!(key, "{note}");
    }
    tracing::info!(key, removed = count, lost = st.lost, "audit rules removed");
    Ok(RemoveReport {
        host: host.label(),
        key: key.to_owned(),
        rules_removed: count,
        lost_after: st.lost,
        backlog_limit_after,
        backlog_note,
    })
}

/// The rules of a run while it runs: installed by [`AuditSession::install`], removed by
/// [`AuditSession::remove`] or, if that was never called (an error path, a panic), when the
/// session is dropped (errors then go to `tracing`).
pub struct AuditSession<'h> {
    host: &'h dyn AuditHost,
    report: InstallReport,
    removed: bool,
}

impl<'h> AuditSession<'h> {
    /// [`install`]s the plan.
    pub fn install(host: &'h dyn AuditHost, plan: &RulePlan) -> Result<Self, AuditError> {
        let report = install(host, plan)?;
        Ok(AuditSession {
            host,
            report,
            removed: false,
        })
    }

    /// What was installed.
    pub fn report(&self) -> &InstallReport {
        &self.report
    }

    /// The run's key.
    pub fn key(&self) -> &str {
        &self.report.key
    }

    /// [`remove`]s the rules and returns the run's [`AuditReport`]. On an error the guard does
    /// not try again; call [`remove`] with the key.
    pub fn remove(mut self) -> Result<AuditReport, AuditError> {
        self.removed = true;
        let removal = remove(self.host, &self.report.key, self.report.backlog_restore())?;
        Ok(AuditReport::new(&self.report, &removal))
    }
}

impl Drop for AuditSession<'_> {
    fn drop(&mut self) {
        if self.removed {
            return;
        }
        let key = self.report.key.as_str();
        match remove(self.host, key, self.report.backlog_restore()) {
            Ok(r) => tracing::warn!(
                key,
                removed = r.rules_removed,
                "audit session dropped without remove(): its rules were removed"
            ),
            Err(e) => tracing::error!(
                key,
                "audit session dropped without remove(), and removing its rules failed: {e}"
            ),
        }
    }
}

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;
