//! Named value transforms (`canonicalization.yaml`): compilation from `op` + `args`, and their
//! application to one value.
//!
//! A transform turns a present value into a value, into *absent* (the input is a placeholder or
//! a deliberate non-value), or *rejects* it (the input is not what the transform accepts: the
//! target is then left absent, and a core field fails the event). Scalar transforms applied to
//! an array apply element-wise (absent elements are dropped); `join`, `first`, `unique` and
//! `count` take the array itself.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

/// The outcome of one transform step.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Step {
    Value(Value),
    Absent,
    Rejected(String),
}

/// The outcome of one transform step on a value that may still be borrowed from the record
/// (the interpreter's hot path: a value is copied only when a transform changes it, or when
/// it is finally emitted).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum CowStep<'a> {
    Value(Cow<'a, Value>),
    Absent,
    Rejected(String),
}

impl From<Step> for CowStep<'_> {
    fn from(s: Step) -> Self {
        match s {
            Step::Value(v) => CowStep::Value(Cow::Owned(v)),
            Step::Absent => CowStep::Absent,
            Step::Rejected(r) => CowStep::Rejected(r),
        }
    }
}

#[cfg(test)]
impl CowStep<'_> {
    /// The owned [`Step`] (the value copied out of the record if still borrowed).
    pub(crate) fn into_step(self) -> Step {
        match self {
            CowStep::Value(v) => Step::Value(v.into_owned()),
            CowStep::Absent => Step::Absent,
            CowStep::Rejected(r) => Step::Rejected(r),
        }
    }
}

/// What a string transform did to a string (see [`Transform::apply_str`]).
enum StrOut {
    /// The value is unchanged.
    Same,
    New(Value),
    Absent,
    Rejected(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    First,
    Second,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimeFormat {
    Rfc3339,
    SpaceUtc,
    EpochSeconds,
    EpochMillis,
}

/// A compiled transform.
#[derive(Debug, Clone)]
pub(crate) enum Transform {
    Trim,
    Lowercase,
    Uppercase,
    ToString,
    ParseInt {
        hex: bool,
        octal: bool,
        min: Option<i64>,
        max: Option<i64>,
    },
    ParseTime {
        formats: Vec<TimeFormat>,
    },
    AbsentIfInSet {
        set: BTreeSet<String>,
        ignore_case: bool,
        /// The byte length of the longest member: a longer text is not in the set.
        max_len: usize,
    },
    SplitDomainUser {
        part: Part,
    },
    ParseHashes {
        ids: BTreeMap<String, i64>,
        other_id: i64,
    },
    SplitHostPort {
        part: Part,
    },
    Map {
        table: BTreeMap<String, Value>,
        ignore_case: bool,
        default: Option<Value>,
        passthrough: bool,
    },
    KvGet {
        key: String,
    },
    /// The value of `key=` on one line of a multi-line `key=value` text (the rest of the
    /// line, trimmed).
    LineKvGet {
        key: String,
    },
    /// Text split into its non-empty parts (on `sep`, or on whitespace).
    Split {
        sep: Option<String>,
    },
    /// Integer AND `mask`.
    BitAnd {
        mask: i64,
    },
    /// Decode an audit `saddr` hex sockaddr (AF_INET / AF_INET6): `part` ip or port.
    Sockaddr {
        port: bool,
    },
    /// The last path component; with `ignore_trailing`, trailing separators do not end it
    /// (`/var/tmp/dir/` → `dir`), else such a path has no name.
    Basename {
        ignore_trailing: bool,
        /// A path ending in a separator names an empty last component: `""`, not absent.
        keep_empty: bool,
    },
    Dirname,
    Join {
        sep: String,
    },
    First,
    Unique,
    Format {
        before: String,
        after: String,
    },
    Ip,
    StripPrefix {
        prefix: String,
    },
    TrimChars {
        chars: Vec<char>,
    },
}

/// What a transform may refer to while compiling.
pub(crate) struct CompileEnv<'a> {
    pub sets: &'a BTreeMap<String, Vec<String>>,
    pub tables: &'a BTreeMap<String, BTreeMap<String, Value>>,
}

fn arg_str<'a>(args: &'a BTreeMap<String, Value>, k: &str) -> Result<Option<&'a str>, String> {
    match args.get(k) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(v) => Err(format!("arg {k} must be a string, got {v}")),
    }
}

fn arg_bool(args: &BTreeMap<String, Value>, k: &str) -> Result<bool, String> {
    match args.get(k) {
        None => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(v) => Err(format!("arg {k} must be true or false, got {v}")),
    }
}

fn arg_int(args: &BTreeMap<String, Value>, k: &str) -> Result<Option<i64>, String> {
    match args.get(k) {
        None => Ok(None),
        Some(v) => v
            .as_i64()
            .map(Some)
            .ok_or_else(|| format!("arg {k} must be an integer, got {v}")),
    }
}

fn part(args: &BTreeMap<String, Value>, first: &str, second: &str) -> Result<Part, String> {
    match arg_str(args, "part")? {
        Some(p) if p == first => Ok(Part::First),
        Some(p) if p == second => Ok(Part::Second),
        other => Err(format!(
            "arg part must be {first:?} or {second:?}, got {other:?}"
        )),
    }
}

impl Transform {
    /// Compile `op` with `args`; the error says which op/arg is wrong.
    pub(crate) fn compile(
        op: &str,
        args: &BTreeMap<String, Value>,
        env: &CompileEnv<'_>,
    ) -> Result<Transform, String> {
        let allowed: &[&str] = match op {
            "parse_int" => &["hex", "octal", "min", "max"],
            "parse_time" => &["formats"],
            "absent_if_in_set" => &["set", "ignore_case"],
            "split_domain_user" | "split_host_port" => &["part"],
            "parse_hashes" => &["algorithms", "other_id"],
            "map" => &["table", "entries", "ignore_case", "default", "passthrough"],
            "kv_get" | "line_kv_get" => &["key"],
            "split" => &["sep"],
            "basename" => &["ignore_trailing", "keep_empty"],
            "bit_and" => &["mask"],
            "sockaddr" => &["part"],
            "join" => &["sep"],
            "format" => &["template"],
            "strip_prefix" => &["prefix"],
            "trim_chars" => &["chars"],
            _ => &[],
        };
        if let Some(k) = args.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(format!("op {op}: unknown arg {k:?} (allowed: {allowed:?})"));
        }
        let t = match op {
            "trim" => Transform::Trim,
            "lowercase" => Transform::Lowercase,
            "uppercase" => Transform::Uppercase,
            "to_string" => Transform::ToString,
            "parse_int" => Transform::ParseInt {
                hex: arg_bool(args, "hex")?,
                octal: arg_bool(args, "octal")?,
                min: arg_int(args, "min")?,
                max: arg_int(args, "max")?,
            },
            "parse_time" => {
                let list = args
                    .get("formats")
                    .and_then(Value::as_array)
                    .ok_or("op parse_time: arg formats (a non-empty list) is required")?;
                let mut formats = Vec::new();
                for f in list {
                    formats.push(match f.as_str() {
                        Some("rfc3339") => TimeFormat::Rfc3339,
                        Some("space_utc") => TimeFormat::SpaceUtc,
                        Some("epoch_s") => TimeFormat::EpochSeconds,
                        Some("epoch_ms") => TimeFormat::EpochMillis,
                        _ => {
                            return Err(format!(
                                "op parse_time: unknown format {f} (rfc3339, space_utc, epoch_s, epoch_ms)"
                            ));
                        }
                    });
                }
                if formats.is_empty() {
                    return Err("op parse_time: formats is empty".into());
                }
                Transform::ParseTime { formats }
            }
            "absent_if_in_set" => {
                let name =
                    arg_str(args, "set")?.ok_or("op absent_if_in_set: arg set is required")?;
                let ignore_case = arg_bool(args, "ignore_case")?;
                let set = env
                    .sets
                    .get(name)
                    .ok_or_else(|| format!("op absent_if_in_set: no set named {name:?}"))?
                    .iter()
                    .map(|s| {
                        if ignore_case {
                            s.to_lowercase()
                        } else {
                            s.clone()
                        }
                    })
                    .collect::<BTreeSet<String>>();
                let max_len = set.iter().map(String::len).max().unwrap_or(0);
                Transform::AbsentIfInSet {
                    set,
                    ignore_case,
                    max_len,
                }
            }
            "split_domain_user" => Transform::SplitDomainUser {
                part: part(args, "domain", "user")?,
            },
            "split_host_port" => Transform::SplitHostPort {
                part: part(args, "host", "port")?,
            },
            "parse_hashes" => {
                let algos = args
                    .get("algorithms")
                    .and_then(Value::as_object)
                    .ok_or("op parse_hashes: arg algorithms (name → algorithm_id) is required")?;
                let mut ids = BTreeMap::new();
                for (k, v) in algos {
                    let id = v.as_i64().ok_or_else(|| {
                        format!("op parse_hashes: algorithm {k}: id must be an integer")
                    })?;
                    ids.insert(k.to_ascii_uppercase(), id);
                }
                Transform::ParseHashes {
                    ids,
                    other_id: arg_int(args, "other_id")?.unwrap_or(99),
                }
            }
            "map" => {
                let ignore_case = arg_bool(args, "ignore_case")?;
                let mut table = match (arg_str(args, "table")?, args.get("entries")) {
                    (Some(name), None) => env
                        .tables
                        .get(name)
                        .ok_or_else(|| format!("op map: no table named {name:?}"))?
                        .clone(),
                    (None, Some(Value::Object(m))) => {
                        m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
                    }
                    _ => return Err(
                        "op map: exactly one of table (a name) or entries (a mapping) is required"
                            .into(),
                    ),
                };
                if ignore_case {
                    table = table
                        .into_iter()
                        .map(|(k, v)| (k.to_lowercase(), v))
                        .collect();
                }
                let passthrough = arg_bool(args, "passthrough")?;
                if passthrough && args.contains_key("default") {
                    return Err("op map: default and passthrough exclude each other".into());
                }
                Transform::Map {
                    table,
                    ignore_case,
                    default: args.get("default").cloned(),
                    passthrough,
                }
            }
            "sockaddr" => Transform::Sockaddr {
                port: part(args, "ip", "port")? == Part::Second,
            },
            "kv_get" => Transform::KvGet {
                key: arg_str(args, "key")?
                    .ok_or("op kv_get: arg key is required")?
                    .to_string(),
            },
            "line_kv_get" => Transform::LineKvGet {
                key: arg_str(args, "key")?
                    .ok_or("op line_kv_get: arg key is required")?
                    .to_string(),
            },
            "split" => Transform::Split {
                sep: match arg_str(args, "sep")? {
                    Some("") => return Err("op split: arg sep must not be empty".into()),
                    other => other.map(str::to_string),
                },
            },
            "bit_and" => Transform::BitAnd {
                mask: arg_int(args, "mask")?.ok_or("op bit_and: arg mask is required")?,
            },
            "basename" => Transform::Basename {
                ignore_trailing: arg_bool(args, "ignore_trailing")?,
                keep_empty: arg_bool(args, "keep_empty")?,
            },
            "dirname" => Transform::Dirname,
            "join" => Transform::Join {
                sep: arg_str(args, "sep")?.unwrap_or(" ").to_string(),
            },
            "first" => Transform::First,
            "unique" => Transform::Unique,
            "format" => {
                let t = arg_str(args, "template")?.ok_or("op format: arg template is required")?;
                let (before, after) = t
                    .split_once("{}")
                    .ok_or("op format: template must contain {} once")?;
                if after.contains("{}") {
                    return Err("op format: template must contain {} once".into());
                }
                Transform::Format {
                    before: before.to_string(),
                    after: after.to_string(),
                }
            }
            "ip" => Transform::Ip,
            "trim_chars" => Transform::TrimChars {
                chars: arg_str(args, "chars")?
                    .ok_or("op trim_chars: arg chars is required")?
                    .chars()
                    .collect(),
            },
            "strip_prefix" => Transform::StripPrefix {
                prefix: arg_str(args, "prefix")?
                    .ok_or("op strip_prefix: arg prefix is required")?
                    .to_string(),
            },
            _ => {
                return Err(format!(
                    "unknown op {op:?} (trim, lowercase, uppercase, to_string, parse_int, parse_time, absent_if_in_set, split_domain_user, split_host_port, parse_hashes, map, kv_get, line_kv_get, split, bit_and, basename, dirname, join, first, unique, format, ip, strip_prefix, trim_chars)"
                ));
            }
        };
        Ok(t)
    }

    fn takes_array(&self) -> bool {
        matches!(
            self,
            Transform::Join { .. } | Transform::First | Transform::Unique
        )
    }

    /// Apply to a value that may be borrowed. Exactly [`Self::apply`], but a string input is
    /// read in place and not copied when the transform leaves it unchanged or derives a new
    /// value from it.
    pub(crate) fn apply_cow<'a>(&self, v: Cow<'a, Value>) -> CowStep<'a> {
        if let Value::String(s) = v.as_ref() {
            if let Some(out) = self.apply_str(&v, s) {
                return match out {
                    StrOut::Same => CowStep::Value(v),
                    StrOut::New(x) => CowStep::Value(Cow::Owned(x)),
                    StrOut::Absent => CowStep::Absent,
                    StrOut::Rejected(r) => CowStep::Rejected(r),
                };
            }
        }
        self.apply(v.into_owned()).into()
    }

    /// The string fast path of [`Self::apply_scalar`] for the transforms that have one
    /// (`None` for the others): the same result, computed from `s` (the text of `v`, a
    /// `Value::String`) without copying it first. For the pure text transforms it is also the
    /// only implementation (`apply_scalar` calls it on the printed scalar).
    fn apply_str(&self, v: &Value, s: &str) -> Option<StrOut> {
        let new_str = |x: &str| StrOut::New(Value::String(x.to_string()));
        let out = match self {
            Transform::Trim => {
                let t = s.trim_matches(|c: char| c.is_ascii_whitespace());
                if t.len() == s.len() {
                    StrOut::Same
                } else {
                    new_str(t)
                }
            }
            Transform::Lowercase => {
                if s.bytes().any(|b| b.is_ascii_uppercase()) {
                    StrOut::New(Value::String(s.to_ascii_lowercase()))
                } else {
                    StrOut::Same
                }
            }
            Transform::Uppercase => {
                if s.bytes().any(|b| b.is_ascii_lowercase()) {
                    StrOut::New(Value::String(s.to_ascii_uppercase()))
                } else {
                    StrOut::Same
                }
            }
            Transform::AbsentIfInSet {
                set,
                ignore_case,
                max_len,
            } => {
                // a longer text cannot be a member (lowercasing keeps an ASCII text's length)
                let hit = if s.len() > *max_len && (!*ignore_case || s.is_ascii()) {
                    false
                } else if !*ignore_case {
                    set.contains(s)
                } else if s.bytes().all(|b| b.is_ascii() && !b.is_ascii_uppercase()) {
                    // already its own lowercase form
                    set.contains(s)
                } else {
                    set.contains(&s.to_lowercase())
                };
                if hit { StrOut::Absent } else { StrOut::Same }
            }
            Transform::SplitDomainUser { part } => match s.split_once('\\') {
                Some((d, u)) => {
                    let x = if *part == Part::First { d } else { u };
                    if x.is_empty() {
                        StrOut::Absent
                    } else {
                        new_str(x)
                    }
                }
                None if *part == Part::Second && !s.is_empty() => StrOut::Same,
                None => StrOut::Absent,
            },
            Transform::ParseInt {
                hex,
                octal,
                min,
                max,
            } => {
                let n = if *octal {
                    i64::from_str_radix(s.trim(), 8).ok()
                } else {
                    parse_int(s.trim(), *hex)
                };
                match n {
                    Some(n) if min.is_none_or(|m| n >= m) && max.is_none_or(|m| n <= m) => {
                        StrOut::New(Value::from(n))
                    }
                    Some(n) => StrOut::Rejected(format!("parse_int: {n} is out of range")),
                    None => StrOut::Rejected(format!("parse_int: {v} is not an integer")),
                }
            }
            Transform::ParseTime { formats } => {
                match formats.iter().find_map(|f| parse_time(v, *f)) {
                    Some(ms) => StrOut::New(Value::from(ms)),
                    None => StrOut::Rejected(format!(
                        "parse_time: {v} is not a timestamp in {formats:?}"
                    )),
                }
            }
            Transform::Map {
                table,
                ignore_case,
                default,
                passthrough,
            } => {
                let hit = if *ignore_case {
                    table.get(&s.to_lowercase())
                } else {
                    table.get(s)
                };
                match hit.or(default.as_ref()) {
                    Some(Value::Null) => StrOut::Absent,
                    Some(x) => StrOut::New(x.clone()),
                    None if *passthrough => StrOut::Same,
                    None => StrOut::Absent,
                }
            }
            Transform::Basename {
                ignore_trailing,
                keep_empty,
            } => {
                let t = if *ignore_trailing {
                    s.trim_end_matches(['\\', '/'])
                } else {
                    s
                };
                let b = t.rsplit(['\\', '/']).next().unwrap_or(t);
                if b.is_empty() && !*keep_empty {
                    StrOut::Absent
                } else if b.len() == s.len() {
                    StrOut::Same
                } else {
                    new_str(b)
                }
            }
            Transform::Dirname => match s.rfind(['\\', '/']) {
                Some(0) => new_str(&s[..1]),
                Some(i) => new_str(&s[..i]),
                None => StrOut::Absent,
            },
            Transform::TrimChars { chars } => {
                let t = s.trim_matches(chars.as_slice());
                if t.len() == s.len() {
                    StrOut::Same
                } else {
                    new_str(t)
                }
            }
            Transform::StripPrefix { prefix } => match s.strip_prefix(prefix.as_str()) {
                Some(rest) if !prefix.is_empty() => new_str(rest),
                _ => StrOut::Same,
            },
            Transform::Format { before, after } => {
                let mut out = String::with_capacity(before.len() + s.len() + after.len());
                out.push_str(before);
                out.push_str(s);
                out.push_str(after);
                StrOut::New(Value::String(out))
            }
            _ => return None,
        };
        Some(out)
    }

    /// Apply to a value.
    pub(crate) fn apply(&self, v: Value) -> Step {
        if let Value::Array(items) = v {
            if self.takes_array() {
                return self.apply_array(items);
            }
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                match self.apply_scalar(item) {
                    Step::Value(Value::Array(inner)) => out.extend(inner),
                    Step::Value(x) => out.push(x),
                    Step::Absent => {}
                    Step::Rejected(r) => return Step::Rejected(r),
                }
            }
            return if out.is_empty() {
                Step::Absent
            } else {
                Step::Value(Value::Array(out))
            };
        }
        if self.takes_array() {
            return self.apply_array(vec![v]);
        }
        self.apply_scalar(v)
    }

    fn apply_array(&self, items: Vec<Value>) -> Step {
        match self {
            Transform::First => items.into_iter().next().map_or(Step::Absent, Step::Value),
            Transform::Unique => {
                let mut seen = BTreeSet::new();
                let out: Vec<Value> = items
                    .into_iter()
                    .filter(|v| seen.insert(v.to_string()))
                    .collect();
                Step::Value(Value::Array(out))
            }
            Transform::Join { sep } => {
                let mut parts = Vec::with_capacity(items.len());
                for v in &items {
                    match scalar_text(v) {
                        Some(s) => parts.push(s),
                        None => return Step::Rejected(format!("join: {v} is not a scalar")),
                    }
                }
                if parts.is_empty() {
                    Step::Absent
                } else {
                    Step::Value(Value::String(parts.join(sep)))
                }
            }
            _ => Step::Rejected("internal: not an array transform".into()),
        }
    }

    fn apply_scalar(&self, v: Value) -> Step {
        match self {
            // Text transforms: the string fast path on the value's text (numbers and booleans
            // printed), its result always a string or nothing.
            Transform::Trim
            | Transform::Lowercase
            | Transform::Uppercase
            | Transform::SplitDomainUser { .. }
            | Transform::Basename { .. }
            | Transform::Dirname
            | Transform::TrimChars { .. }
            | Transform::StripPrefix { .. } => {
                with_str(v, |s| match self.apply_str(&Value::Null, s) {
                    Some(StrOut::Same) => Step::Value(Value::String(s.to_string())),
                    Some(StrOut::New(x)) => Step::Value(x),
                    Some(StrOut::Absent) => Step::Absent,
                    Some(StrOut::Rejected(r)) => Step::Rejected(r),
                    None => Step::Rejected("internal: no string form".into()),
                })
            }
            Transform::ToString => match scalar_text(&v) {
                Some(s) => Step::Value(Value::String(s)),
                None => Step::Rejected(format!("to_string: {v} is not a scalar")),
            },
            Transform::ParseInt {
                hex,
                octal,
                min,
                max,
            } => {
                let n = match &v {
                    Value::Number(n) => n.as_i64(),
                    Value::String(s) if *octal => i64::from_str_radix(s.trim(), 8).ok(),
                    Value::String(s) => parse_int(s.trim(), *hex),
                    _ => None,
                };
                match n {
                    Some(n) if min.is_none_or(|m| n >= m) && max.is_none_or(|m| n <= m) => {
                        Step::Value(Value::from(n))
                    }
                    Some(n) => Step::Rejected(format!("parse_int: {n} is out of range")),
                    None => Step::Rejected(format!("parse_int: {v} is not an integer")),
                }
            }
            Transform::ParseTime { formats } => {
                for f in formats {
                    if let Some(ms) = parse_time(&v, *f) {
                        return Step::Value(Value::from(ms));
                    }
                }
                Step::Rejected(format!("parse_time: {v} is not a timestamp in {formats:?}"))
            }
            Transform::AbsentIfInSet {
                set, ignore_case, ..
            } => match &v {
                Value::String(s) => {
                    let hit = if *ignore_case {
                        set.contains(&s.to_lowercase())
                    } else {
                        set.contains(s)
                    };
                    if hit { Step::Absent } else { Step::Value(v) }
                }
                _ => Step::Value(v),
            },
            Transform::ParseHashes { ids, other_id } => {
                with_str(v, |s| parse_hashes(s, ids, *other_id))
            }
            Transform::SplitHostPort { part } => with_str(v, |s| match split_host_port(s) {
                Some((h, p)) => {
                    if *part == Part::First {
                        Step::Value(Value::String(h.to_string()))
                    } else {
                        Step::Value(Value::String(p.to_string()))
                    }
                }
                None => Step::Rejected(format!("split_host_port: {s:?} is not host:port")),
            }),
            Transform::Map {
                table,
                ignore_case,
                default,
                passthrough,
            } => {
                let Some(key) = scalar_text(&v) else {
                    return Step::Rejected(format!("map: {v} is not a scalar"));
                };
                let key = if *ignore_case {
                    key.to_lowercase()
                } else {
                    key
                };
                match table.get(&key).or(default.as_ref()) {
                    Some(Value::Null) => Step::Absent,
                    Some(x) => Step::Value(x.clone()),
                    None if *passthrough => Step::Value(v),
                    None => Step::Absent,
                }
            }
            Transform::Sockaddr { port } => with_str(v, |s| match decode_sockaddr(s) {
                Some((ip, p)) => {
                    if *port {
                        Step::Value(Value::from(p))
                    } else {
                        Step::Value(Value::String(ip.to_string()))
                    }
                }
                None => Step::Absent,
            }),
            Transform::KvGet { key } => with_str(v, |s| match kv_get(s, key) {
                Some(x) => Step::Value(Value::String(x)),
                None => Step::Absent,
            }),
            Transform::LineKvGet { key } => with_str(v, |s| {
                let found = s.lines().find_map(|line| {
                    let (k, val) = line.trim().split_once('=')?;
                    (k.trim() == key).then(|| val.trim().to_string())
                });
                match found {
                    Some(x) if !x.is_empty() => Step::Value(Value::String(x)),
                    _ => Step::Absent,
                }
            }),
            Transform::Split { sep } => with_str(v, |s| {
                let parts: Vec<Value> = match sep {
                    Some(sep) => s
                        .split(sep.as_str())
                        .map(str::trim)
                        .filter(|p| !p.is_empty())
                        .map(|p| Value::String(p.to_string()))
                        .collect(),
                    None => s
                        .split_whitespace()
                        .map(|p| Value::String(p.to_string()))
                        .collect(),
                };
                if parts.is_empty() {
                    Step::Absent
                } else {
                    Step::Value(Value::Array(parts))
                }
            }),
            Transform::BitAnd { mask } => match v.as_i64() {
                Some(n) => Step::Value(Value::from(n & mask)),
                None => Step::Rejected(format!("bit_and: {v} is not an integer")),
            },
            Transform::Format { before, after } => match scalar_text(&v) {
                Some(s) => Step::Value(Value::String(format!("{before}{s}{after}"))),
                None => Step::Rejected(format!("format: {v} is not a scalar")),
            },
            Transform::Ip => with_str(v, |s| {
                let t = s.trim().trim_start_matches('[').trim_end_matches(']');
                match t.parse::<std::net::IpAddr>() {
                    Ok(ip) => Step::Value(Value::String(ip.to_string())),
                    Err(_) => Step::Rejected(format!("ip: {s:?} is not an IP address")),
                }
            }),
            Transform::Join { .. } | Transform::First | Transform::Unique => {
                Step::Rejected("internal: array transform on a scalar".into())
            }
        }
    }
}

fn with_str(v: Value, f: impl FnOnce(&str) -> Step) -> Step {
    match &v {
        Value::String(s) => f(s),
        Value::Number(_) | Value::Bool(_) => match scalar_text(&v) {
            Some(s) => f(&s),
            None => Step::Rejected(format!("{v} is not a string")),
        },
        _ => Step::Rejected(format!("{v} is not a string")),
    }
}

/// The text of a scalar (strings as is, numbers and booleans printed).
pub(crate) fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn parse_int(s: &str, hex: bool) -> Option<i64> {
    if hex {
        if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
            return i64::from_str_radix(h, 16).ok();
        }
    }
    s.parse::<i64>().ok()
}

const MAX_MS: i64 = 253_402_300_799_999; // 9999-12-31T23:59:59.999Z

fn parse_time(v: &Value, f: TimeFormat) -> Option<i64> {
    let ms = match (f, v) {
        (TimeFormat::EpochMillis, Value::Number(n)) => n.as_i64(),
        (TimeFormat::EpochMillis, Value::String(s)) => s.trim().parse::<i64>().ok(),
        (TimeFormat::EpochSeconds, Value::Number(n)) => n
            .as_i64()
            .and_then(|s| s.checked_mul(1000))
            .or_else(|| n.as_f64().and_then(seconds_f64_to_ms)),
        (TimeFormat::EpochSeconds, Value::String(s)) => epoch_seconds_text(s.trim()),
        (TimeFormat::Rfc3339, Value::String(s)) => pa_canon::parse_rfc3339_to_millis(s).ok(),
        (TimeFormat::SpaceUtc, Value::String(s)) => {
            let t = s.trim();
            if t.len() < 19 || t.as_bytes().get(10) != Some(&b' ') {
                return None;
            }
            let iso = format!("{}T{}Z", &t[..10], &t[11..]);
            pa_canon::parse_rfc3339_to_millis(&iso).ok()
        }
        _ => None,
    }?;
    (0..=MAX_MS).contains(&ms).then_some(ms)
}

fn seconds_f64_to_ms(f: f64) -> Option<i64> {
    if f.is_finite() && (0.0..=(MAX_MS as f64 / 1000.0)).contains(&f) {
        Some((f * 1000.0).floor() as i64)
    } else {
        None
    }
}

/// `1795343951` or `1795343951.263` (exact decimal, extra precision truncated).
fn epoch_seconds_text(s: &str) -> Option<i64> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if int.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let secs: i64 = int.parse().ok()?;
    let mut ms_digits: String = frac.chars().take(3).collect();
    while ms_digits.len() < 3 {
        ms_digits.push('0');
    }
    let ms: i64 = ms_digits.parse().ok()?;
    secs.checked_mul(1000)?.checked_add(ms)
}

/// `(address, port)` of a hex `struct sockaddr_in` / `sockaddr_in6` as audit prints it
/// (family little-endian, port big-endian). Other families (unix, netlink...) give `None`.
fn decode_sockaddr(hex: &str) -> Option<(std::net::IpAddr, u16)> {
    let h = hex.trim();
    if !h.len().is_multiple_of(2) || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let bytes: Vec<u8> = (0..h.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&h[i..i + 2], 16))
        .collect::<Result<_, _>>()
        .ok()?;
    let family = u16::from_le_bytes([*bytes.first()?, *bytes.get(1)?]);
    let port = u16::from_be_bytes([*bytes.get(2)?, *bytes.get(3)?]);
    match family {
        2 => {
            let a: [u8; 4] = bytes.get(4..8)?.try_into().ok()?;
            Some((std::net::IpAddr::from(a), port))
        }
        10 => {
            let a: [u8; 16] = bytes.get(8..24)?.try_into().ok()?;
            Some((std::net::IpAddr::from(a), port))
        }
        _ => None,
    }
}

/// The value of `key` in a `k=v k2="v 2" ...` list (double quotes removed; a bare word
/// without `=` is skipped).
fn kv_get(s: &str, key: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        let start = i;
        while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'=' {
            i += 1;
        }
        let k = &s[start..i];
        if i >= b.len() || b[i] != b'=' {
            continue;
        }
        i += 1;
        let value = if i < b.len() && b[i] == b'"' {
            i += 1;
            let vs = i;
            while i < b.len() && b[i] != b'"' {
                i += 1;
            }
            let v = &s[vs..i];
            i += 1;
            v
        } else {
            let vs = i;
            while i < b.len() && !b[i].is_ascii_whitespace() {
                i += 1;
            }
            &s[vs..i]
        };
        if k == key {
            return Some(value.to_string());
        }
    }
    None
}

fn split_host_port(s: &str) -> Option<(&str, &str)> {
    let s = s.trim();
    if let Some(rest) = s.strip_prefix('[') {
        let (h, p) = rest.split_once("]:")?;
        return (!h.is_empty() && !p.is_empty()).then_some((h, p));
    }
    let (h, p) = s.rsplit_once(':')?;
    if h.contains(':') || h.is_empty() || p.is_empty() {
        return None;
    }
    Some((h, p))
}

/// `SHA1=..,MD5=..,IMPHASH=..` → OCSF fingerprints sorted by (algorithm_id, value), deduplicated.
/// Algorithms not in `ids` get `other_id` and keep their name in `algorithm`.
fn parse_hashes(s: &str, ids: &BTreeMap<String, i64>, other_id: i64) -> Step {
    let mut out: BTreeMap<(i64, String, String), Value> = BTreeMap::new();
    for item in s.split(',') {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        let Some((name, value)) = item.split_once('=') else {
            return Step::Rejected(format!("parse_hashes: {item:?} is not ALGO=value"));
        };
        let (name, value) = (name.trim(), value.trim());
        if name.is_empty() || value.is_empty() {
            return Step::Rejected(format!("parse_hashes: {item:?} is not ALGO=value"));
        }
        let mut fp = Map::new();
        let id = match ids.get(&name.to_ascii_uppercase()) {
            Some(id) => *id,
            None => {
                fp.insert("algorithm".into(), Value::String(name.to_string()));
                other_id
            }
        };
        fp.insert("algorithm_id".into(), Value::from(id));
        fp.insert("value".into(), Value::String(value.to_string()));
        let label = if id == other_id {
            name.to_string()
        } else {
            String::new()
        };
        out.entry((id, value.to_string(), label))
            .or_insert(Value::Object(fp));
    }
    if out.is_empty() {
        Step::Absent
    } else {
        Step::Value(Value::Array(out.into_values().collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn t(op: &str, args: Value) -> Transform {
        let sets = BTreeMap::from([("ph".to_string(), vec!["-".to_string(), String::new()])]);
        let tables = BTreeMap::from([(
            "proto".to_string(),
            BTreeMap::from([("tcp".to_string(), json!(6))]),
        )]);
        let env = CompileEnv {
            sets: &sets,
            tables: &tables,
        };
        let args: BTreeMap<String, Value> = serde_json::from_value(args).unwrap();
        Transform::compile(op, &args, &env).unwrap()
    }

    #[test]
    fn ints_times_and_placeholders() {
        let hex = t("parse_int", json!({"hex": true}));
        assert_eq!(hex.apply(json!("0x3f0")), Step::Value(json!(1008)));
        assert_eq!(hex.apply(json!("42")), Step::Value(json!(42)));
        assert!(matches!(hex.apply(json!("x1")), Step::Rejected(_)));
        let port = t("parse_int", json!({"min": 0, "max": 65535}));
        assert!(matches!(port.apply(json!("70000")), Step::Rejected(_)));
        let time = t(
            "parse_time",
            json!({"formats": ["rfc3339", "space_utc", "epoch_s"]}),
        );
        assert_eq!(
            time.apply(json!("2019-07-19T14:42:51.4462809Z")),
            Step::Value(json!(1563547371446_i64))
        );
        assert_eq!(
            time.apply(json!("2019-07-19 14:42:51.257")),
            Step::Value(json!(1563547371257_i64))
        );
        assert_eq!(
            time.apply(json!("1795343951.263")),
            Step::Value(json!(1795343951263_i64))
        );
        assert!(matches!(time.apply(json!("yesterday")), Step::Rejected(_)));
        let ph = t("absent_if_in_set", json!({"set": "ph"}));
        assert_eq!(ph.apply(json!("-")), Step::Absent);
        assert_eq!(ph.apply(json!("x")), Step::Value(json!("x")));
        assert_eq!(ph.apply(json!(["-", "a"])), Step::Value(json!(["a"])));
    }

    #[test]
    fn octal_masks_lines_and_splits() {
        // audit PATH mode=0100644 → S_IFREG (0o100000)
        let oct = t("parse_int", json!({"octal": true}));
        assert_eq!(oct.apply(json!("0100644")), Step::Value(json!(0o100644)));
        assert!(matches!(oct.apply(json!("0109")), Step::Rejected(_)));
        let fmt = t("bit_and", json!({"mask": 0o170000}));
        assert_eq!(fmt.apply(json!(0o100644)), Step::Value(json!(0o100000)));
        assert_eq!(fmt.apply(json!(0o40755)), Step::Value(json!(0o40000)));
        assert!(matches!(fmt.apply(json!("x")), Step::Rejected(_)));
        let line = t("line_kv_get", json!({"key": "UserId"}));
        let ctx = "\tDetailSequence=1\n\tUserId=HOST\\Clippy\n\tCommandLine=a = b\n\tScriptName=";
        assert_eq!(line.apply(json!(ctx)), Step::Value(json!("HOST\\Clippy")));
        let cl = t("line_kv_get", json!({"key": "CommandLine"}));
        assert_eq!(cl.apply(json!(ctx)), Step::Value(json!("a = b")));
        let empty = t("line_kv_get", json!({"key": "ScriptName"}));
        assert_eq!(empty.apply(json!(ctx)), Step::Absent);
        assert_eq!(
            t("line_kv_get", json!({"key": "Nope"})).apply(json!(ctx)),
            Step::Absent
        );
        let ws = t("split", json!({}));
        assert_eq!(
            ws.apply(json!("SeDebugPrivilege\n\t\t\tSeBackupPrivilege")),
            Step::Value(json!(["SeDebugPrivilege", "SeBackupPrivilege"]))
        );
        assert_eq!(ws.apply(json!("  ")), Step::Absent);
        let comma = t("split", json!({"sep": ","}));
        assert_eq!(comma.apply(json!("a, b,,")), Step::Value(json!(["a", "b"])));
    }

    #[test]
    fn users_hashes_endpoints() {
        let user = t("split_domain_user", json!({"part": "user"}));
        let dom = t("split_domain_user", json!({"part": "domain"}));
        assert_eq!(
            user.apply(json!("NT AUTHORITY\\SYSTEM")),
            Step::Value(json!("SYSTEM"))
        );
        assert_eq!(
            dom.apply(json!("NT AUTHORITY\\SYSTEM")),
            Step::Value(json!("NT AUTHORITY"))
        );
        assert_eq!(user.apply(json!("bob")), Step::Value(json!("bob")));
        assert_eq!(dom.apply(json!("bob")), Step::Absent);
        let h = t(
            "parse_hashes",
            json!({"algorithms": {"MD5": 1, "SHA1": 2, "SHA256": 3}}),
        );
        assert_eq!(
            h.apply(json!("SHA256=bbb,SHA256=bbb,MD5=aaa,IMPHash=ccc")),
            Step::Value(json!([
                {"algorithm_id": 1, "value": "aaa"},
                {"algorithm_id": 3, "value": "bbb"},
                {"algorithm": "IMPHash", "algorithm_id": 99, "value": "ccc"}
            ]))
        );
        assert!(matches!(h.apply(json!("garbage")), Step::Rejected(_)));
        let host = t("split_host_port", json!({"part": "host"}));
        let port = t("split_host_port", json!({"part": "port"}));
        assert_eq!(host.apply(json!("[::1]:443")), Step::Value(json!("::1")));
        assert_eq!(port.apply(json!("10.0.0.1:80")), Step::Value(json!("80")));
        assert!(matches!(port.apply(json!("::1")), Step::Rejected(_)));
        let ip = t("ip", json!({}));
        assert!(matches!(ip.apply(json!("nope")), Step::Rejected(_)));
        assert_eq!(
            ip.apply(json!("::ffff:10.0.0.1")),
            Step::Value(json!("::ffff:10.0.0.1"))
        );
    }

    #[test]
    fn maps_paths_arrays() {
        let m = t("map", json!({"table": "proto", "ignore_case": true}));
        assert_eq!(m.apply(json!("TCP")), Step::Value(json!(6)));
        assert_eq!(m.apply(json!("udp")), Step::Absent);
        let m = t("map", json!({"entries": {"a": 1}, "default": 99}));
        assert_eq!(m.apply(json!("b")), Step::Value(json!(99)));
        assert_eq!(
            t("basename", json!({})).apply(json!("C:\\a\\b.exe")),
            Step::Value(json!("b.exe"))
        );
        // a registry path ending in \ names no value
        assert_eq!(
            t("basename", json!({})).apply(json!("HKLM\\Run\\")),
            Step::Absent
        );
        let base = t("basename", json!({"ignore_trailing": true}));
        assert_eq!(
            base.apply(json!("/var/tmp/.hidden-directory/")),
            Step::Value(json!(".hidden-directory"))
        );
        assert_eq!(
            base.apply(json!("victim-files/")),
            Step::Value(json!("victim-files"))
        );
        assert_eq!(base.apply(json!("/")), Step::Absent);
        assert_eq!(base.apply(json!("\\")), Step::Absent);
        assert_eq!(
            t("dirname", json!({})).apply(json!("/etc/ssh/x")),
            Step::Value(json!("/etc/ssh"))
        );
        assert_eq!(
            t("dirname", json!({})).apply(json!("/x")),
            Step::Value(json!("/"))
        );
        assert_eq!(
            t("join", json!({})).apply(json!(["id", "-u"])),
            Step::Value(json!("id -u"))
        );
        assert_eq!(
            t("first", json!({})).apply(json!(["a", "b"])),
            Step::Value(json!("a"))
        );
        assert_eq!(
            t("format", json!({"template": "audit({})"})).apply(json!("1.2:3")),
            Step::Value(json!("audit(1.2:3)"))
        );
        let pass = t(
            "map",
            json!({"entries": {"59": "execve"}, "passthrough": true}),
        );
        assert_eq!(pass.apply(json!("59")), Step::Value(json!("execve")));
        assert_eq!(pass.apply(json!("openat")), Step::Value(json!("openat")));
        let msg = "op=adding user id=999 exe=\"/usr/sbin/useradd\" hostname=? res=success";
        let kv = t("kv_get", json!({"key": "id"}));
        assert_eq!(kv.apply(json!(msg)), Step::Value(json!("999")));
        let kv = t("kv_get", json!({"key": "exe"}));
        assert_eq!(
            kv.apply(json!(msg)),
            Step::Value(json!("/usr/sbin/useradd"))
        );
        let kv = t("kv_get", json!({"key": "acct"}));
        assert_eq!(kv.apply(json!(msg)), Step::Absent);
        assert_eq!(
            kv.apply(json!("acct=\"John Smith\" res=failed")),
            Step::Value(json!("John Smith"))
        );
        let ip = t("sockaddr", json!({"part": "ip"}));
        let port = t("sockaddr", json!({"part": "port"}));
        assert_eq!(
            ip.apply(json!("020001BB5DB8D8220000000000000000")),
            Step::Value(json!("93.184.216.34"))
        );
        assert_eq!(
            port.apply(json!("020001BB5DB8D8220000000000000000")),
            Step::Value(json!(443))
        );
        let v6 = "0A000050000000000000000000000000000000000000000100000000";
        assert_eq!(ip.apply(json!(v6)), Step::Value(json!("::1")));
        assert_eq!(port.apply(json!(v6)), Step::Value(json!(80)));
        assert_eq!(ip.apply(json!("01002F746D70")), Step::Absent);
        assert_eq!(ip.apply(json!("zz")), Step::Absent);
        let tc = t("trim_chars", json!({"chars": "{}"}));
        assert_eq!(tc.apply(json!("{AB-cd}")), Step::Value(json!("AB-cd")));
        let wrap = t("format", json!({"template": "{{}}"}));
        assert_eq!(wrap.apply(json!("ab")), Step::Value(json!("{ab}")));
    }

    /// The borrowed fast path gives exactly what the owned path gives, for every transform
    /// kind over inputs that exercise each branch (unchanged, changed, absent, rejected).
    #[test]
    fn borrowed_path_equals_owned_path() {
        let specs = [
            ("trim", json!({})),
            ("lowercase", json!({})),
            ("uppercase", json!({})),
            ("to_string", json!({})),
            ("parse_int", json!({})),
            ("parse_int", json!({"hex": true, "min": 0, "max": 65535})),
            ("parse_int", json!({"octal": true})),
            (
                "parse_time",
                json!({"formats": ["rfc3339", "space_utc", "epoch_s", "epoch_ms"]}),
            ),
            ("absent_if_in_set", json!({"set": "ph"})),
            (
                "absent_if_in_set",
                json!({"set": "ph", "ignore_case": true}),
            ),
            ("split_domain_user", json!({"part": "domain"})),
            ("split_domain_user", json!({"part": "user"})),
            ("map", json!({"table": "proto"})),
            ("map", json!({"table": "proto", "ignore_case": true})),
            (
                "map",
                json!({"entries": {"a": null, "b": 2}, "default": 99}),
            ),
            (
                "map",
                json!({"entries": {"59": "execve"}, "passthrough": true}),
            ),
            ("basename", json!({})),
            ("basename", json!({"ignore_trailing": true})),
            ("dirname", json!({})),
            ("trim_chars", json!({"chars": "{}"})),
            ("strip_prefix", json!({"prefix": "0x"})),
            ("format", json!({"template": "<{}>"})),
            ("kv_get", json!({"key": "a"})),
            ("split", json!({})),
            ("ip", json!({})),
            ("join", json!({})),
            ("first", json!({})),
        ];
        let inputs = [
            json!(""),
            json!(" "),
            json!("-"),
            json!("abc"),
            json!("  Mixed Case\t"),
            json!("TCP"),
            json!("tcp"),
            json!("Ünïcode-TCP"),
            json!("NT AUTHORITY\\SYSTEM"),
            json!("\\user"),
            json!("domain\\"),
            json!("C:\\Windows\\System32\\cmd.exe"),
            json!("/var/tmp/dir/"),
            json!("/"),
            json!("file"),
            json!("{AB-cd}"),
            json!("0x3f0"),
            json!("0100644"),
            json!("70000"),
            json!("-5"),
            json!("59"),
            json!("a"),
            json!("b"),
            json!("2019-07-19T14:42:51.4462809Z"),
            json!("2019-07-19 14:42:51.257"),
            json!("1795343951.263"),
            json!("a=1 b=2"),
            json!("10.0.0.1"),
            json!(42),
            json!(true),
            json!(["a", "-", "TCP"]),
            json!(null),
        ];
        for (op, args) in &specs {
            let tr = t(op, args.clone());
            for v in &inputs {
                let owned = tr.apply(v.clone());
                let borrowed = tr.apply_cow(Cow::Borrowed(v)).into_step();
                assert_eq!(borrowed, owned, "{op} {args} on {v}");
                let owned_in = tr.apply_cow(Cow::Owned(v.clone())).into_step();
                assert_eq!(owned_in, owned, "{op} {args} on owned {v}");
            }
        }
    }

    #[test]
    fn compile_errors() {
        let env = CompileEnv {
            sets: &BTreeMap::new(),
            tables: &BTreeMap::new(),
        };
        let none = BTreeMap::new();
        assert!(Transform::compile("nope", &none, &env).is_err());
        assert!(Transform::compile("absent_if_in_set", &none, &env).is_err());
        let bad: BTreeMap<String, Value> = BTreeMap::from([("bogus".into(), json!(1))]);
        assert!(Transform::compile("trim", &bad, &env).is_err());
    }
}
