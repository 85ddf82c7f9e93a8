//! Helpers shared by the modules: comparing violations and editing events at JSON pointers.

use pa_ocsf_schema::{OcsfSchema, Violation, ViolationCode as C};
use serde_json::Value;

/// The (pointer, code) of each violation, in order.
pub fn codes(vs: &[Violation]) -> Vec<(String, C)> {
    vs.iter().map(|v| (v.pointer.clone(), v.code)).collect()
}

/// `schema` finds exactly the violations `want` (pointer and code, in order) in `event`, each
/// with a message.
#[track_caller]
pub fn expect_with(schema: &OcsfSchema, event: &Value, want: &[(&str, C)]) {
    let got = schema.validate(event);
    let want: Vec<(String, C)> = want.iter().map(|(p, c)| (p.to_string(), *c)).collect();
    assert_eq!(codes(&got), want, "violations: {got:#?}");
    for v in &got {
        assert!(!v.message.is_empty());
    }
}

/// Set the member at a JSON pointer (parents must exist; an array index one past the end
/// appends).
pub fn set(event: &mut Value, pointer: &str, v: Value) {
    let (parent, key) = pointer.rsplit_once('/').expect("pointer");
    match event.pointer_mut(parent).expect("parent exists") {
        Value::Object(m) => {
            m.insert(key.to_string(), v);
        }
        // an index one past the end appends
        Value::Array(a) => match key.parse::<usize>().expect("index") {
            i if i == a.len() => a.push(v),
            i => a[i] = v,
        },
        _ => panic!("parent of {pointer} is a scalar"),
    }
}

/// Remove the member at a JSON pointer (it must exist, in an object) and return it.
pub fn remove(event: &mut Value, pointer: &str) -> Value {
    let (parent, key) = pointer.rsplit_once('/').expect("pointer");
    event
        .pointer_mut(parent)
        .and_then(Value::as_object_mut)
        .expect("parent object")
        .remove(key)
        .expect("member exists")
}
