//! Facts about the resolved OCSF 1.7.0 schema, each checked by hand against the source files
//! in `../shared/data/ocsf-1.7.0` (file named in the comment), and `has_path` look-ups.

use pa_ocsf_schema::{BaseType, OcsfSchema, PathError, Requirement, reference, reference_dir};

#[test]
fn loads_every_class_and_object() {
    let s = OcsfSchema::load(&reference_dir()).expect("reference schema loads");
    assert_eq!(s.version(), "1.7.0");
    // 82 event files with a `uid` (core + extensions) plus the concrete `base_event`.
    assert_eq!(s.classes().count(), 83);
    // 169 core + 4 named extension objects (reg_key, reg_value, win_resource, win_service);
    // the other extension object files are unnamed patches.
    assert_eq!(s.objects().count(), 173);
}

#[test]
fn process_activity_resolved_through_extends() {
    let s = reference();
    // events/system/process_activity.json: uid 7, extends system (category "system" = 1).
    let c = s.class(1007).expect("1007");
    assert_eq!(c.name, "process_activity");
    assert_eq!(c.caption, "Process Activity");
    assert_eq!(c.category_uid, 1);
    assert_eq!(c.bases, ["system", "base_event"]);
    // activity ids: 1..=5 from the class, 0 and 99 from base_event / the dictionary.
    assert_eq!(
        c.activities().keys().copied().collect::<Vec<_>>(),
        [0, 1, 2, 3, 4, 5, 99]
    );
    assert_eq!(
        c.type_uids(),
        [100700, 100701, 100702, 100703, 100704, 100705, 100799]
    );
    // system.json makes actor and device required; process_activity.json makes process required.
    for a in [
        "actor",
        "device",
        "process",
        "time",
        "metadata",
        "severity_id",
        "type_uid",
    ] {
        assert_eq!(c.attributes[a].requirement, Requirement::Required, "{a}");
    }
    // type and array-ness come from dictionary.json
    assert_eq!(c.attributes["time"].type_name, "timestamp_t");
    assert_eq!(c.attributes["time"].base, BaseType::Long);
    assert!(c.attributes["observables"].is_array);
    assert_eq!(
        c.attributes["observables"].object_type(),
        Some("observable")
    );
    // the datetime profile adds time_dt (datetime_t, a string)
    let dt = &c.attributes["time_dt"];
    assert_eq!(dt.type_name, "datetime_t");
    assert_eq!(dt.base, BaseType::String);
    assert_eq!(dt.profile.as_deref(), Some("datetime"));
    // profiles/host.json contributes device; system.json takes it out of the profile
    assert_eq!(c.attributes["device"].profile, None);
    // profiles/cloud.json: cloud is required, but only as part of the cloud profile
    assert_eq!(c.attributes["cloud"].requirement, Requirement::Required);
    assert_eq!(c.attributes["cloud"].profile.as_deref(), Some("cloud"));
    assert!(c.profiles.contains(&"security_control".to_string()));
}

#[test]
fn windows_extension_classes_and_patches() {
    let s = reference();
    // extensions/windows/extension.json uid 2; registry_key_activity.json uid 1, extends system.
    let k = s.class(201001).expect("201001");
    assert_eq!(k.name, "registry_key_activity");
    assert_eq!(k.extension.as_deref(), Some("win"));
    assert_eq!(k.category_uid, 1);
    let v = s.class(201002).expect("201002");
    assert_eq!(v.name, "registry_value_activity");
    assert_eq!(
        v.activities().keys().copied().collect::<Vec<_>>(),
        [0, 1, 2, 3, 4, 99]
    );
    assert_eq!(v.attributes["reg_value"].object_type(), Some("reg_value"));
    // registry_value.json: type_id enum 1..=10 plus 0/99 from the dictionary
    let rv = s.object("reg_value").expect("reg_value object");
    assert_eq!(rv.extension.as_deref(), Some("win"));
    assert_eq!(rv.observable, Some(29));
    let types = rv.attributes["type_id"].enum_values.as_ref().expect("enum");
    assert!(types.contains_key(&0) && types.contains_key(&10) && types.contains_key(&99));
    // extensions/windows/objects/process.json (unnamed) patches process with hosted_services;
    // extensions/linux/objects/process.json includes the linux_users profile (auid, euid...).
    let p = s.object("process").expect("process");
    assert_eq!(
        p.attributes["hosted_services"].object_type(),
        Some("win_service")
    );
    assert!(p.attributes["hosted_services"].is_array);
    for a in ["auid", "euid", "egid"] {
        assert_eq!(p.attributes[a].base, BaseType::Integer, "{a}");
        assert_eq!(
            p.attributes[a].profile.as_deref(),
            Some("linux/linux_users")
        );
    }
    // process extends process_entity (pid, cmd_line...) and includes profiles/container.json
    assert_eq!(p.bases, ["process_entity", "_entity", "object"]);
    assert_eq!(p.attributes["pid"].type_name, "integer_t");
    assert_eq!(
        p.attributes["container"].profile.as_deref(),
        Some("container")
    );
    // deprecated windows query classes still exist (1.5.0 deprecation)
    let q = s.class(205004).expect("registry_key_query 205004");
    assert!(q.deprecated.is_some());
}

#[test]
fn dictionary_types_and_observables() {
    let s = reference();
    let ep = s.object("network_endpoint").expect("network_endpoint");
    assert_eq!(ep.attributes["ip"].type_name, "ip_t");
    assert_eq!(ep.attributes["ip"].base, BaseType::String);
    assert_eq!(ep.attributes["ip"].max_len, Some(40));
    assert_eq!(ep.attributes["ip"].observable, Some(2));
    assert_eq!(ep.attributes["port"].range, Some((0, 65535)));
    assert_eq!(ep.attributes["port"].base, BaseType::Integer);
    // the observable type_id enumeration is completed from dictionary types (hostname_t 1,
    // ip_t 2, file_path_t 45), objects (reg_key 28, reg_value 29) and attributes.
    let ids = s.object("observable").expect("observable").attributes["type_id"]
        .enum_values
        .clone()
        .expect("enum");
    for id in [0, 1, 2, 28, 29, 45, 99] {
        assert!(ids.contains_key(&id), "observable type_id {id}");
    }
    // unmapped is of the generic type `object`: free-form
    let c = s.class(1007).expect("1007");
    assert!(c.attributes["unmapped"].is_free_form());
    assert!(c.attributes["enrichments"].is_array);
    // metadata.extensions is an array of `extension` objects (name, uid, version)
    let md = s.object("metadata").expect("metadata");
    assert_eq!(md.attributes["extensions"].object_type(), Some("extension"));
    assert!(md.attributes["extensions"].is_array);
    assert!(md.attributes["extension"].deprecated.is_some());
}

#[test]
fn has_path_known_and_unknown() {
    let s = reference();
    let yes = [
        (1007, "process.file.path"),
        (1007, "actor.process.cmd_line"),
        (1007, "actor.user.name"),
        (1007, "process.file.hashes.value"),
        (1007, "process.parent_process.pid"),
        (1007, "device.hostname"),
        (1007, "metadata.product.name"),
        (1007, "time_dt"),
        (1007, "unmapped.osquery.columns.cmdline"),
        (1007, "process.hosted_services.name"),
        (1007, "process.auid"),
        (4001, "dst_endpoint.ip"),
        (4001, "src_endpoint.port"),
        (4001, "connection_info.protocol_name"),
        (4003, "query.hostname"),
        (4003, "answers.rdata"),
        (1001, "file.path"),
        (1001, "file.hashes.algorithm_id"),
        (3002, "logon_type_id"),
        (3002, "user.uid"),
        (201001, "reg_key.path"),
        (201002, "reg_value.path"),
        (201002, "reg_value.reg_integer_data"),
        (0, "metadata.version"),
    ];
    for (c, p) in yes {
        assert!(s.has_path(c, p), "{c} {p} should exist");
    }
    let no = [
        (1007, "process.file.bogus"),
        (1007, "file.path"),
        (1007, "query.hostname"),
        (1007, "process.pid.value"),
        (1007, ""),
        (1007, "process..pid"),
        (1007, "unmapped."),
        (1007, "metadata.event_id"),
        (1007, "extensions.purple"),
        (4001, "query.hostname"),
        (4003, "dst_endpoint.bogus"),
        (1001, "process.file.path"),
        (201002, "reg_value.value"),
        (201002, "reg_key.path"),
        (3002, "authentication.logon_type_id"),
        (999_999, "time"),
    ];
    for (c, p) in no {
        assert!(!s.has_path(c, p), "{c} {p:?} should not exist");
    }
    let a = s.attribute(4001, "dst_endpoint.ip").expect("attr");
    assert_eq!(a.type_name, "ip_t");
    assert!(s.attribute(1007, "unmapped.x").is_none());
}

#[test]
fn deprecated_but_required_attribute() {
    // events/network/email_file_activity.json: email_uid is "required" and carries
    // "@deprecated" (since 1.4.0, "Use the email.uid attribute instead"). The validator does
    // not enforce it (see every_class.rs, whose generated 4011 event leaves it out).
    let c = reference().class(4011).expect("4011");
    let a = &c.attributes["email_uid"];
    assert_eq!(a.requirement, Requirement::Required);
    let d = a.deprecated.as_ref().expect("deprecated");
    assert_eq!(d.since, "1.4.0");
}

#[test]
fn check_path_explains() {
    let s = reference();
    assert_eq!(s.check_path(1007, "process.file.path"), Ok(()));
    assert_eq!(s.check_path(42, "time"), Err(PathError::NoSuchClass(42)));
    assert_eq!(
        s.check_path(1007, "process.file.bogus"),
        Err(PathError::Missing {
            prefix: "process.file".into(),
            segment: "bogus".into(),
            owner: "object file".into()
        })
    );
    assert_eq!(
        s.check_path(1007, "process.pid.value"),
        Err(PathError::Scalar {
            prefix: "process.pid".into(),
            type_name: "integer_t".into()
        })
    );
    let e = s
        .check_path(4001, "query.hostname")
        .expect_err("not in 4001");
    assert_eq!(
        e.to_string(),
        "\"\": no attribute \"query\" in class network_activity"
    );
}
