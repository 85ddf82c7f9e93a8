//! The event under construction: a tree keyed by interned member names.
//!
//! Every target path of a compiled profile is interned at load time (each member name gets a
//! symbol id, see [`Symbols`]), so building an event compares small integers instead of
//! hashing and comparing strings, and allocates each member name once, when the finished tree
//! becomes a `serde_json::Map` ([`Builder::into_map`]). Objects are short member lists in
//! insertion order; [`Builder::set`] and [`Builder::get`] behave exactly as
//! [`crate::path::set_path`] and [`crate::path::get_path`] on a map (a later value replaces an
//! earlier one in place; a non-object in the way is replaced by an object; a path that enters
//! an emitted object value continues inside it).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::path::{TargetPath, get_path, set_path};

/// Member-name symbols of a compiled tree.
#[derive(Debug, Clone, Default)]
pub(crate) struct Symbols {
    ids: BTreeMap<String, u32>,
    names: Vec<String>,
}

/// Symbols every tree interns first, in this order.
pub(crate) const SYM_CLASS_UID: u32 = 0;
pub(crate) const SYM_CATEGORY_UID: u32 = 1;
pub(crate) const SYM_TIME: u32 = 2;
pub(crate) const SYM_ACTIVITY_ID: u32 = 3;
pub(crate) const SYM_TYPE_UID: u32 = 4;
pub(crate) const SYM_SEVERITY_ID: u32 = 5;
const FIXED: [&str; 6] = [
    "class_uid",
    "category_uid",
    "time",
    "activity_id",
    "type_uid",
    "severity_id",
];

impl Symbols {
    /// A table holding the fixed symbols (`SYM_*`).
    pub(crate) fn new() -> Symbols {
        let mut s = Symbols::default();
        for name in FIXED {
            s.id(name);
        }
        s
    }

    /// The id of `name` (interned on first use).
    pub(crate) fn id(&mut self, name: &str) -> u32 {
        if let Some(id) = self.ids.get(name) {
            return *id;
        }
        let id = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
        self.ids.insert(name.to_string(), id);
        self.names.push(name.to_string());
        id
    }

    /// Give `path` the ids of its segments.
    pub(crate) fn intern(&mut self, path: &mut TargetPath) {
        path.ids = path.segs.iter().map(|s| self.id(s)).collect();
    }

    /// The member name of a symbol.
    pub(crate) fn name(&self, id: u32) -> &str {
        self.names.get(id as usize).map_or("", String::as_str)
    }
}

/// A member value: a finished value, or an object still being built.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    Leaf(Value),
    Obj(Members),
}

/// An object's members in insertion order (few per object: a linear scan beats hashing).
pub(crate) type Members = Vec<(u32, Node)>;

/// What a path reaches: a node of the tree, or a value inside an emitted object value.
pub(crate) enum Got<'b> {
    Node(&'b Node),
    Value(&'b Value),
}

impl<'b> Got<'b> {
    /// The value when it is a finished one (`None` for an object under construction, which is
    /// neither a scalar nor an integer).
    pub(crate) fn value(&self) -> Option<&'b Value> {
        match *self {
            Got::Node(Node::Leaf(v)) | Got::Value(v) => Some(v),
            Got::Node(Node::Obj(_)) => None,
        }
    }
}

fn find(m: &Members, id: u32) -> Option<usize> {
    m.iter().position(|(k, _)| *k == id)
}

/// An event (or identity basis) under construction.
#[derive(Debug, Clone, Default)]
pub(crate) struct Builder {
    root: Members,
}

impl Builder {
    /// An empty tree with room for `n` top-level members.
    pub(crate) fn with_capacity(n: usize) -> Builder {
        Builder {
            root: Vec::with_capacity(n),
        }
    }

    /// Set a top-level member.
    pub(crate) fn set_root(&mut self, id: u32, v: Value) {
        match find(&self.root, id) {
            Some(i) => self.root[i].1 = Node::Leaf(v),
            None => self.root.push((id, Node::Leaf(v))),
        }
    }

    /// A top-level member.
    pub(crate) fn get_root(&self, id: u32) -> Option<&Node> {
        find(&self.root, id).map(|i| &self.root[i].1)
    }

    /// Set `v` at `path` (as [`set_path`] does on a map).
    pub(crate) fn set(&mut self, path: &TargetPath, v: Value) {
        let Some((last, init)) = path.ids.split_last() else {
            return;
        };
        let mut cur = &mut self.root;
        for (d, id) in init.iter().enumerate() {
            let i = match find(cur, *id) {
                Some(i) => {
                    match &mut cur[i].1 {
                        Node::Obj(_) => {}
                        // an emitted object value: continue inside it
                        Node::Leaf(Value::Object(m)) => {
                            set_path(m, &path.segs[d + 1..], v);
                            return;
                        }
                        other => *other = Node::Obj(Vec::new()),
                    }
                    i
                }
                None => {
                    cur.push((*id, Node::Obj(Vec::new())));
                    cur.len() - 1
                }
            };
            let Node::Obj(next) = &mut cur[i].1 else {
                return;
            };
            cur = next;
        }
        match find(cur, *last) {
            Some(i) => cur[i].1 = Node::Leaf(v),
            None => cur.push((*last, Node::Leaf(v))),
        }
    }

    /// What `path` reaches (as [`get_path`] does on a map).
    pub(crate) fn get(&self, path: &TargetPath) -> Option<Got<'_>> {
        let mut cur = &self.root;
        let n = path.ids.len();
        for (d, id) in path.ids.iter().enumerate() {
            let node = &cur[find(cur, *id)?].1;
            if d + 1 == n {
                return Some(Got::Node(node));
            }
            match node {
                Node::Obj(m) => cur = m,
                Node::Leaf(Value::Object(m)) => {
                    return get_path(m, &path.segs[d + 1..]).map(Got::Value);
                }
                Node::Leaf(_) => return None,
            }
        }
        None
    }

    /// Append the RFC 8785 (JCS) bytes of the tree to `out` when it is in the plain subset
    /// this writer handles (every member name ASCII, so byte order is UTF-16 order; numbers
    /// only integers within ±(2^53−1)): `false` otherwise, `out` then being unspecified and
    /// the caller canonicalizing the map with `pa_canon::jcs_value` instead.
    pub(crate) fn write_jcs(&self, symbols: &Symbols, out: &mut Vec<u8>) -> bool {
        jcs_members(&self.root, symbols, out)
    }

    /// The finished tree as a map (members in insertion order).
    pub(crate) fn into_map(self, symbols: &Symbols) -> Map<String, Value> {
        members_into_map(self.root, symbols)
    }
}

fn jcs_members(members: &Members, symbols: &Symbols, out: &mut Vec<u8>) -> bool {
    let sorted = members
        .iter()
        .map(|(id, n)| (symbols.name(*id), n))
        .collect();
    jcs_object(sorted, out, |n, out| match n {
        Node::Leaf(v) => jcs_value(v, out),
        Node::Obj(m) => jcs_members(m, symbols, out),
    })
}

/// An object's members in RFC 8785 order (ASCII names only: their UTF-16 order is byte
/// order; `false` otherwise, as for any value `write` refuses).
fn jcs_object<T>(
    mut members: Vec<(&str, T)>,
    out: &mut Vec<u8>,
    mut write: impl FnMut(T, &mut Vec<u8>) -> bool,
) -> bool {
    if !members.iter().all(|(k, _)| k.is_ascii()) {
        return false;
    }
    members.sort_unstable_by(|a, b| a.0.cmp(b.0));
    out.push(b'{');
    for (i, (k, x)) in members.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        pa_canon::write_jcs_string(out, k);
        out.push(b':');
        if !write(x, out) {
            return false;
        }
    }
    out.push(b'}');
    true
}

const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

fn jcs_value(v: &Value, out: &mut Vec<u8>) -> bool {
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                if u > MAX_SAFE_INTEGER {
                    return false;
                }
                out.extend_from_slice(u.to_string().as_bytes());
            } else if let Some(i) = n.as_i64() {
                if i.unsigned_abs() > MAX_SAFE_INTEGER {
                    return false;
                }
                out.extend_from_slice(i.to_string().as_bytes());
            } else {
                return false;
            }
        }
        Value::String(s) => pa_canon::write_jcs_string(out, s),
        Value::Array(items) => {
            out.push(b'[');
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                if !jcs_value(x, out) {
                    return false;
                }
            }
            out.push(b']');
        }
        Value::Object(m) => {
            let members = m.iter().map(|(k, x)| (k.as_str(), x)).collect();
            return jcs_object(members, out, jcs_value);
        }
    }
    true
}

fn members_into_map(members: Members, symbols: &Symbols) -> Map<String, Value> {
    let mut m = Map::with_capacity(members.len());
    for (id, node) in members {
        let v = match node {
            Node::Leaf(v) => v,
            Node::Obj(c) => Value::Object(members_into_map(c, symbols)),
        };
        m.insert(symbols.name(id).to_string(), v);
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tp(sym: &mut Symbols, text: &str) -> TargetPath {
        let mut p = TargetPath::parse(text).unwrap();
        sym.intern(&mut p);
        p
    }

    /// The builder and set_path/get_path on a map agree on value, member order and reads,
    /// including replacement in place, a leaf replaced by an object, and paths that continue
    /// inside an emitted object value.
    #[test]
    fn builder_matches_map_semantics() {
        let mut sym = Symbols::new();
        let steps: Vec<(&str, Value)> = vec![
            ("time", json!(1)),
            ("process.file.path", json!("C:\\a.exe")),
            ("device.name", json!("h")),
            ("process.pid", json!(4)),
            ("time", json!(2)),
            ("process.file.name", json!("a.exe")),
            ("device", json!("flat")),
            ("device.hostname", json!("h2")),
            ("actor", json!({"user": {"name": "u"}})),
            ("actor.user.uid", json!("S-1")),
            ("process.file", json!(7)),
        ];
        let mut b = Builder::with_capacity(4);
        let mut m = Map::new();
        for (p, v) in &steps {
            let t = tp(&mut sym, p);
            b.set(&t, v.clone());
            set_path(&mut m, &t.segs, v.clone());
            let built = b.clone().into_map(&sym);
            assert_eq!(
                serde_json::to_string(&built).unwrap(),
                serde_json::to_string(&m).unwrap(),
                "after {p}"
            );
        }
        for p in [
            "time",
            "process",
            "process.file",
            "process.file.path",
            "device.hostname",
            "actor.user.name",
            "actor.user.uid",
            "actor.nope",
            "nope",
            "time.x",
        ] {
            let t = tp(&mut sym, p);
            let got = b.get(&t).map(|g| match g {
                Got::Node(Node::Obj(_)) => json!("<object>"),
                g => g.value().cloned().unwrap_or(Value::Null),
            });
            let want = get_path(&m, &t.segs).map(|v| {
                if v.is_object() && b.get(&t).is_some_and(|g| g.value().is_none()) {
                    json!("<object>")
                } else {
                    v.clone()
                }
            });
            assert_eq!(got, want, "get {p}");
        }
        assert_eq!(
            b.get_root(SYM_TIME),
            Some(&Node::Leaf(json!(2))),
            "the later value wins"
        );
        assert_eq!(sym.name(SYM_SEVERITY_ID), "severity_id");
    }

    /// The JCS writer agrees byte for byte with `pa_canon::jcs_value`, and declines what it
    /// does not handle (unsafe integers, floats, non-ASCII member names).
    #[test]
    fn jcs_writer_matches_pa_canon() {
        let mut sym = Symbols::new();
        let cases: Vec<Vec<(&str, Value)>> = vec![
            vec![
                ("source_type", json!("sysmon")),
                ("origin.host", json!("WIN-Host.lab")),
                ("origin.record_id", json!(123456)),
                ("origin.event_id", json!(1)),
                (
                    "origin.channel",
                    json!("microsoft-windows-sysmon/operational"),
                ),
            ],
            vec![
                (
                    "a",
                    json!("quote \" back \\ nl \n tab \t cr \r ff \u{c} bs \u{8}"),
                ),
                ("b", json!("ctl \u{0} \u{1f} del \u{7f} é 漢 😀 \u{2028}")),
                ("c.d", json!(-9_007_199_254_740_991_i64)),
                ("c.e", json!(9_007_199_254_740_991_u64)),
                ("f", json!([1, "x", null, true, false, {"z": 1, "a": [2]}])),
                ("B", json!({"y": {"k": "v"}, "x": null})),
                ("_", json!(0)),
            ],
        ];
        for case in &cases {
            let mut b = Builder::default();
            for (p, v) in case {
                b.set(&tp(&mut sym, p), v.clone());
            }
            let mut out = Vec::new();
            assert!(b.write_jcs(&sym, &mut out), "{case:?}");
            let want = pa_canon::jcs_value(&Value::Object(b.clone().into_map(&sym))).unwrap();
            assert_eq!(
                String::from_utf8_lossy(&out),
                String::from_utf8_lossy(&want)
            );
        }
        for bad in [
            json!(9_007_199_254_740_992_u64),
            json!(-9_007_199_254_740_992_i64),
            json!(1.5),
            json!({"é": 1}),
        ] {
            let mut b = Builder::default();
            b.set(&tp(&mut sym, "x"), bad.clone());
            assert!(!b.write_jcs(&sym, &mut Vec::new()), "{bad}");
        }
        // (target paths are ASCII by construction: only emitted object values can carry
        // other member names, covered by the {"é": 1} case above)
    }
}
