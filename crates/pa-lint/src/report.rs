//! The lint report: findings, their order, counts and status, the `pa:lint-report:v1`
//! document (`lint.json`, RFC 8785) and the human form.
//!
//! A [`Finding`] carries more than the document holds: the line and column it points at and a
//! fix hint. `lint.json` keeps exactly the SPEC §14 shape (the reference fixtures are compared
//! byte for byte); the human form shows the rest (ADR-0014).

use std::fmt;

use serde::Serialize;
use serde_json::{Value, json};

/// The report's `schema_version`.
pub const SCHEMA_VERSION: &str = "pa:lint-report:v1";
/// The report's `tool.name`.
pub const TOOL_NAME: &str = "pa";

/// How serious a finding is (ordered: info < warning < error).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth knowing.
    Info,
    /// Probably wrong, or means something else to other tools.
    Warning,
    /// Breaks the content: pa refuses it or cannot run it.
    Error,
}

impl Severity {
    /// The wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }

    /// Parse the wire form.
    pub fn parse(s: &str) -> Option<Severity> {
        match s {
            "info" => Some(Severity::Info),
            "warning" => Some(Severity::Warning),
            "error" => Some(Severity::Error),
            _ => None,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kinds of content pa-lint checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TargetKind {
    /// Atomic Red Team technique files (`atomics/<T>/<T>.yaml`).
    AtomicTemplate,
    /// `scenario.yaml`.
    Scenario,
    /// `range.yaml`.
    RangeConfig,
    /// A validation criteria pack.
    CriteriaPack,
    /// Sigma rules (files or folders).
    SigmaRule,
    /// A normalizer mapping profile tree or the Sigma → OCSF bridge pack (`mappings/`).
    MappingProfile,
    /// A `pa.redaction_policy.v1` document (`security.redaction.policy`).
    RedactionPolicy,
}

impl TargetKind {
    /// Every kind, in wire-name order.
    pub const ALL: [TargetKind; 7] = [
        TargetKind::AtomicTemplate,
        TargetKind::CriteriaPack,
        TargetKind::MappingProfile,
        TargetKind::RangeConfig,
        TargetKind::RedactionPolicy,
        TargetKind::Scenario,
        TargetKind::SigmaRule,
    ];

    /// The wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::AtomicTemplate => "atomic-template",
            TargetKind::Scenario => "scenario",
            TargetKind::RangeConfig => "range-config",
            TargetKind::CriteriaPack => "criteria-pack",
            TargetKind::SigmaRule => "sigma-rule",
            TargetKind::MappingProfile => "mapping-profile",
            TargetKind::RedactionPolicy => "redaction-policy",
        }
    }

    /// Parse the wire form.
    pub fn parse(s: &str) -> Option<TargetKind> {
        TargetKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for TargetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// (file, instance_path, rule_id, severity, message) as bytes.
type SortKey<'a> = (&'a [u8], &'a [u8], &'a [u8], &'a [u8], &'a [u8]);

/// One finding.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// The file, relative to the report's root, `/`-separated.
    pub file: String,
    /// RFC 6901 JSON pointer into the file's (first) YAML document; `""` for the whole file.
    pub instance_path: String,
    /// The rule (`lint-<area>-<what>`).
    pub rule_id: String,
    /// How serious.
    pub severity: Severity,
    /// What is wrong.
    pub message: String,
    /// Structured details (`lint.json` `details`), when the rule has any.
    pub details: Option<Value>,
    /// 1-based line (0: not tied to a line). Not in `lint.json`.
    pub line: u64,
    /// 1-based column (0: unknown). Not in `lint.json`.
    pub column: u64,
    /// How to fix it, when there is a known fix. Not in `lint.json`.
    pub hint: Option<String>,
}

impl Finding {
    /// A finding without details, position or hint.
    pub fn new(
        file: impl Into<String>,
        instance_path: impl Into<String>,
        rule_id: &str,
        severity: Severity,
        message: impl Into<String>,
    ) -> Finding {
        Finding {
            file: file.into(),
            instance_path: instance_path.into(),
            rule_id: rule_id.to_string(),
            severity,
            message: message.into(),
            details: None,
            line: 0,
            column: 0,
            hint: None,
        }
    }

    /// With `details`.
    pub fn details(mut self, details: Value) -> Finding {
        self.details = Some(details);
        self
    }

    /// At `line`:`column`.
    pub fn at(mut self, line: u64, column: u64) -> Finding {
        self.line = line;
        self.column = column;
        self
    }

    /// At a position, when known.
    pub fn at_mark(self, mark: Option<pa_yaml::outline::Mark>) -> Finding {
        match mark {
            Some(m) => self.at(m.line, m.column),
            None => self,
        }
    }

    /// With a fix hint.
    pub fn hint(mut self, hint: impl Into<String>) -> Finding {
        self.hint = Some(hint.into());
        self
    }

    fn sort_key(&self) -> SortKey<'_> {
        (
            self.file.as_bytes(),
            self.instance_path.as_bytes(),
            self.rule_id.as_bytes(),
            self.severity.as_str().as_bytes(),
            self.message.as_bytes(),
        )
    }

    /// `file:line:col: severity rule_id: message` (line and column when known), then the hint
    /// on its own line.
    pub fn human(&self) -> String {
        let mut s = self.file.clone();
        if self.line > 0 {
            s.push_str(&format!(":{}", self.line));
            if self.column > 0 {
                s.push_str(&format!(":{}", self.column));
            }
        }
        s.push_str(&format!(
            ": {} {}: {}",
            self.severity, self.rule_id, self.message
        ));
        if !self.instance_path.is_empty() {
            s.push_str(&format!(" (at {})", self.instance_path));
        }
        if let Some(h) = &self.hint {
            s.push_str(&format!("\n  hint: {h}"));
        }
        s
    }
}

/// Sort findings by (file, instance_path, rule_id, severity, message) bytewise, then by
/// position, and drop exact repeats.
pub fn sort_findings(findings: &mut Vec<Finding>) {
    findings.sort_by(|a, b| {
        a.sort_key()
            .cmp(&b.sort_key())
            .then(a.line.cmp(&b.line))
            .then(a.column.cmp(&b.column))
    });
    findings.dedup_by(|a, b| a == b);
}

/// The report's `summary.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// No finding at or above the threshold.
    Pass,
    /// Some finding at or above the threshold.
    Fail,
    /// Linting could not run.
    ToolError,
}

impl Status {
    /// The wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::ToolError => "tool_error",
        }
    }
}

/// One linted target: what the path was taken for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Target {
    /// The path as given, relative to the root when under it.
    pub path: String,
    /// Its kind.
    pub kind: TargetKind,
}

/// A finished lint.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// What was linted (sorted).
    pub targets: Vec<Target>,
    /// The findings, sorted ([`sort_findings`]).
    pub findings: Vec<Finding>,
    /// The threshold.
    pub fail_on: Severity,
    /// Whether linting ran.
    pub tool_error: bool,
}

impl Report {
    /// Count of findings of a severity.
    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }

    /// The status: `tool_error` when linting could not run, else `fail` when a finding is at
    /// or above `fail_on`, else `pass`.
    pub fn status(&self) -> Status {
        if self.tool_error {
            Status::ToolError
        } else if self.findings.iter().any(|f| f.severity >= self.fail_on) {
            Status::Fail
        } else {
            Status::Pass
        }
    }

    /// The process exit code: 0 on pass, 20 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self.status() {
            Status::Pass => 0,
            Status::Fail | Status::ToolError => 20,
        }
    }

    /// The `pa:lint-report:v1` document.
    pub fn document(&self) -> Value {
        let findings: Vec<Value> = self
            .findings
            .iter()
            .map(|f| {
                let mut v = json!({
                    "file": f.file,
                    "instance_path": f.instance_path,
                    "rule_id": f.rule_id,
                    "severity": f.severity.as_str(),
                    "message": f.message,
                });
                if let Some(d) = &f.details {
                    v["details"] = d.clone();
                }
                v
            })
            .collect();
        let targets: Vec<Value> = self
            .targets
            .iter()
            .map(|t| json!({"path": t.path, "target_kind": t.kind.as_str()}))
            .collect();
        json!({
            "schema_version": SCHEMA_VERSION,
            "tool": {"name": TOOL_NAME, "version": env!("CARGO_PKG_VERSION")},
            "root": ".",
            "targets": targets,
            "summary": {
                "status": self.status().as_str(),
                "fail_on": self.fail_on.as_str(),
                "counts": {
                    "error": self.count(Severity::Error),
                    "info": self.count(Severity::Info),
                    "warning": self.count(Severity::Warning),
                },
            },
            "findings": findings,
        })
    }

    /// The document as RFC 8785 bytes (no trailing newline), checked against the
    /// `lint_report` contract first.
    pub fn to_jcs(&self) -> Result<Vec<u8>, crate::LintError> {
        let doc = self.document();
        let errors = pa_bundle::contracts::validate_value("lint_report", &doc)
            .map_err(|e| crate::LintError::Contract(e.to_string()))?;
        if let Some(e) = errors.first() {
            return Err(crate::LintError::Contract(format!(
                "{} at {:?} ({} violation(s))",
                e.message,
                e.instance_path,
                errors.len()
            )));
        }
        pa_canon::jcs_value(&doc).map_err(|e| crate::LintError::Contract(e.to_string()))
    }

    /// The human form: one block per finding, then a summary line.
    pub fn human(&self) -> String {
        let mut out = String::new();
        for f in &self.findings {
            out.push_str(&f.human());
            out.push('\n');
        }
        let kinds: Vec<String> = self
            .targets
            .iter()
            .map(|t| format!("{} ({})", t.path, t.kind))
            .collect();
        out.push_str(&format!(
            "{}: {} error(s), {} warning(s), {} info; fail-on {}; linted {}\n",
            self.status().as_str(),
            self.count(Severity::Error),
            self.count(Severity::Warning),
            self.count(Severity::Info),
            self.fail_on,
            if kinds.is_empty() {
                "nothing".to_string()
            } else {
                kinds.join(", ")
            }
        ));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(file: &str, path: &str, rule: &str, sev: Severity, msg: &str) -> Finding {
        Finding::new(file, path, rule, sev, msg)
    }

    #[test]
    fn order_counts_status_and_threshold() {
        let mut fs = vec![
            f("b.yaml", "", "lint-x", Severity::Warning, "w"),
            f("a.yaml", "/z", "lint-x", Severity::Error, "e"),
            f("a.yaml", "/a", "lint-y", Severity::Info, "i"),
            f("a.yaml", "/a", "lint-y", Severity::Info, "i"),
        ];
        sort_findings(&mut fs);
        let order: Vec<(&str, &str)> = fs
            .iter()
            .map(|f| (f.file.as_str(), f.instance_path.as_str()))
            .collect();
        assert_eq!(
            order,
            vec![("a.yaml", "/a"), ("a.yaml", "/z"), ("b.yaml", "")]
        );
        let mut r = Report {
            targets: vec![],
            findings: fs,
            fail_on: Severity::Error,
            tool_error: false,
        };
        assert_eq!(r.status(), Status::Fail);
        assert_eq!(r.exit_code(), 20);
        r.findings.retain(|f| f.severity != Severity::Error);
        assert_eq!(r.status(), Status::Pass);
        r.fail_on = Severity::Warning;
        assert_eq!(r.status(), Status::Fail);
        r.fail_on = Severity::Info;
        r.findings.retain(|f| f.severity == Severity::Info);
        assert_eq!(r.status(), Status::Fail);
        r.tool_error = true;
        assert_eq!(r.status(), Status::ToolError);
        let doc = r.document();
        assert_eq!(doc["summary"]["counts"]["info"], 1);
        assert_eq!(doc["summary"]["status"], "tool_error");
    }

    #[test]
    fn human_form_shows_position_and_hint() {
        let x = f(
            "r.yml",
            "/detection/sel/x",
            "lint-sigma-rule-yaml11-scalar",
            Severity::Warning,
            "m",
        )
        .at(3, 7)
        .hint("quote it: 'yes'");
        assert_eq!(
            x.human(),
            "r.yml:3:7: warning lint-sigma-rule-yaml11-scalar: m (at /detection/sel/x)\n  hint: quote it: 'yes'"
        );
        assert_eq!(
            f("r.yml", "", "lint-a", Severity::Error, "m").human(),
            "r.yml: error lint-a: m"
        );
    }

    #[test]
    fn kinds_and_severities_round_trip() {
        for k in TargetKind::ALL {
            assert_eq!(TargetKind::parse(k.as_str()), Some(k));
        }
        for s in [Severity::Info, Severity::Warning, Severity::Error] {
            assert_eq!(Severity::parse(s.as_str()), Some(s));
        }
        assert!(Severity::Info < Severity::Warning && Severity::Warning < Severity::Error);
    }
}
