//! The gap categories of `scoring/summary.json` (contract `scoring_summary`): the layer that
//! lost an executed, undetected action. One vocabulary for the stage that judges (scoring) and
//! the ones that read its judgement (reporting).

/// The gap categories in precedence order, which is also layer order (telemetry →
/// normalization → bridge → detection): the first that applies is an action's gap.
pub const GAP_CATEGORIES: [&str; 6] = [
    "missing_telemetry",
    "unmapped_event_type",
    "bridge_gap_mapping",
    "bridge_gap_feature",
    "bridge_gap_other",
    "rule_logic_gap",
];

/// The layer that loses an action of a gap category.
pub fn layer_of(category: &str) -> &'static str {
    match category {
        "missing_telemetry" => "telemetry",
        "unmapped_event_type" => "normalization",
        "bridge_gap_mapping" | "bridge_gap_feature" | "bridge_gap_other" => "bridge",
        _ => "detection",
    }
}

/// The position of a gap category in [`GAP_CATEGORIES`] (unknown ones last).
pub fn ordinal(category: &str) -> usize {
    GAP_CATEGORIES
        .iter()
        .position(|c| *c == category)
        .unwrap_or(GAP_CATEGORIES.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_follow_the_precedence() {
        let layers: Vec<&str> = GAP_CATEGORIES.iter().map(|c| layer_of(c)).collect();
        assert_eq!(
            layers,
            [
                "telemetry",
                "normalization",
                "bridge",
                "bridge",
                "bridge",
                "detection"
            ]
        );
        assert_eq!(ordinal("bridge_gap_other"), 4);
        assert_eq!(ordinal("nonsense"), 6);
    }
}
