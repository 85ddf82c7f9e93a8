//! `normalized/ocsf_events/`: one row per OCSF event, sorted by (`time`, `metadata.uid`).
//!
//! Layout (documented in `_schema.json`, see [`EventWriter::finish`]):
//!
//! * nested objects are flattened to dotted-path columns (`process.file.path`); a key that
//!   itself contains `.` or `\` is escaped with `\` (`unmapped.a\.b`);
//! * each column has one type over the whole dataset: `int64` (`class_uid`: `int32`),
//!   `double`, `boolean`, `utf8` (strings), or `utf8` holding JSON text (`encoding: "json"`)
//!   for arrays, empty objects and paths whose values have mixed types;
//! * `time` (int64 ms), `class_uid` (int32) and `metadata.uid` (utf8) are required and come
//!   first; the other columns follow in bytewise order of their names;
//! * a null or absent value is a null cell; reading a row back gives the event without it.
//!
//! The writer sorts with bounded memory: events are buffered up to a byte budget, sorted and
//! spilled to run files, and the runs are merged while the Parquet parts are written. Events
//! with the same `(time, metadata.uid)` are deduplicated at the merge: identical copies are
//! dropped, differing ones keep the copy whose RFC 8785 form is bytewise smallest (both
//! counted), whatever the order they arrived in.

mod parts;
mod reader;
mod spill;

pub use reader::{ColumnInfo, EventReader, batch_events, cell, row_count};

use crate::StoreError;
use crate::layout::StoreLayout;
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BinaryHeap};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

/// The `_schema.json` id of the normalized store.
pub const SCHEMA_ID: &str = "pa.ocsf_events.v1";
/// Its version.
pub const SCHEMA_VERSION: &str = "1.1.0";

const REQUIRED: [&str; 3] = ["time", "class_uid", "metadata.uid"];
const BATCH_ROWS: usize = 8192;

/// The type a column takes over the dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    Int,
    Float,
    Bool,
    Str,
    Json,
}

impl ColumnKind {
    fn join(self, other: ColumnKind) -> ColumnKind {
        use ColumnKind::*;
        match (self, other) {
            (a, b) if a == b => a,
            // Lossless: a path with integers and floats keeps each value as JSON text.
            _ => Json,
        }
    }
    fn data_type(self, name: &str) -> DataType {
        match self {
            ColumnKind::Int if name == "class_uid" => DataType::Int32,
            ColumnKind::Int => DataType::Int64,
            ColumnKind::Float => DataType::Float64,
            ColumnKind::Bool => DataType::Boolean,
            ColumnKind::Str | ColumnKind::Json => DataType::Utf8,
        }
    }
}

/// Escape one object key for a dotted column name.
pub fn escape_key(k: &str) -> String {
    if !k.contains(['.', '\\']) {
        return k.to_string();
    }
    let mut s = String::with_capacity(k.len() + 2);
    for c in k.chars() {
        if c == '.' || c == '\\' {
            s.push('\\');
        }
        s.push(c);
    }
    s
}

/// Split a dotted column name into its (unescaped) keys.
pub fn split_column(name: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut esc = false;
    for c in name.chars() {
        if esc {
            out.last_mut().expect("non-empty").push(c);
            esc = false;
        } else if c == '\\' {
            esc = true;
        } else if c == '.' {
            out.push(String::new());
        } else {
            out.last_mut().expect("non-empty").push(c);
        }
    }
    out
}

/// The column names the writer has seen, by id, shared with the threads that take events
/// apart ([`FlatEvent::new`]): a name is interned once, and a leaf carries only its id. Ids
/// are in order of first arrival; they never reach the output (columns are written in name
/// order), so threads racing to intern do not change what is written.
#[derive(Debug, Clone, Default)]
pub struct ColumnIds(Arc<RwLock<Names>>);

#[derive(Debug, Default)]
struct Names {
    ids: std::collections::HashMap<String, u32>,
    names: Vec<String>,
}

impl ColumnIds {
    fn names(&self) -> Vec<String> {
        self.0
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .names
            .clone()
    }
}

/// The leaves of an event being taken apart: encoded values, each leaf's (column id, kind),
/// and the names not interned yet (index into `cols`, offset of the id in `data`, name).
#[derive(Default)]
struct Flattening {
    name: String,
    data: Vec<u8>,
    cols: Vec<(u32, ColumnKind)>,
    missing: Vec<(usize, usize, String)>,
}

impl Flattening {
    /// Flatten `m` under the current name; a name not interned yet gets the id `u32::MAX`
    /// and is listed in `missing`.
    fn object(&mut self, m: &Map<String, Value>, names: &Names) -> Result<(), PushError> {
        for (k, v) in m {
            let len = self.name.len();
            if len > 0 {
                self.name.push('.');
            }
            if k.contains(['.', '\\']) {
                self.name.push_str(&escape_key(k));
            } else {
                self.name.push_str(k);
            }
            let kind = match v {
                Value::Null => None,
                Value::Object(inner) if !inner.is_empty() => {
                    self.object(inner, names)?;
                    self.name.truncate(len);
                    continue;
                }
                Value::Object(_) | Value::Array(_) => Some(ColumnKind::Json),
                Value::Bool(_) => Some(ColumnKind::Bool),
                Value::Number(n) if n.is_i64() => Some(ColumnKind::Int),
                Value::Number(_) => Some(ColumnKind::Float),
                Value::String(_) => Some(ColumnKind::Str),
            };
            if let Some(kind) = kind {
                let id = names.ids.get(self.name.as_str()).copied();
                let at = spill::put_leaf(&mut self.data, id.unwrap_or(u32::MAX), v)
                    .map_err(|_| PushError::TooLarge(self.name.clone()))?;
                if id.is_none() {
                    self.missing.push((self.cols.len(), at, self.name.clone()));
                }
                self.cols.push((id.unwrap_or(u32::MAX), kind));
            }
            self.name.truncate(len);
        }
        Ok(())
    }
}

/// An event taken apart for [`EventWriter::push_flat`]: its sort key and its leaves, encoded.
/// Building it is the per-event work of the writer that needs none of its buffers, so callers
/// can build many in parallel (with the writer's [`EventWriter::column_ids`]) and push them in
/// order.
#[derive(Debug)]
pub struct FlatEvent {
    time: i64,
    class_uid: i64,
    uid: String,
    /// (column id, kind) of each leaf.
    cols: Vec<(u32, ColumnKind)>,
    /// The leaves (see `spill`).
    data: Vec<u8>,
}

impl FlatEvent {
    /// Take `event` apart (the required columns checked as [`EventWriter::push`] does),
    /// interning its column names in `ids`.
    pub fn new(event: Value, ids: &ColumnIds) -> Result<FlatEvent, PushError> {
        let time = event
            .get("time")
            .and_then(Value::as_i64)
            .ok_or(PushError::MissingRequired("time"))?;
        let class_uid = event
            .get("class_uid")
            .and_then(Value::as_i64)
            .ok_or(PushError::MissingRequired("class_uid"))?;
        let uid = event
            .get("metadata")
            .and_then(|m| m.get("uid"))
            .and_then(Value::as_str)
            .ok_or(PushError::MissingRequired("metadata.uid"))?
            .to_string();
        let mut f = Flattening {
            data: Vec::with_capacity(2048),
            ..Flattening::default()
        };
        if let Value::Object(m) = &event {
            let names = ids.0.read().unwrap_or_else(|e| e.into_inner());
            f.object(m, &names)?;
        }
        drop(event);
        if !f.missing.is_empty() {
            let mut names = ids.0.write().unwrap_or_else(|e| e.into_inner());
            for (i, at, name) in f.missing {
                let id = match names.ids.get(&name) {
                    Some(&id) => id,
                    None => {
                        let id = names.names.len() as u32;
                        names.names.push(name.clone());
                        names.ids.insert(name, id);
                        id
                    }
                };
                f.cols[i].0 = id;
                spill::patch_id(&mut f.data, at, id);
            }
        }
        f.data.shrink_to_fit();
        Ok(FlatEvent {
            time,
            class_uid,
            uid,
            cols: f.cols,
            data: f.data,
        })
    }
}

/// Put a leaf back at its dotted column path.
pub fn insert_path(event: &mut Map<String, Value>, column: &str, value: Value) {
    let keys = split_column(column);
    let mut cur = event;
    for k in &keys[..keys.len() - 1] {
        let e = cur
            .entry(k.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if !e.is_object() {
            *e = Value::Object(Map::new());
        }
        cur = e.as_object_mut().expect("made an object");
    }
    cur.insert(keys[keys.len() - 1].clone(), value);
}

/// What [`EventWriter::finish`] wrote.
#[derive(Debug, Clone, Default)]
pub struct WriteSummary {
    /// Part files with their row counts.
    pub parts: Vec<(PathBuf, usize)>,
    /// Rows written.
    pub rows: u64,
    /// Identical duplicates dropped.
    pub duplicates_dropped: u64,
    /// Same key, different content: the smallest canonical form was kept.
    pub conflicts: u64,
    /// The `_schema.json` document.
    pub schema_document: crate::schema_doc::DatasetSchema,
}

/// An event rejected by [`EventWriter::push`].
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// `time` (integer ms), `class_uid` (integer) or `metadata.uid` (string) is missing.
    #[error("event lacks the required column {0} (or it has the wrong type)")]
    MissingRequired(&'static str),
    /// A value of 4 GiB or more.
    #[error("the value of {0} is 4 GiB or more")]
    TooLarge(String),
    /// Writing a spill file failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The bounded-memory sorting writer of the normalized store.
pub struct EventWriter {
    dir: PathBuf,
    spill_dir: tempfile::TempDir,
    budget: usize,
    chunk: Vec<Item>,
    chunk_bytes: usize,
    runs: Vec<PathBuf>,
    /// Column names by id, and each column's kind so far, by id (`None`: interned by
    /// [`FlatEvent::new`] but not in any event pushed).
    ids: ColumnIds,
    col_kinds: Vec<Option<ColumnKind>>,
    pushed: u64,
    layout: StoreLayout,
    /// Partitioned layouts: per `class_uid`, which leaf ids its events use.
    class_cols: std::collections::HashMap<i64, Vec<bool>>,
}

/// One buffered event: its sort key and its leaves (encoded, see `spill`).
#[derive(Debug)]
struct Item {
    time: i64,
    uid: String,
    data: Vec<u8>,
}

impl Item {
    /// The event rebuilt from its leaves (for choosing between conflicting copies); `None`
    /// if a leaf nests deeper than `serde_json` parses back.
    fn event(&self, names: &[String]) -> Option<Value> {
        let mut m = Map::new();
        for (id, v) in spill::leaves(&self.data) {
            insert_path(&mut m, &names[id as usize], v.to_value()?);
        }
        Some(Value::Object(m))
    }
    /// Bytes held while buffered (the writer's budget counts these).
    fn size(&self) -> usize {
        std::mem::size_of::<Item>() + self.uid.capacity() + self.data.capacity()
    }
}

/// JSON text of a value for a cell or a spill line (key order as built; deterministic because
/// the same input builds the same value).
fn text(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// RFC 8785 bytes: the order-independent form used to choose between conflicting copies.
fn jcs_bytes(v: &Value) -> Vec<u8> {
    serde_json_canonicalizer::to_vec(v).unwrap_or_default()
}

impl EventWriter {
    /// Write parts into `dir`; spill sorted runs under `spill_parent` (a temporary directory
    /// inside it, removed on drop). `budget_bytes` bounds the events held in memory.
    pub fn new(dir: &Path, spill_parent: &Path, budget_bytes: usize) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
        std::fs::create_dir_all(spill_parent).map_err(|e| StoreError::io(spill_parent, e))?;
        let spill_dir = tempfile::Builder::new()
            .prefix(".spill-")
            .tempdir_in(spill_parent)
            .map_err(|e| StoreError::io(spill_parent, e))?;
        Ok(EventWriter {
            dir: dir.to_path_buf(),
            spill_dir,
            budget: budget_bytes.max(1 << 20),
            chunk: Vec::new(),
            chunk_bytes: 0,
            runs: Vec::new(),
            ids: ColumnIds::default(),
            col_kinds: Vec::new(),
            pushed: 0,
            layout: StoreLayout::default(),
            class_cols: std::collections::HashMap::new(),
        })
    }

    /// Write the parts as `layout` says (default: [`StoreLayout::default`]). Its sizes are
    /// taken as given: check them with [`StoreLayout::check`] first.
    pub fn with_layout(mut self, layout: StoreLayout) -> Self {
        self.layout = layout;
        self
    }

    /// The column names of this writer, for [`FlatEvent::new`].
    pub fn column_ids(&self) -> ColumnIds {
        self.ids.clone()
    }

    /// Add one event.
    pub fn push(&mut self, event: &Value) -> Result<(), PushError> {
        let flat = FlatEvent::new(event.clone(), &self.ids)?;
        self.push_flat(flat)
    }

    /// Add one event taken apart beforehand by [`FlatEvent::new`] with this writer's
    /// [`column_ids`](Self::column_ids).
    pub fn push_flat(&mut self, event: FlatEvent) -> Result<(), PushError> {
        let FlatEvent {
            time,
            class_uid,
            uid,
            cols,
            data,
        } = event;
        for &(id, kind) in &cols {
            let i = id as usize;
            if i >= self.col_kinds.len() {
                self.col_kinds.resize(i + 1, None);
            }
            let k = &mut self.col_kinds[i];
            *k = Some(k.map_or(kind, |k| k.join(kind)));
        }
        if self.layout.partitioned() {
            let used = self.class_cols.entry(class_uid).or_default();
            used.resize(self.col_kinds.len(), false);
            for (id, _) in &cols {
                used[*id as usize] = true;
            }
        }
        let item = Item { time, uid, data };
        self.chunk_bytes += item.size();
        self.chunk.push(item);
        self.pushed += 1;
        if self.chunk_bytes >= self.budget {
            self.spill()?;
        }
        Ok(())
    }

    fn sort_chunk(&mut self) {
        self.chunk
            .sort_by(|a, b| (a.time, &a.uid).cmp(&(b.time, &b.uid)));
    }

    fn spill(&mut self) -> Result<(), StoreError> {
        if self.chunk.is_empty() {
            return Ok(());
        }
        self.sort_chunk();
        let path = self
            .spill_dir
            .path()
            .join(format!("run-{:06}.bin", self.runs.len()));
        let f = std::fs::File::create(&path).map_err(|e| StoreError::io(&path, e))?;
        let mut w = BufWriter::with_capacity(1 << 20, f);
        for it in self.chunk.drain(..) {
            spill::write_item(&mut w, &it).map_err(|e| StoreError::io(&path, e))?;
        }
        w.flush().map_err(|e| StoreError::io(&path, e))?;
        self.chunk_bytes = 0;
        self.runs.push(path);
        Ok(())
    }

    /// The Arrow schema the columns seen so far give.
    fn schema(&self, names: &[String]) -> (SchemaRef, Vec<(String, ColumnKind)>) {
        let columns: BTreeMap<&str, ColumnKind> = names
            .iter()
            .map(String::as_str)
            .zip(self.col_kinds.iter().copied())
            .filter_map(|(n, k)| Some((n, k?)))
            .collect();
        let mut cols: Vec<(String, ColumnKind)> = Vec::new();
        for r in REQUIRED {
            let k = columns.get(r).copied().unwrap_or(match r {
                "metadata.uid" => ColumnKind::Str,
                _ => ColumnKind::Int,
            });
            cols.push((r.to_string(), k));
        }
        for (n, k) in &columns {
            if !REQUIRED.contains(n) {
                cols.push((n.to_string(), *k));
            }
        }
        let fields: Vec<Field> = cols
            .iter()
            .map(|(n, k)| Field::new(n, k.data_type(n), !REQUIRED.contains(&n.as_str())))
            .collect();
        (Arc::new(Schema::new(fields)), cols)
    }

    /// Sort, deduplicate and write the parts as the layout says.
    pub fn finish(mut self) -> Result<WriteSummary, StoreError> {
        let names = self.ids.names();
        let (schema, cols) = self.schema(&names);
        let json_cols: Vec<String> = cols
            .iter()
            .filter(|(_, k)| *k == ColumnKind::Json)
            .map(|(n, _)| n.clone())
            .collect();
        let mut schema_document =
            crate::schema_doc::document(SCHEMA_ID, SCHEMA_VERSION, &schema, &json_cols);
        schema_document.layout = Some(self.layout.clone());
        let index: BTreeMap<&str, usize> = cols
            .iter()
            .enumerate()
            .map(|(i, (n, _))| (n.as_str(), i))
            .collect();
        // Names interned for events that were never pushed have no column.
        let id_to_col: Vec<Option<usize>> = names
            .iter()
            .map(|n| index.get(n.as_str()).copied())
            .collect();
        let class_leaf = names
            .iter()
            .position(|n| n == "class_uid")
            .map(|i| i as u32);
        let mut out = self.sink(cols, id_to_col, class_leaf);
        let mut summary = WriteSummary::default();
        let chunk = if self.runs.is_empty() {
            self.sort_chunk();
            std::mem::take(&mut self.chunk)
        } else {
            self.spill()?;
            Vec::new()
        };
        // Both cores: another thread merges the sorted runs and deduplicates, this one
        // encodes and writes the kept rows, in order.
        let runs = &self.runs;
        let names = &names;
        let counts = std::thread::scope(|s| -> Result<(u64, u64), StoreError> {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Item>(MERGE_QUEUE);
            let dir = &self.dir;
            let merge = s.spawn(move || merge_runs(chunk, runs, names, dir, tx));
            let mut pushed = Ok(());
            for it in rx.iter() {
                pushed = out.push(it.time, &it.data);
                if pushed.is_err() {
                    break;
                }
            }
            // A failed write stops the merge: its next send finds no receiver.
            drop(rx);
            let counts = merge
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p));
            pushed?;
            counts
        })?;
        (summary.duplicates_dropped, summary.conflicts) = counts;
        let (parts, rows) = out.finish()?;
        summary.parts = parts;
        summary.rows = rows;
        summary.schema_document = schema_document;
        Ok(summary)
    }

    /// The sink of the sorted rows: one schema for the whole store, or per class (the columns
    /// its events use, without `class_uid`) when partitioned.
    fn sink(
        &mut self,
        cols: Vec<(String, ColumnKind)>,
        id_to_col: Vec<Option<usize>>,
        class_leaf: Option<u32>,
    ) -> parts::Sink {
        let layout = self.layout.clone();
        let class_cols = std::mem::take(&mut self.class_cols);
        let mut dataset_to_leaf = vec![None; cols.len()];
        for (leaf, d) in id_to_col.iter().enumerate() {
            if let Some(d) = *d {
                dataset_to_leaf[d] = Some(leaf);
            }
        }
        let partitioned = layout.partitioned();
        let schema_of = move |class: i64| {
            let used = class_cols.get(&class);
            parts::PartSchema::new(&cols, &id_to_col, |i, name| {
                if !partitioned {
                    return true;
                }
                if name == "class_uid" {
                    return false;
                }
                REQUIRED.contains(&name)
                    || dataset_to_leaf[i]
                        .and_then(|leaf| used.and_then(|u| u.get(leaf).copied()))
                        .unwrap_or(false)
            })
        };
        parts::Sink::new(&self.dir, layout, class_leaf, Box::new(schema_of))
    }

    /// Events pushed so far.
    pub fn pushed(&self) -> u64 {
        self.pushed
    }
}

/// Rows in flight between the merge and the part writer.
const MERGE_QUEUE: usize = 4096;

/// The store's rows in (`time`, `metadata.uid`) order: the sorted in-memory `chunk` when nothing
/// was spilled, else the merge of the sorted `runs`. Each (time, uid) group is deduplicated:
/// identical copies collapse; differing copies keep the one with the bytewise-smallest
/// RFC 8785 form (order of arrival does not matter). The kept rows go to `tx` (stopping early
/// when it is closed); returns (duplicates dropped, conflicts).
fn merge_runs(
    chunk: Vec<Item>,
    runs: &[PathBuf],
    names: &[String],
    dir: &Path,
    tx: std::sync::mpsc::SyncSender<Item>,
) -> Result<(u64, u64), StoreError> {
    let (mut duplicates, mut conflicts) = (0u64, 0u64);
    let mut group: Vec<Item> = Vec::new();
    // The kept copy of a group; `false` once the receiver is gone.
    let mut flush = |group: &mut Vec<Item>| -> Result<bool, StoreError> {
        if group.is_empty() {
            return Ok(true);
        }
        let first = &group[0].data;
        // Equal bytes are equal events; differing bytes are compared as events below.
        let keep = if group.iter().all(|it| it.data == *first) {
            duplicates += group.len() as u64 - 1;
            0
        } else {
            let events: Vec<Value> = group
                .iter()
                .map(|it| it.event(names))
                .collect::<Option<_>>()
                .ok_or_else(|| StoreError::Layout {
                    path: dir.to_path_buf(),
                    dataset: "ocsf_events",
                    detail: format!(
                        "events at time {} with metadata.uid {:?} differ, and one nests arrays \
                         or objects too deep to compare",
                        group[0].time, group[0].uid
                    ),
                })?;
            let mut seen: Vec<&Value> = Vec::new();
            for e in &events {
                if seen.contains(&e) {
                    duplicates += 1;
                } else {
                    seen.push(e);
                }
            }
            conflicts += seen.len() as u64 - 1;
            (0..group.len())
                .min_by_key(|&i| jcs_bytes(&events[i]))
                .unwrap_or(0)
        };
        let kept = group.swap_remove(keep);
        group.clear();
        Ok(tx.send(kept).is_ok())
    };
    // Add one row to the current group, flushing the group it ends; `false` when stopped.
    let mut handle = |it: Item, group: &mut Vec<Item>| -> Result<bool, StoreError> {
        if group
            .first()
            .is_some_and(|g| g.time != it.time || g.uid != it.uid)
            && !flush(group)?
        {
            return Ok(false);
        }
        group.push(it);
        Ok(true)
    };
    if runs.is_empty() {
        for it in chunk {
            if !handle(it, &mut group)? {
                return Ok((duplicates, conflicts));
            }
        }
    } else {
        let mut readers = Vec::new();
        for p in runs {
            let f = std::fs::File::open(p).map_err(|e| StoreError::io(p, e))?;
            readers.push((p, std::io::BufReader::with_capacity(1 << 20, f)));
        }
        // Each run's next item waits in `heads`; the heap orders the runs by it.
        let mut heads: Vec<Option<Item>> = Vec::with_capacity(readers.len());
        let mut heap = BinaryHeap::new();
        for (i, (p, r)) in readers.iter_mut().enumerate() {
            let head = spill::read_item(p, r)?;
            if let Some(it) = &head {
                heap.push(std::cmp::Reverse((it.time, it.uid.clone(), i)));
            }
            heads.push(head);
        }
        while let Some(std::cmp::Reverse((_, _, i))) = heap.pop() {
            let (p, r) = &mut readers[i];
            let next = spill::read_item(p, r)?;
            if let Some(n) = &next {
                heap.push(std::cmp::Reverse((n.time, n.uid.clone(), i)));
            }
            let it = std::mem::replace(&mut heads[i], next).expect("a queued run has a head");
            if !handle(it, &mut group)? {
                return Ok((duplicates, conflicts));
            }
        }
    }
    flush(&mut group)?;
    Ok((duplicates, conflicts))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ev(t: i64, uid: &str, extra: Value) -> Value {
        let mut e =
            json!({"time": t, "class_uid": 1007, "metadata": {"uid": uid, "version": "1.7.0"}});
        if let (Some(m), Value::Object(x)) = (e.as_object_mut(), extra) {
            m.extend(x);
        }
        e
    }

    #[test]
    fn keys_with_dots_round_trip() {
        assert_eq!(escape_key("a.b\\c"), "a\\.b\\\\c");
        assert_eq!(split_column("unmapped.a\\.b\\\\c"), ["unmapped", "a.b\\c"]);
    }

    fn write_read(events: &[Value], budget: usize, per_part: usize) -> (WriteSummary, Vec<Value>) {
        let t = tempfile::tempdir().unwrap();
        write_read_as(events, budget, per_part, Vec::new(), t.path())
    }

    fn write_read_as(
        events: &[Value],
        budget: usize,
        per_part: usize,
        partition_by: Vec<crate::PartitionKey>,
        base: &Path,
    ) -> (WriteSummary, Vec<Value>) {
        let dir = base.join("ocsf_events");
        let layout = StoreLayout {
            rows_per_part: per_part,
            row_group_rows: per_part.min(crate::ROW_GROUP_ROWS),
            partition_by,
            ..StoreLayout::default()
        };
        let mut w = EventWriter::new(&dir, base, budget)
            .unwrap()
            .with_layout(layout);
        for e in events {
            w.push(e).unwrap();
        }
        let s = w.finish().unwrap();
        std::fs::write(
            dir.join("_schema.json"),
            serde_json::to_vec(&s.schema_document).unwrap(),
        )
        .unwrap();
        let back = EventReader::open(&dir).unwrap().events().unwrap();
        (s, back)
    }

    /// Events enough to pass the 1 MiB budget floor, so the writer spills.
    fn filler() -> Vec<Value> {
        (0..1500)
            .map(|i| {
                ev(
                    10_000 + i,
                    &format!("f{i:05}"),
                    json!({"pad": "x".repeat(1000)}),
                )
            })
            .collect()
    }

    #[test]
    fn copies_equal_as_json_are_duplicates_spilled_or_not() {
        let events = vec![
            ev(1, "z", json!({"n": 0.0})),
            ev(1, "z", json!({"n": -0.0})),
            ev(2, "k", json!({"o": [{"a": 1, "b": 2}]})),
            ev(2, "k", json!({"o": [{"b": 2, "a": 1}]})),
        ];
        for spill in [false, true] {
            let mut all = events.clone();
            let budget = if spill {
                all.extend(filler());
                1 << 20
            } else {
                64 << 20
            };
            let (s, back) = write_read(&all, budget, 100_000);
            assert_eq!((s.duplicates_dropped, s.conflicts), (2, 0), "spill {spill}");
            // The first copy is kept.
            assert!(back[0]["n"].as_f64().unwrap().is_sign_positive());
            assert_eq!(back[1]["o"], events[2]["o"]);
        }
    }

    #[test]
    fn conflicting_copies_too_deep_to_compare_stop_the_write() {
        let deep = |leaf: i64| {
            let mut v = json!([leaf]);
            for _ in 0..130 {
                v = json!([v]);
            }
            v
        };
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("ocsf_events");
        let mut w = EventWriter::new(&dir, t.path(), 64 << 20).unwrap();
        w.push(&ev(1, "d", json!({"x": deep(2)}))).unwrap();
        w.push(&ev(1, "d", json!({"x": deep(1)}))).unwrap();
        let e = w.finish().unwrap_err().to_string();
        assert!(e.contains("too deep") && e.contains("ocsf_events"), "{e}");
    }

    #[test]
    fn mixed_and_wide_number_columns_keep_each_value() {
        let events = vec![
            ev(1, "a", json!({"m": 5, "w": u64::MAX})),
            ev(2, "b", json!({"m": u64::MAX, "w": u64::MAX - 1})),
            ev(3, "c", json!({"m": -0.0})),
            ev(4, "d", json!({"m": "text \"q\" \u{1}"})),
            ev(5, "e", json!({"m": [1, [2.5, null], {"k": "v"}]})),
        ];
        for budget in [64 << 20, 1 << 20] {
            let mut all = events.clone();
            if budget == 1 << 20 {
                all.extend(filler());
            }
            let (_, back) = write_read(&all, budget, 100_000);
            for (b, e) in back.iter().zip(&events) {
                // A column of mixed types holds JSON text: each value comes back as it was.
                assert_eq!(b["m"], e["m"]);
            }
            assert!(back[2]["m"].as_f64().unwrap().is_sign_negative());
            // Integers above i64::MAX make a float column.
            assert!(back[0]["w"].is_f64());
            assert_eq!(back[0]["w"].as_f64(), Some(u64::MAX as f64));
        }
    }

    #[test]
    fn sorted_round_trip_with_nested_arrays_and_mixed_types() {
        let events = vec![
            ev(
                30,
                "c",
                json!({"process": {"pid": 4, "file": {"path": "C:\\x.exe"}}, "observables": [{"name": "x", "type_id": 1}]}),
            ),
            ev(
                10,
                "b",
                json!({"unmapped": {"Odd.Key": "v", "Num": "7"}, "count": 1.5, "ratio": 0.25}),
            ),
            ev(
                10,
                "a",
                json!({"count": 2, "flag": true, "empty": {}, "mixed": "s"}),
            ),
            ev(20, "d", json!({"mixed": 5})),
        ];
        let (s, back) = write_read(&events, 1 << 20, 1000);
        assert_eq!(s.rows, 4);
        let order: Vec<&str> = back
            .iter()
            .map(|e| e["metadata"]["uid"].as_str().unwrap())
            .collect();
        assert_eq!(order, ["a", "b", "d", "c"]);
        assert_eq!(back[0], events[2]);
        assert_eq!(back[1], events[1]);
        assert_eq!(back[2], events[3]);
        assert_eq!(back[3], events[0]);
        let cols = &s.schema_document.columns;
        let names: Vec<&str> = cols.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(&names[..3], &["time", "class_uid", "metadata.uid"]);
        let enc = |n: &str| cols.iter().find(|c| c.name == n).unwrap().encoding.clone();
        assert_eq!(enc("mixed"), "json");
        assert_eq!(enc("observables"), "json");
        assert_eq!(enc("process.pid"), "scalar");
        let ty = |n: &str| {
            cols.iter()
                .find(|c| c.name == n)
                .unwrap()
                .physical_type
                .clone()
        };
        assert_eq!(ty("ratio"), "DOUBLE");
        assert_eq!(enc("count"), "json");
        assert_eq!(ty("class_uid"), "INT32");
    }

    #[test]
    fn spilled_merge_equals_in_memory_and_dedupes() {
        let mut events = Vec::new();
        for i in 0..3000i64 {
            let t = (i * 7919) % 1000;
            events.push(ev(
                t,
                &format!("u{:05}", i),
                json!({"message": format!("event {i} {}", "x".repeat(1000))}),
            ));
        }
        events.push(events[17].clone()); // identical duplicate
        let mut conflict = events[42].clone();
        conflict["message"] = json!("a different body");
        events.push(conflict.clone());
        let (s1, a) = write_read(&events, 1 << 20, 700); // spills (budget floor 1 MiB, ~3 MB data)
        let (s2, b) = write_read(&events, 64 << 20, 700);
        assert_eq!(a, b);
        assert_eq!(s1.rows, 3000);
        assert_eq!((s1.duplicates_dropped, s1.conflicts), (1, 1));
        assert_eq!((s2.duplicates_dropped, s2.conflicts), (1, 1));
        // The smaller canonical form wins the conflict.
        let kept = a
            .iter()
            .find(|e| e["metadata"]["uid"] == events[42]["metadata"]["uid"])
            .unwrap();
        let (x, y) = (jcs_bytes(&events[42]), jcs_bytes(&conflict));
        assert_eq!(jcs_bytes(kept), x.min(y));
        assert!(a.windows(2).all(|w| {
            let k = |e: &Value| {
                (
                    e["time"].as_i64().unwrap(),
                    e["metadata"]["uid"].as_str().unwrap().to_string(),
                )
            };
            k(&w[0]) < k(&w[1])
        }));
        assert_eq!(s1.parts.len(), 5);
    }

    /// Events of several classes over several UTC days, with class-specific columns.
    fn spread_events(n: i64) -> Vec<Value> {
        (0..n)
            .map(|i| {
                let t = 1_700_000_000_000 + (i * 7_919_777) % (3 * 86_400_000);
                let class = [1001, 1007, 3002, 4001][(i % 4) as usize];
                let mut e = ev(t, &format!("u{i:05}"), json!({"message": format!("m{i}")}));
                e["class_uid"] = json!(class);
                match class {
                    1007 => e["process"] = json!({"pid": i, "cmd_line": format!("c{i}")}),
                    4001 => e["dst_endpoint"] = json!({"port": i % 65_536}),
                    _ => e["observables"] = json!([{"name": "x", "value": i}]),
                }
                e
            })
            .collect()
    }

    #[test]
    fn partitioned_layouts_read_back_as_the_unpartitioned_store() {
        use crate::PartitionKey::{ClassUid, Day};
        let events = spread_events(5_000);
        let (flat, a) = write_read(&events, 1 << 20, 1_500);
        assert_eq!(flat.parts.len(), 4);
        for keys in [vec![ClassUid], vec![Day, ClassUid]] {
            let t = tempfile::tempdir().unwrap();
            let (s, b) = write_read_as(&events, 1 << 20, 1_500, keys.clone(), t.path());
            assert_eq!(s.rows, 5_000);
            assert_eq!(a.len(), b.len());
            assert!(
                a == b,
                "{keys:?}: the partitioned store reads back differently"
            );
            let dirs: std::collections::BTreeSet<String> = s
                .parts
                .iter()
                .map(|(p, _)| {
                    let p = p.parent().unwrap();
                    let c = p.file_name().unwrap().to_string_lossy().into_owned();
                    if keys.len() == 2 {
                        format!(
                            "{}/{c}",
                            p.parent().unwrap().file_name().unwrap().to_string_lossy()
                        )
                    } else {
                        c
                    }
                })
                .collect();
            let want: usize = if keys.len() == 2 { 4 * 4 } else { 4 };
            assert!(dirs.len() >= want - 4 && dirs.len() <= want, "{dirs:?}");
            assert!(dirs.iter().all(|d| d.ends_with("class_uid=1001")
                || d.ends_with("class_uid=1007")
                || d.ends_with("class_uid=3002")
                || d.ends_with("class_uid=4001")));
            let doc = &s.schema_document;
            assert_eq!(doc.layout.as_ref().unwrap().partition_by, keys);
            // A partition's parts hold only its class's columns, never the partition column.
            let p = s
                .parts
                .iter()
                .find(|(p, _)| p.to_string_lossy().contains("class_uid=4001"))
                .unwrap();
            let f = std::fs::File::open(&p.0).unwrap();
            let r =
                parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f).unwrap();
            let names: Vec<String> = r
                .schema()
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect();
            assert!(
                names.contains(&"dst_endpoint.port".to_string()),
                "{names:?}"
            );
            assert!(
                !names
                    .iter()
                    .any(|n| n == "class_uid" || n.starts_with("process.")),
                "{names:?}"
            );
            let md = r.metadata();
            let sorting = md.row_group(0).sorting_columns().unwrap();
            assert_eq!(sorting.len(), 2);
        }
    }

    #[test]
    fn required_columns_are_enforced() {
        let t = tempfile::tempdir().unwrap();
        let mut w = EventWriter::new(&t.path().join("d"), t.path(), 1 << 20).unwrap();
        let e = w
            .push(&json!({"class_uid": 1, "metadata": {"uid": "x"}}))
            .unwrap_err();
        assert!(e.to_string().contains("time"), "{e}");
        let e = w.push(&json!({"time": 1, "class_uid": 1})).unwrap_err();
        assert!(e.to_string().contains("metadata.uid"), "{e}");
    }
}
