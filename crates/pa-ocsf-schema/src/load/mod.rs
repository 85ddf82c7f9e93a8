//! Building the resolved schema from the OCSF source tree.
//!
//! The rules follow the source format itself:
//!
//! * `dictionary.json` gives every attribute its `type`, `is_array`, default `enum` and
//!   observable id; a class or object attribute entry only overrides members (usually just
//!   `requirement`, `description` or extra `enum` values). Merging is member-wise with the
//!   more specific definition winning and enumerations united.
//! * `dictionary.json` `types` derive `_t` types from primitives (`ip_t` → `string_t`,
//!   `timestamp_t` → `long_t`, `port_t` → `integer_t` with a `range`); any other type name is
//!   an object name.
//! * `extends` chains (classes and objects) merge the base's attributes under the child's.
//! * `$include` inside `attributes` pulls in the attributes of another file, found relative
//!   to the including file's directory and its ancestors, and for extension files also
//!   relative to the matching core location. Included profile attributes are tagged with
//!   the profile name; an including entry with `"profile": null` takes the attribute out of
//!   the profile.
//! * Extensions (`extensions/<dir>/extension.json` with `name` and `uid`) add dictionary
//!   attributes, objects, profiles and classes. An extension object or class without a
//!   `name` (or named like the definition it `extends`) patches that definition (adds
//!   attributes, the core definition wins on conflicts). Extension class uids are `uid × 100000 + category uid × 1000 + uid`.
//! * The `datetime` profile adds `<name>_dt` (`datetime_t`, optional) for every
//!   `timestamp_t` attribute.
//! * `class_uid`, `category_uid` and `type_uid` enumerations are computed per class
//!   (`type_uid = class_uid × 100 + activity_id`); the `observable` object's `type_id`
//!   enumeration is completed from every observable id declared in the dictionary, the
//!   types, the objects and the class/object attributes.
//!
//! The steps, one submodule each: [`extensions`] (finding and registering extension
//! directories), [`dictionary`] (the dictionaries, `_t` types and categories), [`include`]
//! (`$include` expansion and profile names), [`defs`] (reading the object and class files,
//! extension patches, `extends` chains and constraints, written once for both kinds),
//! [`attrs`] (one attribute from its entry and the dictionary) and [`resolve`] (the resolved
//! objects and classes).

mod attrs;
mod defs;
mod dictionary;
mod extensions;
mod include;
mod resolve;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::error::SchemaError;
use crate::json::{kind, read_object};
use crate::model::{Deprecation, ExtensionDef};
use crate::schema::OcsfSchema;

use defs::RawDef;
use dictionary::TypeInfo;
use extensions::Extension;

/// Nesting limit for `$include` and `extends` chains (the 1.7.0 source needs 4).
const MAX_CHAIN: usize = 32;

/// The whole loading state.
struct Loader {
    root: PathBuf,
    extensions: Vec<Extension>,
    dictionary: Map<String, Value>,
    /// The dictionary file that first defines each attribute (core first, then extensions).
    dictionary_origin: BTreeMap<String, PathBuf>,
    types: BTreeMap<String, TypeInfo>,
    categories: BTreeMap<String, (u32, String)>,
    /// Object definitions by name (see [`defs::DefKind`]).
    objects: BTreeMap<String, RawDef>,
    /// Event class definitions by name.
    classes: BTreeMap<String, RawDef>,
}

/// Load the schema rooted at `root`.
pub(crate) fn load(root: &Path) -> Result<OcsfSchema, SchemaError> {
    load_with_extensions(root, &[])
}

/// Load the schema rooted at `root` plus the extension directories `extra` (each laid out
/// like `extensions/<dir>/` of the source tree), applied after the built-in extensions in
/// the order given.
pub(crate) fn load_with_extensions(
    root: &Path,
    extra: &[&Path],
) -> Result<OcsfSchema, SchemaError> {
    let version_file = root.join("version.json");
    let version = match read_object(&version_file)?.get("version") {
        Some(Value::String(s)) => s.clone(),
        _ => {
            return Err(SchemaError::format(
                &version_file,
                "member \"version\" must be a string",
            ));
        }
    };
    let mut loader = Loader {
        root: root.to_path_buf(),
        extensions: Vec::new(),
        dictionary: Map::new(),
        dictionary_origin: BTreeMap::new(),
        types: BTreeMap::new(),
        categories: BTreeMap::new(),
        objects: BTreeMap::new(),
        classes: BTreeMap::new(),
    };
    loader.read_extensions()?;
    for dir in extra {
        loader.add_extension(dir, true)?;
    }
    loader.read_dictionaries()?;
    loader.read_categories()?;
    loader.read_definitions()?;
    let profiles = loader.profile_names()?;
    let objects = loader.resolve_objects()?;
    let classes = loader.resolve_classes(&objects)?;
    let mut objects = objects;
    loader.complete_observable_types(&mut objects)?;
    if classes.is_empty() {
        return Err(SchemaError::format(root, "no event classes found"));
    }
    let extensions = loader
        .extensions
        .iter()
        .map(|e| ExtensionDef {
            name: e.name.clone(),
            uid: e.uid,
            version: e.version.clone(),
            caption: e.caption.clone(),
            dir: e.dir.clone(),
        })
        .collect();
    Ok(OcsfSchema::new(
        version, classes, objects, profiles, extensions,
    ))
}

/// Sorted `*.json` files of `dir` (recursively if asked); a missing directory has none.
fn json_files(dir: &Path, recursive: bool, out: &mut Vec<PathBuf>) -> Result<(), SchemaError> {
    if !dir.is_dir() {
        return Ok(());
    }
    let rd = std::fs::read_dir(dir).map_err(|source| SchemaError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut entries = Vec::new();
    for e in rd {
        let e = e.map_err(|source| SchemaError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        entries.push(e.path());
    }
    entries.sort();
    for p in entries {
        if p.is_dir() {
            if recursive {
                json_files(&p, true, out)?;
            }
        } else if p.extension().and_then(|x| x.to_str()) == Some("json") {
            out.push(p);
        }
    }
    Ok(())
}

fn as_u32(v: Option<&Value>, file: &Path, what: &str) -> Result<Option<u32>, SchemaError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .and_then(|u| u32::try_from(u).ok())
            .map(Some)
            .ok_or_else(|| SchemaError::format(file, format!("{what}: {n} is not a u32"))),
        Some(other) => Err(SchemaError::format(
            file,
            format!("{what} must be an integer, found {}", kind(other)),
        )),
    }
}

fn deprecation(v: Option<&Value>) -> Option<Deprecation> {
    let d = v?.as_object()?;
    Some(Deprecation {
        message: d
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        since: d
            .get("since")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
    })
}
