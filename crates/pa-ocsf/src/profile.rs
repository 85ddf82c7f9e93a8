//! Loading and compiling a mapping-profile tree (`mappings/normalizer/ocsf/1.7.0`).
//!
//! Decoding is strict ([`crate::yaml`]); compilation then checks what decoding cannot: every
//! transform name exists, every route names a class file that exists and only known keys,
//! routes with the same keys do not overlap, every class file is routed to, every emit rule has
//! exactly one value source, and no target path is a strict prefix of another.

mod rules;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use pa_yaml::line_of;
use serde_json::Value;

use crate::build::Symbols;
use crate::model::{CanonFile, ClassFile, PackFile, ProfileFile, RoutingFile};
use crate::path::{MemberTable, SourcePath, TargetPath};
use crate::transform::{CompileEnv, Transform};
use pa_yaml::{FileError, YamlOptions};
use rules::{Ctx, check_targets, compile_rule, compile_transforms, compile_unmapped, key_values};

/// The OCSF version this crate's profiles target.
pub const OCSF_VERSION: &str = "1.7.0";

/// Where a rule's value comes from.
#[derive(Debug, Clone)]
pub(crate) enum RuleSource {
    /// The first of these paths that yields a value.
    From(Vec<SourcePath>),
    Const(Value),
    /// A route key's value.
    Key(usize),
    /// `class_uid * 100 + activity_id` of the event being built.
    TypeUid,
    /// A path name made absolute against a directory: `name` when it starts with `/` (or a
    /// drive/UNC prefix), else `cwd` + `/` + `name` (a leading `./` dropped); absent without
    /// a name, the name itself without a cwd.
    PathResolve {
        name: Vec<SourcePath>,
        cwd: Vec<SourcePath>,
    },
}

/// A compiled emit rule.
#[derive(Debug, Clone)]
pub(crate) struct Rule {
    pub to: TargetPath,
    pub source: RuleSource,
    pub transforms: Vec<Arc<Transform>>,
    pub map: Option<BTreeMap<String, Value>>,
    pub default: Option<Value>,
    pub when: Vec<(usize, BTreeSet<String>)>,
    /// Event paths that must all be present for the rule to apply (`when_present`).
    pub when_present: Vec<TargetPath>,
    pub optional: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct KeyDef {
    pub from: Vec<SourcePath>,
    pub transforms: Vec<Arc<Transform>>,
}

#[derive(Debug, Clone)]
pub(crate) struct Route {
    #[allow(dead_code)]
    pub route_id: String,
    pub conds: Vec<(usize, BTreeSet<String>)>,
    pub class: usize,
    /// The class used when `class`'s `requires` are not met (route `fallback`).
    pub fallback: Option<usize>,
}

#[derive(Debug, Clone)]
pub(crate) struct UnmappedDef {
    pub from: SourcePath,
    pub keep: BTreeSet<String>,
    pub skip: BTreeSet<String>,
    pub into: Option<String>,
    /// Members read verbatim by some rule of the class (not copied unless kept).
    pub consumed: BTreeSet<String>,
    /// The members not copied: `skip` and the `consumed` ones not in `keep` (computed once
    /// the class's rules are known).
    pub excluded: BTreeSet<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct ClassDef {
    pub file: String,
    pub class_uid: u32,
    pub category_uid: u32,
    /// Shared rules of the profile followed by the class's own (value rules first, ops last).
    pub rules: Vec<Rule>,
    pub unmapped: Vec<UnmappedDef>,
    /// `class.requires`: members that must be present once the rules have run.
    pub requires: Vec<TargetPath>,
}

/// One compiled source profile (`<source_type>/`).
#[derive(Debug, Clone)]
pub(crate) struct SourceProfile {
    pub source_type: String,
    pub profile_id: String,
    pub profile_version: String,
    pub keys: Vec<KeyDef>,
    pub event_type: Vec<usize>,
    pub routes: Vec<Route>,
    /// `routing.yaml` `default`: the class of records no route matches (fallback events).
    pub default_class: Option<usize>,
    pub classes: Vec<ClassDef>,
    pub identity_tier: u8,
    pub basis: Vec<Rule>,
    /// Distinct field paths read by keys and rules (the size of a record's `Memo`).
    pub n_paths: usize,
    /// Distinct first members of those paths.
    pub n_roots: usize,
    /// Per first member: the second members read from it (`<root>.<member>` paths).
    pub members: Vec<MemberTable>,
    /// Entries of all `members` tables.
    pub n_members: usize,
    /// `(event path, observable type_id)` listed in `observables[]` when present.
    pub observables: Vec<(TargetPath, u32)>,
    /// `(path relative to the tree root, sha256 hex of the bytes)`, sorted by path.
    pub files: Vec<(String, String)>,
}

/// The whole compiled tree.
#[derive(Debug, Clone)]
pub(crate) struct Tree {
    pub mapping_profile_id: String,
    pub mapping_profile_version: String,
    pub ocsf_version: String,
    pub profiles: BTreeMap<String, SourceProfile>,
    /// `metadata.extensions` of every event (OCSF `extension` objects).
    pub extensions: Vec<Value>,
    /// The member names of every target path (their `ids`).
    pub symbols: Symbols,
}

const KNOWN_SOURCE_TYPES: [&str; 7] = [
    "windows-sysmon",
    "windows-security",
    "windows-system",
    "windows-powershell",
    "windows-other",
    "linux-auditd",
    "osquery",
];

fn read_file(
    root: &Path,
    rel: &str,
    files: &mut Vec<(String, String)>,
) -> Result<String, FileError> {
    let path = root.join(rel);
    let bytes = std::fs::read(&path).map_err(|source| FileError::io(path.clone(), &source))?;
    files.push((rel.to_string(), pa_canon::sha256_hex(&bytes)));
    String::from_utf8(bytes).map_err(|e| FileError::invalid(&path, 0, format!("not UTF-8: {e}")))
}

/// Load and compile the tree rooted at `dir`.
pub(crate) fn load_tree(dir: &Path) -> Result<Tree, FileError> {
    let pack_path = dir.join("pack.yaml");
    let text = pa_yaml::read_text(&pack_path)?;
    let pack: PackFile = pa_yaml::decode_yaml_strict(&pack_path, &text, &YamlOptions::default())?;
    if pack.ocsf_version.value != OCSF_VERSION {
        return Err(FileError::invalid(
            &pack_path,
            line_of(&pack.ocsf_version),
            format!(
                "ocsf_version must be {OCSF_VERSION:?}, got {:?}",
                pack.ocsf_version.value
            ),
        ));
    }
    let mut names = Vec::new();
    let entries =
        std::fs::read_dir(dir).map_err(|source| FileError::io(dir.to_path_buf(), &source))?;
    for e in entries {
        let e = e.map_err(|source| FileError::io(dir.to_path_buf(), &source))?;
        if e.path().is_dir() {
            let name = e.file_name().to_string_lossy().into_owned();
            if e.path().join("profile.yaml").is_file() {
                names.push(name);
            } else {
                return Err(FileError::invalid(
                    e.path(),
                    0,
                    "a source-profile directory must contain profile.yaml",
                ));
            }
        }
    }
    names.sort();
    if names.is_empty() {
        return Err(FileError::invalid(dir, 0, "no source-profile directories"));
    }
    let mut profiles = BTreeMap::new();
    let mut symbols = Symbols::new();
    for name in names {
        let mut p = load_profile(dir, &name, &pack.ocsf_version.value)?;
        intern_profile(&mut p, &mut symbols);
        assign_slots(&mut p);
        profiles.insert(name, p);
    }
    Ok(Tree {
        mapping_profile_id: pack.mapping_profile_id.value,
        mapping_profile_version: pack.mapping_profile_version.value,
        ocsf_version: pack.ocsf_version.value,
        profiles,
        extensions: crate::extension::envelope_extensions()?,
        symbols,
    })
}

/// Give every source path of a profile its memo entries (one per distinct path text, one per
/// distinct first member).
fn assign_slots(p: &mut SourceProfile) {
    let mut paths: BTreeMap<String, usize> = BTreeMap::new();
    let mut roots: BTreeMap<String, usize> = BTreeMap::new();
    let mut members: BTreeMap<(usize, String), usize> = BTreeMap::new();
    let mut visit = |sp: &mut SourcePath| {
        let n = paths.len();
        sp.slot = *paths.entry(sp.text.clone()).or_insert(n);
        if let Some(k) = sp.first_key() {
            let n = roots.len();
            sp.root_slot = *roots.entry(k.to_string()).or_insert(n);
            if let Some(m) = sp.second_key() {
                let n = members.len();
                sp.member_slot = *members.entry((sp.root_slot, m.to_string())).or_insert(n);
            }
        }
    };
    {
        let mut rule = |r: &mut Rule| match &mut r.source {
            RuleSource::From(list) => list.iter_mut().for_each(&mut visit),
            RuleSource::PathResolve { name, cwd } => {
                name.iter_mut().chain(cwd.iter_mut()).for_each(&mut visit)
            }
            RuleSource::Const(_) | RuleSource::Key(_) | RuleSource::TypeUid => {}
        };
        for c in &mut p.classes {
            c.rules.iter_mut().for_each(&mut rule);
        }
        p.basis.iter_mut().for_each(&mut rule);
    }
    for k in &mut p.keys {
        k.from.iter_mut().for_each(&mut visit);
    }
    p.n_paths = paths.len();
    p.n_roots = roots.len();
    p.n_members = members.len();
    p.members = vec![MemberTable::default(); roots.len()];
    for ((root, name), slot) in members {
        p.members[root].insert(name, slot);
    }
}

/// Give every target path of a profile its member-name symbols.
fn intern_profile(p: &mut SourceProfile, symbols: &mut Symbols) {
    let mut rule = |r: &mut Rule| {
        symbols.intern(&mut r.to);
        for w in &mut r.when_present {
            symbols.intern(w);
        }
    };
    for c in &mut p.classes {
        c.rules.iter_mut().for_each(&mut rule);
    }
    p.basis.iter_mut().for_each(&mut rule);
    for c in &mut p.classes {
        for r in &mut c.requires {
            symbols.intern(r);
        }
    }
    for (path, _) in &mut p.observables {
        symbols.intern(path);
    }
}

fn load_profile(root: &Path, name: &str, ocsf_version: &str) -> Result<SourceProfile, FileError> {
    let mut files = Vec::new();
    let ppath = root.join(name).join("profile.yaml");
    let ptext = read_file(root, &format!("{name}/profile.yaml"), &mut files)?;
    let pf: ProfileFile = pa_yaml::decode_yaml_strict(&ppath, &ptext, &YamlOptions::default())?;
    if pf.source.source_type.value != name {
        return Err(FileError::invalid(
            &ppath,
            line_of(&pf.source.source_type),
            format!(
                "source_type {:?} must equal the directory name {name:?}",
                pf.source.source_type.value
            ),
        ));
    }
    if !KNOWN_SOURCE_TYPES.contains(&name) {
        return Err(FileError::invalid(
            &ppath,
            line_of(&pf.source.source_type),
            format!(
                "unknown source_type {name:?} (known: {})",
                KNOWN_SOURCE_TYPES.join(", ")
            ),
        ));
    }
    if pf.profile.ocsf_version.value != ocsf_version {
        return Err(FileError::invalid(
            &ppath,
            line_of(&pf.profile.ocsf_version),
            format!("ocsf_version must be {ocsf_version:?}"),
        ));
    }
    let tier = pf.identity.tier.value;
    if !(1..=3).contains(&tier) {
        return Err(FileError::invalid(
            &ppath,
            line_of(&pf.identity.tier),
            "identity tier must be 1, 2 or 3",
        ));
    }

    // canonicalization.yaml
    let cpath = root.join(name).join("canonicalization.yaml");
    let ctext = read_file(root, &format!("{name}/canonicalization.yaml"), &mut files)?;
    let cf: CanonFile = pa_yaml::decode_yaml_strict(&cpath, &ctext, &YamlOptions::default())?;
    let env = CompileEnv {
        sets: &cf.sets,
        tables: &cf.tables,
    };
    let mut transforms = BTreeMap::new();
    for (tname, t) in &cf.transforms {
        let compiled = Transform::compile(&t.value.op, &t.value.args, &env).map_err(|m| {
            FileError::invalid(&cpath, line_of(t), format!("transform {tname:?}: {m}"))
        })?;
        transforms.insert(tname.clone(), Arc::new(compiled));
    }

    // routing.yaml
    let rpath = root.join(name).join("routing.yaml");
    let rtext = read_file(root, &format!("{name}/routing.yaml"), &mut files)?;
    let rf: RoutingFile = pa_yaml::decode_yaml_strict(&rpath, &rtext, &YamlOptions::default())?;
    let key_names: Vec<String> = rf.keys.keys().cloned().collect();
    let key_index: BTreeMap<String, usize> = key_names
        .iter()
        .enumerate()
        .map(|(i, k)| (k.clone(), i))
        .collect();
    let ctx = Ctx {
        transforms: &transforms,
        key_index: &key_index,
    };
    let mut keys = Vec::new();
    for (kname, k) in &rf.keys {
        let from = k
            .value
            .from
            .to_vec()
            .iter()
            .map(|p| SourcePath::parse(p))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|m| FileError::invalid(&rpath, line_of(k), format!("key {kname:?}: {m}")))?;
        if from.is_empty() {
            return Err(FileError::invalid(
                &rpath,
                line_of(k),
                format!("key {kname:?}: from is empty"),
            ));
        }
        keys.push(KeyDef {
            from,
            transforms: compile_transforms(&rpath, &k.value.transforms, &ctx)?,
        });
    }
    let mut event_type = Vec::new();
    for k in &rf.event_type {
        event_type.push(*key_index.get(&k.value).ok_or_else(|| {
            FileError::invalid(
                &rpath,
                line_of(k),
                format!("event_type: unknown route key {:?}", k.value),
            )
        })?);
    }
    if event_type.is_empty() {
        return Err(FileError::invalid(
            &rpath,
            0,
            "event_type must name at least one key",
        ));
    }

    // shared rules and unmapped of the profile
    let shared: Vec<(u64, Rule)> = pf
        .emit
        .iter()
        .map(|r| Ok((line_of(r), compile_rule(&ppath, r, &ctx, false)?)))
        .collect::<Result<_, FileError>>()?;
    check_targets(
        &ppath,
        &shared.iter().map(|(l, r)| (*l, r)).collect::<Vec<_>>(),
    )?;
    let shared_unmapped = pf
        .unmapped
        .iter()
        .map(|u| compile_unmapped(&ppath, u))
        .collect::<Result<Vec<_>, _>>()?;
    let basis = pf
        .identity
        .basis
        .iter()
        .map(|r| compile_rule(&ppath, r, &ctx, true))
        .collect::<Result<Vec<_>, _>>()?;
    if basis.is_empty() {
        return Err(FileError::invalid(&ppath, 0, "identity.basis is empty"));
    }
    let mut observables = Vec::new();
    for o in &pf.observables {
        let t = TargetPath::parse(&o.value.path)
            .map_err(|m| FileError::invalid(&ppath, line_of(o), m))?;
        if t.segs.first().map(String::as_str) == Some("observables") {
            return Err(FileError::invalid(
                &ppath,
                line_of(o),
                "an observable cannot be observables itself",
            ));
        }
        observables.push((t, o.value.type_id));
    }

    // routes and classes
    let mut routes = Vec::new();
    let mut classes: Vec<ClassDef> = Vec::new();
    let mut class_index: BTreeMap<String, usize> = BTreeMap::new();
    let mut route_ids = BTreeSet::new();
    let mut class_of = |route_id: &str, field: &str, spanned: &pa_yaml::Spanned<String>| {
        let class_rel = &spanned.value;
        if !class_rel.starts_with("classes/")
            || class_rel.contains("..")
            || !class_rel.ends_with(".yaml")
        {
            return Err(FileError::invalid(
                &rpath,
                line_of(spanned),
                format!(
                    "route {:?}: {field} {class_rel:?} must be classes/<name>_<uid>.yaml",
                    route_id
                ),
            ));
        }
        if let Some(i) = class_index.get(class_rel) {
            return Ok(*i);
        }
        let full = root.join(name).join(class_rel);
        if !full.is_file() {
            return Err(FileError::invalid(
                &rpath,
                line_of(spanned),
                format!(
                    "route {:?}: {field} file {} does not exist",
                    route_id,
                    full.display()
                ),
            ));
        }
        let c = load_class(
            root,
            name,
            class_rel,
            &ctx,
            &shared,
            &shared_unmapped,
            &mut files,
        )?;
        classes.push(c);
        class_index.insert(class_rel.clone(), classes.len() - 1);
        Ok(classes.len() - 1)
    };
    for r in &rf.routes {
        let line = line_of(r);
        let rv = &r.value;
        if !route_ids.insert(rv.route_id.clone()) {
            return Err(FileError::invalid(
                &rpath,
                line,
                format!("duplicate route_id {:?}", rv.route_id),
            ));
        }
        if rv.match_.is_empty() {
            return Err(FileError::invalid(
                &rpath,
                line,
                format!(
                    "route {:?}: match is empty (events are never guessed)",
                    rv.route_id
                ),
            ));
        }
        let mut conds = Vec::new();
        for (k, vals) in &rv.match_ {
            let idx = *key_index.get(k).ok_or_else(|| {
                FileError::invalid(
                    &rpath,
                    line,
                    format!("route {:?}: unknown route key {k:?}", rv.route_id),
                )
            })?;
            conds.push((idx, key_values(&rpath, line, vals)?));
        }
        let ci = class_of(&rv.route_id, "class", &rv.class)?;
        let fallback = match &rv.fallback {
            None => None,
            Some(f) => {
                let fi = class_of(&rv.route_id, "fallback", f)?;
                if fi == ci {
                    return Err(FileError::invalid(
                        &rpath,
                        line_of(f),
                        format!("route {:?}: fallback is the route's own class", rv.route_id),
                    ));
                }
                Some(fi)
            }
        };
        routes.push((
            line,
            Route {
                route_id: rv.route_id.clone(),
                conds,
                class: ci,
                fallback,
            },
        ));
    }
    // The class of every record no route matches (the Base Event): such a record becomes a
    // fallback event instead of an unrouted event type.
    let default_class = match &rf.default {
        None => None,
        Some(d) => Some(class_of("default", "class", d)?),
    };
    check_overlaps(&rpath, &routes, &key_names)?;
    check_unreferenced_classes(root, name, &class_index)?;
    files.sort();
    Ok(SourceProfile {
        source_type: name.to_string(),
        profile_id: pf.profile.profile_id.value,
        profile_version: pf.profile.profile_version.value,
        keys,
        event_type,
        routes: routes.into_iter().map(|(_, r)| r).collect(),
        default_class,
        classes,
        identity_tier: tier,
        basis,
        n_paths: 0,
        n_roots: 0,
        members: Vec::new(),
        n_members: 0,
        observables,
        files,
    })
}

fn check_overlaps(
    path: &Path,
    routes: &[(u64, Route)],
    key_names: &[String],
) -> Result<(), FileError> {
    for (i, (_, a)) in routes.iter().enumerate() {
        for (lb, b) in &routes[i + 1..] {
            let ka: Vec<usize> = a.conds.iter().map(|c| c.0).collect();
            let kb: Vec<usize> = b.conds.iter().map(|c| c.0).collect();
            if ka != kb {
                continue;
            }
            let overlap = a
                .conds
                .iter()
                .zip(&b.conds)
                .all(|((_, sa), (_, sb))| !sa.is_disjoint(sb));
            if overlap {
                let detail: Vec<String> = a
                    .conds
                    .iter()
                    .zip(&b.conds)
                    .map(|((k, sa), (_, sb))| {
                        let common: Vec<&String> = sa.intersection(sb).collect();
                        format!("{} {:?}", key_names[*k], common)
                    })
                    .collect();
                return Err(FileError::invalid(
                    path,
                    *lb,
                    format!(
                        "routes {:?} and {:?} overlap ({}): routes must be disjoint",
                        a.route_id,
                        b.route_id,
                        detail.join(", ")
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn check_unreferenced_classes(
    root: &Path,
    name: &str,
    used: &BTreeMap<String, usize>,
) -> Result<(), FileError> {
    let dir = root.join(name).join("classes");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(());
    };
    let mut all = Vec::new();
    for e in entries.flatten() {
        all.push(format!("classes/{}", e.file_name().to_string_lossy()));
    }
    all.sort();
    for f in all {
        if !used.contains_key(&f) {
            return Err(FileError::invalid(
                dir.join(f.trim_start_matches("classes/")),
                0,
                "class file is not referenced by any route in routing.yaml",
            ));
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn load_class(
    root: &Path,
    name: &str,
    rel: &str,
    ctx: &Ctx<'_>,
    shared: &[(u64, Rule)],
    shared_unmapped: &[UnmappedDef],
    files: &mut Vec<(String, String)>,
) -> Result<ClassDef, FileError> {
    let path: PathBuf = root.join(name).join(rel);
    let text = read_file(root, &format!("{name}/{rel}"), files)?;
    let cf: ClassFile = pa_yaml::decode_yaml_strict(&path, &text, &YamlOptions::default())?;
    let uid = cf.class.class_uid.value;
    let stem = rel.trim_start_matches("classes/").trim_end_matches(".yaml");
    if !stem.ends_with(&format!("_{uid}")) {
        return Err(FileError::invalid(
            &path,
            line_of(&cf.class.class_uid),
            format!("class file name must end with _{uid}.yaml (the class_uid)"),
        ));
    }
    if uid / 1000 != cf.class.category_uid
        && !(uid >= 100_000 && (uid % 100_000) / 1000 == cf.class.category_uid)
    {
        return Err(FileError::invalid(
            &path,
            line_of(&cf.class.class_uid),
            format!(
                "category_uid {} does not match class_uid {uid}",
                cf.class.category_uid
            ),
        ));
    }
    let own: Vec<(u64, Rule)> = cf
        .emit
        .iter()
        .map(|r| Ok((line_of(r), compile_rule(&path, r, ctx, false)?)))
        .collect::<Result<_, FileError>>()?;
    let mut all: Vec<(u64, Rule)> = shared.to_vec();
    all.extend(own);
    check_targets(&path, &all.iter().map(|(l, r)| (*l, r)).collect::<Vec<_>>())?;
    for (l, r) in &all {
        if r.to.segs.first().map(String::as_str) == Some("unmapped") {
            return Err(FileError::invalid(
                &path,
                *l,
                "emit targets under unmapped are reserved for the unmapped section",
            ));
        }
    }
    // value rules first, computed ops next (they read the event built so far), rules
    // conditional on present paths last (they test the finished event)
    let (conditional, all): (Vec<Rule>, Vec<Rule>) = all
        .into_iter()
        .map(|(_, r)| r)
        .partition(|r| !r.when_present.is_empty());
    let (mut rules, ops): (Vec<Rule>, Vec<Rule>) = all.into_iter().partition(|r| {
        !matches!(
            r.source,
            RuleSource::TypeUid | RuleSource::PathResolve { .. }
        )
    });
    rules.extend(ops);
    // a conditional rule whose path no unconditional rule of this class writes can never
    // apply (shared profile rules completing objects some classes do not have): it is not
    // part of the class
    let writes = |p: &TargetPath| {
        rules
            .iter()
            .any(|r| r.to == *p || p.is_strict_prefix_of(&r.to))
    };
    let reachable: Vec<Rule> = conditional
        .iter()
        .filter(|r| r.when_present.iter().all(&writes))
        .cloned()
        .collect();
    rules.extend(reachable);
    let mut unmapped: Vec<UnmappedDef> = shared_unmapped.to_vec();
    for u in &cf.unmapped {
        unmapped.push(compile_unmapped(&path, u)?);
    }
    for u in &mut unmapped {
        for r in &rules {
            if let RuleSource::From(paths) = &r.source {
                for p in paths {
                    if let Some(m) = p.member_of(&u.from) {
                        u.consumed.insert(m.to_string());
                    }
                }
            }
        }
        u.excluded = u
            .skip
            .iter()
            .chain(u.consumed.difference(&u.keep))
            .cloned()
            .collect();
    }
    let mut requires = Vec::new();
    for r in &cf.class.requires {
        let tp = TargetPath::parse(r).map_err(|m| {
            FileError::invalid(
                &path,
                line_of(&cf.class.class_uid),
                format!("requires: {m}"),
            )
        })?;
        if !rules
            .iter()
            .any(|w| w.to == tp || tp.is_strict_prefix_of(&w.to))
        {
            return Err(FileError::invalid(
                &path,
                line_of(&cf.class.class_uid),
                format!("requires {r:?}, which no emit rule of the class writes"),
            ));
        }
        requires.push(tp);
    }
    Ok(ClassDef {
        file: rel.to_string(),
        class_uid: uid,
        category_uid: cf.class.category_uid,
        rules,
        unmapped,
        requires,
    })
}
