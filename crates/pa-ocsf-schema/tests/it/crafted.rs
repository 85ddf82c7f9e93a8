//! Crafted events: a valid base event per class, then one defect at a time, each expected to
//! produce exactly its code at exactly its pointer (and nothing else).

use crate::common;

use pa_ocsf_schema::{ViolationCode as C, reference};
use serde_json::{Value, json};

/// A Process Activity event with every required attribute (at every depth) present.
fn process_launch() -> Value {
    json!({
        "class_uid": 1007,
        "category_uid": 1,
        "activity_id": 1,
        "type_uid": 100701,
        "severity_id": 1,
        "time": 1767225601000_i64,
        "message": "process launched",
        "metadata": {
            "version": "1.7.0",
            "product": {"name": "sysmon", "vendor_name": "Microsoft"},
            "uid": "pa:eid:v1:0ecaf2a7ed583ab2338e32b14eecb9d0",
            "extensions": [{"name": "purple_axiom", "uid": "990", "version": "0.1.0"}],
        },
        "device": {"hostname": "win10-lab", "type_id": 2, "ip": "192.168.1.50"},
        "actor": {
            "process": {
                "pid": 1111,
                "file": {"name": "explorer.exe", "path": "C:\\Windows\\explorer.exe", "type_id": 1},
            },
            "user": {"name": "alice", "domain": "LAB"},
        },
        "process": {
            "pid": 4242,
            "cmd_line": "cmd.exe /c whoami",
            "file": {
                "name": "cmd.exe",
                "path": "C:\\Windows\\System32\\cmd.exe",
                "type_id": 1,
                "hashes": [
                    {"algorithm_id": 1, "value": "3172ac7e2b55cbb81f04a6e65855a628"},
                    {"algorithm_id": 99, "algorithm": "IMPHash", "value": "ccc"},
                ],
            },
        },
        "observables": [{"name": "device.hostname", "type_id": 1, "value": "win10-lab"}],
        "enrichments": [{"name": "device.ip", "value": "192.168.1.50", "data": {"asn": [1, "x", null]}}],
        "unmapped": {"osquery": {"columns": {"pid": "4242"}, "n": [1, 2.5, null, {"x": true}]}},
    })
}

#[track_caller]
fn expect(event: &Value, want: &[(&str, C)]) {
    common::expect_with(reference(), event, want);
}

fn with(pointer: &str, v: Value) -> Value {
    let mut e = process_launch();
    common::set(&mut e, pointer, v);
    e
}

fn without(pointer: &str) -> Value {
    let mut e = process_launch();
    common::remove(&mut e, pointer);
    e
}

#[test]
fn base_event_is_valid() {
    expect(&process_launch(), &[]);
}

#[test]
fn unknown_class() {
    expect(
        &with("/class_uid", json!(424242)),
        &[("/class_uid", C::UnknownClass)],
    );
    expect(&without("/class_uid"), &[("/class_uid", C::UnknownClass)]);
    expect(
        &with("/class_uid", json!("1007")),
        &[("/class_uid", C::WrongType)],
    );
    expect(&json!([1, 2]), &[("", C::UnknownClass)]);
    // 1000 is the category-level `system` class: abstract, not an event class
    expect(
        &with("/class_uid", json!(1000)),
        &[("/class_uid", C::UnknownClass)],
    );
}

#[test]
fn wrong_category() {
    expect(
        &with("/category_uid", json!(4)),
        &[("/category_uid", C::WrongCategory)],
    );
    expect(
        &with("/category_uid", json!("1")),
        &[("/category_uid", C::WrongType)],
    );
}

#[test]
fn unknown_attributes_top_and_nested() {
    expect(
        &with("/bogus", json!(1)),
        &[("/bogus", C::UnknownAttribute)],
    );
    expect(
        &with("/process/file/bogus", json!("x")),
        &[("/process/file/bogus", C::UnknownAttribute)],
    );
    expect(
        &with("/process/file/hashes/1/bogus", json!("x")),
        &[("/process/file/hashes/1/bogus", C::UnknownAttribute)],
    );
    // Purple Axiom envelope members are not OCSF metadata attributes
    expect(
        &with("/metadata/run_id", json!("r1")),
        &[("/metadata/run_id", C::UnknownAttribute)],
    );
    // `file` is an attribute of File Activity, not of Process Activity
    expect(
        &with("/file", json!({"name": "a", "type_id": 1})),
        &[("/file", C::UnknownAttribute)],
    );
    // JSON pointer escaping of member names
    expect(&with("/a~b", json!(1)), &[("/a~0b", C::UnknownAttribute)]);
    let mut e = process_launch();
    e.as_object_mut()
        .expect("object")
        .insert("x/y".into(), json!(1));
    expect(&e, &[("/x~1y", C::UnknownAttribute)]);
}

#[test]
fn wrong_types() {
    expect(
        &with("/process/pid", json!("4242")),
        &[("/process/pid", C::WrongType)],
    );
    expect(
        &with("/process/pid", json!(4242.0)),
        &[("/process/pid", C::WrongType)],
    );
    expect(
        &with("/time", json!("2026-01-11T00:00:00Z")),
        &[("/time", C::WrongType)],
    );
    expect(&with("/time", json!(1.5)), &[("/time", C::WrongType)]);
    expect(&with("/message", json!(42)), &[("/message", C::WrongType)]);
    expect(
        &with("/process/cmd_line", json!(true)),
        &[("/process/cmd_line", C::WrongType)],
    );
    expect(
        &with("/device", json!("win10-lab")),
        &[("/device", C::WrongType)],
    );
    expect(
        &with("/unmapped", json!("text")),
        &[("/unmapped", C::WrongType)],
    );
    expect(
        &with("/device/is_managed", json!("yes")),
        &[("/device/is_managed", C::WrongType)],
    );
    expect(&with("/device/is_managed", json!(false)), &[]);
    // integer_t is 64-bit; long_t is wider in OCSF, so any JSON integer up to u64 is fine
    expect(
        &with("/process/pid", json!(u64::MAX)),
        &[("/process/pid", C::OutOfRange)],
    );
    expect(&with("/time", json!(u64::MAX)), &[]);
    expect(&with("/time", json!(-1)), &[]);
    // timestamps and their _dt siblings (datetime profile)
    let dt = |v: Value| {
        let mut e = with("/metadata/profiles", json!(["datetime"]));
        common::set(&mut e, "/time_dt", v);
        e
    };
    expect(&dt(json!("2026-01-01T00:00:01Z")), &[]);
    expect(&dt(json!("yesterday")), &[("/time_dt", C::InvalidFormat)]);
    expect(&dt(json!(1767225601000_i64)), &[("/time_dt", C::WrongType)]);
    // json_t accepts anything
    expect(&with("/enrichments/0/data", json!("s")), &[]);
    expect(&with("/enrichments/0/data", json!([1, {"a": null}])), &[]);
}

#[test]
fn enum_values() {
    expect(
        &with("/severity_id", json!(7)),
        &[("/severity_id", C::InvalidEnumValue)],
    );
    expect(&with("/severity_id", json!(99)), &[]);
    expect(
        &with("/process/file/hashes/0/algorithm_id", json!(42)),
        &[("/process/file/hashes/0/algorithm_id", C::InvalidEnumValue)],
    );
    expect(
        &with("/device/type_id", json!(-1)),
        &[("/device/type_id", C::InvalidEnumValue)],
    );
    // activity_id 6 is not a Process Activity; type_uid then disagrees too
    let mut e = process_launch();
    common::set(&mut e, "/activity_id", json!(6));
    expect(
        &e,
        &[
            ("/activity_id", C::InvalidEnumValue),
            ("/type_uid", C::TypeUidMismatch),
        ],
    );
    common::set(&mut e, "/type_uid", json!(100706));
    expect(&e, &[("/activity_id", C::InvalidEnumValue)]);
    // 99 Other (from base_event) and 0 Unknown are valid for every class
    let mut e = process_launch();
    common::set(&mut e, "/activity_id", json!(99));
    common::set(&mut e, "/type_uid", json!(100799));
    expect(&e, &[]);
    // observable type ids come from dictionary types and objects (29 = reg_value)
    expect(&with("/observables/0/type_id", json!(29)), &[]);
    expect(
        &with("/observables/0/type_id", json!(3000)),
        &[("/observables/0/type_id", C::InvalidEnumValue)],
    );
}

#[test]
fn type_uid() {
    expect(
        &with("/type_uid", json!(100702)),
        &[("/type_uid", C::TypeUidMismatch)],
    );
    expect(
        &with("/type_uid", json!(400101)),
        &[("/type_uid", C::TypeUidMismatch)],
    );
    expect(
        &with("/type_uid", json!("100701")),
        &[("/type_uid", C::WrongType)],
    );
    // without activity_id: type_uid must still be one of the class's
    let mut e = without("/activity_id");
    expect(&e, &[("/activity_id", C::MissingRequired)]);
    common::set(&mut e, "/type_uid", json!(100709));
    expect(
        &e,
        &[
            ("/activity_id", C::MissingRequired),
            ("/type_uid", C::TypeUidMismatch),
        ],
    );
}

#[test]
fn arrays_and_scalars() {
    expect(
        &with("/observables", json!({"name": "x", "type_id": 1})),
        &[("/observables", C::NotAnArray)],
    );
    expect(
        &with(
            "/process",
            json!([{"pid": 1, "file": {"name": "a", "type_id": 1}}]),
        ),
        &[("/process", C::UnexpectedArray)],
    );
    expect(
        &with(
            "/process/file/hashes",
            json!({"algorithm_id": 1, "value": "aa"}),
        ),
        &[("/process/file/hashes", C::NotAnArray)],
    );
    expect(
        &with(
            "/process/file/hashes/0",
            json!([{"algorithm_id": 1, "value": "aa"}]),
        ),
        &[("/process/file/hashes/0", C::UnexpectedArray)],
    );
    expect(
        &with("/process/pid", json!([4242])),
        &[("/process/pid", C::UnexpectedArray)],
    );
    expect(
        &with(
            "/metadata/extensions",
            json!({"purple_axiom": {"raw_ref": null}}),
        ),
        &[("/metadata/extensions", C::NotAnArray)],
    );
    expect(
        &with("/process/file/hashes/1", json!("ccc")),
        &[("/process/file/hashes/1", C::WrongType)],
    );
    expect(&with("/observables", json!([])), &[]);
}

#[test]
fn missing_required_at_every_depth() {
    expect(
        &without("/severity_id"),
        &[("/severity_id", C::MissingRequired)],
    );
    expect(&without("/process"), &[("/process", C::MissingRequired)]);
    expect(
        &without("/metadata/version"),
        &[("/metadata/version", C::MissingRequired)],
    );
    expect(
        &without("/metadata/product"),
        &[("/metadata/product", C::MissingRequired)],
    );
    expect(
        &without("/process/file/name"),
        &[("/process/file/name", C::MissingRequired)],
    );
    expect(
        &with("/metadata/extensions/0", json!({"name": "purple_axiom"})),
        &[("/metadata/extensions/0/version", C::MissingRequired)],
    );
    expect(
        &with("/enrichments/0", json!({"name": "a", "value": "b"})),
        &[("/enrichments/0/data", C::MissingRequired)],
    );
    expect(
        &without("/observables/0/type_id"),
        &[("/observables/0/type_id", C::MissingRequired)],
    );
    // cloud (profiles/cloud.json) is required only when the cloud profile is declared
    expect(&with("/metadata/profiles", json!(["host"])), &[]);
    expect(
        &with("/metadata/profiles", json!(["cloud"])),
        &[("/cloud", C::MissingRequired)],
    );
    let mut e = with("/metadata/profiles", json!(["cloud"]));
    common::set(&mut e, "/cloud", json!({"provider": "AWS"}));
    expect(&e, &[]);
}

#[test]
fn nulls_ranges_and_formats() {
    expect(
        &with("/message", Value::Null),
        &[("/message", C::NullValue)],
    );
    expect(
        &with("/observables/0", Value::Null),
        &[("/observables/0", C::NullValue)],
    );
    expect(
        &with("/device/ip", json!("not-an-ip")),
        &[("/device/ip", C::InvalidFormat)],
    );
    expect(&with("/device/ip", json!("2001:db8::1")), &[]);
    expect(&with("/device/mac", json!("18:36:F3:98:4F:9A")), &[]);
    expect(
        &with("/device/mac", json!("18:36:F3")),
        &[("/device/mac", C::InvalidFormat)],
    );
    expect(
        &with("/process/file/hashes/0/value", json!("not hex")),
        &[("/process/file/hashes/0/value", C::InvalidFormat)],
    );
}

#[test]
fn network_dns_and_registry_classes() {
    let net = json!({
        "class_uid": 4001, "category_uid": 4, "activity_id": 6, "type_uid": 400106,
        "severity_id": 1, "time": 1, "metadata": {"version": "1.7.0", "product": {"name": "p"}},
        "src_endpoint": {"ip": "192.168.1.10", "port": 55234},
        "dst_endpoint": {"ip": "93.184.216.34", "port": 22, "hostname": "example.com"},
        "connection_info": {"protocol_name": "tcp", "direction_id": 2},
    });
    expect(&net, &[]);
    let mut bad = net.clone();
    common::set(&mut bad, "/dst_endpoint/port", json!(70000));
    common::set(&mut bad, "/src_endpoint/ip", json!(17));
    common::set(&mut bad, "/connection_info/direction_id", json!(5));
    expect(
        &bad,
        &[
            ("/connection_info/direction_id", C::InvalidEnumValue),
            ("/dst_endpoint/port", C::OutOfRange),
            ("/src_endpoint/ip", C::WrongType),
        ],
    );
    // DNS Activity declares activities 1, 2, 6 (events/network/dns_activity.json)
    let dns = json!({
        "class_uid": 4003, "category_uid": 4, "activity_id": 6, "type_uid": 400306,
        "severity_id": 1, "time": 1, "metadata": {"version": "1.7.0", "product": {"name": "p"}},
        "query": {"hostname": "example.com", "type": "A"},
        "answers": [{"rdata": "93.184.216.34", "type": "A"}],
        "src_endpoint": {"hostname": "win10-lab"},
    });
    expect(&dns, &[]);
    // network.json constraints: at_least_one of dst_endpoint, src_endpoint
    let mut bad = dns.clone();
    bad.as_object_mut().expect("object").remove("src_endpoint");
    expect(&bad, &[("", C::ConstraintFailed)]);
    common::set(&mut bad, "/dst_endpoint", Value::Null);
    expect(
        &bad,
        &[("", C::ConstraintFailed), ("/dst_endpoint", C::NullValue)],
    );
    let mut bad = dns.clone();
    common::set(&mut bad, "/activity_id", json!(3));
    common::set(&mut bad, "/type_uid", json!(400303));
    expect(&bad, &[("/activity_id", C::InvalidEnumValue)]);
    // Windows extension: Registry Value Activity (201002)
    let reg = json!({
        "class_uid": 201002, "category_uid": 1, "activity_id": 2, "type_uid": 20100202,
        "severity_id": 1, "time": 1, "metadata": {"version": "1.7.0", "product": {"name": "sysmon"}},
        "device": {"hostname": "win10-lab", "type_id": 2},
        "actor": {"process": {"pid": 4}},
        "reg_value": {
            "path": "HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\x",
            "name": "x", "type_id": 1, "reg_string_data": "C:\\x.exe"
        },
    });
    expect(&reg, &[]);
    let mut bad = reg.clone();
    common::set(&mut bad, "/reg_value/type_id", json!(42));
    common::set(&mut bad, "/reg_value/reg_integer_data", json!("1"));
    common::set(&mut bad, "/category_uid", json!(2));
    expect(
        &bad,
        &[
            ("/category_uid", C::WrongCategory),
            ("/reg_value/reg_integer_data", C::WrongType),
            ("/reg_value/type_id", C::InvalidEnumValue),
        ],
    );
}

#[test]
fn deterministic_and_sorted() {
    let mut e = process_launch();
    for (p, v) in [
        ("/zzz", json!(1)),
        ("/aaa", json!(1)),
        ("/process/pid", json!("x")),
        ("/severity_id", json!(1000)),
        ("/device/bogus", json!(1)),
    ] {
        common::set(&mut e, p, v);
    }
    let a = reference().validate(&e);
    let b = reference().validate(&e);
    assert_eq!(a, b);
    let mut sorted = a.clone();
    sorted.sort();
    assert_eq!(a, sorted);
    assert_eq!(
        common::codes(&a),
        [
            ("/aaa".to_string(), C::UnknownAttribute),
            ("/device/bogus".to_string(), C::UnknownAttribute),
            ("/process/pid".to_string(), C::WrongType),
            ("/severity_id".to_string(), C::InvalidEnumValue),
            ("/zzz".to_string(), C::UnknownAttribute),
        ]
    );
    // serialisable for reports
    let j = serde_json::to_value(&a[0]).expect("serialise");
    assert_eq!(j["code"], "unknown_attribute");
    assert_eq!(j["pointer"], "/aaa");
    assert_eq!(a[2].to_string().split(": ").next(), Some("/process/pid"));
}

#[test]
fn allowing_envelope_members() {
    let mut e = with("/metadata/run_id", json!("r1"));
    common::set(&mut e, "/metadata/event_id", json!("pa:eid:v1:0"));
    common::set(&mut e, "/process/pid", json!("x"));
    let v = reference().validate_allowing(&e, &["/metadata/run_id", "/metadata/event_id"]);
    assert_eq!(
        common::codes(&v),
        [("/process/pid".to_string(), C::WrongType)]
    );
    // a subtree is tolerated as a whole: the envelope's object-valued metadata.extensions
    let mut e = with(
        "/metadata/extensions",
        json!({"purple_axiom": {"raw_ref": {"kind": "file_cursor_v1"}}}),
    );
    assert_eq!(
        common::codes(&reference().validate(&e)),
        [("/metadata/extensions".to_string(), C::NotAnArray)]
    );
    common::set(&mut e, "/metadata/run_id", json!("r1"));
    assert_eq!(
        reference().validate_allowing(&e, &["/metadata/extensions", "/metadata/run_id"]),
        []
    );
    // but a pointer is not a string prefix: /metadata/run does not cover /metadata/run_id
    let v = reference().validate_allowing(&e, &["/metadata/run", "/metadata/extensions"]);
    assert_eq!(
        common::codes(&v),
        [("/metadata/run_id".to_string(), C::UnknownAttribute)]
    );
    // an empty pointer tolerates nothing (it would be the whole event)
    assert_eq!(reference().validate_allowing(&e, &[""]).len(), 2);
}

#[test]
fn constraints() {
    // actor.json: at_least_one of process, user, invoked_by, session, app_name, app_uid
    expect(
        &with("/actor", json!({})),
        &[("/actor", C::ConstraintFailed)],
    );
    expect(&with("/actor", json!({"app_name": "svc"})), &[]);
    // product extends _entity: at_least_one of name, uid
    expect(
        &with("/metadata/product", json!({"vendor_name": "Microsoft"})),
        &[("/metadata/product", C::ConstraintFailed)],
    );
    // process.json: at_least_one of pid, uid, cpid (it replaces process_entity's list)
    let mut e = process_launch();
    common::remove(&mut e, "/process/pid");
    expect(&e, &[("/process", C::ConstraintFailed)]);
    common::set(
        &mut e,
        "/process/uid",
        json!("{11111111-1111-1111-1111-111111111111}"),
    );
    expect(&e, &[]);
    // file.json declares "constraints": {} — _entity's name/uid rule does not apply
    let c = reference().object("file").expect("file");
    assert!(c.constraints.is_empty());
    assert_eq!(
        reference()
            .object("user")
            .expect("user")
            .constraints
            .at_least_one,
        ["account", "name", "uid"]
    );
}

#[test]
fn profiles_version_and_observable_names() {
    // a profile attribute needs its profile declared in metadata.profiles
    expect(
        &with("/time_dt", json!("2026-01-01T00:00:01Z")),
        &[("/time_dt", C::UndeclaredProfile)],
    );
    expect(
        &with("/process/auid", json!(4242)),
        &[("/process/auid", C::UndeclaredProfile)],
    );
    let mut e = with("/metadata/profiles", json!(["linux/linux_users"]));
    common::set(&mut e, "/process/auid", json!(4242));
    expect(&e, &[]);
    common::set(&mut e, "/process/auid", json!("4242"));
    expect(&e, &[("/process/auid", C::WrongType)]);
    // unknown profile names
    expect(
        &with("/metadata/profiles", json!(["host", "no_such_profile"])),
        &[("/metadata/profiles/1", C::UnknownProfile)],
    );
    expect(
        &with("/metadata/profiles", json!("host")),
        &[("/metadata/profiles", C::NotAnArray)],
    );
    // metadata.version must be the schema's
    expect(
        &with("/metadata/version", json!("1.6.0")),
        &[("/metadata/version", C::VersionMismatch)],
    );
    // observables[].name must be an attribute path of the class
    expect(
        &with("/observables/0/name", json!("process.file.path")),
        &[],
    );
    expect(
        &with("/observables/0/name", json!("process.file.bogus")),
        &[("/observables/0/name", C::UnknownObservableName)],
    );
    expect(
        &with("/observables/0/name", json!("time_dt")),
        &[("/observables/0/name", C::UnknownObservableName)],
    );
    // string enumerations are enforced too (http_request.json http_method)
    let http = json!({
        "class_uid": 4002, "category_uid": 4, "activity_id": 3, "type_uid": 400203,
        "severity_id": 1, "time": 1, "metadata": {"version": "1.7.0", "product": {"name": "p"}},
        "dst_endpoint": {"hostname": "example.com"},
        "http_request": {"http_method": "GET", "url": {"hostname": "example.com", "path": "/"}},
    });
    expect(&http, &[]);
    let mut bad = http.clone();
    common::set(&mut bad, "/http_request/http_method", json!("get"));
    expect(&bad, &[("/http_request/http_method", C::InvalidEnumValue)]);
    // a required attribute given as null is missing (and null)
    expect(
        &with("/severity_id", Value::Null),
        &[
            ("/severity_id", C::MissingRequired),
            ("/severity_id", C::NullValue),
        ],
    );
}

#[test]
fn advisory_warnings() {
    let s = reference();
    // the base event is valid and has nothing to warn about
    assert_eq!(s.warnings(&process_launch()), []);
    // activity_name must be the caption of activity_id (events/system/process_activity.json: 1 Launch)
    let e = with("/activity_name", json!("Launch"));
    assert_eq!(s.validate(&e), []);
    assert_eq!(s.warnings(&e), []);
    let e = with("/activity_name", json!("Start"));
    assert_eq!(s.validate(&e), []);
    let w = s.warnings(&e);
    assert_eq!(
        common::codes(&w),
        [("/activity_name".to_string(), C::SiblingMismatch)]
    );
    // severity 99 Other should carry the source's own word, not "Other"
    let mut e = with("/severity_id", json!(99));
    common::set(&mut e, "/severity", json!("Other"));
    assert_eq!(
        common::codes(&s.warnings(&e)),
        [("/severity".to_string(), C::SiblingMismatch)]
    );
    common::set(&mut e, "/severity", json!("Sev-7"));
    assert_eq!(s.warnings(&e), []);
    // deprecated attribute (metadata.extension, deprecated in favour of metadata.extensions)
    let e = with(
        "/metadata/extension",
        json!({"name": "x", "uid": "1", "version": "1"}),
    );
    assert_eq!(s.validate(&e), []);
    assert_eq!(
        common::codes(&s.warnings(&e)),
        [("/metadata/extension".to_string(), C::Deprecated)]
    );
    // deprecated class (Windows Registry Key Query, 205004, deprecated since 1.5.0)
    let q = json!({"class_uid": 205004});
    assert_eq!(
        common::codes(&s.warnings(&q)),
        [(String::new(), C::Deprecated)]
    );
    // deprecated enum value: account.type_id 3 (objects/account.json)
    let e = with("/actor/user/account", json!({"type_id": 3, "name": "a"}));
    assert_eq!(
        common::codes(&s.warnings(&e)),
        [("/actor/user/account/type_id".to_string(), C::Deprecated)]
    );
}

#[test]
fn hostile_inputs_do_not_panic() {
    let s = reference();
    // a 1000-deep parent_process chain: followed to a bounded depth, then reported
    let mut p = json!({"pid": 1});
    for _ in 0..1000 {
        p = json!({"pid": 1, "parent_process": p});
    }
    let e = with("/process", p);
    let v = s.validate(&e);
    assert!(
        v.iter()
            .any(|x| x.code == C::OutOfRange && x.message.contains("nesting"))
    );
    assert!(v.len() < 10, "{} violations", v.len());
    let _ = s.warnings(&e);
    // odd event shapes
    for e in [
        json!(null),
        json!(1007),
        json!("class_uid"),
        json!({}),
        json!({"class_uid": -1}),
        json!({"class_uid": 1.5e300}),
        json!({"class_uid": u64::MAX}),
        json!({"class_uid": 1007, "metadata": "x", "observables": [1, "x", null, {"name": 5}]}),
        json!({"class_uid": 1007, "metadata": {"profiles": [1, null, {}]}}),
        json!({"class_uid": 1007, "type_uid": u64::MAX, "activity_id": i64::MIN}),
        json!({"class_uid": 1007, "type_uid": 1, "activity_id": i64::MAX}),
        json!({"class_uid": 1007, "type_uid": i64::MIN, "activity_id": i64::MIN}),
    ] {
        let v = s.validate(&e);
        assert!(!v.is_empty(), "{e}");
        let _ = s.warnings(&e);
    }
}
