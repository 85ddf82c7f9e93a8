//! Which kind of content a path holds.
//!
//! `--target KIND` takes every path as that kind. Otherwise, first match wins:
//!
//! * **A folder**
//!   1. with a `pack.yaml` naming `mapping_profile_id` (a normalizer profile tree) or
//!      `mapping_pack_id` (the Sigma → OCSF bridge pack): `mapping-profile`;
//!   2. named `atomics`, named as a technique (`T1059`, `T1059.001`), or holding a folder named
//!      as a technique: `atomic-template` (Atomic Red Team's `atomics/<T>/<T>.yaml` layout);
//!   3. otherwise its `.yml`/`.yaml` files are taken one by one (folders walked in path order,
//!      hidden ones skipped, rules 1–2 applied to each sub-folder). When every file recognised
//!      is a Sigma rule, the folder itself is the Sigma target (loaded as `pa-detect --rules`
//!      loads it); files nothing recognises are skipped, and a folder with nothing recognised
//!      is an error.
//! * **A file**, by its first YAML document's top-level keys (any document for Sigma):
//!   `detection` with `logsource` or `title`, `correlation` with `title`, `filter` with
//!   `logsource`, or a collection's `action` → `sigma-rule` (never with `lab`);
//!   `attack_technique` + `atomic_tests` → `atomic-template`; `pack_id` + `entries` →
//!   `criteria-pack`; `mapping_profile_id`/`mapping_pack_id`, or any file inside a mapping
//!   tree (a `pack.yaml` of rule 1 up to four folders above; likewise a folder inside one) →
//!   `mapping-profile` (the tree);
//!   `lab` → `range-config`; `actions`, `plan` or `scenario_id` → `scenario`. A file that does
//!   not parse is taken by its name (`range*.yaml`, `scenario*.yaml`, `*.yml` → Sigma); failing
//!   that, it is reported as a parse error without a kind.

use std::path::{Path, PathBuf};

use crate::{LintError, TargetKind};

/// The kind names, for messages.
pub const KIND_NAMES: &str = "atomic-template, criteria-pack, mapping-profile, range-config, redaction-policy, scenario, sigma-rule";

/// One thing to lint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    /// The path as the user gave it (for `targets[]`).
    pub given: PathBuf,
    /// The path to lint (the given one, or a file or folder under it).
    pub path: PathBuf,
    /// Its kind; `None` for a file that does not parse and whose kind cannot be told.
    pub kind: Option<TargetKind>,
}

/// How the top-level keys of a YAML file classify it.
pub(crate) fn kind_of_keys(first: &[&str], any_doc_sigma: bool) -> Option<TargetKind> {
    let has = |k: &str| first.contains(&k);
    if any_doc_sigma {
        Some(TargetKind::SigmaRule)
    } else if has("policy_format") {
        Some(TargetKind::RedactionPolicy)
    } else if has("attack_technique") && has("atomic_tests") {
        Some(TargetKind::AtomicTemplate)
    } else if has("pack_id") && has("entries") {
        Some(TargetKind::CriteriaPack)
    } else if has("mapping_profile_id") || has("mapping_pack_id") {
        Some(TargetKind::MappingProfile)
    } else if has("lab") {
        Some(TargetKind::RangeConfig)
    } else if has("actions") || has("plan") || has("scenario_id") {
        Some(TargetKind::Scenario)
    } else {
        None
    }
}

fn is_sigma_doc(keys: &[&str]) -> bool {
    let has = |k: &str| keys.contains(&k);
    !has("lab")
        && ((has("detection") && (has("logsource") || has("title")))
            || (has("correlation") && has("title"))
            || (has("filter") && has("logsource"))
            || (has("action") && (has("logsource") || has("detection"))))
}

/// What a file is: `Ok(kind)` when its content (or, if it does not parse, its name) tells.
fn classify_file(path: &Path) -> Result<Option<TargetKind>, LintError> {
    if mapping_tree_of(path).is_some() {
        return Ok(Some(TargetKind::MappingProfile));
    }
    // Unreadable (or not UTF-8): taken by its name; its checks report the read error.
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(kind_of_name(path));
    };
    match pa_yaml::outline(path, &text) {
        Ok(docs) => {
            let first = docs.first().map(|d| d.top_level_keys()).unwrap_or_default();
            let sigma = docs.iter().any(|d| is_sigma_doc(&d.top_level_keys()));
            Ok(kind_of_keys(&first, sigma))
        }
        Err(_) => Ok(kind_of_name(path)),
    }
}

fn kind_of_name(path: &Path) -> Option<TargetKind> {
    let name = path.file_name()?.to_str()?.to_ascii_lowercase();
    if name.starts_with("range") {
        Some(TargetKind::RangeConfig)
    } else if name.starts_with("scenario") {
        Some(TargetKind::Scenario)
    } else if name.ends_with(".yml") {
        Some(TargetKind::SigmaRule)
    } else {
        None
    }
}

fn is_yaml(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("yml") || e.eq_ignore_ascii_case("yaml"))
}

/// Whether `dir/pack.yaml` names a mapping profile tree or the bridge pack.
pub(crate) fn is_mapping_tree(dir: &Path) -> bool {
    let pack = dir.join("pack.yaml");
    let Ok(text) = std::fs::read_to_string(&pack) else {
        return false;
    };
    pa_yaml::outline(&pack, &text).is_ok_and(|docs| {
        docs.first().is_some_and(|d| {
            let keys = d.top_level_keys();
            keys.contains(&"mapping_profile_id") || keys.contains(&"mapping_pack_id")
        })
    })
}

/// The mapping tree a file belongs to (a folder of [`is_mapping_tree`] at most four levels up).
pub(crate) fn mapping_tree_of(file: &Path) -> Option<PathBuf> {
    file.ancestors()
        .skip(1)
        .take(4)
        .find(|d| !d.as_os_str().is_empty() && is_mapping_tree(d))
        .map(Path::to_path_buf)
}

/// Whether a folder looks like an Atomic Red Team `atomics` folder or one technique folder.
fn is_atomics_dir(dir: &Path) -> bool {
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if name == "atomics" || pa_atomic::model::is_technique_id(name) {
        return true;
    }
    std::fs::read_dir(dir).is_ok_and(|rd| {
        rd.flatten().any(|e| {
            e.path().is_dir()
                && e.file_name()
                    .to_str()
                    .is_some_and(pa_atomic::model::is_technique_id)
        })
    })
}

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>, LintError> {
    let rd = std::fs::read_dir(dir).map_err(|source| LintError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut v: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
    v.sort_by(|a, b| {
        a.as_os_str()
            .as_encoded_bytes()
            .cmp(b.as_os_str().as_encoded_bytes())
    });
    Ok(v)
}

/// A dot-file or dot-folder (`.git`, `.staging`): never linted.
fn is_hidden(p: &Path) -> bool {
    p.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with('.'))
}

/// Walk a folder of rule 3: (path, kind) of every YAML file and sub-tree recognised.
fn walk(dir: &Path, out: &mut Vec<(PathBuf, Option<TargetKind>)>) -> Result<(), LintError> {
    for p in sorted_entries(dir)? {
        let hidden = is_hidden(&p);
        if p.is_dir() {
            if hidden {
                continue;
            }
            if is_mapping_tree(&p) {
                out.push((p, Some(TargetKind::MappingProfile)));
            } else if is_atomics_dir(&p) {
                out.push((p, Some(TargetKind::AtomicTemplate)));
            } else {
                walk(&p, out)?;
            }
        } else if is_yaml(&p) {
            let kind = classify_file(&p)?;
            if kind.is_none() {
                tracing::debug!(file = %p.display(), "not recognised: skipped");
            }
            let p = match kind {
                Some(TargetKind::MappingProfile) => mapping_tree_of(&p).unwrap_or(p),
                _ => p,
            };
            if !out.iter().any(|(q, k)| *q == p && *k == kind) {
                out.push((p, kind));
            }
        }
    }
    Ok(())
}

/// The units of one path as given (relative to the current directory or absolute), detected or
/// as `forced`.
pub fn plan(given: &Path, forced: Option<TargetKind>) -> Result<Vec<Unit>, LintError> {
    let abs = given;
    let unit = |path: PathBuf, kind: Option<TargetKind>| Unit {
        given: given.to_path_buf(),
        path,
        kind,
    };
    let is_dir = abs.is_dir();
    if let Some(kind) = forced {
        let many_files = is_dir
            && matches!(
                kind,
                TargetKind::Scenario | TargetKind::RangeConfig | TargetKind::CriteriaPack
            );
        if !many_files {
            let path = match (kind, is_dir) {
                (TargetKind::MappingProfile, false) => {
                    mapping_tree_of(abs).unwrap_or_else(|| abs.to_path_buf())
                }
                _ => abs.to_path_buf(),
            };
            return Ok(vec![unit(path, Some(kind))]);
        }
        let mut found = Vec::new();
        walk_files(abs, &mut found)?;
        return Ok(found.into_iter().map(|p| unit(p, Some(kind))).collect());
    }
    if !is_dir {
        let kind = classify_file(abs)?;
        return match kind {
            Some(TargetKind::MappingProfile) => Ok(vec![unit(
                mapping_tree_of(abs).unwrap_or_else(|| abs.to_path_buf()),
                kind,
            )]),
            Some(_) => Ok(vec![unit(abs.to_path_buf(), kind)]),
            None if pa_yaml::outline(abs, &read(abs)?).is_err() => {
                Ok(vec![unit(abs.to_path_buf(), None)])
            }
            None => Err(LintError::UnknownKind(given.to_path_buf())),
        };
    }
    if is_mapping_tree(abs) {
        return Ok(vec![unit(
            abs.to_path_buf(),
            Some(TargetKind::MappingProfile),
        )]);
    }
    if let Some(tree) = mapping_tree_of(abs) {
        // a folder inside a mapping tree (classes/, aliases/): the tree it belongs to
        return Ok(vec![unit(tree, Some(TargetKind::MappingProfile))]);
    }
    if is_atomics_dir(abs) {
        return Ok(vec![unit(
            abs.to_path_buf(),
            Some(TargetKind::AtomicTemplate),
        )]);
    }
    let mut found = Vec::new();
    walk(abs, &mut found)?;
    let known: Vec<&(PathBuf, Option<TargetKind>)> =
        found.iter().filter(|(_, k)| k.is_some()).collect();
    if known.is_empty() {
        return Err(LintError::NothingToLint(given.to_path_buf()));
    }
    if known
        .iter()
        .all(|(p, k)| *k == Some(TargetKind::SigmaRule) && p.is_file())
    {
        // A Sigma rule folder: loaded whole, as `pa-detect --rules DIR` loads it.
        return Ok(vec![unit(abs.to_path_buf(), Some(TargetKind::SigmaRule))]);
    }
    Ok(found
        .into_iter()
        .filter(|(p, k)| {
            k.is_some()
                || std::fs::read_to_string(p).map_or(true, |t| pa_yaml::outline(p, &t).is_err())
        })
        .map(|(p, k)| unit(p, k))
        .collect())
}

fn read(p: &Path) -> Result<String, LintError> {
    std::fs::read_to_string(p).map_err(|source| LintError::Io {
        path: p.to_path_buf(),
        source,
    })
}

/// Every YAML file under `dir` (hidden folders skipped), in path order.
fn walk_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), LintError> {
    for p in sorted_entries(dir)? {
        let hidden = is_hidden(&p);
        if p.is_dir() {
            if !hidden {
                walk_files(&p, out)?;
            }
        } else if is_yaml(&p) {
            out.push(p);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, rel: &str, text: &str) -> PathBuf {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }

    fn kinds(units: &[Unit]) -> Vec<(String, Option<TargetKind>)> {
        units
            .iter()
            .map(|u| {
                (
                    u.path.file_name().unwrap().to_string_lossy().into_owned(),
                    u.kind,
                )
            })
            .collect()
    }

    #[test]
    fn files_by_content_and_name() {
        let d = tempfile::tempdir().unwrap();
        let cases = [
            (
                "r.yml",
                "title: x\nlogsource: {}\ndetection: {sel: {a: 1}, condition: sel}\n",
                TargetKind::SigmaRule,
            ),
            (
                "T0001.yaml",
                "attack_technique: T0001\natomic_tests: []\n",
                TargetKind::AtomicTemplate,
            ),
            (
                "p.yaml",
                "pack_id: p\nentries: []\n",
                TargetKind::CriteriaPack,
            ),
            (
                "lab.yaml",
                "lab: {provider: replay}\n",
                TargetKind::RangeConfig,
            ),
            (
                "rng.yaml",
                "lab: {provider: replay}\ndetection: {sigma: {rule_paths: [r]}}\n",
                TargetKind::RangeConfig,
            ),
            (
                "s.yaml",
                "scenario_id: s\nactions: []\n",
                TargetKind::Scenario,
            ),
            ("plan.yaml", "plan: {type: atomic}\n", TargetKind::Scenario),
            ("range-broken.yaml", "lab: [\n", TargetKind::RangeConfig),
        ];
        for (name, text, want) in cases {
            let p = write(d.path(), name, text);
            let u = plan(&p, None).unwrap();
            assert_eq!(u.len(), 1, "{name}");
            assert_eq!(u[0].kind, Some(want), "{name}");
        }
        let p = write(d.path(), "other.yaml", "hello: world\n");
        assert!(matches!(plan(&p, None), Err(LintError::UnknownKind(_))));
        let p = write(d.path(), "broken.yaml", "a: [\n");
        assert_eq!(plan(&p, None).unwrap()[0].kind, None);
        let forced = plan(&d.path().join("other.yaml"), Some(TargetKind::Scenario)).unwrap();
        assert_eq!(forced[0].kind, Some(TargetKind::Scenario));
    }

    #[test]
    fn folders_by_shape() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        std::fs::create_dir_all(root.join("atomics/T0005")).unwrap();
        let u = plan(&root.join("atomics"), None).unwrap();
        assert_eq!(
            kinds(&u),
            vec![("atomics".into(), Some(TargetKind::AtomicTemplate))]
        );
        write(root, "maps/tree/pack.yaml", "mapping_profile_id: x\n");
        write(root, "maps/tree/p/profile.yaml", "profile: {}\n");
        write(root, "maps/crit.yaml", "pack_id: p\nentries: []\n");
        let u = plan(&root.join("maps"), None).unwrap();
        assert_eq!(
            kinds(&u),
            vec![
                ("crit.yaml".into(), Some(TargetKind::CriteriaPack)),
                ("tree".into(), Some(TargetKind::MappingProfile)),
            ]
        );
        // a file inside a mapping tree is the tree
        let u = plan(&root.join("maps/tree/p/profile.yaml"), None).unwrap();
        assert_eq!(
            kinds(&u),
            vec![("tree".into(), Some(TargetKind::MappingProfile))]
        );
        let u = plan(&root.join("maps/tree/p"), None).unwrap();
        assert_eq!(
            kinds(&u),
            vec![("tree".into(), Some(TargetKind::MappingProfile))]
        );
        // a Sigma folder is one unit, the folder itself; unknown and broken files ride along
        let rule = "title: x\nlogsource: {}\ndetection: {sel: {a: 1}, condition: sel}\n";
        write(root, "rules/a/r1.yml", rule);
        write(root, "rules/b/r2.yml", rule);
        write(root, "rules/b/broken.yml", "title: [\n");
        let u = plan(&root.join("rules"), None).unwrap();
        assert_eq!(
            kinds(&u),
            vec![("rules".into(), Some(TargetKind::SigmaRule))]
        );
        std::fs::create_dir_all(root.join("empty")).unwrap();
        write(root, "empty/notes.yaml", "a: 1\n");
        assert!(matches!(
            plan(&root.join("empty"), None),
            Err(LintError::NothingToLint(_))
        ));
    }
}
