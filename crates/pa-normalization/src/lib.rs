//! The normalization stage: every raw record of `raw_parquet/*/` through the data-driven
//! OCSF 1.7.0 mapping profiles of `pa-ocsf`, into the sorted normalized store
//! `normalized/ocsf_events/`, plus `normalized/mapping_profile_snapshot.json` and
//! `normalized/mapping_coverage.json`.
//!
//! One code path serves both modes:
//! * bundle mode ([`run`]): reads the published raw datasets of the run;
//! * stream mode ([`stream`]): reads one telemetry file (or stdin) with a `pa-sources` reader
//!   and writes OCSF JSONL, in input order, for shell pipelines.
//!
//! Outcome policy: profiles that do not load fail the stage (`mapping_profile_invalid`);
//! under `normalization.strict_mode` (default) an event whose identity cannot be computed
//! fails it too (`event_id_generation_failed`). Events that cannot be normalized for another
//! reason (bad timestamp, missing core field) and records of a source type no profile covers
//! are counted and degrade the outcome (warn_and_skip, exit 10) with their reason code.
//! Event types a profile does not route are counted in the coverage document and do not
//! degrade the run: the coverage report is where they show.

use pa_bundle::reason::NormalizationReason;
use pa_ocsf::{Coverage, EventContext, Normalized, Normalizer};
use pa_sources::{Provenance, SourceRecord, SourceType};
use pa_stage::{StageContext, StageFailure, StageSuccess};
use pa_store::events::{EventWriter, FlatEvent};
use pa_store::raw::{RawReader, RawRow};
use rayon::prelude::*;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

mod stream;
pub use stream::{stream, stream_all, stream_format, stream_inputs};

/// The shipped mapping profiles, relative to the project's data root.
pub const MAPPINGS_REL: &str = "mappings/normalizer/ocsf/1.7.0";
/// Events held in memory before the store writer spills a sorted run.
pub const SORT_BUDGET_BYTES: usize = 128 << 20;
/// `metadata.normalizer_version`.
pub const NORMALIZER_VERSION: &str = concat!("pa-normalize/", env!("CARGO_PKG_VERSION"));

/// What went wrong in normalization outside a single event's mapping. Each message is complete
/// on its own (it includes the underlying error's text), so no variant exposes a `source()`
/// that a chain-printing caller would print a second time.
#[derive(Debug, thiserror::Error)]
pub enum NormalizeError {
    /// The range's `normalization.mappings_dir` is not a directory.
    #[error("normalization.mappings_dir: {}: not a directory", .0.display())]
    MappingsDirMissing(PathBuf),
    /// The shipped mapping profiles were not found.
    #[error(transparent)]
    ShippedProfilesMissing(#[from] pa_stage::ShippedDataNotFound),
    /// The mapping profiles do not load.
    #[error(transparent)]
    Profiles(#[from] pa_ocsf::FileError),
    /// Stream mode was asked for a source name it does not know.
    #[error(
        "unknown --source {0:?} (expected evtx, win-xml, otlp-json, win-json, sysmon-json, security-json, osquery or auditd)"
    )]
    UnknownSource(String),
    /// A raw row names a source type this build does not know.
    #[error("unknown source_type {0:?}")]
    UnknownSourceType(String),
    /// A raw row's decoded fields are not JSON.
    #[error("fields_json is not JSON: {0}")]
    FieldsNotJson(serde_json::Error),
    /// The input could not be read (stream mode).
    #[error("{0}")]
    Read(pa_sources::ReadError),
    /// Standard input could not be spooled (stream mode).
    #[error("stdin: {0}")]
    Stdin(std::io::Error),
    /// A stream-mode input path cannot be read, or a directory holds no file of the format.
    #[error("{}: {message}", path.display())]
    Input {
        /// The path given (or met while walking a directory).
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The output could not be written (stream mode).
    #[error("stdout: {0}")]
    Output(std::io::Error),
    /// An event could not be serialized as canonical JSON.
    #[error("{0}")]
    Canonical(pa_canon::CanonError),
}

impl NormalizeError {
    /// The stage reason code of this error (the one place errors map to reason codes).
    pub fn reason(&self) -> pa_bundle::ReasonCode {
        use pa_bundle::reason::CommonReason;
        match self {
            NormalizeError::MappingsDirMissing(_)
            | NormalizeError::ShippedProfilesMissing(_)
            | NormalizeError::Profiles(_) => NormalizationReason::MappingProfileInvalid.into(),
            NormalizeError::UnknownSource(_)
            | NormalizeError::Read(_)
            | NormalizeError::Stdin(_)
            | NormalizeError::Input { .. } => CommonReason::InputMissing.into(),
            NormalizeError::UnknownSourceType(_) | NormalizeError::FieldsNotJson(_) => {
                NormalizationReason::NormalizedStoreIncompatible.into()
            }
            NormalizeError::Output(_) | NormalizeError::Canonical(_) => {
                CommonReason::StorageIoError.into()
            }
        }
    }
}

impl From<pa_sources::ReadError> for NormalizeError {
    fn from(e: pa_sources::ReadError) -> NormalizeError {
        NormalizeError::Read(e)
    }
}

impl From<pa_canon::CanonError> for NormalizeError {
    fn from(e: pa_canon::CanonError) -> NormalizeError {
        NormalizeError::Canonical(e)
    }
}

impl From<NormalizeError> for StageFailure {
    fn from(e: NormalizeError) -> StageFailure {
        StageFailure::new(e.reason(), e.to_string())
    }
}

/// Locate the mapping profiles: the range's `normalization.mappings_dir` (relative to the
/// range file's directory) or the shipped ones.
pub fn mappings_dir(
    configured: Option<&str>,
    range_base: &Path,
) -> Result<PathBuf, NormalizeError> {
    match configured {
        Some(d) => {
            let p = range_base.join(d);
            if p.is_dir() {
                Ok(p)
            } else {
                Err(NormalizeError::MappingsDirMissing(p))
            }
        }
        None => Ok(pa_stage::shipped_dir(MAPPINGS_REL)?),
    }
}

/// A raw row back as the source record it was read as.
pub fn record_of_row(row: &RawRow) -> Result<SourceRecord, NormalizeError> {
    let source_type: SourceType = serde_json::from_value(Value::String(row.source_type.clone()))
        .map_err(|_| NormalizeError::UnknownSourceType(row.source_type.clone()))?;
    let fields: Value =
        serde_json::from_str(&row.fields_json).map_err(NormalizeError::FieldsNotJson)?;
    Ok(SourceRecord {
        source_type,
        provenance: Provenance {
            file: row.file.clone(),
            offset: row.file_offset.and_then(|o| u64::try_from(o).ok()),
            ordinal: u64::try_from(row.ordinal).unwrap_or(0),
            record_id: row.record_id.and_then(|o| u64::try_from(o).ok()),
        },
        time_ms: row.time_ms,
        host: row.host.clone(),
        fields,
        raw: row.raw.clone(),
    })
}

/// Counts of one normalization pass.
#[derive(Debug, Default)]
pub struct Tally {
    pub records: u64,
    pub mapped: u64,
    /// Records emitted as fallback events (Base Event: no specific class).
    pub fallback: u64,
    pub unmapped: u64,
    /// Failed events by reason code, with the first message.
    pub failed: BTreeMap<&'static str, (u64, String)>,
    /// Records of source types no profile covers.
    pub uncovered_source_types: BTreeMap<String, u64>,
    /// Input records the readers dropped before normalization (malformed, over a safety limit,
    /// refused by policy), by reason code, with the first diagnostic (naming the file).
    pub dropped: BTreeMap<String, (u64, String)>,
}

impl Tally {
    /// Add what a reader dropped (its counters once exhausted).
    fn note_dropped(&mut self, counters: &pa_sources::Counters) {
        for (code, n) in &counters.dropped {
            let first = counters
                .first_drop_detail
                .get(code)
                .cloned()
                .unwrap_or_default();
            let e = self.dropped.entry(code.clone()).or_insert((0, first));
            e.0 += n;
        }
    }

    fn note(&mut self, source_type: SourceType, n: &Normalized, covered: bool) {
        self.records += 1;
        match n {
            Normalized::Mapped(_) => self.mapped += 1,
            Normalized::Fallback { .. } => self.fallback += 1,
            Normalized::Unmapped { .. } => {
                self.unmapped += 1;
                if !covered {
                    *self
                        .uncovered_source_types
                        .entry(source_type.as_str().to_string())
                        .or_default() += 1;
                }
            }
            Normalized::Failed {
                reason_code,
                message,
            } => {
                let e = self
                    .failed
                    .entry(reason_code)
                    .or_insert_with(|| (0, message.clone()));
                e.0 += 1;
            }
        }
    }
}

/// Raw rows decoded and normalized together (in parallel) before their events are stored.
const NORMALIZE_BATCH: usize = 2048;

/// Raw rows with the name of the part file each is in (for messages).
type Batch = Vec<(RawRow, String)>;

/// One raw row's outcome from a worker: the record (its fields dropped unless the coverage
/// needs them), the outcome (its event, if any, replaced by [`take_event`]) and the event taken
/// apart for the store.
struct Done {
    rec: SourceRecord,
    n: Normalized,
    flat: Option<Result<FlatEvent, pa_store::events::PushError>>,
}

/// Move the event out of a mapped or fallback outcome, leaving an event of only its
/// `class_uid`: all that the tally and the coverage read of it.
fn take_event(n: &mut Normalized) -> Option<Value> {
    match n {
        Normalized::Mapped(ev) | Normalized::Fallback { event: ev, .. } => {
            let class = ev.get("class_uid").cloned().unwrap_or(Value::Null);
            Some(std::mem::replace(ev, json!({ "class_uid": class })))
        }
        _ => None,
    }
}

fn failure(code: NormalizationReason, msg: impl Into<String>) -> StageFailure {
    StageFailure::new(code, msg)
}

/// The raw dataset directories of a run (`raw_parquet/<source_id>/`), sorted by name.
fn raw_datasets(run_dir: &Path) -> Result<Vec<(String, PathBuf)>, StageFailure> {
    let root = run_dir.join("raw_parquet");
    let mut out = Vec::new();
    let rd = match std::fs::read_dir(&root) {
        Ok(rd) => rd,
        Err(e) => {
            return Err(StageFailure::new(
                pa_bundle::reason::CommonReason::InputMissing,
                format!(
                    "{}: the normalization stage reads raw_parquet/ (written by the telemetry stage): {e}",
                    root.display()
                ),
            ));
        }
    };
    for entry in rd {
        let entry = entry.map_err(|e| {
            StageFailure::new(
                pa_bundle::reason::CommonReason::StorageIoError,
                format!("{}: {e}", root.display()),
            )
        })?;
        if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            out.push((
                entry.file_name().to_string_lossy().into_owned(),
                entry.path(),
            ));
        }
    }
    out.sort();
    Ok(out)
}

/// The stage function (bundle mode): load the profiles, normalize every raw dataset into the
/// sorted store, write the snapshot and coverage documents.
pub fn run(ctx: &mut StageContext<'_>) -> Result<StageSuccess, StageFailure> {
    let profiles = load_profiles(ctx)?;
    let done = normalize_raw(ctx, &profiles)?;
    write_outputs(ctx, &profiles, done)
}

/// What the stage loads before it reads any record.
struct Profiles {
    normalizer: Normalizer,
    /// Source types some profile maps.
    covered: Vec<String>,
    /// Asset id → host name, for records that name no host.
    asset_host: BTreeMap<String, String>,
    /// `normalization.strict_mode`.
    strict: bool,
    /// `normalization.store`.
    layout: pa_store::StoreLayout,
}

/// What normalizing the raw datasets gave.
struct NormalizedRun {
    summary: pa_store::events::WriteSummary,
    coverage: Coverage,
    tally: Tally,
}

fn load_profiles(ctx: &mut StageContext<'_>) -> Result<Profiles, StageFailure> {
    let range = ctx.range()?;
    let strict = range.normalization.strict_mode;
    let dir = mappings_dir(
        range.normalization.mappings_dir.as_deref(),
        &ctx.range_base_dir(),
    )?;
    let normalizer = Normalizer::load(&dir).map_err(NormalizeError::from)?;
    let covered: Vec<String> = normalizer.source_types();
    // The host a record belongs to when it names none (audit logs without `node=`): the
    // range asset's hostname, else its asset id.
    let asset_host: BTreeMap<String, String> = range
        .lab
        .assets
        .iter()
        .map(|a| {
            (
                a.asset_id.clone(),
                a.hostname.clone().unwrap_or_else(|| a.asset_id.clone()),
            )
        })
        .collect();

    let layout = store_layout(&range.normalization.store)?;
    Ok(Profiles {
        normalizer,
        covered,
        asset_host,
        strict,
        layout,
    })
}

/// The store layout `normalization.store` asks for (ADR-0022).
fn store_layout(c: &pa_config::StoreLayout) -> Result<pa_store::StoreLayout, StageFailure> {
    let d = pa_store::StoreLayout::default();
    let size = |v: Option<u64>, default: usize| {
        v.map_or(default, |v| usize::try_from(v).unwrap_or(usize::MAX))
    };
    let keys = c
        .partition_keys()
        .into_iter()
        .map(|k| match k {
            pa_config::PartitionKey::Day => pa_store::PartitionKey::Day,
            pa_config::PartitionKey::ClassUid => pa_store::PartitionKey::ClassUid,
        })
        .collect();
    pa_store::StoreLayout::new(
        size(c.row_group_rows, d.row_group_rows),
        size(c.rows_per_part, d.rows_per_part),
        keys,
    )
    .map_err(|e| {
        StageFailure::new(
            pa_bundle::reason::CommonReason::ConfigSchemaInvalid,
            format!("normalization.store: {e}"),
        )
    })
}

/// Every row of every raw dataset → a `SourceRecord` → the profiles → the store writer
/// (which sorts and dedupes within its memory budget, spilling under the staging root).
fn normalize_raw(
    ctx: &mut StageContext<'_>,
    profiles: &Profiles,
) -> Result<NormalizedRun, StageFailure> {
    let Profiles {
        normalizer,
        covered,
        asset_host,
        strict,
        layout,
    } = profiles;
    let strict = *strict;
    let run_id = ctx.run.run_id().to_string();
    let scenario_id = ctx.manifest.scenario.scenario_id.clone();
    let schema_rel = "normalized/ocsf_events/_schema.json";
    let schema_path = ctx.staging.path_for(schema_rel)?;
    let store_dir = schema_path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| schema_path.clone());
    let spill_parent = ctx.run.staging_root();
    let storage = |e: pa_store::StoreError| {
        StageFailure::new(
            pa_bundle::reason::CommonReason::StorageIoError,
            e.to_string(),
        )
    };
    let mut writer = EventWriter::new(&store_dir, &spill_parent, SORT_BUDGET_BYTES)
        .map_err(storage)?
        .with_layout(layout.clone());
    let column_ids = writer.column_ids();
    let mut coverage = Coverage::new(normalizer);
    let mut tally = Tally::default();

    for (source_id, dir) in raw_datasets(ctx.run.path())? {
        let mut reader = RawReader::open(&dir)
            .map(RawReader::without_raw)
            .map_err(|e| {
                StageFailure::new(pa_bundle::reason::CommonReason::InputMissing, e.to_string())
            })?;
        // Rows are decoded and normalized in parallel batches; the results are consumed in
        // row order, so the store, the coverage and the tally are those of a sequential pass.
        // Pipelined: while the workers normalize batch n, this thread stores batch n-1 and
        // reads batch n+1.
        let read_batch = |reader: &mut RawReader| -> Result<Batch, StageFailure> {
            let mut batch = Vec::with_capacity(NORMALIZE_BATCH);
            while batch.len() < NORMALIZE_BATCH {
                let Some(row) = reader.next() else { break };
                let row = row.map_err(|e| {
                    failure(
                        NormalizationReason::NormalizedStoreIncompatible,
                        e.to_string(),
                    )
                })?;
                // The part file the row is in (for messages).
                let part = reader
                    .current_part()
                    .and_then(|p| p.file_name())
                    .map(|n| format!("/{}", n.to_string_lossy()))
                    .unwrap_or_default();
                batch.push((row, part));
            }
            Ok(batch)
        };
        // Each worker also takes its event apart for the store writer ([`FlatEvent::new`])
        // and drops what the sequential pass does not need.
        let work = |row: &RawRow| -> Result<Done, NormalizeError> {
            let mut rec = record_of_row(row)?;
            let raw_ref = json!({
                "kind": "dataset_row_v1",
                "path": format!("raw_parquet/{source_id}"),
                "row_locator": {"file": row.file, "ordinal": row.ordinal},
            });
            let ectx = EventContext {
                run_id: &run_id,
                scenario_id: &scenario_id,
                raw_ref: Some(raw_ref),
                normalizer_version: NORMALIZER_VERSION,
                collector_version: None,
                host: asset_host.get(&row.asset_id).map(String::as_str),
            };
            let mut n = normalizer.normalize(&rec, &ectx);
            let flat = take_event(&mut n).map(|ev| FlatEvent::new(ev, &column_ids));
            if flat.is_some() {
                // The coverage routes only failed records again.
                rec.fields = Value::Null;
            }
            Ok(Done { rec, n, flat })
        };
        let mut store = |batch: Batch,
                         results: Vec<Result<Done, NormalizeError>>|
         -> Result<(), StageFailure> {
            for ((row, part), res) in batch.iter().zip(results) {
                let at = || {
                    format!(
                        "raw_parquet/{source_id}{part}: the row of {}#{}",
                        row.file, row.ordinal
                    )
                };
                let Done { rec, n, flat } = res.map_err(|e| {
                    failure(
                        NormalizationReason::NormalizedStoreIncompatible,
                        format!("{}: {e}", at()),
                    )
                })?;
                let is_covered = covered.iter().any(|c| c == rec.source_type.as_str());
                tally.note(rec.source_type, &n, is_covered);
                coverage.add(&rec, &n);
                if let Some(flat) = flat {
                    flat.and_then(|f| writer.push_flat(f)).map_err(|e| {
                        failure(
                            NormalizationReason::MissingCoreField,
                            format!("{}: {e}", at()),
                        )
                    })?;
                } else if let Normalized::Failed {
                    reason_code,
                    message,
                } = &n
                    && strict
                    && *reason_code == "event_id_generation_failed"
                {
                    return Err(failure(
                        NormalizationReason::EventIdGenerationFailed,
                        format!("{}: {message}", at()),
                    ));
                }
            }
            Ok(())
        };
        let mut batch = read_batch(&mut reader)?;
        let mut done: Option<(Batch, Vec<Result<Done, NormalizeError>>)> = None;
        while !batch.is_empty() || done.is_some() {
            let (results, next) = rayon::join(
                || {
                    batch
                        .par_iter()
                        .map(|(row, _)| work(row))
                        .collect::<Vec<_>>()
                },
                || -> Result<_, StageFailure> {
                    if let Some((b, r)) = done.take() {
                        store(b, r)?;
                    }
                    read_batch(&mut reader)
                },
            );
            let next = match next {
                Ok(next) => next,
                Err(e) => {
                    // Report the first failure in row order: this batch's rows come first.
                    store(std::mem::take(&mut batch), results)?;
                    return Err(e);
                }
            };
            done = (!batch.is_empty()).then(|| (std::mem::replace(&mut batch, next), results));
        }
    }

    let summary = writer.finish().map_err(storage)?;
    Ok(NormalizedRun {
        summary,
        coverage,
        tally,
    })
}

/// Stage the store's `_schema.json`, the profile snapshot and the coverage document; the
/// outcome's warnings, summary and version pins.
fn write_outputs(
    ctx: &mut StageContext<'_>,
    profiles: &Profiles,
    done: NormalizedRun,
) -> Result<StageSuccess, StageFailure> {
    let NormalizedRun {
        summary,
        coverage,
        tally,
    } = done;
    let normalizer = &profiles.normalizer;
    let schema_rel = "normalized/ocsf_events/_schema.json";
    let store_dir = ctx.staging.path_for(schema_rel)?;
    let store_dir = store_dir.parent().unwrap_or(&store_dir).to_path_buf();
    for (path, _) in &summary.parts {
        // Every part's bundle path must be one the contract registry declares.
        let rel = path.strip_prefix(&store_dir).unwrap_or(path);
        ctx.staging.path_for(&format!(
            "normalized/ocsf_events/{}",
            rel.to_string_lossy().replace('\\', "/")
        ))?;
    }
    ctx.staging
        .write_json(schema_rel, &summary.schema_document)?;
    let snapshot = normalizer.snapshot_document();
    ctx.staging
        .write_json("normalized/mapping_profile_snapshot.json", &snapshot)?;
    let mut cov = coverage.document(&snapshot.mapping_profile_sha256);
    cov.store = Some(pa_ocsf::StoreCounts {
        rows: summary.rows,
        duplicates_dropped: summary.duplicates_dropped,
        conflicts: summary.conflicts,
    });
    ctx.staging
        .write_json("normalized/mapping_coverage.json", &cov)?;

    let mut warnings = Vec::new();
    for (code, (n, msg)) in &tally.failed {
        let rc = match *code {
            "timestamp_parse_failed" => NormalizationReason::TimestampParseFailed,
            "event_id_generation_failed" => NormalizationReason::EventIdGenerationFailed,
            _ => NormalizationReason::MissingCoreField,
        };
        warnings.push((
            rc.into(),
            format!("{n} event(s) not normalized ({code}), first: {msg}"),
        ));
    }
    if !tally.uncovered_source_types.is_empty() {
        warnings.push((
            NormalizationReason::UnmappedSourceType.into(),
            format!(
                "no mapping profile for source type(s) {:?}: their records are kept raw only",
                tally.uncovered_source_types
            ),
        ));
    }
    let mut versions = BTreeMap::new();
    versions.insert("normalizer_version".into(), json!(NORMALIZER_VERSION));
    versions.insert(
        "mapping_profile_sha256".into(),
        json!(snapshot.mapping_profile_sha256),
    );
    Ok(StageSuccess {
        summary: format!(
            "{} event(s) normalized from {} record(s) ({} as fallback Base Events), {} unmapped, {} failed",
            summary.rows,
            tally.records,
            tally.fallback,
            tally.unmapped,
            tally.failed.values().map(|v| v.0).sum::<u64>()
        ),
        warnings,
        versions,
        ..Default::default()
    })
}
