//! Turning a Windows `fields` object (from event XML or flat JSON) into a [`SourceRecord`].

use serde_json::Value;

use crate::record::{Provenance, SourceRecord, SourceType};
use crate::timeutil::parse_rfc3339_ms;
use crate::winxml::{self, WinXmlError};

/// Build a record from a Windows `fields` object (shape documented in [`crate::record`]).
pub fn record_from_fields(fields: Value, raw: String, provenance: Provenance) -> SourceRecord {
    let sys = &fields["System"];
    let channel = sys["Channel"].as_str().unwrap_or("");
    let source_type = SourceType::from_windows_channel(channel);
    let time_ms = sys["TimeCreated"]["SystemTime"]
        .as_str()
        .and_then(parse_rfc3339_ms);
    let host = sys["Computer"]
        .as_str()
        .filter(|h| !h.is_empty())
        .map(str::to_owned);
    SourceRecord {
        source_type,
        provenance,
        time_ms,
        host,
        fields,
        raw,
    }
}

/// Parse one event XML with `pa.win_event_xml.v1` and build its record.
///
/// `provenance.record_id` is filled from `EventRecordID` when the caller did not set it.
pub fn record_from_xml(
    xml: &[u8],
    mut provenance: Provenance,
) -> Result<SourceRecord, WinXmlError> {
    let parsed = winxml::parse(xml)?;
    if provenance.record_id.is_none() {
        provenance.record_id = parsed.ast.system.event_record_id.parse().ok();
    }
    Ok(record_from_fields(
        parsed.fields,
        parsed.canonical,
        provenance,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_by_channel() {
        let xml = br#"<Event><System><Provider Name="Microsoft-Windows-Sysmon"/><EventID>1</EventID><TimeCreated SystemTime="1970-01-01T00:00:01.5Z"/><EventRecordID>9</EventRecordID><Channel>Microsoft-Windows-Sysmon/Operational</Channel><Computer>h1</Computer></System></Event>"#;
        let prov = Provenance {
            file: "f".into(),
            offset: None,
            ordinal: 0,
            record_id: None,
        };
        let r = record_from_xml(xml, prov).unwrap();
        assert_eq!(r.source_type, SourceType::WindowsSysmon);
        assert_eq!(r.time_ms, Some(1500));
        assert_eq!(r.host.as_deref(), Some("h1"));
        assert_eq!(r.provenance.record_id, Some(9));
    }
}
