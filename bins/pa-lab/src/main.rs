//! `pa-lab`: the lab_provider stage (inventory snapshot).

pa_stage::stage_main!(
    pa_bundle::Stage::LabProvider,
    "pa-lab",
    "Resolve the lab inventory of a run",
    pa_inventory::run
);
