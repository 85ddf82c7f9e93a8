//! `$include` expansion and profile names.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::{Loader, MAX_CHAIN, json_files};
use crate::error::SchemaError;
use crate::json::{kind, merge_maps, read_object};

impl Loader {
    /// Names of every profile (`profiles/*.json`, and `<ext>/<name>` for extension profiles).
    pub(super) fn profile_names(&self) -> Result<BTreeSet<String>, SchemaError> {
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
    pub(super) fn read_expanded(
        &self,
        file: &Path,
        depth: usize,
    ) -> Result<Map<String, Value>, SchemaError> {
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
