//! One line of `bridge/compiled_plans.jsonl`: how one rule was routed, resolved and compiled,
//! or why it cannot run.

use crate::detector::RulePlan;
use pa_bridge::{Filter, ResolutionKind};
use serde::{Deserialize, Serialize};

/// One rule's compiled plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompiledPlan {
    /// The rule.
    pub rule_id: String,
    /// Its title.
    pub rule_title: String,
    /// ATT&CK technique ids of its tags, sorted (what scoring joins actions on).
    #[serde(default)]
    pub technique_ids: Vec<String>,
    /// `sha256:` of the rule file's normalized bytes.
    pub rule_sha256: String,
    /// The rule file.
    pub rule_file: String,
    /// 1-based line of the rule's document.
    pub rule_line: u64,
    /// The bridge mapping pack the plan was resolved with.
    pub mapping_pack_sha256: String,
    /// The evaluating backend.
    pub backend: Backend,
    /// Whether the rule runs.
    pub executable: bool,
    /// The rule's condition(s), joined with `or`.
    pub condition: String,
    /// Routing and field resolution.
    pub compilation: Compilation,
    /// The engine plan, for executable rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<EnginePlan>,
    /// Why the rule cannot run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub non_executable_reason: Option<NonExecutableReason>,
}

/// The backend of a [`CompiledPlan`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Backend {
    /// `pa_native`, or `pa_sql_duckdb` / `pa_sql_spark` (`--engine duckdb|spark`).
    pub id: String,
    /// The engine version.
    pub version: String,
    /// Semantics settings.
    pub settings: BackendSettings,
}

/// Semantics settings of the native backend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendSettings {
    /// Case rule (`insensitive_unless_cased`).
    pub case: String,
    /// Regex dialect (`rust_regex`).
    pub regex: String,
    /// Time zone of time modifiers (`UTC`).
    pub timezone: String,
}

impl Backend {
    /// The native engine of this build.
    pub fn native() -> Backend {
        Backend {
            id: "pa_native".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            settings: BackendSettings {
                case: "insensitive_unless_cased".to_owned(),
                regex: "rust_regex".to_owned(),
                timezone: "UTC".to_owned(),
            },
        }
    }
    /// The rules compiled to SQL (`pa-sigma-sql`) and run in `dialect`: `pa_sql_duckdb`
    /// (regexes translated for RE2) or `pa_sql_spark` (for `java.util.regex`).
    pub fn sql(dialect: pa_sigma_sql::Dialect) -> Backend {
        let (id, regex) = match dialect {
            pa_sigma_sql::Dialect::DuckDb => ("pa_sql_duckdb", "re2"),
            pa_sigma_sql::Dialect::Spark => ("pa_sql_spark", "java_regex"),
        };
        Backend {
            id: id.to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            settings: BackendSettings {
                case: "insensitive_unless_cased".to_owned(),
                regex: regex.to_owned(),
                timezone: "UTC".to_owned(),
            },
        }
    }
}

/// Routing and field resolution of a [`CompiledPlan`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Compilation {
    /// The route the logsource took (`null` when unroutable).
    pub routed_scope: Option<RoutedScope>,
    /// Every Sigma field with the path it resolved to, per class.
    pub field_resolution: Vec<PlanFieldResolution>,
    /// Whether any field used the `unmapped.<Field>` fallback.
    pub fallback_used: bool,
}

/// The route of a [`Compilation`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutedScope {
    /// The route.
    pub route_id: String,
    /// Its OCSF classes.
    pub class_uids: Vec<u32>,
    /// Its extra event filters.
    pub filters: Vec<Filter>,
}

/// One resolved field of a [`Compilation`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanFieldResolution {
    /// The field as the rule names it.
    pub sigma_field: String,
    /// The event path.
    pub path: String,
    /// The class the path is for (OCSF mode).
    pub class_uid: Option<u32>,
    /// How it was resolved.
    pub kind: ResolutionKind,
}

/// The engine plan of an executable rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnginePlan {
    /// `pa_native_indexed`, or `pa_correlation` for a correlation rule (no compilations: it
    /// runs over the matches of the rules it references).
    pub kind: String,
    /// One compilation per routed class.
    pub compilations: Vec<ClassCompilation>,
}

/// One class compilation of an [`EnginePlan`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassCompilation {
    /// The class (OCSF mode).
    pub class_uid: Option<u32>,
    /// Selections compiled.
    pub selections: u64,
    /// Matchers compiled.
    pub matchers: u64,
}

/// Why a rule cannot run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NonExecutableReason {
    /// `bridge_compiled_plan`.
    pub reason_domain: String,
    /// The reason code.
    pub reason_code: String,
    /// Why, for a person.
    pub explanation: String,
}

impl crate::detector::Detector {
    /// The `bridge/compiled_plans.jsonl` line of a plan.
    pub fn plan_document(&self, p: &RulePlan, mapping_pack_sha256: &str) -> CompiledPlan {
        CompiledPlan {
            rule_id: p.rule_id.clone(),
            rule_title: p.title.clone(),
            technique_ids: p.technique_ids.clone(),
            rule_sha256: p.rule_sha256.clone(),
            rule_file: p.file.clone(),
            rule_line: p.line,
            mapping_pack_sha256: mapping_pack_sha256.to_owned(),
            backend: Backend::native(),
            executable: p.non_executable.is_none(),
            condition: p.condition.clone(),
            compilation: Compilation {
                routed_scope: p.route.as_ref().map(|r| RoutedScope {
                    route_id: r.route_id.clone(),
                    class_uids: r.class_uids.clone(),
                    filters: r.filters.clone(),
                }),
                field_resolution: p
                    .field_resolution
                    .iter()
                    .map(|f| PlanFieldResolution {
                        sigma_field: f.sigma_field.clone(),
                        path: f.path.clone(),
                        class_uid: f.class_uid,
                        kind: f.kind,
                    })
                    .collect(),
                fallback_used: p.fallback_used,
            },
            // a correlation's plan is the rules it references (their own plans)
            plan: (!p.exec_indices.is_empty() || p.correlation.is_some())
                .then(|| EnginePlan {
                    kind: if p.correlation.is_some() {
                        "pa_correlation"
                    } else {
                        "pa_native_indexed"
                    }
                    .to_owned(),
                    compilations: p
                        .exec_indices
                        .iter()
                        .map(|&i| {
                            let r = &self.rules[i];
                            ClassCompilation {
                                class_uid: r.class_uid,
                                selections: r.compiled.selections.len() as u64,
                                matchers: r.compiled.matcher_count as u64,
                            }
                        })
                        .collect(),
                })
                .filter(|_| p.non_executable.is_none() || p.correlation.is_none()),
            non_executable_reason: p.non_executable.as_ref().map(|(code, msg)| {
                NonExecutableReason {
                    reason_domain: "bridge_compiled_plan".to_owned(),
                    reason_code: code.clone(),
                    explanation: msg.clone(),
                }
            }),
        }
    }
}
