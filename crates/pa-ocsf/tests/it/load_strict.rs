//! Strict loading: a profile tree with one defect fails `Normalizer::load` with the file and
//! the line of the defect. Each case copies the authored tree and breaks one thing.

use crate::common;

use std::path::{Path, PathBuf};

use pa_ocsf::{FileError, Normalizer};

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir").flatten() {
        let p = e.path();
        let dest = to.join(e.file_name());
        if p.is_dir() {
            copy_tree(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).expect("copy");
        }
    }
}

/// Copy the authored tree, apply `edit` to `rel` (old → new, which must occur), load it.
fn load_with(rel: &str, old: &str, new: &str) -> (tempfile::TempDir, PathBuf, FileError) {
    let tmp = tempfile::tempdir().expect("tempdir");
    copy_tree(&common::mappings_dir(), tmp.path());
    let file = tmp.path().join(rel);
    let text = std::fs::read_to_string(&file).expect("read");
    assert!(text.contains(old), "{rel} does not contain {old:?}");
    std::fs::write(&file, text.replacen(old, new, 1)).expect("write");
    let err = Normalizer::load(tmp.path()).expect_err("the broken tree must not load");
    (tmp, file, err)
}

fn line_of(file: &Path, needle: &str) -> u64 {
    let text = std::fs::read_to_string(file).expect("read");
    text.lines()
        .position(|l| l.contains(needle))
        .map(|i| i as u64 + 1)
        .unwrap_or_else(|| panic!("{needle:?} not in {}", file.display()))
}

#[test]
fn authored_tree_loads() {
    let n = common::normalizer();
    assert!(n.source_types().contains(&"windows-sysmon".to_string()));
}

#[test]
fn unknown_key_names_file_and_line() {
    let (_t, file, err) = load_with(
        "windows-sysmon/classes/dns_activity_4003.yaml",
        "  - {to: query.hostname,",
        "  - {bogus_key: 1, to: query.hostname,",
    );
    assert_eq!(err.path(), file, "{err}");
    assert_eq!(err.line, line_of(&file, "bogus_key"), "{err}");
    assert!(err.to_string().contains("bogus_key"), "{err}");
}

#[test]
fn unknown_transform_names_file_and_line() {
    let (_t, file, err) = load_with(
        "windows-security/classes/authentication_3002.yaml",
        "transforms: [trim, int]}",
        "transforms: [trim, no_such_transform]}",
    );
    assert_eq!(err.path(), file, "{err}");
    assert_eq!(err.line, line_of(&file, "no_such_transform"), "{err}");
    assert!(err.to_string().contains("no_such_transform"), "{err}");
}

#[test]
fn route_to_missing_class_file_names_routing_line() {
    let (_t, file, err) = load_with(
        "windows-sysmon/routing.yaml",
        "class: classes/dns_activity_4003.yaml",
        "class: classes/dns_activity_4004.yaml",
    );
    assert_eq!(err.path(), file, "{err}");
    assert_eq!(err.line, line_of(&file, "dns_activity_4004"), "{err}");
    assert!(err.to_string().contains("does not exist"), "{err}");
}

#[test]
fn duplicate_key_is_rejected() {
    let (_t, file, err) = load_with(
        "windows-sysmon/canonicalization.yaml",
        "  trim: {op: trim}\n",
        "  trim: {op: trim}\n  trim: {op: lowercase}\n",
    );
    assert_eq!(err.path(), file, "{err}");
    assert!(err.line > 0, "{err}");
}

#[test]
fn overlapping_routes_are_rejected() {
    let (_t, file, err) = load_with(
        "windows-sysmon/routing.yaml",
        "match: {event_id: [22]}",
        "match: {event_id: [22, 3]}",
    );
    assert_eq!(err.path(), file, "{err}");
    assert!(err.to_string().contains("overlap"), "{err}");
}

#[test]
fn unknown_op_and_bad_args_in_canonicalization() {
    let (_t, file, err) = load_with(
        "windows-sysmon/canonicalization.yaml",
        "  basename: {op: basename}",
        "  basename: {op: base_name}",
    );
    assert_eq!(err.path(), file, "{err}");
    assert_eq!(err.line, line_of(&file, "base_name"), "{err}");
    let (_t, file, err) = load_with(
        "windows-sysmon/canonicalization.yaml",
        "  int: {op: parse_int}",
        "  int: {op: parse_int, args: {radix: 16}}",
    );
    assert_eq!(err.line, line_of(&file, "radix"), "{err}");
}

#[test]
fn emit_rule_needs_exactly_one_source_and_known_key() {
    let (_t, file, err) = load_with(
        "windows-sysmon/classes/dns_activity_4003.yaml",
        "  - {to: activity_id, const: 1}",
        "  - {to: activity_id, const: 1, key: event_id}",
    );
    assert_eq!(err.line, line_of(&file, "key: event_id"), "{err}");
    let (_t, file, err) = load_with(
        "windows-sysmon/classes/dns_activity_4003.yaml",
        "  - {to: activity_id, const: 1}",
        "  - {to: activity_id, key: nope}",
    );
    assert_eq!(err.line, line_of(&file, "key: nope"), "{err}");
}

#[test]
fn class_file_name_must_carry_its_uid_and_be_routed() {
    let (_t, file, err) = load_with(
        "windows-sysmon/classes/dns_activity_4003.yaml",
        "class_uid: 4003",
        "class_uid: 4001",
    );
    assert_eq!(err.path(), file, "{err}");
    // An extra, unrouted class file is refused.
    let tmp = tempfile::tempdir().expect("tempdir");
    copy_tree(&common::mappings_dir(), tmp.path());
    std::fs::copy(
        tmp.path()
            .join("windows-sysmon/classes/dns_activity_4003.yaml"),
        tmp.path().join("windows-sysmon/classes/spare_4003.yaml"),
    )
    .expect("copy");
    let err = Normalizer::load(tmp.path()).expect_err("unrouted class file");
    assert!(err.path().ends_with("spare_4003.yaml"), "{err}");
}

#[test]
fn target_conflicts_are_rejected() {
    let (_t, file, err) = load_with(
        "windows-sysmon/classes/dns_activity_4003.yaml",
        "  - {to: activity_id, const: 1}",
        "  - {to: activity_id, const: 1}\n  - {to: query, const: x}",
    );
    assert_eq!(err.path(), file, "{err}");
    assert!(err.to_string().contains("inside target"), "{err}");
}

#[test]
fn misused_when_present_names_file_and_line() {
    // in the identity basis
    let (_t, file, err) = load_with(
        "windows-sysmon/profile.yaml",
        "    - {to: source_type, const: sysmon}",
        "    - {to: source_type, const: sysmon, when_present: [device]}",
    );
    assert_eq!(err.path(), file, "{err}");
    assert_eq!(
        err.line,
        line_of(&file, "const: sysmon, when_present"),
        "{err}"
    );
    assert!(err.to_string().contains("when_present"), "{err}");
    // on an op
    let (_t, file, err) = load_with(
        "windows-sysmon/profile.yaml",
        "  - {to: type_uid, op: type_uid}",
        "  - {to: type_uid, op: type_uid, when_present: [device]}",
    );
    assert_eq!(
        err.line,
        line_of(&file, "op: type_uid, when_present"),
        "{err}"
    );
    assert!(err.to_string().contains("op"), "{err}");
    // conditional on its own target, or on nothing
    for bad in ["when_present: [device.type_id]", "when_present: []"] {
        let (_t, file, err) = load_with(
            "windows-sysmon/profile.yaml",
            "when_present: [device]}",
            &format!("{bad}}}"),
        );
        assert_eq!(err.path(), file, "{err}");
        assert_eq!(err.line, line_of(&file, bad), "{err}");
    }
}

#[test]
fn route_fallback_must_be_another_existing_class_file() {
    let routing = "linux-auditd/routing.yaml";
    let (_t, file, err) = load_with(
        routing,
        "    fallback: classes/base_event_0.yaml\n",
        "    fallback: classes/no_such_class_0.yaml\n",
    );
    assert_eq!(err.path(), file, "{err}");
    assert_eq!(err.line, line_of(&file, "no_such_class_0"), "{err}");
    assert!(err.to_string().contains("fallback file"), "{err}");
    let (_t, file, err) = load_with(
        routing,
        "    class: classes/file_system_activity_1001.yaml\n    fallback: classes/base_event_0.yaml\n",
        "    class: classes/file_system_activity_1001.yaml\n    fallback: classes/file_system_activity_1001.yaml\n",
    );
    assert_eq!(err.path(), file, "{err}");
    assert!(err.to_string().contains("own class"), "{err}");
    let (_t, _file, err) = load_with(
        routing,
        "    fallback: classes/base_event_0.yaml\n",
        "    fallback: ../base_event_0.yaml\n",
    );
    assert!(
        err.to_string().contains("classes/<name>_<uid>.yaml"),
        "{err}"
    );
}
