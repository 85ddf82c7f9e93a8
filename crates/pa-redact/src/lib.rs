//! Redaction of secrets in what a run publishes (SPEC §13): the `pa.redaction_policy.v1`
//! policy ([`Policy`]: CLI secret flags, URI userinfo, regular-expression rules, token
//! truncation, post-checks, structured JSON targets) and the [`Redactor`] that applies it,
//! together with the run's own secret values, to text, argument vectors and JSON members.
//!
//! Text goes through fixed phases, in order:
//! 1. the declared secret values (longest first) → `<REDACTED>`;
//! 2. values of secret CLI flags (`--password x`, `--token=x`, `/password:x`);
//! 3. the regex rules of phase `before_truncation` (the default), in policy order;
//! 4. URI userinfo passwords (`https://user:<REDACTED>@host`);
//! 5. tokens (runs of non-whitespace) longer than `limits.max_token_chars` characters become
//!    their first 32 characters and `<TRUNCATED len=N sha256=HEX>` (HEX: the whole token's);
//! 6. the regex rules of phase `after_truncation` (blob detectors), outside truncation markers;
//! 7. post-checks: if any still matches, the whole text is withheld.
//!
//! With `enabled: false` nothing is redacted and every text is withheld
//! (`<WITHHELD_BY_REDACTION_POLICY policy_id=… policy_version=…>`). An invalid policy
//! (unknown format, a regex that does not compile, an unsupported JSONPath) is an error: the
//! caller fails closed with `redaction_policy_error`.

use regex::Regex;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The policy format this crate reads.
pub const POLICY_FORMAT: &str = "pa.redaction_policy.v1";
/// What replaces a secret value.
pub const REDACTED: &str = "<REDACTED>";
/// The reason code of every policy error.
pub const REASON_CODE: &str = "redaction_policy_error";
/// Characters of a truncated token kept before its marker.
pub const TRUNCATED_PREFIX_CHARS: usize = 32;

/// `pa.redaction_policy.v1`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    pub policy_format: String,
    pub policy_id: String,
    pub policy_version: String,
    /// `false`: redaction is off, so published text is withheld instead.
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub limits: Limits,
    #[serde(default)]
    pub cli: Cli,
    #[serde(default)]
    pub uri: Uri,
    #[serde(default)]
    pub regex_redactions: Vec<RegexRule>,
    #[serde(default)]
    pub post_checks: Vec<PostCheck>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub structured: Option<Structured>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    #[serde(default = "d_token")]
    pub max_token_chars: usize,
    #[serde(default = "d_summary")]
    pub max_summary_chars: usize,
    #[serde(default = "d_field")]
    pub max_field_chars: usize,
}
fn d_token() -> usize {
    128
}
fn d_summary() -> usize {
    512
}
fn d_field() -> usize {
    4096
}
impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_token_chars: d_token(),
            max_summary_chars: d_summary(),
            max_field_chars: d_field(),
        }
    }
}

/// Command-line flags whose values are secrets.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cli {
    /// `--password x` / `--password=x` (case-insensitive).
    #[serde(default)]
    pub secret_flags: Vec<String>,
    /// Flags of other conventions, same handling (`-Password x`, `/password:x`).
    #[serde(default)]
    pub secret_flag_prefixes: Vec<String>,
    /// Short flags (`-p x`): only in argument vectors, where a flag is unambiguous.
    #[serde(default)]
    pub secret_bare_flags: Vec<String>,
    /// Between a flag and its value in one argument (`=`, `:`).
    #[serde(default)]
    pub flag_value_separators: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Uri {
    #[serde(default)]
    pub redact_userinfo: bool,
}

/// When a regex rule runs relative to token truncation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Secret detectors: before long tokens are truncated (a JWT is longer than a token).
    #[default]
    BeforeTruncation,
    /// Blob detectors: after truncation, never inside a truncation marker.
    AfterTruncation,
}

/// One regular-expression redaction (Rust `regex` syntax, linear time; `$1` in the
/// replacement names a capture group).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegexRule {
    pub rule_id: String,
    pub pattern: String,
    pub replacement: String,
    #[serde(default)]
    pub phase: Phase,
}

/// A pattern that must not survive redaction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostCheck {
    pub check_id: String,
    pub pattern: String,
    #[serde(default = "d_sev")]
    pub severity: String,
}
fn d_sev() -> String {
    "error".into()
}

/// Members of JSON documents to redact as text (`pa.jsonpath.v1`: `$.a.b` member paths).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Structured {
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub recurse_json_strings: bool,
    #[serde(default)]
    pub target_paths: Vec<String>,
}

fn rule(id: &str, pattern: &str, replacement: &str, phase: Phase) -> RegexRule {
    RegexRule {
        rule_id: id.into(),
        pattern: pattern.into(),
        replacement: replacement.into(),
        phase,
    }
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

impl Default for Policy {
    /// The shipped policy: on, with the detectors of private keys, JWTs, bearer tokens, AWS
    /// access key ids, `key=value` credentials, URI passwords, long hex and base64 blobs.
    fn default() -> Self {
        use Phase::*;
        Policy {
            policy_format: POLICY_FORMAT.into(),
            policy_id: "pa-redaction".into(),
            policy_version: "1.0.0".into(),
            enabled: true,
            limits: Limits::default(),
            cli: Cli {
                secret_flags: strings(&[
                    "--password",
                    "--pass",
                    "--token",
                    "--api-key",
                    "--apikey",
                    "--client-secret",
                    "--secret",
                    "--key",
                ]),
                secret_flag_prefixes: strings(&[
                    "-password",
                    "-pass",
                    "-token",
                    "-apikey",
                    "-secret",
                    "-key",
                    "/password",
                    "/pass",
                    "/token",
                ]),
                secret_bare_flags: strings(&["-p"]),
                flag_value_separators: strings(&["=", ":"]),
            },
            uri: Uri {
                redact_userinfo: true,
            },
            regex_redactions: vec![
                rule(
                    "private_key_block",
                    r"-----BEGIN ([A-Z ]+ )?PRIVATE KEY-----[\s\S]*?-----END ([A-Z ]+ )?PRIVATE KEY-----",
                    "<REDACTED:PRIVATE_KEY>",
                    BeforeTruncation,
                ),
                rule(
                    "jwt",
                    r"eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}",
                    "<REDACTED:JWT>",
                    BeforeTruncation,
                ),
                rule(
                    "bearer_token",
                    r"(?i)\bBearer\s+[A-Za-z0-9._=-]{20,}",
                    "Bearer <REDACTED:TOKEN>",
                    BeforeTruncation,
                ),
                rule(
                    "aws_access_key_id",
                    r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b",
                    "<REDACTED:AWS_ACCESS_KEY_ID>",
                    BeforeTruncation,
                ),
                rule(
                    "kv_password",
                    r"(?i)\b([A-Za-z0-9_]*?(?:password|passwd|pwd|passphrase|secret|token|apikey|api_key|access[_-]?key|client[_-]?secret))\s*[:=]\s*[^\s<][^\s]*",
                    "$1=<REDACTED>",
                    BeforeTruncation,
                ),
                rule(
                    "hex_blob",
                    r"\b[0-9a-fA-F]{64,}\b",
                    "<REDACTED:HEX_BLOB>",
                    AfterTruncation,
                ),
                rule(
                    "base64_blob",
                    r"\b[A-Za-z0-9+/]{80,}={0,2}",
                    "<REDACTED:BASE64_BLOB>",
                    AfterTruncation,
                ),
            ],
            post_checks: vec![
                PostCheck {
                    check_id: "no_private_key".into(),
                    pattern: r"-----BEGIN ([A-Z ]+ )?PRIVATE KEY-----".into(),
                    severity: "error".into(),
                },
                PostCheck {
                    check_id: "no_jwt".into(),
                    pattern: r"eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"
                        .into(),
                    severity: "error".into(),
                },
            ],
            structured: None,
        }
    }
}

impl Policy {
    /// Only the secret values: no CLI, URI or regex rules, no truncation, no post-checks.
    /// For identity digests, which must not change when the policy does.
    pub fn secrets_only() -> Policy {
        Policy {
            limits: Limits {
                max_token_chars: usize::MAX,
                max_summary_chars: usize::MAX,
                max_field_chars: usize::MAX,
            },
            cli: Cli::default(),
            uri: Uri::default(),
            regex_redactions: Vec::new(),
            post_checks: Vec::new(),
            structured: None,
            ..Policy::default()
        }
    }
}

/// Why a policy cannot be used. The caller fails closed with [`REASON_CODE`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("redaction policy {policy_id}: {instance_path}: {message}")]
pub struct PolicyError {
    pub policy_id: String,
    /// JSON pointer into the policy document.
    pub instance_path: String,
    pub message: String,
    /// For JSONPath errors: the `pa.jsonpath.v1` error.
    pub jsonpath: Option<JsonPathError>,
}

/// A `pa.jsonpath.v1` parse error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonPathError {
    /// `unsupported_recursive_descent`, `unsupported_syntax`, `empty_segment`.
    pub error_code: &'static str,
    pub byte_offset: usize,
    pub message: String,
}

impl fmt::Display for JsonPathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at byte {})", self.message, self.byte_offset)
    }
}

/// Parse a `pa.jsonpath.v1` path: `$` then `.member` segments (letters, digits, `_`, `-`).
/// Recursive descent (`$..a`), wildcards, filters and brackets are refused.
pub fn parse_jsonpath(p: &str) -> Result<Vec<String>, JsonPathError> {
    let err = |code: &'static str, at: usize, what: &str| JsonPathError {
        error_code: code,
        byte_offset: at,
        message: format!("PA_JSONPATH_{}: {what} in {p:?}", code.to_ascii_uppercase()),
    };
    let Some(rest) = p.strip_prefix('$') else {
        return Err(err("unsupported_syntax", 0, "a path starts with '$'"));
    };
    if rest.starts_with("..") {
        return Err(err(
            "unsupported_recursive_descent",
            1,
            "recursive descent '..'",
        ));
    }
    let mut out = Vec::new();
    let mut at = 1;
    for seg in rest.split('.').skip(1) {
        at += 1;
        if seg.is_empty() {
            return Err(err(
                "unsupported_recursive_descent",
                at - 1,
                "recursive descent '..'",
            ));
        }
        if let Some(i) = seg
            .bytes()
            .position(|b| !(b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
        {
            return Err(err("unsupported_syntax", at + i, "only '.member' segments"));
        }
        out.push(seg.to_owned());
        at += seg.len();
    }
    if out.is_empty() && !rest.is_empty() {
        return Err(err("unsupported_syntax", 1, "only '.member' segments"));
    }
    Ok(out)
}

/// What redacting a text gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redaction {
    pub text: String,
    /// `Some(check_id)` when a post-check still matched and the text was withheld (or
    /// `"redaction_disabled"` when the policy is off).
    pub withheld: Option<String>,
}

/// A compiled policy with the run's secret values.
#[derive(Debug, Clone)]
pub struct Redactor {
    policy: Policy,
    secrets: Vec<String>,
    cli_text: Option<Regex>,
    before: Vec<(Regex, String)>,
    after: Vec<(Regex, String)>,
    uri: Option<Regex>,
    marker: Regex,
    checks: Vec<(String, Regex)>,
    targets: Vec<Vec<String>>,
}

impl Redactor {
    /// Compile `policy`; `secrets` are values to replace wherever they appear (empty ones are
    /// ignored).
    pub fn new(policy: Policy, mut secrets: Vec<String>) -> Result<Redactor, PolicyError> {
        let perr = |path: String, message: String| PolicyError {
            policy_id: policy.policy_id.clone(),
            instance_path: path,
            message,
            jsonpath: None,
        };
        if policy.policy_format != POLICY_FORMAT {
            return Err(perr(
                "/policy_format".into(),
                format!("{:?} is not {POLICY_FORMAT}", policy.policy_format),
            ));
        }
        if policy.limits.max_token_chars <= TRUNCATED_PREFIX_CHARS {
            return Err(perr(
                "/limits/max_token_chars".into(),
                format!("must be more than {TRUNCATED_PREFIX_CHARS}"),
            ));
        }
        let compile = |path: String, pat: &str| {
            regex::RegexBuilder::new(pat)
                .size_limit(1 << 22)
                .build()
                .map_err(|e| perr(path, format!("pattern does not compile: {e}")))
        };
        let mut before = Vec::new();
        let mut after = Vec::new();
        for (i, r) in policy.regex_redactions.iter().enumerate() {
            let re = compile(format!("/regex_redactions/{i}/pattern"), &r.pattern)?;
            match r.phase {
                Phase::BeforeTruncation => before.push((re, r.replacement.clone())),
                Phase::AfterTruncation => after.push((re, r.replacement.clone())),
            }
        }
        let mut checks = Vec::new();
        for (i, c) in policy.post_checks.iter().enumerate() {
            checks.push((
                c.check_id.clone(),
                compile(format!("/post_checks/{i}/pattern"), &c.pattern)?,
            ));
        }
        let mut targets = Vec::new();
        if let Some(s) = policy.structured.as_ref().filter(|s| s.enabled) {
            for (i, p) in s.target_paths.iter().enumerate() {
                let path = parse_jsonpath(p).map_err(|e| PolicyError {
                    policy_id: policy.policy_id.clone(),
                    instance_path: format!("/structured/target_paths/{i}"),
                    message: e.message.clone(),
                    jsonpath: Some(e),
                })?;
                targets.push(path);
            }
        }
        let mut flags: Vec<String> = policy
            .cli
            .secret_flags
            .iter()
            .chain(&policy.cli.secret_flag_prefixes)
            .map(|f| regex::escape(f))
            .collect();
        flags.sort_by_key(|f| std::cmp::Reverse(f.len()));
        let seps: String = policy
            .cli
            .flag_value_separators
            .iter()
            .map(|s| regex::escape(s))
            .collect::<Vec<_>>()
            .join("|");
        let cli_text = if flags.is_empty() {
            None
        } else {
            let sep = if seps.is_empty() {
                r"\s+".to_string()
            } else {
                format!(r"\s+|{seps}")
            };
            Some(compile(
                "/cli".into(),
                &format!(
                    r#"(?i)(^|[\s"'(])({})({sep})("[^"]*"|'[^']*'|[^\s"'<][^\s"']*)"#,
                    flags.join("|")
                ),
            )?)
        };
        let uri = policy
            .uri
            .redact_userinfo
            .then(|| {
                compile(
                    "/uri".into(),
                    r"(?i)\b([a-z][a-z0-9+.-]*://)([^/\s:@]+):([^/\s@<]+)@",
                )
            })
            .transpose()?;
        secrets.retain(|s| !s.is_empty());
        secrets.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        secrets.dedup();
        Ok(Redactor {
            marker: Regex::new(r"<TRUNCATED len=\d+ sha256=[0-9a-f]{64}>").expect("static regex"),
            policy,
            secrets,
            cli_text,
            before,
            after,
            uri,
            checks,
            targets,
        })
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Whether redaction is on.
    pub fn enabled(&self) -> bool {
        self.policy.enabled
    }

    /// The placeholder of a withheld text.
    pub fn withheld_placeholder(&self) -> String {
        format!(
            "<WITHHELD_BY_REDACTION_POLICY policy_id={} policy_version={}>",
            self.policy.policy_id, self.policy.policy_version
        )
    }

    /// `text` with every secret replaced (see the module doc for the phases); withheld whole
    /// when a post-check still matches or redaction is off.
    pub fn redact(&self, text: &str) -> Redaction {
        if !self.policy.enabled {
            return Redaction {
                text: self.withheld_placeholder(),
                withheld: Some("redaction_disabled".into()),
            };
        }
        let mut s = text.to_string();
        for secret in &self.secrets {
            if s.contains(secret.as_str()) {
                s = s.replace(secret.as_str(), REDACTED);
            }
        }
        if let Some(re) = &self.cli_text {
            s = re
                .replace_all(&s, format!("${{1}}${{2}}${{3}}{REDACTED}"))
                .into_owned();
        }
        for (re, rep) in &self.before {
            s = re.replace_all(&s, rep.as_str()).into_owned();
        }
        if let Some(re) = &self.uri {
            s = re
                .replace_all(&s, format!("${{1}}${{2}}:{REDACTED}@"))
                .into_owned();
        }
        s = self.truncate_tokens(&s);
        if !self.after.is_empty() {
            s = self.outside_markers(&s, |seg| {
                let mut seg = seg.to_string();
                for (re, rep) in &self.after {
                    seg = re.replace_all(&seg, rep.as_str()).into_owned();
                }
                seg
            });
        }
        for (id, re) in &self.checks {
            if re.is_match(&s) {
                return Redaction {
                    text: self.withheld_placeholder(),
                    withheld: Some(id.clone()),
                };
            }
        }
        Redaction {
            text: s,
            withheld: None,
        }
    }

    /// [`Redactor::redact`]'s text.
    pub fn text(&self, text: &str) -> String {
        self.redact(text).text
    }

    /// A short field (an error message, a command summary): redacted, then cut to
    /// `limits.max_summary_chars` characters with a truncation marker.
    pub fn summary(&self, text: &str) -> String {
        let t = self.text(text);
        cut(&t, self.policy.limits.max_summary_chars)
    }

    /// An argument vector: the value after a secret flag (or inline after its separator) is
    /// `<REDACTED>`; every argument is also redacted as text.
    pub fn argv(&self, args: &[String]) -> Vec<String> {
        if !self.policy.enabled {
            return args.iter().map(|_| self.withheld_placeholder()).collect();
        }
        let cli = &self.policy.cli;
        let is_flag = |a: &str| {
            cli.secret_flags
                .iter()
                .chain(&cli.secret_flag_prefixes)
                .chain(&cli.secret_bare_flags)
                .any(|f| f.eq_ignore_ascii_case(a))
        };
        let inline = |a: &str| -> Option<String> {
            for f in cli.secret_flags.iter().chain(&cli.secret_flag_prefixes) {
                if a.len() > f.len() && a[..f.len()].eq_ignore_ascii_case(f) {
                    let rest = &a[f.len()..];
                    for sep in &cli.flag_value_separators {
                        if rest.starts_with(sep.as_str()) {
                            return Some(format!("{}{sep}{REDACTED}", &a[..f.len()]));
                        }
                    }
                }
            }
            None
        };
        let mut out = Vec::with_capacity(args.len());
        let mut next_secret = false;
        for a in args {
            if next_secret {
                out.push(REDACTED.to_string());
                next_secret = false;
                continue;
            }
            if is_flag(a) {
                out.push(a.clone());
                next_secret = true;
            } else if let Some(r) = a.is_char_boundary(0).then(|| inline(a)).flatten() {
                out.push(r);
            } else {
                out.push(self.text(a));
            }
        }
        out
    }

    /// Redact, as text, the members of a JSON document the policy's structured targets name.
    /// Returns whether anything was withheld.
    pub fn json(&self, v: &mut serde_json::Value) -> bool {
        let mut withheld = false;
        for path in &self.targets {
            let pointer: String = path
                .iter()
                .map(|s| format!("/{}", s.replace('~', "~0").replace('/', "~1")))
                .collect();
            if let Some(cur) = v.pointer_mut(&pointer) {
                if let Some(s) = cur.as_str() {
                    let r = self.redact(s);
                    withheld |= r.withheld.is_some();
                    *cur = serde_json::Value::String(r.text);
                }
            }
        }
        withheld
    }

    fn truncate_tokens(&self, s: &str) -> String {
        let max = self.policy.limits.max_token_chars;
        let mut out = String::with_capacity(s.len());
        let mut token = String::new();
        let flush = |token: &mut String, out: &mut String| {
            if token.chars().count() > max {
                out.push_str(&truncated(token));
            } else {
                out.push_str(token);
            }
            token.clear();
        };
        for c in s.chars() {
            if c.is_whitespace() {
                flush(&mut token, &mut out);
                out.push(c);
            } else {
                token.push(c);
            }
        }
        flush(&mut token, &mut out);
        out
    }

    fn outside_markers(&self, s: &str, f: impl Fn(&str) -> String) -> String {
        let mut out = String::with_capacity(s.len());
        let mut last = 0;
        for m in self.marker.find_iter(s) {
            out.push_str(&f(&s[last..m.start()]));
            out.push_str(m.as_str());
            last = m.end();
        }
        out.push_str(&f(&s[last..]));
        out
    }
}

/// A token's first characters and its truncation marker.
pub fn truncated(token: &str) -> String {
    let prefix: String = token.chars().take(TRUNCATED_PREFIX_CHARS).collect();
    format!(
        "{prefix}<TRUNCATED len={} sha256={}>",
        token.chars().count(),
        pa_canon::sha256_hex(token.as_bytes())
    )
}

/// `text` cut to `max` characters (the cut part summarized by a truncation marker).
fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let keep: String = text.chars().take(max).collect();
    format!(
        "{keep}<TRUNCATED len={} sha256={}>",
        text.chars().count(),
        pa_canon::sha256_hex(text.as_bytes())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r() -> Redactor {
        Redactor::new(Policy::default(), vec![]).unwrap()
    }

    #[test]
    fn phases_in_order() {
        let r = r();
        assert_eq!(
            r.text("DB_PASSWORD=SuperSecret123!"),
            "DB_PASSWORD=<REDACTED>"
        );
        assert_eq!(r.text("password: hunter2 ok"), "password=<REDACTED> ok");
        assert_eq!(
            r.text("mysql --password hunter2 -u root"),
            "mysql --password <REDACTED> -u root"
        );
        assert_eq!(r.text("x --token=abc y"), "x --token=<REDACTED> y");
        assert_eq!(
            r.text("net use /password:Pa55 x"),
            "net use /password:<REDACTED> x"
        );
        // `-p` is a flag only in argument vectors.
        assert_eq!(r.text("mkdir -p /tmp/x"), "mkdir -p /tmp/x");
        // A sha256 digest is a hex blob.
        let d = "a".repeat(64);
        assert_eq!(r.text(&format!("sum {d}")), "sum <REDACTED:HEX_BLOB>");
        // Secret values first, whole.
        let s = Redactor::new(Policy::default(), vec!["abc".into(), "abcdef".into()]).unwrap();
        assert_eq!(s.text("x abcdef y abc"), "x <REDACTED> y <REDACTED>");
        // A private key without its end is withheld by the post-check.
        let w = r.redact("-----BEGIN PRIVATE KEY-----\nMIIE");
        assert_eq!(w.withheld.as_deref(), Some("no_private_key"));
        assert!(!w.text.contains("MIIE"));
    }

    #[test]
    fn bad_policies_are_refused_with_their_place() {
        let mut p = Policy::default();
        p.regex_redactions[0].pattern = "(".into();
        let e = Redactor::new(p, vec![]).unwrap_err();
        assert_eq!(e.instance_path, "/regex_redactions/0/pattern");
        let p = Policy {
            policy_format: "other".into(),
            ..Policy::default()
        };
        assert!(Redactor::new(p, vec![]).is_err());
        for (path, code, at) in [
            ("$..a", "unsupported_recursive_descent", 1),
            ("$.a..b", "unsupported_recursive_descent", 3),
            ("a.b", "unsupported_syntax", 0),
            ("$.a[0]", "unsupported_syntax", 3),
            ("$.a.*", "unsupported_syntax", 4),
        ] {
            let e = parse_jsonpath(path).unwrap_err();
            assert_eq!((e.error_code, e.byte_offset), (code, at), "{path}");
        }
        assert_eq!(
            parse_jsonpath("$.process.cmd_line").unwrap(),
            ["process", "cmd_line"]
        );
    }

    #[test]
    fn structured_targets_redact_members() {
        let p = Policy {
            structured: Some(Structured {
                enabled: true,
                recurse_json_strings: false,
                target_paths: vec!["$.process.cmd_line".into()],
            }),
            ..Policy::default()
        };
        let r = Redactor::new(p, vec![]).unwrap();
        let mut v =
            serde_json::json!({"process": {"cmd_line": "app --password x", "name": "password=y"}});
        assert!(!r.json(&mut v));
        assert_eq!(v["process"]["cmd_line"], "app --password <REDACTED>");
        assert_eq!(v["process"]["name"], "password=y", "only the targets");
    }

    #[test]
    fn summaries_are_bounded() {
        let r = r();
        let long = "word ".repeat(300);
        let s = r.summary(&long);
        assert!(s.starts_with("word word") && s.contains("<TRUNCATED len=1500 sha256="));
        assert!(s.chars().count() < 512 + 100);
    }
}
