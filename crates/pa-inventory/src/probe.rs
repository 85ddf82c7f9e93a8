//! Host facts of live lab assets, probed through their executor: name, OS release, kernel,
//! architecture, privileges, and whether auditd is installed and running (with its version).

use pa_exec::{Executor, PROBE_TIMEOUT};
use serde::{Deserialize, Serialize};

/// What the probe found on one host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostFacts {
    /// `uname -n`.
    pub hostname: String,
    /// `PRETTY_NAME` of `/etc/os-release`, when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_release: Option<String>,
    /// `uname -r`.
    pub kernel: String,
    /// `uname -m`.
    pub arch: String,
    /// `root` or `user`: what the runner's commands run as.
    pub privileges: String,
    /// Linux audit on the host.
    pub auditd: AuditdFacts,
}

/// auditd on a host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditdFacts {
    /// `auditctl` exists.
    pub installed: bool,
    /// `auditctl -v`, when installed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The audit daemon runs (`auditctl -s` names its pid; needs root to know).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub running: Option<bool>,
}

/// The probe: one POSIX shell script printing `key=value` lines.
pub const PROBE_SCRIPT: &str = r#"PATH="$PATH:/usr/sbin:/sbin"
echo "hostname=$(uname -n)"
echo "kernel=$(uname -r)"
echo "arch=$(uname -m)"
echo "uid=$(id -u)"
if [ -r /etc/os-release ]; then (. /etc/os-release; echo "os_release=$PRETTY_NAME"); fi
if command -v auditctl >/dev/null 2>&1; then
  echo "auditctl=yes"
  echo "auditctl_version=$(auditctl -v 2>/dev/null | sed -n 's/.*version *//p')"
  if [ "$(id -u)" = 0 ]; then
    p=$(auditctl -s 2>/dev/null | sed -n 's/^pid *//p')
    # A killed daemon stays registered until the kernel next fails to send it a record (and
    # may linger as a zombie): only a live process counts.
    if [ -n "$p" ] && [ "$p" != 0 ]; then
      case "$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | cut -d' ' -f1)" in ''|Z|X) p=0 ;; esac
    fi
    echo "auditd_pid=$p"
  fi
fi
"#;

/// Parse the probe's output.
pub fn parse(text: &str) -> Result<HostFacts, String> {
    let mut kv = std::collections::BTreeMap::new();
    for line in text.lines() {
        if let Some((k, v)) = line.split_once('=') {
            kv.insert(k.trim().to_string(), v.trim().to_string());
        }
    }
    let get = |k: &str| kv.get(k).filter(|v| !v.is_empty()).cloned();
    let need = |k: &str| get(k).ok_or_else(|| format!("the host probe printed no {k}"));
    let installed = get("auditctl").is_some();
    Ok(HostFacts {
        hostname: need("hostname")?,
        os_release: get("os_release"),
        kernel: need("kernel")?,
        arch: need("arch")?,
        privileges: if need("uid")? == "0" { "root" } else { "user" }.to_string(),
        auditd: AuditdFacts {
            installed,
            version: get("auditctl_version"),
            running: get("auditd_pid").map(|p| p.parse::<u64>().is_ok_and(|n| n > 0)),
        },
    })
}

/// Probe one host.
pub fn probe(exec: &dyn Executor) -> Result<HostFacts, String> {
    let argv = vec![
        "/bin/sh".to_string(),
        "-c".to_string(),
        PROBE_SCRIPT.to_string(),
    ];
    let out = exec
        .run_argv(&argv, PROBE_TIMEOUT)
        .map_err(|e| e.to_string())?;
    if !out.ok() {
        return Err(format!(
            "the host probe exited with {:?}: {}",
            out.code,
            out.stderr.trim()
        ));
    }
    parse(&out.stdout_text())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_from_probe_output() {
        let f = parse("hostname=vm\nkernel=6.18.44\narch=x86_64\nuid=0\nos_release=Debian GNU/Linux 12 (bookworm)\nauditctl=yes\nauditctl_version=3.0.9\nauditd_pid=9778\n").unwrap();
        assert_eq!(f.privileges, "root");
        assert_eq!(f.auditd.version.as_deref(), Some("3.0.9"));
        assert_eq!(f.auditd.running, Some(true));
        let g = parse("hostname=h\nkernel=k\narch=a\nuid=1000\n").unwrap();
        assert_eq!(g.privileges, "user");
        assert!(!g.auditd.installed && g.auditd.running.is_none());
        assert!(parse("kernel=k\n").unwrap_err().contains("hostname"));
        let stopped =
            parse("hostname=h\nkernel=k\narch=a\nuid=0\nauditctl=yes\nauditd_pid=0\n").unwrap();
        assert_eq!(stopped.auditd.running, Some(false));
    }

    #[test]
    fn this_host_can_be_probed() {
        let f = probe(&pa_exec::LocalExecutor::new()).unwrap();
        assert!(!f.hostname.is_empty() && !f.kernel.is_empty() && !f.arch.is_empty());
    }
}
