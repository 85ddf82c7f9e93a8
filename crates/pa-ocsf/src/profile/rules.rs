//! Compiling emit rules (the `emit` and `identity.basis` entries of profile and class files):
//! the value source, transforms, value map and `when` / `when_present` conditions; the check
//! that no target path is a strict prefix of another; the `unmapped` sections.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use pa_yaml::{FileError, Spanned, line_of};
use serde_json::Value;

use super::{Rule, RuleSource, UnmappedDef};
use crate::model::{EmitFile, UnmappedFile};
use crate::path::{SourcePath, TargetPath};
use crate::transform::{Transform, scalar_text};

pub(super) struct Ctx<'a> {
    pub(super) transforms: &'a BTreeMap<String, Arc<Transform>>,
    pub(super) key_index: &'a BTreeMap<String, usize>,
}

pub(super) fn compile_transforms(
    path: &Path,
    names: &[Spanned<String>],
    ctx: &Ctx<'_>,
) -> Result<Vec<Arc<Transform>>, FileError> {
    names
        .iter()
        .map(|n| {
            ctx.transforms.get(&n.value).cloned().ok_or_else(|| {
                let mut known: Vec<&str> = ctx.transforms.keys().map(String::as_str).collect();
                known.sort();
                FileError::invalid(
                    path,
                    line_of(n),
                    format!(
                        "unknown transform {:?} (canonicalization.yaml defines: {})",
                        n.value,
                        known.join(", ")
                    ),
                )
            })
        })
        .collect()
}

pub(super) fn key_values(
    path: &Path,
    line: u64,
    vals: &[Value],
) -> Result<BTreeSet<String>, FileError> {
    let mut out = BTreeSet::new();
    for v in vals {
        let s = scalar_text(v).ok_or_else(|| {
            FileError::invalid(path, line, format!("match value {v} must be a scalar"))
        })?;
        out.insert(s);
    }
    if out.is_empty() {
        return Err(FileError::invalid(path, line, "match value list is empty"));
    }
    Ok(out)
}

pub(super) fn compile_rule(
    path: &Path,
    r: &Spanned<EmitFile>,
    ctx: &Ctx<'_>,
    basis: bool,
) -> Result<Rule, FileError> {
    let line = line_of(r);
    let e = &r.value;
    let bad = |m: String| FileError::invalid(path, line, m);
    let to = TargetPath::parse(&e.to).map_err(&bad)?;
    let n_sources = [
        e.from.is_some(),
        e.const_.is_some(),
        e.key.is_some(),
        e.op.is_some(),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if n_sources != 1 {
        return Err(bad(format!(
            "emit to {:?}: exactly one of from, const, key, op is required (found {n_sources})",
            e.to
        )));
    }
    let source = if let Some(from) = &e.from {
        let list = from.to_vec();
        if list.is_empty() {
            return Err(bad(format!("emit to {:?}: from is empty", e.to)));
        }
        let paths = list
            .iter()
            .map(|p| SourcePath::parse(p))
            .collect::<Result<Vec<_>, _>>()
            .map_err(&bad)?;
        RuleSource::From(paths)
    } else if let Some(c) = &e.const_ {
        RuleSource::Const(c.clone())
    } else if let Some(k) = &e.key {
        RuleSource::Key(
            *ctx.key_index
                .get(k)
                .ok_or_else(|| bad(format!("emit to {:?}: unknown route key {k:?}", e.to)))?,
        )
    } else {
        let args = e.args.clone().unwrap_or_default();
        let arg_paths = |k: &str| -> Result<Vec<SourcePath>, FileError> {
            let list = args
                .get(k)
                .map(|v| v.to_vec())
                .ok_or_else(|| bad(format!("emit to {:?}: op needs args.{k}", e.to)))?;
            list.iter()
                .map(|p| SourcePath::parse(p))
                .collect::<Result<Vec<_>, _>>()
                .map_err(&bad)
        };
        let allowed: &[&str] = match e.op.as_deref() {
            Some("path_resolve") => &["name", "cwd"],
            _ => &[],
        };
        if let Some(k) = args.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(bad(format!("emit to {:?}: unknown op arg {k:?}", e.to)));
        }
        match e.op.as_deref() {
            Some("type_uid") => RuleSource::TypeUid,
            Some("path_resolve") => RuleSource::PathResolve {
                name: arg_paths("name")?,
                cwd: arg_paths("cwd")?,
            },
            other => {
                return Err(bad(format!(
                    "emit to {:?}: unknown op {other:?} (known: type_uid, path_resolve)",
                    e.to
                )));
            }
        }
    };
    if e.op.is_none() && e.args.is_some() {
        return Err(bad(format!("emit to {:?}: args are only for op", e.to)));
    }
    if basis && matches!(source, RuleSource::TypeUid | RuleSource::PathResolve { .. }) {
        return Err(bad("ops cannot be used in an identity basis".into()));
    }
    if !basis && e.optional.is_some() {
        return Err(bad("optional is only allowed in identity.basis".into()));
    }
    let mut when = Vec::new();
    if let Some(w) = &e.when {
        if basis {
            return Err(bad("when is not allowed in identity.basis".into()));
        }
        for (k, vals) in w {
            let idx = *ctx
                .key_index
                .get(k)
                .ok_or_else(|| bad(format!("when: unknown route key {k:?}")))?;
            when.push((idx, key_values(path, line, vals)?));
        }
    }
    let mut when_present = Vec::new();
    if let Some(w) = &e.when_present {
        if basis {
            return Err(bad("when_present is not allowed in identity.basis".into()));
        }
        if e.op.is_some() {
            return Err(bad(format!(
                "emit to {:?}: when_present cannot be combined with op",
                e.to
            )));
        }
        if w.is_empty() {
            return Err(bad(format!("emit to {:?}: when_present is empty", e.to)));
        }
        for t in w {
            let tp = TargetPath::parse(t).map_err(|m| bad(format!("when_present: {m}")))?;
            if tp == to {
                return Err(bad(format!(
                    "emit to {:?}: when_present names the rule's own target",
                    e.to
                )));
            }
            when_present.push(tp);
        }
    }
    Ok(Rule {
        to,
        source,
        transforms: compile_transforms(path, &e.transforms, ctx)?,
        map: e.map.clone(),
        default: e.default.clone(),
        when,
        when_present,
        optional: e.optional.unwrap_or(false),
    })
}

pub(super) fn check_targets(path: &Path, rules: &[(u64, &Rule)]) -> Result<(), FileError> {
    for (la, a) in rules {
        for (lb, b) in rules {
            if a.to.is_strict_prefix_of(&b.to) {
                return Err(FileError::invalid(
                    path,
                    *lb.max(la),
                    format!(
                        "target {:?} is inside target {:?}: a value cannot be both",
                        b.to.text, a.to.text
                    ),
                ));
            }
        }
    }
    Ok(())
}

pub(super) fn compile_unmapped(
    path: &Path,
    u: &Spanned<UnmappedFile>,
) -> Result<UnmappedDef, FileError> {
    let from =
        SourcePath::parse(&u.value.from).map_err(|m| FileError::invalid(path, line_of(u), m))?;
    Ok(UnmappedDef {
        from,
        keep: u.value.keep.iter().cloned().collect(),
        skip: u.value.skip.iter().cloned().collect(),
        into: u.value.into.clone(),
        consumed: BTreeSet::new(),
        excluded: BTreeSet::new(),
    })
}
