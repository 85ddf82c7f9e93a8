//! How commands and files reach the audited host: the [`AuditHost`] trait and [`LocalHost`].

use std::io::ErrorKind;
use std::process::{Command, Stdio};

use crate::AuditError;

/// What a command printed and how it ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CmdOutput {
    /// The exit code; `None` when the command was killed by a signal.
    pub code: Option<i32>,
    /// Standard output (lossily decoded).
    pub stdout: String,
    /// Standard error (lossily decoded).
    pub stderr: String,
}

impl CmdOutput {
    /// Exit code 0.
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// stderr, or stdout when stderr is empty, trimmed: what the command said about a failure.
    pub fn message(&self) -> String {
        let e = self.stderr.trim();
        if e.is_empty() {
            self.stdout.trim().to_owned()
        } else {
            e.to_owned()
        }
    }
}

/// How commands and files reach the audited host (local, or over SSH elsewhere).
///
/// The contract an implementation keeps:
/// - [`run`](Self::run) runs `argv` without a shell (an implementation that needs a shell, such
///   as SSH, quotes every argument), as root, with `LC_ALL=C` so that auditctl's messages (which
///   include `strerror` texts this crate reads, e.g. "No such file or directory") are English.
///   It returns `Ok` whenever the program ran, whatever its exit code;
///   [`AuditError::ProgramNotFound`] when `argv[0]` does not exist (a shell's exit code 127
///   is also understood as that); another error when the transport failed.
/// - [`read_file`](Self::read_file) returns the file's bytes, [`AuditError::NotFound`] when it
///   does not exist.
/// - [`list_dir`](Self::list_dir) returns the names (not paths) of a directory's entries, in
///   any order, [`AuditError::NotFound`] when the directory does not exist.
pub trait AuditHost {
    /// A short name for messages, e.g. "local host" or "ssh root@10.0.0.5".
    fn label(&self) -> String;
    /// Runs a program with arguments (`argv[0]` is the program).
    fn run(&self, argv: &[String]) -> Result<CmdOutput, AuditError>;
    /// Reads a whole file.
    fn read_file(&self, path: &str) -> Result<Vec<u8>, AuditError>;
    /// The names of a directory's entries.
    fn list_dir(&self, dir: &str) -> Result<Vec<String>, AuditError>;
}

impl<H: AuditHost + ?Sized> AuditHost for &H {
    fn label(&self) -> String {
        (**self).label()
    }
    fn run(&self, argv: &[String]) -> Result<CmdOutput, AuditError> {
        (**self).run(argv)
    }
    fn read_file(&self, path: &str) -> Result<Vec<u8>, AuditError> {
        (**self).read_file(path)
    }
    fn list_dir(&self, dir: &str) -> Result<Vec<String>, AuditError> {
        (**self).list_dir(dir)
    }
}

/// The machine this process runs on: [`std::process::Command`] and [`std::fs`].
///
/// A program named without a `/` is looked up on `PATH` and then in `/usr/sbin` and `/sbin`
/// (auditctl lives there, and those are often not on the `PATH` of a non-login environment).
#[derive(Debug, Clone, Copy, Default)]
pub struct LocalHost;

/// Where [`LocalHost`] looks for a program that is not on `PATH`.
pub const SBIN_DIRS: [&str; 2] = ["/usr/sbin", "/sbin"];

impl LocalHost {
    fn spawn(&self, program: &str, args: &[String]) -> std::io::Result<std::process::Output> {
        Command::new(program)
            .args(args)
            .env("LC_ALL", "C")
            .stdin(Stdio::null())
            .output()
    }
}

impl AuditHost for LocalHost {
    fn label(&self) -> String {
        "local host".to_owned()
    }

    fn run(&self, argv: &[String]) -> Result<CmdOutput, AuditError> {
        let Some((program, args)) = argv.split_first() else {
            return Err(AuditError::EmptyCommand { host: self.label() });
        };
        let mut candidates = vec![program.clone()];
        if !program.contains('/') {
            candidates.extend(SBIN_DIRS.iter().map(|d| format!("{d}/{program}")));
        }
        for candidate in &candidates {
            match self.spawn(candidate, args) {
                Ok(out) => {
                    return Ok(CmdOutput {
                        code: out.status.code(),
                        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
                    });
                }
                Err(e) if e.kind() == ErrorKind::NotFound => continue,
                Err(source) => {
                    return Err(AuditError::Io {
                        host: self.label(),
                        path: candidate.clone(),
                        source,
                    });
                }
            }
        }
        Err(AuditError::ProgramNotFound {
            host: self.label(),
            program: program.clone(),
        })
    }

    fn read_file(&self, path: &str) -> Result<Vec<u8>, AuditError> {
        std::fs::read(path).map_err(|e| io_error(self, path, e))
    }

    fn list_dir(&self, dir: &str) -> Result<Vec<String>, AuditError> {
        let entries = std::fs::read_dir(dir).map_err(|e| io_error(self, dir, e))?;
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| io_error(self, dir, e))?;
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
        names.sort();
        Ok(names)
    }
}

fn io_error(host: &LocalHost, path: &str, e: std::io::Error) -> AuditError {
    if e.kind() == ErrorKind::NotFound {
        AuditError::NotFound {
            host: host.label(),
            path: path.to_owned(),
        }
    } else {
        AuditError::Io {
            host: host.label(),
            path: path.to_owned(),
            source: e,
        }
    }
}

/// The command line of `argv` for messages: arguments joined by spaces, an argument that is
/// empty or holds a space or quote shown in double quotes.
pub fn command_text(argv: &[String]) -> String {
    argv.iter()
        .map(|a| {
            if a.is_empty() || a.contains([' ', '"', '\'', '\t', '\n']) {
                format!("{a:?}")
            } else {
                a.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn runs_a_program_and_reports_exit_code_and_output() {
        let out = LocalHost
            .run(&argv(&["sh", "-c", "echo out; echo err >&2; exit 3"]))
            .unwrap();
        assert_eq!(out.code, Some(3));
        assert_eq!(out.stdout, "out\n");
        assert_eq!(out.stderr, "err\n");
        assert!(!out.success());
        assert_eq!(out.message(), "err");
    }

    #[test]
    fn missing_program_is_program_not_found() {
        let e = LocalHost
            .run(&argv(&["pa-audit-no-such-program-xyz"]))
            .unwrap_err();
        assert!(
            matches!(&e, AuditError::ProgramNotFound { program, .. } if program == "pa-audit-no-such-program-xyz"),
            "{e:?}"
        );
        let e = LocalHost.run(&[]).unwrap_err();
        assert!(matches!(e, AuditError::EmptyCommand { .. }));
    }

    #[test]
    fn files_and_directories() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap();
        std::fs::write(dir.path().join("b"), b"x\n").unwrap();
        std::fs::write(dir.path().join("a"), b"").unwrap();
        assert_eq!(LocalHost.list_dir(d).unwrap(), vec!["a", "b"]);
        assert_eq!(LocalHost.read_file(&format!("{d}/b")).unwrap(), b"x\n");
        let missing = format!("{d}/nope");
        assert!(matches!(
            LocalHost.read_file(&missing).unwrap_err(),
            AuditError::NotFound { path, .. } if path == missing
        ));
        assert!(matches!(
            LocalHost.list_dir(&missing).unwrap_err(),
            AuditError::NotFound { .. }
        ));
    }

    #[test]
    fn command_text_quotes_what_needs_it() {
        assert_eq!(
            command_text(&argv(&["auditctl", "-a", "always,exit", "a b", ""])),
            r#"auditctl -a always,exit "a b" """#
        );
    }
}
