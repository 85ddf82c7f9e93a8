//! Applying a compiled transform to one value.
//!
//! Each op is written once, in [`Transform::eval`]: it reads a scalar in place (a string's own
//! text, a number or boolean printed) and says what the transform makes of it, [`Out::Same`]
//! when that is the input itself. [`Transform::apply_cow`] drives it over a value that may be
//! borrowed from the record or owned: an unchanged input is handed back as it came (still
//! borrowed, or moved), so a value is copied only when a transform changes it. Arrays are
//! walked element by element without copying the array first, and the array transforms
//! (`join`, `first`, `unique`) take the elements the same way.

use std::borrow::Cow;
use std::collections::BTreeSet;

use serde_json::Value;

#[cfg(test)]
use super::Step;
use super::text::{
    decode_sockaddr, in_set, kv_get, parse_hashes, parse_int, parse_time, split_host_port, text_of,
};
use super::{CowStep, Part, Transform};

/// What a transform made of one scalar input.
enum Out {
    /// The input, unchanged.
    Same,
    New(Value),
    Absent,
    Rejected(String),
}

impl Out {
    /// A new string value.
    fn string(s: &str) -> Out {
        Out::New(Value::String(s.to_string()))
    }

    /// `part`, a slice of the text `s`: [`Out::Same`] when it is all of `s`.
    fn slice(s: &str, part: &str) -> Out {
        if part.len() == s.len() {
            Out::Same
        } else {
            Out::string(part)
        }
    }
}

/// `f` on the text of a scalar `v` (`None` for null, arrays and objects). [`Out::Same`] from
/// `f` means the text unchanged: that is `v` itself when `v` is a string, and the printed text
/// as a string when `v` is a number or boolean.
fn on_text(v: &Value, f: impl FnOnce(&str) -> Out) -> Option<Out> {
    Some(match text_of(v)? {
        Cow::Borrowed(s) => f(s),
        Cow::Owned(s) => match f(&s) {
            Out::Same => Out::New(Value::String(s)),
            out => out,
        },
    })
}

/// [`on_text`] for a transform that takes a string (a printed number or boolean too).
fn text(v: &Value, f: impl FnOnce(&str) -> Out) -> Out {
    on_text(v, f).unwrap_or_else(|| Out::Rejected(format!("{v} is not a string")))
}

/// The elements an array is read as (borrowed or moved out, as the array was), or a scalar
/// read as its one element.
enum Items<'a> {
    Borrowed(std::slice::Iter<'a, Value>),
    Owned(std::vec::IntoIter<Value>),
    One(Option<Cow<'a, Value>>),
}

impl<'a> Items<'a> {
    fn of(v: Cow<'a, Value>) -> Self {
        match v {
            Cow::Borrowed(Value::Array(items)) => Items::Borrowed(items.iter()),
            Cow::Owned(Value::Array(items)) => Items::Owned(items.into_iter()),
            scalar => Items::One(Some(scalar)),
        }
    }
}

impl<'a> Iterator for Items<'a> {
    type Item = Cow<'a, Value>;

    fn next(&mut self) -> Option<Cow<'a, Value>> {
        match self {
            Items::Borrowed(it) => it.next().map(Cow::Borrowed),
            Items::Owned(it) => it.next().map(Cow::Owned),
            Items::One(v) => v.take(),
        }
    }
}

impl Transform {
    /// Apply to a value that may be borrowed from the record. The value is read in place: an
    /// input the transform leaves unchanged is returned as it came (not copied), a new value is
    /// derived from it without copying it first.
    pub(crate) fn apply_cow<'a>(&self, v: Cow<'a, Value>) -> CowStep<'a> {
        if self.takes_array() {
            return self.apply_array(Items::of(v));
        }
        let Some(len) = v.as_array().map(Vec::len) else {
            return self.apply_scalar(v);
        };
        // element-wise: absent elements dropped, array results spliced in
        let mut out = Vec::with_capacity(len);
        for item in Items::of(v) {
            match self.apply_scalar(item) {
                CowStep::Value(x) => match x.into_owned() {
                    Value::Array(inner) => out.extend(inner),
                    x => out.push(x),
                },
                CowStep::Absent => {}
                CowStep::Rejected(r) => return CowStep::Rejected(r),
            }
        }
        if out.is_empty() {
            CowStep::Absent
        } else {
            CowStep::Value(Cow::Owned(Value::Array(out)))
        }
    }

    /// Apply to an owned value: [`Self::apply_cow`] on it, the result owned.
    #[cfg(test)]
    pub(crate) fn apply(&self, v: Value) -> Step {
        self.apply_cow(Cow::Owned(v)).into_step()
    }

    fn takes_array(&self) -> bool {
        matches!(
            self,
            Transform::Join { .. } | Transform::First | Transform::Unique
        )
    }

    fn apply_scalar<'a>(&self, v: Cow<'a, Value>) -> CowStep<'a> {
        match self.eval(&v) {
            Out::Same => CowStep::Value(v),
            Out::New(x) => CowStep::Value(Cow::Owned(x)),
            Out::Absent => CowStep::Absent,
            Out::Rejected(r) => CowStep::Rejected(r),
        }
    }

    fn apply_array<'a>(&self, mut items: Items<'a>) -> CowStep<'a> {
        match self {
            Transform::First => items.next().map_or(CowStep::Absent, CowStep::Value),
            Transform::Unique => {
                let mut seen = BTreeSet::new();
                let out: Vec<Value> = items
                    .filter(|v| seen.insert(v.to_string()))
                    .map(Cow::into_owned)
                    .collect();
                CowStep::Value(Cow::Owned(Value::Array(out)))
            }
            Transform::Join { sep } => {
                let mut out = String::new();
                let mut any = false;
                for v in items {
                    let Some(s) = text_of(&v) else {
                        return CowStep::Rejected(format!("join: {v} is not a scalar"));
                    };
                    if any {
                        out.push_str(sep);
                    }
                    out.push_str(&s);
                    any = true;
                }
                if any {
                    CowStep::Value(Cow::Owned(Value::String(out)))
                } else {
                    CowStep::Absent
                }
            }
            _ => CowStep::Rejected("internal: not an array transform".into()),
        }
    }

    /// What this (scalar) transform makes of the scalar `v`: the one definition of each op.
    fn eval(&self, v: &Value) -> Out {
        match self {
            Transform::Trim => text(v, |s| {
                Out::slice(s, s.trim_matches(|c: char| c.is_ascii_whitespace()))
            }),
            Transform::Lowercase => text(v, |s| {
                if s.bytes().any(|b| b.is_ascii_uppercase()) {
                    Out::New(Value::String(s.to_ascii_lowercase()))
                } else {
                    Out::Same
                }
            }),
            Transform::Uppercase => text(v, |s| {
                if s.bytes().any(|b| b.is_ascii_lowercase()) {
                    Out::New(Value::String(s.to_ascii_uppercase()))
                } else {
                    Out::Same
                }
            }),
            Transform::ToString => on_text(v, |_| Out::Same)
                .unwrap_or_else(|| Out::Rejected(format!("to_string: {v} is not a scalar"))),
            Transform::ParseInt {
                hex,
                octal,
                min,
                max,
            } => {
                let n = match v {
                    Value::Number(n) => n.as_i64(),
                    Value::String(s) if *octal => i64::from_str_radix(s.trim(), 8).ok(),
                    Value::String(s) => parse_int(s.trim(), *hex),
                    _ => None,
                };
                match n {
                    Some(n) if min.is_none_or(|m| n >= m) && max.is_none_or(|m| n <= m) => {
                        Out::New(Value::from(n))
                    }
                    Some(n) => Out::Rejected(format!("parse_int: {n} is out of range")),
                    None => Out::Rejected(format!("parse_int: {v} is not an integer")),
                }
            }
            Transform::ParseTime { formats } => {
                match formats.iter().find_map(|f| parse_time(v, *f)) {
                    Some(ms) => Out::New(Value::from(ms)),
                    None => {
                        Out::Rejected(format!("parse_time: {v} is not a timestamp in {formats:?}"))
                    }
                }
            }
            Transform::AbsentIfInSet {
                set,
                ignore_case,
                max_len,
            } => match v {
                Value::String(s) if in_set(s, set, *ignore_case, *max_len) => Out::Absent,
                _ => Out::Same,
            },
            Transform::SplitDomainUser { part } => text(v, |s| match s.split_once('\\') {
                Some((d, u)) => {
                    let x = if *part == Part::First { d } else { u };
                    if x.is_empty() {
                        Out::Absent
                    } else {
                        Out::string(x)
                    }
                }
                None if *part == Part::Second && !s.is_empty() => Out::Same,
                None => Out::Absent,
            }),
            Transform::ParseHashes { ids, other_id } => {
                text(v, |s| match parse_hashes(s, ids, *other_id) {
                    Ok(Some(x)) => Out::New(x),
                    Ok(None) => Out::Absent,
                    Err(r) => Out::Rejected(r),
                })
            }
            Transform::SplitHostPort { part } => text(v, |s| match split_host_port(s) {
                Some((h, p)) => Out::string(if *part == Part::First { h } else { p }),
                None => Out::Rejected(format!("split_host_port: {s:?} is not host:port")),
            }),
            Transform::Map {
                table,
                ignore_case,
                default,
                passthrough,
            } => {
                // not `on_text`: a passed-through number stays a number
                let Some(key) = text_of(v) else {
                    return Out::Rejected(format!("map: {v} is not a scalar"));
                };
                let hit = if *ignore_case {
                    table.get(&key.to_lowercase())
                } else {
                    table.get(&*key)
                };
                match hit.or(default.as_ref()) {
                    Some(Value::Null) => Out::Absent,
                    Some(x) => Out::New(x.clone()),
                    None if *passthrough => Out::Same,
                    None => Out::Absent,
                }
            }
            Transform::Sockaddr { port } => text(v, |s| match decode_sockaddr(s) {
                Some((_, p)) if *port => Out::New(Value::from(p)),
                Some((ip, _)) => Out::New(Value::String(ip.to_string())),
                None => Out::Absent,
            }),
            Transform::KvGet { key } => {
                text(v, |s| kv_get(s, key).map_or(Out::Absent, Out::string))
            }
            Transform::LineKvGet { key } => text(v, |s| {
                let found = s.lines().find_map(|line| {
                    let (k, val) = line.trim().split_once('=')?;
                    (k.trim() == key).then(|| val.trim())
                });
                match found {
                    Some(x) if !x.is_empty() => Out::string(x),
                    _ => Out::Absent,
                }
            }),
            Transform::Split { sep } => text(v, |s| {
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
                    Out::Absent
                } else {
                    Out::New(Value::Array(parts))
                }
            }),
            Transform::BitAnd { mask } => match v.as_i64() {
                Some(n) => Out::New(Value::from(n & mask)),
                None => Out::Rejected(format!("bit_and: {v} is not an integer")),
            },
            Transform::Basename {
                ignore_trailing,
                keep_empty,
            } => text(v, |s| {
                let t = if *ignore_trailing {
                    s.trim_end_matches(['\\', '/'])
                } else {
                    s
                };
                let b = t.rsplit(['\\', '/']).next().unwrap_or(t);
                if b.is_empty() && !*keep_empty {
                    Out::Absent
                } else {
                    Out::slice(s, b)
                }
            }),
            Transform::Dirname => text(v, |s| match s.rfind(['\\', '/']) {
                Some(0) => Out::string(&s[..1]),
                Some(i) => Out::string(&s[..i]),
                None => Out::Absent,
            }),
            Transform::Format { before, after } => on_text(v, |s| {
                let mut out = String::with_capacity(before.len() + s.len() + after.len());
                out.push_str(before);
                out.push_str(s);
                out.push_str(after);
                Out::New(Value::String(out))
            })
            .unwrap_or_else(|| Out::Rejected(format!("format: {v} is not a scalar"))),
            Transform::Ip => text(v, |s| {
                let t = s.trim().trim_start_matches('[').trim_end_matches(']');
                match t.parse::<std::net::IpAddr>() {
                    Ok(ip) => Out::New(Value::String(ip.to_string())),
                    Err(_) => Out::Rejected(format!("ip: {s:?} is not an IP address")),
                }
            }),
            Transform::StripPrefix { prefix } => {
                text(v, |s| match s.strip_prefix(prefix.as_str()) {
                    Some(rest) if !prefix.is_empty() => Out::string(rest),
                    _ => Out::Same,
                })
            }
            Transform::TrimChars { chars } => {
                text(v, |s| Out::slice(s, s.trim_matches(chars.as_slice())))
            }
            Transform::Join { .. } | Transform::First | Transform::Unique => {
                Out::Rejected("internal: array transform on a scalar".into())
            }
        }
    }
}
