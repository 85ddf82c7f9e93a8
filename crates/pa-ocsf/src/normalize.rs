//! The interpreter: one [`SourceRecord`] in, one OCSF event (or an accounted non-event) out.

use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;

use pa_sources::SourceRecord;
use serde_json::{Map, Value};

use crate::build::{
    Builder, Node, SYM_ACTIVITY_ID, SYM_CATEGORY_UID, SYM_CLASS_UID, SYM_SEVERITY_ID, SYM_TIME,
    SYM_TYPE_UID,
};
use crate::identity::{event_id, event_id_of_jcs};
use crate::path::{Memo, set_path};
use crate::profile::{ClassDef, Rule, RuleSource, SourceProfile, Tree, load_tree};
use crate::transform::{CowStep, scalar_text};
use pa_yaml::FileError;

/// Per-event context supplied by the caller (the normalization stage).
#[derive(Debug, Clone)]
pub struct EventContext<'a> {
    /// `metadata.run_id`.
    pub run_id: &'a str,
    /// `metadata.scenario_id`.
    pub scenario_id: &'a str,
    /// `metadata.raw_ref` (a `pa_raw_ref` of the Purple Axiom extension), e.g.
    /// `{"kind":"dataset_row_v1","path":"raw_parquet/...","row_locator":{...}}`; omitted when None.
    pub raw_ref: Option<Value>,
    /// `metadata.normalizer_version`.
    pub normalizer_version: &'a str,
    /// `metadata.collector_version` (the collector build that captured the record); omitted
    /// when None.
    pub collector_version: Option<&'a str>,
    /// Default host for records that carry none (an audit log without `node=` read from a
    /// known host): the profiles' `@host` source resolves to it, so it feeds
    /// `device.hostname` and the identity basis exactly as a record host would.
    pub host: Option<&'a str>,
}

/// The result of normalizing one record.
#[derive(Debug, Clone, PartialEq)]
pub enum Normalized {
    /// One OCSF event.
    Mapped(Value),
    /// No route of the record's source profile matches (or there is no profile for its source
    /// type): counted, never guessed. `event_type` is `<source_type>:<key values>`, e.g.
    /// `windows-security:4799`.
    Unmapped {
        /// The label of the unrouted event type.
        event_type: String,
    },
    /// No route matches, and the profile's `default` class (the Base Event) took the record:
    /// one OCSF event of class 0 with the envelope and the record's fields under `unmapped`,
    /// so that nothing a source carries is invisible to detection. `event_type` labels it as
    /// for [`Normalized::Unmapped`]: an event type that has no specific class.
    Fallback {
        /// The OCSF event.
        event: Value,
        /// The label of the event type (`<source_type>:<key values>`).
        event_type: String,
    },
    /// The record was routed but cannot become a valid event.
    Failed {
        /// `timestamp_parse_failed`, `missing_core_field` or `event_id_generation_failed`.
        reason_code: &'static str,
        /// What was wrong (names the record and field).
        message: String,
    },
}

impl Normalized {
    /// The event, when the record became one (mapped or fallback).
    pub fn event(&self) -> Option<&Value> {
        match self {
            Normalized::Mapped(ev) | Normalized::Fallback { event: ev, .. } => Some(ev),
            _ => None,
        }
    }

    /// The event, when the record became one (mapped or fallback).
    pub fn into_event(self) -> Option<Value> {
        match self {
            Normalized::Mapped(ev) | Normalized::Fallback { event: ev, .. } => Some(ev),
            _ => None,
        }
    }
}

/// The OCSF paths one class file writes (see [`Normalizer::class_targets`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassTargets {
    /// The profile's source type.
    pub source_type: String,
    /// The class file, relative to the profile directory (`classes/..._1007.yaml`).
    pub class_file: String,
    /// Its class uid.
    pub class_uid: u32,
    /// Target paths (sorted).
    pub targets: Vec<String>,
}

/// The data-driven OCSF normalizer: every per-event-type decision is in the profile files.
#[derive(Debug, Clone)]
pub struct Normalizer {
    pub(crate) tree: Arc<Tree>,
}

/// Fields every mapped event must carry (SPEC §6 envelope); missing ⇒ `missing_core_field`.
const CORE_INT_FIELDS: [(&str, u32); 6] = [
    ("time", SYM_TIME),
    ("class_uid", SYM_CLASS_UID),
    ("category_uid", SYM_CATEGORY_UID),
    ("activity_id", SYM_ACTIVITY_ID),
    ("type_uid", SYM_TYPE_UID),
    ("severity_id", SYM_SEVERITY_ID),
];

pub(crate) struct Routed<'p> {
    pub profile: &'p SourceProfile,
    pub keys: Vec<Option<Value>>,
    /// The text forms of each key's value(s) (what `match` and `when` compare), computed once.
    pub texts: Vec<Vec<String>>,
    pub class: Option<&'p ClassDef>,
    /// The route's fallback class (used when `class`'s `requires` are not met).
    pub fallback: Option<&'p ClassDef>,
}

/// Why a class could not build an event from a record.
enum Stop {
    /// A `class.requires` member is absent: the route's fallback class may apply.
    Requires(Normalized),
    /// Any other failure (core field, timestamp).
    Other(Normalized),
}

impl Normalizer {
    /// Load the mapping profiles under `dir` (`mappings/normalizer/ocsf/1.7.0`): `pack.yaml` and
    /// one directory per source type. Every error names the file and line.
    pub fn load(dir: &Path) -> Result<Normalizer, FileError> {
        Ok(Normalizer {
            tree: Arc::new(load_tree(dir)?),
        })
    }

    /// The OCSF `extension` declarations every event carries in `metadata.extensions`
    /// (`[{"name":"purple_axiom","uid":"999","version":"0.1.0"}]`, from the extension's
    /// `extension.json`).
    pub fn extensions(&self) -> &[Value] {
        &self.tree.extensions
    }

    /// The source types that have a profile (sorted).
    pub fn source_types(&self) -> Vec<String> {
        self.tree.profiles.keys().cloned().collect()
    }

    /// Every class file of every profile with the OCSF paths its rules can write (sorted,
    /// deduplicated; `unmapped.*` excluded). For schema and bridge cross-checks.
    pub fn class_targets(&self) -> Vec<ClassTargets> {
        let mut out = Vec::new();
        for p in self.tree.profiles.values() {
            for c in &p.classes {
                let mut targets: Vec<String> = c.rules.iter().map(|r| r.to.text.clone()).collect();
                targets.sort();
                targets.dedup();
                out.push(ClassTargets {
                    source_type: p.source_type.clone(),
                    class_file: c.file.clone(),
                    class_uid: c.class_uid,
                    targets,
                });
            }
        }
        out
    }

    /// `mapping_profile_sha256` of the loaded profiles (the value in the snapshot document).
    pub fn mapping_profile_sha256(&self) -> String {
        crate::snapshot::mapping_profile_sha256(&self.tree)
    }

    /// `normalized/mapping_profile_snapshot.json` (SPEC §6): deterministic.
    pub fn snapshot_document(&self) -> crate::snapshot::ProfileSnapshot {
        crate::snapshot::snapshot_document(&self.tree)
    }

    pub(crate) fn route<'p>(&'p self, rec: &SourceRecord) -> Option<Routed<'p>> {
        let profile = self.tree.profiles.get(rec.source_type.as_str())?;
        let mut memo = Memo::new(
            profile.n_paths,
            profile.n_roots,
            profile.n_members,
            &profile.members,
        );
        Some(Self::route_in(profile, rec, &mut memo))
    }

    /// Route a record of `profile` (reading through the record's memo).
    fn route_in<'p, 'a>(
        profile: &'p SourceProfile,
        rec: &'a SourceRecord,
        memo: &mut Memo<'a>,
    ) -> Routed<'p> {
        let keys: Vec<Option<Value>> = profile
            .keys
            .iter()
            .map(|k| {
                let v = first_present(&k.from, rec, None, memo)?;
                match run_transforms(v, &k.transforms) {
                    CowStep::Value(v) => Some(v.into_owned()),
                    _ => None,
                }
            })
            .collect();
        let texts: Vec<Vec<String>> = keys.iter().map(key_texts).collect();
        let route = profile
            .routes
            .iter()
            .find(|r| r.conds.iter().all(|(k, set)| key_in(&texts[*k], set)));
        Routed {
            profile,
            keys,
            texts,
            class: route.map(|r| &profile.classes[r.class]),
            fallback: route.and_then(|r| r.fallback).map(|c| &profile.classes[c]),
        }
    }

    /// The unrouted event-type label for a record (`<source_type>:<key values>`).
    pub(crate) fn event_type(rec: &SourceRecord, routed: Option<&Routed<'_>>) -> String {
        let mut label = rec.source_type.as_str().to_string();
        if let Some(r) = routed {
            for k in &r.profile.event_type {
                match &r.keys[*k] {
                    Some(Value::Array(items)) => {
                        let parts: Vec<String> = items.iter().filter_map(scalar_text).collect();
                        if !parts.is_empty() {
                            label.push(':');
                            label.push_str(&parts.join(","));
                        }
                    }
                    Some(v) => {
                        if let Some(s) = scalar_text(v) {
                            label.push(':');
                            label.push_str(&s);
                        }
                    }
                    None => {}
                }
            }
        }
        label
    }

    /// Normalize one record. Never panics on any input.
    pub fn normalize(&self, rec: &SourceRecord, ctx: &EventContext<'_>) -> Normalized {
        let profile = self.tree.profiles.get(rec.source_type.as_str());
        let mut memo = match profile {
            Some(p) => Memo::new(p.n_paths, p.n_roots, p.n_members, &p.members),
            None => Memo::new(0, 0, 0, &[]),
        };
        let routed = profile.map(|p| Self::route_in(p, rec, &mut memo));
        let Some(routed) = routed else {
            return Normalized::Unmapped {
                event_type: Self::event_type(rec, None),
            };
        };
        let (class, fallback_type) = match (routed.class, routed.profile.default_class) {
            (Some(class), _) => (class, None),
            (None, Some(d)) => (
                &routed.profile.classes[d],
                Some(Self::event_type(rec, Some(&routed))),
            ),
            (None, None) => {
                return Normalized::Unmapped {
                    event_type: Self::event_type(rec, Some(&routed)),
                };
            }
        };
        let profile = routed.profile;
        let keys = &routed.keys;
        let at = || format!("{} record {}", rec.provenance.file, rec.provenance.ordinal);
        let (class, ev) = match run_class(class, &routed, rec, ctx, &mut memo) {
            Ok(ev) => (class, ev),
            Err(Stop::Requires(failed)) => match routed.fallback {
                None => return failed,
                Some(fb) => match run_class(fb, &routed, rec, ctx, &mut memo) {
                    Ok(ev) => (fb, ev),
                    Err(Stop::Requires(f) | Stop::Other(f)) => return f,
                },
            },
            Err(Stop::Other(failed)) => return failed,
        };

        // observables[]: listed scalar values present in the event
        let mut obs = Vec::new();
        for (path, type_id) in &profile.observables {
            let Some(v) = ev.get(path).and_then(|g| g.value()) else {
                continue;
            };
            let Some(text) = scalar_text(v) else { continue };
            let mut o = Map::with_capacity(3);
            o.insert("name".into(), Value::String(path.text.clone()));
            o.insert("type_id".into(), Value::from(*type_id));
            o.insert("value".into(), Value::String(text));
            obs.push(Value::Object(o));
        }
        let mut ev = ev.into_map(&self.tree.symbols);
        if !obs.is_empty() {
            ev.insert("observables".into(), Value::Array(obs));
        }

        // unmapped.<Field> (or unmapped.<into>.<Field>): the members of every listed source
        // object no rule consumes, sorted by (group, name); a name found in several objects
        // collects the distinct values in the order met (a list when more than one). A source
        // name with spaces is kept as Sigma names it, spaces removed (Defender's `Threat Name`
        // is `unmapped.ThreatName`; docs/adr/0013-field-names-without-spaces.md).
        let mut found: Vec<(&str, Cow<'_, str>, &Value)> = Vec::new();
        for u in &class.unmapped {
            let group = u.into.as_deref().unwrap_or("");
            for obj in u.from.resolve_with(rec, ctx.host) {
                // objects are always borrowed from the record (attributes are scalars)
                let Cow::Borrowed(Value::Object(m)) = obj else {
                    continue;
                };
                for (k, v) in m {
                    if !u.excluded.contains(k.as_str()) {
                        let name = if k.contains(' ') {
                            Cow::Owned(k.chars().filter(|c| *c != ' ').collect())
                        } else {
                            Cow::Borrowed(k.as_str())
                        };
                        found.push((group, name, v));
                    }
                }
            }
        }
        // stable: contributions to one name keep the order they were met in
        found.sort_by(|a, b| {
            // the group is mostly the same &str (one unmapped entry): equal without comparing
            let same_group = std::ptr::eq(a.0, b.0);
            if same_group {
                cmp_text(&a.1, &b.1)
            } else {
                cmp_text(a.0, b.0).then_with(|| cmp_text(&a.1, &b.1))
            }
        });
        let mut um = Map::with_capacity(found.len());
        let mut i = 0;
        while i < found.len() {
            let (group, ref k, first) = found[i];
            let mut j = i + 1;
            while j < found.len() && found[j].0 == group && found[j].1 == *k {
                j += 1;
            }
            let v = if j == i + 1 && !matches!(first, Value::Array(_) | Value::Null) {
                first.clone()
            } else {
                let mut items: Vec<&Value> = Vec::new();
                for (_, _, v) in &found[i..j] {
                    let vs: &[Value] = match v {
                        Value::Array(a) => a,
                        Value::Null => &[],
                        other => std::slice::from_ref(*other),
                    };
                    for item in vs {
                        if !items.contains(&item) {
                            items.push(item);
                        }
                    }
                }
                match items.as_slice() {
                    [] => {
                        i = j;
                        continue;
                    }
                    [one] => (*one).clone(),
                    many => Value::Array(many.iter().map(|x| (*x).clone()).collect()),
                }
            };
            if group.is_empty() {
                um.insert(k.to_string(), v);
            } else {
                set_path(&mut um, &[group.to_string(), k.to_string()], v);
            }
            i = j;
        }
        if !um.is_empty() {
            ev.insert("unmapped".into(), Value::Object(um));
        }

        // identity
        let mut basis = Builder::with_capacity(4);
        for rule in &profile.basis {
            match eval_rule(
                rule,
                rec,
                ctx.host,
                keys,
                &basis,
                class.class_uid,
                &mut memo,
            ) {
                CowStep::Value(v) => basis.set(&rule.to, v.into_owned()),
                CowStep::Absent if rule.optional => {}
                CowStep::Absent => {
                    return Normalized::Failed {
                        reason_code: "event_id_generation_failed",
                        message: format!(
                            "{}: identity basis member {} is missing",
                            at(),
                            rule.to.text
                        ),
                    };
                }
                CowStep::Rejected(why) => {
                    if rule.optional {
                        continue;
                    }
                    return Normalized::Failed {
                        reason_code: "event_id_generation_failed",
                        message: format!("{}: identity basis member {}: {why}", at(), rule.to.text),
                    };
                }
            }
        }
        let mut jcs = Vec::with_capacity(256);
        let eid = if basis.write_jcs(&self.tree.symbols, &mut jcs) {
            event_id_of_jcs(&jcs)
        } else {
            match event_id(&Value::Object(basis.into_map(&self.tree.symbols))) {
                Ok(id) => id,
                Err(e) => {
                    return Normalized::Failed {
                        reason_code: "event_id_generation_failed",
                        message: format!("{}: {e}", at()),
                    };
                }
            }
        };

        // envelope metadata
        let meta = ev
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        if !meta.is_object() {
            *meta = Value::Object(Map::new());
        }
        if let Value::Object(m) = meta {
            m.insert("uid".into(), Value::String(eid.clone()));
            m.insert("event_id".into(), Value::String(eid));
            m.insert("run_id".into(), Value::String(ctx.run_id.to_string()));
            m.insert(
                "scenario_id".into(),
                Value::String(ctx.scenario_id.to_string()),
            );
            m.insert(
                "normalizer_version".into(),
                Value::String(ctx.normalizer_version.to_string()),
            );
            m.insert(
                "version".into(),
                Value::String(self.tree.ocsf_version.clone()),
            );
            m.insert(
                "source_type".into(),
                Value::String(profile.source_type.clone()),
            );
            m.insert("identity_tier".into(), Value::from(profile.identity_tier));
            if let Some(c) = ctx.collector_version {
                m.insert("collector_version".into(), Value::String(c.to_string()));
            }
            if let Some(r) = &ctx.raw_ref {
                m.insert("raw_ref".into(), r.clone());
            }
            // the schema extensions the envelope uses (OCSF `extension` objects), from the
            // extension definitions themselves
            m.insert(
                "extensions".into(),
                Value::Array(self.tree.extensions.clone()),
            );
        }
        match fallback_type {
            None => Normalized::Mapped(Value::Object(ev)),
            Some(event_type) => Normalized::Fallback {
                event: Value::Object(ev),
                event_type,
            },
        }
    }
}

/// Run `class`'s rules over a routed record: the event so far (classification, rules),
/// or why the class cannot describe the record.
fn run_class<'a>(
    class: &'a ClassDef,
    routed: &'a Routed<'_>,
    rec: &'a SourceRecord,
    ctx: &EventContext<'_>,
    memo: &mut Memo<'a>,
) -> Result<Builder, Stop> {
    let profile = routed.profile;
    let keys = &routed.keys;
    let texts = &routed.texts;
    let at = || format!("{} record {}", rec.provenance.file, rec.provenance.ordinal);
    let mut ev = Builder::with_capacity(16);
    ev.set_root(SYM_CLASS_UID, Value::from(class.class_uid));
    ev.set_root(SYM_CATEGORY_UID, Value::from(class.category_uid));
    let mut time_rejected: Option<String> = None;
    for rule in &class.rules {
        if !rule_applies(rule, texts) {
            continue;
        }
        if !rule.when_present.iter().all(|p| ev.get(p).is_some()) {
            continue;
        }
        let step = eval_rule(rule, rec, ctx.host, keys, &ev, class.class_uid, memo);
        match step {
            CowStep::Value(v) => ev.set(&rule.to, v.into_owned()),
            CowStep::Absent => {}
            CowStep::Rejected(why) => {
                if rule.to.text == "time" {
                    time_rejected = Some(why);
                }
            }
        }
    }
    for (f, id) in CORE_INT_FIELDS {
        let int = match ev.get_root(id) {
            Some(Node::Leaf(v)) => v.as_i64(),
            _ => None,
        };
        if int.is_none() {
            if f == "time" {
                if let Some(why) = time_rejected {
                    return Err(Stop::Other(Normalized::Failed {
                        reason_code: "timestamp_parse_failed",
                        message: format!("{}: time: {why}", at()),
                    }));
                }
            }
            return Err(Stop::Other(Normalized::Failed {
                reason_code: "missing_core_field",
                message: format!(
                    "{}: {f} is missing or not an integer (class file {}/{})",
                    at(),
                    profile.source_type,
                    class.file
                ),
            }));
        }
    }
    if let Some(r) = class.requires.iter().find(|r| ev.get(r).is_none()) {
        return Err(Stop::Requires(Normalized::Failed {
            reason_code: "missing_core_field",
            message: format!(
                "{}: the record names no {} (required by OCSF class {}; class file {}/{})",
                at(),
                r.text,
                class.class_uid,
                profile.source_type,
                class.file
            ),
        }));
    }
    Ok(ev)
}

/// `name` made absolute against `cwd` (see `RuleSource::PathResolve`).
fn resolve_path(name: &str, cwd: Option<&str>) -> String {
    let absolute =
        name.starts_with('/') || name.starts_with('\\') || name.as_bytes().get(1) == Some(&b':');
    match cwd {
        Some(c) if !absolute && !c.is_empty() => {
            let rel = name.strip_prefix("./").unwrap_or(name);
            if rel == "." || rel.is_empty() {
                c.to_string()
            } else {
                format!("{}/{rel}", c.trim_end_matches('/'))
            }
        }
        _ => name.to_string(),
    }
}

/// `a.cmp(b)` (bytewise), deciding on the first byte without a call to `memcmp` when it
/// differs (member names mostly do).
fn cmp_text(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.as_bytes().first(), b.as_bytes().first()) {
        (Some(x), Some(y)) if x != y => x.cmp(y),
        _ => a.cmp(b),
    }
}

/// The texts a key value is compared by: its scalar text, the texts of a list's scalar
/// elements, nothing for an absent key or an object.
fn key_texts(v: &Option<Value>) -> Vec<String> {
    match v {
        None => Vec::new(),
        Some(Value::Array(items)) => items.iter().filter_map(scalar_text).collect(),
        Some(v) => scalar_text(v).into_iter().collect(),
    }
}

fn key_in(texts: &[String], set: &std::collections::BTreeSet<String>) -> bool {
    texts.iter().any(|s| set.contains(s))
}

fn rule_applies(rule: &Rule, texts: &[Vec<String>]) -> bool {
    rule.when.iter().all(|(k, set)| key_in(&texts[*k], set))
}

/// The value of the first path that yields one (a `*` path yields the list of its values),
/// borrowed from the record where possible.
fn first_present<'a>(
    paths: &[crate::path::SourcePath],
    rec: &'a SourceRecord,
    default_host: Option<&str>,
    memo: &mut Memo<'a>,
) -> Option<Cow<'a, Value>> {
    for p in paths {
        if p.is_multi() {
            let vals = p.resolve_with(rec, default_host);
            if vals.is_empty() {
                continue;
            }
            return Some(Cow::Owned(Value::Array(
                vals.into_iter().map(Cow::into_owned).collect(),
            )));
        }
        if let Some(v) = p.resolve_memo(rec, default_host, memo) {
            return Some(v);
        }
    }
    None
}

fn run_transforms<'a>(
    mut v: Cow<'a, Value>,
    transforms: &[Arc<crate::transform::Transform>],
) -> CowStep<'a> {
    for t in transforms {
        match t.apply_cow(v) {
            CowStep::Value(x) => v = x,
            other => return other,
        }
    }
    CowStep::Value(v)
}

/// `f` applied to the text of a scalar (`None` for arrays, objects and null).
fn with_text<R>(v: &Value, f: impl FnOnce(&str) -> Option<R>) -> Option<R> {
    match v {
        Value::String(s) => f(s),
        Value::Number(_) | Value::Bool(_) => scalar_text(v).and_then(|s| f(&s)),
        _ => None,
    }
}

fn eval_rule<'a>(
    rule: &'a Rule,
    rec: &'a SourceRecord,
    default_host: Option<&str>,
    keys: &'a [Option<Value>],
    ev: &Builder,
    class_uid: u32,
    memo: &mut Memo<'a>,
) -> CowStep<'a> {
    let input: Option<Cow<'a, Value>> = match &rule.source {
        RuleSource::From(paths) => first_present(paths, rec, default_host, memo),
        RuleSource::Const(c) => Some(Cow::Borrowed(c)),
        RuleSource::Key(k) => keys[*k].as_ref().map(Cow::Borrowed),
        RuleSource::TypeUid => match ev.get_root(SYM_ACTIVITY_ID) {
            Some(Node::Leaf(v)) => v.as_i64(),
            _ => None,
        }
        .map(|a| Cow::Owned(Value::from(i64::from(class_uid) * 100 + a))),
        RuleSource::PathResolve { name, cwd } => {
            let name = first_present(name, rec, default_host, memo).and_then(|v| scalar_text(&v));
            let cwd = first_present(cwd, rec, default_host, memo).and_then(|v| scalar_text(&v));
            name.map(|n| Cow::Owned(Value::String(resolve_path(&n, cwd.as_deref()))))
        }
    };
    let mut step = match input {
        Some(v) => run_transforms(v, &rule.transforms),
        None => CowStep::Absent,
    };
    if let (Some(map), CowStep::Value(v)) = (&rule.map, &step) {
        step = match with_text(v, |s| map.get(s)) {
            Some(Value::Null) | None => CowStep::Absent,
            Some(x) => CowStep::Value(Cow::Borrowed(x)),
        };
    }
    if let (Some(d), CowStep::Absent) = (&rule.default, &step) {
        step = CowStep::Value(Cow::Borrowed(d));
    }
    step
}

#[cfg(test)]
mod tests {
    use super::resolve_path;

    #[test]
    fn path_resolution() {
        assert_eq!(resolve_path("/etc/passwd", Some("/tmp")), "/etc/passwd");
        assert_eq!(
            resolve_path("crontabs/x", Some("/var/spool/cron")),
            "/var/spool/cron/crontabs/x"
        );
        assert_eq!(resolve_path("./x", Some("/a/")), "/a/x");
        assert_eq!(resolve_path(".", Some("/a")), "/a");
        assert_eq!(resolve_path("x", None), "x");
        assert_eq!(resolve_path("C:\\x", Some("/a")), "C:\\x");
    }
}
