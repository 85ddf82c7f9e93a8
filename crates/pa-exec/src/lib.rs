//! Executors: run an action's commands on a target.
//!
//! An [`Executor`] runs a [`CommandSpec`] (an interpreter, a script, extra environment, a
//! timeout, an optional audit login uid to tag the process tree with, an output bound) and
//! reports a [`CommandResult`] (start and end times, exit code or signal, whether it timed out
//! or was cancelled, bounded stdout/stderr). Two executors exist:
//!
//! - [`LocalExecutor`]: a child process of this host, in a process group of its own; a timeout
//!   or a cancellation kills the whole group, and processes the command left behind in its
//!   group are killed when it ends.
//! - [`SshExecutor`]: the same over the system `ssh` client (`BatchMode`, no prompts, keys from
//!   the user's agent and configuration, never a secret in a file); on the host the command
//!   runs under `timeout -s KILL`, which kills its process group, and a cancellation kills the
//!   remote group by a second connection.
//!
//! The interface does not assume a POSIX shell: the interpreter is part of the request, and an
//! executor says which interpreters it supports ([`Executor::supports`]); a WinRM/PowerShell
//! executor fits behind the same trait.
//!
//! Tagging: with [`CommandSpec::audit_login_uid`], the command runs under a `/bin/sh` wrapper
//! that writes the uid to `/proc/self/loginuid` and then `exec`s the interpreter, so every
//! process of the command carries that audit login uid (`auid=`) and its Linux audit records
//! can be attributed exactly. A wrapper that cannot set it exits with [`TAG_FAILED_EXIT`].

mod capture;
mod local;
mod range;
mod ssh;
mod wrap;

pub use capture::Captured;
pub use local::LocalExecutor;
pub use range::{Purpose, TargetError, executor_for};
pub use ssh::{SshExecutor, SshTarget};
pub use wrap::sh_quote;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The exit code of the tagging wrapper when it cannot set the audit login uid.
pub const TAG_FAILED_EXIT: i32 = 125;

/// What interprets a command's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Interpreter {
    /// POSIX `sh -c`.
    Sh,
    /// `bash -c`.
    Bash,
    /// PowerShell (no executor of this version runs it).
    PowerShell,
    /// Windows `cmd.exe /c` (no executor of this version runs it).
    CommandPrompt,
}

impl Interpreter {
    /// The Atomic Red Team executor name.
    pub fn as_str(self) -> &'static str {
        match self {
            Interpreter::Sh => "sh",
            Interpreter::Bash => "bash",
            Interpreter::PowerShell => "powershell",
            Interpreter::CommandPrompt => "command_prompt",
        }
    }

    /// The program and its "run this text" flag, for the POSIX interpreters.
    pub fn posix_program(self) -> Option<(&'static str, &'static str)> {
        match self {
            Interpreter::Sh => Some(("/bin/sh", "-c")),
            Interpreter::Bash => Some(("bash", "-c")),
            _ => None,
        }
    }
}

/// One command to run.
#[derive(Debug, Clone)]
pub struct CommandSpec {
    /// What interprets [`CommandSpec::script`].
    pub interpreter: Interpreter,
    /// The command text.
    pub script: String,
    /// Environment added to the command's (e.g. `PA_MARKER`).
    pub env: Vec<(String, String)>,
    /// Killed (with its whole process group) after this long.
    pub timeout: Duration,
    /// Tag the process tree with this audit login uid.
    pub audit_login_uid: Option<u32>,
    /// Bytes of stdout and of stderr kept (the rest is counted).
    pub output_limit: usize,
    /// The working directory on the target (the executor's default when `None`).
    pub workdir: Option<String>,
}

/// How a command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandResult {
    /// When it started (ms since the epoch, UTC).
    pub started_ms: i64,
    /// When it ended.
    pub ended_ms: i64,
    /// Its exit code, when it exited.
    pub exit_code: Option<i32>,
    /// The signal that ended it, when one did.
    pub signal: Option<i32>,
    /// It ran past its timeout and was killed.
    pub timed_out: bool,
    /// It was cancelled (the runner was interrupted) and killed.
    pub cancelled: bool,
    /// Processes it left in its process group were killed when it ended.
    pub strays_killed: bool,
    /// With audit tagging: the pid whose login uid was set (the command's first process); its
    /// `LOGIN` audit record names the session id (`ses=`) of everything the command did.
    pub tagged_pid: Option<u32>,
    /// Standard output, bounded.
    pub stdout: Captured,
    /// Standard error, bounded.
    pub stderr: Captured,
}

impl CommandResult {
    /// It exited with code 0 (not killed, not timed out).
    pub fn succeeded(&self) -> bool {
        self.exit_code == Some(0) && !self.timed_out && !self.cancelled
    }

    /// Milliseconds it ran.
    pub fn duration_ms(&self) -> i64 {
        self.ended_ms - self.started_ms
    }
}

/// The output of a plain program run (a probe: `id -u`, `auditctl -s`, `cat FILE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgvOutput {
    /// The exit code (`None` when a signal ended it).
    pub code: Option<i32>,
    /// Standard output, whole.
    pub stdout: Vec<u8>,
    /// Standard error, lossily decoded.
    pub stderr: String,
}

impl ArgvOutput {
    /// Exit code 0.
    pub fn ok(&self) -> bool {
        self.code == Some(0)
    }

    /// Standard output, lossily decoded.
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
}

/// Why a command could not be run at all (a command that ran and failed is a
/// [`CommandResult`], not an error).
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// The executor cannot run this interpreter.
    #[error("the {executor} executor cannot run {interpreter} commands")]
    UnsupportedInterpreter {
        /// The executor kind.
        executor: &'static str,
        /// The interpreter asked for.
        interpreter: &'static str,
    },
    /// The program could not be started.
    #[error("{target}: cannot start {program}: {message}")]
    Spawn {
        /// The target's label.
        target: String,
        /// The program.
        program: String,
        /// What the OS said.
        message: String,
    },
    /// The connection to a remote target failed (ssh exit 255).
    #[error("{target}: ssh connection failed: {message}")]
    Connection {
        /// The target's label.
        target: String,
        /// What ssh said (its last stderr line).
        message: String,
    },
    /// Waiting for or reading from the process failed.
    #[error("{target}: {message}")]
    Io {
        /// The target's label.
        target: String,
        /// What failed.
        message: String,
    },
    /// A probe ran past its timeout.
    #[error("{target}: {program} did not finish within {seconds} s")]
    ProbeTimeout {
        /// The target's label.
        target: String,
        /// The program.
        program: String,
        /// The timeout.
        seconds: u64,
    },
}

/// A cancellation flag shared with a signal handler: a running command polls it and is killed
/// (with its process group) once it is set.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    /// A flag that is not set.
    pub fn new() -> Cancel {
        Cancel::default()
    }

    /// Wrap a flag a signal handler sets (e.g. `signal_hook::flag::register`).
    pub fn from_flag(flag: Arc<AtomicBool>) -> Cancel {
        Cancel(flag)
    }

    /// Set the flag.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether it is set.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// The shared flag.
    pub fn flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.0)
    }
}

/// Runs commands on one target.
pub trait Executor: Send + Sync {
    /// `local`, `ssh`, ...
    fn kind(&self) -> &'static str;

    /// The target as named in messages (`local`, `root@127.0.0.1:2222`); never holds a secret.
    fn target_label(&self) -> String;

    /// Whether this executor runs commands of `interpreter`.
    fn supports(&self, interpreter: Interpreter) -> bool;

    /// Run one command to its end, its timeout or a cancellation.
    fn run(&self, spec: &CommandSpec, cancel: &Cancel) -> Result<CommandResult, ExecError>;

    /// Run a program with arguments (no shell on a local target; on a remote one the words are
    /// quoted for the login shell), untagged, for probes and control commands.
    fn run_argv(&self, argv: &[String], timeout: Duration) -> Result<ArgvOutput, ExecError>;

    /// Whether commands run as root (uid 0) on the target.
    fn is_root(&self) -> Result<bool, ExecError> {
        let out = self.run_argv(&["id".to_string(), "-u".to_string()], PROBE_TIMEOUT)?;
        Ok(out.ok() && out.stdout_text().trim() == "0")
    }

    /// A file's bytes on the target.
    fn read_file(&self, path: &str) -> Result<Vec<u8>, ExecError>;

    /// The names in a directory of the target (sorted bytewise).
    fn list_dir(&self, dir: &str) -> Result<Vec<String>, ExecError>;
}

/// Timeout of probes and control commands.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(30);

/// Milliseconds since the epoch, now.
pub(crate) fn now_ms() -> i64 {
    pa_canon::now_utc_millis()
}
