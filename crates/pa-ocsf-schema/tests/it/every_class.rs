//! For every class of OCSF 1.7.0, generate events from the resolved model (every attribute
//! down to depth 2, required ones below) with values of the declared types, and check the
//! validator accepts them; then break each one and check it is caught. This exercises every
//! object type, enumeration and string form reachable from a class.

use pa_ocsf_schema::{
    AttrDef, BaseType, Constraints, OcsfSchema, Requirement, ViolationCode, reference,
    reference_with_project_extensions,
};
use serde_json::{Map, Value, json};

fn sample_string(type_name: &str) -> Value {
    json!(match type_name {
        "ip_t" => "192.0.2.1",
        "subnet_t" => "192.0.2.0/24",
        "mac_t" => "00:00:5e:00:53:01",
        "datetime_t" => "2026-01-01T00:00:00.5Z",
        "email_t" => "alice@example.com",
        "file_hash_t" => "3172ac7e2b55cbb81f04a6e65855a628",
        "uuid_t" => "123e4567-e89b-12d3-a456-426614174000",
        "bytestring_t" => "aGVsbG8=",
        "url_t" => "https://example.com/x",
        _ => "x",
    })
}

fn sample(schema: &OcsfSchema, a: &AttrDef, depth: usize) -> Value {
    let one = match &a.base {
        BaseType::String => match &a.string_enum_values {
            Some(e) => json!(e.keys().next().expect("values")),
            None => sample_string(&a.type_name),
        },
        BaseType::Integer | BaseType::Long => match (&a.enum_values, a.range) {
            (Some(e), _) => json!(e.keys().next_back().copied().unwrap_or(0)),
            (None, Some((lo, hi))) => json!((lo + hi) / 2),
            (None, None) => json!(1_767_225_601_000_i64),
        },
        BaseType::Float => json!(0.5),
        BaseType::Boolean => json!(true),
        BaseType::Json => json!({"any": ["thing", 1, null]}),
        BaseType::Object(name) if name == "object" => json!({"free": {"form": 1}}),
        BaseType::Object(name) => {
            let o = schema.object(name).expect("object type exists");
            Value::Object(fill(schema, &o.attributes, &o.constraints, depth + 1))
        }
    };
    if a.is_array { json!([one]) } else { one }
}

fn fill(
    schema: &OcsfSchema,
    attrs: &std::collections::BTreeMap<String, AttrDef>,
    constraints: &Constraints,
    depth: usize,
) -> Map<String, Value> {
    let mut m = Map::new();
    for a in attrs.values() {
        let wanted = if depth < 2 {
            a.deprecated.is_none()
        } else {
            a.requirement == Requirement::Required && a.profile.is_none()
        };
        if wanted {
            m.insert(a.name.clone(), sample(schema, a, depth));
        }
    }
    // satisfy the constraints: add the first listed attribute if none is present, keep only
    // the first present one of a just_one list
    if !constraints.at_least_one.iter().any(|a| m.contains_key(a)) {
        if let Some(a) = constraints.at_least_one.iter().find_map(|a| attrs.get(a)) {
            m.insert(a.name.clone(), sample(schema, a, depth));
        } else if let Some(path) = constraints.at_least_one.first() {
            // a dotted entry (patch_state: device.os.version): set the leaf
            let mut at = &mut m;
            let mut cur = attrs;
            let segs: Vec<&str> = path.split('.').collect();
            for (i, seg) in segs.iter().enumerate() {
                let a = cur.get(*seg).expect("constraint path exists");
                if i + 1 == segs.len() {
                    at.insert(a.name.clone(), sample(schema, a, 9));
                    break;
                }
                let o = schema
                    .object(a.object_type().expect("object"))
                    .expect("object");
                cur = &o.attributes;
                at = at
                    .entry(a.name.clone())
                    .or_insert_with(|| json!({}))
                    .as_object_mut()
                    .expect("object value");
            }
        }
    }
    if !constraints.just_one.is_empty() {
        let mut kept = false;
        for name in &constraints.just_one {
            if m.contains_key(name) {
                if kept {
                    m.remove(name);
                }
                kept = true;
            }
        }
        if !kept {
            if let Some(a) = constraints.just_one.iter().find_map(|a| attrs.get(a)) {
                m.insert(a.name.clone(), sample(schema, a, depth));
            }
        }
    }
    m
}

#[test]
fn generated_events_of_every_class_are_valid_and_breakable() {
    every_class(reference());
}

/// The same with the Purple Axiom extension: its `metadata` attributes (required ones,
/// `pa_raw_ref` with its `just_one` constraint, the `identity_tier` and `kind`
/// enumerations) are generated into every class too.
#[test]
fn generated_events_with_the_project_extension_are_valid_and_breakable() {
    let s = reference_with_project_extensions();
    let md = s.object("metadata").expect("metadata");
    assert!(md.attributes["raw_ref"].extension.as_deref() == Some("purple_axiom"));
    every_class(s);
}

fn every_class(s: &OcsfSchema) {
    let mut checked = 0;
    let mut attrs_total = 0usize;
    for c in s.classes() {
        let mut ev = fill(s, &c.attributes, &c.constraints, 0);
        let activity = *c.activities().keys().next_back().expect("activities");
        ev.insert("class_uid".into(), json!(c.uid));
        ev.insert("category_uid".into(), json!(c.category_uid));
        ev.insert("activity_id".into(), json!(activity));
        ev.insert("type_uid".into(), json!(i64::from(c.uid) * 100 + activity));
        // every profile is declared, so profile attributes (cloud, osint, time_dt,
        // process.auid...) are allowed, and required ones (cloud, osint) are filled in
        let profiles: Vec<Value> = s.profiles().iter().map(|p| json!(p)).collect();
        ev["metadata"]["profiles"] = Value::Array(profiles);
        ev["metadata"]["version"] = json!("1.7.0");
        // and every extension, so the attributes extensions patch in (process.hosted_services,
        // metadata.run_id...) are allowed
        let exts: Vec<Value> = s.extensions().iter().map(|e| e.declaration()).collect();
        ev["metadata"]["extensions"] = Value::Array(exts);
        ev["observables"][0]["name"] = json!("metadata.version");
        let ev = Value::Object(ev);
        attrs_total += count_leaves(&ev);
        let v = s.validate(&ev);
        assert!(v.is_empty(), "class {} ({}): {v:#?}", c.uid, c.name);

        // break it: an unknown member two levels down, and the class's category
        let mut bad = ev.clone();
        bad["metadata"]["product"]["no_such_attribute"] = json!(1);
        bad["category_uid"] = json!(c.category_uid + 1);
        let v = s.validate(&bad);
        let got: Vec<(&str, ViolationCode)> =
            v.iter().map(|x| (x.pointer.as_str(), x.code)).collect();
        assert_eq!(
            got,
            [
                ("/category_uid", ViolationCode::WrongCategory),
                (
                    "/metadata/product/no_such_attribute",
                    ViolationCode::UnknownAttribute
                ),
            ],
            "class {}",
            c.uid
        );
        checked += 1;
    }
    assert_eq!(checked, 83);
    eprintln!("validated {checked} generated events, {attrs_total} leaf values");
}

fn count_leaves(v: &Value) -> usize {
    match v {
        Value::Object(m) => m.values().map(count_leaves).sum(),
        Value::Array(a) => a.iter().map(count_leaves).sum(),
        _ => 1,
    }
}
