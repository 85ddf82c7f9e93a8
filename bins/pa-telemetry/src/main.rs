//! `pa-telemetry`: the telemetry stage (recorded sources → `raw_parquet/<source_id>/`).

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

pa_stage::stage_main!(
    pa_bundle::Stage::Telemetry,
    "pa-telemetry",
    "Read the range's telemetry sources into raw_parquet/ and account for every record",
    pa_ingest::run
);
