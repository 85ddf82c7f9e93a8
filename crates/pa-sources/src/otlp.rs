//! OpenTelemetry Collector file exporter output: OTLP logs as JSON lines
//! (`{"resourceLogs":[{"scopeLogs":[{"logRecords":[...]}]}]}` per line).
//!
//! Raw event XML of a log record = its body string when it starts with `<Event` (after
//! trimming), else its `log.record.original` attribute, else the record is dropped with
//! `raw_xml_unavailable`. The XML goes through [`crate::winxml`]; a failure is dropped under the
//! parser's reason code. Tallies (in [`Counters::extra`]):
//! `wineventlog_used_log_record_original_total`, `wineventlog_raw_unavailable_total`,
//! `wineventlog_raw_malformed_total`.

use std::collections::VecDeque;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use serde_json::Value;

use crate::counters::Counters;
use crate::lines::BoundedLines;
use crate::record::{Provenance, SourceRecord};
use crate::windows::record_from_xml;
use crate::{ReadError, SourceFormat, SourceReader};

/// Longest JSON line accepted (one export batch).
pub const MAX_LINE_BYTES: usize = 256 * 1024 * 1024;

/// Tally: raw XML taken from `log.record.original`.
pub const USED_LOG_RECORD_ORIGINAL: &str = "wineventlog_used_log_record_original_total";
/// Tally: neither body nor attribute held event XML.
pub const RAW_UNAVAILABLE: &str = "wineventlog_raw_unavailable_total";
/// Tally: the raw XML failed `pa.win_event_xml.v1`.
pub const RAW_MALFORMED: &str = "wineventlog_raw_malformed_total";

enum Raw {
    Xml { xml: String, offset: u64 },
    Unavailable { offset: u64 },
}

/// Streaming OTLP JSON-lines reader.
pub struct OtlpReader {
    file: String,
    lines: BoundedLines<BufReader<Box<dyn std::io::Read + Send>>>,
    pending: VecDeque<Raw>,
    ordinal: u64,
    counters: Counters,
    failed: bool,
}

fn any_value_string(v: &Value) -> Option<&str> {
    v.get("stringValue").and_then(Value::as_str)
}

fn attribute<'a>(record: &'a Value, key: &str) -> Option<&'a Value> {
    record
        .get("attributes")?
        .as_array()?
        .iter()
        .find(|a| a.get("key").and_then(Value::as_str) == Some(key))
        .and_then(|a| a.get("value"))
}

/// Pick the raw event XML of one OTLP log record; `Some((xml, from_attribute))`.
pub fn raw_event_xml(record: &Value) -> Option<(String, bool)> {
    if let Some(body) = record.get("body").and_then(any_value_string) {
        let t = body.trim();
        if t.starts_with("<Event") {
            return Some((t.to_owned(), false));
        }
    }
    let original = attribute(record, "log.record.original").and_then(any_value_string)?;
    let t = original.trim();
    if t.is_empty() {
        return None;
    }
    Some((t.to_owned(), true))
}

impl OtlpReader {
    /// Open an OTLP JSON-lines file.
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
        OtlpReader {
            file,
            lines: BoundedLines::new(BufReader::with_capacity(1 << 16, input), MAX_LINE_BYTES),
            pending: VecDeque::new(),
            ordinal: 0,
            counters: Counters::default(),
            failed: false,
        }
    }

    fn load_line(&mut self, offset: u64, bytes: &[u8]) {
        let doc: Value = match serde_json::from_slice(bytes) {
            Ok(v) => v,
            Err(e) => {
                self.counters.read();
                self.ordinal += 1;
                self.counters.drop_record(
                    "otlp_json_invalid",
                    format!("{} line at byte {offset}: {e}", self.file),
                );
                return;
            }
        };
        let empty = Vec::new();
        let resource_logs = doc
            .get("resourceLogs")
            .and_then(Value::as_array)
            .unwrap_or(&empty);
        for rl in resource_logs {
            let scope_logs = rl
                .get("scopeLogs")
                .and_then(Value::as_array)
                .unwrap_or(&empty);
            for sl in scope_logs {
                let records = sl
                    .get("logRecords")
                    .and_then(Value::as_array)
                    .unwrap_or(&empty);
                for rec in records {
                    match raw_event_xml(rec) {
                        Some((xml, from_attr)) => {
                            if from_attr {
                                self.counters.bump(USED_LOG_RECORD_ORIGINAL);
                            }
                            self.pending.push_back(Raw::Xml { xml, offset });
                        }
                        None => self.pending.push_back(Raw::Unavailable { offset }),
                    }
                }
            }
        }
    }
}

impl Iterator for OtlpReader {
    type Item = Result<SourceRecord, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(raw) = self.pending.pop_front() {
                let ordinal = self.ordinal;
                self.ordinal += 1;
                self.counters.read();
                match raw {
                    Raw::Unavailable { offset } => {
                        self.counters.bump(RAW_UNAVAILABLE);
                        self.counters.drop_record(
                            "raw_xml_unavailable",
                            format!("{} log record {ordinal} (line at byte {offset})", self.file),
                        );
                    }
                    Raw::Xml { xml, offset } => {
                        let prov = Provenance {
                            file: self.file.clone(),
                            offset: Some(offset),
                            ordinal,
                            record_id: None,
                        };
                        match record_from_xml(xml.as_bytes(), prov) {
                            Ok(r) => {
                                self.counters.kept();
                                return Some(Ok(r));
                            }
                            Err(e) => {
                                self.counters.bump(RAW_MALFORMED);
                                self.counters.drop_record(
                                    e.code(),
                                    format!("{} log record {ordinal}: {e}", self.file),
                                );
                            }
                        }
                    }
                }
                continue;
            }
            if self.failed {
                return None;
            }
            match self.lines.next_line()? {
                Err(source) => {
                    self.failed = true;
                    return Some(Err(ReadError::Io {
                        file: self.file.clone(),
                        source,
                    }));
                }
                Ok(line) if line.too_long => {
                    self.counters.read();
                    self.ordinal += 1;
                    self.counters.drop_record(
                        "otlp_line_too_long",
                        format!(
                            "{} line at byte {} exceeds {MAX_LINE_BYTES} bytes",
                            self.file, line.offset
                        ),
                    );
                }
                Ok(line) => {
                    if line.bytes.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    self.load_line(line.offset, &line.bytes);
                }
            }
        }
    }
}

impl SourceReader for OtlpReader {
    fn counters(&self) -> &Counters {
        &self.counters
    }
    fn format(&self) -> SourceFormat {
        SourceFormat::OtlpJson
    }
    fn file(&self) -> &str {
        &self.file
    }
}
