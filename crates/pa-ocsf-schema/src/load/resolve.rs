//! The resolved objects and event classes, and the `observable` type ids.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::Loader;
use super::defs::{Chain, DefKind, RawDef};
use super::{as_u32, deprecation};
use crate::error::SchemaError;
use crate::model::{AttrDef, ClassDef, Constraints, ObjectDef};

impl Loader {
    /// The attributes and constraints of the definition `name` of `kind`, merged over its
    /// `extends` chain: what objects and classes resolve alike.
    fn members(
        &self,
        kind: DefKind,
        name: &str,
        def: &RawDef,
        chain: &Chain,
        object_names: &BTreeSet<String>,
    ) -> Result<(BTreeMap<String, AttrDef>, Constraints), SchemaError> {
        let attributes = self.attrs(&chain.attrs, &def.file, &chain.patched, object_names)?;
        let constraints = self.constraints(kind, name, &chain.bases)?;
        Ok((attributes, constraints))
    }

    /// The name of the extension that defines `def`, if any.
    fn extension_name(&self, def: &RawDef) -> Option<String> {
        def.extension.map(|i| self.extensions[i].name.clone())
    }

    /// Every object, resolved: its chain, attributes and constraints, and the members only
    /// objects have (`observable`).
    pub(super) fn resolve_objects(&self) -> Result<BTreeMap<String, ObjectDef>, SchemaError> {
        const KIND: DefKind = DefKind::Object;
        let names: BTreeSet<String> = self.defs(KIND).keys().cloned().collect();
        let mut out = BTreeMap::new();
        for (name, def) in self.defs(KIND) {
            let chain = self.chain(KIND, name)?;
            let (attributes, constraints) = self.members(KIND, name, def, &chain, &names)?;
            out.insert(
                name.clone(),
                ObjectDef {
                    name: name.clone(),
                    caption: def.caption(name)?,
                    extension: self.extension_name(def),
                    bases: chain.bases,
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

    /// Every concrete event class by `class_uid`: its chain, attributes and constraints, and
    /// what only classes have (category, computed uids and their enumerations, profiles).
    pub(super) fn resolve_classes(
        &self,
        objects: &BTreeMap<String, ObjectDef>,
    ) -> Result<BTreeMap<u32, ClassDef>, SchemaError> {
        let names: BTreeSet<String> = objects.keys().cloned().collect();
        const KIND: DefKind = DefKind::Class;
        let mut out: BTreeMap<u32, ClassDef> = BTreeMap::new();
        for (name, def) in self.defs(KIND) {
            let own_uid = as_u32(def.body.get("uid"), &def.file, "member \"uid\"")?;
            let uid = match own_uid {
                Some(u) => u,
                None if name == "base_event" => 0,
                // category-level classes (`system`, `network`, ...) are abstract
                None => continue,
            };
            let chain = self.chain(KIND, name)?;
            let category = chain
                .top
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
            let caption = def.caption(name)?;
            let (mut attributes, constraints) = self.members(KIND, name, def, &chain, &names)?;
            uid_enums(&mut attributes, class_uid, &caption, cat_uid, &cat_caption);
            let profiles = profiles(&chain.top);
            let class = ClassDef {
                name: name.clone(),
                caption,
                uid: class_uid,
                category,
                category_uid: cat_uid,
                extension: self.extension_name(def),
                bases: chain.bases,
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
    pub(super) fn complete_observable_types(
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
        for defs in DefKind::ALL.map(|kind| self.defs(kind)) {
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

/// The computed enumerations of a class: `class_uid` and `category_uid` (one value each) and
/// `type_uid` (`class_uid × 100 + activity_id` for every activity).
fn uid_enums(
    attributes: &mut BTreeMap<String, AttrDef>,
    class_uid: u32,
    caption: &str,
    cat_uid: u32,
    cat_caption: &str,
) {
    if let Some(a) = attributes.get_mut("class_uid") {
        a.enum_values = Some(BTreeMap::from([(
            i64::from(class_uid),
            caption.to_string(),
        )]));
    }
    if let Some(a) = attributes.get_mut("category_uid") {
        a.enum_values = Some(BTreeMap::from([(
            i64::from(cat_uid),
            cat_caption.to_string(),
        )]));
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
}

/// The profiles a class (with its chain) declares, sorted and without repeats.
fn profiles(top: &Map<String, Value>) -> Vec<String> {
    match top.get("profiles") {
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
    }
}
