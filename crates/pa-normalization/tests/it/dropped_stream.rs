//! Stream mode says what its readers dropped: an input record refused by the reader (here an
//! event XML with a DTD) is in the tally with its reason code and the file, not silently gone.

use std::path::Path;

#[test]
fn records_the_reader_drops_are_in_the_tally() {
    let t = tempfile::tempdir().expect("tempdir");
    let file = t.path().join("events.xml");
    let good = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join(
            "../../../shared/data/purple-axiom-ref/fixtures/windows_event_xml/v1/well_formed_default_namespace_minimal_identity/inputs/event.xml",
        ),
    )
    .expect("reference data: the windows_event_xml fixture");
    let bad = "<!DOCTYPE Event [<!ENTITY x \"y\">]><Event><System/></Event>\n";
    std::fs::write(&file, format!("{bad}{good}")).expect("write");
    let mut out = Vec::new();
    let tally = pa_normalization::stream(
        "win-xml",
        &file.display().to_string(),
        Some(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../mappings/normalizer/ocsf/1.7.0")),
        None,
        &mut out,
    )
    .expect("stream");
    assert_eq!(tally.records, 1);
    let (n, first) = tally
        .dropped
        .get("xml_disallowed_doctype")
        .unwrap_or_else(|| panic!("{:?}", tally.dropped));
    assert_eq!(*n, 1);
    assert!(first.contains("events.xml"), "{first}");
}
