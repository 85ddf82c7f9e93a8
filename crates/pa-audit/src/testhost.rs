//! A fake host for unit tests: an in-memory auditctl (status, rules, backlog) with the failure
//! modes of the real one, and a log of the commands run.

use std::cell::RefCell;
use std::collections::BTreeSet;

use crate::{AuditError, AuditHost, CmdOutput};

pub struct FakeHost {
    pub state: RefCell<FakeState>,
}

pub struct FakeState {
    pub enabled: u32,
    pub pid: u32,
    pub backlog_limit: u64,
    pub lost: u64,
    /// Loaded rules as `auditctl -l` prints them.
    pub rules: Vec<String>,
    /// Syscall names auditctl knows (numbers are always accepted).
    pub known_syscalls: BTreeSet<String>,
    /// Directories that do not exist.
    pub missing: BTreeSet<String>,
    /// An added rule containing this text fails with EINVAL.
    pub reject: Option<String>,
    /// Not root: every command is refused.
    pub not_root: bool,
    /// auditctl is not installed.
    pub no_auditctl: bool,
    /// `-D -k` leaves the rules in place.
    pub delete_is_noop: bool,
    /// The registered daemon's process exists (`/proc/<pid>/stat` reads).
    pub daemon_alive: bool,
    /// Every command run, joined by spaces.
    pub log: Vec<String>,
}

const KNOWN: &[&str] = &[
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
    "fchmodat2",
    "chown",
    "fchown",
    "fchownat",
    "lchown",
    "connect",
    "clone",
    "clone3",
    "fork",
    "vfork",
];

impl FakeHost {
    pub fn new() -> Self {
        FakeHost {
            state: RefCell::new(FakeState {
                enabled: 1,
                pid: 100,
                backlog_limit: 8192,
                lost: 0,
                rules: Vec::new(),
                known_syscalls: KNOWN.iter().map(|s| s.to_string()).collect(),
                missing: BTreeSet::new(),
                reject: None,
                not_root: false,
                no_auditctl: false,
                delete_is_noop: false,
                daemon_alive: true,
                log: Vec::new(),
            }),
        }
    }

    pub fn with(f: impl FnOnce(&mut FakeState)) -> Self {
        let h = FakeHost::new();
        f(&mut h.state.borrow_mut());
        h
    }

    pub fn rules(&self) -> Vec<String> {
        self.state.borrow().rules.clone()
    }

    pub fn log(&self) -> Vec<String> {
        self.state.borrow().log.clone()
    }
}

fn ok(stdout: &str) -> CmdOutput {
    CmdOutput {
        code: Some(0),
        stdout: stdout.to_owned(),
        stderr: String::new(),
    }
}

fn fail(code: i32, stderr: &str) -> CmdOutput {
    CmdOutput {
        code: Some(code),
        stdout: String::new(),
        stderr: format!("{stderr}\n"),
    }
}

fn parent(path: &str) -> &str {
    path.rsplit_once('/').map(|(p, _)| p).unwrap_or("/")
}

impl AuditHost for FakeHost {
    fn label(&self) -> String {
        "fake host".to_owned()
    }

    fn run(&self, argv: &[String]) -> Result<CmdOutput, AuditError> {
        let mut st = self.state.borrow_mut();
        st.log.push(argv.join(" "));
        if argv[0] != "auditctl" || st.no_auditctl {
            return Err(AuditError::ProgramNotFound {
                host: self.label(),
                program: argv[0].clone(),
            });
        }
        if st.not_root {
            return Ok(fail(4, "You must be root to run this program."));
        }
        let args: Vec<&str> = argv[1..].iter().map(String::as_str).collect();
        Ok(match args.as_slice() {
            ["-s"] => ok(&format!(
                "enabled {}\nfailure 1\npid {}\nrate_limit 0\nbacklog_limit {}\nlost {}\n\
                 backlog 0\nbacklog_wait_time 15000\nbacklog_wait_time_actual 0\n\
                 loginuid_immutable 0 unlocked\n",
                st.enabled, st.pid, st.backlog_limit, st.lost
            )),
            ["-l"] if st.rules.is_empty() => ok("No rules\n"),
            ["-l"] => ok(&(st.rules.join("\n") + "\n")),
            ["-b", n] => {
                st.backlog_limit = n.parse().unwrap();
                ok("")
            }
            ["-D", "-k", key] => {
                if !st.delete_is_noop {
                    let suffix = format!("-F key={key}");
                    st.rules.retain(|r| !r.ends_with(&suffix));
                }
                ok("No rules\n")
            }
            ["-a", "always,exit", rest @ ..] => {
                if st.enabled == 2 {
                    return Ok(fail(
                        255,
                        "Error sending add rule data request (Operation not permitted)",
                    ));
                }
                let text = rest.join(" ");
                if let Some(r) = &st.reject {
                    if text.contains(r.as_str()) {
                        return Ok(fail(
                            255,
                            "Error sending add rule data request (Invalid argument)",
                        ));
                    }
                }
                let mut listed: Vec<String> = vec!["-a".into(), "always,exit".into()];
                let mut i = 0;
                let mut has_syscalls = false;
                while i < rest.len() {
                    match rest[i] {
                        "-S" => {
                            has_syscalls = true;
                            for s in rest[i + 1].split(',') {
                                let numeric = s.chars().all(|c| c.is_ascii_digit());
                                if !numeric && !st.known_syscalls.contains(s) {
                                    return Ok(fail(255, &format!("Syscall name unknown: {s}")));
                                }
                            }
                            listed.extend(["-S".to_owned(), rest[i + 1].to_owned()]);
                        }
                        "-F" => {
                            let f = rest[i + 1];
                            let enoent = if let Some(d) = f.strip_prefix("dir=") {
                                st.missing.contains(d)
                            } else if let Some(p) = f.strip_prefix("path=") {
                                st.missing.contains(parent(p))
                            } else {
                                false
                            };
                            if enoent {
                                return Ok(fail(
                                    255,
                                    "Error sending add rule data request (No such file or directory)",
                                ));
                            }
                            if !has_syscalls && !f.starts_with("arch=") {
                                listed.extend(["-S".to_owned(), "all".to_owned()]);
                                has_syscalls = true;
                            }
                            listed.extend(["-F".to_owned(), f.to_owned()]);
                        }
                        "-k" => listed.extend(["-F".to_owned(), format!("key={}", rest[i + 1])]),
                        other => panic!("fake auditctl: unexpected {other}"),
                    }
                    i += 2;
                }
                let line = listed.join(" ");
                if st.rules.contains(&line) {
                    return Ok(fail(
                        255,
                        "Error sending add rule data request (Rule exists)",
                    ));
                }
                st.rules.push(line);
                ok("")
            }
            other => panic!("fake auditctl: unexpected arguments {other:?}"),
        })
    }

    fn read_file(&self, path: &str) -> Result<Vec<u8>, AuditError> {
        let st = self.state.borrow();
        if st.daemon_alive && path == format!("/proc/{}/stat", st.pid) {
            return Ok(format!("{} (auditd) S 1", st.pid).into_bytes());
        }
        Err(AuditError::NotFound {
            host: self.label(),
            path: path.to_owned(),
        })
    }

    fn list_dir(&self, dir: &str) -> Result<Vec<String>, AuditError> {
        Err(AuditError::NotFound {
            host: self.label(),
            path: dir.to_owned(),
        })
    }
}
