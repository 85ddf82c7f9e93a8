//! The resolved schema model: classes, objects and their attributes after `extends`,
//! `$include`, profiles, extensions and the attribute dictionary have been applied.

use std::collections::BTreeMap;

/// How a JSON value of an attribute must look, derived from the dictionary type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BaseType {
    /// `string_t` and every type derived from it (`ip_t`, `datetime_t`, `email_t`, ...).
    String,
    /// `integer_t` and derived types (`port_t`): a JSON integer.
    Integer,
    /// `long_t` and derived types (`timestamp_t`): a JSON integer.
    Long,
    /// `float_t`: any JSON number.
    Float,
    /// `boolean_t`: `true` or `false`.
    Boolean,
    /// `json_t`: any JSON value.
    Json,
    /// An OCSF object: a JSON object whose members are the attributes of the named object.
    /// The generic `object` type is free-form (its members are not checked).
    Object(String),
}

/// How strongly the schema asks for an attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Requirement {
    /// Must be present.
    Required,
    /// Should be present when the data is available.
    Recommended,
    /// May be present.
    Optional,
}

impl Requirement {
    /// Parse the `requirement` member of an attribute definition.
    pub fn parse(s: &str) -> Option<Requirement> {
        match s {
            "required" => Some(Requirement::Required),
            "recommended" => Some(Requirement::Recommended),
            "optional" => Some(Requirement::Optional),
            _ => None,
        }
    }
}

/// A deprecation notice on an attribute, object or class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deprecation {
    /// The schema's advice (may contain HTML markup, as in the source).
    pub message: String,
    /// The schema version it was deprecated in.
    pub since: String,
}

/// One attribute of a class or object, fully resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrDef {
    /// Attribute name as it appears in events (e.g. `cmd_line`).
    pub name: String,
    /// The declared type: a dictionary type (`string_t`, `ip_t`, `timestamp_t`, ...) or an
    /// object name (`process`, `file`, `reg_value`, ...).
    pub type_name: String,
    /// The JSON shape the type requires.
    pub base: BaseType,
    /// Whether the value is a JSON array of `type_name` values.
    pub is_array: bool,
    /// Requirement in this class or object.
    pub requirement: Requirement,
    /// Declared integer enumeration (value → caption), merged from the dictionary, the
    /// `extends` chain and the class/object override. `None` when the attribute is not an
    /// integer enumeration.
    pub enum_values: Option<BTreeMap<i64, String>>,
    /// Declared string enumeration (value → caption), e.g. `http_method`.
    pub string_enum_values: Option<BTreeMap<String, String>>,
    /// Integer enumeration values that are deprecated (value → notice).
    pub deprecated_enum_values: BTreeMap<i64, Deprecation>,
    /// The attribute holding the caption of this enumeration's value (`activity_id` →
    /// `activity_name`), from the dictionary's `sibling`.
    pub sibling: Option<String>,
    /// Inclusive value range of the type (e.g. `port_t` 0..=65535).
    pub range: Option<(i64, i64)>,
    /// Maximum length in characters of a string type (e.g. `ip_t` 40).
    pub max_len: Option<usize>,
    /// The profile that contributes the attribute (`host`, `cloud`, `datetime`,
    /// `linux/linux_users`, ...), or `None` for core attributes of the class/object.
    pub profile: Option<String>,
    /// Observable type id, from the attribute, its dictionary entry or its type.
    pub observable: Option<u32>,
    /// The extension (its `name`, e.g. `win`, `linux`, `purple_axiom`) whose patch adds this
    /// attribute to a class or object that does not have it otherwise (windows
    /// `process.hosted_services`, linux `process.auid`, Purple Axiom `metadata.run_id`).
    /// `None` for core attributes and for the attributes an extension-defined class or
    /// object declares itself: reaching those already takes an extension attribute or an
    /// extension class.
    pub extension: Option<String>,
    /// Deprecation notice, if the attribute is deprecated.
    pub deprecated: Option<Deprecation>,
}

impl AttrDef {
    /// The object type of an object-valued attribute (`None` for scalars and `json_t`).
    pub fn object_type(&self) -> Option<&str> {
        match &self.base {
            BaseType::Object(o) => Some(o),
            _ => None,
        }
    }

    /// True if values of this attribute may hold arbitrary members (`object` and `json_t`).
    pub fn is_free_form(&self) -> bool {
        matches!(&self.base, BaseType::Json)
            || matches!(&self.base, BaseType::Object(o) if o == "object")
    }
}

/// Presence constraints of a class or object (`constraints` in the source). The nearest
/// definition in the `extends` chain that declares `constraints` applies as a whole (the
/// 1.7.0 `file` object declares `{}` to drop `_entity`'s `at_least_one: [name, uid]`);
/// extension patches add to the lists of the object they patch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Constraints {
    /// At least one of these attributes must be present (non-null).
    pub at_least_one: Vec<String>,
    /// Exactly one of these attributes must be present (non-null).
    pub just_one: Vec<String>,
}

impl Constraints {
    /// True if there is nothing to check.
    pub fn is_empty(&self) -> bool {
        self.at_least_one.is_empty() && self.just_one.is_empty()
    }
}

/// An OCSF object (e.g. `process`), fully resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectDef {
    /// Object name (e.g. `process`, `reg_value`).
    pub name: String,
    /// Human caption.
    pub caption: String,
    /// The extension that defines the object (`win`, `linux`), `None` for core.
    pub extension: Option<String>,
    /// The `extends` chain, nearest base first (e.g. `["_entity", "object"]`).
    pub bases: Vec<String>,
    /// Attributes by name.
    pub attributes: BTreeMap<String, AttrDef>,
    /// Observable type id of the object itself, if it is an observable.
    pub observable: Option<u32>,
    /// Presence constraints.
    pub constraints: Constraints,
    /// Deprecation notice.
    pub deprecated: Option<Deprecation>,
}

/// An OCSF event class (e.g. `process_activity`, 1007), fully resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassDef {
    /// Class name (e.g. `process_activity`; extension classes keep their bare name).
    pub name: String,
    /// Human caption (e.g. `Process Activity`).
    pub caption: String,
    /// `class_uid`: extension uid × 100000 + category uid × 1000 + class uid.
    pub uid: u32,
    /// Category name (e.g. `system`; `other` for `base_event`).
    pub category: String,
    /// `category_uid` (0 for `base_event`).
    pub category_uid: u32,
    /// The extension that defines the class (`win`), `None` for core.
    pub extension: Option<String>,
    /// The `extends` chain, nearest base first (e.g. `["system", "base_event"]`).
    pub bases: Vec<String>,
    /// Profiles that apply to the class (from the class and its bases).
    pub profiles: Vec<String>,
    /// Attributes by name, including profile attributes.
    pub attributes: BTreeMap<String, AttrDef>,
    /// Presence constraints.
    pub constraints: Constraints,
    /// Deprecation notice.
    pub deprecated: Option<Deprecation>,
}

impl ClassDef {
    /// Valid `activity_id` values of the class (value → caption).
    pub fn activities(&self) -> BTreeMap<i64, String> {
        self.attributes
            .get("activity_id")
            .and_then(|a| a.enum_values.clone())
            .unwrap_or_default()
    }

    /// Valid `type_uid` values: `uid * 100 + activity_id` for every declared activity.
    pub fn type_uids(&self) -> Vec<i64> {
        self.activities()
            .keys()
            .map(|a| i64::from(self.uid) * 100 + a)
            .collect()
    }
}

/// A schema extension (`extension.json` of a built-in `extensions/<dir>/` or of a directory
/// given to [`crate::OcsfSchema::load_with_extensions`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtensionDef {
    /// `name` (e.g. `win`, `linux`, `purple_axiom`): what `metadata.extensions[].name` holds.
    pub name: String,
    /// `uid` (e.g. 2); extension class uids are `uid × 100000 + category uid × 1000 + uid`.
    pub uid: u32,
    /// `version` (e.g. `1.7.0`), if declared.
    pub version: Option<String>,
    /// `caption` (e.g. `Windows`), if declared.
    pub caption: Option<String>,
    /// The directory it was loaded from.
    pub dir: std::path::PathBuf,
}

impl ExtensionDef {
    /// The OCSF `extension` object an event using this extension lists in
    /// `metadata.extensions`: `{"name": .., "uid": "<uid as a string>", "version": ..}`
    /// (`version` is required there; it is left out only if `extension.json` has none).
    pub fn declaration(&self) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        m.insert("name".into(), self.name.clone().into());
        m.insert("uid".into(), self.uid.to_string().into());
        if let Some(v) = &self.version {
            m.insert("version".into(), v.clone().into());
        }
        serde_json::Value::Object(m)
    }
}
