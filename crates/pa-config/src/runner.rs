//! `runner:` section of `range.yaml`: live execution (Atomic Red Team) and how ssh hosts are
//! reached.

use serde::{Deserialize, Serialize};

/// `runner.atomic.prereqs:`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prereqs {
    /// `check_only` (default: an unmet prerequisite fails the prepare phase) or
    /// `get_prereqs` (run `get_prereq_command`, then check again; the scenario must also allow
    /// it with `safety.allow_get_prereqs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
}

/// `runner.atomic.cleanup:`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cleanup {
    /// Run `cleanup_command` after execute (default true; an action's `cleanup: false` also
    /// suppresses it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoke: Option<bool>,
}

/// `runner.atomic:` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunnerAtomic {
    /// The Atomic Red Team `atomics` folder (upstream layout `atomics/<T>/<T>.yaml`), relative
    /// to the range file's directory. For ssh targets: the same folder on the target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub atomics_root: Option<String>,
    /// Per-action timeout in seconds (default 300; an action's `timeout_seconds` wins).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<u64>,
    #[serde(default)]
    pub prereqs: Prereqs,
    #[serde(default)]
    pub cleanup: Cleanup,
}

/// `runner.ssh:` section: how the system ssh client reaches `ssh` assets. Only references:
/// keys come from the user's agent or ssh configuration, never from this file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunnerSsh {
    /// An ssh configuration file (`ssh -F`), relative to the range file's directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_file: Option<String>,
    /// Extra `-o` options (e.g. `StrictHostKeyChecking=accept-new`).
    #[serde(default)]
    pub options: Vec<String>,
    /// Seconds to wait for a connection (default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_timeout_seconds: Option<u32>,
}

/// `runner:` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Runner {
    /// Execution on this host (provider `local`) happens only when this is true.
    #[serde(default)]
    pub allow_local_execution: bool,
    #[serde(default)]
    pub atomic: RunnerAtomic,
    /// The audit login uid the runner tags its actions' process trees with (default 4242).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_login_uid: Option<u32>,
    /// Bytes of each command's stdout and stderr kept (default 1 MiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_limit_bytes: Option<u64>,
    #[serde(default)]
    pub ssh: RunnerSsh,
}

impl Runner {
    /// The tagging uid.
    pub fn audit_login_uid(&self) -> u32 {
        self.audit_login_uid.unwrap_or(4242)
    }

    /// Whether `get_prereq_command` may run (the scenario must allow it too).
    pub fn get_prereqs(&self) -> bool {
        self.atomic.prereqs.mode.as_deref() == Some("get_prereqs")
    }
}
