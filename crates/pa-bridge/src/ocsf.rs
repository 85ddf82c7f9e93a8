//! A reader of the OCSF schema *source* tree (`dictionary.json`, `objects/*.json`,
//! `events/<category>/*.json`, `profiles/*.json`, `extensions/*/...`) that answers one
//! question: does a dotted attribute path exist in a class? Object types are followed through
//! `objects/*.json` (with `extends` and `$include`); arrays are traversed transparently.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde_json::Value;

/// Errors reading the schema tree.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// A file could not be read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// A file is not the JSON we expect.
    #[error("{path}: {message}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// Why a path does not exist in a class.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// The class is not in the schema.
    #[error("class {0} is not defined")]
    NoSuchClass(u32),
    /// A segment is not an attribute of the object reached so far.
    #[error("{prefix}: no attribute {segment:?} (in {object})")]
    Missing {
        /// The path up to (excluding) the segment.
        prefix: String,
        /// The missing segment.
        segment: String,
        /// The object (or class) searched.
        object: String,
    },
    /// A segment follows a scalar attribute.
    #[error("{prefix} is a scalar ({type_name}); it has no attributes")]
    Scalar {
        /// The path of the scalar.
        prefix: String,
        /// Its type.
        type_name: String,
    },
}

/// The attributes of a class or object: name → type name.
type Attrs = BTreeMap<String, String>;

/// Class and object attribute tables of one OCSF schema version.
#[derive(Debug, Clone)]
pub struct OcsfSchema {
    classes: BTreeMap<u32, (String, Attrs)>,
    objects: HashMap<String, Attrs>,
}

#[derive(Debug, Default)]
struct RawDef {
    extends: Option<String>,
    category: Option<String>,
    uid: Option<u64>,
    ext_uid: Option<u64>,
    /// attribute → explicit type (if the definition overrides the dictionary's)
    attrs: BTreeMap<String, Option<String>>,
}

fn read_json(path: &Path) -> Result<Value, SchemaError> {
    let text = std::fs::read_to_string(path).map_err(|source| SchemaError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| SchemaError::Format {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

fn json_files(dir: &Path, recursive: bool, out: &mut Vec<PathBuf>) -> Result<(), SchemaError> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for e in rd {
        let e = e.map_err(|source| SchemaError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let p = e.path();
        if p.is_dir() {
            if recursive {
                json_files(&p, true, out)?;
            }
        } else if p.extension().and_then(|x| x.to_str()) == Some("json") {
            out.push(p);
        }
    }
    out.sort();
    Ok(())
}

/// Merge `attributes` of a definition (and its `$include` files) into `into`.
fn collect_attrs(
    root: &Path,
    base: &Path,
    file: &Path,
    v: &Value,
    into: &mut BTreeMap<String, Option<String>>,
) -> Result<(), SchemaError> {
    let Some(attrs) = v.get("attributes").and_then(Value::as_object) else {
        return Ok(());
    };
    for (k, a) in attrs {
        if k == "$include" {
            let list: Vec<&str> = match a {
                Value::String(s) => vec![s.as_str()],
                Value::Array(xs) => xs.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
            for inc in list {
                let cand = [base.join(inc), root.join(inc)];
                let Some(p) = cand.iter().find(|p| p.is_file()) else {
                    return Err(SchemaError::Format {
                        path: file.to_path_buf(),
                        message: format!("$include {inc} not found"),
                    });
                };
                let iv = read_json(p)?;
                collect_attrs(root, base, p, &iv, into)?;
            }
            continue;
        }
        let ty = a.get("type").and_then(Value::as_str).map(str::to_string);
        let slot = into.entry(k.clone()).or_insert(None);
        if ty.is_some() {
            *slot = ty;
        }
    }
    Ok(())
}

fn is_open(ty: &str) -> bool {
    ty == "object" || ty == "json_t"
}

impl OcsfSchema {
    /// Load the schema source tree rooted at `root` (e.g. `.../ocsf-1.7.0`), including the
    /// extensions under `root/extensions/*`.
    pub fn load(root: impl AsRef<Path>) -> Result<OcsfSchema, SchemaError> {
        let root = root.as_ref();
        // dictionary: attribute → type
        let mut dict: HashMap<String, String> = HashMap::new();
        let mut dict_files = vec![(root.join("dictionary.json"), root.to_path_buf(), None)];
        let mut ext_dirs = Vec::new();
        if let Ok(rd) = std::fs::read_dir(root.join("extensions")) {
            for e in rd.flatten() {
                if e.path().is_dir() {
                    ext_dirs.push(e.path());
                }
            }
        }
        ext_dirs.sort();
        let mut ext_uids = HashMap::new();
        for d in &ext_dirs {
            let ext = read_json(&d.join("extension.json"))?;
            let uid = ext.get("uid").and_then(Value::as_u64);
            ext_uids.insert(d.clone(), uid);
            dict_files.push((d.join("dictionary.json"), d.clone(), uid));
        }
        for (f, _, _) in &dict_files {
            if !f.is_file() {
                continue;
            }
            let v = read_json(f)?;
            if let Some(attrs) = v.get("attributes").and_then(Value::as_object) {
                for (k, a) in attrs {
                    if let Some(t) = a.get("type").and_then(Value::as_str) {
                        dict.insert(k.clone(), t.to_string());
                    }
                }
            }
        }
        let categories = read_json(&root.join("categories.json"))?;
        let cat_uid = |name: &str| {
            categories
                .get("attributes")
                .and_then(|a| a.get(name))
                .and_then(|c| c.get("uid"))
                .and_then(Value::as_u64)
        };

        // objects
        let mut raw_objects: HashMap<String, RawDef> = HashMap::new();
        let mut obj_dirs = vec![(root.join("objects"), root.to_path_buf())];
        obj_dirs.extend(ext_dirs.iter().map(|d| (d.join("objects"), d.clone())));
        let mut patches = Vec::new();
        for (dir, base) in &obj_dirs {
            let mut files = Vec::new();
            json_files(dir, false, &mut files)?;
            for f in files {
                let v = read_json(&f)?;
                let mut def = RawDef {
                    extends: v.get("extends").and_then(Value::as_str).map(str::to_string),
                    ..RawDef::default()
                };
                collect_attrs(root, base, &f, &v, &mut def.attrs)?;
                match v.get("name").and_then(Value::as_str) {
                    Some(n) if def.extends.as_deref() != Some(n) => {
                        raw_objects.insert(n.to_string(), def);
                    }
                    _ => patches.push(def),
                }
            }
        }
        for p in patches {
            if let Some(target) = p.extends.as_ref().and_then(|t| raw_objects.get_mut(t)) {
                for (k, t) in p.attrs {
                    let slot = target.attrs.entry(k).or_insert(None);
                    if t.is_some() {
                        *slot = t;
                    }
                }
            }
        }
        let resolve_type = |name: &str, explicit: &Option<String>| {
            explicit
                .clone()
                .or_else(|| dict.get(name).cloned())
                .unwrap_or_else(|| "unknown".to_string())
        };
        let mut objects: HashMap<String, Attrs> = HashMap::new();
        for name in raw_objects.keys() {
            let mut chain = Vec::new();
            let mut cur = Some(name.clone());
            while let Some(c) = cur {
                if chain.contains(&c) {
                    break;
                }
                cur = raw_objects.get(&c).and_then(|d| d.extends.clone());
                chain.push(c);
            }
            let mut attrs = Attrs::new();
            for c in chain.iter().rev() {
                if let Some(d) = raw_objects.get(c) {
                    for (k, t) in &d.attrs {
                        attrs.insert(k.clone(), resolve_type(k, t));
                    }
                }
            }
            objects.insert(name.clone(), attrs);
        }

        // events
        let mut raw_events: HashMap<String, RawDef> = HashMap::new();
        let mut ev_dirs = vec![(root.join("events"), root.to_path_buf(), None)];
        ev_dirs.extend(ext_dirs.iter().map(|d| {
            (
                d.join("events"),
                d.clone(),
                ext_uids.get(d).copied().flatten(),
            )
        }));
        for (dir, base, ext_uid) in &ev_dirs {
            let mut files = Vec::new();
            json_files(dir, true, &mut files)?;
            for f in files {
                let v = read_json(&f)?;
                let Some(name) = v.get("name").and_then(Value::as_str) else {
                    continue;
                };
                let mut def = RawDef {
                    extends: v.get("extends").and_then(Value::as_str).map(str::to_string),
                    category: v
                        .get("category")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    uid: v.get("uid").and_then(Value::as_u64),
                    ext_uid: *ext_uid,
                    attrs: BTreeMap::new(),
                };
                collect_attrs(root, base, &f, &v, &mut def.attrs)?;
                raw_events.insert(name.to_string(), def);
            }
        }
        let mut classes = BTreeMap::new();
        for (name, def) in &raw_events {
            let Some(uid) = def.uid else { continue };
            let mut chain = vec![name.clone()];
            let mut cur = def.extends.clone();
            while let Some(c) = cur {
                if chain.contains(&c) {
                    break;
                }
                cur = raw_events.get(&c).and_then(|d| d.extends.clone());
                chain.push(c);
            }
            let category = chain
                .iter()
                .find_map(|c| raw_events.get(c).and_then(|d| d.category.clone()));
            let Some(cat) = category.as_deref().and_then(cat_uid) else {
                continue;
            };
            let class_uid = def.ext_uid.unwrap_or(0) * 100_000 + cat * 1000 + uid;
            let mut attrs = Attrs::new();
            for c in chain.iter().rev() {
                if let Some(d) = raw_events.get(c) {
                    for (k, t) in &d.attrs {
                        attrs.insert(k.clone(), resolve_type(k, t));
                    }
                }
            }
            if let Ok(cu) = u32::try_from(class_uid) {
                classes.insert(cu, (name.clone(), attrs));
            }
        }
        if classes.is_empty() {
            return Err(SchemaError::Format {
                path: root.to_path_buf(),
                message: "no event classes found".into(),
            });
        }
        Ok(OcsfSchema { classes, objects })
    }

    /// Class uids defined by the schema (sorted).
    pub fn class_uids(&self) -> Vec<u32> {
        self.classes.keys().copied().collect()
    }

    /// The class's name (e.g. `process_activity`).
    pub fn class_name(&self, class_uid: u32) -> Option<&str> {
        self.classes.get(&class_uid).map(|(n, _)| n.as_str())
    }

    /// Check that `path` (dotted) exists in `class_uid`.
    pub fn check_path(&self, class_uid: u32, path: &str) -> Result<(), PathError> {
        let (cname, mut attrs) = self
            .classes
            .get(&class_uid)
            .map(|(n, a)| (n.clone(), a))
            .ok_or(PathError::NoSuchClass(class_uid))?;
        let mut object = cname;
        let mut prefix = String::new();
        let segs: Vec<&str> = path.split('.').collect();
        for (i, seg) in segs.iter().enumerate() {
            let Some(ty) = attrs.get(*seg) else {
                return Err(PathError::Missing {
                    prefix,
                    segment: (*seg).to_string(),
                    object,
                });
            };
            if !prefix.is_empty() {
                prefix.push('.');
            }
            prefix.push_str(seg);
            if i + 1 == segs.len() || is_open(ty) {
                return Ok(());
            }
            match self.objects.get(ty) {
                Some(next) => {
                    attrs = next;
                    object = ty.clone();
                }
                None => {
                    return Err(PathError::Scalar {
                        prefix,
                        type_name: ty.clone(),
                    });
                }
            }
        }
        Ok(())
    }
}
