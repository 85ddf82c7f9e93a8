//! Every OCSF path the authored profiles write exists in its class in the OCSF 1.7.0 schema
//! source (checked with pa-bridge's schema reader).

mod common;

use pa_bridge::ocsf::OcsfSchema;

/// Purple Axiom envelope members under `metadata` that OCSF 1.7.0 does not define (SPEC §6).
const PA_METADATA: [&str; 7] = [
    "metadata.event_id",
    "metadata.run_id",
    "metadata.scenario_id",
    "metadata.source_type",
    "metadata.source_event_id",
    "metadata.identity_tier",
    "metadata.normalizer_version",
];

#[test]
fn every_target_path_is_ocsf_1_7_0() {
    let schema = OcsfSchema::load(common::data("ocsf-1.7.0")).expect("OCSF schema loads");
    let n = common::normalizer();
    let mut errors = Vec::new();
    let mut checked = 0;
    for c in n.class_targets() {
        for t in &c.targets {
            if PA_METADATA.contains(&t.as_str()) {
                continue;
            }
            checked += 1;
            if let Err(e) = schema.check_path(c.class_uid, t) {
                errors.push(format!(
                    "{}/{} ({}): {t}: {e}",
                    c.source_type, c.class_file, c.class_uid
                ));
            }
        }
    }
    assert!(checked > 100, "only {checked} paths checked");
    assert!(
        errors.is_empty(),
        "paths not in OCSF 1.7.0:\n{}",
        errors.join("\n")
    );
}
