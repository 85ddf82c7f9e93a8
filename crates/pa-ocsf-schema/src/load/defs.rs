//! Object and event class definitions, read and merged the same way for both kinds: the
//! definition files (after `$include` expansion), the extension patches, the `extends` chains
//! and the constraints.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{Map, Value};

use super::{Loader, MAX_CHAIN, json_files};
use crate::error::SchemaError;
use crate::json::{self, deep_merge, merge_maps};
use crate::model::Constraints;

/// The two kinds of definition the source tree holds, read by the same steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DefKind {
    /// `objects/*.json`.
    Object,
    /// `events/**/*.json`: event classes (and the abstract category-level classes).
    Class,
}

impl DefKind {
    /// Both kinds, in the order they are read and patched.
    pub(super) const ALL: [DefKind; 2] = [DefKind::Object, DefKind::Class];

    /// The directory of the source tree (and of each extension) holding the definitions.
    fn dir(self) -> &'static str {
        match self {
            DefKind::Object => "objects",
            DefKind::Class => "events",
        }
    }

    /// Whether the definitions are searched below the directory too (classes are grouped by
    /// category in subdirectories; objects are not).
    fn recursive(self) -> bool {
        matches!(self, DefKind::Class)
    }

    /// The word naming a definition of this kind in messages.
    fn noun(self) -> &'static str {
        match self {
            DefKind::Object => "object",
            DefKind::Class => "class",
        }
    }
}

/// One class or object definition file after `$include` expansion.
#[derive(Debug, Clone)]
pub(super) struct RawDef {
    pub(super) file: PathBuf,
    pub(super) extension: Option<usize>,
    pub(super) body: Map<String, Value>,
    /// Attributes an extension patch added to this definition (name → extension index and
    /// patch file): those the definition did not have before the patch.
    patched_in: BTreeMap<String, (usize, PathBuf)>,
}

impl RawDef {
    pub(super) fn str_member(&self, key: &str) -> Result<Option<&str>, SchemaError> {
        match self.body.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(SchemaError::format(
                &self.file,
                format!(
                    "member {key:?} must be a string, found {}",
                    json::kind(other)
                ),
            )),
        }
    }

    /// `caption`, or else the definition's name.
    pub(super) fn caption(&self, name: &str) -> Result<String, SchemaError> {
        Ok(self.str_member("caption")?.unwrap_or(name).to_string())
    }

    pub(super) fn attributes(&self) -> Result<Map<String, Value>, SchemaError> {
        match self.body.get("attributes") {
            None | Some(Value::Null) => Ok(Map::new()),
            Some(Value::Object(m)) => Ok(m.clone()),
            Some(other) => Err(SchemaError::format(
                &self.file,
                format!(
                    "member \"attributes\" must be an object, found {}",
                    json::kind(other)
                ),
            )),
        }
    }
}

/// A definition merged over its `extends` chain.
pub(super) struct Chain {
    /// Attributes, own over inherited.
    pub(super) attrs: Map<String, Value>,
    /// Base names, nearest first.
    pub(super) bases: Vec<String>,
    /// Top-level members, own over inherited (e.g. `category`, `profiles`).
    pub(super) top: Map<String, Value>,
    /// The extension that contributed each patched-in attribute, with the patch file (taken
    /// from the nearest definition of the chain that has the attribute).
    pub(super) patched: BTreeMap<String, (usize, PathBuf)>,
}

impl Loader {
    /// The definitions of one kind, by name.
    pub(super) fn defs(&self, kind: DefKind) -> &BTreeMap<String, RawDef> {
        match kind {
            DefKind::Object => &self.objects,
            DefKind::Class => &self.classes,
        }
    }

    fn defs_mut(&mut self, kind: DefKind) -> &mut BTreeMap<String, RawDef> {
        match kind {
            DefKind::Object => &mut self.objects,
            DefKind::Class => &mut self.classes,
        }
    }

    /// Read every object and event class file, applying extension patches: the files of
    /// both kinds are listed (core, then each extension), read (objects first), and then the
    /// patches applied (objects first).
    pub(super) fn read_definitions(&mut self) -> Result<(), SchemaError> {
        let mut files: [Vec<PathBuf>; 2] = Default::default();
        let dirs: Vec<PathBuf> = std::iter::once(self.root.clone())
            .chain(self.extensions.iter().map(|e| e.dir.clone()))
            .collect();
        for dir in &dirs {
            for (kind, files) in DefKind::ALL.into_iter().zip(&mut files) {
                json_files(&dir.join(kind.dir()), kind.recursive(), files)?;
            }
        }
        let mut patches = Vec::with_capacity(DefKind::ALL.len());
        for (kind, files) in DefKind::ALL.into_iter().zip(files) {
            patches.push((kind, self.load_defs(kind, files)?));
        }
        for (kind, patches) in patches {
            for p in patches {
                apply_patch(self.defs_mut(kind), p, kind)?;
            }
        }
        Ok(())
    }

    /// Read the definition files of one kind: named definitions are registered, patches
    /// (extension definitions without a name, or named like what they extend) are returned
    /// for [`apply_patch`] once every definition is known.
    fn load_defs(
        &mut self,
        kind: DefKind,
        files: Vec<PathBuf>,
    ) -> Result<Vec<RawDef>, SchemaError> {
        let mut patches = Vec::new();
        for f in files {
            let def = RawDef {
                extension: self.extension_of(&f),
                body: self.read_expanded(&f, 0)?,
                file: f,
                patched_in: BTreeMap::new(),
            };
            match def.str_member("name")? {
                // an extension definition named like what it extends patches it too
                Some(n) if def.extension.is_some() && def.str_member("extends")? == Some(n) => {
                    patches.push(def)
                }
                Some(n) => {
                    let n = n.to_string();
                    let defs = self.defs_mut(kind);
                    if let Some(prev) = defs.get(&n) {
                        return Err(SchemaError::format(
                            &def.file,
                            format!(
                                "{} {n:?} is already defined in {}",
                                kind.noun(),
                                prev.file.display()
                            ),
                        ));
                    }
                    defs.insert(n, def);
                }
                None => patches.push(def),
            }
        }
        Ok(patches)
    }

    /// Merged attribute maps (own over bases) of a definition, and its base chain.
    pub(super) fn chain(&self, kind: DefKind, name: &str) -> Result<Chain, SchemaError> {
        let defs = self.defs(kind);
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
            merge_members(
                &mut top,
                &base.body,
                &["attributes", "name", "uid", "caption"],
            );
            cur = base.str_member("extends")?.map(str::to_string);
            bases.push(b);
        }
        Ok(Chain {
            attrs,
            bases,
            top,
            patched,
        })
    }

    /// The constraints of `name`: those of the nearest definition in its chain that declares
    /// any.
    pub(super) fn constraints(
        &self,
        kind: DefKind,
        name: &str,
        bases: &[String],
    ) -> Result<Constraints, SchemaError> {
        let defs = self.defs(kind);
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
                        json::kind(c)
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
                            format!(
                                "constraints.{k} must be an array, found {}",
                                json::kind(other)
                            ),
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
}

/// Merge an unnamed extension definition into the definition it `extends`.
fn apply_patch(
    defs: &mut BTreeMap<String, RawDef>,
    patch: RawDef,
    kind: DefKind,
) -> Result<(), SchemaError> {
    let what = kind.noun();
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
    merge_members(
        &mut def.body,
        &patch.body,
        &["attributes", "extends", "caption", "description"],
    );
    Ok(())
}

/// [`merge_maps`] of the top-level members of `from` into `into` (`into` wins), but for the
/// members named in `skip`.
fn merge_members(into: &mut Map<String, Value>, from: &Map<String, Value>, skip: &[&str]) {
    for (k, v) in from {
        if skip.contains(&k.as_str()) {
            continue;
        }
        match into.get_mut(k) {
            Some(l) => deep_merge(l, v),
            None => {
                into.insert(k.clone(), v.clone());
            }
        }
    }
}
