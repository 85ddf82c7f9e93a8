//! One line of `bridge/compiled_plans.jsonl`: how one rule was routed, resolved and compiled,
//! or why it cannot run.

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
    /// `pa_native`.
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
    /// `pa_native_indexed`.
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
