//! The physical layout of the normalized store, for the engines that read it (the native
//! reader, DuckDB, Spark): part and row-group sizes, the sort key, the statistics written, and
//! optional hive-style partitioning by `class_uid` (and by UTC day). Recorded in the store's
//! `_schema.json` (`layout`), so that every reader finds the parts the same way.
//!
//! Partitioned layout: `class_uid=<n>/part-NNNN.parquet`, or with days
//! `day=<YYYY-MM-DD>/class_uid=<n>/part-NNNN.parquet` (the day of the event's `time`, UTC).
//! A partition's parts hold only the columns its events use, without the partition columns
//! (their values are in the path, as hive-style readers expect); the rows of each partition
//! are sorted by (`time`, `metadata.uid`).

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

use crate::StoreError;

/// Rows per Parquet row group, unless configured.
pub const DEFAULT_ROW_GROUP_ROWS: usize = crate::ROW_GROUP_ROWS;
/// Rows per part file, unless configured.
pub const DEFAULT_ROWS_PER_PART: usize = 1_000_000;
/// The fewest rows per row group accepted (smaller groups defeat the format).
pub const MIN_ROW_GROUP_ROWS: usize = 1_024;

/// A hive partition key of the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartitionKey {
    /// `day=YYYY-MM-DD`: the UTC day of `time`.
    Day,
    /// `class_uid=<n>`.
    ClassUid,
}

impl PartitionKey {
    /// The key's name in paths and in `_schema.json`.
    pub fn name(self) -> &'static str {
        match self {
            PartitionKey::Day => "day",
            PartitionKey::ClassUid => "class_uid",
        }
    }
}

/// How the store is laid out (`_schema.json` `layout`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreLayout {
    /// The rows of each partition (of the store, when unpartitioned) are sorted by these
    /// columns.
    #[serde(default = "sort_key")]
    pub sort_key: Vec<String>,
    /// Most rows per row group.
    pub row_group_rows: usize,
    /// Most rows per part file.
    pub rows_per_part: usize,
    /// Hive partition keys, outermost first: none, `[class_uid]` or `[day, class_uid]`.
    #[serde(default)]
    pub partition_by: Vec<PartitionKey>,
    /// Column statistics written: `page` (min/max and null counts per column chunk and per
    /// page, with the page index) so engines skip row groups and pages.
    #[serde(default = "page")]
    pub statistics: String,
    /// Page compression.
    #[serde(default = "snappy")]
    pub compression: String,
}

fn sort_key() -> Vec<String> {
    vec!["time".into(), "metadata.uid".into()]
}
fn page() -> String {
    "page".into()
}
fn snappy() -> String {
    "snappy".into()
}

impl Default for StoreLayout {
    fn default() -> Self {
        StoreLayout {
            sort_key: sort_key(),
            row_group_rows: DEFAULT_ROW_GROUP_ROWS,
            rows_per_part: DEFAULT_ROWS_PER_PART,
            partition_by: Vec::new(),
            statistics: page(),
            compression: snappy(),
        }
    }
}

/// A layout that cannot be written or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LayoutError {
    /// Row groups below [`MIN_ROW_GROUP_ROWS`] rows, or parts smaller than a row group.
    #[error(
        "row_group_rows must be at least {MIN_ROW_GROUP_ROWS} and at most rows_per_part (got {row_group_rows} and {rows_per_part})"
    )]
    Sizes {
        /// Asked rows per row group.
        row_group_rows: usize,
        /// Asked rows per part.
        rows_per_part: usize,
    },
    /// A partitioning other than none, `[class_uid]`, `[day, class_uid]`.
    #[error("partition_by must be [], [class_uid] or [day, class_uid] (got {0})")]
    Partitioning(String),
}

impl StoreLayout {
    /// A layout with the given sizes and partition keys (outermost first), checked.
    pub fn new(
        row_group_rows: usize,
        rows_per_part: usize,
        partition_by: Vec<PartitionKey>,
    ) -> Result<StoreLayout, LayoutError> {
        let l = StoreLayout {
            row_group_rows,
            rows_per_part,
            partition_by,
            ..StoreLayout::default()
        };
        l.check()?;
        Ok(l)
    }

    /// Whether the sizes and partition keys are ones this crate writes and reads.
    pub fn check(&self) -> Result<(), LayoutError> {
        if self.row_group_rows < MIN_ROW_GROUP_ROWS || self.row_group_rows > self.rows_per_part {
            return Err(LayoutError::Sizes {
                row_group_rows: self.row_group_rows,
                rows_per_part: self.rows_per_part,
            });
        }
        self.check_partitioning()
    }

    /// Whether the partition keys are ones this crate reads (readers take any sizes).
    pub fn check_partitioning(&self) -> Result<(), LayoutError> {
        use PartitionKey::*;
        match self.partition_by.as_slice() {
            [] | [ClassUid] | [Day, ClassUid] => Ok(()),
            other => Err(LayoutError::Partitioning(format!(
                "[{}]",
                other
                    .iter()
                    .map(|k| k.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    /// Whether parts are under partition directories.
    pub fn partitioned(&self) -> bool {
        !self.partition_by.is_empty()
    }

    /// The partition directory (relative, `/`-separated, empty when unpartitioned) of an
    /// event of class `class_uid` at `time_ms`.
    pub fn partition_dir(&self, class_uid: i64, time_ms: i64) -> String {
        self.partition_by
            .iter()
            .map(|k| match k {
                PartitionKey::Day => format!("day={}", utc_day(time_ms)),
                PartitionKey::ClassUid => format!("class_uid={class_uid}"),
            })
            .collect::<Vec<_>>()
            .join("/")
    }

    /// A glob, relative to the store directory, that matches every part.
    pub fn parts_glob(&self) -> String {
        let mut g: Vec<String> = self
            .partition_by
            .iter()
            .map(|k| format!("{}=*", k.name()))
            .collect();
        g.push("part-*.parquet".into());
        g.join("/")
    }
}

/// `YYYY-MM-DD`: the UTC day of a time in ms since the epoch (proleptic Gregorian).
pub fn utc_day(time_ms: i64) -> String {
    let days = time_ms.div_euclid(86_400_000);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// One partition directory found in a store: its values and its parts in name order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    /// `day=` value, when partitioned by day.
    pub day: Option<String>,
    /// `class_uid=` value, when partitioned by class.
    pub class_uid: Option<i32>,
    /// Its `part-*.parquet` files, sorted by name.
    pub parts: Vec<PathBuf>,
}

/// The partitions of the store in `dir` laid out as `layout` says, sorted by (day, class):
/// one partition without values when unpartitioned. A directory whose name is not
/// `<key>=<value>` of the expected key, or a value that does not parse, is an error naming it.
pub fn partitions(dir: &Path, layout: &StoreLayout) -> Result<Vec<Partition>, StoreError> {
    let mut out = Vec::new();
    walk(
        dir,
        &layout.partition_by,
        Partition {
            day: None,
            class_uid: None,
            parts: Vec::new(),
        },
        &mut out,
    )?;
    out.sort_by(|a, b| (&a.day, a.class_uid).cmp(&(&b.day, b.class_uid)));
    Ok(out)
}

fn walk(
    dir: &Path,
    keys: &[PartitionKey],
    at: Partition,
    out: &mut Vec<Partition>,
) -> Result<(), StoreError> {
    let Some((key, rest)) = keys.split_first() else {
        let parts = crate::part_files(dir)?;
        out.push(Partition { parts, ..at });
        return Ok(());
    };
    let bad = |p: &Path, detail: String| StoreError::Layout {
        path: p.to_path_buf(),
        dataset: "ocsf_events",
        detail,
    };
    for entry in std::fs::read_dir(dir).map_err(|e| StoreError::io(dir, e))? {
        let entry = entry.map_err(|e| StoreError::io(dir, e))?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if !entry
            .file_type()
            .map_err(|e| StoreError::io(&path, e))?
            .is_dir()
        {
            if name.ends_with(".parquet") {
                return Err(bad(
                    &path,
                    format!(
                        "a part outside the `{}=` partition directories the layout declares",
                        key.name()
                    ),
                ));
            }
            continue;
        }
        let Some(value) = name.strip_prefix(&format!("{}=", key.name())) else {
            return Err(bad(
                &path,
                format!("not a `{}=<value>` partition directory", key.name()),
            ));
        };
        let mut next = at.clone();
        match key {
            PartitionKey::Day => {
                let ok = value.len() == 10
                    && value.bytes().enumerate().all(|(i, b)| match i {
                        4 | 7 => b == b'-',
                        _ => b.is_ascii_digit(),
                    });
                if !ok {
                    return Err(bad(&path, format!("day `{value}` is not YYYY-MM-DD")));
                }
                next.day = Some(value.to_owned());
            }
            PartitionKey::ClassUid => {
                next.class_uid = Some(value.parse().map_err(|_| {
                    bad(
                        &path,
                        format!("class_uid `{value}` is not a 32-bit integer"),
                    )
                })?);
            }
        }
        walk(&path, rest, next, out)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_days_across_eras_leap_years_and_before_the_epoch() {
        assert_eq!(utc_day(0), "1970-01-01");
        assert_eq!(utc_day(-1), "1969-12-31");
        assert_eq!(utc_day(951_782_400_000), "2000-02-29");
        assert_eq!(utc_day(1_798_761_599_999), "2026-12-31");
        assert_eq!(utc_day(1_798_761_600_000), "2027-01-01");
        assert_eq!(utc_day(4_107_456_000_000), "2100-02-28");
        assert_eq!(utc_day(4_107_542_400_000), "2100-03-01");
    }

    #[test]
    fn layouts_are_checked_and_name_their_directories() {
        use PartitionKey::*;
        assert!(StoreLayout::new(512, 1000, vec![]).is_err());
        assert!(StoreLayout::new(4096, 2048, vec![]).is_err());
        assert!(StoreLayout::new(4096, 8192, vec![ClassUid, Day]).is_err());
        let l = StoreLayout::new(4096, 8192, vec![Day, ClassUid]).unwrap();
        assert_eq!(l.partition_dir(1007, 0), "day=1970-01-01/class_uid=1007");
        assert_eq!(l.parts_glob(), "day=*/class_uid=*/part-*.parquet");
        assert_eq!(StoreLayout::default().parts_glob(), "part-*.parquet");
        assert_eq!(StoreLayout::default().partition_dir(1, 2), "");
    }

    #[test]
    fn partitions_are_found_sorted_and_strays_are_named() {
        let t = tempfile::tempdir().unwrap();
        let l = StoreLayout::new(4096, 8192, vec![PartitionKey::ClassUid]).unwrap();
        for c in ["class_uid=1007", "class_uid=1001"] {
            std::fs::create_dir_all(t.path().join(c)).unwrap();
            std::fs::write(t.path().join(c).join("part-0000.parquet"), "").unwrap();
        }
        let p = partitions(t.path(), &l).unwrap();
        assert_eq!(
            p.iter().map(|p| p.class_uid).collect::<Vec<_>>(),
            [Some(1001), Some(1007)]
        );
        assert_eq!(p[0].parts.len(), 1);
        std::fs::create_dir_all(t.path().join("class_uid=x")).unwrap();
        let e = partitions(t.path(), &l).unwrap_err().to_string();
        assert!(
            e.contains("class_uid=x") && e.contains("not a 32-bit"),
            "{e}"
        );
        std::fs::remove_dir(t.path().join("class_uid=x")).unwrap();
        std::fs::write(t.path().join("part-0000.parquet"), "").unwrap();
        let e = partitions(t.path(), &l).unwrap_err().to_string();
        assert!(e.contains("outside"), "{e}");
    }
}
