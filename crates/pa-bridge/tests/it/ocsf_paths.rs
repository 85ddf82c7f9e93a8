//! Every OCSF path of the shipped data exists in OCSF 1.7.0 (read from the schema source in
//! ../shared/data/ocsf-1.7.0), in at least one class of each route that can resolve to it.

use crate::common;

use std::collections::BTreeSet;

use pa_ocsf_schema::{OcsfSchema, PathError};

/// The project's one OCSF 1.7.0 schema reader (`pa_ocsf_schema`).
fn schema() -> &'static OcsfSchema {
    pa_ocsf_schema::reference()
}

fn class_name(s: &OcsfSchema, class_uid: u32) -> Option<&str> {
    s.class(class_uid).map(|c| c.name.as_str())
}

#[test]
fn schema_reader_knows_core_and_extension_classes() {
    let s = schema();
    assert_eq!(class_name(s, 1007), Some("process_activity"));
    assert_eq!(class_name(s, 4001), Some("network_activity"));
    assert_eq!(class_name(s, 201001), Some("registry_key_activity"));
    assert!(s.check_path(1007, "process.file.path").is_ok());
    assert!(
        s.check_path(1007, "process.cmd_line").is_ok(),
        "inherited from process_entity"
    );
    assert!(
        s.check_path(1007, "actor.process.parent_process.file.hashes.value")
            .is_ok()
    );
    assert!(
        s.check_path(1007, "unmapped.Anything.deeper").is_ok(),
        "unmapped is an open object"
    );
    assert!(
        s.check_path(1007, "device.hostname").is_ok(),
        "host profile"
    );
    assert!(s.check_path(201002, "reg_value.path").is_ok());
    assert!(matches!(
        s.check_path(1007, "process.cwd"),
        Err(PathError::Missing { .. })
    ));
    assert!(matches!(
        s.check_path(1007, "process.pid.x"),
        Err(PathError::Scalar { .. })
    ));
    assert!(matches!(
        s.check_path(4001, "process.file.path"),
        Err(PathError::Missing { .. })
    ));
    assert!(matches!(
        s.check_path(3002, "authentication.logon_type_id"),
        Err(PathError::Missing { .. })
    ));
    assert!(matches!(
        s.check_path(9_999_999, "time"),
        Err(PathError::NoSuchClass(_))
    ));
}

#[test]
fn every_alias_and_filter_path_exists_in_a_routed_class() {
    let s = schema();
    let b = common::bridge();
    let mut problems = Vec::new();
    let mut checked = 0usize;
    for r in b.routes() {
        for c in &r.class_uids {
            if class_name(s, *c).is_none() {
                problems.push(format!(
                    "route {}: class {c} is not in OCSF 1.7.0",
                    r.route_id
                ));
            }
        }
        for f in &r.filters {
            if !r
                .class_uids
                .iter()
                .any(|c| s.check_path(*c, &f.path).is_ok())
            {
                problems.push(format!(
                    "route {}: filter path {} in none of {:?}",
                    r.route_id, f.path, r.class_uids
                ));
            }
        }
        let Some(set) = b.alias_sets().get(&r.alias_set) else {
            problems.push(format!(
                "route {}: alias set {} missing",
                r.route_id, r.alias_set
            ));
            continue;
        };
        for (field, alias) in &set.fields {
            let paths: BTreeSet<(u32, &str)> = r
                .class_uids
                .iter()
                .filter_map(|c| alias.path_for(*c).map(|p| (*c, p)))
                .collect();
            let distinct: BTreeSet<&str> = paths.iter().map(|(_, p)| *p).collect();
            for p in distinct {
                checked += 1;
                let ok = paths
                    .iter()
                    .any(|(c, q)| *q == p && s.check_path(*c, p).is_ok());
                if !ok {
                    let why = r
                        .class_uids
                        .iter()
                        .map(|c| match s.check_path(*c, p) {
                            Ok(()) => format!("{c}: ok"),
                            Err(e) => format!("{c}: {e}"),
                        })
                        .collect::<Vec<_>>()
                        .join("; ");
                    problems.push(format!(
                        "route {} set {} field {field} -> {p}: {why}",
                        r.route_id, set.name
                    ));
                }
            }
        }
        if s.check_path(r.class_uids[0], &set.fallback.prefix).is_err() {
            problems.push(format!(
                "set {}: fallback prefix {} is not an OCSF path",
                set.name, set.fallback.prefix
            ));
        }
    }
    // by_class keys must name a class of some route that uses the set
    for (name, set) in b.alias_sets() {
        for (field, alias) in &set.fields {
            for c in alias.by_class.keys() {
                let used = b.routes().iter().any(|r| {
                    r.class_uids.contains(c)
                        && (r.alias_set == *name
                            || b.alias_sets()
                                .get(&r.alias_set)
                                .is_some_and(|s2| s2.extends.contains(name)))
                });
                if !used {
                    problems.push(format!("set {name} field {field}: by_class {c} is not a class of any route using the set"));
                }
            }
        }
    }
    assert!(checked > 150, "only {checked} paths checked");
    common::assert_no_problems(&problems);
}

/// The strict form, with the project's OCSF validator (`pa_ocsf_schema`): for every route and
/// every class in its scope, each filter path and each path an alias gives for that class
/// (its `by_class` entry, else its default `path`) must exist in that very class. A path that
/// exists only in a sibling class of the route would make the rule read a member the
/// normalizer can never write for events of this class.
#[test]
fn every_alias_path_exists_in_each_class_it_is_read_for() {
    let s = pa_ocsf_schema::reference();
    let b = common::bridge();
    let mut problems = Vec::new();
    let mut checked = 0usize;
    for r in b.routes() {
        for c in &r.class_uids {
            // the class's own alias set where the route names one (the Base Event's)
            let name = r.alias_sets_by_class.get(c).unwrap_or(&r.alias_set);
            let Some(set) = b.alias_sets().get(name) else {
                problems.push(format!("route {}: alias set {name} missing", r.route_id));
                continue;
            };
            if s.class(*c).is_none() {
                problems.push(format!(
                    "route {}: class {c} is not in OCSF 1.7.0",
                    r.route_id
                ));
                continue;
            }
            for f in &r.filters {
                checked += 1;
                if let Err(e) = s.check_path(*c, &f.path) {
                    problems.push(format!(
                        "route {} class {c}: filter path {}: {e}",
                        r.route_id, f.path
                    ));
                }
            }
            for (field, alias) in &set.fields {
                let Some(p) = alias.path_for(*c) else {
                    continue;
                };
                checked += 1;
                if let Err(e) = s.check_path(*c, p) {
                    problems.push(format!(
                        "route {} class {c} set {} field {field} -> {p}: {e}",
                        r.route_id, set.name
                    ));
                }
            }
            if !s.has_path(*c, &set.fallback.prefix) {
                problems.push(format!(
                    "route {} class {c} set {}: fallback prefix {} is not an OCSF path",
                    r.route_id, set.name, set.fallback.prefix
                ));
            }
        }
    }
    assert!(checked > 500, "only {checked} (class, path) pairs checked");
    common::assert_no_problems(&problems);
}
