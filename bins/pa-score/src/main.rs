//! `pa-score`: the scoring stage (`scoring/summary.json`: executed, seen, detected, latency,
//! and the gap of every undetected action).

pa_stage::stage_main!(
    pa_bundle::Stage::Scoring,
    "pa-score",
    "Score a run: which techniques were executed, seen and detected, how fast, and why the rest were missed",
    pa_scoring::run
);
