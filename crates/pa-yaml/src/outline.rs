//! The outline of a YAML stream: where each node is (JSON pointer → line and column), how each
//! scalar was written (plain or quoted), and where anchors and aliases are.
//!
//! It reads the parser's event stream and builds no value: aliases are not expanded (an alias
//! bomb costs one event per alias written), and a budget on events bounds the work. Static checks
//! use it to point at the line of a JSON pointer, to find plain scalars that other YAML
//! versions read differently, and to refuse anchors (`pa.yaml_decode.v1`, SPEC §13).

use std::collections::HashMap;
use std::path::Path;

use serde_saphyr::granit_parser::{Event, Options, Parser, ScalarStyle, Span};

use crate::{FileError, FileErrorKind};

/// The most parser events one outline reads (a pathological stream stops here).
pub const MAX_EVENTS: usize = 2_000_000;

/// A position in the text (1-based line and column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Mark {
    /// 1-based line.
    pub line: u64,
    /// 1-based column (in characters).
    pub column: u64,
}

impl Mark {
    fn of(span: &Span) -> Mark {
        Mark {
            line: span.start.line() as u64,
            column: span.start.col() as u64 + 1,
        }
    }
}

/// The key of a mapping value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    /// The key's text (`?` for a key that is itself a collection).
    pub text: String,
    /// Where the key is written.
    pub mark: Mark,
    /// Whether the key is a plain (unquoted) scalar.
    pub plain: bool,
}

/// What a node is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeKind {
    /// A scalar: its text after escapes, and whether it was written plain (unquoted, not a
    /// block scalar).
    Scalar {
        /// The text.
        text: String,
        /// Plain style.
        plain: bool,
    },
    /// A sequence.
    Sequence,
    /// A mapping.
    Mapping,
    /// An alias (`*name`).
    Alias,
}

/// One node of a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Its RFC 6901 JSON pointer within the document (`""` for the root).
    pub pointer: String,
    /// Where the node's content starts.
    pub mark: Mark,
    /// Its key, when the node is a mapping value.
    pub key: Option<Key>,
    /// What it is.
    pub kind: NodeKind,
}

/// One document of the stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Document {
    /// The nodes in document order.
    pub nodes: Vec<Node>,
    /// Where anchors (`&name`) are defined.
    pub anchors: Vec<Mark>,
    /// Where aliases (`*name`) are used.
    pub aliases: Vec<Mark>,
    index: HashMap<String, usize>,
}

impl Document {
    /// The node at a JSON pointer.
    pub fn get(&self, pointer: &str) -> Option<&Node> {
        self.index.get(pointer).map(|&i| &self.nodes[i])
    }

    /// Where a JSON pointer is: its node (its key when it has one), else the nearest ancestor
    /// that exists, else the document's first node; `None` for an empty document.
    pub fn locate(&self, pointer: &str) -> Option<Mark> {
        let mut p = pointer;
        loop {
            if let Some(n) = self.get(p) {
                return Some(n.key.as_ref().map_or(n.mark, |k| k.mark));
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => return self.nodes.first().map(|n| n.mark),
            }
        }
    }

    /// The pointer of the node (or of the key of the node) written exactly at `mark`; the
    /// deepest one when several start there (a mapping and its first key).
    pub fn pointer_at(&self, mark: Mark) -> Option<&str> {
        self.nodes
            .iter()
            .rfind(|n| n.mark == mark || n.key.as_ref().is_some_and(|k| k.mark == mark))
            .map(|n| n.pointer.as_str())
    }

    /// The top-level keys of a mapping document, in order.
    pub fn top_level_keys(&self) -> Vec<&str> {
        self.nodes
            .iter()
            .filter(|n| n.pointer.matches('/').count() == 1)
            .filter_map(|n| n.key.as_ref().map(|k| k.text.as_str()))
            .collect()
    }

    /// Whether the document uses anchors or aliases.
    pub fn has_anchors(&self) -> bool {
        !self.anchors.is_empty() || !self.aliases.is_empty()
    }

    /// The first anchor or alias, by position.
    pub fn first_anchor(&self) -> Option<Mark> {
        self.anchors.iter().chain(&self.aliases).min().copied()
    }

    fn push(&mut self, node: Node) {
        self.index
            .entry(node.pointer.clone())
            .or_insert(self.nodes.len());
        self.nodes.push(node);
    }
}

/// Escape one JSON pointer reference token (RFC 6901: `~` → `~0`, `/` → `~1`).
pub fn escape_pointer_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

enum Frame {
    Seq {
        pointer: String,
        next: usize,
    },
    Map {
        pointer: String,
        key: Option<Key>,
    },
    /// A collection used as a mapping key: skipped, with its nesting depth.
    ComplexKey(usize),
}

/// Read the outline of every document of `text`; `path` names the file in errors. A syntax
/// error is a [`FileErrorKind::Decode`] error at its line and column.
pub fn outline(path: &Path, text: &str) -> Result<Vec<Document>, FileError> {
    let mut options = Options::default();
    options.emit_comments = false;
    options.emit_anchor_events = true;
    let parser = Parser::new_from_str_with_options(text, options);
    let mut docs = Vec::new();
    let mut doc = Document::default();
    let mut stack: Vec<Frame> = Vec::new();
    for (n, item) in parser.enumerate() {
        if n >= MAX_EVENTS {
            return Err(FileError {
                path: path.to_path_buf(),
                line: 0,
                column: 0,
                kind: FileErrorKind::Decode,
                message: format!("more than {MAX_EVENTS} YAML events: refused"),
            });
        }
        let (event, span) = item.map_err(|e| FileError {
            path: path.to_path_buf(),
            line: e.marker().line() as u64,
            column: e.marker().col() as u64 + 1,
            kind: FileErrorKind::Decode,
            message: e.info(),
        })?;
        let mark = Mark::of(&span);
        let (kind, anchor) = match event {
            Event::DocumentStart(..) => {
                doc = Document::default();
                stack.clear();
                continue;
            }
            Event::DocumentEnd => {
                docs.push(std::mem::take(&mut doc));
                continue;
            }
            Event::Scalar(text, style, anchor, _) => (
                NodeKind::Scalar {
                    text: text.into_owned(),
                    plain: style == ScalarStyle::Plain,
                },
                anchor,
            ),
            Event::SequenceStart(_, anchor, _) => (NodeKind::Sequence, anchor),
            Event::MappingStart(_, anchor, _) => (NodeKind::Mapping, anchor),
            Event::Alias(_) => {
                doc.aliases.push(mark);
                (NodeKind::Alias, 0)
            }
            Event::Anchor(..) => {
                // the `&name` token (the node event before it starts at the node's content)
                doc.anchors.push(mark);
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                end_collection(&mut stack);
                continue;
            }
            _ => continue,
        };
        let _ = anchor;
        let opens = matches!(kind, NodeKind::Sequence | NodeKind::Mapping);
        let (pointer, key) = match stack.last_mut() {
            None => (String::new(), None),
            Some(Frame::ComplexKey(depth)) => {
                if opens {
                    *depth += 1;
                }
                continue;
            }
            Some(Frame::Seq { pointer, next }) => {
                let p = format!("{pointer}/{next}");
                *next += 1;
                (p, None)
            }
            Some(Frame::Map { pointer, key }) => match key.take() {
                Some(k) => (
                    format!("{pointer}/{}", escape_pointer_token(&k.text)),
                    Some(k),
                ),
                None => {
                    // This node is a key.
                    match kind {
                        NodeKind::Scalar { text, plain } => *key = Some(Key { text, mark, plain }),
                        NodeKind::Alias => {
                            *key = Some(Key {
                                text: "*".into(),
                                mark,
                                plain: false,
                            })
                        }
                        NodeKind::Sequence | NodeKind::Mapping => {
                            stack.push(Frame::ComplexKey(1));
                        }
                    }
                    continue;
                }
            },
        };
        let frame = match kind {
            NodeKind::Sequence => Some(Frame::Seq {
                pointer: pointer.clone(),
                next: 0,
            }),
            NodeKind::Mapping => Some(Frame::Map {
                pointer: pointer.clone(),
                key: None,
            }),
            _ => None,
        };
        doc.push(Node {
            pointer,
            mark,
            key,
            kind,
        });
        stack.extend(frame);
    }
    Ok(docs)
}

fn end_collection(stack: &mut Vec<Frame>) {
    match stack.last_mut() {
        Some(Frame::ComplexKey(depth)) => {
            *depth -= 1;
            if *depth == 0 {
                stack.pop();
                if let Some(Frame::Map { key, .. }) = stack.last_mut() {
                    *key = Some(Key {
                        text: "?".into(),
                        mark: Mark { line: 0, column: 0 },
                        plain: false,
                    });
                }
            }
        }
        Some(_) => {
            stack.pop();
        }
        None => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Document {
        let mut docs = outline(Path::new("f.yaml"), text).unwrap();
        assert_eq!(docs.len(), 1);
        docs.remove(0)
    }

    #[test]
    fn pointers_positions_and_styles() {
        let d = one("a: 1\nb:\n  - x\n  - 'y'\n  - {c/d: on}\n\"e~\": |\n  text\n");
        let ptrs: Vec<&str> = d.nodes.iter().map(|n| n.pointer.as_str()).collect();
        assert_eq!(
            ptrs,
            vec!["", "/a", "/b", "/b/0", "/b/1", "/b/2", "/b/2/c~1d", "/e~0"]
        );
        assert_eq!(d.get("/b/1").unwrap().mark, Mark { line: 4, column: 5 });
        assert_eq!(
            d.get("/b/2/c~1d").unwrap().kind,
            NodeKind::Scalar {
                text: "on".into(),
                plain: true
            }
        );
        assert!(matches!(
            &d.get("/b/1").unwrap().kind,
            NodeKind::Scalar { plain: false, .. }
        ));
        let e = d.get("/e~0").unwrap();
        assert!(!e.key.as_ref().unwrap().plain);
        assert!(matches!(&e.kind, NodeKind::Scalar { plain: false, .. }));
        assert_eq!(d.top_level_keys(), vec!["a", "b", "e~"]);
        // locate: the key of an existing node, else the nearest ancestor
        assert_eq!(d.locate("/b"), Some(Mark { line: 2, column: 1 }));
        assert_eq!(d.locate("/b/7/x"), Some(Mark { line: 2, column: 1 }));
        assert_eq!(d.pointer_at(Mark { line: 1, column: 1 }), Some("/a"));
        assert!(!d.has_anchors());
    }

    #[test]
    fn anchors_aliases_and_complex_keys() {
        let d = one("a: &x [1]\nb: *x\n? [k]\n: v\nc: 2\n");
        assert_eq!(d.anchors, vec![Mark { line: 1, column: 4 }]);
        assert_eq!(d.aliases, vec![Mark { line: 2, column: 4 }]);
        assert_eq!(d.first_anchor(), Some(Mark { line: 1, column: 4 }));
        assert_eq!(d.get("/b").unwrap().kind, NodeKind::Alias);
        assert!(d.get("/?").is_some() && d.get("/c").is_some());
    }

    #[test]
    fn documents_errors_and_bombs() {
        let docs = outline(Path::new("f.yaml"), "a: 1\n---\nb: 2\n").unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[1].get("/b").unwrap().mark.line, 3);
        let e = outline(Path::new("f.yaml"), "a: [1\nb: 2\n").unwrap_err();
        assert_eq!(e.kind, FileErrorKind::Decode);
        assert!(e.line >= 1 && e.column >= 1, "{e}");
        // an alias bomb is a handful of events: nothing is expanded
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let d = one(&text);
        assert_eq!(d.anchors.len(), 12);
        assert_eq!(d.aliases.len(), 110);
    }
}
