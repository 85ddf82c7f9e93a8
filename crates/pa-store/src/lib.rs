//! The Parquet datasets of a run bundle.
//!
//! * [`raw`]: `raw_parquet/<source_id>/part-NNNN.parquet`, one row per raw telemetry record as
//!   read (fixed columns: time, provenance, the raw payload and its digest, the decoded record).
//! * [`events`]: `normalized/ocsf_events/part-NNNN.parquet`, one row per OCSF event, nested
//!   objects flattened to dotted-path columns (arrays as JSON text), rows sorted by
//!   (`time`, `metadata.uid`) through a bounded-memory external sort.
//! * [`schema_doc`]: the `_schema.json` document that describes a dataset's columns.
//!
//! This crate knows Parquet and the column layouts; it knows nothing of stages, OCSF classes
//! or Sigma. Writers write into a directory the caller chooses (a stage's staging directory);
//! readers read a published dataset directory.

pub mod events;
mod guard;
pub mod layout;
pub mod raw;
pub mod schema_doc;
pub use layout::{PartitionKey, StoreLayout};
pub use schema_doc::{ColumnSchema, DatasetSchema};

use std::path::{Path, PathBuf};

/// Rows per Parquet row group.
pub const ROW_GROUP_ROWS: usize = 65_536;

/// An error of a dataset writer or reader. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// I/O on a dataset file.
    #[error("{}: I/O error: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Parquet or Arrow failed (encoding, decoding, a truncated or corrupt file).
    #[error("{}: {detail}", path.display())]
    Parquet {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        detail: String,
    },
    /// The file is a Parquet file but not of this dataset's layout.
    #[error("{}: not a {dataset} dataset file: {detail}", path.display())]
    Layout {
        /// The file.
        path: PathBuf,
        /// The dataset expected.
        dataset: &'static str,
        /// What is wrong.
        detail: String,
    },
}

impl StoreError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        StoreError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
    pub(crate) fn parquet(path: &Path, e: impl std::fmt::Display) -> Self {
        StoreError::Parquet {
            path: path.to_path_buf(),
            detail: e.to_string(),
        }
    }
}

/// `part-NNNN.parquet`.
pub fn part_name(n: usize) -> String {
    format!("part-{n:04}.parquet")
}

/// The part files of a dataset directory, sorted by name. A missing directory is an error.
pub fn part_files(dir: &Path) -> Result<Vec<PathBuf>, StoreError> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| StoreError::io(dir, e))? {
        let entry = entry.map_err(|e| StoreError::io(dir, e))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("part-") && name.ends_with(".parquet") {
            out.push(entry.path());
        }
    }
    out.sort();
    Ok(out)
}

/// The Parquet writer properties of every dataset: Snappy pages, row groups of at most
/// `row_group_rows` rows, page-level statistics (min/max and null counts per column chunk and
/// page, with the column and offset indexes) so engines prune row groups and pages, and the
/// sort key when the rows are sorted. Public for tools that write parts of the same layout
/// (`store_replicate` of the scale benchmark).
pub fn writer_properties(
    row_group_rows: usize,
    sorting: Option<Vec<parquet::file::metadata::SortingColumn>>,
) -> parquet::file::properties::WriterProperties {
    use parquet::basic::Compression;
    use parquet::file::properties::EnabledStatistics;
    parquet::file::properties::WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(row_group_rows))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_sorting_columns(sorting)
        .set_created_by(format!(
            "purple-axiom pa-store {}",
            env!("CARGO_PKG_VERSION")
        ))
        .build()
}

/// Close a part being written (its path, writer and rows) and fsync it: its path and rows.
pub(crate) fn close_part(
    (path, w, n): (PathBuf, parquet::arrow::ArrowWriter<std::fs::File>, usize),
) -> Result<(PathBuf, usize), StoreError> {
    w.close().map_err(|e| StoreError::parquet(&path, e))?;
    sync_file(&path)?;
    Ok((path, n))
}

/// fsync a finished file.
pub(crate) fn sync_file(path: &Path) -> Result<(), StoreError> {
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| StoreError::io(path, e))
}
