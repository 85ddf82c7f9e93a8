//! The executor of a range's asset: `local` for the local provider, `ssh` (with the range's
//! `runner.ssh` settings and the asset's address, port and user) for the ssh provider.

use crate::{Executor, LocalExecutor, SshExecutor, SshTarget};
use pa_config::{Asset, LabProvider, RangeConfig};
use std::path::Path;

/// What the executor is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Running the scenario's actions: on the local provider only with
    /// `runner.allow_local_execution: true`.
    Execute,
    /// Reading (probes, audit logs): never changes the host.
    Read,
}

/// Why a range's asset has no executor.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// Local execution was not allowed by the range.
    #[error(
        "inputs/range.yaml: lab.provider is local but runner.allow_local_execution is not true: Atomic tests change this host; set it to true to let them run here"
    )]
    LocalExecutionNotAllowed,
    /// An ssh asset names no address.
    #[error("inputs/range.yaml: lab.assets[{0}]: an ssh target needs ip or hostname")]
    AddressMissing(String),
    /// A replay lab has no hosts.
    #[error("a replay lab has no hosts to run or read anything on")]
    Replay,
}

/// The executor of `asset`; relative paths of the range (the ssh configuration file) are
/// resolved against `base`, the range file's directory.
pub fn executor_for(
    range: &RangeConfig,
    base: &Path,
    asset: &Asset,
    purpose: Purpose,
) -> Result<Box<dyn Executor>, TargetError> {
    match range.lab.provider {
        LabProvider::Local => {
            if purpose == Purpose::Execute && !range.runner.allow_local_execution {
                return Err(TargetError::LocalExecutionNotAllowed);
            }
            Ok(Box::new(LocalExecutor::new()))
        }
        LabProvider::Ssh => {
            let addr = asset
                .address()
                .ok_or_else(|| TargetError::AddressMissing(asset.asset_id.clone()))?;
            let ssh = &range.runner.ssh;
            let mut t = SshTarget::new(addr);
            t.port = asset.port;
            t.user = asset.user.clone();
            t.config_file = ssh.config_file.as_ref().map(|f| base.join(f));
            t.options = ssh.options.clone();
            if let Some(s) = ssh.connect_timeout_seconds {
                t.connect_timeout_secs = s;
            }
            Ok(Box::new(SshExecutor::new(t)))
        }
        LabProvider::Replay => Err(TargetError::Replay),
    }
}
