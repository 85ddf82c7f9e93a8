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

    /// The finished tree as a map (members in insertion order).
    pub(crate) fn into_map(self, symbols: &Symbols) -> Map<String, Value> {
        members_into_map(self.root, symbols)
    }
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
}
