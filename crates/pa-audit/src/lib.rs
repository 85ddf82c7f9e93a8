//! `pa-audit`: Linux audit control for live runs, whatever carries the commands to the host.
//!
//! ```text
//! ready_status(host)                     auditctl -s: present, root, auditd running, enabled
//! RulePlan::new(key, auid)               the run's rules, all -F auid=<auid> -k <key>
//! AuditSession::install(host, &plan)     backlog raised to MIN_BACKLOG_LIMIT, lost counter,
//!                                        rules added (unknown syscalls / missing dirs adapted
//!                                        and reported; any other failure rolled back)
//!   … the runner runs the tests in a session whose /proc/self/loginuid is <auid> …
//! session.remove()                       auditctl -D -k <key>, checked with auditctl -l,
//!                                        backlog put back → AuditReport (for the bundle)
//! read_window(host, log, start, end)     the log's records in the capture window, across
//!                                        rotated files, deduplicated, every line accounted for
//! find_execve_arg(text, token)           the canary check
//! ```
//!
//! The host is an [`AuditHost`]: [`LocalHost`] runs commands and reads files on this machine;
//! an SSH implementation lives with the executor. Modules: [`host`], [`status`]
//! (`auditctl -s`), [`plan`] (the rules), [`session`] (install/remove and the reports),
//! [`window`] (the log slice), [`execve`] (EXECVE arguments) and [`error`].

pub mod error;
pub mod exec_host;
pub mod execve;
pub mod host;
pub mod plan;
pub mod session;
pub mod status;
pub mod window;

#[cfg(test)]
mod testhost;

pub use error::AuditError;
pub use exec_host::ExecHost;
pub use execve::{ExecveEvent, decode_value, execve_events, find_execve_arg};
pub use host::{AuditHost, CmdOutput, LocalHost, command_text};
pub use plan::{
    AUID_UNSET, Arch, DEFAULT_AUID, MAX_KEY_LEN, PlannedRule, RulePlan, RuleSpec, Syscall, WATCHES,
    WatchKind, key_for_run, validate_key,
};
pub use session::{
    Adjustment, AuditReport, AuditSession, BacklogRestore, InstallReport, MIN_BACKLOG_LIMIT,
    RemoveReport, RuleAdjustment, install, remove,
};
pub use status::{
    AUDITCTL, AuditStatus, ParseStatusError, list_rules, ready_status, rule_keys, rules_with_key,
    set_backlog_limit, status,
};
pub use window::{
    AuditStamp, LogFile, MAX_SAMPLES, WindowSlice, parse_stamp, read_window, rotation_index,
    slice_texts,
};
