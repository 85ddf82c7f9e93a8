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

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::error::SchemaError;
use crate::json::{kind, merge_maps, read_object};
use crate::model::{
    AttrDef, BaseType, ClassDef, Constraints, Deprecation, ExtensionDef, ObjectDef, Requirement,
};
use crate::schema::OcsfSchema;

/// Nesting limit for `$include` and `extends` chains (the 1.7.0 source needs 4).
const MAX_CHAIN: usize = 32;

/// An extension directory.
#[derive(Debug, Clone)]
struct Extension {
    /// `name` from `extension.json` (e.g. `win`).
    name: String,
    /// `uid` from `extension.json` (e.g. 2).
    uid: u32,
    /// `version` from `extension.json` (e.g. `1.7.0`).
    version: Option<String>,
    /// `caption` from `extension.json` (e.g. `Windows`).
    caption: Option<String>,
    /// The directory (e.g. `.../extensions/windows`).
    dir: PathBuf,
    /// True for a directory given to [`load_with_extensions`] rather than found under the
    /// source tree's `extensions/`.
    extra: bool,
}

/// One class or object definition file after `$include` expansion.
#[derive(Debug, Clone)]
struct RawDef {
    file: PathBuf,
    extension: Option<usize>,
    body: Map<String, Value>,
    /// Attributes an extension patch added to this definition (name → extension index and
    /// patch file): those the definition did not have before the patch.
    patched_in: BTreeMap<String, (usize, PathBuf)>,
}

impl RawDef {
    fn str_member(&self, key: &str) -> Result<Option<&str>, SchemaError> {
        match self.body.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(SchemaError::format(
                &self.file,
                format!("member {key:?} must be a string, found {}", kind(other)),
            )),
        }
    }

    fn attributes(&self) -> Result<Map<String, Value>, SchemaError> {
        match self.body.get("attributes") {
            None | Some(Value::Null) => Ok(Map::new()),
            Some(Value::Object(m)) => Ok(m.clone()),
            Some(other) => Err(SchemaError::format(
                &self.file,
                format!(
                    "member \"attributes\" must be an object, found {}",
                    kind(other)
                ),
            )),
        }
    }
}

/// A definition merged over its `extends` chain: attributes, base names (nearest first),
/// top-level members (own over inherited, e.g. `category`, `profiles`) and the extension
/// that contributed each patched-in attribute, with the patch file (taken from the nearest
/// definition of the chain that has the attribute).
type Chain = (
    Map<String, Value>,
    Vec<String>,
    Map<String, Value>,
    BTreeMap<String, (usize, PathBuf)>,
);

/// A resolved `_t` type.
#[derive(Debug, Clone)]
struct TypeInfo {
    base: BaseType,
    range: Option<(i64, i64)>,
    max_len: Option<usize>,
    observable: Option<u32>,
}

/// The whole loading state.
struct Loader {
    root: PathBuf,
    extensions: Vec<Extension>,
    dictionary: Map<String, Value>,
    /// The dictionary file that first defines each attribute (core first, then extensions).
    dictionary_origin: BTreeMap<String, PathBuf>,
    types: BTreeMap<String, TypeInfo>,
    categories: BTreeMap<String, (u32, String)>,
    objects: BTreeMap<String, RawDef>,
    events: BTreeMap<String, RawDef>,
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
        events: BTreeMap::new(),
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

impl Loader {
    fn read_extensions(&mut self) -> Result<(), SchemaError> {
        let dir = self.root.join("extensions");
        if !dir.is_dir() {
            return Ok(());
        }
        let rd = std::fs::read_dir(&dir).map_err(|source| SchemaError::Io {
            path: dir.clone(),
            source,
        })?;
        let mut dirs = Vec::new();
        for e in rd {
            let e = e.map_err(|source| SchemaError::Io {
                path: dir.clone(),
                source,
            })?;
            if e.path().is_dir() {
                dirs.push(e.path());
            }
        }
        dirs.sort();
        for d in dirs {
            self.add_extension(&d, false)?;
        }
        Ok(())
    }

    /// Register the extension in directory `d` (its `extension.json`).
    fn add_extension(&mut self, d: &Path, extra: bool) -> Result<(), SchemaError> {
        if !d.is_dir() {
            return Err(SchemaError::format(d, "extension directory does not exist"));
        }
        let file = d.join("extension.json");
        if !file.is_file() {
            return Err(SchemaError::format(
                d,
                "extension directory has no extension.json",
            ));
        }
        let ext = read_object(&file)?;
        let name = match ext.get("name") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            _ => {
                return Err(SchemaError::format(
                    &file,
                    "member \"name\" must be a non-empty string",
                ));
            }
        };
        let uid = as_u32(ext.get("uid"), &file, "member \"uid\"")?
            .ok_or_else(|| SchemaError::format(&file, "member \"uid\" is missing"))?;
        if let Some(prev) = self
            .extensions
            .iter()
            .find(|x| x.name == name || x.uid == uid)
        {
            return Err(SchemaError::format(
                &file,
                format!(
                    "extension {name:?} (uid {uid}) collides with {:?} (uid {}) in {}",
                    prev.name,
                    prev.uid,
                    prev.dir.display()
                ),
            ));
        }
        let text = |key: &str| -> Result<Option<String>, SchemaError> {
            match ext.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(other) => Err(SchemaError::format(
                    &file,
                    format!("member {key:?} must be a string, found {}", kind(other)),
                )),
            }
        };
        let version = text("version")?;
        let caption = text("caption")?;
        self.extensions.push(Extension {
            name,
            uid,
            version,
            caption,
            dir: d.to_path_buf(),
            extra,
        });
        Ok(())
    }

    /// Core dictionary plus extension dictionaries (core wins on conflicts), then the types.
    fn read_dictionaries(&mut self) -> Result<(), SchemaError> {
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

    fn read_categories(&mut self) -> Result<(), SchemaError> {
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

    /// Names of every profile (`profiles/*.json`, and `<ext>/<name>` for extension profiles).
    fn profile_names(&self) -> Result<BTreeSet<String>, SchemaError> {
        let mut files = Vec::new();
        json_files(&self.root.join("profiles"), false, &mut files)?;
        for e in &self.extensions {
            json_files(&e.dir.join("profiles"), false, &mut files)?;
        }
        let mut out = BTreeSet::new();
        for f in files {
            let body = read_object(&f)?;
            let key = self
                .profile_key(&f, &body)
                .ok_or_else(|| SchemaError::format(&f, "profile file without a name"))?;
            out.insert(key);
        }
        Ok(out)
    }

    /// The extension index a path belongs to (the innermost, should one extension
    /// directory lie inside another).
    fn extension_of(&self, path: &Path) -> Option<usize> {
        self.extensions
            .iter()
            .enumerate()
            .filter(|(_, e)| path.starts_with(&e.dir))
            .max_by_key(|(_, e)| e.dir.components().count())
            .map(|(i, _)| i)
    }

    /// The profile key of a profile file (`host`, or `linux/linux_users` in an extension).
    fn profile_key(&self, path: &Path, body: &Map<String, Value>) -> Option<String> {
        let is_profile = body.get("meta").and_then(Value::as_str) == Some("profile")
            || path
                .parent()
                .and_then(Path::file_name)
                .is_some_and(|n| n == "profiles");
        if !is_profile {
            return None;
        }
        let name = body
            .get("name")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| path.file_stem().map(|s| s.to_string_lossy().into_owned()))?;
        Some(match self.extension_of(path) {
            Some(i) => format!("{}/{}", self.extensions[i].name, name),
            None => name,
        })
    }

    /// Find the file an `$include` in `from` refers to.
    fn find_include(&self, from: &Path, target: &str) -> Option<PathBuf> {
        let mut bases: Vec<PathBuf> = Vec::new();
        let ext = self.extension_of(from).map(|i| &self.extensions[i]);
        // an extension directory outside the source tree is searched up to its own top
        let stop = ext.filter(|e| e.extra).map(|e| e.dir.as_path());
        if let Some(dir) = from.parent() {
            for a in dir.ancestors() {
                bases.push(a.to_path_buf());
                if a == self.root || Some(a) == stop {
                    break;
                }
            }
        }
        if let Some(i) = self.extension_of(from) {
            if let Ok(rel) = from.strip_prefix(&self.extensions[i].dir) {
                let core = self.root.join(rel);
                if let Some(dir) = core.parent() {
                    for a in dir.ancestors() {
                        bases.push(a.to_path_buf());
                        if a == self.root {
                            break;
                        }
                    }
                }
            }
        }
        let mut names = vec![target.to_string()];
        if !target.ends_with(".json") {
            names.push(format!("{target}.json"));
        }
        bases
            .iter()
            .flat_map(|b| names.iter().map(move |n| b.join(n)))
            .find(|p| p.is_file())
    }

    /// Read a definition file and expand its `$include`s (recursively).
    fn read_expanded(&self, file: &Path, depth: usize) -> Result<Map<String, Value>, SchemaError> {
        if depth > MAX_CHAIN {
            return Err(SchemaError::format(
                file,
                format!("$include nesting deeper than {MAX_CHAIN} (a cycle?)"),
            ));
        }
        let mut body = read_object(file)?;
        // top-level $include: merge whole files under this one
        if let Some(inc) = body.remove("$include") {
            for target in include_list(&inc, file, "$include")? {
                let path = self.find_include(file, &target).ok_or_else(|| {
                    SchemaError::format(file, format!("$include {target:?}: file not found"))
                })?;
                let included = self.read_expanded(&path, depth + 1)?;
                merge_maps(&mut body, &included);
            }
        }
        let Some(Value::Object(attrs)) = body.get_mut("attributes") else {
            return Ok(body);
        };
        let Some(inc) = attrs.remove("$include") else {
            return Ok(body);
        };
        for target in include_list(&inc, file, "attributes.$include")? {
            let path = self.find_include(file, &target).ok_or_else(|| {
                SchemaError::format(
                    file,
                    format!("attributes.$include {target:?}: file not found"),
                )
            })?;
            let included = self.read_expanded(&path, depth + 1)?;
            let profile = self.profile_key(&path, &included);
            let Some(Value::Object(inc_attrs)) = included.get("attributes") else {
                continue;
            };
            let mut inc_attrs = inc_attrs.clone();
            if let Some(p) = &profile {
                for a in inc_attrs.values_mut() {
                    if let Value::Object(m) = a {
                        m.insert("profile".into(), Value::String(p.clone()));
                    }
                }
            }
            merge_maps(attrs, &inc_attrs);
        }
        Ok(body)
    }

    /// Read every object and event file, applying extension patches.
    fn read_definitions(&mut self) -> Result<(), SchemaError> {
        let mut object_files: Vec<PathBuf> = Vec::new();
        json_files(&self.root.join("objects"), false, &mut object_files)?;
        let mut event_files: Vec<PathBuf> = Vec::new();
        json_files(&self.root.join("events"), true, &mut event_files)?;
        for e in &self.extensions {
            json_files(&e.dir.join("objects"), false, &mut object_files)?;
            json_files(&e.dir.join("events"), true, &mut event_files)?;
        }
        let mut object_patches = Vec::new();
        for f in object_files {
            let def = RawDef {
                extension: self.extension_of(&f),
                body: self.read_expanded(&f, 0)?,
                file: f,
                patched_in: BTreeMap::new(),
            };
            match def.str_member("name")? {
                // an extension definition named like what it extends patches it too
                Some(n) if def.extension.is_some() && def.str_member("extends")? == Some(n) => {
                    object_patches.push(def)
                }
                Some(n) => {
                    let n = n.to_string();
                    if let Some(prev) = self.objects.get(&n) {
                        return Err(SchemaError::format(
                            &def.file,
                            format!("object {n:?} is already defined in {}", prev.file.display()),
                        ));
                    }
                    self.objects.insert(n, def);
                }
                None => object_patches.push(def),
            }
        }
        let mut event_patches = Vec::new();
        for f in event_files {
            let def = RawDef {
                extension: self.extension_of(&f),
                body: self.read_expanded(&f, 0)?,
                file: f,
                patched_in: BTreeMap::new(),
            };
            match def.str_member("name")? {
                // an extension definition named like what it extends patches it too
                Some(n) if def.extension.is_some() && def.str_member("extends")? == Some(n) => {
                    event_patches.push(def)
                }
                Some(n) => {
                    let n = n.to_string();
                    if let Some(prev) = self.events.get(&n) {
                        return Err(SchemaError::format(
                            &def.file,
                            format!("class {n:?} is already defined in {}", prev.file.display()),
                        ));
                    }
                    self.events.insert(n, def);
                }
                None => event_patches.push(def),
            }
        }
        for p in object_patches {
            apply_patch(&mut self.objects, p, "object")?;
        }
        for p in event_patches {
            apply_patch(&mut self.events, p, "class")?;
        }
        Ok(())
    }

    /// Merged attribute maps (own over bases) of a definition, and its base chain.
    fn chain(defs: &BTreeMap<String, RawDef>, name: &str) -> Result<Chain, SchemaError> {
        let Some(def) = defs.get(name) else {
            return Err(SchemaError::format(
                PathBuf::new(),
                format!("definition {name:?} not found"),
            ));
        };
        let mut attrs = def.attributes()?;
        let mut patched: BTreeMap<String, (usize, PathBuf)> = def
            .patched_in
            .iter()
            .filter(|(k, _)| attrs.contains_key(*k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut top = def.body.clone();
        let mut bases = Vec::new();
        let mut cur = def.str_member("extends")?.map(str::to_string);
        while let Some(b) = cur {
            if bases.contains(&b) || b == name || bases.len() > MAX_CHAIN {
                return Err(SchemaError::format(
                    &def.file,
                    format!("extends chain of {name:?} loops at {b:?}"),
                ));
            }
            let Some(base) = defs.get(&b) else {
                return Err(SchemaError::format(
                    &def.file,
                    format!("{name:?} extends {b:?}, which is not defined"),
                ));
            };
            let base_attrs = base.attributes()?;
            for (k, ext) in &base.patched_in {
                // the nearest definition having the attribute decides where it comes from
                if base_attrs.contains_key(k) && !attrs.contains_key(k) {
                    patched.insert(k.clone(), ext.clone());
                }
            }
            merge_maps(&mut attrs, &base_attrs);
            // top-level members such as `category` and `profiles` are inherited too
            for (k, v) in &base.body {
                if k == "attributes" || k == "name" || k == "uid" || k == "caption" {
                    continue;
                }
                match top.get_mut(k) {
                    Some(l) => crate::json::deep_merge(l, v),
                    None => {
                        top.insert(k.clone(), v.clone());
                    }
                }
            }
            cur = base.str_member("extends")?.map(str::to_string);
            bases.push(b);
        }
        Ok((attrs, bases, top, patched))
    }

    /// The constraints of `name`: those of the nearest definition in its chain that declares
    /// any.
    fn constraints(
        defs: &BTreeMap<String, RawDef>,
        name: &str,
        bases: &[String],
    ) -> Result<Constraints, SchemaError> {
        for n in std::iter::once(name).chain(bases.iter().map(String::as_str)) {
            let Some(def) = defs.get(n) else { continue };
            let Some(c) = def.body.get("constraints") else {
                continue;
            };
            let Value::Object(c) = c else {
                return Err(SchemaError::format(
                    &def.file,
                    format!(
                        "member \"constraints\" must be an object, found {}",
                        kind(c)
                    ),
                ));
            };
            let mut out = Constraints::default();
            for (k, v) in c {
                let list: Vec<String> = match v {
                    Value::Array(xs) => xs
                        .iter()
                        .map(|x| {
                            x.as_str().map(str::to_string).ok_or_else(|| {
                                SchemaError::format(
                                    &def.file,
                                    format!("constraints.{k}: entries must be strings"),
                                )
                            })
                        })
                        .collect::<Result<_, _>>()?,
                    other => {
                        return Err(SchemaError::format(
                            &def.file,
                            format!("constraints.{k} must be an array, found {}", kind(other)),
                        ));
                    }
                };
                // The list is kept as written even when it names a non-attribute (1.7.0
                // event_log_activity lists "log_file", which the class does not have): such
                // an entry can never be the one that satisfies the constraint.
                match k.as_str() {
                    "at_least_one" => out.at_least_one = list,
                    "just_one" => out.just_one = list,
                    other => {
                        return Err(SchemaError::format(
                            &def.file,
                            format!("constraints: unknown constraint {other:?}"),
                        ));
                    }
                }
            }
            return Ok(out);
        }
        Ok(Constraints::default())
    }

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
        let origin = || match self.dictionary_origin.get(name) {
            Some(d) => format!(" (dictionary entry in {})", d.display()),
            None => String::new(),
        };
        let type_name = match m.get("type") {
            Some(Value::String(t)) => t.clone(),
            None if dict.is_none() => {
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
        let (base, range, max_len, type_observable) = if let Some(t) = self.types.get(&type_name) {
            (t.base.clone(), t.range, t.max_len, t.observable)
        } else if object_names.contains(&type_name) {
            (BaseType::Object(type_name.clone()), None, None, None)
        } else {
            return Err(SchemaError::format(
                file,
                format!(
                    "attributes.{name}: type {type_name:?} is neither a dictionary type nor an object{}",
                    origin()
                ),
            ));
        };
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
        let mut enum_values = None;
        let mut string_enum_values = None;
        let mut deprecated_enum_values = BTreeMap::new();
        if let Some(e) = m.get("enum") {
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
            match base {
                BaseType::Integer | BaseType::Long => {
                    let mut vals = BTreeMap::new();
                    for (k, v) in e {
                        if let (Ok(n), Some(d)) =
                            (k.parse::<i64>(), deprecation(v.get("@deprecated")))
                        {
                            deprecated_enum_values.insert(n, d);
                        }
                        let n: i64 = k.parse().map_err(|_| {
                            SchemaError::format(
                                file,
                                format!("attributes.{name}.enum: key {k:?} is not an integer but the type is {type_name}"),
                            )
                        })?;
                        vals.insert(n, caption(v));
                    }
                    enum_values = Some(vals);
                }
                _ => {
                    string_enum_values =
                        Some(e.iter().map(|(k, v)| (k.clone(), caption(v))).collect());
                }
            }
        }
        let profile = m.get("profile").and_then(Value::as_str).map(str::to_string);
        let observable = match as_u32(
            m.get("observable"),
            file,
            &format!("attributes.{name}.observable"),
        )? {
            Some(o) => Some(o),
            None => type_observable,
        };
        Ok(AttrDef {
            name: name.to_string(),
            type_name,
            base,
            is_array,
            requirement,
            enum_values,
            string_enum_values,
            deprecated_enum_values,
            sibling: m.get("sibling").and_then(Value::as_str).map(str::to_string),
            range,
            max_len,
            profile,
            observable,
            extension: None,
            deprecated: deprecation(m.get("@deprecated")),
        })
    }

    /// Resolve the merged attribute entries of a definition; `patched` names the attributes
    /// an extension patch contributed (their errors name the patch file).
    fn attrs(
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

    fn resolve_objects(&self) -> Result<BTreeMap<String, ObjectDef>, SchemaError> {
        let names: BTreeSet<String> = self.objects.keys().cloned().collect();
        let mut out = BTreeMap::new();
        for (name, def) in &self.objects {
            let (raw_attrs, bases, _, patched) = Self::chain(&self.objects, name)?;
            let attributes = self.attrs(&raw_attrs, &def.file, &patched, &names)?;
            let constraints = Self::constraints(&self.objects, name, &bases)?;
            out.insert(
                name.clone(),
                ObjectDef {
                    name: name.clone(),
                    caption: def.str_member("caption")?.unwrap_or(name).to_string(),
                    extension: def.extension.map(|i| self.extensions[i].name.clone()),
                    bases,
                    attributes,
                    observable: as_u32(
                        def.body.get("observable"),
                        &def.file,
                        "member \"observable\"",
                    )?,
                    constraints,
                    deprecated: deprecation(def.body.get("@deprecated")),
                },
            );
        }
        Ok(out)
    }

    fn resolve_classes(
        &self,
        objects: &BTreeMap<String, ObjectDef>,
    ) -> Result<BTreeMap<u32, ClassDef>, SchemaError> {
        let names: BTreeSet<String> = objects.keys().cloned().collect();
        let mut out: BTreeMap<u32, ClassDef> = BTreeMap::new();
        for (name, def) in &self.events {
            let own_uid = as_u32(def.body.get("uid"), &def.file, "member \"uid\"")?;
            let uid = match own_uid {
                Some(u) => u,
                None if name == "base_event" => 0,
                // category-level classes (`system`, `network`, ...) are abstract
                None => continue,
            };
            let (raw_attrs, bases, top, patched) = Self::chain(&self.events, name)?;
            let category = top
                .get("category")
                .and_then(Value::as_str)
                .unwrap_or("other")
                .to_string();
            let (cat_uid, cat_caption) = match self.categories.get(&category) {
                Some((u, c)) => (*u, c.clone()),
                None if category == "other" => (0, "Uncategorized".to_string()),
                None => {
                    return Err(SchemaError::format(
                        &def.file,
                        format!("category {category:?} is not in categories.json"),
                    ));
                }
            };
            let ext_uid = def.extension.map_or(0, |i| self.extensions[i].uid);
            let class_uid = ext_uid
                .checked_mul(100_000)
                .and_then(|x| x.checked_add(cat_uid.checked_mul(1000)?))
                .and_then(|x| x.checked_add(uid))
                .ok_or_else(|| SchemaError::format(&def.file, "class_uid overflows u32"))?;
            let caption = def.str_member("caption")?.unwrap_or(name).to_string();
            let mut attributes = self.attrs(&raw_attrs, &def.file, &patched, &names)?;
            let constraints = Self::constraints(&self.events, name, &bases)?;
            if let Some(a) = attributes.get_mut("class_uid") {
                a.enum_values = Some(BTreeMap::from([(i64::from(class_uid), caption.clone())]));
            }
            if let Some(a) = attributes.get_mut("category_uid") {
                a.enum_values = Some(BTreeMap::from([(i64::from(cat_uid), cat_caption.clone())]));
            }
            let activities = attributes
                .get("activity_id")
                .and_then(|a| a.enum_values.clone())
                .unwrap_or_default();
            if let Some(a) = attributes.get_mut("type_uid") {
                a.enum_values = Some(
                    activities
                        .iter()
                        .map(|(id, c)| (i64::from(class_uid) * 100 + id, format!("{caption}: {c}")))
                        .collect(),
                );
            }
            let profiles = match top.get("profiles") {
                Some(Value::Array(ps)) => {
                    let mut v: Vec<String> = ps
                        .iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect();
                    v.sort();
                    v.dedup();
                    v
                }
                _ => Vec::new(),
            };
            let class = ClassDef {
                name: name.clone(),
                caption,
                uid: class_uid,
                category,
                category_uid: cat_uid,
                extension: def.extension.map(|i| self.extensions[i].name.clone()),
                bases,
                profiles,
                attributes,
                constraints,
                deprecated: deprecation(def.body.get("@deprecated")),
            };
            if let Some(prev) = out.get(&class_uid) {
                return Err(SchemaError::format(
                    &def.file,
                    format!(
                        "class_uid {class_uid} of {name:?} is already used by {:?}",
                        prev.name
                    ),
                ));
            }
            out.insert(class_uid, class);
        }
        Ok(out)
    }

    /// Add every declared observable id to the `observable` object's `type_id` enumeration.
    fn complete_observable_types(
        &self,
        objects: &mut BTreeMap<String, ObjectDef>,
    ) -> Result<(), SchemaError> {
        let mut ids: BTreeMap<i64, String> = BTreeMap::new();
        for (name, v) in &self.dictionary {
            if let Some(o) = v.get("observable").and_then(Value::as_i64) {
                ids.entry(o).or_insert_with(|| name.clone());
            }
        }
        for (name, t) in &self.types {
            if let Some(o) = t.observable {
                ids.entry(i64::from(o)).or_insert_with(|| name.clone());
            }
        }
        for defs in [&self.objects, &self.events] {
            for (dname, def) in defs {
                if let Some(o) = def.body.get("observable").and_then(Value::as_i64) {
                    ids.entry(o).or_insert_with(|| dname.clone());
                }
                for (aname, a) in def.attributes()? {
                    if let Some(o) = a.get("observable").and_then(Value::as_i64) {
                        ids.entry(o).or_insert_with(|| format!("{dname}.{aname}"));
                    }
                }
            }
        }
        if let Some(t) = objects
            .get_mut("observable")
            .and_then(|o| o.attributes.get_mut("type_id"))
        {
            let e = t.enum_values.get_or_insert_with(BTreeMap::new);
            for (id, caption) in ids {
                e.entry(id).or_insert(caption);
            }
        }
        Ok(())
    }
}

fn include_list(v: &Value, file: &Path, what: &str) -> Result<Vec<String>, SchemaError> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(xs) => xs
            .iter()
            .map(|x| {
                x.as_str().map(str::to_string).ok_or_else(|| {
                    SchemaError::format(file, format!("{what}: entries must be strings"))
                })
            })
            .collect(),
        other => Err(SchemaError::format(
            file,
            format!("{what} must be a string or an array, found {}", kind(other)),
        )),
    }
}

/// Merge an unnamed extension definition into the definition it `extends`.
fn apply_patch(
    defs: &mut BTreeMap<String, RawDef>,
    patch: RawDef,
    what: &str,
) -> Result<(), SchemaError> {
    let Some(target) = patch.str_member("extends")?.map(str::to_string) else {
        return Err(SchemaError::format(
            &patch.file,
            format!("{what} definition has neither \"name\" nor \"extends\""),
        ));
    };
    let Some(def) = defs.get_mut(&target) else {
        return Err(SchemaError::format(
            &patch.file,
            format!("patches {what} {target:?}, which is not defined"),
        ));
    };
    let patch_attrs = patch.attributes()?;
    if let Some(ext) = patch.extension {
        let had = def.attributes()?;
        for k in patch_attrs.keys() {
            if !had.contains_key(k) {
                def.patched_in
                    .entry(k.clone())
                    .or_insert_with(|| (ext, patch.file.clone()));
            }
        }
    }
    match def.body.get_mut("attributes") {
        Some(Value::Object(a)) => merge_maps(a, &patch_attrs),
        _ => {
            def.body
                .insert("attributes".into(), Value::Object(patch_attrs));
        }
    }
    for (k, v) in &patch.body {
        if k == "attributes" || k == "extends" || k == "caption" || k == "description" {
            continue;
        }
        match def.body.get_mut(k) {
            Some(l) => crate::json::deep_merge(l, v),
            None => {
                def.body.insert(k.clone(), v.clone());
            }
        }
    }
    Ok(())
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
