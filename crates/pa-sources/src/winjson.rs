//! Windows events as JSON: NDJSON (one event per line), a JSON array, or a sequence of
//! (pretty-printed) JSON objects. Accepted shapes, all turned into the Windows `fields` shape of
//! [`crate::record`] with every leaf a string:
//!
//! * the `evtx` crate's JSON: `{"Event":{"System":{..., "#attributes": ...},"EventData":{...}}}`;
//! * flat objects with `EventID`, `Channel`, `Computer`, `Provider`/`ProviderName`/`SourceName`,
//!   `EventRecordID`/`RecordNumber`, `TimeCreated`/`SystemTime`/`@timestamp`, ... at top level
//!   (every other key goes to `EventData`);
//! * the snake_case shape `{provider, channel, event_id, record_id, time_created, computer,
//!   event_data}`, and winlogbeat's `{"winlog": {...}}`.
//!
//! A value in none of these shapes is dropped as `win_json_unrecognized`; invalid JSON as
//! `json_invalid`. Arrays and value sequences are split structurally, one value in memory at a
//! time (at most [`MAX_LINE_BYTES`] per value, beyond that `json_value_too_long`).

use std::collections::VecDeque;
use std::io::{self, BufRead, Cursor, Read};
use std::path::Path;

use serde_json::{Map, Value};

use crate::base::prelude::*;
use crate::base::{buffered, open_file};
use crate::jsonsplit::{JsonSplitter, Piece};
use crate::lines::{BoundedLines, Line};
use crate::windows::record_from_fields;
use crate::winxml::normalize_guid;

/// Longest NDJSON line accepted.
pub const MAX_LINE_BYTES: usize = 64 * 1024 * 1024;

/// The input: NDJSON lines, or the values of a JSON document (array or value sequence).
pub enum Mode {
    /// One value per line.
    Lines(LineInput),
    /// Values split structurally.
    Docs(JsonSplitter<io::BufReader<DynRead>>),
}

/// One unit of [`Mode`].
pub enum JsonUnit {
    /// An NDJSON line.
    Line(Line),
    /// A value of a document.
    Piece(Piece),
}

impl Units for Mode {
    type Unit = JsonUnit;
    fn next_unit(&mut self) -> Option<io::Result<JsonUnit>> {
        match self {
            Mode::Lines(lines) => lines.next_unit().map(|r| r.map(JsonUnit::Line)),
            Mode::Docs(split) => split.next_unit().map(|r| r.map(JsonUnit::Piece)),
        }
    }
}

/// Streaming reader of Windows JSON events.
pub type WinJsonReader = Reader<WinJson>;

/// The Windows JSON half of [`WinJsonReader`]: values read, not yet yielded.
#[derive(Default)]
pub struct WinJson {
    pending: VecDeque<(Value, Option<String>, Option<u64>)>,
}

/// Stringify every leaf: numbers and booleans as text, null as "".
pub fn stringify_leaves(v: &Value) -> Value {
    match v {
        Value::String(_) => v.clone(),
        Value::Null => Value::String(String::new()),
        Value::Bool(b) => Value::String(b.to_string()),
        Value::Number(n) => Value::String(n.to_string()),
        Value::Array(items) => Value::Array(items.iter().map(stringify_leaves).collect()),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), stringify_leaves(v)))
                .collect(),
        ),
    }
}

fn leaf_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Object(m) => m.get("#text").map(leaf_string).unwrap_or_default(),
        other => other.to_string(),
    }
}

/// evtx-JSON element → tree shape used for XML (`#attributes` merged into the object).
fn evtx_tree(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, val) in m {
                if k == "#attributes" {
                    if let Value::Object(attrs) = val {
                        for (ak, av) in attrs {
                            out.insert(ak.clone(), Value::String(leaf_string(av)));
                        }
                    }
                } else {
                    out.insert(k.clone(), evtx_tree(val));
                }
            }
            if out.len() == 1 {
                if let Some(t) = out.get("#text") {
                    return stringify_leaves(t);
                }
            }
            Value::Object(out)
        }
        other => stringify_leaves(other),
    }
}

fn provider_value(
    name: Option<String>,
    guid: Option<String>,
    extra: Option<&Map<String, Value>>,
) -> Value {
    let mut p = Map::new();
    if let Some(extra) = extra {
        for (k, v) in extra {
            p.insert(k.clone(), Value::String(leaf_string(v)));
        }
    }
    if let Some(n) = name {
        p.insert("Name".into(), Value::String(n));
    }
    if let Some(g) = guid.or_else(|| p.get("Guid").map(leaf_string)) {
        let g = normalize_guid(&g).unwrap_or(g);
        p.insert("Guid".into(), Value::String(g));
    }
    Value::Object(p)
}

fn from_evtx_json(event: &Map<String, Value>) -> Value {
    let mut out = Map::new();
    for (section, body) in event {
        if section == "#attributes" {
            continue;
        }
        let value = match section.as_str() {
            "System" => {
                let mut sys = Map::new();
                if let Value::Object(m) = body {
                    for (k, v) in m {
                        match k.as_str() {
                            "Provider" => {
                                let attrs = v.get("#attributes").and_then(Value::as_object);
                                sys.insert(k.clone(), provider_value(None, None, attrs));
                            }
                            "EventID" => {
                                if let Some(q) =
                                    v.get("#attributes").and_then(|a| a.get("Qualifiers"))
                                {
                                    sys.insert(
                                        "EventIDQualifiers".into(),
                                        Value::String(leaf_string(q)),
                                    );
                                }
                                sys.insert(k.clone(), Value::String(leaf_string(v)));
                            }
                            "TimeCreated" | "Execution" | "Security" | "Correlation" => {
                                let mut o = Map::new();
                                if let Some(Value::Object(attrs)) = v.get("#attributes") {
                                    for (ak, av) in attrs {
                                        o.insert(ak.clone(), Value::String(leaf_string(av)));
                                    }
                                }
                                sys.insert(k.clone(), Value::Object(o));
                            }
                            _ => {
                                sys.insert(k.clone(), evtx_tree(v));
                            }
                        }
                    }
                }
                Value::Object(sys)
            }
            "EventData" => match body {
                Value::Object(m) => {
                    let mut ed = Map::new();
                    for (k, v) in m {
                        if k == "#attributes" {
                            continue;
                        }
                        ed.insert(k.clone(), evtx_tree(v));
                    }
                    Value::Object(ed)
                }
                Value::Null => Value::Object(Map::new()),
                other => {
                    let mut ed = Map::new();
                    ed.insert("Data".into(), stringify_leaves(other));
                    Value::Object(ed)
                }
            },
            _ => match evtx_tree(body) {
                Value::String(_) => Value::Object(Map::new()),
                v => v,
            },
        };
        out.insert(section.clone(), value);
    }
    Value::Object(out)
}

fn first_of<'a>(m: &'a Map<String, Value>, keys: &[&str]) -> Option<(&'a str, &'a Value)> {
    keys.iter()
        .find_map(|k| m.get_key_value(*k).map(|(k, v)| (k.as_str(), v)))
        .filter(|(_, v)| !v.is_null())
}

/// Build the Windows fields from a flat object (keys of `system_keys` consumed, the rest is
/// event data unless `data` is given).
fn from_flat(m: &Map<String, Value>, data: Option<&Value>) -> Value {
    const EVENT_ID: &[&str] = &["EventID", "EventId", "event_id"];
    const CHANNEL: &[&str] = &["Channel", "channel"];
    const COMPUTER: &[&str] = &[
        "Computer",
        "computer",
        "computer_name",
        "Hostname",
        "ComputerName",
    ];
    const PROVIDER: &[&str] = &[
        "ProviderName",
        "Provider",
        "provider",
        "provider_name",
        "SourceName",
        "Provider_Name",
    ];
    const GUID: &[&str] = &["ProviderGuid", "provider_guid", "Provider_Guid"];
    const RECORD: &[&str] = &[
        "EventRecordID",
        "EventRecordId",
        "RecordNumber",
        "record_id",
    ];
    const TIME: &[&str] = &[
        "TimeCreated",
        "SystemTime",
        "time_created",
        "@timestamp",
        "EventTime",
    ];
    const PLAIN: &[&str] = &["Version", "Level", "Task", "Opcode", "Keywords"];
    const EXEC: &[(&str, &str)] = &[("ProcessID", "ProcessID"), ("ThreadID", "ThreadID")];
    let mut sys = Map::new();
    let mut used: Vec<String> = Vec::new();
    let take = |keys: &[&str], used: &mut Vec<String>| {
        first_of(m, keys).map(|(_, v)| {
            used.extend(keys.iter().map(|k| (*k).to_owned()));
            leaf_string(v)
        })
    };
    let provider = take(PROVIDER, &mut used);
    let guid = take(GUID, &mut used);
    if provider.is_some() || guid.is_some() {
        sys.insert("Provider".into(), provider_value(provider, guid, None));
    }
    if let Some(v) = take(EVENT_ID, &mut used) {
        sys.insert("EventID".into(), Value::String(v));
    }
    for k in PLAIN {
        if let Some(v) = take(&[k], &mut used) {
            sys.insert((*k).into(), Value::String(v));
        }
    }
    if let Some(v) = take(TIME, &mut used) {
        let mut t = Map::new();
        t.insert("SystemTime".into(), Value::String(v));
        sys.insert("TimeCreated".into(), Value::Object(t));
    }
    if let Some(v) = take(RECORD, &mut used) {
        sys.insert("EventRecordID".into(), Value::String(v));
    }
    let mut exec = Map::new();
    for (src, dst) in EXEC {
        if let Some(v) = take(&[src], &mut used) {
            exec.insert((*dst).into(), Value::String(v));
        }
    }
    if !exec.is_empty() {
        sys.insert("Execution".into(), Value::Object(exec));
    }
    if let Some(v) = take(CHANNEL, &mut used) {
        sys.insert("Channel".into(), Value::String(v));
    }
    if let Some(v) = take(COMPUTER, &mut used) {
        sys.insert("Computer".into(), Value::String(v));
    }
    let mut ed = Map::new();
    match data {
        Some(Value::Object(d)) => {
            for (k, v) in d {
                ed.insert(k.clone(), stringify_leaves(v));
            }
        }
        Some(_) => {}
        None => {
            for (k, v) in m {
                if used.iter().any(|u| u == k) || k.starts_with('_') {
                    continue;
                }
                if k == "EventData" || k == "event_data" {
                    if let Value::Object(d) = v {
                        for (dk, dv) in d {
                            ed.insert(dk.clone(), stringify_leaves(dv));
                        }
                    }
                    continue;
                }
                ed.insert(k.clone(), stringify_leaves(v));
            }
        }
    }
    let mut out = Map::new();
    out.insert("System".into(), Value::Object(sys));
    out.insert("EventData".into(), Value::Object(ed));
    Value::Object(out)
}

/// Convert one JSON value in any accepted shape to the Windows `fields` shape.
pub fn windows_fields(v: &Value) -> Option<Value> {
    let m = v.as_object()?;
    if let Some(Value::Object(ev)) = m.get("Event") {
        if ev.contains_key("System") {
            return Some(from_evtx_json(ev));
        }
    }
    if let Some(Value::Object(w)) = m.get("winlog") {
        let mut flat = w.clone();
        if let Some(ts) = m.get("@timestamp") {
            flat.entry("@timestamp").or_insert_with(|| ts.clone());
        }
        let data = w
            .get("event_data")
            .cloned()
            .unwrap_or(Value::Object(Map::new()));
        return Some(from_flat(&flat, Some(&data)));
    }
    if ["EventID", "EventId", "event_id"]
        .iter()
        .any(|k| m.contains_key(*k))
    {
        if let Some(data) = m.get("event_data").filter(|d| d.is_object()) {
            return Some(from_flat(m, Some(data)));
        }
        return Some(from_flat(m, None));
    }
    None
}

impl WinJsonReader {
    /// Open a Windows JSON file.
    pub fn open(path: &Path) -> Result<Self, ReadError> {
        let (file, f) = open_file(path)?;
        Self::from_reader(file, Box::new(f))
    }

    /// Read from any reader; `file` names it in provenance and errors.
    pub fn from_reader(file: String, input: DynRead) -> Result<Self, ReadError> {
        match WinJson::start(input) {
            Ok((state, mode)) => Ok(Reader::new(file, state, mode)),
            Err(source) => Err(ReadError::Io { file, source }),
        }
    }
}

impl WinJson {
    /// Decide the mode from the first line: a complete JSON object means NDJSON.
    fn start(input: DynRead) -> io::Result<(Self, Mode)> {
        let mut br = buffered(input);
        let mut first = Vec::new();
        (&mut br)
            .take(MAX_LINE_BYTES as u64)
            .read_until(b'\n', &mut first)?;
        let trimmed: &[u8] = {
            let s = first.as_slice();
            let start = s
                .iter()
                .position(|b| !b.is_ascii_whitespace())
                .unwrap_or(s.len());
            &s[start..]
        };
        let ndjson = trimmed.first() == Some(&b'{')
            && serde_json::from_slice::<Value>(trimmed).is_ok_and(|v| v.is_object());
        let reader = buffered(Box::new(Cursor::new(first).chain(br)));
        let mode = if ndjson {
            Mode::Lines(BoundedLines::new(reader, MAX_LINE_BYTES))
        } else {
            Mode::Docs(JsonSplitter::new(reader, MAX_LINE_BYTES))
        };
        Ok((WinJson::default(), mode))
    }

    /// Parse one value and queue it.
    fn push(&mut self, bytes: Vec<u8>, offset: u64) -> serde_json::Result<()> {
        let v = serde_json::from_slice::<Value>(&bytes)?;
        let raw = String::from_utf8_lossy(&bytes).into_owned();
        self.pending.push_back((v, Some(raw), Some(offset)));
        Ok(())
    }
}

fn convert(
    base: &mut Base,
    v: Value,
    raw: Option<String>,
    offset: Option<u64>,
) -> Option<SourceRecord> {
    let ordinal = base.next_ordinal();
    let Some(fields) = windows_fields(&v) else {
        base.counters.drop_record(
            "win_json_unrecognized",
            format!("{} value {ordinal}: not a Windows event shape", base.file),
        );
        return None;
    };
    let raw = raw.unwrap_or_else(|| v.to_string());
    let record_id = fields["System"]["EventRecordID"]
        .as_str()
        .and_then(|s| s.trim().parse().ok());
    let prov = base.provenance(ordinal, offset, record_id);
    base.counters.kept();
    Some(record_from_fields(fields, raw, prov))
}

impl Format for WinJson {
    const FORMAT: SourceFormat = SourceFormat::WinJson;
    type Input = Mode;

    fn pop(&mut self, base: &mut Base) -> Option<SourceRecord> {
        while let Some((v, raw, offset)) = self.pending.pop_front() {
            if let Some(r) = convert(base, v, raw, offset) {
                return Some(r);
            }
        }
        None
    }

    fn take(&mut self, base: &mut Base, unit: JsonUnit) {
        let file = &base.file;
        let (reason, detail) = match unit {
            JsonUnit::Line(line) if line.too_long => (
                "json_line_too_long",
                format!("{file} line at byte {}", line.offset),
            ),
            JsonUnit::Line(line) if line.is_blank() => return,
            JsonUnit::Line(Line { offset, bytes, .. }) => match self.push(bytes, offset) {
                Ok(()) => return,
                Err(e) => ("json_invalid", format!("{file} line at byte {offset}: {e}")),
            },
            JsonUnit::Piece(Piece::Value { offset, bytes }) => match self.push(bytes, offset) {
                Ok(()) => return,
                Err(e) => (
                    "json_invalid",
                    format!("{file} value at byte {offset}: {e}"),
                ),
            },
            JsonUnit::Piece(Piece::TooLong { offset }) => (
                "json_value_too_long",
                format!("{file} value at byte {offset} exceeds {MAX_LINE_BYTES} bytes"),
            ),
            JsonUnit::Piece(Piece::Truncated { offset }) => (
                "json_invalid",
                format!("{file} value at byte {offset}: truncated or unbalanced"),
            ),
        };
        base.drop_unit(reason, detail);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn evtx_json_shape() {
        let v = json!({"Event":{"#attributes":{"xmlns":"x"},"System":{
            "Provider":{"#attributes":{"Name":"Microsoft-Windows-Sysmon","Guid":"{5770385F-C22A-43E0-BF4C-06F5698FFBD9}"}},
            "EventID":{"#attributes":{"Qualifiers":16384},"#text":7},"EventRecordID":571146,"Correlation":null,
            "TimeCreated":{"#attributes":{"SystemTime":"2025-11-27T07:40:10.165324Z"}},
            "Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"c"},
            "EventData":{"ProcessId":4460,"Image":"C:\\x.exe","Signed":true}}});
        let f = windows_fields(&v).unwrap();
        assert_eq!(f["System"]["EventID"], "7");
        assert_eq!(f["System"]["EventIDQualifiers"], "16384");
        assert_eq!(f["System"]["EventRecordID"], "571146");
        assert_eq!(
            f["System"]["Provider"]["Guid"],
            "5770385f-c22a-43e0-bf4c-06f5698ffbd9"
        );
        assert_eq!(f["System"]["Correlation"], json!({}));
        assert_eq!(f["EventData"]["ProcessId"], "4460");
        assert_eq!(f["EventData"]["Signed"], "true");
    }

    fn read_mem(data: &str) -> (Vec<SourceRecord>, Counters) {
        let mut r = WinJsonReader::from_reader(
            "mem".into(),
            Box::new(Cursor::new(data.as_bytes().to_vec())),
        )
        .unwrap();
        let recs: Vec<_> = r.by_ref().map(|x| x.unwrap()).collect();
        (recs, r.counters().clone())
    }

    #[test]
    fn arrays_and_pretty_sequences_stream() {
        let ev = |n: u32| {
            format!(
                "{{\n  \"EventID\": {n},\n  \"Channel\": \"Security\",\n  \"Computer\": \"h\"\n}}"
            )
        };
        let (recs, c) = read_mem(&format!(
            "[\n{},\n{{\"EventID\": }},\n{}\n]\n",
            ev(1),
            ev(2)
        ));
        assert_eq!(
            recs.iter()
                .map(|r| r.fields["System"]["EventID"].clone())
                .collect::<Vec<_>>(),
            [json!("1"), json!("2")]
        );
        assert_eq!(c.dropped.get("json_invalid"), Some(&1));
        assert_eq!(c.read, 3);
        let (recs, c) = read_mem(&format!("{}\n{}\n", ev(3), ev(4)));
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[1].provenance.offset, Some(ev(3).len() as u64 + 1));
        assert_eq!(c.dropped_total(), 0);
        let (recs, c) =
            read_mem("{\"EventID\": 5, \"Channel\": \"System\"}\n{\"nope\": 1}\nnot json\n");
        assert_eq!(recs.len(), 1);
        assert_eq!(c.dropped.get("win_json_unrecognized"), Some(&1));
        assert_eq!(c.dropped.get("json_invalid"), Some(&1));
    }

    #[test]
    fn flat_shapes() {
        let v = json!({"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational", "Computer": "h",
            "ProviderName": "Microsoft-Windows-Sysmon", "RecordNumber": 5, "TimeCreated": "2026-01-01T00:00:00Z",
            "Image": "C:\\a.exe", "ProcessId": 10});
        let f = windows_fields(&v).unwrap();
        assert_eq!(f["System"]["Provider"]["Name"], "Microsoft-Windows-Sysmon");
        assert_eq!(f["System"]["EventRecordID"], "5");
        assert_eq!(
            f["EventData"],
            json!({"Image": "C:\\a.exe", "ProcessId": "10"})
        );
        let v = json!({"provider":"Microsoft-Windows-Security-Auditing","channel":"Security","event_id":4688,
            "record_id":1,"time_created":"2026-01-11T00:00:05.000Z","computer":"W","event_data":{"NewProcessId":"0x4a8"},"_fixture":{}});
        let f = windows_fields(&v).unwrap();
        assert_eq!(f["System"]["Channel"], "Security");
        assert_eq!(f["EventData"], json!({"NewProcessId": "0x4a8"}));
        assert!(windows_fields(&json!({"foo": 1})).is_none());
    }
}
