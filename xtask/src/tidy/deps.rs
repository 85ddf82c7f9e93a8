//! Check 1, `deps`: the allowed dependency map of `ARCHITECTURE.md` against `cargo metadata`.

use super::{ARCHITECTURE, MAP_MARKER, Violation};
use anyhow::{Context, Result, bail};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// The allowed-dependency map of `ARCHITECTURE.md`: package → (line, allowed project deps).
#[derive(Debug, Default)]
pub struct DepMap {
    pub entries: BTreeMap<String, (usize, BTreeSet<String>)>,
}

/// Parse the `<!-- tidy:allowed-deps -->` block of `doc`; syntax errors are `deps` violations.
pub fn parse_allowed_deps(doc: &str) -> (DepMap, Vec<Violation>) {
    let mut map = DepMap::default();
    let mut errors = Vec::new();
    let at = |line: usize| format!("{ARCHITECTURE}:{line}");
    let lines: Vec<&str> = doc.lines().collect();
    let Some(marker) = lines
        .iter()
        .position(|l| l.trim_start().starts_with(MAP_MARKER))
    else {
        let msg = format!("no `{MAP_MARKER} -->` block (the allowed dependency map)");
        return (map, vec![Violation::new("deps", ARCHITECTURE, msg)]);
    };
    let open = (marker + 1..lines.len()).find(|&i| !lines[i].trim().is_empty());
    let Some(open) = open.filter(|&i| lines[i].trim_start().starts_with("```")) else {
        let msg = "the allowed-deps marker is not followed by a fenced (```) block";
        return (map, vec![Violation::new("deps", at(marker + 1), msg)]);
    };
    let Some(close) = (open + 1..lines.len()).find(|&i| lines[i].trim_start().starts_with("```"))
    else {
        let msg = "the allowed-deps block is not closed (```)";
        return (map, vec![Violation::new("deps", at(open + 1), msg)]);
    };
    let valid = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    };
    for (i, line) in lines.iter().enumerate().take(close).skip(open + 1) {
        let text = line.split('#').next().unwrap_or("").trim();
        if text.is_empty() {
            continue;
        }
        let Some((name, deps)) = text.split_once(':') else {
            let msg = format!("`{text}`: expected `package: dep, dep, ...`");
            errors.push(Violation::new("deps", at(i + 1), msg));
            continue;
        };
        let name = name.trim();
        let deps: Vec<&str> = deps
            .split(',')
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .collect();
        if let Some(bad) = std::iter::once(name)
            .chain(deps.iter().copied())
            .find(|s| !valid(s))
        {
            let msg = format!("`{bad}` is not a package name (expected `package: dep, dep, ...`)");
            errors.push(Violation::new("deps", at(i + 1), msg));
            continue;
        }
        if map.entries.contains_key(name) {
            let msg = format!("`{name}` has a second entry");
            errors.push(Violation::new("deps", at(i + 1), msg));
            continue;
        }
        let deps = deps.into_iter().map(String::from).collect();
        map.entries.insert(name.to_string(), (i + 1, deps));
    }
    for (name, (line, deps)) in &map.entries {
        for d in deps.iter().filter(|d| !map.entries.contains_key(*d)) {
            let msg = format!("`{name}` may depend on `{d}`, which has no entry of its own");
            errors.push(Violation::new("deps", at(*line), msg));
        }
    }
    (map, errors)
}

/// The kind of a dependency edge, as `cargo metadata` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Normal,
    Dev,
    Build,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Normal => "normal",
            Kind::Dev => "dev",
            Kind::Build => "build",
        })
    }
}

/// A workspace member and its dependencies on other workspace members.
#[derive(Debug)]
pub struct Package {
    pub name: String,
    /// The manifest, relative to the workspace root when it is under it.
    pub manifest: String,
    pub deps: BTreeSet<(String, Kind)>,
}

/// The workspace members of `cargo metadata --format-version 1 --no-deps` output (every package
/// when `workspace_members` is absent) with their edges to other members.
pub fn parse_metadata(json: &str) -> Result<Vec<Package>> {
    let v: Value = serde_json::from_str(json).context("parsing cargo metadata")?;
    let root = v["workspace_root"].as_str().unwrap_or("");
    let members: Option<BTreeSet<&str>> = v["workspace_members"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect());
    let mut out = Vec::new();
    for p in v["packages"]
        .as_array()
        .context("cargo metadata: no packages")?
    {
        if let Some(m) = &members {
            if !p["id"].as_str().is_some_and(|id| m.contains(id)) {
                continue;
            }
        }
        let name = p["name"]
            .as_str()
            .context("cargo metadata: package without a name")?;
        let manifest = p["manifest_path"].as_str().unwrap_or(name);
        let manifest = manifest
            .strip_prefix(root)
            .map(|m| m.trim_start_matches('/'))
            .unwrap_or(manifest);
        let mut deps = BTreeSet::new();
        for d in p["dependencies"].as_array().into_iter().flatten() {
            let dep = d["name"]
                .as_str()
                .context("cargo metadata: dependency without a name")?;
            let kind = match d["kind"].as_str() {
                None | Some("normal") => Kind::Normal,
                Some("dev") => Kind::Dev,
                Some("build") => Kind::Build,
                Some(k) => bail!("cargo metadata: {name} -> {dep}: unknown kind {k:?}"),
            };
            deps.insert((dep.to_string(), kind));
        }
        out.push(Package {
            name: name.to_string(),
            manifest: manifest.to_string(),
            deps,
        });
    }
    let names: BTreeSet<String> = out.iter().map(|p| p.name.clone()).collect();
    for p in &mut out {
        p.deps.retain(|(d, _)| names.contains(d));
    }
    Ok(out)
}

/// Every project edge the map does not allow, every package missing from the map, every map
/// entry naming no package.
pub fn check_deps(map: &DepMap, packages: &[Package]) -> Vec<Violation> {
    let mut out = Vec::new();
    for p in packages {
        let Some((_, allowed)) = map.entries.get(&p.name) else {
            let msg = format!(
                "workspace package `{}` ({}) has no entry in the allowed-deps map",
                p.name, p.manifest
            );
            out.push(Violation::new("deps", ARCHITECTURE, msg));
            continue;
        };
        for (dep, kind) in p.deps.iter().filter(|(d, _)| !allowed.contains(d)) {
            let msg = format!(
                "{} -> {dep} ({kind}): not allowed by {ARCHITECTURE}",
                p.name
            );
            out.push(Violation::new("deps", &p.manifest, msg));
        }
    }
    for (name, (line, _)) in &map.entries {
        if !packages.iter().any(|p| &p.name == name) {
            let msg = format!("map entry `{name}` names no workspace package");
            out.push(Violation::new(
                "deps",
                format!("{ARCHITECTURE}:{line}"),
                msg,
            ));
        }
    }
    out
}
