//! The rule plan of a run: which syscalls and paths are audited for the tagged session, as
//! auditctl argument vectors. Every rule is scoped to the session's audit login uid
//! (`-F auid=<auid>`) and carries the run's key (`-k <key>`), so that removing the run's rules
//! is `auditctl -D -k <key>` and nothing outside the tagged session is recorded.

use serde::{Deserialize, Serialize};

use crate::AuditError;

/// The audit login uid the runner's session is tagged with by default.
pub const DEFAULT_AUID: u32 = 4242;
/// The longest key accepted (auditctl allows more; short keys keep `auditctl -l` readable).
pub const MAX_KEY_LEN: usize = 31;
/// The audit uid of a process whose login uid was never set: it cannot scope rules.
pub const AUID_UNSET: u32 = u32::MAX;

/// A syscall table of a rule (`-F arch=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Arch {
    /// The host's 64-bit ABI (`b64`).
    B64,
    /// The host's 32-bit compat ABI (`b32`).
    B32,
}

impl Arch {
    /// The auditctl spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Arch::B64 => "b64",
            Arch::B32 => "b32",
        }
    }
}

/// A syscall of a rule: its name, and for syscalls newer than some auditctl versions know, the
/// number to use when auditctl rejects the name (numbers from 424 on are the same on every
/// architecture).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Syscall {
    /// The name auditctl knows it by.
    pub name: String,
    /// The number to give auditctl when it does not know the name.
    pub number: Option<u32>,
}

/// What a path rule watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WatchKind {
    /// One file (`-F path=`).
    File,
    /// A directory tree (`-F dir=`); installed as `-F path=` when the directory does not exist
    /// (as `auditctl -w` does), which still sees the directory being created.
    Dir,
}

/// One rule of the plan, without its auid and key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RuleSpec {
    /// `-a always,exit -F arch=<arch> -S <syscalls> [-F <filter>]...`
    Syscalls {
        /// The syscall table.
        arch: Arch,
        /// The syscalls, in the order given to auditctl.
        syscalls: Vec<Syscall>,
        /// Extra field filters, e.g. `a2&0x40`.
        filters: Vec<String>,
    },
    /// `-a always,exit -F dir=<path>|path=<path> -F perm=<perm>`
    Watch {
        /// The absolute path (no trailing `/`).
        path: String,
        /// File or directory tree.
        kind: WatchKind,
        /// Access kinds: `r`, `w`, `x`, `a` (attribute change).
        perm: String,
    },
}

/// A rule of the plan and what it is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedRule {
    /// What the rule records: `exec`, `create`, `delete`, `perm`, `connect`, `process`,
    /// `watch`.
    pub purpose: String,
    /// The rule.
    pub spec: RuleSpec,
}

impl PlannedRule {
    /// The auditctl arguments (without `auditctl`) adding the rule for `auid` with `key`.
    pub fn args(&self, auid: u32, key: &str) -> Vec<String> {
        let mut a: Vec<String> = vec!["-a".into(), "always,exit".into()];
        match &self.spec {
            RuleSpec::Syscalls {
                arch,
                syscalls,
                filters,
            } => {
                a.extend(["-F".into(), format!("arch={}", arch.as_str())]);
                let names: Vec<&str> = syscalls.iter().map(|s| s.name.as_str()).collect();
                a.extend(["-S".into(), names.join(",")]);
                for f in filters {
                    a.extend(["-F".into(), f.clone()]);
                }
            }
            RuleSpec::Watch { path, kind, perm } => {
                let field = match kind {
                    WatchKind::File => "path",
                    WatchKind::Dir => "dir",
                };
                a.extend(["-F".into(), format!("{field}={path}")]);
                a.extend(["-F".into(), format!("perm={perm}")]);
            }
        }
        a.extend(["-F".into(), format!("auid={auid}")]);
        a.extend(["-k".into(), key.to_owned()]);
        a
    }
}

/// The rules of a run: what the tagged session (`auid`) is audited for, under one key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RulePlan {
    key: String,
    auid: u32,
    rules: Vec<PlannedRule>,
}

/// Files and directory trees watched for the tagged session: what Sigma's Linux auditd rules
/// (type PATH) and the ART lab capture look at. `(path, kind, perm)`.
///
/// Reads (`r`) are watched where a Sigma rule matches on a read: `/etc/login.defs`
/// (Password Policy Discovery, ca94a6db), `/etc/issue`, `/etc/lsb-release`,
/// `/etc/redhat-release` (System Information Discovery - Auditd, f34047d9), the lab's
/// `/usr/lib/os-release`; `/etc/shadow` and `/etc/sudoers` as in the lab (`rwa`).
pub const WATCHES: &[(&str, WatchKind, &str)] = &[
    ("/etc/passwd", WatchKind::File, "wa"),
    ("/etc/group", WatchKind::File, "wa"),
    ("/etc/shadow", WatchKind::File, "rwa"),
    ("/etc/gshadow", WatchKind::File, "wa"),
    ("/etc/sudoers", WatchKind::File, "rwa"),
    ("/etc/sudoers.d", WatchKind::Dir, "wa"),
    ("/etc/login.defs", WatchKind::File, "rwa"),
    ("/etc/crontab", WatchKind::File, "wa"),
    ("/etc/cron.d", WatchKind::Dir, "wa"),
    ("/var/spool/cron", WatchKind::Dir, "wa"),
    ("/etc/profile", WatchKind::File, "wa"),
    ("/etc/profile.d", WatchKind::Dir, "wa"),
    ("/etc/bash.bashrc", WatchKind::File, "wa"),
    ("/etc/ld.so.preload", WatchKind::File, "wa"),
    ("/etc/systemd/system", WatchKind::Dir, "wa"),
    ("/root/.bashrc", WatchKind::File, "wa"),
    ("/root/.ssh", WatchKind::Dir, "wa"),
    ("/etc/issue", WatchKind::File, "r"),
    ("/etc/lsb-release", WatchKind::File, "r"),
    ("/etc/redhat-release", WatchKind::File, "r"),
    ("/usr/lib/os-release", WatchKind::File, "r"),
];

/// Syscalls newer than some auditctl versions: (name, number).
const NEW_SYSCALLS: &[(&str, u32)] = &[("clone3", 435), ("fchmodat2", 452)];

fn syscalls(names: &[&str]) -> Vec<Syscall> {
    names
        .iter()
        .map(|n| Syscall {
            name: (*n).to_owned(),
            number: NEW_SYSCALLS
                .iter()
                .find(|(name, _)| name == n)
                .map(|(_, nr)| *nr),
        })
        .collect()
}

fn sys(purpose: &str, arch: Arch, names: &[&str], filters: &[&str]) -> PlannedRule {
    PlannedRule {
        purpose: purpose.to_owned(),
        spec: RuleSpec::Syscalls {
            arch,
            syscalls: syscalls(names),
            filters: filters.iter().map(|f| (*f).to_owned()).collect(),
        },
    }
}

impl RulePlan {
    /// The plan of a run: process creation (execve/execveat, 64- and 32-bit), file creation
    /// (open/openat with O_CREAT, creat, mkdir*, link*, symlink*), deletion and renaming,
    /// permission and owner changes, `connect`, the process tree (clone, clone3, fork, vfork)
    /// and the [`WATCHES`]; all for `auid` under `key`.
    ///
    /// The plan names syscalls the host may not have (the legacy ones do not exist on arm64,
    /// `fchmodat2` is unknown to auditctl before 3.1.2): installing drops what auditctl rejects
    /// and reports it.
    pub fn new(key: &str, auid: u32) -> Result<Self, AuditError> {
        validate_key(key)?;
        validate_auid(auid)?;
        use Arch::*;
        let mut rules = vec![
            sys("exec", B64, &["execve", "execveat"], &[]),
            sys("exec", B32, &["execve", "execveat"], &[]),
            // O_CREAT is 0x40 on x86 and arm64.
            sys("create", B64, &["openat"], &["a2&0x40"]),
            sys("create", B64, &["open"], &["a1&0x40"]),
            sys(
                "create",
                B64,
                &[
                    "creat",
                    "mkdir",
                    "mkdirat",
                    "link",
                    "linkat",
                    "symlink",
                    "symlinkat",
                ],
                &[],
            ),
            sys(
                "delete",
                B64,
                &[
                    "unlink",
                    "unlinkat",
                    "rename",
                    "renameat",
                    "renameat2",
                    "rmdir",
                ],
                &[],
            ),
            sys(
                "perm",
                B64,
                &[
                    "chmod",
                    "fchmod",
                    "fchmodat",
                    "fchmodat2",
                    "chown",
                    "fchown",
                    "fchownat",
                    "lchown",
                ],
                &[],
            ),
            sys("connect", B64, &["connect"], &[]),
            sys("process", B64, &["clone", "clone3", "fork", "vfork"], &[]),
        ];
        rules.extend(WATCHES.iter().map(|(path, kind, perm)| PlannedRule {
            purpose: "watch".to_owned(),
            spec: RuleSpec::Watch {
                path: (*path).to_owned(),
                kind: *kind,
                perm: (*perm).to_owned(),
            },
        }));
        Ok(RulePlan {
            key: key.to_owned(),
            auid,
            rules,
        })
    }

    /// A plan with rules of the caller's choice (validated like [`RulePlan::new`]).
    pub fn with_rules(key: &str, auid: u32, rules: Vec<PlannedRule>) -> Result<Self, AuditError> {
        validate_key(key)?;
        validate_auid(auid)?;
        Ok(RulePlan {
            key: key.to_owned(),
            auid,
            rules,
        })
    }

    /// The key every rule carries.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The audit login uid every rule is scoped to.
    pub fn auid(&self) -> u32 {
        self.auid
    }

    /// The rules.
    pub fn rules(&self) -> &[PlannedRule] {
        &self.rules
    }

    /// The auditctl argument vectors of the plan as planned (`argv[0]` is `auditctl`); what is
    /// installed may differ where the host's auditctl rejects a syscall name or a watched
    /// directory does not exist (see [`crate::install`]).
    pub fn argvs(&self) -> Vec<Vec<String>> {
        self.rules
            .iter()
            .map(|r| {
                std::iter::once(crate::AUDITCTL.to_owned())
                    .chain(r.args(self.auid, &self.key))
                    .collect()
            })
            .collect()
    }
}

/// A key is 1 to [`MAX_KEY_LEN`] characters of `[a-z0-9-]`.
pub fn validate_key(key: &str) -> Result<(), AuditError> {
    let bad = |why: &str| {
        Err(AuditError::InvalidKey {
            key: key.to_owned(),
            why: why.to_owned(),
        })
    };
    if key.is_empty() {
        return bad("it is empty");
    }
    if key.len() > MAX_KEY_LEN {
        return bad(&format!(
            "it has {} characters, at most {MAX_KEY_LEN} are allowed",
            key.len()
        ));
    }
    if let Some(c) = key
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return bad(&format!("{c:?} is not allowed (only a-z, 0-9 and -)"));
    }
    Ok(())
}

fn validate_auid(auid: u32) -> Result<(), AuditError> {
    if auid == AUID_UNSET {
        return Err(AuditError::InvalidAuid {
            auid,
            why: "4294967295 is the unset login uid; rules scoped to it would record every \
                  daemon"
                .to_owned(),
        });
    }
    Ok(())
}

/// The key of a run: `pa-` and the first 8 characters of the run id (a lowercase UUID).
pub fn key_for_run(run_id: &str) -> Result<String, AuditError> {
    let head: String = run_id.chars().take(8).collect();
    if head.len() != 8
        || !head
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    {
        return Err(AuditError::InvalidKey {
            key: format!("pa-{head}"),
            why: format!("run id {run_id:?} does not start with 8 lowercase hex digits"),
        });
    }
    Ok(format!("pa-{head}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_validated() {
        assert!(validate_key("pa-0123abcd").is_ok());
        assert!(validate_key(&"a".repeat(31)).is_ok());
        for bad in ["", "PA-1", "pa_1", "pa 1", "pa-ü", &"a".repeat(32)] {
            let e = validate_key(bad).unwrap_err();
            assert!(matches!(e, AuditError::InvalidKey { .. }), "{bad:?}: {e}");
        }
        assert!(RulePlan::new("pa;rm", 4242).is_err());
        assert!(RulePlan::new("pa-1", AUID_UNSET).is_err());
    }

    #[test]
    fn run_keys() {
        assert_eq!(
            key_for_run("0f1e2d3c-aaaa-4bbb-8ccc-000000000000").unwrap(),
            "pa-0f1e2d3c"
        );
        assert!(key_for_run("0F1E2D3C-aaaa").is_err());
        assert!(key_for_run("abc").is_err());
    }

    #[test]
    fn every_rule_is_scoped_and_keyed() {
        let plan = RulePlan::new("pa-0123abcd", 4243).unwrap();
        let argvs = plan.argvs();
        assert_eq!(argvs.len(), 9 + WATCHES.len());
        for a in &argvs {
            assert_eq!(a[0], "auditctl");
            assert_eq!(&a[1..3], ["-a", "always,exit"]);
            assert_eq!(&a[a.len() - 4..], ["-F", "auid=4243", "-k", "pa-0123abcd"]);
        }
        let text: Vec<String> = argvs.iter().map(|a| a[1..].join(" ")).collect();
        assert_eq!(
            text[0],
            "-a always,exit -F arch=b64 -S execve,execveat -F auid=4243 -k pa-0123abcd"
        );
        assert_eq!(
            text[2],
            "-a always,exit -F arch=b64 -S openat -F a2&0x40 -F auid=4243 -k pa-0123abcd"
        );
        assert!(
            text.contains(
                &"-a always,exit -F dir=/etc/sudoers.d -F perm=wa -F auid=4243 -k pa-0123abcd"
                    .to_owned()
            )
        );
        assert!(text.contains(
            &"-a always,exit -F path=/etc/passwd -F perm=wa -F auid=4243 -k pa-0123abcd".to_owned()
        ));
        // Every syscall the brief asks for is in the plan.
        let all = text.join(" ");
        for s in [
            "execve",
            "execveat",
            "openat",
            "open",
            "creat",
            "mkdir",
            "mkdirat",
            "link",
            "linkat",
            "symlink",
            "symlinkat",
            "unlink",
            "unlinkat",
            "rename",
            "renameat",
            "renameat2",
            "rmdir",
            "chmod",
            "fchmod",
            "fchmodat",
            "chown",
            "fchown",
            "fchownat",
            "lchown",
            "connect",
            "clone",
            "clone3",
            "fork",
            "vfork",
        ] {
            assert!(
                all.split([' ', ',']).any(|t| t == s),
                "{s} missing from the plan"
            );
        }
    }

    #[test]
    fn new_syscalls_carry_their_numbers() {
        let plan = RulePlan::new("k", 1).unwrap();
        let numbered: Vec<(String, u32)> = plan
            .rules()
            .iter()
            .filter_map(|r| match &r.spec {
                RuleSpec::Syscalls { syscalls, .. } => Some(syscalls.clone()),
                RuleSpec::Watch { .. } => None,
            })
            .flatten()
            .filter_map(|s| s.number.map(|n| (s.name, n)))
            .collect();
        assert_eq!(
            numbered,
            vec![("fchmodat2".to_owned(), 452), ("clone3".to_owned(), 435)]
        );
    }
}
