//! The SSH executor: the same commands over the system `ssh` client.
//!
//! Every connection runs with `BatchMode=yes` (no password or passphrase prompt can block a
//! run: a missing key is a connection error), keys come from the user's agent and ssh
//! configuration, and nothing secret is written anywhere. The remote command first reports its
//! process group (`pa-remote-pgid:<pid>` on stderr, removed from the capture), so that a
//! timeout or a cancellation can kill the whole remote group over a second connection; where
//! the host has GNU `timeout`, the command also runs under `timeout -s KILL`, so a lost
//! connection cannot leave it running past its timeout.

use crate::capture::{Captured, Reader};
use crate::local::{PIPE_GRACE, exit_parts, supervise};
use crate::wrap::{command_argv, join_quoted, sh_quote};
use crate::{
    ArgvOutput, Cancel, CommandResult, CommandSpec, ExecError, Executor, Interpreter, PROBE_TIMEOUT,
};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

/// The stderr line the remote wrapper writes first.
const PGID_PREFIX: &str = "pa-remote-pgid:";
/// Extra time the local side allows past the remote `timeout` before it kills.
const REMOTE_GRACE: Duration = Duration::from_secs(5);

/// How to reach one host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshTarget {
    /// Host name or address.
    pub host: String,
    /// Port (the ssh configuration's default when absent).
    pub port: Option<u16>,
    /// User (the ssh configuration's default when absent).
    pub user: Option<String>,
    /// An ssh configuration file (`ssh -F`), instead of the user's.
    pub config_file: Option<PathBuf>,
    /// Extra `-o` options (`StrictHostKeyChecking=accept-new`, `UserKnownHostsFile=...`).
    pub options: Vec<String>,
    /// Seconds to wait for the connection.
    pub connect_timeout_secs: u32,
    /// The ssh client program.
    pub program: String,
}

impl SshTarget {
    /// A target with the defaults (`ssh`, 10 s connection timeout).
    pub fn new(host: impl Into<String>) -> SshTarget {
        SshTarget {
            host: host.into(),
            port: None,
            user: None,
            config_file: None,
            options: Vec::new(),
            connect_timeout_secs: 10,
            program: "ssh".into(),
        }
    }

    /// `user@host:port` as far as known.
    pub fn label(&self) -> String {
        let mut s = String::new();
        if let Some(u) = &self.user {
            s.push_str(u);
            s.push('@');
        }
        s.push_str(&self.host);
        if let Some(p) = self.port {
            s.push_str(&format!(":{p}"));
        }
        s
    }

    /// The ssh client arguments before the remote command.
    pub fn client_args(&self) -> Vec<String> {
        let mut a: Vec<String> = [
            "-T",
            "-o",
            "BatchMode=yes",
            "-o",
            "ServerAliveInterval=15",
            "-o",
            "ServerAliveCountMax=3",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        a.push("-o".into());
        a.push(format!("ConnectTimeout={}", self.connect_timeout_secs));
        if let Some(f) = &self.config_file {
            a.push("-F".into());
            a.push(f.display().to_string());
        }
        if let Some(p) = self.port {
            a.push("-p".into());
            a.push(p.to_string());
        }
        if let Some(u) = &self.user {
            a.push("-l".into());
            a.push(u.clone());
        }
        for o in &self.options {
            a.push("-o".into());
            a.push(o.clone());
        }
        a.push("--".into());
        a.push(self.host.clone());
        a
    }
}

/// Runs commands on one host over ssh.
#[derive(Debug, Clone)]
pub struct SshExecutor {
    target: SshTarget,
}

impl SshExecutor {
    /// An executor for `target`.
    pub fn new(target: SshTarget) -> SshExecutor {
        SshExecutor { target }
    }

    /// The target.
    pub fn target(&self) -> &SshTarget {
        &self.target
    }

    fn spawn(&self, remote: &str) -> Result<std::process::Child, ExecError> {
        Command::new(&self.target.program)
            .args(self.target.client_args())
            .arg(remote)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .map_err(|e| ExecError::Spawn {
                target: self.target.label(),
                program: self.target.program.clone(),
                message: e.to_string(),
            })
    }

    /// Kill a remote process group over a second connection (best effort).
    fn kill_remote(&self, pgid: u32) {
        let remote = format!("kill -KILL -- -{pgid} 2>/dev/null; true");
        if let Ok(child) = self.spawn(&remote) {
            let pid = child.id();
            let _ = supervise(child, Duration::from_secs(15), &Cancel::new(), || {
                crate::local::kill_group(pid);
            });
        }
    }
}

/// Split the wrapper's first stderr line off: (remote pgid, the rest of stderr).
fn split_pgid(stderr: &Captured) -> (Option<u32>, Captured) {
    crate::capture::split_first_line(PGID_PREFIX, stderr)
}

/// The last non-empty line of ssh's stderr: its error message.
fn last_line(stderr: &Captured) -> String {
    stderr
        .text()
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no message")
        .to_string()
}

impl Executor for SshExecutor {
    fn kind(&self) -> &'static str {
        "ssh"
    }

    fn target_label(&self) -> String {
        self.target.label()
    }

    fn supports(&self, interpreter: Interpreter) -> bool {
        interpreter.posix_program().is_some()
    }

    fn run(&self, spec: &CommandSpec, cancel: &Cancel) -> Result<CommandResult, ExecError> {
        let inner = join_quoted(&command_argv(spec, "ssh")?);
        let mut env = String::new();
        if !spec.env.is_empty() {
            env.push_str("env ");
            for (k, v) in &spec.env {
                env.push_str(&sh_quote(&format!("{k}={v}")));
                env.push(' ');
            }
        }
        let secs = spec.timeout.as_secs().max(1);
        let cd = match &spec.workdir {
            Some(d) => format!("cd {} || exit 126; ", sh_quote(d)),
            None => String::new(),
        };
        let remote = format!(
            "echo {PGID_PREFIX}$$ >&2; {cd}if command -v timeout >/dev/null 2>&1; then exec {env}timeout -s KILL {secs} {inner}; else exec {env}{inner}; fi"
        );
        let started_ms = crate::now_ms();
        let mut child = self.spawn(&remote)?;
        let pid = child.id();
        let out = Reader::spawn(child.stdout.take().expect("piped"), spec.output_limit);
        // The wrappers' lines come first and are removed afterwards: keep room for them.
        let err = Reader::spawn(
            child.stderr.take().expect("piped"),
            spec.output_limit.saturating_add(128),
        );
        let ended = supervise(child, spec.timeout + REMOTE_GRACE, cancel, || {
            if let (Some(pgid), _) = split_pgid(&err.peek()) {
                self.kill_remote(pgid);
            }
            crate::local::kill_group(pid);
        })
        .map_err(|e| ExecError::Io {
            target: self.target.label(),
            message: format!("waiting for ssh: {e}"),
        })?;
        let ended_ms = crate::now_ms();
        let stdout = out.finish(PIPE_GRACE);
        let (pgid, mut stderr) = split_pgid(&err.finish(PIPE_GRACE));
        let (exit_code, signal) = exit_parts(ended.status);
        if pgid.is_none() && exit_code == Some(255) {
            return Err(ExecError::Connection {
                target: self.target.label(),
                message: last_line(&stderr),
            });
        }
        let tagged_pid = if spec.audit_login_uid.is_some() {
            let (pid, rest) =
                crate::capture::split_first_line(crate::wrap::TAGGED_PID_PREFIX, &stderr);
            stderr = rest;
            pid
        } else {
            None
        };
        let limit = spec.output_limit.min(stderr.bytes.len());
        stderr.bytes.truncate(limit);
        // The remote `timeout` killed it (SIGKILL: 137 through the login shell, or 255 when
        // the session's own process was killed) once its time was up.
        let remote_timeout = !ended.timed_out
            && !ended.cancelled
            && !matches!(exit_code, Some(0))
            && (ended_ms - started_ms) >= spec.timeout.as_millis() as i64;
        Ok(CommandResult {
            started_ms,
            ended_ms,
            exit_code,
            signal,
            timed_out: ended.timed_out || remote_timeout,
            cancelled: ended.cancelled,
            strays_killed: false,
            tagged_pid,
            stdout,
            stderr,
        })
    }

    fn run_argv(&self, argv: &[String], timeout: Duration) -> Result<ArgvOutput, ExecError> {
        let remote = format!("echo {PGID_PREFIX}$$ >&2; exec {}", join_quoted(argv));
        let mut child = self.spawn(&remote)?;
        let pid = child.id();
        let out = Reader::spawn(child.stdout.take().expect("piped"), usize::MAX);
        let err = Reader::spawn(child.stderr.take().expect("piped"), 1 << 20);
        let ended = supervise(child, timeout, &Cancel::new(), || {
            crate::local::kill_group(pid);
        })
        .map_err(|e| ExecError::Io {
            target: self.target.label(),
            message: format!("waiting for ssh: {e}"),
        })?;
        let program = argv.first().cloned().unwrap_or_default();
        if ended.timed_out {
            return Err(ExecError::ProbeTimeout {
                target: self.target.label(),
                program,
                seconds: timeout.as_secs(),
            });
        }
        let stdout = out.finish(PIPE_GRACE);
        let (pgid, stderr) = split_pgid(&err.finish(PIPE_GRACE));
        let code = exit_parts(ended.status).0;
        if pgid.is_none() && code == Some(255) {
            return Err(ExecError::Connection {
                target: self.target.label(),
                message: last_line(&stderr),
            });
        }
        Ok(ArgvOutput {
            code,
            stdout: stdout.bytes,
            stderr: stderr.text(),
        })
    }

    fn read_file(&self, path: &str) -> Result<Vec<u8>, ExecError> {
        let out = self.run_argv(&["cat".into(), "--".into(), path.into()], PROBE_TIMEOUT)?;
        if !out.ok() {
            return Err(ExecError::Io {
                target: self.target.label(),
                message: format!("{path}: {}", out.stderr.trim()),
            });
        }
        Ok(out.stdout)
    }

    fn list_dir(&self, dir: &str) -> Result<Vec<String>, ExecError> {
        let out = self.run_argv(
            &["ls".into(), "-1A".into(), "--".into(), dir.into()],
            PROBE_TIMEOUT,
        )?;
        if !out.ok() {
            return Err(ExecError::Io {
                target: self.target.label(),
                message: format!("{dir}: {}", out.stderr.trim()),
            });
        }
        let mut names: Vec<String> = out
            .stdout_text()
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect();
        names.sort();
        Ok(names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_arguments_never_prompt_and_end_with_the_host() {
        let mut t = SshTarget::new("127.0.0.1");
        t.port = Some(2222);
        t.user = Some("root".into());
        t.options = vec!["StrictHostKeyChecking=accept-new".into()];
        let a = t.client_args();
        assert!(a.windows(2).any(|w| w == ["-o", "BatchMode=yes"]));
        assert!(a.windows(2).any(|w| w == ["-p", "2222"]));
        assert!(a.windows(2).any(|w| w == ["-l", "root"]));
        assert_eq!(&a[a.len() - 2..], ["--", "127.0.0.1"]);
        assert_eq!(t.label(), "root@127.0.0.1:2222");
    }

    #[test]
    fn the_pgid_line_is_split_off() {
        let c = Captured {
            bytes: b"pa-remote-pgid:4711\nreal error\n".to_vec(),
            total: 31,
        };
        let (pgid, rest) = split_pgid(&c);
        assert_eq!(pgid, Some(4711));
        assert_eq!(rest.bytes, b"real error\n");
        assert_eq!(rest.total, 11);
        let plain = Captured {
            bytes: b"ssh: connect to host x port 22: Connection refused\n".to_vec(),
            total: 51,
        };
        assert_eq!(split_pgid(&plain).0, None);
        assert_eq!(
            last_line(&plain),
            "ssh: connect to host x port 22: Connection refused"
        );
    }
}
