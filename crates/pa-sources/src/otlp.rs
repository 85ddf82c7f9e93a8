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

use serde_json::Value;

use crate::base::lines;
use crate::base::prelude::*;
use crate::lines::Line;
use crate::windows::record_from_xml;

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
pub type OtlpReader = Reader<Otlp>;

/// The OTLP half of [`OtlpReader`]: log records of the lines read, not yet yielded.
#[derive(Default)]
pub struct Otlp {
    pending: VecDeque<Raw>,
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

impl Otlp {
    fn load_line(&mut self, base: &mut Base, offset: u64, bytes: &[u8]) {
        let doc: Value = match serde_json::from_slice(bytes) {
            Ok(v) => v,
            Err(e) => {
                let d = format!("{} line at byte {offset}: {e}", base.file);
                base.drop_unit("otlp_json_invalid", d);
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
                                base.counters.bump(USED_LOG_RECORD_ORIGINAL);
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

impl FromRead for Otlp {
    fn start(input: DynRead) -> (Self, Self::Input) {
        (Otlp::default(), lines(input, MAX_LINE_BYTES))
    }
}

impl Format for Otlp {
    const FORMAT: SourceFormat = SourceFormat::OtlpJson;
    type Input = LineInput;

    fn pop(&mut self, base: &mut Base) -> Option<SourceRecord> {
        while let Some(raw) = self.pending.pop_front() {
            let ordinal = base.next_ordinal();
            match raw {
                Raw::Unavailable { offset } => {
                    base.counters.bump(RAW_UNAVAILABLE);
                    base.counters.drop_record(
                        "raw_xml_unavailable",
                        format!("{} log record {ordinal} (line at byte {offset})", base.file),
                    );
                }
                Raw::Xml { xml, offset } => {
                    let prov = base.provenance(ordinal, Some(offset), None);
                    match record_from_xml(xml.as_bytes(), prov) {
                        Ok(r) => {
                            base.counters.kept();
                            return Some(r);
                        }
                        Err(e) => {
                            base.counters.bump(RAW_MALFORMED);
                            base.counters.drop_record(
                                e.code(),
                                format!("{} log record {ordinal}: {e}", base.file),
                            );
                        }
                    }
                }
            }
        }
        None
    }

    fn take(&mut self, base: &mut Base, line: Line) {
        if line.too_long {
            let d = format!(
                "{} line at byte {} exceeds {MAX_LINE_BYTES} bytes",
                base.file, line.offset
            );
            base.drop_unit("otlp_line_too_long", d);
        } else if !line.is_blank() {
            self.load_line(base, line.offset, &line.bytes);
        }
    }
}
