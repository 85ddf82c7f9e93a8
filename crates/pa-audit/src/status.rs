//! `auditctl -s`: the kernel audit status, and the checks that say what to do when the host
//! cannot audit a run. Also the small `auditctl` helpers the rest of the crate shares.

use serde::{Deserialize, Serialize};

use crate::host::command_text;
use crate::{AuditError, AuditHost, CmdOutput};

/// The program this crate drives.
pub const AUDITCTL: &str = "auditctl";

/// The kernel audit status as `auditctl -s` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditStatus {
    /// 0 disabled, 1 enabled, 2 enabled and locked (immutable until reboot).
    pub enabled: u32,
    /// What the kernel does on a critical error: 0 silent, 1 printk, 2 panic.
    pub failure: u32,
    /// The pid of the audit daemon; 0 when none is registered.
    pub pid: u32,
    /// Messages per second the kernel sends at most (0: unlimited).
    pub rate_limit: u64,
    /// The kernel's queue of records not yet read by auditd.
    pub backlog_limit: u64,
    /// Records the kernel dropped since boot (a counter, never reset).
    pub lost: u64,
    /// Records queued now.
    pub backlog: u64,
    /// How long a process waits when the backlog is full (absent on old kernels).
    pub backlog_wait_time: Option<u64>,
    /// `loginuid_immutable` as printed, e.g. "0 unlocked" (absent on old versions).
    pub loginuid_immutable: Option<String>,
}

/// Why a text is not `auditctl -s` output.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseStatusError(pub String);

impl AuditStatus {
    /// Parses `auditctl -s` output: `name value` per line (auditctl 2.3 and later), or the old
    /// one-line `AUDIT_STATUS: enabled=1 flag=1 pid=...` form.
    pub fn parse(text: &str) -> Result<Self, ParseStatusError> {
        let mut fields: Vec<(String, String)> = Vec::new();
        for line in text.lines() {
            let line = line.trim();
            if line.contains('=') {
                for tok in line.split_whitespace() {
                    if let Some((k, v)) = tok.split_once('=') {
                        fields.push((k.to_owned(), v.to_owned()));
                    }
                }
            } else if let Some((k, v)) = line.split_once(char::is_whitespace) {
                fields.push((k.to_owned(), v.trim().to_owned()));
            }
        }
        let get = |names: &[&str]| {
            fields
                .iter()
                .find(|(k, _)| names.contains(&k.as_str()))
                .map(|(_, v)| v.as_str())
        };
        fn num<T: std::str::FromStr>(
            name: &str,
            v: Option<&str>,
        ) -> Result<Option<T>, ParseStatusError> {
            match v {
                None => Ok(None),
                Some(v) => v.parse().map(Some).map_err(|_| {
                    ParseStatusError(format!("{name} is {v:?}, not a non-negative number"))
                }),
            }
        }
        fn required<T>(name: &str, v: Option<T>) -> Result<T, ParseStatusError> {
            v.ok_or_else(|| ParseStatusError(format!("no {name} field")))
        }
        Ok(AuditStatus {
            enabled: required("enabled", num("enabled", get(&["enabled"]))?)?,
            failure: required("failure", num("failure", get(&["failure", "flag"]))?)?,
            pid: required("pid", num("pid", get(&["pid"]))?)?,
            rate_limit: required("rate_limit", num("rate_limit", get(&["rate_limit"]))?)?,
            backlog_limit: required(
                "backlog_limit",
                num("backlog_limit", get(&["backlog_limit"]))?,
            )?,
            lost: required("lost", num("lost", get(&["lost"]))?)?,
            backlog: required("backlog", num("backlog", get(&["backlog"]))?)?,
            backlog_wait_time: num("backlog_wait_time", get(&["backlog_wait_time"]))?,
            loginuid_immutable: get(&["loginuid_immutable"]).map(str::to_owned),
        })
    }

    /// Whether rules can be installed and their records will reach the log: fails when the
    /// rules are locked (`enabled 2`), auditing is disabled (`enabled 0`) or no auditd is
    /// registered (`pid 0`), saying what to do.
    pub fn check_ready(&self, host_label: &str) -> Result<(), AuditError> {
        let host = host_label.to_owned();
        if self.enabled == 2 {
            Err(AuditError::RulesLocked { host })
        } else if self.enabled == 0 {
            Err(AuditError::AuditDisabled { host })
        } else if self.pid == 0 {
            Err(AuditError::AuditdNotRunning { host })
        } else {
            Ok(())
        }
    }
}

/// `auditctl -s` on the host, parsed. Fails when auditctl is missing, refused (not root) or
/// prints something else; does not judge the status (see [`ready_status`]).
pub fn status(host: &dyn AuditHost) -> Result<AuditStatus, AuditError> {
    let out = auditctl_ok(host, &["-s"])?;
    AuditStatus::parse(&out.stdout).map_err(|e| AuditError::StatusUnparseable {
        host: host.label(),
        detail: e.0,
        output: out.stdout.chars().take(600).collect(),
    })
}

/// [`status`] then [`AuditStatus::check_ready`]: the status of a host that can audit a run.
pub fn ready_status(host: &dyn AuditHost) -> Result<AuditStatus, AuditError> {
    let st = status(host)?;
    st.check_ready(&host.label())?;
    // A daemon killed with SIGKILL stays registered until the kernel next fails to send it a
    // record: its pid must name a live process. (The name is not checked: auditbeat and
    // go-audit register as the audit daemon too.) Other read failures prove nothing.
    let gone = match host.read_file(&format!("/proc/{}/stat", st.pid)) {
        Err(AuditError::NotFound { .. }) => true,
        Ok(stat) => is_dead_stat(&stat),
        Err(_) => false,
    };
    if gone {
        return Err(AuditError::AuditdGone {
            host: host.label(),
            pid: st.pid,
        });
    }
    Ok(st)
}

/// Whether a `/proc/<pid>/stat` line describes a process that has exited (a zombie `Z` or dead
/// `X`, waiting for a parent that does not reap it). The state follows the last `)`: the
/// command name may hold spaces and parentheses.
fn is_dead_stat(stat: &[u8]) -> bool {
    let text = String::from_utf8_lossy(stat);
    text.rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .is_some_and(|state| state == "Z" || state == "X")
}

/// Sets the kernel's backlog limit (`auditctl -b <limit>`).
pub fn set_backlog_limit(host: &dyn AuditHost, limit: u64) -> Result<(), AuditError> {
    auditctl_ok(host, &["-b", &limit.to_string()]).map(|_| ())
}

/// The loaded rules, one per line as `auditctl -l` prints them (none: empty).
pub fn list_rules(host: &dyn AuditHost) -> Result<Vec<String>, AuditError> {
    let out = auditctl_ok(host, &["-l"])?;
    Ok(out
        .stdout
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && *l != "No rules")
        .map(str::to_owned)
        .collect())
}

/// The keys of one rule line of `auditctl -l` (`-F key=k` or `-k k`; several keys on one rule
/// are printed as several fields or joined by 0x01).
pub fn rule_keys(rule: &str) -> Vec<&str> {
    let toks: Vec<&str> = rule.split_whitespace().collect();
    let mut keys = Vec::new();
    for (i, t) in toks.iter().enumerate() {
        let value = if let Some(v) = t.strip_prefix("key=") {
            // `-F key=k`
            (i > 0 && toks[i - 1] == "-F").then_some(v)
        } else if *t == "-k" {
            toks.get(i + 1).copied()
        } else {
            None
        };
        if let Some(v) = value {
            keys.extend(v.split('\u{1}').filter(|k| !k.is_empty()));
        }
    }
    keys
}

/// The rules of a listing that carry `key`.
pub fn rules_with_key<'a>(rules: &'a [String], key: &str) -> Vec<&'a String> {
    rules
        .iter()
        .filter(|r| rule_keys(r).contains(&key))
        .collect()
}

/// Runs `auditctl <args>`; `Ok` whatever the exit code, except that a missing auditctl (or
/// exit code 127 from a shell) is [`AuditError::AuditctlNotFound`].
pub(crate) fn auditctl_raw(host: &dyn AuditHost, args: &[&str]) -> Result<CmdOutput, AuditError> {
    let argv: Vec<String> = std::iter::once(AUDITCTL)
        .chain(args.iter().copied())
        .map(str::to_owned)
        .collect();
    auditctl_argv(host, &argv)
}

/// [`auditctl_raw`] with a whole argument vector (`argv[0]` is auditctl).
pub(crate) fn auditctl_argv(
    host: &dyn AuditHost,
    argv: &[String],
) -> Result<CmdOutput, AuditError> {
    match host.run(argv) {
        Err(AuditError::ProgramNotFound { host, .. }) => Err(AuditError::AuditctlNotFound { host }),
        Ok(out) if out.code == Some(127) => {
            Err(AuditError::AuditctlNotFound { host: host.label() })
        }
        other => other,
    }
}

/// Runs `auditctl <args>` and requires success; a failure is classified ([`failure`]).
pub(crate) fn auditctl_ok(host: &dyn AuditHost, args: &[&str]) -> Result<CmdOutput, AuditError> {
    let out = auditctl_raw(host, args)?;
    if out.success() {
        Ok(out)
    } else {
        let argv: Vec<String> = std::iter::once(AUDITCTL)
            .chain(args.iter().copied())
            .map(str::to_owned)
            .collect();
        Err(failure(host, &argv, &out))
    }
}

/// The error for a failed auditctl command: refused (not root), no kernel audit, or the command
/// and what it said.
pub(crate) fn failure(host: &dyn AuditHost, argv: &[String], out: &CmdOutput) -> AuditError {
    let msg = out.message();
    let host = host.label();
    let refused = [
        "must be root",
        "Operation not permitted",
        "Permission denied",
    ];
    let unavailable = [
        "Protocol not supported",
        "Cannot open netlink audit socket",
        "Address family not supported",
    ];
    if refused.iter().any(|p| msg.contains(p)) {
        AuditError::NotPermitted { host, detail: msg }
    } else if unavailable.iter().any(|p| msg.contains(p)) {
        AuditError::AuditUnavailable { host, detail: msg }
    } else {
        AuditError::Command {
            host,
            command: command_text(argv),
            code: out.code,
            stderr: msg,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODERN: &str = "enabled 1\nfailure 1\npid 9778\nrate_limit 0\nbacklog_limit 8192\n\
        lost 0\nbacklog 0\nbacklog_wait_time 15000\nbacklog_wait_time_actual 0\n\
        loginuid_immutable 0 unlocked\n";

    #[test]
    fn parses_modern_status() {
        let st = AuditStatus::parse(MODERN).unwrap();
        assert_eq!(
            st,
            AuditStatus {
                enabled: 1,
                failure: 1,
                pid: 9778,
                rate_limit: 0,
                backlog_limit: 8192,
                lost: 0,
                backlog: 0,
                backlog_wait_time: Some(15000),
                loginuid_immutable: Some("0 unlocked".into()),
            }
        );
        assert!(st.check_ready("h").is_ok());
    }

    #[test]
    fn parses_the_lab_capture_and_the_old_one_line_form() {
        let lab = "enabled 1\nfailure 1\npid 26494\nrate_limit 0\nbacklog_limit 16384\nlost 0\n\
            backlog 8\nbacklog_wait_time 60000\nbacklog_wait_time_actual 0\n";
        let st = AuditStatus::parse(lab).unwrap();
        assert_eq!((st.pid, st.backlog_limit, st.backlog), (26494, 16384, 8));
        assert_eq!(st.loginuid_immutable, None);

        let old = "AUDIT_STATUS: enabled=1 flag=1 pid=812 rate_limit=0 backlog_limit=320 \
            lost=7 backlog=0\n";
        let st = AuditStatus::parse(old).unwrap();
        assert_eq!(
            (st.enabled, st.failure, st.pid, st.backlog_limit, st.lost),
            (1, 1, 812, 320, 7)
        );
        assert_eq!(st.backlog_wait_time, None);
    }

    #[test]
    fn rejects_missing_or_malformed_fields() {
        let e = AuditStatus::parse("enabled 1\n").unwrap_err();
        assert_eq!(e.0, "no failure field");
        let e = AuditStatus::parse(&MODERN.replace("lost 0", "lost -3")).unwrap_err();
        assert!(e.0.contains("lost is \"-3\""), "{e}");
        assert!(AuditStatus::parse("").is_err());
    }

    #[test]
    fn readiness_says_what_to_do() {
        let mut st = AuditStatus::parse(MODERN).unwrap();
        st.pid = 0;
        let e = st.check_ready("h1").unwrap_err().to_string();
        assert_eq!(
            e,
            "auditd is not running on h1: start it (auditd, or systemctl start auditd)"
        );
        st.enabled = 0;
        let e = st.check_ready("h1").unwrap_err();
        assert!(matches!(e, AuditError::AuditDisabled { .. }), "{e}");
        assert!(e.to_string().contains("auditctl -e 1"));
        st.enabled = 2;
        let e = st.check_ready("h1").unwrap_err();
        assert!(matches!(e, AuditError::RulesLocked { .. }), "{e}");
        assert!(e.to_string().contains("locked"));
    }

    #[test]
    fn a_registered_daemon_whose_process_is_gone_is_not_running() {
        let alive = crate::testhost::FakeHost::new();
        assert_eq!(ready_status(&alive).unwrap().pid, 100);
        let gone = crate::testhost::FakeHost::with(|s| s.daemon_alive = false);
        let e = ready_status(&gone).unwrap_err();
        assert!(matches!(e, AuditError::AuditdGone { pid: 100, .. }), "{e}");
        assert!(
            e.to_string().contains("pid 100") && e.to_string().contains("start it again"),
            "{e}"
        );
        assert!(is_dead_stat(b"100 (auditd) Z 1 100"));
        assert!(is_dead_stat(b"7 (a) b) X 1"));
        assert!(!is_dead_stat(b"100 (audit d) S 1 100"));
        assert!(!is_dead_stat(b"garbage"));
    }

    #[test]
    fn keys_of_listed_rules() {
        let r = "-a always,exit -F arch=b64 -S execve,execveat -F auid=4243 -F key=pa-1";
        assert_eq!(rule_keys(r), vec!["pa-1"]);
        assert_eq!(
            rule_keys("-w /etc/passwd -p wa -k identity"),
            vec!["identity"]
        );
        assert_eq!(
            rule_keys("-a always,exit -S all -F key=a\u{1}b"),
            vec!["a", "b"]
        );
        assert!(rule_keys("-a always,exit -S all -F path=/x/key=y").is_empty());
        let rules = vec![r.to_owned(), "-w /etc/passwd -p wa -k pa-10".to_owned()];
        assert_eq!(rules_with_key(&rules, "pa-1"), vec![&rules[0]]);
    }
}
