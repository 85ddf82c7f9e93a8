//! osquery result logs (NDJSON): event format (one row per line with `columns`), batch format
//! (`diffResults.added/removed`, expanded to one record per row with `action` set), snapshot
//! format (`snapshot: [...]`, `action: "snapshot"`). `fields` is the row as osquery wrote it.

use std::collections::VecDeque;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use serde_json::{Map, Value};

use crate::counters::Counters;
use crate::lines::BoundedLines;
use crate::record::{Provenance, SourceRecord, SourceType};
use crate::{ReadError, SourceFormat, SourceReader};

/// Longest line accepted.
pub const MAX_LINE_BYTES: usize = 64 * 1024 * 1024;

/// Streaming osquery results reader.
pub struct OsqueryReader {
    file: String,
    lines: BoundedLines<BufReader<Box<dyn std::io::Read + Send>>>,
    pending: VecDeque<(Value, String, u64)>,
    ordinal: u64,
    counters: Counters,
    failed: bool,
}

fn unix_time_ms(v: &Value) -> Option<i64> {
    let secs = match v.get("unixTime")? {
        Value::Number(n) => n.as_i64()?,
        Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    secs.checked_mul(1000)
}

/// Expand one osquery result line into rows (event rows pass through).
pub fn expand_rows(v: Value) -> Result<Vec<Value>, &'static str> {
    let Value::Object(m) = v else {
        return Err("osquery_not_an_object");
    };
    if m.contains_key("columns") {
        return Ok(vec![Value::Object(m)]);
    }
    let header = |m: &Map<String, Value>| {
        let mut h = Map::new();
        for (k, v) in m {
            if k != "diffResults" && k != "snapshot" {
                h.insert(k.clone(), v.clone());
            }
        }
        h
    };
    if let Some(Value::Object(diff)) = m.get("diffResults") {
        let mut out = Vec::new();
        for action in ["added", "removed"] {
            if let Some(Value::Array(rows)) = diff.get(action) {
                for row in rows {
                    let mut r = header(&m);
                    r.insert("action".into(), Value::String(action.into()));
                    r.insert("columns".into(), row.clone());
                    out.push(Value::Object(r));
                }
            }
        }
        return Ok(out);
    }
    if let Some(Value::Array(rows)) = m.get("snapshot") {
        let mut out = Vec::new();
        for row in rows {
            let mut r = header(&m);
            r.insert("action".into(), Value::String("snapshot".into()));
            r.insert("columns".into(), row.clone());
            out.push(Value::Object(r));
        }
        return Ok(out);
    }
    Err("osquery_unrecognized")
}

impl OsqueryReader {
    /// Open an osquery results file.
    pub fn open(path: &Path) -> Result<Self, ReadError> {
        let file = path.display().to_string();
        let f = File::open(path).map_err(|source| ReadError::Io {
            file: file.clone(),
            source,
        })?;
        Ok(Self::from_reader(file, Box::new(f)))
    }

    /// Read from any reader; `file` names it in provenance and errors.
    pub fn from_reader(file: String, input: Box<dyn std::io::Read + Send>) -> Self {
        OsqueryReader {
            file,
            lines: BoundedLines::new(BufReader::with_capacity(1 << 16, input), MAX_LINE_BYTES),
            pending: VecDeque::new(),
            ordinal: 0,
            counters: Counters::default(),
            failed: false,
        }
    }

    fn drop_line(&mut self, reason: &str, detail: String) {
        self.counters.read();
        self.ordinal += 1;
        self.counters.drop_record(reason, detail);
    }
}

impl Iterator for OsqueryReader {
    type Item = Result<SourceRecord, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some((row, raw, offset)) = self.pending.pop_front() {
                let ordinal = self.ordinal;
                self.ordinal += 1;
                self.counters.read();
                self.counters.kept();
                let host = row
                    .get("hostIdentifier")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                return Some(Ok(SourceRecord {
                    source_type: SourceType::Osquery,
                    provenance: Provenance {
                        file: self.file.clone(),
                        offset: Some(offset),
                        ordinal,
                        record_id: None,
                    },
                    time_ms: unix_time_ms(&row),
                    host,
                    fields: row,
                    raw,
                }));
            }
            if self.failed {
                return None;
            }
            let line = match self.lines.next_line()? {
                Ok(l) => l,
                Err(source) => {
                    self.failed = true;
                    return Some(Err(ReadError::Io {
                        file: self.file.clone(),
                        source,
                    }));
                }
            };
            if line.too_long {
                let d = format!("{} line at byte {}", self.file, line.offset);
                self.drop_line("json_line_too_long", d);
                continue;
            }
            if line.bytes.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let v: Value = match serde_json::from_slice(&line.bytes) {
                Ok(v) => v,
                Err(e) => {
                    let d = format!("{} line at byte {}: {e}", self.file, line.offset);
                    self.drop_line("json_invalid", d);
                    continue;
                }
            };
            let raw = String::from_utf8_lossy(&line.bytes).into_owned();
            match expand_rows(v) {
                Ok(rows) => {
                    for row in rows {
                        self.pending.push_back((row, raw.clone(), line.offset));
                    }
                }
                Err(reason) => {
                    let d = format!("{} line at byte {}", self.file, line.offset);
                    self.drop_line(reason, d);
                }
            }
        }
    }
}

impl SourceReader for OsqueryReader {
    fn counters(&self) -> &Counters {
        &self.counters
    }
    fn format(&self) -> SourceFormat {
        SourceFormat::Osquery
    }
    fn file(&self) -> &str {
        &self.file
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn batch_and_snapshot_expand() {
        let rows = expand_rows(json!({"name":"q","hostIdentifier":"h","unixTime":5,
            "diffResults":{"added":[{"a":"1"},{"a":"2"}],"removed":[{"a":"3"}]}}))
        .unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[2]["action"], "removed");
        assert_eq!(rows[0]["columns"], json!({"a":"1"}));
        assert_eq!(unix_time_ms(&rows[0]), Some(5000));
        let rows = expand_rows(json!({"name":"q","snapshot":[{"b":"1"}]})).unwrap();
        assert_eq!(rows[0]["action"], "snapshot");
        assert!(expand_rows(json!({"x":1})).is_err());
    }
}
