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

mod reader;

pub use reader::{ColumnInfo, EventReader, batch_events, cell};

use crate::{StoreError, part_name, sync_file, writer_properties};
use arrow_array::builder::{
    BooleanBuilder, Float64Builder, Int32Builder, Int64Builder, StringBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BinaryHeap};
use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The `_schema.json` id of the normalized store.
pub const SCHEMA_ID: &str = "pa.ocsf_events.v1";
/// Its version.
pub const SCHEMA_VERSION: &str = "1.0.0";

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

/// Flatten an event into (column, kind, value) leaves.
pub fn flatten(event: &Value) -> Vec<(String, ColumnKind, Value)> {
    let mut out = Vec::new();
    if let Value::Object(m) = event {
        flatten_into("", m, &mut out);
    }
    out
}

fn flatten_into(prefix: &str, m: &Map<String, Value>, out: &mut Vec<(String, ColumnKind, Value)>) {
    for (k, v) in m {
        let name = if prefix.is_empty() {
            escape_key(k)
        } else {
            format!("{prefix}.{}", escape_key(k))
        };
        match v {
            Value::Null => {}
            Value::Object(inner) if !inner.is_empty() => flatten_into(&name, inner, out),
            Value::Object(_) | Value::Array(_) => out.push((name, ColumnKind::Json, v.clone())),
            Value::Bool(_) => out.push((name, ColumnKind::Bool, v.clone())),
            Value::Number(n) if n.is_i64() => out.push((name, ColumnKind::Int, v.clone())),
            Value::Number(_) => out.push((name, ColumnKind::Float, v.clone())),
            Value::String(_) => out.push((name, ColumnKind::Str, v.clone())),
        }
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
    columns: BTreeMap<String, ColumnKind>,
    /// Column name → id (arrival order), and back.
    col_ids: std::collections::HashMap<String, u32>,
    col_names: Vec<String>,
    pushed: u64,
}

/// One buffered event: its sort key and its leaves (column id, value), in flatten order.
struct Item {
    time: i64,
    uid: String,
    leaves: Vec<(u32, Value)>,
}

impl Item {
    /// The event rebuilt from its leaves (for choosing between conflicting copies).
    fn event(&self, names: &[String]) -> Value {
        let mut m = Map::new();
        for (id, v) in &self.leaves {
            insert_path(&mut m, &names[*id as usize], v.clone());
        }
        Value::Object(m)
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

/// Approximate heap size of a leaf value (for the memory budget): JSON values of arrays and
/// objects cost several times their text.
fn approx_size(v: &Value) -> usize {
    40 + match v {
        Value::String(s) => s.len() + 16,
        Value::Array(_) | Value::Object(_) => text(v).len() * 6,
        _ => 0,
    }
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
            columns: BTreeMap::new(),
            col_ids: std::collections::HashMap::new(),
            col_names: Vec::new(),
            pushed: 0,
        })
    }

    /// Add one event.
    pub fn push(&mut self, event: &Value) -> Result<(), PushError> {
        let time = event
            .get("time")
            .and_then(Value::as_i64)
            .ok_or(PushError::MissingRequired("time"))?;
        event
            .get("class_uid")
            .and_then(Value::as_i64)
            .ok_or(PushError::MissingRequired("class_uid"))?;
        let uid = event
            .get("metadata")
            .and_then(|m| m.get("uid"))
            .and_then(Value::as_str)
            .ok_or(PushError::MissingRequired("metadata.uid"))?
            .to_string();
        let mut size = uid.len() + 96;
        let mut leaves = Vec::new();
        for (name, kind, v) in flatten(event) {
            size += approx_size(&v);
            let id = match self.col_ids.get(&name) {
                Some(&id) => {
                    if let Some(k) = self.columns.get_mut(&name) {
                        *k = k.join(kind);
                    }
                    id
                }
                None => {
                    let id = self.col_names.len() as u32;
                    self.col_ids.insert(name.clone(), id);
                    self.col_names.push(name.clone());
                    self.columns.insert(name, kind);
                    id
                }
            };
            leaves.push((id, v));
        }
        self.chunk_bytes += size;
        self.chunk.push(Item { time, uid, leaves });
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
            .join(format!("run-{:06}.tsv", self.runs.len()));
        let f = std::fs::File::create(&path).map_err(|e| StoreError::io(&path, e))?;
        let mut w = BufWriter::new(f);
        for it in self.chunk.drain(..) {
            let leaves: Vec<Value> = it
                .leaves
                .into_iter()
                .map(|(id, v)| Value::Array(vec![Value::from(id), v]))
                .collect();
            writeln!(
                w,
                "{}\t{}\t{}",
                it.time,
                it.uid,
                text(&Value::Array(leaves))
            )
            .map_err(|e| StoreError::io(&path, e))?;
        }
        w.flush().map_err(|e| StoreError::io(&path, e))?;
        self.chunk_bytes = 0;
        self.runs.push(path);
        Ok(())
    }

    /// The Arrow schema the columns seen so far give.
    fn schema(&self) -> (SchemaRef, Vec<(String, ColumnKind)>) {
        let mut cols: Vec<(String, ColumnKind)> = Vec::new();
        for r in REQUIRED {
            let k = self.columns.get(r).copied().unwrap_or(match r {
                "metadata.uid" => ColumnKind::Str,
                _ => ColumnKind::Int,
            });
            cols.push((r.to_string(), k));
        }
        for (n, k) in &self.columns {
            if !REQUIRED.contains(&n.as_str()) {
                cols.push((n.clone(), *k));
            }
        }
        let fields: Vec<Field> = cols
            .iter()
            .map(|(n, k)| Field::new(n, k.data_type(n), !REQUIRED.contains(&n.as_str())))
            .collect();
        (Arc::new(Schema::new(fields)), cols)
    }

    /// Sort, deduplicate and write the parts (at most `rows_per_part` rows each).
    pub fn finish(mut self, rows_per_part: usize) -> Result<WriteSummary, StoreError> {
        let (schema, cols) = self.schema();
        let json_cols: Vec<String> = cols
            .iter()
            .filter(|(_, k)| *k == ColumnKind::Json)
            .map(|(n, _)| n.clone())
            .collect();
        let schema_document =
            crate::schema_doc::document(SCHEMA_ID, SCHEMA_VERSION, &schema, &json_cols);
        let index: BTreeMap<&str, usize> = cols
            .iter()
            .enumerate()
            .map(|(i, (n, _))| (n.as_str(), i))
            .collect();
        let id_to_col: Vec<usize> = self.col_names.iter().map(|n| index[n.as_str()]).collect();
        let names = std::mem::take(&mut self.col_names);
        let mut out = PartWriter::new(&self.dir, schema, cols, rows_per_part.max(1), id_to_col);
        let mut summary = WriteSummary::default();
        let mut group: Vec<Item> = Vec::new();
        // Emit one (time, uid) group: identical copies collapse; differing copies keep the
        // one with the bytewise-smallest RFC 8785 form (order of arrival does not matter).
        let flush_group =
            |group: &mut Vec<Item>, out: &mut PartWriter, summary: &mut WriteSummary| {
                if group.is_empty() {
                    return Ok(());
                }
                let first = &group[0].leaves;
                let keep = if group.iter().all(|it| it.leaves == *first) {
                    summary.duplicates_dropped += group.len() as u64 - 1;
                    0
                } else {
                    let events: Vec<Value> = group.iter().map(|it| it.event(&names)).collect();
                    let mut seen: Vec<&Value> = Vec::new();
                    for e in &events {
                        if seen.contains(&e) {
                            summary.duplicates_dropped += 1;
                        } else {
                            seen.push(e);
                        }
                    }
                    summary.conflicts += seen.len() as u64 - 1;
                    (0..group.len())
                        .min_by_key(|&i| jcs_bytes(&events[i]))
                        .unwrap_or(0)
                };
                let r = out.push_leaves(&group[keep].leaves);
                group.clear();
                r
            };
        let handle = |it: Item,
                      group: &mut Vec<Item>,
                      out: &mut PartWriter,
                      summary: &mut WriteSummary|
         -> Result<(), StoreError> {
            if group
                .first()
                .is_some_and(|g| g.time != it.time || g.uid != it.uid)
            {
                flush_group(group, out, summary)?;
            }
            group.push(it);
            Ok(())
        };
        if self.runs.is_empty() {
            self.sort_chunk();
            for it in std::mem::take(&mut self.chunk) {
                handle(it, &mut group, &mut out, &mut summary)?;
            }
        } else {
            self.spill()?;
            let mut readers = Vec::new();
            for p in &self.runs {
                let f = std::fs::File::open(p).map_err(|e| StoreError::io(p, e))?;
                readers.push((p.clone(), std::io::BufReader::new(f)));
            }
            let mut heap = BinaryHeap::new();
            for (i, (p, r)) in readers.iter_mut().enumerate() {
                if let Some(item) = read_run_line(p, r)? {
                    heap.push(std::cmp::Reverse((item, i)));
                }
            }
            while let Some(std::cmp::Reverse(((time, uid, line), i))) = heap.pop() {
                let (p, r) = &mut readers[i];
                if let Some(next) = read_run_line(p, r)? {
                    heap.push(std::cmp::Reverse((next, i)));
                }
                let bad = |detail: String| StoreError::Layout {
                    path: readers[i].0.clone(),
                    dataset: "ocsf_events spill run",
                    detail,
                };
                let parsed: Value = serde_json::from_str(&line).map_err(|e| bad(e.to_string()))?;
                let Value::Array(items) = parsed else {
                    return Err(bad("a line is not an array of leaves".into()));
                };
                let mut leaves = Vec::with_capacity(items.len());
                for it in items {
                    let Value::Array(mut pair) = it else {
                        return Err(bad("a leaf is not [id, value]".into()));
                    };
                    let v = pair.pop().unwrap_or(Value::Null);
                    let id = pair
                        .first()
                        .and_then(Value::as_u64)
                        .ok_or_else(|| bad("bad leaf id".into()))?;
                    leaves.push((id as u32, v));
                }
                handle(
                    Item { time, uid, leaves },
                    &mut group,
                    &mut out,
                    &mut summary,
                )?;
            }
        }
        flush_group(&mut group, &mut out, &mut summary)?;
        let (parts, rows) = out.finish()?;
        summary.parts = parts;
        summary.rows = rows;
        summary.schema_document = schema_document;
        Ok(summary)
    }

    /// Events pushed so far.
    pub fn pushed(&self) -> u64 {
        self.pushed
    }
}

fn read_run_line(
    p: &Path,
    r: &mut std::io::BufReader<std::fs::File>,
) -> Result<Option<(i64, String, String)>, StoreError> {
    let mut line = String::new();
    let n = r.read_line(&mut line).map_err(|e| StoreError::io(p, e))?;
    if n == 0 {
        return Ok(None);
    }
    let line = line.trim_end_matches('\n');
    let bad = || StoreError::Layout {
        path: p.to_path_buf(),
        dataset: "ocsf_events spill run",
        detail: "malformed line".into(),
    };
    let (t, rest) = line.split_once('\t').ok_or_else(bad)?;
    let (uid, text) = rest.split_once('\t').ok_or_else(bad)?;
    Ok(Some((
        t.parse().map_err(|_| bad())?,
        uid.to_string(),
        text.to_string(),
    )))
}

enum Builder {
    I32(Int32Builder),
    I64(Int64Builder),
    F64(Float64Builder),
    Bool(BooleanBuilder),
    Str(StringBuilder),
}

struct PartWriter {
    id_to_col: Vec<usize>,
    dir: PathBuf,
    schema: SchemaRef,
    cols: Vec<(String, ColumnKind)>,
    builders: Vec<Builder>,
    filled: Vec<bool>,
    len: usize,
    rows_per_part: usize,
    current: Option<(PathBuf, ArrowWriter<std::fs::File>, usize)>,
    parts: Vec<(PathBuf, usize)>,
    rows: u64,
}

impl PartWriter {
    fn new(
        dir: &Path,
        schema: SchemaRef,
        cols: Vec<(String, ColumnKind)>,
        rows_per_part: usize,
        id_to_col: Vec<usize>,
    ) -> Self {
        let mut w = PartWriter {
            id_to_col,
            dir: dir.to_path_buf(),
            schema,
            builders: Vec::new(),
            filled: vec![false; cols.len()],
            cols,
            len: 0,
            rows_per_part,
            current: None,
            parts: Vec::new(),
            rows: 0,
        };
        w.builders = w.new_builders();
        w
    }

    fn new_builders(&self) -> Vec<Builder> {
        self.cols
            .iter()
            .map(|(n, k)| match k.data_type(n) {
                DataType::Int32 => Builder::I32(Int32Builder::new()),
                DataType::Int64 => Builder::I64(Int64Builder::new()),
                DataType::Float64 => Builder::F64(Float64Builder::new()),
                DataType::Boolean => Builder::Bool(BooleanBuilder::new()),
                _ => Builder::Str(StringBuilder::new()),
            })
            .collect()
    }

    fn push_leaves(&mut self, leaves: &[(u32, Value)]) -> Result<(), StoreError> {
        self.filled.iter_mut().for_each(|f| *f = false);
        for (id, v) in leaves {
            let Some(&i) = self.id_to_col.get(*id as usize) else {
                continue; // impossible: every leaf's column was registered
            };
            let json = self.cols[i].1 == ColumnKind::Json;
            self.filled[i] = true;
            match &mut self.builders[i] {
                Builder::I32(b) => b.append_option(v.as_i64().and_then(|x| i32::try_from(x).ok())),
                Builder::I64(b) => b.append_option(v.as_i64()),
                Builder::F64(b) => b.append_option(v.as_f64()),
                Builder::Bool(b) => b.append_option(v.as_bool()),
                Builder::Str(b) => match (v, json) {
                    (Value::String(s), false) => b.append_value(s),
                    _ => b.append_value(text(v)),
                },
            }
        }
        for (i, f) in self.filled.iter().enumerate() {
            if !f {
                match &mut self.builders[i] {
                    Builder::I32(b) => b.append_null(),
                    Builder::I64(b) => b.append_null(),
                    Builder::F64(b) => b.append_null(),
                    Builder::Bool(b) => b.append_null(),
                    Builder::Str(b) => b.append_null(),
                }
            }
        }
        self.len += 1;
        let in_part = self.current.as_ref().map_or(0, |c| c.2) + self.len;
        if self.len >= BATCH_ROWS || in_part >= self.rows_per_part {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), StoreError> {
        if self.len == 0 {
            return Ok(());
        }
        if self.current.is_none() {
            let path = self.dir.join(part_name(self.parts.len()));
            let f = std::fs::File::create(&path).map_err(|e| StoreError::io(&path, e))?;
            let w = ArrowWriter::try_new(f, self.schema.clone(), Some(writer_properties()))
                .map_err(|e| StoreError::parquet(&path, e))?;
            self.current = Some((path, w, 0));
        }
        let fresh = self.new_builders();
        let builders = std::mem::replace(&mut self.builders, fresh);
        let arrays: Vec<ArrayRef> = builders
            .into_iter()
            .map(|b| -> ArrayRef {
                match b {
                    Builder::I32(mut b) => Arc::new(b.finish()),
                    Builder::I64(mut b) => Arc::new(b.finish()),
                    Builder::F64(mut b) => Arc::new(b.finish()),
                    Builder::Bool(mut b) => Arc::new(b.finish()),
                    Builder::Str(mut b) => Arc::new(b.finish()),
                }
            })
            .collect();
        let (path, w, n) = self.current.as_mut().expect("opened above");
        let batch = RecordBatch::try_new(self.schema.clone(), arrays)
            .map_err(|e| StoreError::parquet(path, e))?;
        w.write(&batch).map_err(|e| StoreError::parquet(path, e))?;
        *n += self.len;
        self.rows += self.len as u64;
        self.len = 0;
        if *n >= self.rows_per_part {
            self.close_part()?;
        }
        Ok(())
    }

    fn close_part(&mut self) -> Result<(), StoreError> {
        if let Some((path, w, n)) = self.current.take() {
            w.close().map_err(|e| StoreError::parquet(&path, e))?;
            sync_file(&path)?;
            self.parts.push((path, n));
        }
        Ok(())
    }

    fn finish(mut self) -> Result<(Vec<(PathBuf, usize)>, u64), StoreError> {
        self.flush()?;
        self.close_part()?;
        Ok((self.parts, self.rows))
    }
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
        let dir = t.path().join("ocsf_events");
        let mut w = EventWriter::new(&dir, t.path(), budget).unwrap();
        for e in events {
            w.push(e).unwrap();
        }
        let s = w.finish(per_part).unwrap();
        std::fs::write(
            dir.join("_schema.json"),
            serde_json::to_vec(&s.schema_document).unwrap(),
        )
        .unwrap();
        let back = EventReader::open(&dir).unwrap().events().unwrap();
        (s, back)
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
                json!({"message": format!("event {i} {}", "x".repeat(200))}),
            ));
        }
        events.push(events[17].clone()); // identical duplicate
        let mut conflict = events[42].clone();
        conflict["message"] = json!("a different body");
        events.push(conflict.clone());
        let (s1, a) = write_read(&events, 1 << 20, 700); // spills (budget floor 1 MiB, ~0.8 MB data)
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
