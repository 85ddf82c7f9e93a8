//! `normalization.store:` the layout of the normalized store (ADR-0022).

use crate::{ConfigError, err};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// `normalization.store:` the physical layout of `normalized/ocsf_events/` for the engines
/// that read it (ADR-0022). Unset keys take the defaults of the store writer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreLayout {
    /// Hive-style partition keys, in any order: `[]` (default), `[class_uid]`, or
    /// `[class_uid, day]` (written `day=<YYYY-MM-DD>/class_uid=<n>/`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub partition_by: Vec<PartitionKey>,
    /// Most rows per Parquet row group (default 65536, at least 1024).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row_group_rows: Option<u64>,
    /// Most rows per part file (default 1000000, at least `row_group_rows`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows_per_part: Option<u64>,
}

impl StoreLayout {
    pub(crate) fn is_default(&self) -> bool {
        *self == StoreLayout::default()
    }

    /// The partition keys, outermost first (`day` before `class_uid`), each once.
    pub fn partition_keys(&self) -> Vec<PartitionKey> {
        let mut k = self.partition_by.clone();
        k.sort_by_key(|k| match k {
            PartitionKey::Day => 0,
            PartitionKey::ClassUid => 1,
        });
        k.dedup();
        k
    }

    pub(crate) fn check(&self, file: &Path) -> Result<(), ConfigError> {
        let keys = self.partition_keys();
        if keys.len() != self.partition_by.len() {
            return Err(err(
                file,
                "normalization.store.partition_by: a key is listed twice",
            ));
        }
        if keys == [PartitionKey::Day] {
            return Err(err(
                file,
                "normalization.store.partition_by: [day] needs class_uid too ([class_uid, day])",
            ));
        }
        let rg = self.row_group_rows.unwrap_or(65_536);
        let part = self.rows_per_part.unwrap_or(1_000_000);
        if rg < 1_024 || rg > part {
            return Err(err(
                file,
                format!(
                    "normalization.store: row_group_rows ({rg}) must be at least 1024 and at most rows_per_part ({part})"
                ),
            ));
        }
        Ok(())
    }
}

/// A partition key of `normalization.store.partition_by`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartitionKey {
    /// The event's OCSF class.
    ClassUid,
    /// The UTC day of the event's `time`.
    Day,
}

#[cfg(test)]
mod tests {
    use super::PartitionKey;
    use crate::RangeConfig;
    use std::path::Path;

    const RANGE: &str = "range_id: lab-1\nlab:\n  provider: replay\n  assets:\n    - asset_id: win-01\n      os: windows\n      role: endpoint\nreplay:\n  ground_truth: gt.jsonl\n";

    fn parse(store: &str) -> Result<RangeConfig, String> {
        RangeConfig::parse(
            &format!("{RANGE}normalization:\n  store: {store}\n"),
            Path::new("r.yaml"),
        )
        .map_err(|e| e.to_string())
    }

    #[test]
    fn store_layouts_are_decoded_ordered_and_checked() {
        let r = parse("{partition_by: [class_uid, day], row_group_rows: 4096}").unwrap();
        let s = &r.normalization.store;
        assert_eq!(
            s.partition_keys(),
            [PartitionKey::Day, PartitionKey::ClassUid]
        );
        assert_eq!(s.row_group_rows, Some(4096));
        let default = RangeConfig::parse(RANGE, Path::new("r.yaml")).unwrap();
        assert!(default.normalization.store.partition_by.is_empty());
        for (bad, says) in [
            ("{partition_by: [day]}", "needs class_uid"),
            ("{partition_by: [class_uid, class_uid]}", "twice"),
            ("{partition_by: [host]}", "host"),
            ("{row_group_rows: 100}", "at least 1024"),
            (
                "{row_group_rows: 4096, rows_per_part: 2048}",
                "at most rows_per_part",
            ),
            ("{rows: 1}", "rows"),
        ] {
            let e = parse(bad).unwrap_err();
            assert!(e.starts_with("r.yaml") && e.contains(says), "{bad}: {e}");
        }
    }
}
