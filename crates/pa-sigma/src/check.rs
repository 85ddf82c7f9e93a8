//! The check report: which rules of a set are executable, and why the others are not.

use crate::compile::{CompileOptions, FieldResolver, compile};
use crate::rule::RuleSet;
use serde::Serialize;
use std::collections::BTreeMap;

/// One rule's status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleCheck {
    /// Rule id.
    pub id: Option<String>,
    /// Title.
    pub title: String,
    /// Source file.
    pub file: String,
    /// Line of the rule document.
    pub line: u64,
    /// `detection` or `correlation`.
    pub kind: String,
    /// Whether the rule can be executed.
    pub executable: bool,
    /// Reason code when it cannot.
    pub reason_code: Option<String>,
    /// Explanation when it cannot.
    pub message: Option<String>,
}

/// Totals and per-rule status of a rule set under a resolver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckReport {
    /// Rules (detection + correlation) in the set.
    pub total_rules: usize,
    /// Executable rules.
    pub executable_rules: usize,
    /// Non-executable rules (= sum of `non_executable_reason_counts`).
    pub non_executable_rules: usize,
    /// Correlation rules.
    pub correlation_rules: usize,
    /// Non-executable rules per reason code.
    pub non_executable_reason_counts: BTreeMap<String, usize>,
    /// Documents that could not be loaded (they are not rules of the set).
    pub load_issues: usize,
    /// Load issues per reason code.
    pub load_issue_counts: BTreeMap<String, usize>,
    /// Every rule, in set order (detections, then correlations).
    pub rules: Vec<RuleCheck>,
}

/// Compile every rule of `set` and report.
pub fn check(set: &RuleSet, resolver: &dyn FieldResolver, opts: &CompileOptions) -> CheckReport {
    let mut rules = Vec::with_capacity(set.rules.len() + set.correlations.len());
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for r in &set.rules {
        let (executable, reason_code, message) = match compile(r, resolver, opts) {
            Ok(_) => (true, None, None),
            Err(e) => {
                *reasons.entry(e.reason_code.clone()).or_default() += 1;
                (false, Some(e.reason_code), Some(e.message))
            }
        };
        rules.push(RuleCheck {
            id: r.id.clone(),
            title: r.title.clone(),
            file: r.file.display().to_string(),
            line: r.line,
            kind: "detection".into(),
            executable,
            reason_code,
            message,
        });
    }
    // A correlation runs when every detection rule it rests on (through chained correlations
    // too) runs.
    let (corrs, _) = crate::correlation::compile_correlations(set);
    let blocked_rule = |i: usize| rules.get(i).is_some_and(|r: &RuleCheck| !r.executable);
    let mut corr_block: BTreeMap<usize, String> = BTreeMap::new();
    for c in &corrs.correlations {
        let mut stack = vec![c.index];
        let mut seen = std::collections::BTreeSet::new();
        while let Some(x) = stack.pop() {
            let Some(cc) = corrs.correlations.iter().find(|y| y.index == x) else {
                continue;
            };
            for m in &cc.members {
                match *m {
                    crate::correlation::Member::Rule(r) if blocked_rule(r) => {
                        corr_block
                            .entry(c.index)
                            .or_insert_with(|| set.rules[r].title.clone());
                    }
                    crate::correlation::Member::Correlation(j) if seen.insert(j) => stack.push(j),
                    _ => {}
                }
            }
        }
    }
    for (i, c) in set.correlations.iter().enumerate() {
        let block = corr_block.get(&i);
        if block.is_some() {
            *reasons
                .entry("correlation_rule_not_executable".into())
                .or_default() += 1;
        }
        rules.push(RuleCheck {
            id: c.id.clone(),
            title: c.title.clone(),
            file: c.file.display().to_string(),
            line: c.line,
            kind: "correlation".into(),
            executable: block.is_none(),
            reason_code: block.map(|_| "correlation_rule_not_executable".into()),
            message: block.map(|t| {
                format!(
                    "{} correlation rests on rule `{t}`, which is not executable",
                    c.correlation_type
                )
            }),
        });
    }
    let mut load_issue_counts: BTreeMap<String, usize> = BTreeMap::new();
    for i in &set.issues {
        *load_issue_counts.entry(i.reason_code.clone()).or_default() += 1;
    }
    let executable_rules = rules.iter().filter(|r| r.executable).count();
    CheckReport {
        total_rules: rules.len(),
        executable_rules,
        non_executable_rules: rules.len() - executable_rules,
        correlation_rules: set.correlations.len(),
        non_executable_reason_counts: reasons,
        load_issues: set.issues.len(),
        load_issue_counts,
        rules,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::IdentityResolver;
    use crate::rule::load_str;
    use std::path::Path;

    const SET: &str = "title: ok\nid: a\ndetection:\n  s:\n    A: 1\n  condition: s\n---\ntitle: bad modifier\nid: b\ndetection:\n  s:\n    A|nope: 1\n  condition: s\n---\ntitle: aggregation\nid: c\ndetection:\n  s:\n    A: 1\n  condition: s | count() > 3\n---\ntitle: corr\nid: d\ncorrelation:\n  type: temporal\n  rules: [a, c]\n  group-by: [Host]\n  timespan: 10m\n---\ntitle: broken\nid: e\ndetection: 5\n";

    #[test]
    fn totals_reasons_and_correlations() {
        let set = load_str(Path::new("set.yml"), SET);
        let r = check(&set, &IdentityResolver, &CompileOptions::default());
        assert_eq!(r.total_rules, 4);
        assert_eq!(r.executable_rules, 1);
        assert_eq!(r.non_executable_rules, 3);
        assert_eq!(r.correlation_rules, 1);
        assert_eq!(r.load_issues, 1);
        let want: BTreeMap<String, usize> = [
            ("unsupported_aggregation", 1),
            ("correlation_rule_not_executable", 1),
            ("unsupported_modifier", 1),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), *v))
        .collect();
        assert_eq!(r.non_executable_reason_counts, want);
        let b = r
            .rules
            .iter()
            .find(|x| x.id.as_deref() == Some("b"))
            .expect("b");
        assert!(b.message.as_deref().unwrap_or("").contains("nope"));
        assert_eq!(b.line, 8);
        let d = r.rules.iter().find(|x| x.kind == "correlation").expect("d");
        assert_eq!(
            d.reason_code.as_deref(),
            Some("correlation_rule_not_executable")
        );
        // deterministic and serializable
        let again = check(
            &load_str(Path::new("set.yml"), SET),
            &IdentityResolver,
            &CompileOptions::default(),
        );
        assert_eq!(
            serde_json::to_string(&r).expect("json"),
            serde_json::to_string(&again).expect("json")
        );
    }
}
