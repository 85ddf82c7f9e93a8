//! Redaction of secret input values in everything the runner writes.

/// What replaces a secret.
pub const REDACTED: &str = "<REDACTED>";

/// Replaces every occurrence of the action's secret values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Redactor {
    /// Longest first, so a secret containing another is replaced whole.
    secrets: Vec<String>,
}

impl Redactor {
    /// A redactor of these values (empty values are ignored).
    pub fn new(mut secrets: Vec<String>) -> Redactor {
        secrets.retain(|s| !s.is_empty());
        secrets.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        secrets.dedup();
        Redactor { secrets }
    }

    /// Whether there is anything to redact.
    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// `text` with every secret replaced.
    pub fn text(&self, text: &str) -> String {
        let mut out = text.to_string();
        for s in &self.secrets {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), REDACTED);
            }
        }
        out
    }
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
        assert!(Redactor::new(vec![]).is_empty());
        assert_eq!(Redactor::new(vec![]).text("abc"), "abc");
    }
}
