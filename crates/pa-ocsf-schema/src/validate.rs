//! Validating one event against the resolved schema.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::format;
use crate::json::kind;
use crate::model::{AttrDef, BaseType, ClassDef, Constraints, Requirement};
use crate::schema::OcsfSchema;

/// What is wrong at one place of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ViolationCode {
    /// The event is not a JSON object, or `class_uid` is absent or not a class of the schema.
    UnknownClass,
    /// `category_uid` differs from the category of the class.
    WrongCategory,
    /// A member is not an attribute of the class (with its profiles) or of the object type
    /// of its parent attribute.
    UnknownAttribute,
    /// The JSON type does not match the attribute's type (e.g. a string for `integer_t`, a
    /// float for `long_t`, a scalar where an object is expected).
    WrongType,
    /// An integer enumeration attribute holds a value the schema does not declare.
    InvalidEnumValue,
    /// `type_uid` is not `class_uid * 100 + activity_id`.
    TypeUidMismatch,
    /// A required attribute is absent (reported separately so callers may treat it as a
    /// warning).
    MissingRequired,
    /// An `is_array` attribute holds a non-array value.
    NotAnArray,
    /// A scalar or object attribute holds an array.
    UnexpectedArray,
    /// An attribute is present with the value `null` (OCSF leaves unknown attributes out).
    NullValue,
    /// A number outside the type's range (`port_t` 0..=65535, integers beyond 64 bits).
    OutOfRange,
    /// A string that does not have the form its type requires (`ip_t`, `mac_t`,
    /// `datetime_t`, `email_t`, `file_hash_t`, `uuid_t`, `bytestring_t`, `max_len`).
    InvalidFormat,
    /// A class or object `constraints` entry fails: none of its `at_least_one` attributes
    /// is present, or not exactly one of its `just_one` attributes is.
    ConstraintFailed,
    /// A profile attribute (e.g. `time_dt`, `cloud`, `process.auid`) is present but its
    /// profile is not listed in `metadata.profiles`.
    UndeclaredProfile,
    /// An attribute that an extension adds to a core class or object (e.g. the Purple Axiom
    /// `metadata.run_id`, windows `process.hosted_services`) is present but the extension is
    /// not listed by name in `metadata.extensions`. An extension class (e.g. 201002 Registry
    /// Value Activity) implies its own extension: its `class_uid` identifies it. Attributes
    /// of an extension's profile (linux `process.auid`, profile `linux/linux_users`) are
    /// governed by [`ViolationCode::UndeclaredProfile`] instead: the profile name carries the
    /// extension's.
    UndeclaredExtension,
    /// `metadata.profiles` names a profile the schema does not define.
    UnknownProfile,
    /// `observables[].name` is not an attribute path of the class.
    UnknownObservableName,
    /// `metadata.version` is not the schema's version.
    VersionMismatch,
    /// Advisory, from [`OcsfSchema::warnings`] only: a deprecated class, attribute, object or
    /// enumeration value is used.
    Deprecated,
    /// Advisory, from [`OcsfSchema::warnings`] only: an enumeration's caption sibling
    /// (`activity_name`, `severity`, ...) disagrees with its `_id` value.
    SiblingMismatch,
}

impl ViolationCode {
    /// The snake_case name (e.g. `unknown_attribute`).
    pub fn as_str(self) -> &'static str {
        match self {
            ViolationCode::UnknownClass => "unknown_class",
            ViolationCode::WrongCategory => "wrong_category",
            ViolationCode::UnknownAttribute => "unknown_attribute",
            ViolationCode::WrongType => "wrong_type",
            ViolationCode::InvalidEnumValue => "invalid_enum_value",
            ViolationCode::TypeUidMismatch => "type_uid_mismatch",
            ViolationCode::MissingRequired => "missing_required",
            ViolationCode::NotAnArray => "not_an_array",
            ViolationCode::UnexpectedArray => "unexpected_array",
            ViolationCode::NullValue => "null_value",
            ViolationCode::OutOfRange => "out_of_range",
            ViolationCode::InvalidFormat => "invalid_format",
            ViolationCode::ConstraintFailed => "constraint_failed",
            ViolationCode::UndeclaredProfile => "undeclared_profile",
            ViolationCode::UndeclaredExtension => "undeclared_extension",
            ViolationCode::UnknownProfile => "unknown_profile",
            ViolationCode::UnknownObservableName => "unknown_observable_name",
            ViolationCode::VersionMismatch => "version_mismatch",
            ViolationCode::Deprecated => "deprecated",
            ViolationCode::SiblingMismatch => "sibling_mismatch",
        }
    }
}

impl fmt::Display for ViolationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One violation: where (RFC 6901 JSON pointer into the event), what kind, and a message.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Violation {
    /// JSON pointer of the offending member (`""` for the event itself, `/process/file/bogus`,
    /// `/process/file/hashes/0/algorithm_id`); for `missing_required` the pointer the absent
    /// member would have.
    pub pointer: String,
    /// The kind of violation.
    pub code: ViolationCode,
    /// Human explanation naming the attribute, type and value.
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = if self.pointer.is_empty() {
            "(event)"
        } else {
            &self.pointer
        };
        write!(f, "{p}: {}: {}", self.code, self.message)
    }
}

/// Append a key to a JSON pointer, escaping `~` and `/`.
fn child(pointer: &str, key: &str) -> String {
    let mut s = String::with_capacity(pointer.len() + key.len() + 1);
    s.push_str(pointer);
    s.push('/');
    for c in key.chars() {
        match c {
            '~' => s.push_str("~0"),
            '/' => s.push_str("~1"),
            c => s.push(c),
        }
    }
    s
}

/// Short rendering of a value for messages.
fn show(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 60 {
        let t: String = s.chars().take(57).collect();
        format!("{t}...")
    } else {
        s
    }
}

/// Maximum nesting depth followed; deeper values are reported instead of recursed into.
const MAX_DEPTH: usize = 64;

struct Walk<'a> {
    schema: &'a OcsfSchema,
    profiles: BTreeSet<String>,
    /// Extension names the event declares in `metadata.extensions`, plus the extension of
    /// its class.
    extensions: BTreeSet<String>,
    out: Vec<Violation>,
}

impl<'a> Walk<'a> {
    fn push(&mut self, pointer: String, code: ViolationCode, message: String) {
        self.out.push(Violation {
            pointer,
            code,
            message,
        });
    }

    fn object(
        &mut self,
        attrs: &'a BTreeMap<String, AttrDef>,
        constraints: &Constraints,
        owner: &str,
        obj: &Map<String, Value>,
        pointer: &str,
        depth: usize,
    ) {
        if depth > MAX_DEPTH {
            self.push(
                pointer.to_string(),
                ViolationCode::OutOfRange,
                format!("nesting deeper than {MAX_DEPTH} levels is not followed"),
            );
            return;
        }
        for (k, v) in obj {
            let p = child(pointer, k);
            match attrs.get(k) {
                Some(a) => {
                    // reported, and still checked, so fixing the profile reveals nothing new
                    if let Some(prof) = a.profile.as_ref().filter(|p| !self.profiles.contains(*p)) {
                        self.push(
                            p.clone(),
                            ViolationCode::UndeclaredProfile,
                            format!(
                                "{k:?} of {owner} belongs to profile {prof}, which metadata.profiles does not declare"
                            ),
                        );
                    }
                    // a profile attribute is governed by its profile: an extension's profile
                    // is named after it (`linux/linux_users`), declaring it declares both
                    if let Some(ext) = a
                        .extension
                        .as_ref()
                        .filter(|x| a.profile.is_none() && !self.extensions.contains(*x))
                    {
                        self.push(
                            p.clone(),
                            ViolationCode::UndeclaredExtension,
                            format!(
                                "{k:?} of {owner} is added by extension {ext}, which metadata.extensions does not declare"
                            ),
                        );
                    }
                    self.value(a, v, &p, depth, depth == 0)
                }
                None => self.push(
                    p,
                    ViolationCode::UnknownAttribute,
                    format!("{k:?} is not an attribute of {owner}"),
                ),
            }
        }
        let present = |n: &String| present(obj, n);
        if !constraints.at_least_one.is_empty() && !constraints.at_least_one.iter().any(present) {
            self.push(
                pointer.to_string(),
                ViolationCode::ConstraintFailed,
                format!(
                    "{owner} needs at least one of {}",
                    constraints.at_least_one.join(", ")
                ),
            );
        }
        if !constraints.just_one.is_empty() {
            let n = constraints.just_one.iter().filter(|a| present(a)).count();
            if n != 1 {
                self.push(
                    pointer.to_string(),
                    ViolationCode::ConstraintFailed,
                    format!(
                        "{owner} needs exactly one of {}, found {n}",
                        constraints.just_one.join(", ")
                    ),
                );
            }
        }
        for a in attrs.values() {
            // null counts as absent (and is reported as null_value too)
            let given = obj.get(&a.name).is_some_and(|v| !v.is_null());
            if a.requirement != Requirement::Required || given {
                continue;
            }
            // A deprecated attribute is not enforced even where the source still marks it
            // required (1.7.0 email_file_activity.email_uid: "required" and deprecated since
            // 1.4.0 with "Use the email.uid attribute instead"): following the deprecation
            // advice must not make an event invalid.
            if a.deprecated.is_some() {
                continue;
            }
            if let Some(p) = &a.profile {
                if !self.profiles.contains(p) {
                    continue;
                }
            }
            // an extension's required attributes bind only events that declare it
            if let Some(x) = a.extension.as_ref().filter(|_| a.profile.is_none()) {
                if !self.extensions.contains(x) {
                    continue;
                }
            }
            let why = match (&a.profile, &a.extension) {
                (Some(p), _) => format!(" (profile {p} is declared in metadata.profiles)"),
                (None, Some(x)) => format!(" (extension {x} is declared in metadata.extensions)"),
                (None, None) => String::new(),
            };
            self.push(
                child(pointer, &a.name),
                ViolationCode::MissingRequired,
                format!("required attribute {:?} of {owner} is absent{why}", a.name),
            );
        }
    }

    fn value(&mut self, a: &'a AttrDef, v: &Value, pointer: &str, depth: usize, top: bool) {
        if v.is_null() {
            self.push(
                pointer.to_string(),
                ViolationCode::NullValue,
                format!("{} is null; leave absent attributes out", a.name),
            );
            return;
        }
        if a.base == BaseType::Json {
            return;
        }
        match (a.is_array, v) {
            (true, Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    let p = format!("{pointer}/{i}");
                    if item.is_null() {
                        self.push(
                            p,
                            ViolationCode::NullValue,
                            format!("element of {} is null", a.name),
                        );
                    } else if item.is_array() {
                        self.push(
                            p,
                            ViolationCode::UnexpectedArray,
                            format!(
                                "element of {} is an array; {} is an array of {}",
                                a.name, a.name, a.type_name
                            ),
                        );
                    } else {
                        self.scalar(a, item, &p, depth, top);
                    }
                }
            }
            (true, other) => self.push(
                pointer.to_string(),
                ViolationCode::NotAnArray,
                format!(
                    "{} is an array of {} but the value is {}",
                    a.name,
                    a.type_name,
                    kind(other)
                ),
            ),
            (false, Value::Array(_)) => self.push(
                pointer.to_string(),
                ViolationCode::UnexpectedArray,
                format!("{} is a single {}, not an array", a.name, a.type_name),
            ),
            (false, other) => self.scalar(a, other, pointer, depth, top),
        }
    }

    fn scalar(&mut self, a: &'a AttrDef, v: &Value, pointer: &str, depth: usize, top: bool) {
        let wrong = |w: &mut Self, expected: &str| {
            w.push(
                pointer.to_string(),
                ViolationCode::WrongType,
                format!(
                    "{} ({}) must be {expected}, found {} {}",
                    a.name,
                    a.type_name,
                    kind(v),
                    show(v)
                ),
            );
        };
        match &a.base {
            BaseType::Json => {}
            BaseType::String => match v {
                Value::String(s) => {
                    if let Some(max) = a.max_len {
                        let n = s.chars().count();
                        if n > max {
                            self.push(
                                pointer.to_string(),
                                ViolationCode::InvalidFormat,
                                format!(
                                    "{} ({}) is {n} characters long, more than {max}",
                                    a.name, a.type_name
                                ),
                            );
                            return;
                        }
                    }
                    if let Some(e) = &a.string_enum_values {
                        if !e.contains_key(s) {
                            let vals: Vec<&str> = e.keys().map(String::as_str).collect();
                            self.push(
                                pointer.to_string(),
                                ViolationCode::InvalidEnumValue,
                                format!(
                                    "{} value {s:?} is not declared; allowed: {}",
                                    a.name,
                                    vals.join(", ")
                                ),
                            );
                            return;
                        }
                    }
                    if let Some(why) = format::check(&a.type_name, s) {
                        self.push(
                            pointer.to_string(),
                            ViolationCode::InvalidFormat,
                            format!("{} ({}) {}: {}", a.name, a.type_name, why, show(v)),
                        );
                    }
                }
                _ => wrong(self, "a string"),
            },
            BaseType::Boolean => {
                if !v.is_boolean() {
                    wrong(self, "a boolean");
                }
            }
            BaseType::Float => {
                if !v.is_number() {
                    wrong(self, "a number");
                }
            }
            BaseType::Integer | BaseType::Long => {
                let Value::Number(n) = v else {
                    return wrong(self, "an integer");
                };
                let Some(i) = n.as_i64() else {
                    // long_t is wider than 64 bits in OCSF; JSON integers up to u64::MAX
                    // are accepted there (a u64 cannot be an enum value: none are that big)
                    if n.is_u64()
                        && a.base == BaseType::Long
                        && a.range.is_none()
                        && a.enum_values.is_none()
                    {
                        return;
                    }
                    if n.is_u64() {
                        self.push(
                            pointer.to_string(),
                            ViolationCode::OutOfRange,
                            format!(
                                "{} ({}) value {n} does not fit a signed 64-bit integer",
                                a.name, a.type_name
                            ),
                        );
                        return;
                    }
                    return wrong(self, "an integer");
                };
                if let Some((lo, hi)) = a.range {
                    if i < lo || i > hi {
                        self.push(
                            pointer.to_string(),
                            ViolationCode::OutOfRange,
                            format!(
                                "{} ({}) value {i} is outside {lo}..={hi}",
                                a.name, a.type_name
                            ),
                        );
                    }
                }
                // class_uid, category_uid and type_uid are checked against the class itself
                let special =
                    top && matches!(a.name.as_str(), "class_uid" | "category_uid" | "type_uid");
                if let (Some(e), false) = (&a.enum_values, special) {
                    if !e.contains_key(&i) {
                        self.push(
                            pointer.to_string(),
                            ViolationCode::InvalidEnumValue,
                            format!(
                                "{} value {i} is not declared; allowed: {}",
                                a.name,
                                allowed(e)
                            ),
                        );
                    }
                }
            }
            BaseType::Object(name) => {
                let Value::Object(m) = v else {
                    return wrong(self, &format!("an object ({name})"));
                };
                if a.is_free_form() {
                    return;
                }
                let schema = self.schema;
                match schema.object(name) {
                    Some(o) => self.object(
                        &o.attributes,
                        &o.constraints,
                        &format!("object {name}"),
                        m,
                        pointer,
                        depth + 1,
                    ),
                    None => self.push(
                        pointer.to_string(),
                        ViolationCode::WrongType,
                        format!("object type {name} of {} is not defined", a.name),
                    ),
                }
            }
        }
    }
}

/// True if the dotted path (constraints may name `device.os.version`) reaches a non-null
/// value; arrays on the way count if any element does.
fn present(obj: &Map<String, Value>, path: &str) -> bool {
    fn go(v: &Value, segs: &[&str]) -> bool {
        match (v, segs.split_first()) {
            (Value::Null, _) => false,
            (Value::Array(xs), Some(_)) => xs.iter().any(|x| go(x, segs)),
            (_, None) => true,
            (Value::Object(m), Some((first, rest))) => m.get(*first).is_some_and(|x| go(x, rest)),
            (_, Some(_)) => false,
        }
    }
    let segs: Vec<&str> = path.split('.').collect();
    match segs.split_first() {
        Some((first, rest)) => obj.get(*first).is_some_and(|x| go(x, rest)),
        None => false,
    }
}

fn allowed(e: &BTreeMap<i64, String>) -> String {
    let mut parts: Vec<String> = e.iter().take(24).map(|(k, c)| format!("{k} {c}")).collect();
    if e.len() > 24 {
        parts.push(format!("... ({} values)", e.len()));
    }
    parts.join(", ")
}

fn int_member(obj: &Map<String, Value>, key: &str) -> Option<i64> {
    obj.get(key).and_then(Value::as_i64)
}

impl OcsfSchema {
    /// Validate one event; an empty result means the event is valid OCSF for this schema.
    ///
    /// Checked: `class_uid` present and a known class; `category_uid` equal to the class's
    /// category; every member at every depth an attribute of the class (profiles included) or
    /// of the parent attribute's object type (arrays of objects included); JSON types as the
    /// dictionary types require (`json_t` and members of `object`-typed attributes such as
    /// `unmapped` are free-form); integer enumerations (class overrides and dictionary values
    /// united, so `0` Unknown / `99` Other where declared); `type_uid = class_uid * 100 +
    /// activity_id`; required attributes at every depth (profile attributes only when the
    /// profile is listed in `metadata.profiles`; deprecated attributes never); string forms of `ip_t`, `mac_t`,
    /// `datetime_t`, `email_t`, `file_hash_t`, `uuid_t`, `bytestring_t` and `max_len`;
    /// `port_t` range; class and object `constraints` (`at_least_one`, `just_one`); string
    /// enumerations (`http_method`, `tlp`); profile attributes only with their profile in
    /// `metadata.profiles`, and only defined profiles there; attributes an extension adds to
    /// a core class or object only with the extension named in `metadata.extensions` (or
    /// being the extension of the class), and required ones of them only then; `metadata.version` equal to the
    /// schema version; `observables[].name` an attribute path of the class. Violations are sorted by pointer, then code, then message.
    pub fn validate(&self, event: &Value) -> Vec<Violation> {
        let mut out = Vec::new();
        let Value::Object(obj) = event else {
            out.push(Violation {
                pointer: String::new(),
                code: ViolationCode::UnknownClass,
                message: format!("an event must be a JSON object, found {}", kind(event)),
            });
            return out;
        };
        let class = match obj.get("class_uid") {
            None => {
                out.push(Violation {
                    pointer: "/class_uid".into(),
                    code: ViolationCode::UnknownClass,
                    message: "class_uid is absent: the event has no class".into(),
                });
                return out;
            }
            Some(Value::Number(n)) => match n
                .as_u64()
                .and_then(|u| u32::try_from(u).ok())
                .and_then(|u| self.class(u))
            {
                Some(c) => c,
                None => {
                    out.push(Violation {
                        pointer: "/class_uid".into(),
                        code: ViolationCode::UnknownClass,
                        message: format!("class_uid {n} is not a class of OCSF {}", self.version()),
                    });
                    return out;
                }
            },
            Some(other) => {
                out.push(Violation {
                    pointer: "/class_uid".into(),
                    code: ViolationCode::WrongType,
                    message: format!(
                        "class_uid must be an integer, found {} {}",
                        kind(other),
                        show(other)
                    ),
                });
                return out;
            }
        };
        let profiles = obj
            .get("metadata")
            .and_then(|m| m.get("profiles"))
            .and_then(Value::as_array)
            .map(|ps| {
                ps.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        let mut extensions: BTreeSet<String> = obj
            .get("metadata")
            .and_then(|m| m.get("extensions"))
            .and_then(Value::as_array)
            .map(|xs| {
                xs.iter()
                    .filter_map(|x| x.get("name").and_then(Value::as_str))
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        if let Some(e) = &class.extension {
            extensions.insert(e.clone());
        }
        let mut walk = Walk {
            schema: self,
            profiles,
            extensions,
            out,
        };
        walk.object(
            &class.attributes,
            &class.constraints,
            &format!("class {} ({})", class.name, class.uid),
            obj,
            "",
            0,
        );
        class_checks(class, obj, &mut walk.out);
        self.envelope_checks(class, obj, &walk.profiles, &mut walk.out);
        let mut out = walk.out;
        out.sort();
        out.dedup();
        out
    }
}

impl OcsfSchema {
    /// [`Self::validate`], tolerating the listed members: every violation at one of the
    /// `allowed` JSON pointers, or below one, is dropped (e.g. `"/metadata/run_id"`, a Purple
    /// Axiom envelope member OCSF does not define, or `"/metadata/extensions"` when it holds
    /// the envelope's object instead of OCSF's array). Missing-required and constraint
    /// violations of the parents are kept; so is everything else.
    pub fn validate_allowing(&self, event: &Value, allowed: &[&str]) -> Vec<Violation> {
        let mut v = self.validate(event);
        v.retain(|x| {
            !allowed.iter().any(|a| {
                !a.is_empty()
                    && x.pointer
                        .strip_prefix(a)
                        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
            })
        });
        v
    }
}

impl OcsfSchema {
    /// `metadata.profiles` names, `metadata.version`, `observables[].name` references.
    fn envelope_checks(
        &self,
        class: &ClassDef,
        obj: &Map<String, Value>,
        profiles: &BTreeSet<String>,
        out: &mut Vec<Violation>,
    ) {
        let md = obj.get("metadata").and_then(Value::as_object);
        if let Some(Value::Array(ps)) = md.and_then(|m| m.get("profiles")) {
            for (i, p) in ps.iter().enumerate() {
                if let Some(name) = p.as_str() {
                    if !self.profiles().contains(name) {
                        out.push(Violation {
                            pointer: format!("/metadata/profiles/{i}"),
                            code: ViolationCode::UnknownProfile,
                            message: format!(
                                "profile {name:?} is not defined; known: {}",
                                self.profiles()
                                    .iter()
                                    .cloned()
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        });
                    }
                }
            }
        }
        if let Some(Value::String(v)) = md.and_then(|m| m.get("version")) {
            if v != self.version() {
                out.push(Violation {
                    pointer: "/metadata/version".into(),
                    code: ViolationCode::VersionMismatch,
                    message: format!(
                        "metadata.version {v:?} is not the schema version {:?} validated against",
                        self.version()
                    ),
                });
            }
        }
        if let Some(Value::Array(obs)) = obj.get("observables") {
            for (i, o) in obs.iter().enumerate() {
                let Some(name) = o.get("name").and_then(Value::as_str) else {
                    continue;
                };
                if !self.declared_path(class, name, profiles) {
                    out.push(Violation {
                        pointer: format!("/observables/{i}/name"),
                        code: ViolationCode::UnknownObservableName,
                        message: format!(
                            "observable name {name:?} is not an attribute path of class {} ({}) with the declared profiles",
                            class.name, class.uid
                        ),
                    });
                }
            }
        }
    }

    /// Like `has_path`, but profile attributes count only when their profile is declared.
    fn declared_path(&self, class: &ClassDef, dotted: &str, profiles: &BTreeSet<String>) -> bool {
        let mut attrs = &class.attributes;
        let mut segs = dotted.split('.').peekable();
        while let Some(seg) = segs.next() {
            let Some(a) = attrs.get(seg) else {
                return false;
            };
            if a.profile.as_ref().is_some_and(|p| !profiles.contains(p)) {
                return false;
            }
            if segs.peek().is_none() {
                return true;
            }
            if a.is_free_form() {
                return segs.all(|s| !s.is_empty());
            }
            let Some(o) = a.object_type().and_then(|t| self.object(t)) else {
                return false;
            };
            attrs = &o.attributes;
        }
        false
    }
}

/// `category_uid` and `type_uid` against the class.
fn class_checks(class: &ClassDef, obj: &Map<String, Value>, out: &mut Vec<Violation>) {
    if let Some(c) = int_member(obj, "category_uid") {
        if c != i64::from(class.category_uid) {
            out.push(Violation {
                pointer: "/category_uid".into(),
                code: ViolationCode::WrongCategory,
                message: format!(
                    "category_uid {c} does not match class {} ({}), which is in category {} ({})",
                    class.name, class.uid, class.category, class.category_uid
                ),
            });
        }
    }
    let Some(t) = int_member(obj, "type_uid") else {
        return;
    };
    let base = i64::from(class.uid) * 100;
    match int_member(obj, "activity_id") {
        Some(a) => {
            // i128: activity_id is event data and may be anything up to i64::MAX
            let expected = i128::from(base) + i128::from(a);
            if i128::from(t) != expected {
                out.push(Violation {
                    pointer: "/type_uid".into(),
                    code: ViolationCode::TypeUidMismatch,
                    message: format!(
                        "type_uid {t} is not class_uid {} * 100 + activity_id {a} = {expected}",
                        class.uid,
                    ),
                });
            }
        }
        None => {
            if !class.type_uids().contains(&t) {
                out.push(Violation {
                    pointer: "/type_uid".into(),
                    code: ViolationCode::TypeUidMismatch,
                    message: format!(
                        "type_uid {t} is not class_uid {} * 100 + a declared activity_id",
                        class.uid
                    ),
                });
            }
        }
    }
}
