//! [`ExecHost`]: an [`AuditHost`] over any `pa-exec` executor (this host, or a host reached
//! with the system ssh client), so the same audit control and log reading work on every
//! target the runner can execute on.

use crate::{AuditError, AuditHost, CmdOutput};
use pa_exec::{ExecError, Executor, PROBE_TIMEOUT};

/// The PATH audit commands run with (auditctl lives in an sbin directory).
const PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// An [`AuditHost`] that runs its commands through an executor.
pub struct ExecHost<'a> {
    exec: &'a dyn Executor,
}

impl<'a> ExecHost<'a> {
    /// Audit control over `exec`.
    pub fn new(exec: &'a dyn Executor) -> ExecHost<'a> {
        ExecHost { exec }
    }

    fn transport(&self, e: ExecError) -> AuditError {
        AuditError::Transport {
            host: self.label(),
            detail: e.to_string(),
        }
    }

    /// A file-system error of a probe (`cat`, `ls`): not found, or another failure.
    fn fs_error(&self, path: &str, e: ExecError) -> AuditError {
        match e {
            ExecError::Io { message, .. } if message.contains("No such file or directory") => {
                AuditError::NotFound {
                    host: self.label(),
                    path: path.to_owned(),
                }
            }
            ExecError::Io { message, .. } => AuditError::Io {
                host: self.label(),
                path: path.to_owned(),
                source: std::io::Error::other(message),
            },
            other => self.transport(other),
        }
    }
}

impl AuditHost for ExecHost<'_> {
    fn label(&self) -> String {
        match self.exec.kind() {
            "local" => "local host".to_owned(),
            kind => format!("{kind} {}", self.exec.target_label()),
        }
    }

    fn run(&self, argv: &[String]) -> Result<CmdOutput, AuditError> {
        let Some(program) = argv.first() else {
            return Err(AuditError::EmptyCommand { host: self.label() });
        };
        // `env` sets the C locale (auditctl's messages are read) and a PATH with sbin; it exits
        // 127 when the program does not exist.
        let mut full = vec!["env".to_string(), "LC_ALL=C".to_string(), PATH.to_string()];
        full.extend(argv.iter().cloned());
        let out = self
            .exec
            .run_argv(&full, PROBE_TIMEOUT)
            .map_err(|e| self.transport(e))?;
        if out.code == Some(127) {
            return Err(AuditError::ProgramNotFound {
                host: self.label(),
                program: program.clone(),
            });
        }
        Ok(CmdOutput {
            code: out.code,
            stdout: out.stdout_text(),
            stderr: out.stderr,
        })
    }

    fn read_file(&self, path: &str) -> Result<Vec<u8>, AuditError> {
        self.exec
            .read_file(path)
            .map_err(|e| self.fs_error(path, e))
    }

    fn list_dir(&self, dir: &str) -> Result<Vec<String>, AuditError> {
        self.exec.list_dir(dir).map_err(|e| self.fs_error(dir, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pa_exec::LocalExecutor;

    #[test]
    fn commands_files_and_missing_things_through_the_local_executor() {
        let ex = LocalExecutor::new();
        let host = ExecHost::new(&ex);
        assert_eq!(host.label(), "local host");
        let out = host
            .run(&["printf".into(), "%s".into(), "x y".into()])
            .unwrap();
        assert!(out.success());
        assert_eq!(out.stdout, "x y");
        assert!(matches!(
            host.run(&["no-such-program-pa".into()]),
            Err(AuditError::ProgramNotFound { .. })
        ));
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("audit.log"), "x").unwrap();
        let d = dir.path().to_str().unwrap();
        assert_eq!(host.list_dir(d).unwrap(), ["audit.log"]);
        assert_eq!(host.read_file(&format!("{d}/audit.log")).unwrap(), b"x");
        assert!(matches!(
            host.read_file(&format!("{d}/nope")),
            Err(AuditError::NotFound { .. })
        ));
        assert!(matches!(
            host.list_dir(&format!("{d}/nope")),
            Err(AuditError::NotFound { .. })
        ));
    }
}
