//! `normalized/mapping_coverage.json`: per source type and class, how many records became
//! events, and which event types have no route.

use std::collections::BTreeMap;

use pa_sources::SourceRecord;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::normalize::{Normalized, Normalizer};

#[derive(Debug, Clone, Default)]
struct ClassCounts {
    total: u64,
    mapped: u64,
}

#[derive(Debug, Clone, Default)]
struct SourceCounts {
    total: u64,
    mapped: u64,
    unmapped: u64,
    fallback: u64,
    failed: u64,
    classes: BTreeMap<u32, ClassCounts>,
    unknown: BTreeMap<String, u64>,
    fallback_types: BTreeMap<String, u64>,
    failures: BTreeMap<&'static str, u64>,
}

/// Accumulates normalization outcomes into the coverage document.
#[derive(Debug, Clone)]
pub struct Coverage {
    normalizer: Normalizer,
    sources: BTreeMap<String, SourceCounts>,
}

/// The 12 Tier-1 fields of SPEC §6 (`tier1_field_coverage_pct = Σ present / (|E| · 12)`).
/// `device.ip` counts as present when `device.ip` or a non-empty `device.ips` is.
pub const TIER1_FIELDS: [&str; 12] = [
    "category_uid",
    "type_uid",
    "severity_id",
    "device.hostname",
    "device.uid",
    "device.ip",
    "actor.user.name",
    "actor.user.uid",
    "actor.process.name",
    "actor.process.pid",
    "message",
    "observables",
];

/// How many of [`TIER1_FIELDS`] an OCSF event carries (0..=12); `observables` must be a
/// non-empty array, and null values do not count.
pub fn tier1_fields_present(event: &Value) -> usize {
    let at = |p: &str| {
        p.split('.')
            .try_fold(event, |v, s| v.get(s))
            .filter(|v| !v.is_null())
    };
    TIER1_FIELDS
        .iter()
        .filter(|f| match **f {
            "device.ip" => {
                at("device.ip").is_some()
                    || at("device.ips")
                        .and_then(Value::as_array)
                        .is_some_and(|a| !a.is_empty())
            }
            "observables" => at("observables")
                .and_then(Value::as_array)
                .is_some_and(|a| !a.is_empty()),
            f => at(f).is_some(),
        })
        .count()
}

/// `mapped / total` as a fraction with 4 decimals (0 when there is nothing to count).
pub fn fraction_4dp(mapped: u64, total: u64) -> f64 {
    if total == 0 {
        return 0.0;
    }
    ((mapped as f64 / total as f64) * 10_000.0).round() / 10_000.0
}

impl Coverage {
    /// An empty accumulator for records normalized by `normalizer` (used to find the class a
    /// failed record was routed to).
    pub fn new(normalizer: &Normalizer) -> Coverage {
        Coverage {
            normalizer: normalizer.clone(),
            sources: BTreeMap::new(),
        }
    }

    /// Count one record and its outcome.
    pub fn add(&mut self, rec: &SourceRecord, outcome: &Normalized) {
        let s = self
            .sources
            .entry(rec.source_type.as_str().to_string())
            .or_default();
        s.total += 1;
        match outcome {
            Normalized::Mapped(ev) | Normalized::Fallback { event: ev, .. } => {
                if let Normalized::Fallback { event_type, .. } = outcome {
                    s.fallback += 1;
                    *s.fallback_types.entry(event_type.clone()).or_default() += 1;
                } else {
                    s.mapped += 1;
                }
                // per class: every event emitted (fallback events are class 0)
                let uid = ev
                    .get("class_uid")
                    .and_then(Value::as_u64)
                    .and_then(|u| u32::try_from(u).ok())
                    .unwrap_or(0);
                let c = s.classes.entry(uid).or_default();
                c.total += 1;
                c.mapped += 1;
            }
            Normalized::Unmapped { event_type } => {
                s.unmapped += 1;
                *s.unknown.entry(event_type.clone()).or_default() += 1;
            }
            Normalized::Failed { reason_code, .. } => {
                s.failed += 1;
                *s.failures.entry(reason_code).or_default() += 1;
                if let Some(class) = self.normalizer.route(rec).and_then(|r| {
                    r.class
                        .or_else(|| r.profile.default_class.map(|d| &r.profile.classes[d]))
                }) {
                    s.classes.entry(class.class_uid).or_default().total += 1;
                }
            }
        }
    }

    /// Records counted so far, mapped so far.
    pub fn totals(&self) -> (u64, u64) {
        self.sources
            .values()
            .fold((0, 0), |(t, m), s| (t + s.total, m + s.mapped))
    }

    /// The coverage document (deterministic: every list sorted).
    pub fn document(&self, mapping_profile_sha256: &str) -> MappingCoverage {
        let mut classes: BTreeMap<u32, ClassCounts> = BTreeMap::new();
        let mut unknown = Vec::new();
        let mut fallback_types = Vec::new();
        let mut sources = Vec::new();
        let (mut total, mut mapped, mut unmapped, mut fallback, mut failed) = (0, 0, 0, 0, 0);
        let listed = |types: &BTreeMap<String, u64>| -> Vec<UnknownEventType> {
            types
                .iter()
                .map(|(et, n)| UnknownEventType {
                    source_type: None,
                    event_type: et.clone(),
                    count: *n,
                })
                .collect()
        };
        for (st, s) in &self.sources {
            total += s.total;
            mapped += s.mapped;
            unmapped += s.unmapped;
            fallback += s.fallback;
            failed += s.failed;
            for (et, n) in &s.fallback_types {
                fallback_types.push(UnknownEventType {
                    source_type: Some(st.clone()),
                    event_type: et.clone(),
                    count: *n,
                });
            }
            for (uid, c) in &s.classes {
                let e = classes.entry(*uid).or_default();
                e.total += c.total;
                e.mapped += c.mapped;
            }
            for (et, n) in &s.unknown {
                unknown.push(UnknownEventType {
                    source_type: Some(st.clone()),
                    event_type: et.clone(),
                    count: *n,
                });
            }
            sources.push(SourceTypeCoverage {
                source_type: st.clone(),
                events_total: s.total,
                events_mapped: s.mapped,
                events_unmapped: s.unmapped,
                events_fallback: s.fallback,
                events_failed: s.failed,
                mapped_pct: fraction_4dp(s.mapped, s.total),
                classes: class_rows(&s.classes),
                unknown_event_types: listed(&s.unknown),
                fallback_event_types: listed(&s.fallback_types),
                failures: s
                    .failures
                    .iter()
                    .map(|(rc, n)| FailureCount {
                        reason_code: (*rc).to_owned(),
                        count: *n,
                    })
                    .collect(),
            });
        }
        MappingCoverage {
            mapping_profile_sha256: mapping_profile_sha256.to_owned(),
            events_total: total,
            events_mapped: mapped,
            events_unmapped: unmapped,
            events_fallback: fallback,
            events_failed: failed,
            mapped_pct: fraction_4dp(mapped, total),
            classes: class_rows(&classes),
            unknown_event_types: unknown,
            fallback_event_types: fallback_types,
            source_types: sources,
            store: None,
        }
    }
}

fn class_rows(classes: &BTreeMap<u32, ClassCounts>) -> Vec<ClassCoverage> {
    classes
        .iter()
        .map(|(uid, c)| ClassCoverage {
            class_uid: *uid,
            events_total: c.total,
            events_mapped: c.mapped,
            mapped_pct: fraction_4dp(c.mapped, c.total),
        })
        .collect()
}

/// `normalized/mapping_coverage.json`: how many records became events, per source type and
/// class, and which event types have no route.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingCoverage {
    /// The snapshot digest of the profiles that produced these counts.
    pub mapping_profile_sha256: String,
    /// Records seen.
    pub events_total: u64,
    /// Records that became events.
    pub events_mapped: u64,
    /// Records of an event type no profile routes (not emitted).
    pub events_unmapped: u64,
    /// Records no specific route matched, emitted by their profile's default class as Base
    /// Events (in the store, reachable by detection; not in `events_mapped`).
    #[serde(default)]
    pub events_fallback: u64,
    /// Records that failed to normalize.
    pub events_failed: u64,
    /// `events_mapped / events_total`, 4 decimals.
    pub mapped_pct: f64,
    /// Per OCSF class, ascending `class_uid`.
    pub classes: Vec<ClassCoverage>,
    /// Every unrouted (source type, event type) with its count.
    pub unknown_event_types: Vec<UnknownEventType>,
    /// Every (source type, event type) emitted as a fallback event, with its count.
    #[serde(default)]
    pub fallback_event_types: Vec<UnknownEventType>,
    /// Per source type, sorted.
    pub source_types: Vec<SourceTypeCoverage>,
    /// The normalized store's counts (bundle mode only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<StoreCounts>,
}

/// Per-class counts of a [`MappingCoverage`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassCoverage {
    /// The OCSF class.
    pub class_uid: u32,
    /// Records routed to the class.
    pub events_total: u64,
    /// Of those, the ones that became events.
    pub events_mapped: u64,
    /// `events_mapped / events_total`, 4 decimals.
    pub mapped_pct: f64,
}

/// An event type no profile routes. `source_type` is given in the top-level list and left out
/// inside a source type's own list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnknownEventType {
    /// The source type (top-level list only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_type: Option<String>,
    /// The event type (e.g. `Microsoft-Windows-Security-Auditing:4662`).
    pub event_type: String,
    /// Records of it.
    pub count: u64,
}

/// Per-source-type counts of a [`MappingCoverage`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceTypeCoverage {
    /// The source type.
    pub source_type: String,
    /// Records seen.
    pub events_total: u64,
    /// Records that became events.
    pub events_mapped: u64,
    /// Records of an unrouted event type.
    pub events_unmapped: u64,
    /// Records emitted as fallback events.
    #[serde(default)]
    pub events_fallback: u64,
    /// Records that failed.
    pub events_failed: u64,
    /// `events_mapped / events_total`, 4 decimals.
    pub mapped_pct: f64,
    /// Per class.
    pub classes: Vec<ClassCoverage>,
    /// Unrouted event types of this source type.
    pub unknown_event_types: Vec<UnknownEventType>,
    /// Event types of this source type emitted as fallback events.
    #[serde(default)]
    pub fallback_event_types: Vec<UnknownEventType>,
    /// Failures by reason code.
    pub failures: Vec<FailureCount>,
}

/// A failure count by reason code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailureCount {
    /// The reason code.
    pub reason_code: String,
    /// Records that failed with it.
    pub count: u64,
}

/// The normalized store's counts, added by the normalization stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreCounts {
    /// Rows written.
    pub rows: u64,
    /// Duplicate events dropped (same identity, same content).
    pub duplicates_dropped: u64,
    /// Same identity with different content.
    pub conflicts: u64,
}

#[cfg(test)]
mod tests {
    use super::{fraction_4dp, tier1_fields_present};
    use serde_json::json;

    #[test]
    fn tier1_presence() {
        assert_eq!(tier1_fields_present(&json!({})), 0);
        let ev = json!({"category_uid": 1, "type_uid": 100701, "severity_id": 1,
            "device": {"hostname": "h", "ips": ["10.0.0.1"]}, "actor": {"user": {"name": "u", "uid": null}},
            "observables": [], "message": "m"});
        assert_eq!(tier1_fields_present(&ev), 7);
    }

    #[test]
    fn fractions() {
        assert_eq!(fraction_4dp(0, 0), 0.0);
        assert_eq!(fraction_4dp(1, 3), 0.3333);
        assert_eq!(fraction_4dp(2, 3), 0.6667);
        assert_eq!(fraction_4dp(5, 5), 1.0);
    }
}
