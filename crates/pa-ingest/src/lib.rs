//! The telemetry stage: read the sources a range names, write `raw_parquet/<source_id>/`, and
//! account for every record in `logs/telemetry_validation.json`.
//!
//! For each configured source (in configuration order): expand its paths into a sorted file
//! list, read every file with the `pa-sources` reader of its format, and stream each record
//! into a raw Parquet row (payloads over [`RAW_INLINE_LIMIT`] bytes are cut on a character
//! boundary and kept whole in a BLAKE3-addressed blob under `raw/evidence/blobs/`). Every
//! record read is kept or dropped with the reader's reason code; nothing is dropped silently.
//!
//! Failures (fail_closed): a format the readers do not implement (`source_not_implemented`);
//! a required source whose path does not exist, whose file cannot be read as its format, or
//! that yields no record (`required_source_missing`). An optional source with those problems
//! is recorded as `missing`/`empty` and the stage goes on.

pub mod accounting;
pub mod inputs;
pub mod live;

use accounting::{FileCounts, SourceCounts};
use pa_bundle::reason::TelemetryReason;
use pa_sources::parallel::{self, FileEvent};
use pa_sources::{SourceFormat, SourceRecord};
use pa_stage::{StageContext, StageFailure, StageSuccess};
use pa_store::raw::{RawRow, RawWriter};
use std::collections::BTreeSet;
use std::path::Path;

/// Payload bytes kept inline in `raw_parquet`; larger payloads are cut and kept as a blob.
pub const RAW_INLINE_LIMIT: usize = 1_048_576;
/// Rows per raw Parquet part.
pub const ROWS_PER_PART: usize = 1_000_000;

/// File extensions a directory walk picks up, per format (a file named explicitly is always read).
pub fn extensions(format: SourceFormat) -> &'static [&'static str] {
    match format {
        SourceFormat::Evtx => &["evtx"],
        SourceFormat::WinXml => &["xml"],
        SourceFormat::OtlpJson => &["json", "jsonl", "ndjson"],
        SourceFormat::WinJson => &["json", "jsonl", "ndjson"],
        SourceFormat::Osquery => &["json", "jsonl", "ndjson", "log"],
        SourceFormat::Auditd => &["log"],
    }
}

fn blob_ext(format: SourceFormat) -> &'static str {
    match format {
        SourceFormat::Evtx | SourceFormat::WinXml | SourceFormat::OtlpJson => "xml",
        SourceFormat::WinJson | SourceFormat::Osquery => "json",
        SourceFormat::Auditd => "log",
    }
}

/// Cut `s` to at most `limit` bytes on a character boundary.
pub fn cut_on_char_boundary(s: &str, limit: usize) -> &str {
    if s.len() <= limit {
        return s;
    }
    let mut end = limit;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// A payload too large to keep inline: its bundle-relative blob path and full bytes.
pub type Blob = (String, Vec<u8>);

/// Turn a source record into its raw row. Returns the row and, for an oversized payload, the
/// blob (bundle-relative path, full bytes) that must be staged with it.
pub fn raw_row(
    rec: &SourceRecord,
    asset_id: &str,
    file_label: &str,
    format: SourceFormat,
) -> Result<(RawRow, Option<Blob>), pa_canon::CanonError> {
    let sys = rec.fields.get("System");
    let s = |v: Option<&serde_json::Value>| v.and_then(|x| x.as_str()).map(str::to_string);
    let channel = s(sys.and_then(|x| x.get("Channel")));
    let provider = s(sys
        .and_then(|x| x.get("Provider"))
        .and_then(|p| p.get("Name")));
    let event_code = sys
        .and_then(|x| x.get("EventID"))
        .and_then(|v| v.as_str())
        .and_then(|v| v.trim().parse::<i64>().ok());
    let bytes = rec.raw.as_bytes();
    let truncated = bytes.len() > RAW_INLINE_LIMIT;
    let blob = truncated.then(|| {
        let h = pa_canon::blake3_hex(bytes);
        (
            format!("raw/evidence/blobs/{}/{}.{}", &h[..2], h, blob_ext(format)),
            bytes.to_vec(),
        )
    });
    // JSON text of the decoded record, keys in the reader's order (deterministic; not a
    // contract document, so no RFC 8785 cost per record).
    let fields_json = serde_json::to_string(&rec.fields).map_err(pa_canon::CanonError::from)?;
    let row = RawRow {
        time_ms: rec.time_ms,
        source_type: rec.source_type.as_str().to_string(),
        asset_id: asset_id.to_string(),
        host: rec.host.clone(),
        file: file_label.to_string(),
        file_offset: rec.provenance.offset.and_then(|o| i64::try_from(o).ok()),
        ordinal: i64::try_from(rec.provenance.ordinal).unwrap_or(i64::MAX),
        record_id: rec.provenance.record_id.and_then(|o| i64::try_from(o).ok()),
        channel,
        provider,
        event_code,
        raw: cut_on_char_boundary(&rec.raw, RAW_INLINE_LIMIT).to_string(),
        raw_sha256: pa_canon::sha256_prefixed(bytes),
        raw_bytes: i64::try_from(bytes.len()).unwrap_or(i64::MAX),
        raw_truncated: truncated,
        raw_blob_ref: blob.as_ref().map(|b| b.0.clone()),
        fields_json,
    };
    Ok((row, blob))
}

fn fail(code: TelemetryReason, msg: String) -> StageFailure {
    StageFailure::new(code, msg)
}

/// The stage function: read every configured source into its raw dataset, then write the
/// record accounting (`logs/telemetry_validation.json`).
pub fn run(ctx: &mut StageContext<'_>) -> Result<StageSuccess, StageFailure> {
    let range = ctx.range()?;
    let base = ctx.range_base_dir();
    let mut acc = Ingested {
        sources: Vec::new(),
        blobs_written: BTreeSet::new(),
        min_t: i64::MAX,
        max_t: i64::MIN,
        window: None,
    };
    let mut live_window: Option<(i64, i64)> = None;
    for src in &range.telemetry.sources {
        let live_file = if src.live {
            let cap = live::capture(ctx, &range, &base, src)?;
            live_window = Some(match live_window {
                None => cap.window,
                Some((a, b)) => (a.min(cap.window.0), b.max(cap.window.1)),
            });
            Some((cap.file, cap.rel, cap.control_events_excluded))
        } else {
            None
        };
        let excluded = live_file.as_ref().map(|l| l.2);
        let mut counts =
            ingest_source(ctx, &base, src, live_file.map(|(f, r, _)| (f, r)), &mut acc)?;
        if let Some(n) = excluded {
            counts
                .counters
                .insert("runner_audit_control_events_excluded".into(), n);
        }
        acc.sources.push(counts);
    }
    // A live capture's window is the run's capture window, not the span of the records read.
    if let Some(w) = live_window {
        acc.window = Some(w);
    }
    write_validation(ctx, &acc)
}

/// What the sources read so far gave.
struct Ingested {
    /// Per source, in configuration order.
    sources: Vec<SourceCounts>,
    /// Evidence blobs already staged (content-addressed: written once).
    blobs_written: BTreeSet<String>,
    /// The span of kept records' times (ms).
    min_t: i64,
    max_t: i64,
    /// The capture window of live sources, which wins over the records' span.
    window: Option<(i64, i64)>,
}

/// Read one source's files into `raw_parquet/<source_id>/` and count every record.
fn ingest_source(
    ctx: &mut StageContext<'_>,
    base: &Path,
    src: &pa_config::TelemetrySource,
    live_file: Option<(std::path::PathBuf, String)>,
    acc: &mut Ingested,
) -> Result<SourceCounts, StageFailure> {
    let format: SourceFormat =
        src.format
            .parse()
            .map_err(|e: pa_sources::UnknownSourceFormat| {
                fail(
                    TelemetryReason::SourceNotImplemented,
                    format!(
                        "inputs/range.yaml: telemetry.sources[{}].format: {e}",
                        src.source_id
                    ),
                )
            })?;
    let mut counts = SourceCounts {
        source_id: src.source_id.clone(),
        format: format.as_str().to_string(),
        asset_id: src.asset_id.clone(),
        dataset: format!("raw_parquet/{}", src.source_id),
        required: src.required,
        ..Default::default()
    };
    let expanded = match &live_file {
        Some((f, _)) => Ok(vec![f.clone()]),
        None => inputs::expand(base, &src.paths, extensions(format)),
    };
    let files = match expanded {
        Ok(f) => f,
        Err(e) if src.required => {
            return Err(fail(
                TelemetryReason::RequiredSourceMissing,
                format!("telemetry source {}: {e}", src.source_id),
            ));
        }
        Err(e) => {
            tracing::warn!(source = %src.source_id, "optional source missing: {e}");
            counts.missing = true;
            counts.errors.push(e.to_string());
            return Ok(counts);
        }
    };
    if files.is_empty() {
        counts.missing = true;
    }
    let schema_rel = format!("raw_parquet/{}/_schema.json", src.source_id);
    let schema_path = ctx.staging.path_for(&schema_rel)?;
    let dir = schema_path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| schema_path.clone());
    let mut writer = RawWriter::new(&dir, ROWS_PER_PART).map_err(storage)?;
    let labels: Vec<String> = files
        .iter()
        .map(|file| match &live_file {
            Some((_, rel)) => rel.clone(),
            None => file
                .strip_prefix(base)
                .unwrap_or(file)
                .display()
                .to_string(),
        })
        .collect();
    // Files are read on several threads (digest, records, raw rows); their events arrive here
    // in file order, so the dataset and the accounting are those of a sequential read.
    let threads = parallel::threads_for(files.len());
    let mut file_err: Option<String> = None;
    let asset_id = src.asset_id.as_str();
    parallel::read_files(
        &files,
        format,
        threads,
        |path| inputs::file_sha256(path).map_err(|e| e.to_string()),
        |i, rec| {
            raw_row(&rec, asset_id, &labels[i], format).map_err(|e| format!("{}: {e}", labels[i]))
        },
        |i, ev| {
            match ev {
                FileEvent::Start(sha) => {
                    let sha = sha.map_err(|e| {
                        fail(
                            TelemetryReason::RequiredSourceMissing,
                            format!("{}: {e}", files[i].display()),
                        )
                    })?;
                    counts.files.push(FileCounts {
                        path: labels[i].clone(),
                        sha256: sha,
                        ..Default::default()
                    });
                    file_err = None;
                }
                FileEvent::OpenFailed(e) => file_error(&mut counts, src.required, e.to_string())?,
                FileEvent::Records(rows) => {
                    for r in rows {
                        let (row, blob) =
                            r.map_err(|e| fail(TelemetryReason::RequiredSourceMissing, e))?;
                        if let Some((rel, bytes)) = blob {
                            if acc.blobs_written.insert(rel.clone()) {
                                ctx.staging.write(&rel, &bytes)?;
                            }
                        }
                        if let Some(t) = row.time_ms {
                            acc.min_t = acc.min_t.min(t);
                            acc.max_t = acc.max_t.max(t);
                        }
                        writer.push(&row).map_err(storage)?;
                        counts.note_source_type(&row.source_type);
                    }
                }
                FileEvent::ReadError(e) => file_err = Some(e.to_string()),
                FileEvent::Done(counters) => {
                    counts.absorb_reader(&counters);
                    if let Some(e) = file_err.take() {
                        file_error(&mut counts, src.required, e)?;
                    }
                }
            }
            Ok::<(), StageFailure>(())
        },
    )?;
    let parts = writer.finish().map_err(storage)?;
    for (i, _) in parts.iter().enumerate() {
        ctx.staging.path_for(&format!(
            "raw_parquet/{}/{}",
            src.source_id,
            pa_store::part_name(i)
        ))?;
    }
    ctx.staging
        .write_json(&schema_rel, &pa_store::raw::schema_document())?;
    if src.required && counts.kept() == 0 {
        return Err(fail(
            TelemetryReason::RequiredSourceMissing,
            format!(
                "telemetry source {}: no record read from {} file(s) ({} dropped: {:?}){}",
                src.source_id,
                counts.files.len(),
                counts.dropped(),
                counts.drop_reasons,
                counts
                    .errors
                    .first()
                    .map(|e| format!("; {e}"))
                    .unwrap_or_default()
            ),
        ));
    }
    tracing::info!(
        source = %src.source_id,
        files = counts.files.len(),
        kept = counts.kept(),
        dropped = counts.dropped(),
        "source read"
    );
    Ok(counts)
}

/// Stage `logs/telemetry_validation.json` and the outcome's summary.
fn write_validation(
    ctx: &mut StageContext<'_>,
    acc: &Ingested,
) -> Result<StageSuccess, StageFailure> {
    let sources = &acc.sources;
    let window = acc
        .window
        .or_else(|| (acc.min_t <= acc.max_t).then_some((acc.min_t, acc.max_t)));
    let doc = accounting::validation_document(ctx.run.run_id(), sources, window);
    ctx.staging
        .write_json("logs/telemetry_validation.json", &doc)?;
    let kept: u64 = sources.iter().map(SourceCounts::kept).sum();
    let dropped: u64 = sources.iter().map(SourceCounts::dropped).sum();
    Ok(StageSuccess {
        summary: format!(
            "{kept} record(s) kept, {dropped} dropped, from {} source(s)",
            sources.len()
        ),
        ..Default::default()
    })
}

fn storage(e: pa_store::StoreError) -> StageFailure {
    StageFailure::new(
        pa_bundle::reason::CommonReason::StorageIoError,
        e.to_string(),
    )
}

fn file_error(counts: &mut SourceCounts, required: bool, e: String) -> Result<(), StageFailure> {
    if required {
        return Err(fail(TelemetryReason::RequiredSourceMissing, e));
    }
    tracing::warn!(source = %counts.source_id, "{e}");
    counts.errors.push(e);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pa_sources::{Provenance, SourceType};
    use serde_json::json;

    fn rec(raw: String) -> SourceRecord {
        SourceRecord {
            source_type: SourceType::WindowsSysmon,
            provenance: Provenance {
                file: "x.evtx".into(),
                offset: None,
                ordinal: 3,
                record_id: Some(42),
            },
            time_ms: Some(1_553_038_464_987),
            host: Some("PC01".into()),
            fields: json!({"System": {"Channel": "Microsoft-Windows-Sysmon/Operational",
                                      "Provider": {"Name": "Microsoft-Windows-Sysmon"},
                                      "EventID": "1"},
                           "EventData": {"Image": "C:\\x.exe"}}),
            raw,
        }
    }

    #[test]
    fn small_payloads_stay_inline() {
        let (row, blob) =
            raw_row(&rec("<Event/>".into()), "a1", "x.evtx", SourceFormat::Evtx).unwrap();
        assert!(blob.is_none());
        assert_eq!(row.raw, "<Event/>");
        assert!(!row.raw_truncated);
        assert_eq!(row.event_code, Some(1));
        assert_eq!(
            row.channel.as_deref(),
            Some("Microsoft-Windows-Sysmon/Operational")
        );
        assert_eq!(row.provider.as_deref(), Some("Microsoft-Windows-Sysmon"));
        assert_eq!(row.record_id, Some(42));
        assert_eq!(row.raw_sha256, pa_canon::sha256_prefixed(b"<Event/>"));
        let fields: serde_json::Value = serde_json::from_str(&row.fields_json).unwrap();
        assert_eq!(fields["EventData"]["Image"], "C:\\x.exe");
    }

    #[test]
    fn oversized_payloads_are_cut_on_a_char_boundary_and_kept_as_a_blob() {
        // 'é' is two bytes: put one across the limit.
        let mut big = "a".repeat(RAW_INLINE_LIMIT - 1);
        big.push('é');
        big.push_str("tail");
        let (row, blob) = raw_row(&rec(big.clone()), "a1", "x.evtx", SourceFormat::Evtx).unwrap();
        let (rel, bytes) = blob.expect("a blob");
        assert!(row.raw_truncated);
        assert_eq!(row.raw.len(), RAW_INLINE_LIMIT - 1);
        assert_eq!(bytes, big.as_bytes());
        assert_eq!(row.raw_bytes as usize, big.len());
        assert_eq!(row.raw_sha256, pa_canon::sha256_prefixed(big.as_bytes()));
        let h = pa_canon::blake3_hex(big.as_bytes());
        assert_eq!(rel, format!("raw/evidence/blobs/{}/{h}.xml", &h[..2]));
        assert_eq!(row.raw_blob_ref.as_deref(), Some(rel.as_str()));
    }
}
