//! The on-disk formats of `mappings/bridge/` (strict: unknown keys are rejected).

use std::collections::BTreeMap;

use pa_yaml::Spanned;
use serde::{Deserialize, Serialize};

/// `pack.yaml`: identity of the mapping pack and its fallback policy.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PackFile {
    pub mapping_pack_id: Spanned<String>,
    pub mapping_pack_version: Spanned<String>,
    pub ocsf_version: Spanned<String>,
    pub fallback_policy: FallbackPolicyFile,
}

/// Global fallback switch and default prefix.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FallbackPolicyFile {
    pub enabled: bool,
    pub default_prefix: Spanned<String>,
}

/// `router.yaml`: the router table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RouterFile {
    pub router_table_id: Spanned<String>,
    pub router_table_version: Spanned<String>,
    pub ocsf_version: Spanned<String>,
    pub routes: Vec<Spanned<RouteFile>>,
}

/// One route of `router.yaml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RouteFile {
    pub route_id: String,
    pub sigma_logsource: SigmaLogsourceFile,
    pub ocsf_scope: OcsfScopeFile,
    #[serde(default)]
    pub filters: Vec<Filter>,
    pub alias_set: String,
    /// Classes whose events resolve the rule's fields with another alias set than
    /// `alias_set` (class 0, the Base Event of records without a specific class, keeps every
    /// source field under `unmapped`: `{0: windows.eventlog}`).
    #[serde(default)]
    pub alias_sets_by_class: BTreeMap<u32, String>,
    #[serde(default)]
    pub notes: Option<String>,
}

/// The logsource a route answers for.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SigmaLogsourceFile {
    /// When true, keys the route leaves out must be absent in the rule as well.
    #[serde(default)]
    pub exact: bool,
    #[serde(default)]
    pub product: Option<String>,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub service: Option<String>,
}

/// The OCSF classes a route applies to.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OcsfScopeFile {
    pub class_uids: Vec<u32>,
}

/// A filter an event must also satisfy to be in a route's scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    /// OCSF attribute path (dotted).
    pub path: String,
    /// Comparison: `eq` (value is a scalar) or `in` (value is a list of scalars).
    pub op: FilterOp,
    /// The value(s) to compare with (string comparison, case-insensitive).
    pub value: serde_json::Value,
}

/// Filter operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FilterOp {
    /// The path's value equals `value`.
    Eq,
    /// The path's value equals one of the values in the list `value`.
    In,
    /// No value at the path equals one of the values in the list `value` (a missing path
    /// holds): scopes a class by the activities it must not take.
    NotIn,
}

/// `aliases/*.yaml`: one alias set.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AliasSetFile {
    pub alias_set: Spanned<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub extends: Vec<Spanned<String>>,
    #[serde(default)]
    pub fallback: Option<FallbackFile>,
    #[serde(default)]
    pub fields: BTreeMap<String, Spanned<AliasValueFile>>,
}

/// How a set lets fields without alias fall back to `unmapped.<Field>`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FallbackFile {
    pub mode: FallbackMode,
    #[serde(default)]
    pub prefix: Option<String>,
    #[serde(default)]
    pub fields: Vec<String>,
}

/// Which Sigma fields without alias may fall back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FallbackMode {
    /// None may.
    None,
    /// Only the fields listed in the set (known source fields the normalizer keeps unmapped).
    Listed,
    /// Any field (sources whose field names are open-ended, e.g. Windows EventData).
    Any,
}

/// An alias: a path for every routed class, or per-class paths.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum AliasValueFile {
    Path(String),
    Detailed(AliasDetailFile),
}

/// The long form of an alias.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AliasDetailFile {
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub by_class: BTreeMap<u32, String>,
    #[serde(default)]
    pub note: Option<String>,
}
