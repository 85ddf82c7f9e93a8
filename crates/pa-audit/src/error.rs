//! The one error type of the crate. Every message names the host (or file) it is about and,
//! where there is one, what to do about it.

/// Everything that can go wrong controlling auditd or reading its log.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// `auditctl` is not installed (or not on the host's `PATH`).
    #[error("auditctl not found on {host}: install auditd (apt-get install auditd)")]
    AuditctlNotFound {
        /// The host's label ([`crate::AuditHost::label`]).
        host: String,
    },
    /// A program other than `auditctl` could not be found on the host. Hosts return this from
    /// [`crate::AuditHost::run`]; the functions of this crate turn it into
    /// [`AuditError::AuditctlNotFound`] for `auditctl`.
    #[error("{program} not found on {host}")]
    ProgramNotFound {
        /// The host's label.
        host: String,
        /// `argv[0]`.
        program: String,
    },
    /// `auditctl` refused: not root, or no `CAP_AUDIT_CONTROL` (e.g. in a container).
    #[error(
        "auditctl was refused on {host} ({detail}): it must run as root with CAP_AUDIT_CONTROL \
         (run the session as root, or through sudo)"
    )]
    NotPermitted {
        /// The host's label.
        host: String,
        /// What auditctl said.
        detail: String,
    },
    /// The kernel has no audit support reachable from here (no netlink audit socket).
    #[error(
        "the kernel audit subsystem is not available on {host} ({detail}): a kernel built with \
         CONFIG_AUDIT, outside a container, is needed"
    )]
    AuditUnavailable {
        /// The host's label.
        host: String,
        /// What auditctl said.
        detail: String,
    },
    /// `auditctl -s` reports `pid 0`.
    #[error("auditd is not running on {host}: start it (auditd, or systemctl start auditd)")]
    AuditdNotRunning {
        /// The host's label.
        host: String,
    },
    /// `auditctl -s` names an audit daemon whose process is gone: it was killed without
    /// unregistering, and the kernel keeps its pid until it next fails to deliver a record.
    #[error(
        "auditd is not running on {host}: the kernel still names pid {pid} as the audit daemon \
         but no such process exists (killed?); start it again (auditd, or systemctl start auditd)"
    )]
    AuditdGone {
        /// The host's label.
        host: String,
        /// The registered pid.
        pid: u32,
    },
    /// `auditctl -s` reports `enabled 0`.
    #[error("auditing is disabled on {host} (enabled 0): enable it with auditctl -e 1")]
    AuditDisabled {
        /// The host's label.
        host: String,
    },
    /// `auditctl -s` reports `enabled 2`: the rules are immutable until reboot.
    #[error(
        "the audit configuration of {host} is locked (enabled 2, set by `-e 2`): rules cannot \
         be added or removed until reboot; remove `-e 2` from the audit rules files and reboot"
    )]
    RulesLocked {
        /// The host's label.
        host: String,
    },
    /// The output of `auditctl -s` does not have the expected fields.
    #[error("cannot read the output of `auditctl -s` on {host}: {detail}; output was {output:?}")]
    StatusUnparseable {
        /// The host's label.
        host: String,
        /// What is missing or malformed.
        detail: String,
        /// The output (truncated).
        output: String,
    },
    /// An audit key that is not `[a-z0-9-]{1,31}`.
    #[error("invalid audit key {key:?}: {why}")]
    InvalidKey {
        /// The key as given.
        key: String,
        /// What is wrong.
        why: String,
    },
    /// An audit uid that cannot scope rules (4294967295 is "unset").
    #[error("invalid audit uid {auid}: {why}")]
    InvalidAuid {
        /// The uid as given.
        auid: u32,
        /// What is wrong.
        why: String,
    },
    /// Rules with the run's key are already loaded before installing.
    #[error(
        "{count} audit rule(s) with key {key} are already loaded on {host} (first: {first}): \
         another session uses this key, or an earlier one was not cleaned up; remove them with \
         auditctl -D -k {key}"
    )]
    KeyInUse {
        /// The host's label.
        host: String,
        /// The key.
        key: String,
        /// How many rules carry it.
        count: usize,
        /// The first such rule as `auditctl -l` prints it.
        first: String,
    },
    /// Adding a rule failed for a reason other than an unknown syscall name or a missing watched
    /// path; every rule added before it was removed again.
    #[error("adding audit rule `{rule}` failed on {host}: {stderr}; {rollback}")]
    RuleAdd {
        /// The host's label.
        host: String,
        /// The rule as passed to auditctl.
        rule: String,
        /// What auditctl said.
        stderr: String,
        /// What happened to the rules added before (removed, or why not).
        rollback: String,
    },
    /// After `auditctl -D -k <key>`, `auditctl -l` still lists rules with the key.
    #[error(
        "{} audit rule(s) with key {key} are still loaded on {host} after removal (first: {}): \
         remove them by hand with auditctl -D -k {key}",
        .remaining.len(),
        .remaining.first().map(String::as_str).unwrap_or("")
    )]
    RulesRemain {
        /// The host's label.
        host: String,
        /// The key.
        key: String,
        /// The rules still loaded, as `auditctl -l` prints them.
        remaining: Vec<String>,
    },
    /// A command ran but failed.
    #[error("`{command}` failed on {host} (exit {}): {stderr}", exit_text(.code))]
    Command {
        /// The host's label.
        host: String,
        /// The command line.
        command: String,
        /// The exit code (none: killed by a signal).
        code: Option<i32>,
        /// What it said on stderr (or stdout when stderr was empty).
        stderr: String,
    },
    /// An argument vector the host cannot run (empty).
    #[error("cannot run an empty command on {host}")]
    EmptyCommand {
        /// The host's label.
        host: String,
    },
    /// A file or directory that does not exist. Hosts return this from
    /// [`crate::AuditHost::read_file`] and [`crate::AuditHost::list_dir`].
    #[error("{path} does not exist on {host}")]
    NotFound {
        /// The host's label.
        host: String,
        /// The path.
        path: String,
    },
    /// Reading a file or directory, or starting a program, failed.
    #[error("{path} on {host}: {source}")]
    Io {
        /// The host's label.
        host: String,
        /// The path (or program).
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The host's transport failed (e.g. the SSH connection); for host implementations.
    #[error("{host}: {detail}")]
    Transport {
        /// The host's label.
        host: String,
        /// What failed.
        detail: String,
    },
    /// Neither the log file nor any rotated file of it exists.
    #[error("no audit log at {path} on {host}: is auditd writing logs (write_logs = yes)?")]
    NoLog {
        /// The host's label.
        host: String,
        /// The log path as given.
        path: String,
    },
    /// A capture window whose start is after its end.
    #[error("invalid capture window: start {start_ms} ms is after end {end_ms} ms")]
    InvalidWindow {
        /// Start, ms since the epoch.
        start_ms: i64,
        /// End, ms since the epoch.
        end_ms: i64,
    },
}

fn exit_text(code: &Option<i32>) -> String {
    match code {
        Some(c) => c.to_string(),
        None => "by signal".to_owned(),
    }
}
