//! The criteria pack model: the YAML file shapes (decoded strictly) and the checked,
//! canonically ordered model the evaluator uses and `criteria/criteria.jsonl` records.

use crate::CriteriaError;
use crate::predicate::FieldPath;
use pa_yaml::{FileError, Spanned, line_of};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The longest window side (seconds) a pack may ask for: seven days.
pub const MAX_WINDOW_SECONDS: u64 = 7 * 24 * 3600;

/// The engine of an action (a join key).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Engine {
    /// Atomic Red Team tests (`engine_test_id` = the test's GUID).
    Atomic,
    /// Recorded replay actions (`engine_test_id` = `recorded:<action_id>`).
    Recorded,
}

impl Engine {
    /// The wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Atomic => "atomic",
            Engine::Recorded => "recorded",
        }
    }
}

/// A constraint operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Equals,
    Contains,
    /// Rust `regex` syntax, search semantics (the pattern may match any substring).
    Regex,
    NumLt,
    NumLte,
    NumGt,
    NumGte,
    Exists,
    OneOf,
}

impl Op {
    /// The wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Equals => "equals",
            Op::Contains => "contains",
            Op::Regex => "regex",
            Op::NumLt => "num_lt",
            Op::NumLte => "num_lte",
            Op::NumGt => "num_gt",
            Op::NumGte => "num_gte",
            Op::Exists => "exists",
            Op::OneOf => "one_of",
        }
    }
}

/// Which actions an entry applies to beyond its join keys (all lowercase).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Selectors {
    /// The target's OS (`windows`, `linux`, `macos`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    /// Roles the target must have (every one listed; sorted, deduplicated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    /// The Atomic executor the action ran with (`sh`, `bash`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executor: Option<String>,
}

impl Selectors {
    /// How many selector keys are present (the specificity used to prefer an entry).
    pub fn count(&self) -> usize {
        usize::from(self.os.is_some())
            + usize::from(self.roles.is_some())
            + usize::from(self.executor.is_some())
    }
}

/// An entry's window around the action's time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeWindow {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before_seconds: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_seconds: Option<u64>,
}

/// One constraint of a predicate: `field op value`.
#[derive(Debug, Clone, Serialize)]
pub struct Constraint {
    /// A dotted OCSF path.
    pub field: String,
    pub op: Op,
    /// Absent for `exists`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    /// Applies to string comparisons (`equals`, `contains`, `regex`, `one_of`).
    pub case_sensitive: bool,
    #[serde(skip)]
    pub(crate) path: FieldPath,
    #[serde(skip)]
    pub(crate) regex: Option<regex::Regex>,
}

fn is_scalar(v: &Value) -> bool {
    matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_))
}

impl Constraint {
    /// A checked constraint: the path is a dotted path, the value fits the operator (a scalar
    /// for `equals`, a non-empty list of scalars for `one_of`, a string for `contains` and
    /// `regex` (which must compile), a number for `num_*`, nothing for `exists`).
    pub fn new(
        field: &str,
        op: Op,
        value: Option<Value>,
        case_sensitive: bool,
    ) -> Result<Constraint, String> {
        let path = FieldPath::parse(field)
            .ok_or_else(|| format!("field {field:?} is not a dotted path"))?;
        let ok = match (op, &value) {
            (Op::Exists, None) => true,
            (Op::Exists, Some(_)) => return Err("op exists takes no value".into()),
            (_, None) => return Err(format!("op {} needs a value", op.as_str())),
            (Op::Equals, Some(v)) => is_scalar(v),
            (Op::OneOf, Some(Value::Array(a))) => !a.is_empty() && a.iter().all(is_scalar),
            (Op::OneOf, Some(_)) => false,
            (Op::Contains | Op::Regex, Some(v)) => v.is_string(),
            (Op::NumLt | Op::NumLte | Op::NumGt | Op::NumGte, Some(v)) => v.is_number(),
        };
        if !ok {
            let wants = match op {
                Op::Equals => "a string, number or boolean",
                Op::OneOf => "a non-empty list of strings, numbers or booleans",
                Op::Contains | Op::Regex => "a string",
                _ => "a number",
            };
            return Err(format!(
                "op {} on {field:?} needs {wants} as value",
                op.as_str()
            ));
        }
        let regex = match (op, &value) {
            (Op::Regex, Some(Value::String(p))) => Some(
                regex::RegexBuilder::new(p)
                    .case_insensitive(!case_sensitive)
                    .size_limit(1 << 20)
                    .build()
                    .map_err(|e| format!("regex {p:?} on {field:?} does not compile: {e}"))?,
            ),
            _ => None,
        };
        Ok(Constraint {
            field: field.to_owned(),
            op,
            value,
            case_sensitive,
            path,
            regex,
        })
    }

    /// The canonical order of constraints: field, op, case sensitivity (false first), value
    /// as canonical JSON.
    fn sort_key(&self) -> (String, &'static str, bool, Vec<u8>) {
        let v = self
            .value
            .as_ref()
            .map(|v| pa_canon::jcs_value(v).unwrap_or_default())
            .unwrap_or_default();
        (self.field.clone(), self.op.as_str(), self.case_sensitive, v)
    }
}

/// A predicate: the OCSF class and the constraints (all must hold).
#[derive(Debug, Clone, Serialize)]
pub struct Predicate {
    pub class_uid: i64,
    pub constraints: Vec<Constraint>,
}

/// One expected signal of an entry.
#[derive(Debug, Clone, Serialize)]
pub struct Signal {
    pub signal_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub predicate: Predicate,
    pub min_count: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_count: Option<u64>,
    /// Overrides the after side of the window for this signal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub within_seconds: Option<u64>,
}

/// One criteria entry.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub entry_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub engine: Engine,
    pub technique_id: String,
    pub engine_test_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selectors: Option<Selectors>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_window: Option<TimeWindow>,
    /// Sorted by `signal_id`.
    pub expected_signals: Vec<Signal>,
    /// The line of the entry in its pack file.
    #[serde(skip)]
    pub line: u64,
}

/// A loaded pack.
#[derive(Debug, Clone)]
pub struct Pack {
    pub pack_id: String,
    pub pack_version: String,
    pub description: Option<String>,
    /// The file it was read from.
    pub file: PathBuf,
    /// `sha256:` of the file's bytes.
    pub sha256: String,
    /// Sorted by `entry_id`.
    pub entries: Vec<Entry>,
}

// ---- file shapes -------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PackFile {
    pack_id: Spanned<String>,
    pack_version: Spanned<String>,
    #[serde(default)]
    description: Option<String>,
    entries: Vec<Spanned<EntryFile>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryFile {
    entry_id: String,
    #[serde(default)]
    description: Option<String>,
    engine: Engine,
    technique_id: String,
    engine_test_id: String,
    #[serde(default)]
    selectors: Option<Selectors>,
    #[serde(default)]
    time_window: Option<TimeWindow>,
    expected_signals: Vec<Spanned<SignalFile>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignalFile {
    signal_id: String,
    #[serde(default)]
    description: Option<String>,
    predicate: PredicateFile,
    #[serde(default)]
    min_count: Option<u64>,
    #[serde(default)]
    max_count: Option<u64>,
    #[serde(default)]
    within_seconds: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PredicateFile {
    class_uid: i64,
    #[serde(default)]
    constraints: Vec<Spanned<ConstraintFile>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConstraintFile {
    field: String,
    op: Op,
    #[serde(default)]
    value: Option<Value>,
    #[serde(default = "yes")]
    case_sensitive: bool,
}

fn yes() -> bool {
    true
}

// ---- checks ------------------------------------------------------------------------------

fn is_semver(v: &str) -> bool {
    let ident = |s: &str| {
        !s.is_empty()
            && s.split('.')
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
    };
    let (rest, build) = match v.split_once('+') {
        Some((r, b)) => (r, Some(b)),
        None => (v, None),
    };
    let (core, pre) = match rest.split_once('-') {
        Some((c, p)) => (c, Some(p)),
        None => (rest, None),
    };
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes().all(|b| b.is_ascii_digit())
                && (p.len() == 1 || !p.starts_with('0'))
        })
        && pre.is_none_or(ident)
        && build.is_none_or(ident)
}

fn is_id(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 128
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:/-".contains(&b))
}

fn is_technique(t: &str) -> bool {
    let b = t.as_bytes();
    let base = b.len() >= 5 && b[0] == b'T' && b[1..5].iter().all(u8::is_ascii_digit);
    base && (b.len() == 5
        || (b.len() == 9 && b[5] == b'.' && b[6..9].iter().all(u8::is_ascii_digit)))
}

fn window_ok(v: Option<u64>) -> bool {
    v.is_none_or(|s| s <= MAX_WINDOW_SECONDS)
}

fn check_selectors(
    s: Option<Selectors>,
    at: &dyn Fn(String) -> FileError,
) -> Result<Option<Selectors>, FileError> {
    let Some(mut s) = s else {
        return Ok(None);
    };
    let lower = |v: &str, key: &str| -> Result<String, FileError> {
        let t = v.trim().to_lowercase();
        if t.is_empty() {
            return Err(at(format!("selectors.{key}: empty value")));
        }
        Ok(t)
    };
    if let Some(os) = &s.os {
        s.os = Some(lower(os, "os")?);
    }
    if let Some(ex) = &s.executor {
        s.executor = Some(lower(ex, "executor")?);
    }
    if let Some(roles) = &s.roles {
        if roles.is_empty() {
            return Err(at(
                "selectors.roles: empty list (omit the key to match any role)".into(),
            ));
        }
        let mut r = roles
            .iter()
            .map(|x| lower(x, "roles"))
            .collect::<Result<Vec<_>, _>>()?;
        pa_canon::sort_bytewise(&mut r);
        s.roles = Some(r);
    }
    Ok((s.count() > 0).then_some(s))
}

fn build_signal(path: &Path, s: &Spanned<SignalFile>) -> Result<Signal, FileError> {
    let line = line_of(s);
    let sig = &s.value;
    let at = |m: String| FileError::invalid(path, line, format!("signal {:?}: {m}", sig.signal_id));
    if !is_id(&sig.signal_id) {
        return Err(at("signal_id must be 1-128 of [A-Za-z0-9._:/-]".into()));
    }
    if sig.predicate.class_uid < 0 || sig.predicate.class_uid > i64::from(u32::MAX) {
        return Err(at(format!(
            "predicate.class_uid {} is not an OCSF class uid",
            sig.predicate.class_uid
        )));
    }
    let min_count = sig.min_count.unwrap_or(1);
    if let Some(max) = sig.max_count
        && max < min_count
    {
        return Err(at(format!(
            "max_count {max} is below min_count {min_count}"
        )));
    }
    if !window_ok(sig.within_seconds) {
        return Err(at(format!(
            "within_seconds is over {MAX_WINDOW_SECONDS} (seven days)"
        )));
    }
    let mut constraints = Vec::new();
    for c in &sig.predicate.constraints {
        let cf = &c.value;
        let built = Constraint::new(&cf.field, cf.op, cf.value.clone(), cf.case_sensitive)
            .map_err(|m| {
                FileError::invalid(path, line_of(c), format!("signal {:?}: {m}", sig.signal_id))
            })?;
        constraints.push(built);
    }
    constraints.sort_by_cached_key(Constraint::sort_key);
    Ok(Signal {
        signal_id: sig.signal_id.clone(),
        description: sig.description.clone(),
        predicate: Predicate {
            class_uid: sig.predicate.class_uid,
            constraints,
        },
        min_count,
        max_count: sig.max_count,
        within_seconds: sig.within_seconds,
    })
}

fn build_entry(path: &Path, e: Spanned<EntryFile>) -> Result<Entry, FileError> {
    let line = line_of(&e);
    let f = e.value;
    let at = |m: String| FileError::invalid(path, line, format!("entry {:?}: {m}", f.entry_id));
    if !is_id(&f.entry_id) {
        return Err(at("entry_id must be 1-128 of [A-Za-z0-9._:/-]".into()));
    }
    if !is_technique(&f.technique_id) {
        return Err(at(format!(
            "technique_id {:?} is not T#### or T####.###",
            f.technique_id
        )));
    }
    if f.engine_test_id.trim().is_empty() {
        return Err(at("engine_test_id is empty".into()));
    }
    if let Some(tw) = &f.time_window
        && !(window_ok(tw.before_seconds) && window_ok(tw.after_seconds))
    {
        return Err(at(format!(
            "time_window: a side is over {MAX_WINDOW_SECONDS} seconds (seven days)"
        )));
    }
    if f.expected_signals.is_empty() {
        return Err(at(
            "expected_signals is empty: an entry expects at least one signal".into(),
        ));
    }
    let selectors = check_selectors(f.selectors.clone(), &at)?;
    let mut signals = Vec::new();
    let mut ids = BTreeSet::new();
    for s in &f.expected_signals {
        let sig = build_signal(path, s)?;
        if !ids.insert(sig.signal_id.clone()) {
            return Err(FileError::invalid(
                path,
                line_of(s),
                format!(
                    "entry {:?}: signal_id {:?} appears twice",
                    f.entry_id, sig.signal_id
                ),
            ));
        }
        signals.push(sig);
    }
    signals.sort_by(|a, b| a.signal_id.as_bytes().cmp(b.signal_id.as_bytes()));
    Ok(Entry {
        entry_id: f.entry_id,
        description: f.description,
        engine: f.engine,
        technique_id: f.technique_id,
        engine_test_id: f.engine_test_id,
        selectors,
        time_window: f.time_window.filter(|t| *t != TimeWindow::default()),
        expected_signals: signals,
        line,
    })
}

/// Decode and check a pack from its bytes; `path` names it in errors.
pub fn parse_pack(path: &Path, bytes: &[u8]) -> Result<Pack, CriteriaError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| FileError::invalid(path, 0, format!("not UTF-8: {e}")))?;
    let f: PackFile = pa_yaml::decode_yaml_strict(path, text, &pa_yaml::YamlOptions::default())?;
    let id_ok = {
        let v = &f.pack_id.value;
        !v.is_empty()
            && v.len() <= 64
            && v.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
    };
    if !id_ok {
        return Err(FileError::invalid(
            path,
            line_of(&f.pack_id),
            format!("pack_id {:?} must be 1-64 of [a-z0-9._-]", f.pack_id.value),
        )
        .into());
    }
    if !is_semver(&f.pack_version.value) {
        return Err(FileError::invalid(
            path,
            line_of(&f.pack_version),
            format!(
                "pack_version {:?} is not a SemVer version (MAJOR.MINOR.PATCH)",
                f.pack_version.value
            ),
        )
        .into());
    }
    let mut entries = Vec::new();
    let mut seen: std::collections::BTreeMap<String, u64> = Default::default();
    for e in f.entries {
        let entry = build_entry(path, e)?;
        if let Some(first) = seen.insert(entry.entry_id.clone(), entry.line) {
            return Err(FileError::invalid(
                path,
                entry.line,
                format!(
                    "entry_id {:?} appears twice (first at line {first})",
                    entry.entry_id
                ),
            )
            .into());
        }
        entries.push(entry);
    }
    entries.sort_by(|a, b| a.entry_id.as_bytes().cmp(b.entry_id.as_bytes()));
    Ok(Pack {
        pack_id: f.pack_id.value,
        pack_version: f.pack_version.value,
        description: f.description,
        file: path.to_path_buf(),
        sha256: pa_canon::sha256_prefixed(bytes),
        entries,
    })
}

/// Read, decode and check a pack file.
pub fn load_pack(path: &Path) -> Result<Pack, CriteriaError> {
    let bytes = std::fs::read(path).map_err(|e| FileError::io(path, &e))?;
    parse_pack(path, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PACK: &str = "\
pack_id: test-pack
pack_version: 1.2.0
entries:
  - entry_id: b-entry
    engine: atomic
    technique_id: T1082
    engine_test_id: guid-1
    selectors: {os: Linux, roles: [Server, endpoint, server]}
    expected_signals:
      - signal_id: z
        predicate:
          class_uid: 1007
          constraints:
            - {field: process.cmd_line, op: contains, value: uname}
            - {field: process.cmd_line, op: contains, value: UNAME, case_sensitive: false}
            - {field: actor.user.uid, op: exists}
      - signal_id: a
        predicate: {class_uid: 1001}
        min_count: 2
        max_count: 3
        within_seconds: 30
  - entry_id: a-entry
    engine: recorded
    technique_id: T1003.001
    engine_test_id: recorded:s1
    time_window: {before_seconds: 1, after_seconds: 60}
    expected_signals:
      - signal_id: s
        predicate: {class_uid: 1007}
";

    fn parse(text: &str) -> Result<Pack, CriteriaError> {
        parse_pack(Path::new("p.yaml"), text.as_bytes())
    }

    fn err(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    #[test]
    fn a_pack_decodes_in_canonical_order() {
        let p = parse(PACK).unwrap();
        assert_eq!(p.pack_id, "test-pack");
        assert_eq!(p.sha256, pa_canon::sha256_prefixed(PACK.as_bytes()));
        let ids: Vec<&str> = p.entries.iter().map(|e| e.entry_id.as_str()).collect();
        assert_eq!(ids, ["a-entry", "b-entry"]);
        let b = &p.entries[1];
        assert_eq!(b.line, 4);
        let sel = b.selectors.as_ref().unwrap();
        assert_eq!(sel.os.as_deref(), Some("linux"));
        assert_eq!(sel.roles.as_deref().unwrap(), ["endpoint", "server"]);
        assert_eq!(sel.count(), 2);
        let sigs: Vec<&str> = b
            .expected_signals
            .iter()
            .map(|s| s.signal_id.as_str())
            .collect();
        assert_eq!(sigs, ["a", "z"]);
        assert_eq!(b.expected_signals[0].min_count, 2);
        assert_eq!(b.expected_signals[1].min_count, 1);
        let order: Vec<(&str, &str, bool)> = b.expected_signals[1]
            .predicate
            .constraints
            .iter()
            .map(|c| (c.field.as_str(), c.op.as_str(), c.case_sensitive))
            .collect();
        assert_eq!(
            order,
            [
                ("actor.user.uid", "exists", true),
                ("process.cmd_line", "contains", false),
                ("process.cmd_line", "contains", true)
            ]
        );
        let line = pa_canon::jcs_string(&p.entries[0]).unwrap();
        assert_eq!(
            line,
            r#"{"engine":"recorded","engine_test_id":"recorded:s1","entry_id":"a-entry","expected_signals":[{"min_count":1,"predicate":{"class_uid":1007,"constraints":[]},"signal_id":"s"}],"technique_id":"T1003.001","time_window":{"after_seconds":60,"before_seconds":1}}"#
        );
    }

    #[test]
    fn unknown_and_duplicate_keys_name_the_line() {
        let e = err(&PACK.replace(
            "    engine: recorded\n",
            "    engine: recorded\n    colour: red\n",
        ));
        assert!(e.starts_with("p.yaml:"), "{e}");
        assert!(e.contains("colour"), "{e}");
        let e = err(&PACK.replace(
            "    engine: recorded\n",
            "    engine: recorded\n    engine: atomic\n",
        ));
        assert!(e.to_lowercase().contains("duplicate"), "{e}");
        let e = err(&PACK.replace("op: exists", "op: matches"));
        assert!(e.contains("p.yaml:"), "{e}");
        let e = err(&PACK.replace(
            "selectors: {os: Linux,",
            "selectors: {arch: x86, os: Linux,",
        ));
        assert!(e.contains("arch"), "{e}");
    }

    #[test]
    fn semantic_errors_name_file_and_line() {
        let e = err(&PACK.replace("entry_id: a-entry", "entry_id: b-entry"));
        assert!(e.starts_with("p.yaml:22:"), "{e}");
        assert!(e.contains("appears twice"), "{e}");
        let e = err(&PACK.replace("signal_id: a\n", "signal_id: z\n"));
        assert!(e.contains("signal_id \"z\" appears twice"), "{e}");
        let e = err(&PACK.replace("max_count: 3", "max_count: 1"));
        assert!(
            e.starts_with("p.yaml:17:") && e.contains("below min_count"),
            "{e}"
        );
        let e = err(&PACK
            .replace("value: uname}", "value: \"(unclosed\"}")
            .replace("op: contains, value: \"(", "op: regex, value: \"("));
        assert!(
            e.starts_with("p.yaml:14:") && e.contains("does not compile"),
            "{e}"
        );
        let e = err(&PACK.replace(
            "{field: actor.user.uid, op: exists}",
            "{field: actor.user.uid, op: exists, value: 1}",
        ));
        assert!(e.contains("takes no value"), "{e}");
        let e = err(&PACK.replace("value: uname}", "value: [uname]}"));
        assert!(e.contains("needs a string"), "{e}");
        assert!(err(&PACK.replace("1.2.0", "1.2")).contains("SemVer"));
        assert!(err(&PACK.replace("T1082", "T82")).contains("technique_id"));
        assert!(
            err(&PACK.replace("after_seconds: 60", "after_seconds: 9999999"))
                .contains("seven days")
        );
        assert!(
            err(&PACK.replace("roles: [Server, endpoint, server]", "roles: []")).contains("roles")
        );
        assert!(
            err(&PACK.replace("pack_id: test-pack", "pack_id: Test Pack")).starts_with("p.yaml:1:")
        );
        let empty = "pack_id: p\npack_version: 1.0.0\nentries:\n  - entry_id: e\n    engine: atomic\n    technique_id: T1082\n    engine_test_id: g\n    expected_signals: []\n";
        assert!(err(empty).starts_with("p.yaml:4:"), "{}", err(empty));
        assert!(err(empty).contains("expected_signals is empty"));
    }

    #[test]
    fn semver_forms() {
        for ok in [
            "0.1.0",
            "1.2.3",
            "10.0.0-alpha.1",
            "1.0.0+build.5",
            "1.0.0-rc-1+x",
        ] {
            assert!(is_semver(ok), "{ok}");
        }
        for bad in ["1.0", "01.0.0", "1.0.0-", "1.0.0+", "a.b.c", "1.0.0-a..b"] {
            assert!(!is_semver(bad), "{bad}");
        }
    }

    #[test]
    fn errors_have_reason_codes() {
        let e = err("pack_id: x\n");
        assert!(e.contains("p.yaml"), "{e}");
        assert_eq!(
            parse("pack_id: x\n").unwrap_err().reason(),
            "criteria_pack_error"
        );
        let missing = load_pack(Path::new("/nonexistent/pack.yaml")).unwrap_err();
        assert_eq!(missing.reason(), "criteria_pack_error");
        assert!(missing.to_string().contains("/nonexistent/pack.yaml"));
    }
}
