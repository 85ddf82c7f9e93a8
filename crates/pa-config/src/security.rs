//! `security:` section of `range.yaml`: redaction of what a run publishes and signing of the
//! bundle.

use serde::{Deserialize, Serialize};

fn yes() -> bool {
    true
}

/// `security:` section: redaction of what the run publishes, and signing of the bundle.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Security {
    #[serde(default)]
    pub redaction: Redaction,
    #[serde(default)]
    pub signing: Signing,
}

/// `security.redaction:` (on by default, with the shipped policy).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Redaction {
    /// `false`: nothing is redacted, so runner transcripts and command text are withheld
    /// (replaced by a placeholder) instead of published.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// A `pa.redaction_policy.v1` JSON file replacing the shipped policy (relative to the
    /// range file's directory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// Further patterns, applied after the policy's own secret detectors.
    #[serde(default)]
    pub patterns: Vec<RedactionPattern>,
}

impl Default for Redaction {
    fn default() -> Self {
        Redaction {
            enabled: true,
            policy: None,
            patterns: Vec::new(),
        }
    }
}

/// One configured redaction pattern (Rust `regex` syntax).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedactionPattern {
    pub rule_id: String,
    pub pattern: String,
    /// Default `<REDACTED>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replacement: Option<String>,
}

/// `security.signing:` section: where `pa-sign` finds the secret key (never copied into the bundle).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signing {
    /// The minisign secret key: `file:PATH` or a plain path (relative to the range file's
    /// directory), or `env:NAME` (the variable holds the key file's text, or a path to it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_ref: Option<String>,
    /// The environment variable holding the password of an encrypted key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_env: Option<String>,
}
