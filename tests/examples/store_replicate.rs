//! Replicate a normalized store (`normalized/ocsf_events/`) into a larger store of *distinct*
//! events, for the scale benchmark (`cargo xtask bench scale`).
//!
//! `store_replicate <src-dir> <dst-dir> <copies>` reads the source parts with
//! `pa_store::events::EventReader` and writes `<copies>` copies of every row into `<dst-dir>`
//! (Parquet parts named `pa_store::part_name(n)` of the source layout's `rows_per_part` rows,
//! 1,000,000 by default, the source's Arrow schema, `pa_store::writer_properties` with the
//! layout's row-group size and the (`time`, `metadata.uid`) sort key), then copies the source's
//! `_schema.json`, which stays true of the copies (same columns, same layout). A partitioned
//! store is refused. Copy `k`
//! (from 0) adds `k × (span + 1)` ms to `time` (span: the source's latest `time` minus its
//! earliest) and appends `#k` to `metadata.uid`: the copies occupy disjoint, increasing time
//! ranges, so the output keeps the store's (`time`, `metadata.uid`) order (checked row by row
//! while writing), and no two rows share a key. Every other column is the source's.
//!
//! It streams: the source is read again for each copy, one record batch at a time, and the
//! writer holds at most one row group; memory does not grow with `<copies>`. The destination
//! must not hold part files already. It prints one line: source rows, copies, rows and parts
//! written.

use arrow_array::{Array, ArrayRef, Int64Array, RecordBatch, StringArray};
use arrow_schema::SchemaRef;
use pa_store::events::EventReader;
use parquet::arrow::ArrowWriter;
use parquet::file::metadata::SortingColumn;
use parquet::file::properties::WriterProperties;
use std::path::{Path, PathBuf};
use std::sync::Arc;

type Res<T> = Result<T, String>;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [src, dst, copies] = args.as_slice() else {
        eprintln!("usage: store_replicate <src-dir> <dst-dir> <copies>");
        std::process::exit(2);
    };
    let copies: u64 = match copies.parse() {
        Ok(n) if n >= 1 => n,
        _ => {
            eprintln!("store_replicate: copies must be a whole number ≥ 1, not {copies:?}");
            std::process::exit(2);
        }
    };
    match replicate(Path::new(src), Path::new(dst), copies, None) {
        Ok(s) => println!(
            "store_replicate: {} row(s) × {copies} = {} row(s) in {} part(s); time span {} ms",
            s.source_rows, s.rows, s.parts, s.span
        ),
        Err(e) => {
            eprintln!("store_replicate: {e}");
            std::process::exit(1);
        }
    }
}

#[derive(Debug)]
struct Summary {
    source_rows: u64,
    rows: u64,
    parts: usize,
    span: i64,
}

fn open(src: &Path) -> Res<EventReader> {
    EventReader::open(src).map_err(|e| e.to_string())
}

fn next(src: &Path, r: &mut EventReader) -> Res<Option<RecordBatch>> {
    r.next_batch()
        .map(|b| b.map(|(b, _)| b))
        .map_err(|e| format!("{}: {e}", src.display()))
}

/// The `time` column of a batch of the store (int64, no null).
fn times<'a>(src: &Path, b: &'a RecordBatch) -> Res<&'a Int64Array> {
    let col = b
        .column_by_name("time")
        .ok_or_else(|| format!("{}: a part has no time column", src.display()))?;
    let t = col
        .as_any()
        .downcast_ref::<Int64Array>()
        .ok_or_else(|| format!("{}: the time column is not int64", src.display()))?;
    if t.null_count() > 0 {
        return Err(format!("{}: the time column holds nulls", src.display()));
    }
    Ok(t)
}

fn uids<'a>(src: &Path, b: &'a RecordBatch) -> Res<&'a StringArray> {
    let col = b
        .column_by_name("metadata.uid")
        .ok_or_else(|| format!("{}: a part has no metadata.uid column", src.display()))?;
    let u = col
        .as_any()
        .downcast_ref::<StringArray>()
        .ok_or_else(|| format!("{}: the metadata.uid column is not utf8", src.display()))?;
    if u.null_count() > 0 {
        return Err(format!(
            "{}: the metadata.uid column holds nulls",
            src.display()
        ));
    }
    Ok(u)
}

/// The source's layout (`_schema.json`; the default when it records none). A partitioned store
/// is refused: its parts do not share one schema, and the copies would have to be partitioned.
fn layout(src: &Path) -> Res<pa_store::StoreLayout> {
    let p = src.join("_schema.json");
    let bytes = std::fs::read(&p).map_err(|e| format!("{}: {e}", p.display()))?;
    let doc: pa_store::DatasetSchema =
        serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", p.display()))?;
    let layout = doc.layout.unwrap_or_default();
    if layout.partitioned() {
        return Err(format!(
            "{}: a partitioned store (partition_by {:?}); replicate an unpartitioned one",
            p.display(),
            layout
                .partition_by
                .iter()
                .map(|k| k.name())
                .collect::<Vec<_>>()
        ));
    }
    Ok(layout)
}

/// Write `copies` copies of the store `src` into `dst`, in parts of the source layout's
/// `rows_per_part` rows (`part_rows` instead when given: tests) and row groups of its
/// `row_group_rows`.
fn replicate(src: &Path, dst: &Path, copies: u64, part_rows: Option<usize>) -> Res<Summary> {
    let layout = layout(src)?;
    let part_rows = part_rows.unwrap_or(layout.rows_per_part);
    // First pass: the schema, the row count and the time span.
    let mut reader = open(src)?;
    let (mut rows, mut min, mut max, mut schema) = (0u64, i64::MAX, i64::MIN, None::<SchemaRef>);
    while let Some(b) = next(src, &mut reader)? {
        let t = times(src, &b)?;
        uids(src, &b)?;
        for v in t.values().iter() {
            min = min.min(*v);
            max = max.max(*v);
        }
        rows += b.num_rows() as u64;
        match &schema {
            None => schema = Some(b.schema()),
            Some(s) if *s.fields() != *b.schema().fields() => {
                return Err(format!(
                    "{}: the parts do not share one schema",
                    src.display()
                ));
            }
            Some(_) => {}
        }
    }
    let Some(schema) = schema.filter(|_| rows > 0) else {
        return Err(format!("{}: the store holds no event", src.display()));
    };
    let span = max
        .checked_sub(min)
        .ok_or_else(|| format!("{}: time span overflows", src.display()))?;
    let step = span + 1;
    std::fs::create_dir_all(dst).map_err(|e| format!("{}: {e}", dst.display()))?;
    if !pa_store::part_files(dst)
        .map_err(|e| e.to_string())?
        .is_empty()
    {
        return Err(format!(
            "{}: already holds part files; give an empty or new directory",
            dst.display()
        ));
    }
    let time_idx = schema.index_of("time").map_err(|e| e.to_string())?;
    let uid_idx = schema.index_of("metadata.uid").map_err(|e| e.to_string())?;
    // The sort key, declared in every part as pa-store declares it.
    let sorting = vec![
        SortingColumn {
            column_idx: i32::try_from(time_idx).map_err(|e| e.to_string())?,
            descending: false,
            nulls_first: false,
        },
        SortingColumn {
            column_idx: i32::try_from(uid_idx).map_err(|e| e.to_string())?,
            descending: false,
            nulls_first: false,
        },
    ];
    let props = pa_store::writer_properties(layout.row_group_rows, Some(sorting));
    let mut out = Parts::new(dst, schema.clone(), part_rows.max(1), props);
    let mut last: Option<(i64, String)> = None;
    for k in 0..copies {
        let shift = i64::try_from(k)
            .ok()
            .and_then(|k| k.checked_mul(step))
            .filter(|s| max.checked_add(*s).is_some())
            .ok_or_else(|| format!("copy {k}: the shifted time overflows int64"))?;
        let mut reader = open(src)?;
        while let Some(b) = next(src, &mut reader)? {
            if *b.schema().fields() != *schema.fields() {
                return Err(format!(
                    "{}: the parts do not share one schema",
                    src.display()
                ));
            }
            let t = times(src, &b)?;
            let u = uids(src, &b)?;
            let new_t = Int64Array::from_iter_values(t.values().iter().map(|v| v + shift));
            let new_u = StringArray::from_iter_values(u.iter().map(|s| {
                let mut s = s.unwrap_or_default().to_string();
                s.push('#');
                s.push_str(&k.to_string());
                s
            }));
            for i in 0..b.num_rows() {
                let key = (new_t.value(i), new_u.value(i));
                if let Some((lt, lu)) = &last
                    && (*lt, lu.as_str()) >= key
                {
                    return Err(format!(
                        "{}: copy {k} breaks the (time, metadata.uid) order at ({}, {}) after ({lt}, {lu}); is the source sorted?",
                        src.display(),
                        key.0,
                        key.1
                    ));
                }
                last = Some((key.0, key.1.to_string()));
            }
            let mut cols: Vec<ArrayRef> = b.columns().to_vec();
            cols[time_idx] = Arc::new(new_t);
            cols[uid_idx] = Arc::new(new_u);
            let nb = RecordBatch::try_new(schema.clone(), cols)
                .map_err(|e| format!("{}: {e}", dst.display()))?;
            out.write(&nb)?;
        }
    }
    let parts = out.finish()?;
    let from = src.join("_schema.json");
    let to = dst.join("_schema.json");
    std::fs::copy(&from, &to).map_err(|e| format!("{} → {}: {e}", from.display(), to.display()))?;
    Ok(Summary {
        source_rows: rows,
        rows: rows * copies,
        parts,
        span,
    })
}

/// The part files being written: at most `part_rows` rows each.
struct Parts {
    dir: PathBuf,
    part_rows: usize,
    props: WriterProperties,
    schema: SchemaRef,
    current: Option<(PathBuf, ArrowWriter<std::fs::File>, usize)>,
    parts: usize,
}

impl Parts {
    fn new(dir: &Path, schema: SchemaRef, part_rows: usize, props: WriterProperties) -> Self {
        Parts {
            dir: dir.to_path_buf(),
            part_rows,
            props,
            schema,
            current: None,
            parts: 0,
        }
    }

    fn write(&mut self, b: &RecordBatch) -> Res<()> {
        let mut off = 0;
        while off < b.num_rows() {
            if self.current.is_none() {
                let path = self.dir.join(pa_store::part_name(self.parts));
                let f =
                    std::fs::File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                let w = ArrowWriter::try_new(f, self.schema.clone(), Some(self.props.clone()))
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                self.current = Some((path, w, 0));
                self.parts += 1;
            }
            let Some((path, w, n)) = self.current.as_mut() else {
                unreachable!("a part is open")
            };
            let take = (self.part_rows - *n).min(b.num_rows() - off);
            w.write(&b.slice(off, take))
                .map_err(|e| format!("{}: {e}", path.display()))?;
            *n += take;
            off += take;
            if *n == self.part_rows {
                self.close()?;
            }
        }
        Ok(())
    }

    fn close(&mut self) -> Res<()> {
        if let Some((path, w, _)) = self.current.take() {
            w.close().map_err(|e| format!("{}: {e}", path.display()))?;
        }
        Ok(())
    }

    fn finish(mut self) -> Res<usize> {
        self.close()?;
        Ok(self.parts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pa_store::events::EventWriter;
    use serde_json::{Value, json};

    /// A store of `events` in `dir` (with its `_schema.json`), written by pa-store's own writer.
    fn store(dir: &Path, events: &[Value]) {
        store_as(dir, events, Vec::new());
    }

    /// [`store`] with parts of 2 rows and the given partition keys.
    fn store_as(dir: &Path, events: &[Value], partition_by: Vec<pa_store::PartitionKey>) {
        let layout = pa_store::StoreLayout {
            rows_per_part: 2,
            row_group_rows: 2,
            partition_by,
            ..pa_store::StoreLayout::default()
        };
        let mut w = EventWriter::new(dir, dir.parent().unwrap(), 1 << 20)
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
    }

    fn ev(t: i64, uid: &str, extra: Value) -> Value {
        let mut e =
            json!({"time": t, "class_uid": 1007, "metadata": {"uid": uid, "version": "1.7.0"}});
        if let (Some(m), Value::Object(x)) = (e.as_object_mut(), extra) {
            m.extend(x);
        }
        e
    }

    #[test]
    fn copies_are_distinct_shifted_sorted_and_otherwise_identical() {
        let t = tempfile::tempdir().unwrap();
        let (src, dst) = (t.path().join("src"), t.path().join("dst"));
        let source = vec![
            ev(
                100,
                "b",
                json!({"process": {"pid": 4, "cmd_line": "a.exe /x"}}),
            ),
            ev(
                100,
                "a",
                json!({"observables": [{"name": "x", "type_id": 1}]}),
            ),
            ev(
                130,
                "c",
                json!({"count": 1.5, "unmapped": {"Odd.Key": "v"}}),
            ),
        ];
        store(&src, &source);
        let s = replicate(&src, &dst, 4, Some(5)).unwrap();
        assert_eq!((s.source_rows, s.rows, s.span), (3, 12, 30));
        // 12 rows in parts of at most 5: 5 + 5 + 2.
        assert_eq!(s.parts, 3);
        assert_eq!(pa_store::part_files(&dst).unwrap().len(), 3);
        assert_eq!(
            std::fs::read(src.join("_schema.json")).unwrap(),
            std::fs::read(dst.join("_schema.json")).unwrap()
        );
        let original = EventReader::open(&src).unwrap().events().unwrap();
        let copies = EventReader::open(&dst).unwrap().events().unwrap();
        assert_eq!(copies.len(), 12);
        let keys: Vec<(i64, String)> = copies
            .iter()
            .map(|e| {
                (
                    e["time"].as_i64().unwrap(),
                    e["metadata"]["uid"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(keys, sorted, "sorted by (time, uid), no key twice");
        for (i, e) in copies.iter().enumerate() {
            let (k, o) = (i / 3, &original[i % 3]);
            let mut expect = o.clone();
            expect["time"] = json!(o["time"].as_i64().unwrap() + k as i64 * 31);
            expect["metadata"]["uid"] =
                json!(format!("{}#{k}", o["metadata"]["uid"].as_str().unwrap()));
            assert_eq!(*e, expect, "row {i}");
        }
    }

    #[test]
    fn a_destination_with_parts_is_refused() {
        let t = tempfile::tempdir().unwrap();
        let (src, dst) = (t.path().join("src"), t.path().join("dst"));
        store(&src, &[ev(1, "a", json!({}))]);
        replicate(&src, &dst, 1, Some(10)).unwrap();
        let e = replicate(&src, &dst, 1, Some(10)).unwrap_err();
        assert!(e.contains("already holds part files"), "{e}");
    }

    #[test]
    fn an_empty_or_missing_store_is_refused_naming_it() {
        let t = tempfile::tempdir().unwrap();
        let src = t.path().join("src");
        store(&src, &[]);
        let e = replicate(&src, &t.path().join("dst"), 2, Some(10)).unwrap_err();
        assert!(e.contains("holds no event") && e.contains("src"), "{e}");
        let e = replicate(&t.path().join("nope"), &t.path().join("dst"), 2, Some(10)).unwrap_err();
        assert!(e.contains("nope"), "{e}");
    }

    #[test]
    fn a_partitioned_store_is_refused() {
        let t = tempfile::tempdir().unwrap();
        let src = t.path().join("src");
        store_as(
            &src,
            &[ev(1, "a", json!({}))],
            vec![pa_store::PartitionKey::ClassUid],
        );
        let e = replicate(&src, &t.path().join("dst"), 1, Some(10)).unwrap_err();
        assert!(
            e.contains("partitioned store") && e.contains("class_uid"),
            "{e}"
        );
    }

    #[test]
    fn a_suffix_that_would_reorder_uids_is_caught() {
        // "a" < "a!" but "a!#0" < "a#0": the copy would not be sorted; the check says so.
        let t = tempfile::tempdir().unwrap();
        let src = t.path().join("src");
        store(&src, &[ev(5, "a", json!({})), ev(5, "a!", json!({}))]);
        let e = replicate(&src, &t.path().join("dst"), 1, Some(10)).unwrap_err();
        assert!(e.contains("breaks the (time, metadata.uid) order"), "{e}");
    }
}
