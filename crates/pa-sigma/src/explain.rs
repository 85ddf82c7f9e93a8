//! Explanations of a rule's result on one event, for a person debugging a miss.

use crate::compile::{CompiledRule, eval_item};
use crate::event::{Event, FieldValue};
use serde::Serialize;

/// Why a rule did or did not match an event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    /// Rule id.
    pub rule_id: Option<String>,
    /// Rule title.
    pub title: String,
    /// The condition (with applied filters).
    pub condition: String,
    /// The condition's result.
    pub matched: bool,
    /// Per search identifier.
    pub selections: Vec<SelectionExplanation>,
}

/// One search identifier.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SelectionExplanation {
    /// Identifier (filter selections are `#f<k>:<name>`).
    pub name: String,
    /// Its result.
    pub matched: bool,
    /// Its alternatives (OR).
    pub branches: Vec<BranchExplanation>,
}

/// One alternative of a selection (AND of items).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BranchExplanation {
    /// Its result.
    pub matched: bool,
    /// Its items.
    pub items: Vec<ItemExplanation>,
}

/// One field item (or keyword item).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ItemExplanation {
    /// Sigma field (`None` for keywords).
    pub field: Option<String>,
    /// Resolved event key (`None` for keywords).
    pub key: Option<String>,
    /// Modifiers as written.
    pub modifiers: Vec<String>,
    /// How the values combine: `any`, `all`, or `none` (`neq`).
    pub combine: String,
    /// Event values seen for the key (for keywords: the event's strings, at most 20).
    pub values_seen: Vec<String>,
    /// The patterns, one per value group (alternatives joined with ` | `).
    pub patterns: Vec<String>,
    /// The patterns that matched (empty when none did).
    pub matched_patterns: Vec<String>,
    /// The item's result.
    pub matched: bool,
}

fn show(v: &FieldValue<'_>) -> String {
    match v {
        FieldValue::Null => "null".into(),
        FieldValue::Complex => "<object>".into(),
        other => other.text().map(|t| t.into_owned()).unwrap_or_default(),
    }
}

/// Explain the result of `rule` on `event` (uses the reference evaluator).
pub fn explain(rule: &CompiledRule, event: &dyn Event) -> Explanation {
    let mut kw = None;
    let mut selections = Vec::with_capacity(rule.selections.len());
    for sel in &rule.selections {
        let mut branches = Vec::with_capacity(sel.branches.len());
        for b in &sel.branches {
            let mut items = Vec::with_capacity(b.len());
            for it in b {
                let (matched, hits) =
                    eval_item(it, event, &mut |_| None, &mut kw, true, &mut Vec::new());
                let mut values_seen = Vec::new();
                match &it.key {
                    Some(k) => {
                        let mut vals = Vec::new();
                        event.values(k, &mut vals);
                        values_seen = vals.iter().map(show).collect();
                    }
                    None => event.for_each_string(&mut |s| {
                        if values_seen.len() < 20 {
                            values_seen.push(s.to_owned());
                        }
                    }),
                }
                let patterns = it
                    .groups
                    .iter()
                    .map(|g| {
                        g.iter()
                            .map(|(_, m)| m.describe())
                            .collect::<Vec<_>>()
                            .join(" | ")
                    })
                    .collect();
                let matched_patterns = it
                    .groups
                    .iter()
                    .zip(&hits)
                    .filter_map(|(g, h)| h.map(|i| g[i].1.describe()))
                    .collect();
                items.push(ItemExplanation {
                    field: it.field.clone(),
                    key: it.key.clone(),
                    modifiers: it.modifiers.clone(),
                    combine: if it.neq {
                        "none"
                    } else if it.all {
                        "all"
                    } else {
                        "any"
                    }
                    .into(),
                    values_seen,
                    patterns,
                    matched_patterns,
                    matched,
                });
            }
            branches.push(BranchExplanation {
                matched: items.iter().all(|i| i.matched),
                items,
            });
        }
        selections.push(SelectionExplanation {
            name: sel.name.clone(),
            matched: branches.iter().any(|b| b.matched),
            branches,
        });
    }
    let matched = rule.condition.eval(&mut |i| selections[i].matched);
    Explanation {
        rule_id: rule.id.clone(),
        title: rule.title.clone(),
        condition: rule.condition_text.clone(),
        matched,
        selections,
    }
}
