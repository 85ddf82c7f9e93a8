//! The Linux audit log reader (record grouping, field decoding, EXECVE arguments), each
//! aggregated event then through the mapping-profile interpreter.
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let reader = pa_sources::auditd::AuditdReader::from_reader(
        "audit.log".into(),
        Box::new(std::io::Cursor::new(data.to_vec())),
    );
    for rec in reader.take(256) {
        if let Ok(rec) = rec {
            common::normalize(&rec);
        }
    }
});
