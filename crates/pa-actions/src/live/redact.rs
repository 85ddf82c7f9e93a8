//! Redaction of everything the runner writes: the action's secret input values and the
//! range's redaction policy (`security.redaction`, `pa-redact`), applied before the publish gate.

pub use pa_redact::REDACTED;

/// The redactor of one action: the policy with the action's secret values.
#[derive(Debug, Clone)]
pub struct Redactor {
    inner: pa_redact::Redactor,
}

impl Redactor {
    /// The shipped policy with these secret values (empty values are ignored).
    pub fn new(secrets: Vec<String>) -> Redactor {
        Redactor {
            inner: pa_redact::Redactor::new(pa_redact::Policy::default(), secrets)
                .expect("the shipped redaction policy compiles"),
        }
    }

    /// `policy` with these secret values; a policy that does not compile is an error.
    pub fn with_policy(
        policy: pa_redact::Policy,
        secrets: Vec<String>,
    ) -> Result<Redactor, pa_redact::PolicyError> {
        Ok(Redactor {
            inner: pa_redact::Redactor::new(policy, secrets)?,
        })
    }

    /// `text` with every secret and every match of the policy replaced (withheld whole when a
    /// post-check still matches, or when redaction is off).
    pub fn text(&self, text: &str) -> String {
        self.inner.text(text)
    }

    /// [`Redactor::text`], saying whether the text was withheld.
    pub fn redact(&self, text: &str) -> pa_redact::Redaction {
        self.inner.redact(text)
    }
}

/// The range's redaction policy: the shipped one or `security.redaction.policy` (a
/// `pa.redaction_policy.v1` JSON file relative to `base`), `enabled` from the range, and the
/// configured patterns appended. Checked by compiling it once.
pub fn policy(
    cfg: &pa_config::Redaction,
    base: &std::path::Path,
) -> Result<pa_redact::Policy, String> {
    let mut policy = match &cfg.policy {
        None => pa_redact::Policy::default(),
        Some(rel) => {
            let p = base.join(rel);
            let bytes =
                std::fs::read(&p).map_err(|e| format!("{}: redaction policy: {e}", p.display()))?;
            serde_json::from_slice(&bytes).map_err(|e| {
                format!(
                    "{}: not a pa.redaction_policy.v1 document: {e}",
                    p.display()
                )
            })?
        }
    };
    policy.enabled = policy.enabled && cfg.enabled;
    for pat in &cfg.patterns {
        policy.regex_redactions.push(pa_redact::RegexRule {
            rule_id: pat.rule_id.clone(),
            pattern: pat.pattern.clone(),
            replacement: pat.replacement.clone().unwrap_or_else(|| REDACTED.into()),
            phase: pa_redact::Phase::BeforeTruncation,
        });
    }
    pa_redact::Redactor::new(policy.clone(), Vec::new())
        .map_err(|e| format!("inputs/range.yaml: security.redaction: {e}"))?;
    Ok(policy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_secret_first_and_every_occurrence() {
        let r = Redactor::new(vec!["abc".into(), "abcdef".into(), String::new()]);
        assert_eq!(
            r.text("x abcdef y abc z abc"),
            "x <REDACTED> y <REDACTED> z <REDACTED>"
        );
        assert_eq!(Redactor::new(vec![]).text("abc"), "abc");
    }

    #[test]
    fn configured_patterns_and_bad_policies() {
        let mut cfg = pa_config::Redaction::default();
        cfg.patterns.push(pa_config::RedactionPattern {
            rule_id: "ticket".into(),
            pattern: r"TICKET-\d+".into(),
            replacement: None,
        });
        let p = policy(&cfg, std::path::Path::new("/")).unwrap();
        let r = Redactor::with_policy(p, vec![]).unwrap();
        assert_eq!(r.text("see TICKET-123"), "see <REDACTED>");
        cfg.patterns[0].pattern = "(".into();
        let e = policy(&cfg, std::path::Path::new("/")).unwrap_err();
        assert!(
            e.contains("security.redaction") && e.contains("/regex_redactions/"),
            "{e}"
        );
        let cfg = pa_config::Redaction {
            policy: Some("nonexistent.json".into()),
            ..Default::default()
        };
        let e = policy(&cfg, std::path::Path::new("/nowhere")).unwrap_err();
        assert!(e.contains("/nowhere/nonexistent.json"), "{e}");
    }
}
