//! The mapping-profile interpreter on arbitrary decoded records: the first byte picks the
//! source family, the rest is the record's fields (JSON) as a reader would decode them.
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

use pa_sources::SourceType;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let Ok(fields) = serde_json::from_slice::<serde_json::Value>(rest) else {
        return;
    };
    let source_type = [
        SourceType::WindowsSysmon,
        SourceType::WindowsSecurity,
        SourceType::WindowsSystem,
        SourceType::WindowsPowershell,
        SourceType::WindowsOther,
        SourceType::LinuxAuditd,
        SourceType::Osquery,
    ][pick as usize % 7];
    let rec = pa_sources::SourceRecord {
        source_type,
        provenance: pa_sources::Provenance {
            file: "fuzz".into(),
            offset: None,
            ordinal: 0,
            record_id: Some(u64::from(pick)),
        },
        time_ms: Some(1_700_000_000_000),
        host: Some("fuzz-host".into()),
        raw: String::from_utf8_lossy(rest).into_owned(),
        fields,
    };
    common::normalize(&rec);
});
