//! Telemetry source readers: each format is a streaming iterator of [`record::SourceRecord`].
//!
//! Entry point: [`open`] (explicit [`SourceFormat`]) or [`open_auto`] (format sniffed from the
//! extension and the first bytes). Every reader is a [`SourceReader`]: an iterator of
//! `Result<SourceRecord, ReadError>` that also exposes its [`Counters`]. A record that cannot be
//! decoded is *dropped and counted* with a reason code (never a failure of the file); an `Err`
//! item is a file-level failure (cannot open, I/O error, not this format) after which the
//! iterator ends. Every error names the file.
//!
//! Modules: [`winxml`] (`pa.win_event_xml.v1`, the one Windows parser), [`evtx`], [`otlp`]
//! (OpenTelemetry Collector file exporter), [`winjson`] (evtx-style and flat JSON), [`osquery`],
//! [`auditd`] (`pa.auditd_record_kv.v1` + event aggregation), [`xmlfile`] (files of event XML).

pub mod auditd;
mod base;
pub mod counters;
pub mod evtx;
mod jsonsplit;
mod lines;
pub mod osquery;
pub mod otlp;
pub mod parallel;
pub mod record;
pub mod timeutil;
pub mod windows;
pub mod winjson;
pub mod winxml;
pub mod xmlfile;

use std::fmt;
use std::io::Read;
use std::path::Path;
use std::str::FromStr;

pub use counters::Counters;
pub use record::{Provenance, SourceRecord, SourceType};

/// A file-level reader failure. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file could not be opened or read.
    #[error("{file}: I/O error: {source}")]
    Io {
        /// The file.
        file: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is not in the expected format (bad header, not JSON, ...).
    #[error("{file}: not a valid {format} file: {detail}")]
    Format {
        /// The file.
        file: String,
        /// The expected format.
        format: SourceFormat,
        /// What was wrong.
        detail: String,
    },
    /// The format could not be determined.
    #[error("{file}: cannot determine the source format: {detail}")]
    UnknownFormat {
        /// The file.
        file: String,
        /// Why.
        detail: String,
    },
}

impl ReadError {
    /// The file the error is about.
    pub fn file(&self) -> &str {
        match self {
            ReadError::Io { file, .. }
            | ReadError::Format { file, .. }
            | ReadError::UnknownFormat { file, .. } => file,
        }
    }
}

/// The input formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SourceFormat {
    /// Windows EVTX files.
    Evtx,
    /// Windows event XML (one or more `<Event>` documents, optionally inside `<Events>`).
    WinXml,
    /// OpenTelemetry Collector file exporter, OTLP logs JSON lines.
    OtlpJson,
    /// Windows events as JSON / NDJSON (evtx-crate shape or flat objects).
    WinJson,
    /// osquery result NDJSON.
    Osquery,
    /// Linux audit log text (raw or ENRICHED).
    Auditd,
}

impl SourceFormat {
    /// All formats, in a stable order.
    pub const ALL: [SourceFormat; 6] = [
        SourceFormat::Evtx,
        SourceFormat::WinXml,
        SourceFormat::OtlpJson,
        SourceFormat::WinJson,
        SourceFormat::Osquery,
        SourceFormat::Auditd,
    ];

    /// The CLI / config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceFormat::Evtx => "evtx",
            SourceFormat::WinXml => "win-xml",
            SourceFormat::OtlpJson => "otlp-json",
            SourceFormat::WinJson => "win-json",
            SourceFormat::Osquery => "osquery",
            SourceFormat::Auditd => "auditd",
        }
    }
}

impl fmt::Display for SourceFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A format name that no reader has.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown source format {given:?} (expected one of {expected})",
    expected = SourceFormat::ALL.iter().map(|f| f.as_str()).collect::<Vec<_>>().join(", ")
)]
pub struct UnknownSourceFormat {
    /// The name given.
    pub given: String,
}

impl FromStr for SourceFormat {
    type Err = UnknownSourceFormat;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SourceFormat::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| UnknownSourceFormat {
                given: s.to_owned(),
            })
    }
}

/// A streaming reader of one file.
///
/// Counting units: EVTX records, event XML documents, OTLP log records, JSON values / rows,
/// and for auditd aggregated events (plus audit lines that could not be parsed, which are
/// dropped one by one; `audit_lines_total` counts every line).
pub trait SourceReader: Iterator<Item = Result<SourceRecord, ReadError>> {
    /// The counters so far (complete once the iterator returned `None`).
    fn counters(&self) -> &Counters;
    /// The format being read.
    fn format(&self) -> SourceFormat;
    /// The file, as given.
    fn file(&self) -> &str;
}

/// A boxed reader, as returned by [`open`].
pub type BoxedReader = Box<dyn SourceReader + Send>;

/// Open `path` as `format`. The open itself fails only when the file cannot be opened or its
/// header is not of that format; everything else is reported while iterating.
pub fn open(path: &Path, format: SourceFormat) -> Result<BoxedReader, ReadError> {
    Ok(match format {
        SourceFormat::Evtx => Box::new(evtx::EvtxReader::open(path)?),
        SourceFormat::WinXml => Box::new(xmlfile::XmlFileReader::open(path)?),
        SourceFormat::OtlpJson => Box::new(otlp::OtlpReader::open(path)?),
        SourceFormat::WinJson => Box::new(winjson::WinJsonReader::open(path)?),
        SourceFormat::Osquery => Box::new(osquery::OsqueryReader::open(path)?),
        SourceFormat::Auditd => Box::new(auditd::AuditdReader::open(path)?),
    })
}

/// Sniff the format of `path` (see [`sniff_bytes`]) and open it.
pub fn open_auto(path: &Path) -> Result<BoxedReader, ReadError> {
    let format = sniff(path)?;
    open(path, format)
}

/// Sniff the format of a file from its extension and first 64 KiB.
pub fn sniff(path: &Path) -> Result<SourceFormat, ReadError> {
    let file = path.display().to_string();
    let mut head = Vec::with_capacity(65536);
    std::fs::File::open(path)
        .and_then(|f| f.take(65536).read_to_end(&mut head))
        .map_err(|source| ReadError::Io {
            file: file.clone(),
            source,
        })?;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    sniff_bytes(ext.as_deref(), &head).ok_or_else(|| ReadError::UnknownFormat {
        file,
        detail: "neither the extension nor the content identify a supported format".to_owned(),
    })
}

/// Sniff a format from an optional lowercase extension and the first bytes of the content.
/// Content wins over the extension when it is unambiguous.
pub fn sniff_bytes(ext: Option<&str>, head: &[u8]) -> Option<SourceFormat> {
    if head.starts_with(b"ElfFile\0") {
        return Some(SourceFormat::Evtx);
    }
    let text = String::from_utf8_lossy(head);
    let t = text.trim_start_matches('\u{feff}').trim_start();
    if t.starts_with('<') {
        return Some(SourceFormat::WinXml);
    }
    if t.starts_with("type=") || t.starts_with("node=") {
        return Some(SourceFormat::Auditd);
    }
    if t.starts_with('{') || t.starts_with('[') {
        let first = t.lines().next().unwrap_or("");
        if first.contains("\"resourceLogs\"") {
            return Some(SourceFormat::OtlpJson);
        }
        let osq = ["\"hostIdentifier\"", "\"diffResults\"", "\"calendarTime\""];
        if osq.iter().any(|k| first.contains(k)) {
            return Some(SourceFormat::Osquery);
        }
        let win = [
            "\"Event\"",
            "\"EventID\"",
            "\"event_id\"",
            "\"Channel\"",
            "\"channel\"",
        ];
        if win.iter().any(|k| t.contains(k)) {
            return Some(SourceFormat::WinJson);
        }
    }
    match ext {
        Some("evtx") => Some(SourceFormat::Evtx),
        Some("xml") => Some(SourceFormat::WinXml),
        Some("log") if t.contains("msg=audit(") => Some(SourceFormat::Auditd),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_names_round_trip() {
        for f in SourceFormat::ALL {
            assert_eq!(f.as_str().parse::<SourceFormat>(), Ok(f));
        }
        assert!("nope".parse::<SourceFormat>().is_err());
    }

    #[test]
    fn sniffing() {
        assert_eq!(
            sniff_bytes(None, b"ElfFile\0rest"),
            Some(SourceFormat::Evtx)
        );
        assert_eq!(sniff_bytes(None, b"  <Event/>"), Some(SourceFormat::WinXml));
        assert_eq!(
            sniff_bytes(None, b"type=SYSCALL msg=audit(1.2:3): a=b"),
            Some(SourceFormat::Auditd)
        );
        assert_eq!(
            sniff_bytes(None, b"{\"resourceLogs\":[]}\n"),
            Some(SourceFormat::OtlpJson)
        );
        assert_eq!(
            sniff_bytes(None, b"{\"name\":\"q\",\"hostIdentifier\":\"h\"}"),
            Some(SourceFormat::Osquery)
        );
        assert_eq!(
            sniff_bytes(None, b"{\"Event\":{}}"),
            Some(SourceFormat::WinJson)
        );
        assert_eq!(
            sniff_bytes(Some("evtx"), b"garbage"),
            Some(SourceFormat::Evtx)
        );
        assert_eq!(sniff_bytes(Some("txt"), b"garbage"), None);
    }
}
