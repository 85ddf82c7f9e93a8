//! Loading the bridge data files: alias sets (`aliases/*.yaml`, with `extends` flattened) and
//! the router table's routes, checked against each other. `Bridge::load` composes them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use pa_yaml::{FileError, Spanned, YamlOptions, line_of};

use crate::bridge::{Alias, AliasSet, Fallback, RouteDef, strip_modifiers, valid_path};
use crate::logsource::LogSource;
use crate::model::{AliasSetFile, AliasValueFile, FallbackMode, FilterOp, RouteFile};

pub(crate) struct RawSet {
    file: PathBuf,
    line: u64,
    description: Option<String>,
    extends: Vec<(String, u64)>,
    fallback: Option<Fallback>,
    fields: BTreeMap<String, Alias>,
}

fn is_normalized_key(v: &Option<String>) -> bool {
    v.as_ref()
        .is_none_or(|s| !s.is_empty() && s.trim() == s && s.to_ascii_lowercase() == *s)
}

pub(crate) fn load_alias_files(
    dir: &Path,
    default_prefix: &str,
) -> Result<BTreeMap<String, RawSet>, FileError> {
    let adir = dir.join("aliases");
    let entries =
        std::fs::read_dir(&adir).map_err(|source| FileError::io(adir.clone(), &source))?;
    let mut files = Vec::new();
    for e in entries {
        let e = e.map_err(|source| FileError::io(adir.clone(), &source))?;
        let p = e.path();
        if matches!(p.extension().and_then(|x| x.to_str()), Some("yaml" | "yml")) {
            files.push(p);
        }
    }
    files.sort();
    let mut sets: BTreeMap<String, RawSet> = BTreeMap::new();
    for file in files {
        let f: AliasSetFile = pa_yaml::read_yaml_strict(&file, &YamlOptions::default())?;
        let name = f.alias_set.value.clone();
        let line = line_of(&f.alias_set);
        if name.trim().is_empty() || name.trim() != name {
            return Err(FileError::invalid(
                &file,
                line,
                format!("bad alias_set name {name:?}"),
            ));
        }
        if let Some(prev) = sets.get(&name) {
            return Err(FileError::invalid(
                &file,
                line,
                format!(
                    "alias set {name} is already defined in {}",
                    prev.file.display()
                ),
            ));
        }
        let fallback = match f.fallback {
            None => None,
            Some(fb) => {
                let prefix = fb.prefix.unwrap_or_else(|| default_prefix.to_string());
                if !valid_path(&prefix) {
                    return Err(FileError::invalid(
                        &file,
                        line,
                        format!("bad fallback prefix {prefix:?}"),
                    ));
                }
                if fb.mode == FallbackMode::Listed && fb.fields.is_empty() {
                    return Err(FileError::invalid(
                        &file,
                        line,
                        "fallback mode listed needs fields",
                    ));
                }
                if fb.mode != FallbackMode::Listed && !fb.fields.is_empty() {
                    return Err(FileError::invalid(
                        &file,
                        line,
                        "fallback fields need mode listed",
                    ));
                }
                let mut fields = BTreeSet::new();
                for fld in fb.fields {
                    if strip_modifiers(&fld) != fld || fld.is_empty() {
                        return Err(FileError::invalid(
                            &file,
                            line,
                            format!("bad fallback field {fld:?}"),
                        ));
                    }
                    if !fields.insert(fld.clone()) {
                        return Err(FileError::invalid(
                            &file,
                            line,
                            format!("duplicate fallback field {fld}"),
                        ));
                    }
                }
                Some(Fallback {
                    mode: fb.mode,
                    prefix,
                    fields,
                })
            }
        };
        let mut fields = BTreeMap::new();
        for (k, v) in f.fields {
            let vline = line_of(&v);
            if k.is_empty() || strip_modifiers(&k) != k {
                return Err(FileError::invalid(
                    &file,
                    vline,
                    format!("bad Sigma field name {k:?}"),
                ));
            }
            let alias = match v.value {
                AliasValueFile::Path(p) => Alias {
                    path: Some(p),
                    by_class: BTreeMap::new(),
                    note: None,
                },
                AliasValueFile::Detailed(d) => Alias {
                    path: d.path,
                    by_class: d.by_class,
                    note: d.note,
                },
            };
            if alias.path.is_none() && alias.by_class.is_empty() {
                return Err(FileError::invalid(
                    &file,
                    vline,
                    format!("{k}: alias needs path or by_class"),
                ));
            }
            for p in alias.path.iter().chain(alias.by_class.values()) {
                if !valid_path(p) {
                    return Err(FileError::invalid(
                        &file,
                        vline,
                        format!("{k}: {p:?} is not a dotted path"),
                    ));
                }
            }
            fields.insert(k, alias);
        }
        let extends = f
            .extends
            .iter()
            .map(|s| (s.value.clone(), line_of(s)))
            .collect();
        sets.insert(
            name,
            RawSet {
                file,
                line,
                description: f.description,
                extends,
                fallback,
                fields,
            },
        );
    }
    Ok(sets)
}

pub(crate) fn flatten_sets(
    raw: &BTreeMap<String, RawSet>,
    default_prefix: &str,
) -> Result<BTreeMap<String, AliasSet>, FileError> {
    fn visit(
        name: &str,
        raw: &BTreeMap<String, RawSet>,
        stack: &mut Vec<String>,
        out: &mut BTreeMap<String, AliasSet>,
        default_prefix: &str,
    ) -> Result<(), FileError> {
        if out.contains_key(name) {
            return Ok(());
        }
        let Some(set) = raw.get(name) else {
            return Ok(());
        };
        stack.push(name.to_string());
        let mut fields = BTreeMap::new();
        let mut fallback = None;
        for (parent, line) in &set.extends {
            if stack.iter().any(|s| s == parent) {
                return Err(FileError::invalid(
                    &set.file,
                    *line,
                    format!("alias set {name} extends {parent}: cycle"),
                ));
            }
            if !raw.contains_key(parent) {
                return Err(FileError::invalid(
                    &set.file,
                    *line,
                    format!("alias set {name} extends unknown set {parent}"),
                ));
            }
            visit(parent, raw, stack, out, default_prefix)?;
            if let Some(p) = out.get(parent) {
                for (k, v) in &p.fields {
                    fields.insert(k.clone(), v.clone());
                }
                if fallback.is_none() && p.fallback.mode != FallbackMode::None {
                    fallback = Some(p.fallback.clone());
                }
            }
        }
        for (k, v) in &set.fields {
            fields.insert(k.clone(), v.clone());
        }
        let fallback = set.fallback.clone().or(fallback).unwrap_or(Fallback {
            mode: FallbackMode::None,
            prefix: default_prefix.to_string(),
            fields: BTreeSet::new(),
        });
        stack.pop();
        out.insert(
            name.to_string(),
            AliasSet {
                name: name.to_string(),
                description: set.description.clone(),
                extends: set.extends.iter().map(|(n, _)| n.clone()).collect(),
                fields,
                fallback,
            },
        );
        Ok(())
    }
    let mut out = BTreeMap::new();
    for name in raw.keys() {
        let mut stack = Vec::new();
        visit(name, raw, &mut stack, &mut out, default_prefix)?;
    }
    // a set without fields, extends or fallback resolves nothing: almost surely a mistake
    for (name, set) in raw {
        if set.fields.is_empty() && set.extends.is_empty() && set.fallback.is_none() {
            return Err(FileError::invalid(
                &set.file,
                set.line,
                format!("alias set {name} is empty"),
            ));
        }
    }
    Ok(out)
}

pub(crate) fn build_routes(
    router_path: &Path,
    raw: Vec<Spanned<RouteFile>>,
    sets: &BTreeMap<String, AliasSet>,
) -> Result<Vec<RouteDef>, FileError> {
    let mut routes: Vec<RouteDef> = Vec::new();
    let mut ids: BTreeMap<String, u64> = BTreeMap::new();
    let mut keys: BTreeMap<LogSource, String> = BTreeMap::new();
    for sr in raw {
        let line = line_of(&sr);
        let r = sr.value;
        let bad = |m: String| FileError::invalid(router_path, line, m);
        if r.route_id.is_empty()
            || !r
                .route_id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        {
            return Err(bad(format!(
                "route_id {:?} must be non-empty [a-z0-9._-]",
                r.route_id
            )));
        }
        if let Some(prev) = ids.insert(r.route_id.clone(), line) {
            return Err(bad(format!(
                "duplicate route_id {} (first at line {prev})",
                r.route_id
            )));
        }
        let exact = r.sigma_logsource.exact;
        let ls = LogSource {
            product: r.sigma_logsource.product,
            category: r.sigma_logsource.category,
            service: r.sigma_logsource.service,
        };
        if ![&ls.product, &ls.category, &ls.service]
            .into_iter()
            .all(is_normalized_key)
        {
            return Err(bad(format!(
                "route {}: logsource values must be trimmed lowercase and non-empty",
                r.route_id
            )));
        }
        if ls.category.is_none() && ls.service.is_none() && !(exact && ls.product.is_some()) {
            return Err(bad(format!(
                "route {}: needs a category or a service (or exact: true and a product)",
                r.route_id
            )));
        }
        if let Some(other) = keys.insert(ls.clone(), r.route_id.clone()) {
            return Err(bad(format!(
                "route {} has the same logsource as route {other}: they would always tie",
                r.route_id
            )));
        }
        let mut class_uids = r.ocsf_scope.class_uids;
        let n = class_uids.len();
        class_uids.sort_unstable();
        class_uids.dedup();
        if class_uids.is_empty() || class_uids.len() != n {
            return Err(bad(format!(
                "route {}: class_uids must be non-empty and unique",
                r.route_id
            )));
        }
        for f in &r.filters {
            if !valid_path(&f.path) {
                return Err(bad(format!(
                    "route {}: filter path {:?} is not a dotted path",
                    r.route_id, f.path
                )));
            }
            let scalar = |v: &serde_json::Value| v.is_string() || v.is_number() || v.is_boolean();
            let ok = match f.op {
                FilterOp::Eq => scalar(&f.value),
                FilterOp::In | FilterOp::NotIn => f
                    .value
                    .as_array()
                    .is_some_and(|a| !a.is_empty() && a.iter().all(scalar)),
            };
            if !ok {
                return Err(bad(format!(
                    "route {}: filter on {} has a value of the wrong shape for its op",
                    r.route_id, f.path
                )));
            }
        }
        if !sets.contains_key(&r.alias_set) {
            return Err(bad(format!(
                "route {} names unknown alias set {}",
                r.route_id, r.alias_set
            )));
        }
        for (class, set) in &r.alias_sets_by_class {
            if !class_uids.contains(class) {
                return Err(bad(format!(
                    "route {}: alias_sets_by_class names class {class}, which is not in its ocsf_scope",
                    r.route_id
                )));
            }
            if !sets.contains_key(set) {
                return Err(bad(format!(
                    "route {} names unknown alias set {set} for class {class}",
                    r.route_id
                )));
            }
        }
        if !class_uids
            .iter()
            .any(|c| !r.alias_sets_by_class.contains_key(c))
        {
            return Err(bad(format!(
                "route {}: every class has its own alias set; route alias_set {} would resolve none",
                r.route_id, r.alias_set
            )));
        }
        routes.push(RouteDef {
            route_id: r.route_id,
            logsource: ls,
            exact,
            class_uids,
            filters: r.filters,
            alias_set: r.alias_set,
            alias_sets_by_class: r.alias_sets_by_class,
            notes: r.notes,
        });
    }
    routes.sort_by(|a, b| a.route_id.cmp(&b.route_id));
    Ok(routes)
}
