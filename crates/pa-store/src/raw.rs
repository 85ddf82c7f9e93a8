//! `raw_parquet/<source_id>/`: one row per raw telemetry record, in read order.
//!
//! Columns (all nullable unless noted):
//!
//! | column | type | what |
//! |---|---|---|
//! | `time` | int64 | event time, ms since the Unix epoch (UTC); null when the record has none |
//! | `source_type` (not null) | utf8 | `windows-sysmon`, `linux-auditd`, ... |
//! | `asset_id` (not null) | utf8 | the range asset the source belongs to |
//! | `host` | utf8 | the host the record names |
//! | `file` (not null) | utf8 | the input file, as configured (relative to the range file) |
//! | `file_offset` | int64 | byte offset of the record in the file (text formats) |
//! | `ordinal` (not null) | int64 | 0-based record ordinal in the file |
//! | `record_id` | int64 | record id in the container (EVTX EventRecordID, audit serial) |
//! | `channel`, `provider` | utf8 | Windows channel and provider name |
//! | `event_code` | int64 | Windows EventID |
//! | `raw` (not null) | utf8 | the raw payload (event XML, audit lines, JSON line), cut at `raw_bytes` limit on a char boundary |
//! | `raw_sha256` (not null) | utf8 | `sha256:<hex>` of the full payload bytes |
//! | `raw_bytes` (not null) | int64 | size of the full payload |
//! | `raw_truncated` (not null) | bool | `raw` is a prefix; the full payload is in `raw_blob_ref` |
//! | `raw_blob_ref` | utf8 | bundle-relative path of the content-addressed blob holding the full payload |
//! | `fields_json` (not null) | utf8 | the decoded record (`pa-sources` record shape) as JSON text, keys in the reader's order |

use crate::{StoreError, part_name, writer_properties};
use arrow_array::builder::{BooleanBuilder, Int64Builder, StringBuilder};
use arrow_array::{Array, ArrayRef, BooleanArray, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::{ArrowWriter, ProjectionMask};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The `_schema.json` id of raw datasets.
pub const SCHEMA_ID: &str = "pa.raw_parquet.v1";
/// Its version.
pub const SCHEMA_VERSION: &str = "1.0.0";

/// One raw record.
#[derive(Debug, Clone, PartialEq)]
pub struct RawRow {
    pub time_ms: Option<i64>,
    pub source_type: String,
    pub asset_id: String,
    pub host: Option<String>,
    pub file: String,
    pub file_offset: Option<i64>,
    pub ordinal: i64,
    pub record_id: Option<i64>,
    pub channel: Option<String>,
    pub provider: Option<String>,
    pub event_code: Option<i64>,
    pub raw: String,
    pub raw_sha256: String,
    pub raw_bytes: i64,
    pub raw_truncated: bool,
    pub raw_blob_ref: Option<String>,
    pub fields_json: String,
}

/// The Arrow schema of raw datasets.
pub fn schema() -> SchemaRef {
    let s = |n: &str, null: bool| Field::new(n, DataType::Utf8, null);
    let i = |n: &str, null: bool| Field::new(n, DataType::Int64, null);
    Arc::new(Schema::new(vec![
        i("time", true),
        s("source_type", false),
        s("asset_id", false),
        s("host", true),
        s("file", false),
        i("file_offset", true),
        i("ordinal", false),
        i("record_id", true),
        s("channel", true),
        s("provider", true),
        i("event_code", true),
        s("raw", false),
        s("raw_sha256", false),
        i("raw_bytes", false),
        Field::new("raw_truncated", DataType::Boolean, false),
        s("raw_blob_ref", true),
        s("fields_json", false),
    ]))
}

/// The `_schema.json` document of raw datasets.
pub fn schema_document() -> crate::schema_doc::DatasetSchema {
    crate::schema_doc::document(SCHEMA_ID, SCHEMA_VERSION, &schema(), &[])
}

#[derive(Default)]
struct Builders {
    time: Int64Builder,
    source_type: StringBuilder,
    asset_id: StringBuilder,
    host: StringBuilder,
    file: StringBuilder,
    file_offset: Int64Builder,
    ordinal: Int64Builder,
    record_id: Int64Builder,
    channel: StringBuilder,
    provider: StringBuilder,
    event_code: Int64Builder,
    raw: StringBuilder,
    raw_sha256: StringBuilder,
    raw_bytes: Int64Builder,
    raw_truncated: BooleanBuilder,
    raw_blob_ref: StringBuilder,
    fields_json: StringBuilder,
    len: usize,
    bytes: usize,
}

impl Builders {
    fn push(&mut self, r: &RawRow) {
        self.time.append_option(r.time_ms);
        self.source_type.append_value(&r.source_type);
        self.asset_id.append_value(&r.asset_id);
        self.host.append_option(r.host.as_deref());
        self.file.append_value(&r.file);
        self.file_offset.append_option(r.file_offset);
        self.ordinal.append_value(r.ordinal);
        self.record_id.append_option(r.record_id);
        self.channel.append_option(r.channel.as_deref());
        self.provider.append_option(r.provider.as_deref());
        self.event_code.append_option(r.event_code);
        self.raw.append_value(&r.raw);
        self.raw_sha256.append_value(&r.raw_sha256);
        self.raw_bytes.append_value(r.raw_bytes);
        self.raw_truncated.append_value(r.raw_truncated);
        self.raw_blob_ref.append_option(r.raw_blob_ref.as_deref());
        self.fields_json.append_value(&r.fields_json);
        self.len += 1;
        self.bytes += r.raw.len() + r.fields_json.len() + 128;
    }

    fn finish(&mut self) -> Result<RecordBatch, arrow_schema::ArrowError> {
        // The next batch's large columns are sized like this one's, so they do not grow by
        // doubling (a copy and fresh pages at every step).
        let sized = |b: &mut StringBuilder| {
            let a = b.finish();
            let bytes = a.values().len();
            *b = StringBuilder::with_capacity(a.len(), bytes + bytes / 8);
            a
        };
        let raw = sized(&mut self.raw);
        let fields_json = sized(&mut self.fields_json);
        let cols: Vec<ArrayRef> = vec![
            Arc::new(self.time.finish()),
            Arc::new(self.source_type.finish()),
            Arc::new(self.asset_id.finish()),
            Arc::new(self.host.finish()),
            Arc::new(self.file.finish()),
            Arc::new(self.file_offset.finish()),
            Arc::new(self.ordinal.finish()),
            Arc::new(self.record_id.finish()),
            Arc::new(self.channel.finish()),
            Arc::new(self.provider.finish()),
            Arc::new(self.event_code.finish()),
            Arc::new(raw),
            Arc::new(self.raw_sha256.finish()),
            Arc::new(self.raw_bytes.finish()),
            Arc::new(self.raw_truncated.finish()),
            Arc::new(self.raw_blob_ref.finish()),
            Arc::new(fields_json),
        ];
        self.len = 0;
        self.bytes = 0;
        RecordBatch::try_new(schema(), cols)
    }
}

/// Streams raw rows into `part-NNNN.parquet` files of at most `rows_per_part` rows.
/// Memory is bounded by one batch (at most 8,192 rows or 64 MiB of payload).
pub struct RawWriter {
    dir: PathBuf,
    rows_per_part: usize,
    builders: Builders,
    current: Option<(PathBuf, ArrowWriter<std::fs::File>, usize)>,
    parts: Vec<(PathBuf, usize)>,
}

const BATCH_ROWS: usize = 8192;
const BATCH_BYTES: usize = 64 << 20;

impl RawWriter {
    /// Write into `dir` (created if needed).
    pub fn new(dir: &Path, rows_per_part: usize) -> Result<RawWriter, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
        Ok(RawWriter {
            dir: dir.to_path_buf(),
            rows_per_part: rows_per_part.max(1),
            builders: Builders::default(),
            current: None,
            parts: Vec::new(),
        })
    }

    /// Append one row.
    pub fn push(&mut self, row: &RawRow) -> Result<(), StoreError> {
        self.builders.push(row);
        let in_part = self.current.as_ref().map_or(0, |c| c.2) + self.builders.len;
        if self.builders.len >= BATCH_ROWS
            || self.builders.bytes >= BATCH_BYTES
            || in_part >= self.rows_per_part
        {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), StoreError> {
        if self.builders.len == 0 {
            return Ok(());
        }
        if self.current.is_none() {
            let path = self.dir.join(part_name(self.parts.len()));
            let f = std::fs::File::create(&path).map_err(|e| StoreError::io(&path, e))?;
            let w = ArrowWriter::try_new(
                f,
                schema(),
                Some(writer_properties(crate::ROW_GROUP_ROWS, None)),
            )
            .map_err(|e| StoreError::parquet(&path, e))?;
            self.current = Some((path, w, 0));
        }
        let batch = self.builders.finish().map_err(|e| StoreError::Parquet {
            path: self.dir.clone(),
            detail: e.to_string(),
        })?;
        let full = {
            let (path, w, n) = self.current.as_mut().expect("opened above");
            w.write(&batch).map_err(|e| StoreError::parquet(path, e))?;
            *n += batch.num_rows();
            *n >= self.rows_per_part
        };
        if full {
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

    /// Flush and close. Returns the part files written with their row counts (none when no
    /// row was pushed).
    pub fn finish(mut self) -> Result<Vec<(PathBuf, usize)>, StoreError> {
        self.flush()?;
        self.close_part()?;
        Ok(self.parts)
    }
}

/// Reads every row of a raw dataset directory, part by part, in row order.
pub struct RawReader {
    parts: std::vec::IntoIter<PathBuf>,
    current: Option<(
        PathBuf,
        parquet::arrow::arrow_reader::ParquetRecordBatchReader,
    )>,
    batch: Option<(PathBuf, RecordBatch)>,
    row: usize,
    failed: bool,
    /// The `raw` column is not decoded; rows carry an empty `raw`.
    skip_raw: bool,
}

impl RawReader {
    /// Open the dataset in `dir` (its `part-*.parquet` files in name order).
    pub fn open(dir: &Path) -> Result<RawReader, StoreError> {
        Ok(RawReader {
            parts: crate::part_files(dir)?.into_iter(),
            current: None,
            batch: None,
            row: 0,
            failed: false,
            skip_raw: false,
        })
    }

    /// Leave the `raw` column (the record as read, the largest column) undecoded: the rows
    /// come back with an empty `raw`, for readers that only need the decoded fields.
    pub fn without_raw(mut self) -> RawReader {
        self.skip_raw = true;
        self
    }

    /// The part file the last row came from.
    pub fn current_part(&self) -> Option<&Path> {
        self.batch.as_ref().map(|(p, _)| p.as_path())
    }

    fn next_batch(&mut self) -> Result<bool, StoreError> {
        loop {
            if let Some((path, reader)) = self.current.as_mut() {
                match crate::guard::decoding(path, || Ok(reader.next()))? {
                    Some(Ok(b)) => {
                        check_layout(path, b.schema().as_ref(), self.skip_raw)?;
                        self.batch = Some((path.clone(), b));
                        self.row = 0;
                        return Ok(true);
                    }
                    Some(Err(e)) => return Err(StoreError::parquet(path, e)),
                    None => self.current = None,
                }
            }
            let Some(path) = self.parts.next() else {
                return Ok(false);
            };
            let f = std::fs::File::open(&path).map_err(|e| StoreError::io(&path, e))?;
            let skip_raw = self.skip_raw;
            let reader = crate::guard::decoding(&path, || {
                ParquetRecordBatchReaderBuilder::try_new(f)
                    .and_then(|b| {
                        let b = b.with_batch_size(BATCH_ROWS);
                        if !skip_raw {
                            return b.build();
                        }
                        let roots: Vec<usize> = b
                            .parquet_schema()
                            .root_schema()
                            .get_fields()
                            .iter()
                            .enumerate()
                            .filter(|(_, f)| f.name() != "raw")
                            .map(|(i, _)| i)
                            .collect();
                        let mask = ProjectionMask::roots(b.parquet_schema(), roots);
                        b.with_projection(mask).build()
                    })
                    .map_err(|e| StoreError::parquet(&path, e))
            })?;
            self.current = Some((path, reader));
        }
    }
}

fn check_layout(path: &Path, got: &Schema, skip_raw: bool) -> Result<(), StoreError> {
    let want = schema();
    for f in want.fields() {
        if skip_raw && f.name() == "raw" {
            continue;
        }
        match got.field_with_name(f.name()) {
            Ok(g) if g.data_type() == f.data_type() => {}
            Ok(g) => {
                return Err(StoreError::Layout {
                    path: path.to_path_buf(),
                    dataset: "raw_parquet",
                    detail: format!(
                        "column {} is {:?}, expected {:?}",
                        f.name(),
                        g.data_type(),
                        f.data_type()
                    ),
                });
            }
            Err(_) => {
                return Err(StoreError::Layout {
                    path: path.to_path_buf(),
                    dataset: "raw_parquet",
                    detail: format!("column {} is missing", f.name()),
                });
            }
        }
    }
    Ok(())
}

fn col<'a, T: 'static>(b: &'a RecordBatch, name: &str) -> &'a T {
    b.column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<T>())
        .expect("layout checked")
}

fn opt_str(a: &StringArray, i: usize) -> Option<String> {
    (!a.is_null(i)).then(|| a.value(i).to_string())
}
fn opt_i64(a: &Int64Array, i: usize) -> Option<i64> {
    (!a.is_null(i)).then(|| a.value(i))
}

impl Iterator for RawReader {
    type Item = Result<RawRow, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let need = self
            .batch
            .as_ref()
            .is_none_or(|(_, b)| self.row >= b.num_rows());
        if need {
            match self.next_batch() {
                Ok(true) => {}
                Ok(false) => return None,
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            }
        }
        let (_, b) = self.batch.as_ref()?;
        let i = self.row;
        self.row += 1;
        let s = |n: &str| col::<StringArray>(b, n);
        let n = |n: &str| col::<Int64Array>(b, n);
        Some(Ok(RawRow {
            time_ms: opt_i64(n("time"), i),
            source_type: s("source_type").value(i).to_string(),
            asset_id: s("asset_id").value(i).to_string(),
            host: opt_str(s("host"), i),
            file: s("file").value(i).to_string(),
            file_offset: opt_i64(n("file_offset"), i),
            ordinal: n("ordinal").value(i),
            record_id: opt_i64(n("record_id"), i),
            channel: opt_str(s("channel"), i),
            provider: opt_str(s("provider"), i),
            event_code: opt_i64(n("event_code"), i),
            raw: if self.skip_raw {
                String::new()
            } else {
                s("raw").value(i).to_string()
            },
            raw_sha256: s("raw_sha256").value(i).to_string(),
            raw_bytes: n("raw_bytes").value(i),
            raw_truncated: col::<BooleanArray>(b, "raw_truncated").value(i),
            raw_blob_ref: opt_str(s("raw_blob_ref"), i),
            fields_json: s("fields_json").value(i).to_string(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(i: i64) -> RawRow {
        RawRow {
            time_ms: (i % 3 != 0).then_some(1_700_000_000_000 + i),
            source_type: "windows-sysmon".into(),
            asset_id: "a1".into(),
            host: Some("HOST".into()),
            file: "x.evtx".into(),
            file_offset: None,
            ordinal: i,
            record_id: Some(i + 100),
            channel: Some("Microsoft-Windows-Sysmon/Operational".into()),
            provider: None,
            event_code: Some(1),
            raw: format!("<Event>{i}</Event>"),
            raw_sha256: format!("sha256:{:064x}", i),
            raw_bytes: 20,
            raw_truncated: i == 5,
            raw_blob_ref: (i == 5).then(|| "raw/evidence/blobs/ab/cd.xml".to_string()),
            fields_json: format!("{{\"n\":{i}}}"),
        }
    }

    #[test]
    fn round_trip_over_several_parts() {
        let t = tempfile::tempdir().unwrap();
        let mut w = RawWriter::new(t.path(), 7).unwrap();
        let rows: Vec<RawRow> = (0..20).map(row).collect();
        for r in &rows {
            w.push(r).unwrap();
        }
        let parts = w.finish().unwrap();
        assert_eq!(parts.iter().map(|p| p.1).collect::<Vec<_>>(), vec![7, 7, 6]);
        let back: Vec<RawRow> = RawReader::open(t.path())
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(back, rows);
        // Without the raw column: every other column as written, `raw` empty.
        let lean: Vec<RawRow> = RawReader::open(t.path())
            .unwrap()
            .without_raw()
            .collect::<Result<_, _>>()
            .unwrap();
        let expected: Vec<RawRow> = rows
            .iter()
            .cloned()
            .map(|r| RawRow {
                raw: String::new(),
                ..r
            })
            .collect();
        assert_eq!(lean, expected);
    }

    #[test]
    fn no_rows_no_parts() {
        let t = tempfile::tempdir().unwrap();
        let w = RawWriter::new(t.path(), 10).unwrap();
        assert!(w.finish().unwrap().is_empty());
        assert_eq!(RawReader::open(t.path()).unwrap().count(), 0);
    }

    #[test]
    fn truncated_part_is_an_error_naming_the_file() {
        let t = tempfile::tempdir().unwrap();
        let mut w = RawWriter::new(t.path(), 100).unwrap();
        for i in 0..10 {
            w.push(&row(i)).unwrap();
        }
        let parts = w.finish().unwrap();
        let p = &parts[0].0;
        let bytes = std::fs::read(p).unwrap();
        std::fs::write(p, &bytes[..bytes.len() / 2]).unwrap();
        let mut r = RawReader::open(t.path()).unwrap();
        let e = r.next().unwrap().unwrap_err().to_string();
        assert!(e.contains("part-0000.parquet"), "{e}");
        assert!(r.next().is_none());
    }

    /// Thousands of seeded random corruptions (bytes flipped anywhere, or the file cut): each
    /// read ends in rows or in an error naming the file; none escapes as a panic (the decoder
    /// has panicking paths, caught by `guard::decoding`).
    #[test]
    fn random_corruptions_end_in_rows_or_an_error_naming_the_file() {
        let t = tempfile::tempdir().unwrap();
        let mut w = RawWriter::new(t.path(), 1000).unwrap();
        for i in 0..300 {
            w.push(&row(i)).unwrap();
        }
        let p = w.finish().unwrap()[0].0.clone();
        let orig = std::fs::read(&p).unwrap();
        let mut state: u64 = 0x0dd_5eed;
        let mut next = |n: usize| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((state >> 33) as usize) % n.max(1)
        };
        let (mut errors, mut caught) = (0, 0);
        for i in 0..3000 {
            let mut b = orig.clone();
            if i % 5 == 4 {
                b.truncate(next(b.len()));
            } else {
                let at = next(b.len());
                for x in b.iter_mut().skip(at).take([1, 2, 8, 64][i % 4]) {
                    *x ^= 1 + next(255) as u8;
                }
            }
            std::fs::write(&p, &b).unwrap();
            for got in RawReader::open(t.path()).unwrap() {
                if let Err(e) = got {
                    let e = e.to_string();
                    assert!(e.contains("part-0000.parquet"), "corruption #{i}: {e}");
                    errors += 1;
                    caught += usize::from(e.contains("the decoder gave up"));
                }
            }
        }
        assert!(errors > 1000, "{errors} of 3000 corruptions were noticed");
        eprintln!("{errors} corruptions noticed, {caught} of them as decoder panics");
    }
}
