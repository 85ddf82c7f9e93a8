//! Source paths (where a rule reads from a [`SourceRecord`]) and target paths (where it writes
//! in the OCSF event).
//!
//! Source path syntax: `@<attr>` for record attributes (`@host` (else the caller's default
//! host), `@time_ms`, `@record_id`,
//! `@ordinal`, `@file`, `@source_type`, `@fields` = the whole `fields` value), or a dotted path into `SourceRecord::fields`. A segment
//! is a member name, an array index (`0`), `*` (every element of an array, or every member
//! value of an object: the path then yields several values), or a member name followed by `[k=v]` (the first element of the
//! array whose member `k` is the string `v`). Member names cannot contain `.`, `[` or `]`.

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use pa_sources::SourceRecord;
use serde_json::{Map, Value};

/// A record attribute outside `fields`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Attr {
    Host,
    TimeMs,
    RecordId,
    Ordinal,
    File,
    SourceType,
    Fields,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seg {
    Key(String),
    Index(usize),
    All,
    Filter { key: String, value: String },
}

/// A compiled source path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SourcePath {
    pub text: String,
    attr: Option<Attr>,
    segs: Vec<Seg>,
    /// Whether a segment is `*` (computed once at parse time).
    multi: bool,
    /// This path's entry in a [`Memo`] (paths with the same text share it; `NO_SLOT` until
    /// the profile is compiled).
    pub slot: usize,
    /// The entry of the path's first member (e.g. `EventData`) in a [`Memo`]'s roots.
    pub root_slot: usize,
    /// For `<root>.<member>...` paths: the entry of `<member>` in a [`Memo`]'s member index.
    pub member_slot: usize,
}

/// A small multiplicative string hasher (the Fx scheme) for the profile's member-name
/// tables: names are profile data, lookups only (no iteration order is ever observed).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct NameHasher {
    hash: u64,
}

impl NameHasher {
    fn add(&mut self, w: u64) {
        self.hash = (self.hash.rotate_left(5) ^ w).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl Hasher for NameHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut a = [0u8; 8];
            a.copy_from_slice(c);
            self.add(u64::from_le_bytes(a));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut a = [0u8; 8];
            a[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(a));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn finish(&self) -> u64 {
        self.hash
    }
}

/// The members of one root object (`EventData`, `System`, ...) that a profile's paths read:
/// name → member-index entry.
pub(crate) type MemberTable = HashMap<String, usize, BuildHasherDefault<NameHasher>>;

/// No memo entry.
pub(crate) const NO_SLOT: usize = usize::MAX;

/// Per-record memo of field-path values: each distinct path of a profile is walked at most
/// once per record, each first member (`System`, `EventData`, ...) looked up once, and the
/// members the profile reads from a root object found in one pass over that object.
pub(crate) struct Memo<'a> {
    paths: Vec<Option<Option<&'a Value>>>,
    roots: Vec<Option<Option<&'a Value>>>,
    /// Per root: whether its members were indexed.
    indexed: Vec<bool>,
    members: Vec<Option<&'a Value>>,
    tables: &'a [MemberTable],
}

impl<'a> Memo<'a> {
    /// An empty memo for a profile with `paths` distinct paths, `roots` first members and
    /// `tables[root]` the member names read from each root (`members` entries in all).
    pub(crate) fn new(
        paths: usize,
        roots: usize,
        members: usize,
        tables: &'a [MemberTable],
    ) -> Memo<'a> {
        Memo {
            paths: vec![None; paths],
            roots: vec![None; roots],
            indexed: vec![false; roots],
            members: vec![None; members],
            tables,
        }
    }
}

impl SourcePath {
    /// Parse a source path; the error says what is wrong.
    pub(crate) fn parse(text: &str) -> Result<SourcePath, String> {
        if let Some(name) = text.strip_prefix('@') {
            let attr = match name {
                "host" => Attr::Host,
                "time_ms" => Attr::TimeMs,
                "record_id" => Attr::RecordId,
                "ordinal" => Attr::Ordinal,
                "file" => Attr::File,
                "source_type" => Attr::SourceType,
                "fields" => Attr::Fields,
                _ => {
                    return Err(format!(
                        "unknown record attribute {text:?} (expected @host, @time_ms, @record_id, @ordinal, @file, @source_type or @fields)"
                    ));
                }
            };
            return Ok(SourcePath {
                text: text.to_string(),
                attr: Some(attr),
                segs: Vec::new(),
                multi: false,
                slot: NO_SLOT,
                root_slot: NO_SLOT,
                member_slot: NO_SLOT,
            });
        }
        if text.is_empty() {
            return Err("empty source path".into());
        }
        let mut segs = Vec::new();
        for part in text.split('.') {
            if part.is_empty() {
                return Err(format!("source path {text:?} has an empty segment"));
            }
            if part == "*" {
                segs.push(Seg::All);
            } else if let Some(open) = part.find('[') {
                let name = &part[..open];
                let rest = &part[open + 1..];
                let inner = rest.strip_suffix(']').ok_or_else(|| {
                    format!("source path {text:?}: segment {part:?} lacks a closing ]")
                })?;
                let (k, v) = inner.split_once('=').ok_or_else(|| {
                    format!("source path {text:?}: filter [{inner}] is not of the form [key=value]")
                })?;
                if name.is_empty() || k.is_empty() || name.contains(']') || v.contains(['[', ']']) {
                    return Err(format!("source path {text:?}: malformed segment {part:?}"));
                }
                segs.push(Seg::Key(name.to_string()));
                segs.push(Seg::Filter {
                    key: k.to_string(),
                    value: v.to_string(),
                });
            } else if part.contains(']') {
                return Err(format!("source path {text:?}: malformed segment {part:?}"));
            } else if part.bytes().all(|b| b.is_ascii_digit()) {
                let i = part
                    .parse()
                    .map_err(|_| format!("source path {text:?}: index {part:?} is too large"))?;
                segs.push(Seg::Index(i));
            } else {
                segs.push(Seg::Key(part.to_string()));
            }
        }
        let multi = segs.contains(&Seg::All);
        Ok(SourcePath {
            text: text.to_string(),
            attr: None,
            segs,
            multi,
            slot: NO_SLOT,
            root_slot: NO_SLOT,
            member_slot: NO_SLOT,
        })
    }

    /// Whether the path can yield several values (contains `*`).
    pub(crate) fn is_multi(&self) -> bool {
        self.multi
    }

    /// When this path is `<prefix>.<name>` for the given object path, the member name
    /// (`@fields` is the root of the field paths).
    pub(crate) fn member_of(&self, prefix: &SourcePath) -> Option<&str> {
        let prefix_is_root = prefix.attr == Some(Attr::Fields);
        if self.attr.is_some() || (prefix.attr.is_some() && !prefix_is_root) {
            return None;
        }
        if self.segs.len() != prefix.segs.len() + 1 || !self.segs.starts_with(&prefix.segs) {
            return None;
        }
        match self.segs.last() {
            Some(Seg::Key(k)) => Some(k),
            _ => None,
        }
    }

    /// The value of a record attribute path (`None` for field paths).
    fn attr_value<'a>(
        attr: Attr,
        rec: &'a SourceRecord,
        default_host: Option<&str>,
    ) -> Option<Cow<'a, Value>> {
        let v = match attr {
            Attr::Host => rec
                .host
                .clone()
                .or_else(|| default_host.map(str::to_string))
                .map(Value::String),
            Attr::TimeMs => rec.time_ms.map(Value::from),
            Attr::RecordId => rec.provenance.record_id.map(Value::from),
            Attr::Ordinal => Some(Value::from(rec.provenance.ordinal)),
            Attr::File => Some(Value::String(rec.provenance.file.clone())),
            Attr::SourceType => Some(Value::String(rec.source_type.as_str().to_string())),
            Attr::Fields => return Some(Cow::Borrowed(&rec.fields)),
        };
        v.map(Cow::Owned)
    }

    /// The one value a path without `*` reaches (borrowed from the record where it can be),
    /// walking the precompiled segments without allocating; `None` when absent or null.
    /// A multi path yields its first value here: callers that want them all use
    /// [`Self::resolve_with`].
    pub(crate) fn resolve_one<'a>(
        &self,
        rec: &'a SourceRecord,
        default_host: Option<&str>,
    ) -> Option<Cow<'a, Value>> {
        if let Some(attr) = self.attr {
            return Self::attr_value(attr, rec, default_host);
        }
        if self.multi {
            return self.resolve_with(rec, default_host).into_iter().next();
        }
        walk_one(&rec.fields, &self.segs).map(Cow::Borrowed)
    }

    /// The first member name of a field path (`None` for attributes and paths that start
    /// otherwise).
    pub(crate) fn first_key(&self) -> Option<&str> {
        match (self.attr, self.segs.first()) {
            (None, Some(Seg::Key(k))) => Some(k),
            _ => None,
        }
    }

    /// The second member name of a `<key>.<key>...` field path.
    pub(crate) fn second_key(&self) -> Option<&str> {
        match (self.attr, self.segs.first(), self.segs.get(1)) {
            (None, Some(Seg::Key(_)), Some(Seg::Key(k))) => Some(k),
            _ => None,
        }
    }

    /// [`Self::resolve_one`] through the record's memo (same result).
    pub(crate) fn resolve_memo<'a>(
        &self,
        rec: &'a SourceRecord,
        default_host: Option<&str>,
        memo: &mut Memo<'a>,
    ) -> Option<Cow<'a, Value>> {
        if self.attr.is_some() || self.multi {
            return self.resolve_one(rec, default_host);
        }
        if let Some(Some(hit)) = memo.paths.get(self.slot) {
            return hit.map(Cow::Borrowed);
        }
        let v = self.walk_memo(rec, memo);
        if let Some(s) = memo.paths.get_mut(self.slot) {
            *s = Some(v);
        }
        v.map(Cow::Borrowed)
    }

    fn walk_memo<'a>(&self, rec: &'a SourceRecord, memo: &mut Memo<'a>) -> Option<&'a Value> {
        let (cur, rest): (&'a Value, &[Seg]) =
            match (self.segs.first(), memo.roots.get(self.root_slot)) {
                (Some(Seg::Key(k)), Some(known)) => {
                    let root = match known {
                        Some(r) => *r,
                        None => {
                            let r = rec.fields.get(k.as_str());
                            memo.roots[self.root_slot] = Some(r);
                            r
                        }
                    };
                    let root = root?;
                    if self.member_slot == NO_SLOT {
                        (root, &self.segs[1..])
                    } else {
                        if !memo.indexed[self.root_slot] {
                            memo.indexed[self.root_slot] = true;
                            if let (Value::Object(m), Some(table)) =
                                (root, memo.tables.get(self.root_slot))
                            {
                                for (name, v) in m {
                                    if let Some(s) = table.get(name.as_str()) {
                                        memo.members[*s] = Some(v);
                                    }
                                }
                            }
                        }
                        (
                            memo.members.get(self.member_slot).copied().flatten()?,
                            &self.segs[2..],
                        )
                    }
                }
                _ => (&rec.fields, &self.segs[..]),
            };
        walk_one(cur, rest)
    }

    /// Every value the path reaches in the record (at most one unless [`Self::is_multi`]);
    /// `@host` is the record's host.
    #[cfg(test)]
    pub(crate) fn resolve<'a>(&self, rec: &'a SourceRecord) -> Vec<Cow<'a, Value>> {
        self.resolve_with(rec, None)
    }

    /// Every value the path reaches in the record (at most one unless [`Self::is_multi`]);
    /// `@host` is the record's host, else `default_host` (the caller's
    /// `EventContext::host`).
    pub(crate) fn resolve_with<'a>(
        &self,
        rec: &'a SourceRecord,
        default_host: Option<&str>,
    ) -> Vec<Cow<'a, Value>> {
        if let Some(attr) = self.attr {
            return Self::attr_value(attr, rec, default_host)
                .into_iter()
                .collect();
        }
        let mut cur: Vec<&'a Value> = vec![&rec.fields];
        for seg in &self.segs {
            let mut next = Vec::with_capacity(cur.len());
            for v in cur {
                match seg {
                    Seg::Key(k) => {
                        if let Some(x) = v.get(k.as_str()) {
                            next.push(x);
                        }
                    }
                    Seg::Index(i) => {
                        if let Some(x) = v.as_array().and_then(|a| a.get(*i)) {
                            next.push(x);
                        }
                    }
                    Seg::All => match v {
                        Value::Array(a) => next.extend(a.iter()),
                        // the members of an object, in name order (`UserData.*`: the one
                        // element a Windows event's UserData holds, whatever its name)
                        Value::Object(m) => next.extend(m.values()),
                        _ => {}
                    },
                    Seg::Filter { key, value } => {
                        if let Some(a) = v.as_array() {
                            if let Some(x) = a.iter().find(|e| {
                                e.get(key.as_str()).and_then(Value::as_str) == Some(value)
                            }) {
                                next.push(x);
                            }
                        }
                    }
                }
            }
            cur = next;
            if cur.is_empty() {
                break;
            }
        }
        cur.into_iter()
            .filter(|v| !v.is_null())
            .map(Cow::Borrowed)
            .collect()
    }
}

/// A compiled target path (dotted, member names only).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct TargetPath {
    pub text: String,
    pub segs: Vec<String>,
    /// The segments' member-name symbols (given by `crate::build::Symbols::intern` once the
    /// tree is loaded; empty before).
    pub ids: Vec<u32>,
}

impl TargetPath {
    pub(crate) fn parse(text: &str) -> Result<TargetPath, String> {
        let segs: Vec<String> = text.split('.').map(str::to_string).collect();
        if segs.iter().any(|s| {
            s.is_empty()
                || !s
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        }) {
            return Err(format!(
                "target path {text:?} must be dotted names of [A-Za-z0-9_-]"
            ));
        }
        Ok(TargetPath {
            text: text.to_string(),
            segs,
            ids: Vec::new(),
        })
    }

    /// Whether `self` is a strict prefix of `other` (so both cannot be set).
    pub(crate) fn is_strict_prefix_of(&self, other: &TargetPath) -> bool {
        self.segs.len() < other.segs.len() && other.segs.starts_with(&self.segs)
    }
}

/// Set `value` at `segs` inside `obj`, creating objects on the way. A non-object in the way is
/// replaced (load-time checks keep targets from overlapping, so this does not happen for
/// compiled profiles).
pub(crate) fn set_path(obj: &mut Map<String, Value>, segs: &[String], value: Value) {
    let Some((last, init)) = segs.split_last() else {
        return;
    };
    let mut cur = obj;
    for s in init {
        // an existing object is entered without allocating its key; a missing member (or a
        // non-object, replaced in place) becomes an empty object
        if !matches!(cur.get(s.as_str()), Some(Value::Object(_))) {
            cur.insert(s.clone(), Value::Object(Map::new()));
        }
        let Some(Value::Object(m)) = cur.get_mut(s.as_str()) else {
            return;
        };
        cur = m;
    }
    match cur.get_mut(last.as_str()) {
        Some(slot) => *slot = value,
        None => {
            cur.insert(last.clone(), value);
        }
    }
}

/// Read the value at `segs` inside `obj`.
pub(crate) fn get_path<'a>(obj: &'a Map<String, Value>, segs: &[String]) -> Option<&'a Value> {
    let (first, rest) = segs.split_first()?;
    let mut cur = obj.get(first)?;
    for s in rest {
        cur = cur.get(s.as_str())?;
    }
    Some(cur)
}

/// Walk `segs` (no `*`) down from `cur`: the one value reached, `None` when absent or null.
fn walk_one<'a>(mut cur: &'a Value, segs: &[Seg]) -> Option<&'a Value> {
    for seg in segs {
        cur = match seg {
            Seg::Key(k) => cur.get(k.as_str())?,
            Seg::Index(i) => cur.as_array()?.get(*i)?,
            Seg::Filter { key, value } => cur
                .as_array()?
                .iter()
                .find(|e| e.get(key.as_str()).and_then(Value::as_str) == Some(value))?,
            Seg::All => return None,
        };
    }
    (!cur.is_null()).then_some(cur)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pa_sources::{Provenance, SourceType};
    use serde_json::json;

    fn rec(fields: Value) -> SourceRecord {
        SourceRecord {
            source_type: SourceType::LinuxAuditd,
            provenance: Provenance {
                file: "f.log".into(),
                offset: None,
                ordinal: 7,
                record_id: Some(9),
            },
            time_ms: Some(5),
            host: None,
            fields,
            raw: String::new(),
        }
    }

    #[test]
    fn resolve_keys_filters_and_wildcards() {
        let r = rec(json!({"records": [
            {"type": "SYSCALL", "fields": {"exe": "/bin/id"}},
            {"type": "PATH", "fields": {"name": "a"}},
            {"type": "PATH", "fields": {"name": "b"}}
        ], "n": null}));
        let p = SourcePath::parse("records[type=SYSCALL].fields.exe").unwrap();
        assert_eq!(p.resolve(&r), vec![Cow::Owned::<Value>(json!("/bin/id"))]);
        let p = SourcePath::parse("records.*.type").unwrap();
        assert!(p.is_multi());
        let got: Vec<Value> = p.resolve(&r).into_iter().map(Cow::into_owned).collect();
        assert_eq!(got, vec![json!("SYSCALL"), json!("PATH"), json!("PATH")]);
        let p = SourcePath::parse("records.2.fields.name").unwrap();
        assert_eq!(p.resolve(&r)[0].as_ref(), &json!("b"));
        assert!(SourcePath::parse("n").unwrap().resolve(&r).is_empty());
        assert!(
            SourcePath::parse("records[type=X].fields")
                .unwrap()
                .resolve(&r)
                .is_empty()
        );
        assert_eq!(
            SourcePath::parse("@ordinal").unwrap().resolve(&r)[0].as_ref(),
            &json!(7)
        );
        assert!(SourcePath::parse("@host").unwrap().resolve(&r).is_empty());
        let host = SourcePath::parse("@host").unwrap();
        assert_eq!(
            host.resolve_with(&r, Some("lab1"))[0].as_ref(),
            &json!("lab1")
        );
        let mut named = r.clone();
        named.host = Some("node7".into());
        assert_eq!(
            host.resolve_with(&named, Some("lab1"))[0].as_ref(),
            &json!("node7"),
            "the record's own host wins over the default"
        );
    }

    #[test]
    fn bad_paths_are_rejected() {
        for bad in ["", "a..b", "a[b", "a[b]", "@nope", "a]b", "[k=v]"] {
            assert!(SourcePath::parse(bad).is_err(), "{bad}");
        }
        assert!(TargetPath::parse("a.b c").is_err());
        assert!(TargetPath::parse("a..b").is_err());
    }

    #[test]
    fn member_of_and_prefixes() {
        let obj = SourcePath::parse("EventData").unwrap();
        assert_eq!(
            SourcePath::parse("EventData.Image")
                .unwrap()
                .member_of(&obj),
            Some("Image")
        );
        assert_eq!(
            SourcePath::parse("System.Image").unwrap().member_of(&obj),
            None
        );
        let a = TargetPath::parse("process.file").unwrap();
        let b = TargetPath::parse("process.file.path").unwrap();
        assert!(a.is_strict_prefix_of(&b) && !b.is_strict_prefix_of(&a));
        let mut m = Map::new();
        set_path(&mut m, &b.segs, json!(1));
        assert_eq!(get_path(&m, &b.segs), Some(&json!(1)));
    }
}
