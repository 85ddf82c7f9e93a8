//! The local executor: commands as child processes of this host.

use crate::capture::{Captured, Reader};
use crate::wrap::command_argv;
use crate::{ArgvOutput, Cancel, CommandResult, CommandSpec, ExecError, Executor, Interpreter};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long readers may take to see the end of their pipes once the process group is gone.
pub(crate) const PIPE_GRACE: Duration = Duration::from_millis(500);

/// Runs commands as children of this process, each in a process group of its own.
#[derive(Debug, Clone, Default)]
pub struct LocalExecutor {
    _private: (),
}

impl LocalExecutor {
    /// The executor of this host.
    pub fn new() -> LocalExecutor {
        LocalExecutor::default()
    }
}

/// How a supervised child ended.
pub(crate) struct Ended {
    pub(crate) status: Option<ExitStatus>,
    pub(crate) timed_out: bool,
    pub(crate) cancelled: bool,
}

/// Wait for `child` until it exits, `timeout` passes or `cancel` is set; in the last two cases
/// call `kill` (which must end the child) and wait for it.
pub(crate) fn supervise(
    child: Child,
    timeout: Duration,
    cancel: &Cancel,
    mut kill: impl FnMut(),
) -> Result<Ended, std::io::Error> {
    let (tx, rx) = mpsc::channel();
    let mut child = child;
    let waiter = std::thread::spawn(move || {
        let r = child.wait();
        let _ = tx.send(r);
    });
    let deadline = Instant::now() + timeout;
    let mut ended = Ended {
        status: None,
        timed_out: false,
        cancelled: false,
    };
    let mut killed = false;
    let status = loop {
        let now = Instant::now();
        let step = if killed {
            Duration::from_millis(100)
        } else {
            deadline
                .saturating_duration_since(now)
                .min(Duration::from_millis(50))
        };
        match rx.recv_timeout(step) {
            Ok(r) => break r,
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                break Err(std::io::Error::other("the waiter thread ended"));
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if killed {
                    // Killed already: keep killing until the wait returns.
                    kill();
                    continue;
                }
                if cancel.is_cancelled() {
                    ended.cancelled = true;
                } else if Instant::now() >= deadline {
                    ended.timed_out = true;
                } else {
                    continue;
                }
                kill();
                killed = true;
            }
        }
    };
    let _ = waiter.join();
    ended.status = Some(status?);
    Ok(ended)
}

/// Send SIGKILL to a process group; whether any process was in it.
pub(crate) fn kill_group(pgid: u32) -> bool {
    match rustix::process::Pid::from_raw(pgid as i32) {
        Some(p) => rustix::process::kill_process_group(p, rustix::process::Signal::KILL).is_ok(),
        None => false,
    }
}

pub(crate) fn exit_parts(status: Option<ExitStatus>) -> (Option<i32>, Option<i32>) {
    match status {
        Some(s) => (s.code(), s.signal()),
        None => (None, None),
    }
}

fn spawn_error(program: &str, e: std::io::Error) -> ExecError {
    ExecError::Spawn {
        target: "local".into(),
        program: program.to_string(),
        message: e.to_string(),
    }
}

impl Executor for LocalExecutor {
    fn kind(&self) -> &'static str {
        "local"
    }

    fn target_label(&self) -> String {
        "local".into()
    }

    fn supports(&self, interpreter: Interpreter) -> bool {
        interpreter.posix_program().is_some()
    }

    fn run(&self, spec: &CommandSpec, cancel: &Cancel) -> Result<CommandResult, ExecError> {
        let argv = command_argv(spec, "local")?;
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..])
            .envs(spec.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        if let Some(dir) = &spec.workdir {
            cmd.current_dir(dir);
        }
        let started_ms = crate::now_ms();
        let mut child = cmd.spawn().map_err(|e| spawn_error(&argv[0], e))?;
        let pgid = child.id();
        let out = Reader::spawn(child.stdout.take().expect("piped"), spec.output_limit);
        let err = Reader::spawn(
            child.stderr.take().expect("piped"),
            spec.output_limit.saturating_add(64),
        );
        let ended = supervise(child, spec.timeout, cancel, || {
            kill_group(pgid);
        })
        .map_err(|e| ExecError::Io {
            target: "local".into(),
            message: format!("waiting for {}: {e}", argv[0]),
        })?;
        // Whatever the command left in its group goes with it.
        let strays_killed = kill_group(pgid);
        let ended_ms = crate::now_ms();
        let stdout = out.finish(PIPE_GRACE);
        let mut stderr = err.finish(PIPE_GRACE);
        let tagged_pid = if spec.audit_login_uid.is_some() {
            let (pid, rest) =
                crate::capture::split_first_line(crate::wrap::TAGGED_PID_PREFIX, &stderr);
            stderr = rest;
            pid
        } else {
            None
        };
        stderr.bytes.truncate(spec.output_limit);
        let (exit_code, signal) = exit_parts(ended.status);
        Ok(CommandResult {
            started_ms,
            ended_ms,
            exit_code,
            signal,
            timed_out: ended.timed_out,
            cancelled: ended.cancelled,
            strays_killed,
            tagged_pid,
            stdout,
            stderr,
        })
    }

    fn run_argv(&self, argv: &[String], timeout: Duration) -> Result<ArgvOutput, ExecError> {
        let Some(program) = argv.first() else {
            return Err(spawn_error(
                "(nothing)",
                std::io::Error::other("empty command"),
            ));
        };
        let mut child = Command::new(program)
            .args(&argv[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .map_err(|e| spawn_error(program, e))?;
        let pgid = child.id();
        let out = Reader::spawn(child.stdout.take().expect("piped"), usize::MAX);
        let err = Reader::spawn(child.stderr.take().expect("piped"), 1 << 20);
        let ended = supervise(child, timeout, &Cancel::new(), || {
            kill_group(pgid);
        })
        .map_err(|e| ExecError::Io {
            target: "local".into(),
            message: format!("waiting for {program}: {e}"),
        })?;
        if ended.timed_out {
            return Err(ExecError::ProbeTimeout {
                target: "local".into(),
                program: program.clone(),
                seconds: timeout.as_secs(),
            });
        }
        let stdout: Captured = out.finish(PIPE_GRACE);
        let stderr = err.finish(PIPE_GRACE);
        Ok(ArgvOutput {
            code: exit_parts(ended.status).0,
            stdout: stdout.bytes,
            stderr: stderr.text(),
        })
    }

    fn read_file(&self, path: &str) -> Result<Vec<u8>, ExecError> {
        std::fs::read(path).map_err(|e| ExecError::Io {
            target: "local".into(),
            message: format!("{path}: {e}"),
        })
    }

    fn list_dir(&self, dir: &str) -> Result<Vec<String>, ExecError> {
        let rd = std::fs::read_dir(dir).map_err(|e| ExecError::Io {
            target: "local".into(),
            message: format!("{dir}: {e}"),
        })?;
        let mut names = Vec::new();
        for entry in rd {
            let entry = entry.map_err(|e| ExecError::Io {
                target: "local".into(),
                message: format!("{dir}: {e}"),
            })?;
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
        names.sort();
        Ok(names)
    }
}
