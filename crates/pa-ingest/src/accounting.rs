//! Record accounting for `logs/telemetry_validation.json`: every record read is either kept or
//! dropped with a reason, per file and per source. No silent drops.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Counts of one input file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileCounts {
    pub path: String,
    pub sha256: String,
    pub read: u64,
    pub kept: u64,
    pub dropped: u64,
}

/// Counts of one configured source.
#[derive(Debug, Clone, Default)]
pub struct SourceCounts {
    pub source_id: String,
    pub format: String,
    pub asset_id: String,
    pub dataset: String,
    pub required: bool,
    pub files: Vec<FileCounts>,
    pub drop_reasons: BTreeMap<String, u64>,
    pub source_types: BTreeMap<String, u64>,
    pub counters: BTreeMap<String, u64>,
    /// No input file matched the configured paths.
    pub missing: bool,
    /// File-level problems of an optional source (file unreadable as its format, ...).
    pub errors: Vec<String>,
}

impl SourceCounts {
    pub fn read(&self) -> u64 {
        self.files.iter().map(|f| f.read).sum()
    }
    pub fn kept(&self) -> u64 {
        self.files.iter().map(|f| f.kept).sum()
    }
    pub fn dropped(&self) -> u64 {
        self.files.iter().map(|f| f.dropped).sum()
    }

    /// Record a kept record of the current (last) file.
    pub fn keep(&mut self, source_type: &str) {
        if let Some(f) = self.files.last_mut() {
            f.read += 1;
            f.kept += 1;
        }
        *self
            .source_types
            .entry(source_type.to_string())
            .or_default() += 1;
    }

    /// Record a dropped record of the current (last) file.
    pub fn drop_record(&mut self, reason: &str) {
        if let Some(f) = self.files.last_mut() {
            f.read += 1;
            f.dropped += 1;
        }
        *self.drop_reasons.entry(reason.to_string()).or_default() += 1;
    }

    /// Count a kept record's source type (the reader's counters give read/kept/dropped).
    pub fn note_source_type(&mut self, source_type: &str) {
        *self
            .source_types
            .entry(source_type.to_string())
            .or_default() += 1;
    }

    /// Take a finished reader's counters as the current (last) file's counts.
    pub fn absorb_reader(&mut self, c: &pa_sources::Counters) {
        if let Some(f) = self.files.last_mut() {
            f.read += c.read;
            f.kept += c.kept;
            f.dropped += c.dropped_total();
        }
        for (k, v) in &c.dropped {
            *self.drop_reasons.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &c.extra {
            *self.counters.entry(k.clone()).or_default() += v;
        }
    }

    /// `ok`, `empty` (files but no kept record) or `missing` (no file).
    pub fn status(&self) -> &'static str {
        if self.missing {
            "missing"
        } else if self.kept() == 0 {
            "empty"
        } else {
            "ok"
        }
    }

    fn validation(&self) -> SourceValidation {
        SourceValidation {
            source_id: self.source_id.clone(),
            format: self.format.clone(),
            asset_id: self.asset_id.clone(),
            dataset: self.dataset.clone(),
            required: self.required,
            status: self.status().to_owned(),
            files: self
                .files
                .iter()
                .map(|f| FileValidation {
                    path: f.path.clone(),
                    sha256: f.sha256.clone(),
                    records_read: f.read,
                    records_kept: f.kept,
                    records_dropped: f.dropped,
                })
                .collect(),
            records_read: self.read(),
            records_kept: self.kept(),
            records_dropped: self.dropped(),
            drop_reasons: self.drop_reasons.clone(),
            source_types: self.source_types.clone(),
            counters: self.counters.clone(),
            errors: self.errors.clone(),
        }
    }
}

/// `logs/telemetry_validation.json`: every record read, kept or dropped with a reason, per
/// file and per source, and the capture window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetryValidation {
    /// The bundle contract version.
    pub contract_version: String,
    /// The run.
    pub run_id: String,
    /// One entry per configured source, in configuration order.
    pub sources: Vec<SourceValidation>,
    /// Sums over the sources.
    pub totals: RecordTotals,
    /// The span of event times of the kept records, when any had a time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capture_window: Option<CaptureWindow>,
}

/// Sums of a [`TelemetryValidation`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordTotals {
    /// Records read.
    pub records_read: u64,
    /// Records kept (in `raw_parquet/`).
    pub records_kept: u64,
    /// Records dropped with a reason.
    pub records_dropped: u64,
}

/// A capture window (RFC 3339, ms).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaptureWindow {
    /// First event time.
    pub start_time_utc: String,
    /// Last event time.
    pub end_time_utc: String,
}

/// One source of a [`TelemetryValidation`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceValidation {
    /// The source id.
    pub source_id: String,
    /// Its reader format.
    pub format: String,
    /// The asset it belongs to.
    pub asset_id: String,
    /// Its dataset (`raw_parquet/<source_id>`).
    pub dataset: String,
    /// Whether the run fails without it.
    pub required: bool,
    /// `ok`, `empty` or `missing`.
    pub status: String,
    /// Per input file.
    pub files: Vec<FileValidation>,
    /// Records read.
    pub records_read: u64,
    /// Records kept.
    pub records_kept: u64,
    /// Records dropped.
    pub records_dropped: u64,
    /// Dropped records by reason code.
    pub drop_reasons: BTreeMap<String, u64>,
    /// Kept records by source type.
    pub source_types: BTreeMap<String, u64>,
    /// Reader-specific counters.
    pub counters: BTreeMap<String, u64>,
    /// File-level problems of an optional source.
    pub errors: Vec<String>,
}

/// One input file of a [`SourceValidation`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileValidation {
    /// Path relative to the range file.
    pub path: String,
    /// `sha256:` of the file.
    pub sha256: String,
    /// Records read.
    pub records_read: u64,
    /// Records kept.
    pub records_kept: u64,
    /// Records dropped.
    pub records_dropped: u64,
}

/// The `logs/telemetry_validation.json` document (sources in configuration order).
/// `window` is the span of event times of the kept records (ms), when any had a time: for
/// recorded sources the capture window is what the recording covers.
pub fn validation_document(
    run_id: &str,
    sources: &[SourceCounts],
    window: Option<(i64, i64)>,
) -> TelemetryValidation {
    let (r, k, d) = sources.iter().fold((0, 0, 0), |(r, k, d), s| {
        (r + s.read(), k + s.kept(), d + s.dropped())
    });
    TelemetryValidation {
        contract_version: pa_bundle::CONTRACT_VERSION.to_owned(),
        run_id: run_id.to_owned(),
        sources: sources.iter().map(SourceCounts::validation).collect(),
        totals: RecordTotals {
            records_read: r,
            records_kept: k,
            records_dropped: d,
        },
        capture_window: window.map(|(a, b)| CaptureWindow {
            start_time_utc: pa_canon::format_utc_millis(a),
            end_time_utc: pa_canon::format_utc_millis(b),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_read_record_is_kept_or_dropped() {
        let mut s = SourceCounts {
            source_id: "a".into(),
            required: true,
            ..Default::default()
        };
        s.files.push(FileCounts {
            path: "x.evtx".into(),
            sha256: format!("sha256:{}", "0".repeat(64)),
            ..Default::default()
        });
        s.keep("windows-sysmon");
        s.keep("windows-sysmon");
        s.drop_record("xml_not_well_formed");
        assert_eq!((s.read(), s.kept(), s.dropped()), (3, 2, 1));
        assert_eq!(s.status(), "ok");
        let doc = pa_canon::to_value(&validation_document(
            "123e4567-e89b-42d3-a456-426614174000",
            &[s],
            Some((0, 1000)),
        ))
        .unwrap();
        assert_eq!(
            doc["capture_window"]["end_time_utc"],
            "1970-01-01T00:00:01.000Z"
        );
        assert_eq!(doc["totals"]["records_read"], 3);
        assert_eq!(doc["sources"][0]["drop_reasons"]["xml_not_well_formed"], 1);
        let errs = pa_bundle::contracts::validate_value("telemetry_validation", &doc).unwrap();
        assert!(errs.is_empty(), "{errs:?}");
    }

    #[test]
    fn status_distinguishes_missing_and_empty() {
        let mut s = SourceCounts {
            missing: true,
            ..Default::default()
        };
        assert_eq!(s.status(), "missing");
        s.missing = false;
        assert_eq!(s.status(), "empty");
    }
}
