//! The Windows event XML reader (`pa.win_event_xml.v1` limits: no DTD, no entities beyond the
//! predefined ones, depth and token budgets), one event and a file of events, each record then
//! through the mapping-profile interpreter.
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let _ = pa_sources::winxml::canonicalize(data);
    let _ = pa_sources::winxml::parse(data);
    let reader =
        pa_sources::xmlfile::XmlFileReader::from_reader("fuzz.xml".into(), Box::new(std::io::Cursor::new(data.to_vec())));
    for rec in reader.take(64) {
        if let Ok(rec) = rec {
            common::normalize(&rec);
        }
    }
});
