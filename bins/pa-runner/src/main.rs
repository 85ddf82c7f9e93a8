//! `pa-runner`: the runner stage (ground truth; the replay executor imports a recording).

pa_stage::stage_main!(
    pa_bundle::Stage::Runner,
    "pa-runner",
    "Run (or import the recording of) the scenario's actions",
    pa_actions::run
);
