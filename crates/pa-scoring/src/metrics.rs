//! Run metrics (SPEC §9) and the threshold gates.

use crate::load::{EventFacts, TIER1_FIELDS};
use crate::model::*;
use std::collections::BTreeMap;

/// Nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    Some(sorted[rank.min(sorted.len()) - 1])
}

/// The run's metrics.
pub fn metrics(
    actions: &[ActionScore],
    techniques: &[TechniqueScore],
    events: &[EventFacts],
    detections_total: u64,
    detections_attributed: u64,
    false_positives: u64,
) -> Metrics {
    let executed: Vec<&ActionScore> = actions.iter().filter(|a| a.executed).collect();
    let n_exec = executed.len() as u64;
    let t_exec = techniques.iter().filter(|t| t.executed > 0).count() as u64;
    let t_det = techniques.iter().filter(|t| t.detected > 0).count() as u64;
    let mut lat: Vec<f64> = executed.iter().filter_map(|a| a.latency_seconds).collect();
    lat.sort_by(f64::total_cmp);
    let mut gap_counts: PerGap<u64> = GAP_CATEGORIES.iter().map(|c| (c.to_string(), 0)).collect();
    for a in &executed {
        if let Some(g) = &a.gap {
            *gap_counts.entry(g.category.clone()).or_default() += 1;
        }
    }
    let gap_rates: PerGap<Option<f64>> = gap_counts
        .iter()
        .map(|(c, n)| (c.clone(), rate(*n, n_exec)))
        .collect();
    let full = events
        .iter()
        .filter(|e| e.tier1_present == TIER1_FIELDS.len())
        .count() as u64;
    Metrics {
        actions_total: actions.len() as u64,
        actions_executed: n_exec,
        actions_detected: executed.iter().filter(|a| a.detected).count() as u64,
        techniques_executed: t_exec,
        techniques_detected: t_det,
        technique_coverage_rate: rate(t_det, t_exec),
        detection_latency_p50_seconds: percentile(&lat, 50.0),
        detection_latency_p90_seconds: percentile(&lat, 90.0),
        detection_latency_p95_seconds: percentile(&lat, 95.0),
        detection_latency_max_seconds: lat.last().copied(),
        detections_total,
        detections_attributed,
        false_positive_detection_count: false_positives,
        false_positive_detection_rate: rate(false_positives, detections_total),
        tier1_field_coverage_rate: rate(full, events.len() as u64),
        events_total: events.len() as u64,
        gap_counts,
        gap_rates,
    }
}

fn gate(id: &str, threshold: f64, actual: Option<f64>, at_least: bool) -> Gate {
    Gate {
        gate_id: id.to_string(),
        threshold,
        actual,
        pass: actual.map(|a| {
            if at_least {
                a >= threshold
            } else {
                a <= threshold
            }
        }),
        indeterminate_reason: actual.is_none().then(|| "not_applicable".to_string()),
    }
}

/// The threshold gates, sorted by id.
pub fn gates(m: &Metrics, t: &ThresholdValues) -> Vec<Gate> {
    let r = |c: &str| m.gap_rates.get(c).copied().flatten();
    let mut g = vec![
        gate(
            "min_technique_coverage",
            t.min_technique_coverage,
            m.technique_coverage_rate,
            true,
        ),
        gate(
            "max_allowed_latency_seconds",
            t.max_allowed_latency_seconds,
            m.detection_latency_max_seconds,
            false,
        ),
        gate(
            "min_tier1_field_coverage",
            t.min_tier1_field_coverage,
            m.tier1_field_coverage_rate,
            true,
        ),
        gate(
            "max_missing_telemetry_rate",
            t.max_missing_telemetry_rate,
            r("missing_telemetry"),
            false,
        ),
        gate(
            "max_unmapped_event_type_rate",
            t.max_unmapped_event_type_rate,
            r("unmapped_event_type"),
            false,
        ),
        gate(
            "max_bridge_gap_mapping_rate",
            t.max_bridge_gap_mapping_rate,
            r("bridge_gap_mapping"),
            false,
        ),
        gate(
            "max_bridge_gap_feature_rate",
            t.max_bridge_gap_feature_rate,
            r("bridge_gap_feature"),
            false,
        ),
        gate(
            "max_bridge_gap_other_rate",
            t.max_bridge_gap_other_rate,
            r("bridge_gap_other"),
            false,
        ),
        gate(
            "max_false_positive_detection_rate",
            t.max_false_positive_detection_rate,
            m.false_positive_detection_rate,
            false,
        ),
        gate(
            "max_false_positive_detection_count",
            t.max_false_positive_detection_count,
            Some(m.false_positive_detection_count as f64),
            false,
        ),
    ];
    g.sort_by(|a, b| a.gate_id.cmp(&b.gate_id));
    g
}

/// Counts by key, sorted.
pub fn tally<I: IntoIterator<Item = String>>(it: I) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for k in it {
        *m.entry(k).or_default() += 1;
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), Some(10.0));
        assert_eq!(percentile(&v, 95.0), Some(19.0));
        assert_eq!(percentile(&v, 100.0), Some(20.0));
        assert_eq!(percentile(&[3.0], 90.0), Some(3.0));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn rates_round_half_up_and_null_on_zero() {
        assert_eq!(rate(1, 3), Some(0.3333));
        assert_eq!(rate(2, 3), Some(0.6667));
        assert_eq!(rate(0, 0), None);
    }
}
