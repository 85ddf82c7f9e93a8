//! Writing the sorted, deduplicated rows of the normalized store into part files, as the
//! store's [`StoreLayout`] says: parts of at most `rows_per_part` rows and row groups of at most
//! `row_group_rows`, in one directory or in hive partition directories (one schema per
//! partition: the columns its class uses, without the partition columns).

use super::spill::{Leaf, leaves};
use super::{BATCH_ROWS, ColumnKind};
use crate::layout::StoreLayout;
use crate::{StoreError, part_name};
use arrow_array::builder::{
    ArrayBuilder, BooleanBuilder, Float64Builder, Int32Builder, Int64Builder, StringBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::file::metadata::SortingColumn;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The columns of one part schema: the dataset's columns it holds, and for each leaf id of
/// the writer its column in that schema (`None`: not stored in this schema).
#[derive(Clone)]
pub(super) struct PartSchema {
    schema: SchemaRef,
    cols: Vec<(String, ColumnKind)>,
    id_to_col: Vec<Option<usize>>,
}

impl PartSchema {
    /// The schema of the dataset columns `keep` says (in dataset order).
    pub(super) fn new(
        dataset: &[(String, ColumnKind)],
        leaf_to_dataset: &[Option<usize>],
        keep: impl Fn(usize, &str) -> bool,
    ) -> PartSchema {
        let mut map = vec![None; dataset.len()];
        let mut cols = Vec::new();
        for (i, (n, k)) in dataset.iter().enumerate() {
            if keep(i, n) {
                map[i] = Some(cols.len());
                cols.push((n.clone(), *k));
            }
        }
        let fields: Vec<Field> = cols
            .iter()
            .map(|(n, k)| Field::new(n, k.data_type(n), !super::REQUIRED.contains(&n.as_str())))
            .collect();
        PartSchema {
            schema: Arc::new(Schema::new(fields)),
            id_to_col: leaf_to_dataset
                .iter()
                .map(|d| d.and_then(|d| map[d]))
                .collect(),
            cols,
        }
    }
}

/// Routes each row to the part writer of its partition.
pub(super) struct Sink {
    layout: StoreLayout,
    dir: PathBuf,
    /// The schema of an unpartitioned store, or per class of a partitioned one.
    schema_of: Box<dyn FnMut(i64) -> PartSchema>,
    schemas: HashMap<i64, PartSchema>,
    /// The leaf id of `class_uid`.
    class_leaf: Option<u32>,
    open: BTreeMap<String, PartWriter>,
    day: Option<String>,
    parts: Vec<(PathBuf, usize)>,
    rows: u64,
}

impl Sink {
    pub(super) fn new(
        dir: &Path,
        layout: StoreLayout,
        class_leaf: Option<u32>,
        schema_of: Box<dyn FnMut(i64) -> PartSchema>,
    ) -> Sink {
        Sink {
            layout,
            dir: dir.to_path_buf(),
            schema_of,
            schemas: HashMap::new(),
            class_leaf,
            open: BTreeMap::new(),
            day: None,
            parts: Vec::new(),
            rows: 0,
        }
    }

    /// Write one row, its leaves encoded (rows come in (`time`, `metadata.uid`) order).
    pub(super) fn push(&mut self, time: i64, data: &[u8]) -> Result<(), StoreError> {
        let class = if self.layout.partitioned() {
            self.class_leaf
                .and_then(|c| leaves(data).find(|(id, _)| *id == c))
                .and_then(|(_, v)| v.as_i64())
                .unwrap_or_default()
        } else {
            0
        };
        let rel = self.layout.partition_dir(class, time);
        if self.layout.partition_by.first() == Some(&crate::layout::PartitionKey::Day) {
            // Rows come in time order: a day's partitions are complete when the next begins.
            let day = rel.split('/').next().unwrap_or_default();
            if self.day.as_deref() != Some(day) {
                self.close_all()?;
                self.day = Some(day.to_owned());
            }
        }
        if !self.open.contains_key(&rel) {
            let schema = match self.schemas.get(&class) {
                Some(s) => s.clone(),
                None => {
                    let s = (self.schema_of)(class);
                    self.schemas.insert(class, s.clone());
                    s
                }
            };
            let dir = if rel.is_empty() {
                self.dir.clone()
            } else {
                self.dir.join(&rel)
            };
            self.open
                .insert(rel.clone(), PartWriter::new(&dir, schema, &self.layout));
        }
        self.open
            .get_mut(&rel)
            .expect("inserted above")
            .push_leaves(data)
    }

    fn close_all(&mut self) -> Result<(), StoreError> {
        for (_, w) in std::mem::take(&mut self.open) {
            let (parts, rows) = w.finish()?;
            self.parts.extend(parts);
            self.rows += rows;
        }
        Ok(())
    }

    /// Close every part: the parts written (sorted by path) with their rows, and the rows.
    pub(super) fn finish(mut self) -> Result<(Vec<(PathBuf, usize)>, u64), StoreError> {
        self.close_all()?;
        self.parts.sort();
        Ok((self.parts, self.rows))
    }
}

enum Builder {
    I32(Int32Builder),
    I64(Int64Builder),
    F64(Float64Builder),
    Bool(BooleanBuilder),
    Str(StringBuilder),
}

impl Builder {
    fn len(&self) -> usize {
        match self {
            Builder::I32(b) => b.len(),
            Builder::I64(b) => b.len(),
            Builder::F64(b) => b.len(),
            Builder::Bool(b) => b.len(),
            Builder::Str(b) => b.len(),
        }
    }
    fn append_nulls(&mut self, n: usize) {
        match self {
            Builder::I32(b) => b.append_nulls(n),
            Builder::I64(b) => b.append_nulls(n),
            Builder::F64(b) => b.append_nulls(n),
            Builder::Bool(b) => b.append_nulls(n),
            Builder::Str(b) => b.append_nulls(n),
        }
    }
}

/// The parts of one directory.
struct PartWriter {
    dir: PathBuf,
    part: PartSchema,
    row_group_rows: usize,
    builders: Vec<Builder>,
    /// The rows of the last batch and the value bytes of each of its string columns: the next
    /// batch is sized so (no growth by doubling; a partition with few rows stays small).
    last_rows: usize,
    last_bytes: Vec<usize>,
    len: usize,
    rows_per_part: usize,
    current: Option<(PathBuf, ArrowWriter<std::fs::File>, usize)>,
    parts: Vec<(PathBuf, usize)>,
    rows: u64,
}

impl PartWriter {
    fn new(dir: &Path, part: PartSchema, layout: &StoreLayout) -> Self {
        let mut w = PartWriter {
            dir: dir.to_path_buf(),
            builders: Vec::new(),
            last_rows: 0,
            last_bytes: vec![0; part.cols.len()],
            part,
            row_group_rows: layout.row_group_rows,
            len: 0,
            rows_per_part: layout.rows_per_part.max(1),
            current: None,
            parts: Vec::new(),
            rows: 0,
        };
        w.builders = w.new_builders();
        w
    }

    fn new_builders(&self) -> Vec<Builder> {
        let rows = self.last_rows;
        self.part
            .cols
            .iter()
            .zip(&self.last_bytes)
            .map(|((n, k), &bytes)| match k.data_type(n) {
                DataType::Int32 => Builder::I32(Int32Builder::with_capacity(rows)),
                DataType::Int64 => Builder::I64(Int64Builder::with_capacity(rows)),
                DataType::Float64 => Builder::F64(Float64Builder::with_capacity(rows)),
                DataType::Boolean => Builder::Bool(BooleanBuilder::with_capacity(rows)),
                _ => Builder::Str(StringBuilder::with_capacity(rows, bytes + bytes / 8)),
            })
            .collect()
    }

    fn push_leaves(&mut self, data: &[u8]) -> Result<(), StoreError> {
        // A column gets the nulls of the rows that skipped it when it next gets a value (or
        // at the flush): the cost of a row is its leaves, not the store's columns.
        let row = self.len;
        for (id, v) in leaves(data) {
            let Some(&Some(i)) = self.part.id_to_col.get(id as usize) else {
                continue; // a partition column, kept in the path
            };
            let json = self.part.cols[i].1 == ColumnKind::Json;
            let b = &mut self.builders[i];
            let missing = row.saturating_sub(b.len());
            if missing > 0 {
                b.append_nulls(missing);
            }
            match b {
                Builder::I32(b) => b.append_option(v.as_i64().and_then(|x| i32::try_from(x).ok())),
                Builder::I64(b) => b.append_option(v.as_i64()),
                Builder::F64(b) => b.append_option(v.as_f64()),
                Builder::Bool(b) => b.append_option(v.as_bool()),
                Builder::Str(b) => match (v, json) {
                    (Leaf::Str(s), false) => b.append_value(s),
                    // Arrays and objects are held as their JSON text: no copy.
                    (Leaf::Json(t), _) => b.append_value(t),
                    _ => b.append_value(v.json_text()),
                },
            }
        }
        self.len += 1;
        let in_part = self.current.as_ref().map_or(0, |c| c.2) + self.len;
        if self.len >= BATCH_ROWS || in_part >= self.rows_per_part {
            self.flush()?;
        }
        Ok(())
    }

    fn open_part(&self) -> Result<(PathBuf, ArrowWriter<std::fs::File>, usize), StoreError> {
        std::fs::create_dir_all(&self.dir).map_err(|e| StoreError::io(&self.dir, e))?;
        let path = self.dir.join(part_name(self.parts.len()));
        let f = std::fs::File::create(&path).map_err(|e| StoreError::io(&path, e))?;
        // The sort key, declared so engines may use the order (`time`, `metadata.uid`).
        let sorting: Vec<SortingColumn> = super::REQUIRED
            .iter()
            .filter(|r| **r != "class_uid")
            .filter_map(|r| self.part.cols.iter().position(|(n, _)| n == r))
            .map(|i| SortingColumn {
                column_idx: i32::try_from(i).unwrap_or(i32::MAX),
                descending: false,
                nulls_first: false,
            })
            .collect();
        let props = crate::writer_properties(self.row_group_rows, Some(sorting));
        let w = ArrowWriter::try_new(f, self.part.schema.clone(), Some(props))
            .map_err(|e| StoreError::parquet(&path, e))?;
        Ok((path, w, 0))
    }

    fn flush(&mut self) -> Result<(), StoreError> {
        if self.len == 0 {
            return Ok(());
        }
        if self.current.is_none() {
            self.current = Some(self.open_part()?);
        }
        let len = self.len;
        for b in &mut self.builders {
            let missing = len.saturating_sub(b.len());
            if missing > 0 {
                b.append_nulls(missing);
            }
        }
        self.last_rows = len;
        let builders = std::mem::take(&mut self.builders);
        let arrays: Vec<ArrayRef> = builders
            .into_iter()
            .zip(&mut self.last_bytes)
            .map(|(b, last)| -> ArrayRef {
                match b {
                    Builder::I32(mut b) => Arc::new(b.finish()),
                    Builder::I64(mut b) => Arc::new(b.finish()),
                    Builder::F64(mut b) => Arc::new(b.finish()),
                    Builder::Bool(mut b) => Arc::new(b.finish()),
                    Builder::Str(mut b) => {
                        let a = b.finish();
                        *last = a.values().len();
                        Arc::new(a)
                    }
                }
            })
            .collect();
        self.builders = self.new_builders();
        let (path, w, n) = self.current.as_mut().expect("opened above");
        let batch = RecordBatch::try_new(self.part.schema.clone(), arrays)
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
        if let Some(part) = self.current.take() {
            self.parts.push(crate::close_part(part)?);
        }
        Ok(())
    }

    fn finish(mut self) -> Result<(Vec<(PathBuf, usize)>, u64), StoreError> {
        self.flush()?;
        self.close_part()?;
        Ok((self.parts, self.rows))
    }
}
