//! Reading a normalized store back: [`EventReader`] yields its record batches with the decoding
//! info of their columns ([`ColumnInfo`]), or the events rebuilt from them ([`batch_events`]).

use super::{BATCH_ROWS, REQUIRED, insert_path};
use crate::StoreError;
use arrow_array::{
    Array, BooleanArray, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray,
};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

/// How a column of a read batch is decoded back into event values.
#[derive(Debug, Clone)]
pub struct ColumnInfo {
    /// The dotted column name.
    pub name: String,
    /// The column holds JSON text.
    pub json: bool,
}

/// Reads a normalized store back, part by part: as record batches (for columnar consumers)
/// or as reconstructed events.
pub struct EventReader {
    parts: std::vec::IntoIter<PathBuf>,
    json_columns: Vec<String>,
    current: Option<(
        PathBuf,
        parquet::arrow::arrow_reader::ParquetRecordBatchReader,
    )>,
}

impl EventReader {
    /// Open the dataset in `dir`; `_schema.json` there says which columns hold JSON text.
    pub fn open(dir: &Path) -> Result<EventReader, StoreError> {
        let sp = dir.join("_schema.json");
        let json_columns = match std::fs::read(&sp) {
            Ok(bytes) => {
                let doc: crate::schema_doc::DatasetSchema = serde_json::from_slice(&bytes)
                    .map_err(|e| StoreError::Layout {
                        path: sp.clone(),
                        dataset: "ocsf_events",
                        detail: e.to_string(),
                    })?;
                doc.json_columns()
            }
            Err(e) => return Err(StoreError::io(&sp, e)),
        };
        Ok(EventReader {
            parts: crate::part_files(dir)?.into_iter(),
            json_columns,
            current: None,
        })
    }

    /// The next record batch with its columns' decoding info, or `None` at the end. After an
    /// error the reader is done: a corrupt part is never read past.
    pub fn next_batch(&mut self) -> Result<Option<(RecordBatch, Vec<ColumnInfo>)>, StoreError> {
        let got = self.advance();
        if got.is_err() {
            self.current = None;
            self.parts = Vec::new().into_iter();
        }
        got
    }

    fn advance(&mut self) -> Result<Option<(RecordBatch, Vec<ColumnInfo>)>, StoreError> {
        loop {
            if let Some((path, reader)) = self.current.as_mut() {
                match crate::guard::decoding(path, || Ok(reader.next()))? {
                    Some(Ok(b)) => {
                        for r in REQUIRED {
                            if b.column_by_name(r).is_none() {
                                return Err(StoreError::Layout {
                                    path: path.clone(),
                                    dataset: "ocsf_events",
                                    detail: format!("required column {r} is missing"),
                                });
                            }
                        }
                        let info = b
                            .schema()
                            .fields()
                            .iter()
                            .map(|f| ColumnInfo {
                                name: f.name().clone(),
                                json: self.json_columns.iter().any(|c| c == f.name()),
                            })
                            .collect();
                        return Ok(Some((b, info)));
                    }
                    Some(Err(e)) => return Err(StoreError::parquet(path, e)),
                    None => self.current = None,
                }
            }
            let Some(path) = self.parts.next() else {
                return Ok(None);
            };
            let f = std::fs::File::open(&path).map_err(|e| StoreError::io(&path, e))?;
            let reader = crate::guard::decoding(&path, || {
                ParquetRecordBatchReaderBuilder::try_new(f)
                    .and_then(|b| b.with_batch_size(BATCH_ROWS).build())
                    .map_err(|e| StoreError::parquet(&path, e))
            })?;
            self.current = Some((path, reader));
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
