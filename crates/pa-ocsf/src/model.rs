//! The YAML file formats of a mapping-profile tree, as decoded (strictly) from disk.
//!
//! These are the *file* shapes; [`crate::profile`] compiles them into the interpreter's form and
//! checks everything that decoding alone cannot (transform names, class files, route overlap,
//! target conflicts). The format is documented in `mappings/normalizer/README.md`.

use std::collections::BTreeMap;

use pa_yaml::Spanned;
use serde::Deserialize;
use serde_json::Value;

/// A string or a list of strings (`from: a` or `from: [a, b]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum StrOrList {
    One(String),
    Many(Vec<String>),
}

impl StrOrList {
    pub(crate) fn to_vec(&self) -> Vec<String> {
        match self {
            StrOrList::One(s) => vec![s.clone()],
            StrOrList::Many(v) => v.clone(),
        }
    }
}

/// `pack.yaml`: the identity of the whole normalizer mapping profile.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PackFile {
    pub mapping_profile_id: Spanned<String>,
    pub mapping_profile_version: Spanned<String>,
    pub ocsf_version: Spanned<String>,
    #[serde(default)]
    #[allow(dead_code)]
    pub description: Option<String>,
}

/// `<source_type>/profile.yaml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProfileFile {
    pub profile: ProfileHeader,
    pub source: SourceHeader,
    pub identity: IdentityFile,
    /// Emit rules applied to every routed event before the class's own rules.
    #[serde(default)]
    pub emit: Vec<Spanned<EmitFile>>,
    /// Source objects whose members are kept under `unmapped.<name>` unless consumed.
    #[serde(default)]
    pub unmapped: Vec<Spanned<UnmappedFile>>,
    /// Event paths listed in OCSF `observables[]` when present (in this order).
    #[serde(default)]
    pub observables: Vec<Spanned<ObservableFile>>,
}

/// One `observables` entry: an event path and its OCSF observable `type_id`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ObservableFile {
    pub path: String,
    pub type_id: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProfileHeader {
    pub profile_id: Spanned<String>,
    pub profile_version: Spanned<String>,
    pub ocsf_version: Spanned<String>,
    #[serde(default)]
    #[allow(dead_code)]
    pub description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SourceHeader {
    /// Must equal the directory name and a `pa_sources::SourceType` name.
    pub source_type: Spanned<String>,
    #[serde(default)]
    #[allow(dead_code)]
    pub description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct IdentityFile {
    /// Identity tier (1, 2 or 3) written to `metadata.identity_tier`.
    pub tier: Spanned<u8>,
    /// The basis, built like an event from emit rules (targets inside the basis object).
    pub basis: Vec<Spanned<EmitFile>>,
}

/// One emit rule: a target path and exactly one value source.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EmitFile {
    pub to: String,
    #[serde(default)]
    pub from: Option<StrOrList>,
    #[serde(default, rename = "const")]
    pub const_: Option<Value>,
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default)]
    pub op: Option<String>,
    /// Arguments of `op` (`path_resolve`: `name`, `cwd`).
    #[serde(default)]
    pub args: Option<BTreeMap<String, StrOrList>>,
    #[serde(default)]
    pub transforms: Vec<Spanned<String>>,
    #[serde(default)]
    pub map: Option<BTreeMap<String, Value>>,
    #[serde(default)]
    pub default: Option<Value>,
    #[serde(default)]
    pub when: Option<BTreeMap<String, Vec<Value>>>,
    /// The rule applies only when the event being built has a value at every listed target
    /// path (an object or a leaf); such rules run after all others.
    #[serde(default)]
    pub when_present: Option<Vec<String>>,
    /// Identity basis only: the basis may lack this member.
    #[serde(default)]
    pub optional: Option<bool>,
    #[serde(default)]
    #[allow(dead_code)]
    pub note: Option<String>,
}

/// An `unmapped` source: an object (or objects, with `*`) whose members are copied.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UnmappedFile {
    pub from: String,
    /// Members copied even though an emit rule reads them (the rule transforms them).
    #[serde(default)]
    pub keep: Vec<String>,
    /// Members never copied.
    #[serde(default)]
    pub skip: Vec<String>,
    /// Copy under `unmapped.<into>.<name>` instead of `unmapped.<name>`.
    #[serde(default)]
    pub into: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    pub note: Option<String>,
}

/// `<source_type>/routing.yaml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RoutingFile {
    /// Named route keys computed from every record.
    pub keys: BTreeMap<String, Spanned<KeyFile>>,
    /// Keys whose values label an unrouted event (`<source_type>:<v1>:<v2>`).
    pub event_type: Vec<Spanned<String>>,
    pub routes: Vec<Spanned<RouteFile>>,
    /// The class file of every record no route matches (`classes/base_event_0.yaml`): the
    /// record is emitted as a fallback event (OCSF Base Event, its fields under `unmapped`)
    /// instead of being counted as an unrouted event type. Without it such records are not
    /// emitted.
    #[serde(default)]
    pub default: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct KeyFile {
    pub from: StrOrList,
    #[serde(default)]
    pub transforms: Vec<Spanned<String>>,
    #[serde(default)]
    #[allow(dead_code)]
    pub note: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RouteFile {
    pub route_id: String,
    #[serde(rename = "match")]
    pub match_: BTreeMap<String, Vec<Value>>,
    pub class: Spanned<String>,
    /// A class file (`classes/<name>_<uid>.yaml`) that normalizes the record instead when the
    /// routed class's `requires` are not met (e.g. a file call that names no file becomes a
    /// generic event); without it such a record fails with `missing_core_field`.
    #[serde(default)]
    pub fallback: Option<Spanned<String>>,
    #[serde(default)]
    #[allow(dead_code)]
    pub note: Option<String>,
}

/// `<source_type>/classes/<name>_<uid>.yaml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ClassFile {
    pub class: ClassHeader,
    pub emit: Vec<Spanned<EmitFile>>,
    #[serde(default)]
    pub unmapped: Vec<Spanned<UnmappedFile>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ClassHeader {
    pub class_uid: Spanned<u32>,
    #[allow(dead_code)]
    pub class_name: String,
    pub category_uid: u32,
    /// Members the class cannot be valid OCSF without (`requires: [file]`): a routed record
    /// whose mapping leaves one of them absent is normalized by the route's `fallback` class,
    /// or, without one, not emitted but counted as `missing_core_field`, naming the member
    /// (nothing is invented to fill it).
    #[serde(default)]
    pub requires: Vec<String>,
}

/// `<source_type>/canonicalization.yaml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CanonFile {
    /// Named string sets (placeholder values...).
    #[serde(default)]
    pub sets: BTreeMap<String, Vec<String>>,
    /// Named lookup tables (string → JSON value).
    #[serde(default)]
    pub tables: BTreeMap<String, BTreeMap<String, Value>>,
    /// Named transforms.
    pub transforms: BTreeMap<String, Spanned<TransformFile>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TransformFile {
    pub op: String,
    #[serde(default)]
    pub args: BTreeMap<String, Value>,
    #[serde(default)]
    #[allow(dead_code)]
    pub note: Option<String>,
}
