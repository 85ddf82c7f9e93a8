//! The dictionaries (core, then extensions), the `_t` types they derive and the categories.

use std::path::Path;

use serde_json::{Map, Value};

use super::{Loader, MAX_CHAIN, as_u32};
use crate::error::SchemaError;
use crate::json::{kind, merge_maps, read_object};
use crate::model::BaseType;

/// A resolved `_t` type.
#[derive(Debug, Clone)]
pub(super) struct TypeInfo {
    pub(super) base: BaseType,
    pub(super) range: Option<(i64, i64)>,
    pub(super) max_len: Option<usize>,
    pub(super) observable: Option<u32>,
}

impl Loader {
    /// Core dictionary plus extension dictionaries (core wins on conflicts), then the types.
    pub(super) fn read_dictionaries(&mut self) -> Result<(), SchemaError> {
        let mut files = vec![self.root.join("dictionary.json")];
        files.extend(
            self.extensions
                .iter()
                .map(|e| e.dir.join("dictionary.json"))
                .filter(|p| p.is_file()),
        );
        let mut raw_types: Map<String, Value> = Map::new();
        for file in &files {
            let d = read_object(file)?;
            match d.get("attributes") {
                Some(Value::Object(a)) => {
                    for (k, v) in a {
                        if !v.is_object() {
                            return Err(SchemaError::format(
                                file,
                                format!("attributes.{k} must be an object, found {}", kind(v)),
                            ));
                        }
                        self.dictionary_origin
                            .entry(k.clone())
                            .or_insert_with(|| file.clone());
                    }
                    merge_maps(&mut self.dictionary, a);
                }
                None => {}
                Some(other) => {
                    return Err(SchemaError::format(
                        file,
                        format!(
                            "member \"attributes\" must be an object, found {}",
                            kind(other)
                        ),
                    ));
                }
            }
            if let Some(t) = d
                .get("types")
                .and_then(|t| t.get("attributes"))
                .and_then(Value::as_object)
            {
                merge_maps(&mut raw_types, t);
            }
        }
        let dict_file = self.root.join("dictionary.json");
        for name in raw_types.keys() {
            let info = resolve_type(name, &raw_types, &dict_file, 0)?;
            self.types.insert(name.clone(), info);
        }
        for prim in [
            "string_t",
            "integer_t",
            "long_t",
            "float_t",
            "boolean_t",
            "json_t",
        ] {
            if !self.types.contains_key(prim) {
                return Err(SchemaError::format(
                    &dict_file,
                    format!("types.attributes has no primitive type {prim:?}"),
                ));
            }
        }
        Ok(())
    }

    pub(super) fn read_categories(&mut self) -> Result<(), SchemaError> {
        let mut files = vec![self.root.join("categories.json")];
        files.extend(
            self.extensions
                .iter()
                .map(|e| e.dir.join("categories.json"))
                .filter(|p| p.is_file()),
        );
        for file in files {
            let c = read_object(&file)?;
            let Some(attrs) = c.get("attributes").and_then(Value::as_object) else {
                return Err(SchemaError::format(
                    &file,
                    "member \"attributes\" must be an object",
                ));
            };
            for (name, cat) in attrs {
                let uid = as_u32(cat.get("uid"), &file, &format!("attributes.{name}.uid"))?
                    .ok_or_else(|| {
                        SchemaError::format(&file, format!("attributes.{name}.uid is missing"))
                    })?;
                let caption = cat
                    .get("caption")
                    .and_then(Value::as_str)
                    .unwrap_or(name)
                    .to_string();
                self.categories
                    .entry(name.clone())
                    .or_insert((uid, caption));
            }
        }
        Ok(())
    }
}

/// Resolve a dictionary type to its primitive base, collecting constraints on the way.
fn resolve_type(
    name: &str,
    raw: &Map<String, Value>,
    file: &Path,
    depth: usize,
) -> Result<TypeInfo, SchemaError> {
    if depth > MAX_CHAIN {
        return Err(SchemaError::format(
            file,
            format!("types.attributes.{name}: type chain loops"),
        ));
    }
    let prim = match name {
        "string_t" => Some(BaseType::String),
        "integer_t" => Some(BaseType::Integer),
        "long_t" => Some(BaseType::Long),
        "float_t" => Some(BaseType::Float),
        "boolean_t" => Some(BaseType::Boolean),
        "json_t" => Some(BaseType::Json),
        _ => None,
    };
    let def = raw.get(name).and_then(Value::as_object);
    let observable = as_u32(
        def.and_then(|d| d.get("observable")),
        file,
        &format!("types.attributes.{name}.observable"),
    )?;
    let range = def
        .and_then(|d| d.get("range"))
        .and_then(Value::as_array)
        .and_then(|r| Some((r.first()?.as_i64()?, r.get(1)?.as_i64()?)));
    let max_len = def
        .and_then(|d| d.get("max_len"))
        .and_then(Value::as_u64)
        .and_then(|n| usize::try_from(n).ok());
    if let Some(base) = prim {
        return Ok(TypeInfo {
            base,
            range,
            max_len,
            observable,
        });
    }
    let Some(parent) = def.and_then(|d| d.get("type")).and_then(Value::as_str) else {
        return Err(SchemaError::format(
            file,
            format!("types.attributes.{name}: not a primitive type and no \"type\" to derive from"),
        ));
    };
    let p = resolve_type(parent, raw, file, depth + 1)?;
    Ok(TypeInfo {
        base: p.base,
        range: range.or(p.range),
        max_len: max_len.or(p.max_len),
        observable,
    })
}
