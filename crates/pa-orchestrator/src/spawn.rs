//! Finding and running stage executables, with signal forwarding and a progress line.

use crate::RunOptions;
use pa_bundle::{OutcomeStatus, RunDir, Stage, StageOutcome};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Where stage executables are looked for.
#[derive(Debug, Clone, Default)]
pub struct StageLocator {
    /// `--stage-bin-dir`: only this directory is searched.
    pub bin_dir: Option<PathBuf>,
}

impl StageLocator {
    /// Find a stage's executable: `--stage-bin-dir` if given; else the directory of the
    /// running `pa-orchestrate`, then `PATH`. The error lists where it looked.
    pub fn find(&self, stage: Stage) -> Result<PathBuf, StageNotFound> {
        let name = stage.binary_name();
        let mut looked = Vec::new();
        let dirs: Vec<PathBuf> = if let Some(d) = &self.bin_dir {
            vec![d.clone()]
        } else {
            let mut v = Vec::new();
            if let Some(d) = std::env::current_exe()
                .ok()
                .and_then(|p| p.parent().map(PathBuf::from))
            {
                v.push(d);
            }
            if let Some(path) = std::env::var_os("PATH") {
                v.extend(std::env::split_paths(&path));
            }
            v
        };
        for d in dirs {
            let p = d.join(name);
            if is_executable(&p) {
                return Ok(p);
            }
            looked.push(d.display().to_string());
        }
        Err(StageNotFound {
            binary: name,
            stage,
            looked,
        })
    }
}

/// A stage's executable is in none of the places [`StageLocator::find`] looks.
#[derive(Debug, Clone, thiserror::Error)]
#[error("stage executable {binary} for stage {stage} not found; looked in: {}", looked.join(", "))]
pub struct StageNotFound {
    /// The executable's file name.
    pub binary: &'static str,
    /// The stage.
    pub stage: Stage,
    /// The directories looked in, in order.
    pub looked: Vec<String>,
}

fn is_executable(p: &std::path::Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// How a stage process ended.
#[derive(Debug)]
pub enum ProcessResult {
    /// It ran and exited (normally or by a signal).
    Exited {
        description: String,
        duration_ms: u64,
    },
    /// Its executable was not found.
    NotFound(String),
    /// The orchestrator was interrupted (SIGINT/SIGTERM) while it ran.
    Interrupted(String),
}

/// Spawn one stage on the run and wait for it, forwarding SIGINT/SIGTERM.
pub fn run_stage_process(
    run: &RunDir,
    stage: Stage,
    opts: &RunOptions,
    interrupted: &Arc<AtomicBool>,
) -> ProcessResult {
    let exe = match opts.locator.find(stage) {
        Ok(p) => p,
        Err(e) => {
            tracing::error!("{e}");
            return ProcessResult::NotFound(e.to_string());
        }
    };
    let run_dir = std::path::absolute(run.path()).unwrap_or_else(|_| run.path().to_path_buf());
    let started = Instant::now();
    let mut cmd = Command::new(&exe);
    cmd.arg("--run-dir")
        .arg(&run_dir)
        .arg("--lock-held")
        .args(&opts.stage_args)
        .stdin(Stdio::null());
    tracing::debug!(exe = %exe.display(), "spawning {stage}");
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return ProcessResult::NotFound(format!("cannot start {}: {e}", exe.display())),
    };
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let r = child.wait();
        let _ = tx.send(r);
    });
    let mut forwarded_at: Option<Instant> = None;
    let status = loop {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(r) => break r,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if interrupted.load(Ordering::SeqCst) {
                    match forwarded_at {
                        None => {
                            tracing::warn!(
                                "interrupted: forwarding SIGTERM to {stage} (pid {pid})"
                            );
                            send(pid, rustix::process::Signal::TERM);
                            forwarded_at = Some(Instant::now());
                        }
                        Some(t) if t.elapsed() > Duration::from_secs(10) => {
                            tracing::warn!("{stage} did not stop within 10 s: killing it");
                            send(pid, rustix::process::Signal::KILL);
                        }
                        Some(_) => {}
                    }
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                break Err(std::io::Error::other("stage waiter thread ended"));
            }
        }
    };
    let _ = waiter.join();
    let duration_ms = started.elapsed().as_millis() as u64;
    if interrupted.load(Ordering::SeqCst) {
        return ProcessResult::Interrupted(format!(
            "pa-orchestrate was interrupted while {} ran",
            stage.binary_name()
        ));
    }
    let description = match status {
        Ok(s) => {
            use std::os::unix::process::ExitStatusExt;
            match (s.code(), s.signal()) {
                (Some(c), _) => format!("exited with code {c}"),
                (None, Some(sig)) => format!("was killed by signal {sig}"),
                _ => "ended".to_string(),
            }
        }
        Err(e) => format!("could not be waited for ({e})"),
    };
    ProcessResult::Exited {
        description,
        duration_ms,
    }
}

fn send(pid: u32, sig: rustix::process::Signal) {
    if let Some(p) = rustix::process::Pid::from_raw(pid as i32) {
        let _ = rustix::process::kill_process(p, sig);
    }
}

/// The TTY progress line (hidden when stderr is not a terminal or progress is off).
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    pub fn new(enabled: bool, total: usize) -> Progress {
        use std::io::IsTerminal;
        if !enabled || !std::io::stderr().is_terminal() {
            return Progress { bar: None };
        }
        let bar = indicatif::ProgressBar::new(total as u64);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{spinner} [{pos}/{len}] {msg} ({elapsed})")
        {
            bar.set_style(style);
        }
        bar.enable_steady_tick(Duration::from_millis(120));
        Progress { bar: Some(bar) }
    }

    pub fn start(&self, i: usize, stage: Stage) {
        if let Some(b) = &self.bar {
            b.set_position(i as u64);
            b.set_message(stage.as_str().to_string());
        }
        tracing::info!("stage {}: {}", i + 1, stage);
    }

    pub fn finish(&self, i: usize, stage: Stage, o: &StageOutcome) {
        if let Some(b) = &self.bar {
            b.set_position(i as u64 + 1);
        }
        match o.status {
            OutcomeStatus::Success => tracing::info!("{stage}: success"),
            _ => tracing::warn!(
                "{stage}: {} ({}, {}){}",
                o.status.as_str(),
                o.fail_mode.as_str(),
                o.reason_code.as_deref().unwrap_or("-"),
                o.message
                    .as_deref()
                    .map(|m| format!(": {m}"))
                    .unwrap_or_default()
            ),
        }
    }

    pub fn done(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
