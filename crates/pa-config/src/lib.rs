//! Configuration: `range.yaml` (where: lab, telemetry, stages) and `scenario.yaml` (what:
//! the actions to run), decoded strictly (unknown keys, duplicate keys and wrong types are
//! errors naming the file, line and key). Formats are documented in `docs/config.md`.

mod store;
pub use store::{PartitionKey, StoreLayout};

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

mod runner;
mod scoring;
mod security;
pub use runner::{Cleanup, Prereqs, Runner, RunnerAtomic, RunnerSsh};
pub use scoring::{Scoring, Thresholds};
pub use security::{Redaction, RedactionPattern, Security, Signing};

/// A configuration file that could not be used (the one file error of `pa-yaml`).
pub use pa_yaml::FileError as ConfigError;

fn err(file: &Path, message: impl Into<String>) -> ConfigError {
    ConfigError::invalid(file, 0, message.into())
}

/// Decode one configuration document strictly (`pa.yaml_decode.v1`).
fn decode<T: serde::de::DeserializeOwned>(text: &str, file: &Path) -> Result<T, ConfigError> {
    pa_yaml::decode_yaml_strict(file, text, &pa_yaml::YamlOptions::default())
}

/// Lab provider kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LabProvider {
    /// This Linux host.
    Local,
    /// Hosts reached with the system ssh client.
    Ssh,
    /// No hosts: recorded telemetry and a recorded ground truth.
    Replay,
}

impl LabProvider {
    pub fn as_str(self) -> &'static str {
        match self {
            LabProvider::Local => "local",
            LabProvider::Ssh => "ssh",
            LabProvider::Replay => "replay",
        }
    }
}

/// One lab host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Asset {
    pub asset_id: String,
    /// `linux`, `windows` or `macos`.
    pub os: String,
    pub role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// SSH port (provider `ssh`; the ssh configuration's default when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// SSH user (provider `ssh`; the ssh configuration's default when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
}

impl Asset {
    /// The address to connect to: `ip`, else `hostname`.
    pub fn address(&self) -> Option<&str> {
        self.ip.as_deref().or(self.hostname.as_deref())
    }
}

/// `lab:` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lab {
    pub provider: LabProvider,
    #[serde(default)]
    pub assets: Vec<Asset>,
}

/// `stages:` section: which stages run. A missing key means "enabled when implemented for the
/// provider" (see [`RangeConfig::enabled_stages`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageSwitches {
    pub lab_provider: Option<bool>,
    pub runner: Option<bool>,
    pub telemetry: Option<bool>,
    pub normalization: Option<bool>,
    pub validation: Option<bool>,
    pub detection: Option<bool>,
    pub scoring: Option<bool>,
    pub reporting: Option<bool>,
    pub signing: Option<bool>,
}

/// One recorded or collected telemetry source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetrySource {
    pub source_id: String,
    /// `evtx`, `win-xml`, `otlp-json`, `win-json`, `osquery`, `auditd`.
    pub format: String,
    /// The asset the records belong to.
    pub asset_id: String,
    /// Files or directories, relative to the range file's directory. For a live `auditd`
    /// source: the audit log on the asset (default `/var/log/audit/audit.log`; rotated
    /// `audit.log.N` beside it are read too).
    #[serde(default)]
    pub paths: Vec<String>,
    /// A required source that yields nothing fails the stage.
    #[serde(default = "yes")]
    pub required: bool,
    /// Captured during the run (only `auditd`): the telemetry stage reads the run's capture
    /// window from the asset's audit log instead of recorded files.
    #[serde(default)]
    pub live: bool,
    /// With `live`: the runner installs the audit rules the run needs (scoped to its tagged
    /// session) before the first action and removes exactly those after the last.
    #[serde(default)]
    pub manage_audit_rules: bool,
    /// With `live`: seconds added before the first and after the last action of the capture
    /// window (default 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub padding_seconds: Option<u64>,
}

/// The audit log a live auditd source reads when it names none.
pub const DEFAULT_AUDIT_LOG: &str = "/var/log/audit/audit.log";

impl TelemetrySource {
    /// The capture window padding (ms).
    pub fn padding_ms(&self) -> i64 {
        self.padding_seconds.unwrap_or(5).min(3600) as i64 * 1000
    }

    /// A live source's log file on the asset.
    pub fn live_log_path(&self) -> &str {
        self.paths
            .first()
            .map(String::as_str)
            .unwrap_or(DEFAULT_AUDIT_LOG)
    }
}

fn yes() -> bool {
    true
}

/// `telemetry:` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Telemetry {
    #[serde(default)]
    pub sources: Vec<TelemetrySource>,
}

/// `normalization:` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Normalization {
    #[serde(default = "yes")]
    pub strict_mode: bool,
    /// Mapping profiles directory (default: the shipped `mappings/normalizer/ocsf/1.7.0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mappings_dir: Option<String>,
    /// The normalized store's physical layout (ADR-0022).
    #[serde(default, skip_serializing_if = "StoreLayout::is_default")]
    pub store: StoreLayout,
}

impl Default for Normalization {
    fn default() -> Self {
        Normalization {
            strict_mode: true,
            mappings_dir: None,
            store: StoreLayout::default(),
        }
    }
}

/// `detection.sigma:` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sigma {
    /// Rule files or directories, relative to the range file's directory.
    #[serde(default)]
    pub rule_paths: Vec<String>,
    /// Values for `|expand` placeholders.
    #[serde(default)]
    pub placeholders: BTreeMap<String, Vec<String>>,
    /// Correlation rules: most groups held per correlation (default 100000; ADR-0017).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_max_groups: Option<u64>,
    /// Correlation rules: most matches held per group window (default 10000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_max_window: Option<u64>,
}

/// `detection:` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Detection {
    #[serde(default)]
    pub sigma: Sigma,
}

/// `validation.evaluation:` section: the window sides used when neither a criteria entry nor
/// its signal gives one.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidationEvaluation {
    /// Seconds before the action's time (default 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_before_seconds: Option<u64>,
    /// Seconds after the action's time (default 120).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_after_seconds: Option<u64>,
}

/// The longest evaluation window side (seconds) the configuration accepts: seven days.
pub const MAX_VALIDATION_WINDOW_SECONDS: u64 = 7 * 24 * 3600;

/// `validation:` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Validation {
    /// Criteria pack files (YAML), relative to the range file's directory. Non-empty enables
    /// the validation stage unless `stages.validation` says otherwise.
    #[serde(default)]
    pub criteria_packs: Vec<String>,
    #[serde(default)]
    pub evaluation: ValidationEvaluation,
}

/// `replay:` section (provider `replay`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Replay {
    /// Recorded ground truth (JSONL), relative to the range file's directory.
    pub ground_truth: String,
}

/// `range.yaml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RangeConfig {
    /// Default: the range file's name as an id slug (`range.yaml` → `range`).
    #[serde(default)]
    pub range_id: String,
    pub lab: Lab,
    #[serde(default)]
    pub stages: StageSwitches,
    #[serde(default)]
    pub telemetry: Telemetry,
    #[serde(default)]
    pub normalization: Normalization,
    #[serde(default)]
    pub validation: Validation,
    #[serde(default)]
    pub detection: Detection,
    #[serde(default)]
    pub runner: Runner,
    #[serde(default)]
    pub scoring: Scoring,
    #[serde(default)]
    pub security: Security,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay: Option<Replay>,
}

/// A file's stem as an id slug (`[a-z0-9-]`, other characters as `-`, runs collapsed), or
/// `fallback` when nothing is left.
fn slug_of_file(file: &Path, fallback: &str) -> String {
    let stem = file
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let mut out = String::new();
    for c in stem.chars() {
        let c = if c.is_ascii_alphanumeric() { c } else { '-' };
        if !(c == '-' && (out.is_empty() || out.ends_with('-'))) {
            out.push(c);
        }
    }
    let out = out
        .trim_end_matches('-')
        .chars()
        .take(64)
        .collect::<String>();
    let out = out.trim_end_matches('-').to_string();
    if out.is_empty() {
        fallback.to_string()
    } else {
        out
    }
}

fn check_slug(file: &Path, key: &str, v: &str) -> Result<(), ConfigError> {
    let ok = !v.is_empty()
        && v.len() <= 64
        && v.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !v.starts_with('-')
        && !v.ends_with('-')
        && !v.contains("--");
    if ok {
        Ok(())
    } else {
        Err(err(
            file,
            format!(
                "{key}: {v:?} is not an id slug ([a-z0-9-], at most 64, no leading, trailing or double '-')"
            ),
        ))
    }
}

/// An id that names a directory of the run bundle (`raw_parquet/<source_id>/`,
/// `runner/actions/<action_id>/`) must be one path segment: not empty, not `.` or `..`, without
/// `/`, `\`, `:` or control characters. Checked here, where the error can name the key, rather
/// than left to the staging gate that would refuse the bundle path.
fn check_segment(file: &Path, key: &str, v: &str) -> Result<(), ConfigError> {
    let ok = !v.is_empty()
        && v != "."
        && v != ".."
        && !v
            .chars()
            .any(|c| matches!(c, '/' | '\\' | ':') || c.is_control());
    if ok {
        Ok(())
    } else {
        Err(err(
            file,
            format!(
                "{key}: {v:?} names a directory of the run bundle and must be one path segment (not empty, '.' or '..'; no '/', '\\', ':' or control characters)"
            ),
        ))
    }
}

impl RangeConfig {
    /// Decode and check a range file's text. `file` names it in errors.
    pub fn parse(text: &str, file: &Path) -> Result<RangeConfig, ConfigError> {
        let r: RangeConfig = decode(text, file)?;
        let mut r = r;
        if r.range_id.is_empty() {
            r.range_id = slug_of_file(file, "range");
        }
        check_slug(file, "range_id", &r.range_id)?;
        r.normalization.store.check(file)?;
        let mut seen = std::collections::BTreeSet::new();
        for a in &r.lab.assets {
            if a.asset_id.is_empty() {
                return Err(err(file, "lab.assets: empty asset_id"));
            }
            if !seen.insert(a.asset_id.as_str()) {
                return Err(err(
                    file,
                    format!("lab.assets: duplicate asset_id {:?}", a.asset_id),
                ));
            }
            if !["linux", "windows", "macos"].contains(&a.os.as_str()) {
                return Err(err(
                    file,
                    format!(
                        "lab.assets[{}].os: {:?} is not linux, windows or macos",
                        a.asset_id, a.os
                    ),
                ));
            }
        }
        let mut ids = std::collections::BTreeSet::new();
        for s in &r.telemetry.sources {
            check_segment(file, "telemetry.sources[].source_id", &s.source_id)?;
            if !ids.insert(s.source_id.as_str()) {
                return Err(err(
                    file,
                    format!("telemetry.sources: duplicate source_id {:?}", s.source_id),
                ));
            }
            if !seen.contains(s.asset_id.as_str()) {
                return Err(err(
                    file,
                    format!(
                        "telemetry.sources[{}].asset_id: {:?} is not a lab asset",
                        s.source_id, s.asset_id
                    ),
                ));
            }
            if s.paths.is_empty() && !s.live {
                return Err(err(
                    file,
                    format!("telemetry.sources[{}].paths: empty", s.source_id),
                ));
            }
            if s.live && s.format != "auditd" {
                return Err(err(
                    file,
                    format!(
                        "telemetry.sources[{}]: live capture exists for format auditd only, not {:?}",
                        s.source_id, s.format
                    ),
                ));
            }
            if s.live && s.paths.len() > 1 {
                return Err(err(
                    file,
                    format!(
                        "telemetry.sources[{}].paths: a live source reads one audit log (rotated files beside it are found)",
                        s.source_id
                    ),
                ));
            }
            if (s.manage_audit_rules || s.padding_seconds.is_some()) && !s.live {
                return Err(err(
                    file,
                    format!(
                        "telemetry.sources[{}]: manage_audit_rules and padding_seconds apply to live sources (live: true)",
                        s.source_id
                    ),
                ));
            }
            if s.live && r.lab.provider == LabProvider::Replay {
                return Err(err(
                    file,
                    format!(
                        "telemetry.sources[{}]: a replay lab has no live capture",
                        s.source_id
                    ),
                ));
            }
        }
        if let Some(mode) = &r.runner.atomic.prereqs.mode {
            if mode != "check_only" && mode != "get_prereqs" {
                return Err(err(
                    file,
                    format!(
                        "runner.atomic.prereqs.mode: {mode:?} is not check_only or get_prereqs"
                    ),
                ));
            }
        }
        if r.runner.atomic.timeout_seconds == Some(0) {
            return Err(err(
                file,
                "runner.atomic.timeout_seconds: must be at least 1",
            ));
        }
        if r.runner.audit_login_uid == Some(u32::MAX) {
            return Err(err(
                file,
                "runner.audit_login_uid: 4294967295 is the unset login uid and cannot tag a session",
            ));
        }
        let ev = &r.validation.evaluation;
        for (key, v) in [
            ("default_before_seconds", ev.default_before_seconds),
            ("default_after_seconds", ev.default_after_seconds),
        ] {
            if v.is_some_and(|s| s > MAX_VALIDATION_WINDOW_SECONDS) {
                return Err(err(
                    file,
                    format!(
                        "validation.evaluation.{key}: at most {MAX_VALIDATION_WINDOW_SECONDS} (seven days)"
                    ),
                ));
            }
        }
        if r.validation
            .criteria_packs
            .iter()
            .any(|p| p.trim().is_empty())
        {
            return Err(err(file, "validation.criteria_packs: an empty path"));
        }
        if r.lab.provider == LabProvider::Replay && r.replay.is_none() {
            return Err(err(
                file,
                "lab.provider is replay but the replay section (ground_truth) is missing",
            ));
        }
        Ok(r)
    }

    /// Read and decode a range file.
    pub fn load(path: &Path) -> Result<RangeConfig, ConfigError> {
        let text = pa_yaml::read_text(path)?;
        RangeConfig::parse(&text, path)
    }

    /// Whether a stage (by id) is enabled. Defaults: lab_provider, telemetry, normalization and
    /// detection and runner on (for `replay` the runner imports the recorded ground truth);
    /// scoring on when both runner and detection are, reporting when scoring is; validation on when
    /// `validation.criteria_packs` names a pack; signing when `security.signing.key_ref` names a key.
    /// `stages.<stage>` overrides every default.
    pub fn stage_enabled(&self, stage: &str) -> bool {
        let s = &self.stages;
        match stage {
            "lab_provider" => s.lab_provider.unwrap_or(true),
            "runner" => s.runner.unwrap_or(true),
            "telemetry" => s.telemetry.unwrap_or(true),
            "normalization" => s.normalization.unwrap_or(true),
            "validation" => s
                .validation
                .unwrap_or(!self.validation.criteria_packs.is_empty()),
            "detection" => s.detection.unwrap_or(true),
            // Scoring judges what detection found: on with detection unless configured.
            // Scoring judges what detection found against what the runner did: on with both
            // unless configured.
            "scoring" => s
                .scoring
                .unwrap_or_else(|| s.detection.unwrap_or(true) && s.runner.unwrap_or(true)),
            // Reporting renders what scoring judged: on with scoring unless configured.
            "reporting" => s.reporting.unwrap_or_else(|| self.stage_enabled("scoring")),
            // Signing needs a key: on when the range names one.
            "signing" => s.signing.unwrap_or(self.security.signing.key_ref.is_some()),
            _ => false,
        }
    }
}

/// Which targets an action runs on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Selector {
    #[serde(default)]
    pub asset_ids: Vec<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub os: Vec<String>,
}

/// One planned action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Action {
    pub action_id: String,
    /// `atomic` (the only executable engine in v0.1).
    #[serde(default = "atomic")]
    pub engine: String,
    pub technique_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine_test_id: Option<String>,
    #[serde(default)]
    pub target: Selector,
    /// Select the test by its 1-based number in the technique file instead of its GUID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_number: Option<usize>,
    /// Select the test by its name instead of its GUID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_name: Option<String>,
    #[serde(default)]
    pub input_args: BTreeMap<String, String>,
    /// Inputs whose values are secrets, by reference only (`env:NAME`): resolved when the
    /// action runs, redacted everywhere they would be written.
    #[serde(default)]
    pub secret_input_args: BTreeMap<String, String>,
    #[serde(default = "yes")]
    pub cleanup: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<u64>,
}

fn atomic() -> String {
    "atomic".into()
}

/// Posture of the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Posture {
    /// `baseline` or `assumed_compromise`.
    pub mode: String,
}

/// Safety switches.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Safety {
    #[serde(default)]
    pub allow_network: bool,
    /// Let the runner run a test's `get_prereq_command` (with `runner.atomic.prereqs.mode:
    /// get_prereqs`); these commands often download tools.
    #[serde(default)]
    pub allow_get_prereqs: bool,
}

/// `scenario.yaml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioConfig {
    /// Default: the scenario file's name as an id slug (`scenario.yaml` → `scenario`).
    #[serde(default)]
    pub scenario_id: String,
    /// Default `0.0.0` (unversioned).
    #[serde(default)]
    pub scenario_version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub posture: Option<Posture>,
    #[serde(default)]
    pub safety: Safety,
    pub actions: Vec<Action>,
}

fn is_technique(t: &str) -> bool {
    let b = t.as_bytes();
    let base = b.len() >= 5 && b[0] == b'T' && b[1..5].iter().all(u8::is_ascii_digit);
    base && (b.len() == 5
        || (b.len() == 9 && b[5] == b'.' && b[6..9].iter().all(u8::is_ascii_digit)))
}

impl ScenarioConfig {
    /// Decode and check a scenario file's text.
    pub fn parse(text: &str, file: &Path) -> Result<ScenarioConfig, ConfigError> {
        let s: ScenarioConfig = decode(text, file)?;
        let mut s = s;
        if s.scenario_id.is_empty() {
            s.scenario_id = slug_of_file(file, "scenario");
        }
        if s.scenario_version.is_empty() {
            s.scenario_version = "0.0.0".into();
        }
        check_slug(file, "scenario_id", &s.scenario_id)?;
        let v: Vec<&str> = s.scenario_version.split('.').collect();
        if v.len() != 3
            || v.iter()
                .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(err(
                file,
                format!(
                    "scenario_version: {:?} is not a SemVer MAJOR.MINOR.PATCH",
                    s.scenario_version
                ),
            ));
        }
        if let Some(p) = &s.posture
            && p.mode != "baseline"
            && p.mode != "assumed_compromise"
        {
            {
                return Err(err(
                    file,
                    format!(
                        "posture.mode: {:?} is not baseline or assumed_compromise",
                        p.mode
                    ),
                ));
            }
        }
        let mut ids = std::collections::BTreeSet::new();
        for a in &s.actions {
            check_segment(file, "actions[].action_id", &a.action_id)?;
            if !ids.insert(a.action_id.as_str()) {
                return Err(err(
                    file,
                    format!("actions: duplicate action_id {:?}", a.action_id),
                ));
            }
            for (k, v) in &a.secret_input_args {
                let ok = v.strip_prefix("env:").is_some_and(|n| {
                    !n.is_empty() && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                });
                if !ok {
                    return Err(err(
                        file,
                        format!(
                            "actions[{}].secret_input_args.{k}: a secret is given by reference (env:NAME), never by value",
                            a.action_id
                        ),
                    ));
                }
                if a.input_args.contains_key(k) {
                    return Err(err(
                        file,
                        format!(
                            "actions[{}]: input {k:?} is both in input_args and secret_input_args",
                            a.action_id
                        ),
                    ));
                }
            }
            let selectors = usize::from(a.engine_test_id.is_some())
                + usize::from(a.test_number.is_some())
                + usize::from(a.test_name.is_some());
            if selectors > 1 {
                return Err(err(
                    file,
                    format!(
                        "actions[{}]: select the test by one of engine_test_id, test_number, test_name",
                        a.action_id
                    ),
                ));
            }
            let id_ok = !a.action_id.is_empty()
                && a.action_id.len() <= 64
                && a.action_id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
                && !a.action_id.starts_with('.');
            if !id_ok {
                return Err(err(
                    file,
                    format!(
                        "actions: action_id {:?} must be 1-64 of [A-Za-z0-9._-], not starting with '.' (it names a bundle directory)",
                        a.action_id
                    ),
                ));
            }
            if !is_technique(&a.technique_id) {
                return Err(err(
                    file,
                    format!(
                        "actions[{}].technique_id: {:?} is not T#### or T####.###",
                        a.action_id, a.technique_id
                    ),
                ));
            }
        }
        Ok(s)
    }

    /// Read and decode a scenario file.
    pub fn load(path: &Path) -> Result<ScenarioConfig, ConfigError> {
        let text = pa_yaml::read_text(path)?;
        ScenarioConfig::parse(&text, path)
    }

    /// The distinct techniques of the plan, sorted.
    pub fn techniques(&self) -> Vec<String> {
        let mut t: Vec<String> = self
            .actions
            .iter()
            .map(|a| a.technique_id.clone())
            .collect();
        t.sort();
        t.dedup();
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RANGE: &str = "range_id: lab-1\nlab:\n  provider: replay\n  assets:\n    - asset_id: win-01\n      os: windows\n      role: endpoint\nreplay:\n  ground_truth: gt.jsonl\n";

    #[test]
    fn range_decodes_with_defaults() {
        let r = RangeConfig::parse(RANGE, Path::new("range.yaml")).unwrap();
        assert_eq!(r.lab.provider, LabProvider::Replay);
        assert!(r.stage_enabled("telemetry"));
        assert!(r.stage_enabled("runner"));
        assert!(r.stage_enabled("scoring"), "scoring follows detection");
        assert!(r.stage_enabled("reporting"), "reporting follows scoring");
        let no_detection = RangeConfig::parse(
            &format!("{RANGE}stages: {{detection: false}}\n"),
            Path::new("range.yaml"),
        )
        .unwrap();
        assert!(!no_detection.stage_enabled("scoring"));
        assert!(r.normalization.strict_mode);
    }

    #[test]
    fn unknown_key_is_named_with_its_line() {
        let text = RANGE.replace(
            "    role: endpoint",
            "    role: endpoint\n      colour: blue",
        );
        let e = RangeConfig::parse(&text, Path::new("r.yaml"))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("r.yaml:8:"), "{e}");
        assert!(e.contains("colour"), "{e}");
        assert!(e.contains("line") || e.contains(":8"), "no line in {e}");
    }

    #[test]
    fn duplicate_keys_and_wrong_types_and_yaml11_booleans_are_rejected() {
        let dup = format!("{RANGE}range_id: again\n");
        assert!(
            RangeConfig::parse(&dup, Path::new("r.yaml"))
                .unwrap_err()
                .to_string()
                .contains("uplicate")
        );
        let wrong = RANGE.replace("provider: replay", "provider: [replay]");
        assert!(RangeConfig::parse(&wrong, Path::new("r.yaml")).is_err());
        let yes = "range_id: lab-1\nlab:\n  provider: replay\nreplay:\n  ground_truth: g\nnormalization:\n  strict_mode: yes\n";
        assert!(
            RangeConfig::parse(yes, Path::new("r.yaml")).is_err(),
            "YAML 1.1 'yes' must not be a boolean"
        );
    }

    #[test]
    fn validation_is_enabled_by_its_packs_unless_switched_off() {
        let r = RangeConfig::parse(RANGE, Path::new("r.yaml")).unwrap();
        assert!(!r.stage_enabled("validation"));
        let with = format!(
            "{RANGE}validation:\n  criteria_packs: [packs/a.yaml]\n  evaluation: {{default_before_seconds: 10, default_after_seconds: 300}}\n"
        );
        let r = RangeConfig::parse(&with, Path::new("r.yaml")).unwrap();
        assert!(r.stage_enabled("validation"));
        assert_eq!(r.validation.criteria_packs, ["packs/a.yaml"]);
        assert_eq!(r.validation.evaluation.default_before_seconds, Some(10));
        assert_eq!(r.validation.evaluation.default_after_seconds, Some(300));
        let off = format!("{with}stages:\n  validation: false\n");
        assert!(
            !RangeConfig::parse(&off, Path::new("r.yaml"))
                .unwrap()
                .stage_enabled("validation")
        );
        let on = format!("{RANGE}stages:\n  validation: true\n");
        assert!(
            RangeConfig::parse(&on, Path::new("r.yaml"))
                .unwrap()
                .stage_enabled("validation")
        );
        let bad = with.replace("300", "9999999");
        let e = RangeConfig::parse(&bad, Path::new("r.yaml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("default_after_seconds"), "{e}");
        let unknown = with.replace("evaluation:", "evaluations:");
        let e = RangeConfig::parse(&unknown, Path::new("r.yaml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("evaluations"), "{e}");
    }

    #[test]
    fn scenario_checks() {
        let ok = "scenario_id: s-1\nscenario_version: 1.0.0\nactions:\n  - action_id: s1\n    technique_id: T1059.001\n";
        let s = ScenarioConfig::parse(ok, Path::new("s.yaml")).unwrap();
        assert_eq!(s.techniques(), vec!["T1059.001".to_string()]);
        assert!(
            ScenarioConfig::parse(&ok.replace("T1059.001", "T59"), Path::new("s.yaml")).is_err()
        );
        assert!(ScenarioConfig::parse(&ok.replace("1.0.0", "1.0"), Path::new("s.yaml")).is_err());
        assert!(ScenarioConfig::parse(&ok.replace("s-1", "S_1"), Path::new("s.yaml")).is_err());
        for bad in ["../../x", "/tmp/x", "a/b", "..", "c:x", "\"\""] {
            let e = ScenarioConfig::parse(
                &ok.replace("action_id: s1", &format!("action_id: {bad}")),
                Path::new("s.yaml"),
            )
            .unwrap_err()
            .to_string();
            assert!(
                e.starts_with("s.yaml") && e.contains("actions[].action_id"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn a_source_id_is_one_path_segment() {
        let range = |id: &str| {
            format!(
                "lab: {{provider: replay, assets: [{{asset_id: a, os: linux, role: ws}}]}}\nreplay: {{ground_truth: gt.jsonl}}\ntelemetry:\n  sources:\n    - {{source_id: {id}, format: auditd, asset_id: a, paths: [x.log]}}\n"
            )
        };
        if let Err(e) = RangeConfig::parse(&range("audit-1.log_x"), Path::new("r.yaml")) {
            panic!("{e}");
        }
        for bad in ["../../../tmp/evil", "/tmp/evil", "a/b", ".", "\"a\\\\b\""] {
            let e = RangeConfig::parse(&range(bad), Path::new("r.yaml"))
                .unwrap_err()
                .to_string();
            assert!(
                e.starts_with("r.yaml") && e.contains("telemetry.sources[].source_id"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn ids_and_version_default_from_the_file_names() {
        let r = RangeConfig::parse(
            "lab: {provider: local, assets: [{asset_id: local, os: linux, role: ws}]}\n",
            Path::new("/x/My Lab.yaml"),
        )
        .unwrap();
        assert_eq!(r.range_id, "my-lab");
        let s = ScenarioConfig::parse("actions: []\n", Path::new("scenario.yaml")).unwrap();
        assert_eq!(
            (s.scenario_id.as_str(), s.scenario_version.as_str()),
            ("scenario", "0.0.0")
        );
        let odd = ScenarioConfig::parse("actions: []\n", Path::new("___.yaml")).unwrap();
        assert_eq!(odd.scenario_id, "scenario");
    }
}
