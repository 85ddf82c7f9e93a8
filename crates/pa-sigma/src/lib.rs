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

mod check;
mod compile;
mod condition;
mod engine;
mod event;
mod explain;
mod matcher;
mod rule;
mod yaml;

pub use check::{CheckReport, RuleCheck, check};
pub use compile::{
    CompileOptions, CompiledItem, CompiledRule, CompiledSelection, CompiledSet, FieldResolver,
    IdentityResolver, NonExecutable, Unresolved, compile, compile_ruleset,
};
pub use condition::{Cond, CondAst, CondError, Quantifier, name_matches, parse_condition};
pub use engine::{Engine, EngineError};
pub use event::{Event, FieldValue, JsonEvent, SigmaJsonEvent, parse_number};
pub use explain::{BranchExplanation, Explanation, ItemExplanation, SelectionExplanation, explain};
pub use matcher::{IpNet, Matcher, NumOp, StrKind, fold};
pub use rule::{
    AppliedFilter, CorrelationRule, DetectionItem, LoadIssue, LoadTimeBlock, LogSource,
    REASON_LOAD_FAILED, Rule, RuleSet, RuleValue, Selection, collect_files, load_paths, load_str,
    normalize_rule_bytes, rule_sha256, technique_ids,
};

#[cfg(test)]
mod semantics_tests;
