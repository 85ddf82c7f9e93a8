//! Reading a normalized store back: [`EventReader`] yields its record batches with the decoding
//! info of their columns ([`ColumnInfo`]), or the events rebuilt from them ([`batch_events`]).

use super::{BATCH_ROWS, REQUIRED, insert_path};
use crate::layout::{Partition, partitions};
use crate::{DatasetSchema, StoreError};
use arrow_array::RecordBatchReader;
use arrow_array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray,
};
use arrow_schema::SchemaRef;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How a column of a read batch is decoded back into event values.
#[derive(Debug, Clone)]
pub struct ColumnInfo {
    /// The dotted column name.
    pub name: String,
    /// The column holds JSON text.
    pub json: bool,
}

/// Reads a normalized store back, as record batches (for columnar consumers) or as
/// reconstructed events, in (`time`, `metadata.uid`) order whatever the layout: an
/// unpartitioned store part by part; a partitioned one (`_schema.json` `layout`) day by day,
/// merging the class partitions of a day. Every batch of a partitioned store has the dataset's
/// columns in `_schema.json` order (`class_uid` from the path, a column a partition lacks as
/// nulls).
pub struct EventReader {
    json_columns: Vec<String>,
    /// Partitioned stores: the schema every batch is given.
    full: Option<SchemaRef>,
    /// The partitions still to read, by day.
    days: std::vec::IntoIter<Vec<Partition>>,
    /// The partitions of the day being read.
    streams: Vec<Stream>,
}

impl EventReader {
    /// Open the dataset in `dir`; `_schema.json` there says which columns hold JSON text and
    /// how the parts are laid out.
    pub fn open(dir: &Path) -> Result<EventReader, StoreError> {
        let sp = dir.join("_schema.json");
        let layout_err = |detail: String| StoreError::Layout {
            path: sp.clone(),
            dataset: "ocsf_events",
            detail,
        };
        let doc: DatasetSchema = match std::fs::read(&sp) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| layout_err(e.to_string()))?,
            Err(e) => return Err(StoreError::io(&sp, e)),
        };
        let layout = doc.layout.clone().unwrap_or_default();
        layout
            .check_partitioning()
            .map_err(|e| layout_err(e.to_string()))?;
        let full = if layout.partitioned() {
            for r in REQUIRED {
                if !doc.columns.iter().any(|c| c.name == r) {
                    return Err(layout_err(format!("required column {r} is not listed")));
                }
            }
            Some(Arc::new(doc.arrow_schema()))
        } else {
            None
        };
        let mut days: Vec<Vec<Partition>> = Vec::new();
        for p in partitions(dir, &layout)? {
            match days.last_mut() {
                Some(d) if d[0].day == p.day => d.push(p),
                _ => days.push(vec![p]),
            }
        }
        Ok(EventReader {
            json_columns: doc.json_columns(),
            full,
            days: days.into_iter(),
            streams: Vec::new(),
        })
    }

    /// The next record batch with its columns' decoding info, or `None` at the end. After an
    /// error the reader is done: a corrupt part is never read past.
    pub fn next_batch(&mut self) -> Result<Option<(RecordBatch, Vec<ColumnInfo>)>, StoreError> {
        let got = self.advance();
        if got.is_err() {
            self.streams.clear();
            self.days = Vec::new().into_iter();
        }
        let Some(b) = got? else {
            return Ok(None);
        };
        let info = b
            .schema()
            .fields()
            .iter()
            .map(|f| ColumnInfo {
                name: f.name().clone(),
                json: self.json_columns.iter().any(|c| c == f.name()),
            })
            .collect();
        Ok(Some((b, info)))
    }

    fn advance(&mut self) -> Result<Option<RecordBatch>, StoreError> {
        loop {
            if self.streams.is_empty() {
                let Some(day) = self.days.next() else {
                    return Ok(None);
                };
                self.streams = day.into_iter().map(Stream::new).collect();
            }
            let got = if self.streams.len() == 1 {
                self.streams[0].next_batch(self.full.as_ref())?
            } else {
                merge(&mut self.streams, self.full.as_ref())?
            };
            match got {
                Some(b) => return Ok(Some(b)),
                None => self.streams.clear(),
            }
        }
    }

    /// Read everything as events (convenience for small stores and tests).
    pub fn events(mut self) -> Result<Vec<Value>, StoreError> {
        let mut out = Vec::new();
        while let Some((b, info)) = self.next_batch()? {
            out.extend(batch_events(&b, &info));
        }
        Ok(out)
    }
}

/// The rows of the store in `dir`, from its parts' footers (no row is read).
pub fn row_count(dir: &Path) -> Result<u64, StoreError> {
    let sp = dir.join("_schema.json");
    let bytes = std::fs::read(&sp).map_err(|e| StoreError::io(&sp, e))?;
    let doc: DatasetSchema = serde_json::from_slice(&bytes).map_err(|e| StoreError::Layout {
        path: sp.clone(),
        dataset: "ocsf_events",
        detail: e.to_string(),
    })?;
    let mut rows = 0u64;
    for p in partitions(dir, &doc.layout.unwrap_or_default())? {
        for path in p.parts {
            let f = std::fs::File::open(&path).map_err(|e| StoreError::io(&path, e))?;
            let n = crate::guard::decoding(&path, || {
                ParquetRecordBatchReaderBuilder::try_new(f)
                    .map(|b| b.metadata().file_metadata().num_rows())
                    .map_err(|e| StoreError::parquet(&path, e))
            })?;
            rows += u64::try_from(n).unwrap_or_default();
        }
    }
    Ok(rows)
}

/// Where a column of a widened batch comes from.
#[derive(Clone, Copy)]
enum Source {
    Column(usize),
    Class(i32),
    Nulls,
}

/// The parts of one partition, read in order, with the batch being merged.
struct Stream {
    parts: std::vec::IntoIter<PathBuf>,
    class_uid: Option<i32>,
    reader: Option<(PathBuf, ParquetRecordBatchReader, Vec<Source>)>,
    /// The batch being merged: its rows from `row` on are still to come; `slot` is its index
    /// among the sources of the batch being built.
    head: Option<Head>,
    done: bool,
}

struct Head {
    batch: RecordBatch,
    times: Int64Array,
    uids: StringArray,
    row: usize,
    slot: Option<usize>,
}

impl Stream {
    fn new(p: Partition) -> Stream {
        Stream {
            parts: p.parts.into_iter(),
            class_uid: p.class_uid,
            reader: None,
            head: None,
            done: false,
        }
    }

    /// The next non-empty batch of the partition (widened to `full` when given).
    fn next_batch(&mut self, full: Option<&SchemaRef>) -> Result<Option<RecordBatch>, StoreError> {
        loop {
            if let Some((path, reader, sources)) = self.reader.as_mut() {
                match crate::guard::decoding(path, || Ok(reader.next()))? {
                    Some(Ok(b)) if b.num_rows() == 0 => continue,
                    Some(Ok(b)) => {
                        let b = match full {
                            Some(schema) => widen(path, &b, schema, sources)?,
                            None => b,
                        };
                        for r in REQUIRED {
                            if b.column_by_name(r).is_none() {
                                return Err(StoreError::Layout {
                                    path: path.clone(),
                                    dataset: "ocsf_events",
                                    detail: format!("required column {r} is missing"),
                                });
                            }
                        }
                        return Ok(Some(b));
                    }
                    Some(Err(e)) => return Err(StoreError::parquet(path, e)),
                    None => self.reader = None,
                }
            }
            let Some(path) = self.parts.next() else {
                self.done = true;
                return Ok(None);
            };
            let f = std::fs::File::open(&path).map_err(|e| StoreError::io(&path, e))?;
            let reader = crate::guard::decoding(&path, || {
                ParquetRecordBatchReaderBuilder::try_new(f)
                    .and_then(|b| b.with_batch_size(BATCH_ROWS).build())
                    .map_err(|e| StoreError::parquet(&path, e))
            })?;
            let sources = match full {
                Some(schema) => sources(&path, &reader.schema(), schema, self.class_uid)?,
                None => Vec::new(),
            };
            self.reader = Some((path, reader, sources));
        }
    }

    /// Make sure the stream has a head batch (unless it is done).
    fn fill(&mut self, full: Option<&SchemaRef>) -> Result<(), StoreError> {
        if self.head.is_some() || self.done {
            return Ok(());
        }
        let Some(batch) = self.next_batch(full)? else {
            return Ok(());
        };
        let col = |name: &str| batch.column_by_name(name).map(|c| c.as_any());
        let (Some(times), Some(uids)) = (
            col("time").and_then(|a| a.downcast_ref::<Int64Array>()),
            col("metadata.uid").and_then(|a| a.downcast_ref::<StringArray>()),
        ) else {
            let path = self
                .reader
                .as_ref()
                .map(|r| r.0.clone())
                .unwrap_or_default();
            return Err(StoreError::Layout {
                path,
                dataset: "ocsf_events",
                detail: "time is not int64 or metadata.uid is not a string".into(),
            });
        };
        self.head = Some(Head {
            times: times.clone(),
            uids: uids.clone(),
            batch,
            row: 0,
            slot: None,
        });
        Ok(())
    }
}

/// The next batch of up to [`BATCH_ROWS`] rows of the streams merged in (`time`,
/// `metadata.uid`) order, or `None` when every stream is done.
fn merge(
    streams: &mut [Stream],
    full: Option<&SchemaRef>,
) -> Result<Option<RecordBatch>, StoreError> {
    let mut sources: Vec<RecordBatch> = Vec::new();
    let mut indices: Vec<(usize, usize)> = Vec::with_capacity(BATCH_ROWS);
    while indices.len() < BATCH_ROWS {
        let mut best: Option<usize> = None;
        for i in 0..streams.len() {
            streams[i].fill(full)?;
            let Some(h) = &streams[i].head else { continue };
            let key = (h.times.value(h.row), h.uids.value(h.row));
            let better = match best.and_then(|b| streams[b].head.as_ref()) {
                Some(b) => key < (b.times.value(b.row), b.uids.value(b.row)),
                None => true,
            };
            if better {
                best = Some(i);
            }
        }
        let Some(i) = best else { break };
        let h = streams[i].head.as_mut().expect("chosen for its head");
        let slot = *h.slot.get_or_insert_with(|| {
            sources.push(h.batch.clone());
            sources.len() - 1
        });
        indices.push((slot, h.row));
        h.row += 1;
        if h.row == h.batch.num_rows() {
            streams[i].head = None;
        }
    }
    for s in streams.iter_mut() {
        if let Some(h) = s.head.as_mut() {
            h.slot = None;
        }
    }
    if indices.is_empty() {
        return Ok(None);
    }
    let refs: Vec<&RecordBatch> = sources.iter().collect();
    arrow_select::interleave::interleave_record_batch(&refs, &indices)
        .map(Some)
        .map_err(|e| StoreError::Parquet {
            path: PathBuf::from("(merged partitions)"),
            detail: e.to_string(),
        })
}

/// Where each column of `full` comes from in a part of schema `part` (of the partition of
/// `class_uid`). A part column `full` lacks, or of another type, is an error naming the part.
fn sources(
    path: &Path,
    part: &SchemaRef,
    full: &SchemaRef,
    class_uid: Option<i32>,
) -> Result<Vec<Source>, StoreError> {
    let bad = |detail: String| StoreError::Layout {
        path: path.to_path_buf(),
        dataset: "ocsf_events",
        detail,
    };
    for f in part.fields() {
        match full.field_with_name(f.name()) {
            Ok(want) if want.data_type() == f.data_type() => {}
            Ok(want) => {
                return Err(bad(format!(
                    "column {} is {} here, {} in _schema.json",
                    f.name(),
                    f.data_type(),
                    want.data_type()
                )));
            }
            Err(_) => return Err(bad(format!("column {} is not in _schema.json", f.name()))),
        }
    }
    Ok(full
        .fields()
        .iter()
        .map(|f| match (f.name().as_str(), class_uid) {
            ("class_uid", Some(c)) => Source::Class(c),
            (name, _) => part.index_of(name).map_or(Source::Nulls, Source::Column),
        })
        .collect())
}

/// `b` with the columns of `full`, taken from `sources`.
fn widen(
    path: &Path,
    b: &RecordBatch,
    full: &SchemaRef,
    sources: &[Source],
) -> Result<RecordBatch, StoreError> {
    let n = b.num_rows();
    let cols: Vec<ArrayRef> = full
        .fields()
        .iter()
        .zip(sources)
        .map(|(f, s)| match s {
            Source::Column(i) => b.column(*i).clone(),
            Source::Class(c) => Arc::new(Int32Array::from(vec![*c; n])) as ArrayRef,
            Source::Nulls => arrow_array::new_null_array(f.data_type(), n),
        })
        .collect();
    RecordBatch::try_new(full.clone(), cols).map_err(|e| StoreError::parquet(path, e))
}

/// The value of one cell, as JSON (`None` for a null cell).
pub fn cell(col: &dyn Array, json: bool, row: usize) -> Option<Value> {
    if col.is_null(row) {
        return None;
    }
    let any = col.as_any();
    if let Some(a) = any.downcast_ref::<Int64Array>() {
        return Some(Value::from(a.value(row)));
    }
    if let Some(a) = any.downcast_ref::<Int32Array>() {
        return Some(Value::from(a.value(row)));
    }
    if let Some(a) = any.downcast_ref::<Float64Array>() {
        return serde_json::Number::from_f64(a.value(row)).map(Value::Number);
    }
    if let Some(a) = any.downcast_ref::<BooleanArray>() {
        return Some(Value::Bool(a.value(row)));
    }
    if let Some(a) = any.downcast_ref::<StringArray>() {
        let s = a.value(row);
        return Some(if json {
            serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.to_string()))
        } else {
            Value::String(s.to_string())
        });
    }
    None
}

/// Reconstruct the events of a batch.
pub fn batch_events(b: &RecordBatch, info: &[ColumnInfo]) -> Vec<Value> {
    (0..b.num_rows())
        .map(|row| {
            let mut m = Map::new();
            for (i, ci) in info.iter().enumerate() {
                if let Some(v) = cell(b.column(i).as_ref(), ci.json, row) {
                    insert_path(&mut m, &ci.name, v);
                }
            }
            Value::Object(m)
        })
        .collect()
}
