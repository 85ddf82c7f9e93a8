//! The loaded schema and its look-ups.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::error::SchemaError;
use crate::model::{AttrDef, ClassDef, ExtensionDef, ObjectDef};

/// One OCSF schema version, resolved from its source tree, ready to answer look-ups and to
/// validate events.
#[derive(Debug, Clone)]
pub struct OcsfSchema {
    version: String,
    classes: BTreeMap<u32, ClassDef>,
    objects: BTreeMap<String, ObjectDef>,
    profiles: BTreeSet<String>,
    extensions: Vec<ExtensionDef>,
}

impl OcsfSchema {
    pub(crate) fn new(
        version: String,
        classes: BTreeMap<u32, ClassDef>,
        objects: BTreeMap<String, ObjectDef>,
        profiles: BTreeSet<String>,
        extensions: Vec<ExtensionDef>,
    ) -> OcsfSchema {
        OcsfSchema {
            version,
            classes,
            objects,
            profiles,
            extensions,
        }
    }

    /// Every loaded extension: the built-in ones (`extensions/<dir>/`, by directory name),
    /// then those given to [`Self::load_with_extensions`], in the order given.
    pub fn extensions(&self) -> &[ExtensionDef] {
        &self.extensions
    }

    /// The loaded extension with this `name` (e.g. `win`, `purple_axiom`).
    pub fn extension(&self, name: &str) -> Option<&ExtensionDef> {
        self.extensions.iter().find(|e| e.name == name)
    }

    /// Every profile name (`cloud`, `datetime`, `host`, ..., `linux/linux_users`): the values
    /// `metadata.profiles` may hold.
    pub fn profiles(&self) -> &BTreeSet<String> {
        &self.profiles
    }

    /// Load the schema source tree rooted at `dir` (e.g. `../shared/data/ocsf-1.7.0`):
    /// `version.json`, `dictionary.json`, `categories.json`, `objects/`, `events/`,
    /// `profiles/` and every extension under `extensions/`. Errors name the file at fault.
    pub fn load(dir: &Path) -> Result<OcsfSchema, SchemaError> {
        crate::load::load(dir)
    }

    /// [`Self::load`], plus the extension directories `extra` (each laid out like
    /// `extensions/<dir>/`: `extension.json`, and optionally `dictionary.json`,
    /// `categories.json`, `objects/`, `events/`, `profiles/`), applied after the built-in
    /// extensions in the order given, with the same rules: dictionary additions (core
    /// wins), object and class patches (unnamed, or named like what they `extends`), new
    /// objects, classes and profiles. An extension whose `name` or `uid` collides with
    /// another is an error; so is a missing directory. Errors name the file at fault.
    pub fn load_with_extensions(dir: &Path, extra: &[&Path]) -> Result<OcsfSchema, SchemaError> {
        crate::load::load_with_extensions(dir, extra)
    }

    /// The schema version from `version.json` (e.g. `1.7.0`).
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The class with this `class_uid` (e.g. 1007 Process Activity, 201002 Registry Value
    /// Activity), with its resolved attributes.
    pub fn class(&self, class_uid: u32) -> Option<&ClassDef> {
        self.classes.get(&class_uid)
    }

    /// The class with this name (e.g. `process_activity`).
    pub fn class_by_name(&self, name: &str) -> Option<&ClassDef> {
        self.classes.values().find(|c| c.name == name)
    }

    /// Every class, by `class_uid` (ascending).
    pub fn classes(&self) -> impl Iterator<Item = &ClassDef> {
        self.classes.values()
    }

    /// The object with this name (e.g. `process`, `reg_value`).
    pub fn object(&self, name: &str) -> Option<&ObjectDef> {
        self.objects.get(name)
    }

    /// Every object, by name (ascending).
    pub fn objects(&self) -> impl Iterator<Item = &ObjectDef> {
        self.objects.values()
    }

    /// The attribute a dotted path (e.g. `process.file.path`) reaches in a class, or `None`
    /// when a segment is not an attribute of the object reached so far. Arrays of objects are
    /// traversed transparently (`process.file.hashes.value`). Below a free-form attribute
    /// (`unmapped`, `json_t` values) no attribute definition exists: see [`Self::has_path`].
    /// Profile attributes are found whether or not an event would declare the profile.
    pub fn attribute(&self, class_uid: u32, dotted_path: &str) -> Option<&AttrDef> {
        match self.walk_path(class_uid, dotted_path)? {
            PathEnd::Attr(a) => Some(a),
            PathEnd::FreeForm => None,
        }
    }

    /// True if a dotted path exists in a class: every segment is an attribute of the class
    /// (profiles included) or of the object type reached so far. Below a free-form attribute
    /// (type `object`, such as `unmapped`, or `json_t`) any further path is accepted, since
    /// the schema does not constrain it. An empty path or empty segment is false. Profile
    /// attributes (`time_dt`, `cloud`, `process.auid`) count as existing; an event must still
    /// declare their profile in `metadata.profiles` (see [`Self::validate`]).
    pub fn has_path(&self, class_uid: u32, dotted_path: &str) -> bool {
        self.walk_path(class_uid, dotted_path).is_some()
    }

    /// Why a dotted path does not exist in a class (`Ok(())` if it does, with the same
    /// rules as [`Self::has_path`]).
    pub fn check_path(&self, class_uid: u32, dotted_path: &str) -> Result<(), PathError> {
        self.resolve(class_uid, dotted_path).map(|_| ())
    }

    fn walk_path(&self, class_uid: u32, dotted_path: &str) -> Option<PathEnd<'_>> {
        self.resolve(class_uid, dotted_path).ok()
    }

    fn resolve(&self, class_uid: u32, dotted_path: &str) -> Result<PathEnd<'_>, PathError> {
        let class = self
            .classes
            .get(&class_uid)
            .ok_or(PathError::NoSuchClass(class_uid))?;
        let mut attrs = &class.attributes;
        let mut owner = format!("class {}", class.name);
        let mut prefix = String::new();
        let mut segs = dotted_path.split('.').peekable();
        while let Some(seg) = segs.next() {
            let Some(a) = attrs.get(seg) else {
                return Err(PathError::Missing {
                    prefix,
                    segment: seg.to_string(),
                    owner,
                });
            };
            if !prefix.is_empty() {
                prefix.push('.');
            }
            prefix.push_str(seg);
            if segs.peek().is_none() {
                return Ok(PathEnd::Attr(a));
            }
            if a.is_free_form() {
                return match segs.find(|s| s.is_empty()) {
                    None => Ok(PathEnd::FreeForm),
                    Some(_) => Err(PathError::Missing {
                        prefix,
                        segment: String::new(),
                        owner: format!("free-form {}", a.type_name),
                    }),
                };
            }
            let Some(o) = a.object_type().and_then(|t| self.objects.get(t)) else {
                return Err(PathError::Scalar {
                    prefix,
                    type_name: a.type_name.clone(),
                });
            };
            attrs = &o.attributes;
            owner = format!("object {}", o.name);
        }
        Err(PathError::Missing {
            prefix,
            segment: String::new(),
            owner,
        })
    }
}

/// Why a dotted path does not exist in a class.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// The class is not in the schema.
    #[error("class {0} is not defined")]
    NoSuchClass(u32),
    /// A segment is not an attribute of the class or object reached so far.
    #[error("{prefix:?}: no attribute {segment:?} in {owner}")]
    Missing {
        /// The path up to (excluding) the segment.
        prefix: String,
        /// The missing segment (empty for an empty path or segment).
        segment: String,
        /// The class or object searched (e.g. `object file`).
        owner: String,
    },
    /// A segment follows an attribute of a scalar type.
    #[error("{prefix} is a scalar ({type_name}); it has no attributes")]
    Scalar {
        /// The path of the scalar attribute.
        prefix: String,
        /// Its type (e.g. `integer_t`).
        type_name: String,
    },
}

enum PathEnd<'a> {
    Attr(&'a AttrDef),
    FreeForm,
}
