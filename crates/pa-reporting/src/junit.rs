//! `report/junit.xml`: one test case per action for CI (class = technique, name = the action and
//! its test); a detected action passes, an executed undetected one fails with its gap, an action
//! that did not run is skipped.

use crate::analysis::{Analysis, Outcome};
use crate::inputs::Inputs;

/// Text safe in XML 1.0 character data and attribute values: `& < > " '` escaped, characters
/// XML 1.0 forbids (most C0 controls) replaced by U+FFFD.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Text safe in XML 1.0 character data: like [`xml_escape`], but quotes stay as they are.
pub fn xml_text(s: &str) -> String {
    xml_escape(s).replace("&quot;", "\"").replace("&apos;", "'")
}

/// Render the JUnit document.
pub fn render(inputs: &Inputs, analysis: &Analysis) -> String {
    let s = &inputs.summary;
    let tests = analysis.actions.len();
    let failures = analysis
        .actions
        .iter()
        .filter(|a| matches!(a.outcome, Outcome::SeenNotDetected(_) | Outcome::NotSeen))
        .count();
    let skipped = analysis
        .actions
        .iter()
        .filter(|a| a.outcome == Outcome::NotExecuted)
        .count();
    let suite = xml_escape(&format!("{} {}", s.scenario_id, s.scenario_version));
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<testsuites name=\"purple-axiom\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\">\n"
    ));
    out.push_str(&format!(
        "  <testsuite name=\"{suite}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\">\n"
    ));
    out.push_str("    <properties>\n");
    for (k, v) in [
        ("run_id", s.run_id.as_str()),
        ("scenario_id", s.scenario_id.as_str()),
        ("scenario_version", s.scenario_version.as_str()),
        ("status_recommendation", s.status_recommendation.as_str()),
    ] {
        out.push_str(&format!(
            "      <property name=\"{k}\" value=\"{}\"/>\n",
            xml_escape(v)
        ));
    }
    out.push_str("    </properties>\n");
    for a in &analysis.actions {
        let time = a
            .duration_ms
            .map(|d| format!(" time=\"{:.3}\"", d as f64 / 1000.0))
            .unwrap_or_default();
        out.push_str(&format!(
            "    <testcase classname=\"{}\" name=\"{}\"{time}",
            xml_escape(&a.technique_id),
            xml_escape(&a.test_label())
        ));
        match &a.outcome {
            Outcome::Detected => out.push_str("/>\n"),
            Outcome::NotExecuted => {
                let why = a
                    .row
                    .as_ref()
                    .map(|r| {
                        r.not_executed_reason
                            .clone()
                            .unwrap_or_else(|| format!("execute {}", r.execute_outcome))
                    })
                    .unwrap_or_else(|| "not scored".into());
                out.push_str(&format!(
                    ">\n      <skipped message=\"{}\"/>\n    </testcase>\n",
                    xml_escape(&why)
                ));
            }
            Outcome::SeenNotDetected(_) | Outcome::NotSeen => {
                let (ty, summary, body) = match a.gap() {
                    Some(g) => {
                        let evidence =
                            serde_json::to_string_pretty(&g.evidence).unwrap_or_default();
                        let refs: Vec<String> = g
                            .evidence_refs
                            .iter()
                            .map(|r| format!("{} {}", r.artifact_path, r.selector))
                            .collect();
                        (
                            g.category.clone(),
                            g.summary.clone(),
                            format!(
                                "layer: {}\n{}\nevidence: {evidence}\nevidence_refs:\n  {}",
                                g.layer,
                                g.summary,
                                refs.join("\n  ")
                            ),
                        )
                    }
                    None => (
                        "undetected".to_string(),
                        "not detected (scoring named no gap)".to_string(),
                        String::new(),
                    ),
                };
                out.push_str(&format!(
                    ">\n      <failure type=\"{}\" message=\"{}\">{}</failure>\n    </testcase>\n",
                    xml_escape(&ty),
                    xml_escape(&format!("{ty}: {summary}")),
                    xml_text(&body)
                ));
            }
        }
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_forbidden_characters() {
        assert_eq!(
            xml_escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&apos;"
        );
        assert_eq!(xml_escape("a\u{1}b\u{1b}"), "a\u{FFFD}b\u{FFFD}");
    }
}
