//! One attribute, from its merged definition entry and the dictionary.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::{Loader, as_u32, deprecation};
use crate::error::SchemaError;
use crate::json::{kind, merge_maps};
use crate::model::{AttrDef, BaseType, Deprecation, Requirement};

/// The resolved type of an attribute.
struct AttrType {
    /// The type name as written (`string_t`, `port_t`, or an object name).
    name: String,
    base: BaseType,
    range: Option<(i64, i64)>,
    max_len: Option<usize>,
    /// The observable id of the `_t` type.
    observable: Option<u32>,
}

impl Loader {
    /// Build one attribute from its (merged) definition entry and the dictionary.
    fn attr(
        &self,
        name: &str,
        entry: &Value,
        file: &Path,
        object_names: &BTreeSet<String>,
    ) -> Result<AttrDef, SchemaError> {
        let Value::Object(own) = entry else {
            return Err(SchemaError::format(
                file,
                format!("attributes.{name} must be an object, found {}", kind(entry)),
            ));
        };
        let mut m = own.clone();
        let dict = self.dictionary.get(name).and_then(Value::as_object);
        if let Some(d) = dict {
            merge_maps(&mut m, d);
        }
        let ty = self.attr_type(name, &m, dict.is_some(), file, object_names)?;
        let is_array = match m.get("is_array") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                return Err(SchemaError::format(
                    file,
                    format!(
                        "attributes.{name}.is_array must be a boolean, found {}",
                        kind(other)
                    ),
                ));
            }
        };
        let requirement = match m.get("requirement") {
            None | Some(Value::Null) => Requirement::Optional,
            Some(Value::String(s)) => Requirement::parse(s).ok_or_else(|| {
                SchemaError::format(
                    file,
                    format!("attributes.{name}.requirement: unknown value {s:?}"),
                )
            })?,
            Some(other) => {
                return Err(SchemaError::format(
                    file,
                    format!(
                        "attributes.{name}.requirement must be a string, found {}",
                        kind(other)
                    ),
                ));
            }
        };
        let enums = match m.get("enum") {
            Some(e) => enums(name, e, &ty, file)?,
            None => Enums::default(),
        };
        let profile = m.get("profile").and_then(Value::as_str).map(str::to_string);
        let observable = match as_u32(
            m.get("observable"),
            file,
            &format!("attributes.{name}.observable"),
        )? {
            Some(o) => Some(o),
            None => ty.observable,
        };
        Ok(AttrDef {
            name: name.to_string(),
            type_name: ty.name,
            base: ty.base,
            is_array,
            requirement,
            enum_values: enums.integer,
            string_enum_values: enums.string,
            deprecated_enum_values: enums.deprecated,
            sibling: m.get("sibling").and_then(Value::as_str).map(str::to_string),
            range: ty.range,
            max_len: ty.max_len,
            profile,
            observable,
            extension: None,
            deprecated: deprecation(m.get("@deprecated")),
        })
    }

    /// The type of attribute `name` from its merged entry `m` (`in_dictionary`: the
    /// dictionary has an entry for it): a dictionary `_t` type or an object.
    fn attr_type(
        &self,
        name: &str,
        m: &Map<String, Value>,
        in_dictionary: bool,
        file: &Path,
        object_names: &BTreeSet<String>,
    ) -> Result<AttrType, SchemaError> {
        let origin = || match self.dictionary_origin.get(name) {
            Some(d) => format!(" (dictionary entry in {})", d.display()),
            None => String::new(),
        };
        let type_name = match m.get("type") {
            Some(Value::String(t)) => t.clone(),
            None if !in_dictionary => {
                return Err(SchemaError::format(
                    file,
                    format!(
                        "attributes.{name}: no type (the attribute is not in the dictionary and declares none)"
                    ),
                ));
            }
            Some(other) => {
                return Err(SchemaError::format(
                    file,
                    format!(
                        "attributes.{name}.type must be a string, found {}{}",
                        kind(other),
                        origin()
                    ),
                ));
            }
            None => {
                return Err(SchemaError::format(
                    file,
                    format!("attributes.{name}: no type{}", origin()),
                ));
            }
        };
        if let Some(t) = self.types.get(&type_name) {
            Ok(AttrType {
                base: t.base.clone(),
                range: t.range,
                max_len: t.max_len,
                observable: t.observable,
                name: type_name,
            })
        } else if object_names.contains(&type_name) {
            Ok(AttrType {
                base: BaseType::Object(type_name.clone()),
                range: None,
                max_len: None,
                observable: None,
                name: type_name,
            })
        } else {
            Err(SchemaError::format(
                file,
                format!(
                    "attributes.{name}: type {type_name:?} is neither a dictionary type nor an object{}",
                    origin()
                ),
            ))
        }
    }

    /// Resolve the merged attribute entries of a definition; `patched` names the attributes
    /// an extension patch contributed (their errors name the patch file).
    pub(super) fn attrs(
        &self,
        raw: &Map<String, Value>,
        file: &Path,
        patched: &BTreeMap<String, (usize, PathBuf)>,
        object_names: &BTreeSet<String>,
    ) -> Result<BTreeMap<String, AttrDef>, SchemaError> {
        let mut out = BTreeMap::new();
        for (k, v) in raw {
            let a = match patched.get(k) {
                Some((ext, patch_file)) => {
                    let mut a = self.attr(k, v, patch_file, object_names)?;
                    a.extension = Some(self.extensions[*ext].name.clone());
                    a
                }
                None => self.attr(k, v, file, object_names)?,
            };
            out.insert(k.clone(), a);
        }
        add_datetime(&mut out);
        Ok(out)
    }
}

/// The `datetime` profile: `<name>_dt` (`datetime_t`, optional) beside every `timestamp_t`.
fn add_datetime(attrs: &mut BTreeMap<String, AttrDef>) {
    let extra: Vec<AttrDef> = attrs
        .values()
        .filter(|a| a.type_name == "timestamp_t")
        .filter(|a| !attrs.contains_key(&format!("{}_dt", a.name)))
        .map(|a| AttrDef {
            name: format!("{}_dt", a.name),
            type_name: "datetime_t".into(),
            base: BaseType::String,
            is_array: a.is_array,
            requirement: Requirement::Optional,
            enum_values: None,
            string_enum_values: None,
            deprecated_enum_values: BTreeMap::new(),
            sibling: None,
            range: None,
            max_len: None,
            profile: Some("datetime".into()),
            observable: None,
            extension: a.extension.clone(),
            deprecated: a.deprecated.clone(),
        })
        .collect();
    for a in extra {
        attrs.insert(a.name.clone(), a);
    }
}

/// The enumeration of an attribute, by the kind of its base type.
#[derive(Default)]
struct Enums {
    /// Integer values and captions (integer and long types).
    integer: Option<BTreeMap<i64, String>>,
    /// String values and captions (any other type).
    string: Option<BTreeMap<String, String>>,
    /// Deprecated integer values.
    deprecated: BTreeMap<i64, Deprecation>,
}

/// The `enum` member `e` of attribute `name`, whose type is `ty`.
fn enums(name: &str, e: &Value, ty: &AttrType, file: &Path) -> Result<Enums, SchemaError> {
    let mut out = Enums::default();
    let Value::Object(e) = e else {
        return Err(SchemaError::format(
            file,
            format!(
                "attributes.{name}.enum must be an object, found {}",
                kind(e)
            ),
        ));
    };
    let caption = |v: &Value| {
        v.get("caption")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    match ty.base {
        BaseType::Integer | BaseType::Long => {
            let mut vals = BTreeMap::new();
            for (k, v) in e {
                if let (Ok(n), Some(d)) = (k.parse::<i64>(), deprecation(v.get("@deprecated"))) {
                    out.deprecated.insert(n, d);
                }
                let n: i64 = k.parse().map_err(|_| {
                    SchemaError::format(
                        file,
                        format!(
                            "attributes.{name}.enum: key {k:?} is not an integer but the type is {}",
                            ty.name
                        ),
                    )
                })?;
                vals.insert(n, caption(v));
            }
            out.integer = Some(vals);
        }
        _ => {
            out.string = Some(e.iter().map(|(k, v)| (k.clone(), caption(v))).collect());
        }
    }
    Ok(out)
}
