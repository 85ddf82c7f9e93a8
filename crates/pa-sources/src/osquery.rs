//! osquery result logs (NDJSON): event format (one row per line with `columns`), batch format
//! (`diffResults.added/removed`, expanded to one record per row with `action` set), snapshot
//! format (`snapshot: [...]`, `action: "snapshot"`). `fields` is the row as osquery wrote it.

use std::collections::VecDeque;

use serde_json::{Map, Value};

use crate::base::lines;
use crate::base::prelude::*;
use crate::lines::Line;

/// Longest line accepted.
pub const MAX_LINE_BYTES: usize = 64 * 1024 * 1024;

/// Streaming osquery results reader.
pub type OsqueryReader = Reader<Osquery>;

/// The osquery half of [`OsqueryReader`]: rows of the lines read, not yet yielded.
#[derive(Default)]
pub struct Osquery {
    pending: VecDeque<(Value, String, u64)>,
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

impl FromRead for Osquery {
    fn start(input: DynRead) -> (Self, Self::Input) {
        (Osquery::default(), lines(input, MAX_LINE_BYTES))
    }
}

impl Format for Osquery {
    const FORMAT: SourceFormat = SourceFormat::Osquery;
    type Input = LineInput;

    fn pop(&mut self, base: &mut Base) -> Option<SourceRecord> {
        let (row, raw, offset) = self.pending.pop_front()?;
        let ordinal = base.next_ordinal();
        base.counters.kept();
        let host = row
            .get("hostIdentifier")
            .and_then(Value::as_str)
            .map(str::to_owned);
        Some(SourceRecord {
            source_type: SourceType::Osquery,
            provenance: base.provenance(ordinal, Some(offset), None),
            time_ms: unix_time_ms(&row),
            host,
            fields: row,
            raw,
        })
    }

    fn take(&mut self, base: &mut Base, line: Line) {
        let at = |base: &Base| format!("{} line at byte {}", base.file, line.offset);
        if line.too_long {
            base.drop_unit("json_line_too_long", at(base));
        } else if !line.is_blank() {
            let v: Value = match serde_json::from_slice(&line.bytes) {
                Ok(v) => v,
                Err(e) => return base.drop_unit("json_invalid", format!("{}: {e}", at(base))),
            };
            let raw = String::from_utf8_lossy(&line.bytes).into_owned();
            match expand_rows(v) {
                Ok(rows) => {
                    for row in rows {
                        self.pending.push_back((row, raw.clone(), line.offset));
                    }
                }
                Err(reason) => base.drop_unit(reason, at(base)),
            }
        }
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
