//! `pa-sigma`: the Sigma language for Purple Axiom — loading (rules, collections, filters,
//! correlations), compilation of every value modifier and condition form, a fast indexed matcher
//! with a reference evaluator beside it, explanations, and a check report.
//!
//! It knows nothing of OCSF: the caller supplies a [`FieldResolver`] (Sigma field → event key)
//! and events through the [`Event`] trait.
//!
//! ```no_run
//! use pa_sigma::*;
//! let set = load_paths(&["rules/".into()]);
//! let compiled = compile_ruleset(&set, &IdentityResolver, &CompileOptions::default());
//! let engine = Engine::new(compiled.rules).expect("engine");
//! let ev = SigmaJsonEvent::new(serde_json::json!({"Image": "C:\\Windows\\System32\\whoami.exe"}));
//! for i in engine.matches(&ev) {
//!     println!("{}", engine.rules()[i].title);
//! }
//! ```
//!
//! # Semantics decided here (where the Sigma specification leaves room)
//!
//! - Case-insensitive matching lowercases both sides (Unicode `to_lowercase`); `|cased` and
//!   `|re` compare the raw text.
//! - Numbers and booleans in events are matched as their text (`4688`, `true`); `gt/gte/lt/lte`
//!   also read numeric strings (`" 150 "`).
//! - `null` holds when the field is missing or null; `''` only for an empty string;
//!   `|exists: true` holds for a present field even when it is null.
//! - `|neq` holds when the field has a non-null value and none of its values equals any listed
//!   value (a missing field is not "different").
//! - Keyword (unbound) values match anywhere in any string of the event (as `*value*`); which
//!   strings count is the [`Event`] implementation's choice ([`Event::for_each_string`]).
//! - `N of x*` with N > 1 means at least N; `them` skips identifiers starting with `_`.
//! - Filters apply as `(rule condition) and not (filter condition)` to the rules they name by
//!   id, `name` or title, when the filter's logsource fields are all equal to the rule's.
//! - `windash` replaces a `-` or `/` that starts a word (after a non-word character) by each of
//!   `-` `/` `–` `—` `―`; `base64offset` cuts the characters that depend on unknown neighbouring
//!   bytes at both ends, as pySigma does.
//! - Time modifiers read `YYYY-MM-DD[ T]HH:MM…` text as written (no time zone conversion).
//! - A plain YAML value spelled as an integer with redundant leading zeros (`00000429`) is the
//!   text as written, not the integer (`429`); other numbers are matched as their text.

mod check;
mod compile;
mod condition;
mod correlation;
mod engine;
mod event;
mod explain;
pub mod keyword_search;
mod matcher;
mod rule;
mod yaml;

pub use check::{CheckReport, RuleCheck, check};
pub use compile::{
    CompileOptions, CompiledItem, CompiledRule, CompiledSelection, CompiledSet, FieldResolver,
    IdentityResolver, ItemRef, NonExecutable, Unresolved, compile, compile_ruleset,
};
pub use condition::{Cond, CondAst, CondError, Quantifier, name_matches, parse_condition};
pub use correlation::{
    CONDITION_OPS, CORRELATION_TYPES, CompiledCorrelation, CondOp, Contribution, CorrelationEngine,
    CorrelationHit, CorrelationKind, CorrelationLimits, CorrelationSet, CorrelationStats, Member,
    MemberFields, StateSize, compile_correlations, parse_timespan,
};
pub use engine::{Engine, EngineError, KeywordLiterals, WordHash};
pub use event::{
    Event, FieldValue, JsonEvent, SigmaJsonEvent, for_each_json_string, parse_number,
    push_json_value, walk_json_path,
};
pub use explain::{BranchExplanation, Explanation, ItemExplanation, SelectionExplanation, explain};
pub use matcher::{IpNet, Matcher, NumOp, StrKind, TimePart, fold};
pub use rule::{
    AppliedFilter, CorrelationRule, DetectionItem, LoadIssue, LoadTimeBlock, LogSource,
    REASON_LOAD_FAILED, Rule, RuleSet, RuleValue, Selection, collect_files, load_paths,
    load_read_files, load_str, normalize_rule_bytes, rule_sha256, technique_ids,
};

#[cfg(test)]
mod semantics_tests;
