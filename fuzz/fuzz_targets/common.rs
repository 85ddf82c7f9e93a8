//! Shared by the targets: the shipped mapping profiles, loaded once, and a normalization of
//! every record a reader yields (the interpreter must never panic on what a reader passes on).

use std::sync::OnceLock;

pub fn normalizer() -> &'static pa_ocsf::Normalizer {
    static N: OnceLock<pa_ocsf::Normalizer> = OnceLock::new();
    N.get_or_init(|| {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../mappings/normalizer/ocsf/1.7.0");
        pa_ocsf::Normalizer::load(&dir).expect("the shipped mapping profiles load")
    })
}

pub fn normalize(rec: &pa_sources::SourceRecord) {
    let ctx = pa_ocsf::EventContext {
        run_id: "00000000-0000-4000-8000-000000000000",
        scenario_id: "fuzz",
        raw_ref: None,
        normalizer_version: "fuzz",
        collector_version: None,
        host: Some("fuzz-host"),
    };
    if let Some(ev) = normalizer().normalize(rec, &ctx).into_event() {
        // Whatever the interpreter emits is canonical JSON.
        let _ = pa_canon::jcs(&ev);
    }
}
