//! `pa-validate`: the validation stage (criteria packs evaluated per action into `criteria/`).

pa_stage::stage_main!(
    pa_bundle::Stage::Validation,
    "pa-validate",
    "Evaluate criteria packs over the normalized telemetry of a run",
    pa_validation::run
);
