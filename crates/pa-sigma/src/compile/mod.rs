//! Compilation of loaded rules into matchers: modifiers, wildcards, encodings, conditions.
//!
//! [`item`] compiles one detection item (one function per modifier family); [`value`] holds
//! the value representation the modifiers transform (wildcard tokens, encodings, placeholder
//! expansion) and the string matcher built from it.

mod item;
mod value;

use crate::condition::{Cond, parse_condition, resolve};
use crate::event::{Event, FieldValue};
use crate::matcher::Matcher;
use crate::rule::{LogSource, Rule, Selection};
use item::compile_item;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// A field the resolver cannot map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{reason_code}: {message}")]
pub struct Unresolved {
    /// Reason code that makes the rule non-executable (e.g. `unmapped_field`).
    pub reason_code: String,
    /// Explanation.
    pub message: String,
}

/// Maps a Sigma field name to the key the events are queried with.
pub trait FieldResolver {
    /// Resolve one Sigma field name.
    fn resolve(&self, sigma_field: &str) -> Result<String, Unresolved>;
}

/// Uses Sigma field names as event keys (for events that already carry Sigma names).
#[derive(Debug, Clone, Copy, Default)]
pub struct IdentityResolver;

impl FieldResolver for IdentityResolver {
    fn resolve(&self, sigma_field: &str) -> Result<String, Unresolved> {
        Ok(sigma_field.to_owned())
    }
}

/// Options of compilation.
#[derive(Debug, Clone, Default)]
pub struct CompileOptions {
    /// Values for `%name%` placeholders of `|expand` (name without the percent signs).
    pub placeholders: BTreeMap<String, Vec<String>>,
}

/// Why a rule cannot be executed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{}:{line}: {reason_code}: {message}", file.display())]
pub struct NonExecutable {
    /// Rule file.
    pub file: PathBuf,
    /// Line of the rule document.
    pub line: u64,
    /// Rule id, if any.
    pub rule_id: Option<String>,
    /// Reason code (`unsupported_modifier`, `unsupported_regex`, `backend_compile_error`, …).
    pub reason_code: String,
    /// Explanation, naming the selection, field or modifier.
    pub message: String,
    /// The detection item the reason is about, when it is about one (not for condition,
    /// aggregation or rule-level reasons).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<Box<ItemRef>>,
}

/// The detection item a [`NonExecutable`] reason is about, for tools that point at it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemRef {
    /// The selection (search identifier) holding the item.
    pub selection: String,
    /// The item's Sigma field (`None` for keywords).
    pub field: Option<String>,
    /// The item's modifiers as written.
    pub modifiers: Vec<String>,
    /// Whether the reason is the modifiers themselves: an unknown modifier, or modifiers that
    /// cannot be combined.
    pub modifier_error: bool,
}

/// A compiled field item (or keyword item when `key` is `None`).
#[derive(Debug, Clone)]
pub struct CompiledItem {
    /// Sigma field name.
    pub field: Option<String>,
    /// Resolved event key.
    pub key: Option<String>,
    /// Modifiers as written.
    pub modifiers: Vec<String>,
    /// `|all`: every value group must match.
    pub all: bool,
    /// `|neq`: the field is present and equals none of the values.
    pub neq: bool,
    /// Value groups (one per written value); the alternatives of a group are OR-ed
    /// (expansions such as `windash` or `base64offset`). Each matcher carries its rule-local ordinal.
    pub groups: Vec<Vec<(usize, Matcher)>>,
}

/// A compiled selection.
#[derive(Debug, Clone)]
pub struct CompiledSelection {
    /// Identifier (filter selections are named `#f<k>:<name>`).
    pub name: String,
    /// OR over branches, AND within a branch.
    pub branches: Vec<Vec<CompiledItem>>,
}

/// An executable rule.
#[derive(Debug, Clone)]
pub struct CompiledRule {
    /// Rule id.
    pub id: Option<String>,
    /// Title.
    pub title: String,
    /// Level.
    pub level: Option<String>,
    /// ATT&CK technique ids.
    pub technique_ids: Vec<String>,
    /// Log source.
    pub logsource: LogSource,
    /// Source file.
    pub file: PathBuf,
    /// Line of the rule document.
    pub line: u64,
    /// Digest of the rule file.
    pub rule_sha256: String,
    /// The condition text(s), with applied filters, for explanations.
    pub condition_text: String,
    /// Selections (rule's, then filters').
    pub selections: Vec<CompiledSelection>,
    /// The resolved condition.
    pub condition: Cond,
    /// Number of matchers (ordinals run 0..n).
    pub matcher_count: usize,
}

/// Evaluation context: answers for indexed matchers (fast path) or `None` (compute directly).
pub(crate) type Oracle<'o> = &'o mut dyn FnMut(usize) -> Option<bool>;

impl CompiledRule {
    /// The reference evaluator: straightforward, every matcher computed directly.
    pub fn eval(&self, event: &dyn Event) -> bool {
        self.eval_with(event, &mut |_| None, &mut Vec::new())
    }

    /// `vals` is a reusable buffer for the values of looked-up keys (its contents are ignored).
    pub(crate) fn eval_with<'e>(
        &self,
        event: &'e dyn Event,
        oracle: Oracle<'_>,
        vals: &mut Vec<FieldValue<'e>>,
    ) -> bool {
        let mut kw: Option<Vec<String>> = None;
        // Selection results, on the stack for the usual handful of selections.
        let mut small = [None; 16];
        let mut large = Vec::new();
        let cache: &mut [Option<bool>] = if self.selections.len() <= small.len() {
            &mut small[..self.selections.len()]
        } else {
            large.resize(self.selections.len(), None);
            &mut large
        };
        self.condition.eval(&mut |i| {
            if let Some(r) = cache[i] {
                return r;
            }
            let r = self.eval_selection(i, event, oracle, &mut kw, vals);
            cache[i] = Some(r);
            r
        })
    }

    pub(crate) fn eval_selection<'e>(
        &self,
        i: usize,
        event: &'e dyn Event,
        oracle: Oracle<'_>,
        kw: &mut Option<Vec<String>>,
        vals: &mut Vec<FieldValue<'e>>,
    ) -> bool {
        self.selections[i].branches.iter().any(|b| {
            b.iter()
                .all(|item| eval_item(item, event, &mut *oracle, kw, false, vals).0)
        })
    }
}

/// Evaluate one item; returns the result and, per group, the first matching alternative.
/// `vals` is a reusable buffer for the item's values (cleared here).
#[inline]
pub(crate) fn eval_item<'e>(
    item: &CompiledItem,
    event: &'e dyn Event,
    oracle: Oracle<'_>,
    kw: &mut Option<Vec<String>>,
    want_hits: bool,
    vals: &mut Vec<FieldValue<'e>>,
) -> (bool, Vec<Option<usize>>) {
    let is_kw = item.key.is_none();
    vals.clear();
    let mut fetched = false;
    let mut hits = Vec::with_capacity(if want_hits { item.groups.len() } else { 0 });
    let (mut any, mut all_ok) = (false, true);
    {
        let mut one = |ord: usize, m: &Matcher| -> bool {
            if let Some(r) = oracle(ord) {
                return r;
            }
            if is_kw {
                let strings = kw.get_or_insert_with(|| {
                    let mut v = Vec::new();
                    event.for_each_string(&mut |s| v.push(s.to_owned()));
                    v
                });
                strings.iter().any(|s| m.keyword_matches(s))
            } else {
                if !fetched {
                    if let Some(k) = &item.key {
                        event.values(k, vals);
                    }
                    fetched = true;
                }
                m.field_matches(vals, event)
            }
        };
        for g in &item.groups {
            let h = g.iter().position(|(ord, m)| one(*ord, m));
            any |= h.is_some();
            all_ok &= h.is_some();
            if want_hits {
                hits.push(h);
            } else {
                // The result is decided: a hit for OR and NOT-ANY, a miss for ALL.
                let decided = if item.all && !item.neq { !all_ok } else { any };
                if decided {
                    break;
                }
            }
        }
    }
    let result = if item.neq {
        if !any && !fetched {
            if let Some(k) = &item.key {
                event.values(k, vals);
            }
        }
        let present = vals
            .iter()
            .any(|v| !matches!(v, FieldValue::Null | FieldValue::Complex));
        present && !any
    } else if item.all {
        all_ok
    } else {
        any
    };
    (result, hits)
}

fn fail(rule: &Rule, code: &str, msg: String) -> NonExecutable {
    NonExecutable {
        file: rule.file.clone(),
        line: rule.line,
        rule_id: rule.id.clone(),
        reason_code: code.into(),
        message: msg,
        item: None,
    }
}

fn compile_selection(
    rule: &Rule,
    name: &str,
    sel: &Selection,
    resolver: &dyn FieldResolver,
    opts: &CompileOptions,
    ord: &mut usize,
) -> Result<CompiledSelection, NonExecutable> {
    let mut branches = Vec::with_capacity(sel.branches.len());
    for b in &sel.branches {
        let mut items = Vec::with_capacity(b.len());
        for it in b {
            items.push(compile_item(rule, name, it, resolver, opts, ord)?);
        }
        branches.push(items);
    }
    Ok(CompiledSelection {
        name: name.to_owned(),
        branches,
    })
}

fn compile_conditions(
    rule: &Rule,
    conds: &[String],
    names: &[String],
    prefix: &str,
    what: &str,
) -> Result<Cond, NonExecutable> {
    let mut args = Vec::new();
    for c in conds {
        let ast = parse_condition(c)
            .map_err(|e| fail(rule, e.reason_code, format!("{what} `{c}`: {}", e.message)))?;
        args.push(
            resolve(&ast, names, prefix)
                .map_err(|e| fail(rule, e.reason_code, format!("{what} `{c}`: {}", e.message)))?,
        );
    }
    Ok(if args.len() == 1 {
        args.remove(0)
    } else {
        Cond::Or { args }
    })
}

/// Compile a rule against a resolver. Every failure names the file, line and what is wrong.
pub fn compile(
    rule: &Rule,
    resolver: &dyn FieldResolver,
    opts: &CompileOptions,
) -> Result<CompiledRule, NonExecutable> {
    if let Some(b) = &rule.blocked {
        return Err(fail(rule, &b.reason_code, b.message.clone()));
    }
    let mut ord = 0usize;
    let mut selections = Vec::new();
    for (name, sel) in &rule.selections {
        selections.push(compile_selection(
            rule, name, sel, resolver, opts, &mut ord,
        )?);
    }
    for (k, f) in rule.filters.iter().enumerate() {
        for (name, sel) in &f.selections {
            selections.push(compile_selection(
                rule,
                &format!("#f{k}:{name}"),
                sel,
                resolver,
                opts,
                &mut ord,
            )?);
        }
    }
    let names: Vec<String> = selections.iter().map(|s| s.name.clone()).collect();
    let main = compile_conditions(rule, &rule.conditions, &names, "", "condition")?;
    let mut text = rule.conditions.join(" or ");
    let condition = if rule.filters.is_empty() {
        main
    } else {
        let mut args = vec![main];
        for (k, f) in rule.filters.iter().enumerate() {
            let fc = compile_conditions(
                rule,
                &f.conditions,
                &names,
                &format!("#f{k}:"),
                &format!("filter {} condition", f.filter_ref),
            )?;
            text = format!(
                "({text}) and not filter {} ({})",
                f.filter_ref,
                f.conditions.join(" or ")
            );
            args.push(Cond::Not { arg: Box::new(fc) });
        }
        Cond::And { args }
    };
    Ok(CompiledRule {
        id: rule.id.clone(),
        title: rule.title.clone(),
        level: rule.level.clone(),
        technique_ids: rule.technique_ids.clone(),
        logsource: rule.logsource.clone(),
        file: rule.file.clone(),
        line: rule.line,
        rule_sha256: rule.rule_sha256.clone(),
        condition_text: text,
        selections,
        condition,
        matcher_count: ord,
    })
}

/// The result of compiling a whole set.
#[derive(Debug, Clone, Default)]
pub struct CompiledSet {
    /// Executable rules, in rule-set order.
    pub rules: Vec<CompiledRule>,
    /// Index into `RuleSet::rules` of each compiled rule.
    pub source_index: Vec<usize>,
    /// Rules that cannot be executed, with their reasons, in rule-set order.
    pub non_executable: Vec<NonExecutable>,
}

/// Compile every detection rule of a set.
pub fn compile_ruleset(
    set: &crate::rule::RuleSet,
    resolver: &dyn FieldResolver,
    opts: &CompileOptions,
) -> CompiledSet {
    let mut out = CompiledSet::default();
    for (i, r) in set.rules.iter().enumerate() {
        match compile(r, resolver, opts) {
            Ok(c) => {
                out.rules.push(c);
                out.source_index.push(i);
            }
            Err(e) => out.non_executable.push(e),
        }
    }
    out
}
