//! Reading OCSF events (as JSON) the way the bridge's paths and filters mean them.

use serde_json::Value;

use crate::bridge::Route;
use crate::model::FilterOp;

/// All values at a dotted `path` in `event`; arrays met on the way are traversed (each
/// element is followed), and an array at the end contributes its elements. Missing → empty.
pub fn values_at<'a>(event: &'a Value, path: &str) -> Vec<&'a Value> {
    let mut cur: Vec<&Value> = vec![event];
    for seg in path.split('.') {
        let mut next = Vec::new();
        for v in cur {
            match v {
                Value::Object(m) => {
                    if let Some(x) = m.get(seg) {
                        next.push(x);
                    }
                }
                Value::Array(xs) => {
                    for x in xs {
                        if let Some(y) = x.as_object().and_then(|m| m.get(seg)) {
                            next.push(y);
                        }
                    }
                }
                _ => {}
            }
        }
        cur = next;
    }
    cur.into_iter()
        .flat_map(|v| match v {
            Value::Array(xs) => xs.iter().collect::<Vec<_>>(),
            other => vec![other],
        })
        .filter(|v| !v.is_null())
        .collect()
}

/// Scalar → comparable text (strings as-is, numbers and booleans printed), else `None`.
fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn eq_scalar(a: &Value, b: &Value) -> bool {
    match (scalar_text(a), scalar_text(b)) {
        (Some(x), Some(y)) => x.to_lowercase() == y.to_lowercase(),
        _ => false,
    }
}

impl Route {
    /// Whether an OCSF event is in this route's scope: its `class_uid` is one of the route's
    /// classes and every filter holds (string comparison, case-insensitive; a missing path
    /// fails the filter).
    pub fn in_scope(&self, event: &Value) -> bool {
        let class_ok = event
            .get("class_uid")
            .and_then(Value::as_u64)
            .is_some_and(|c| self.class_uids.iter().any(|u| u64::from(*u) == c));
        class_ok
            && self.filters.iter().all(|f| {
                let have = values_at(event, &f.path);
                match f.op {
                    FilterOp::Eq => have.iter().any(|h| eq_scalar(h, &f.value)),
                    FilterOp::In => f.value.as_array().is_some_and(|want| {
                        have.iter().any(|h| want.iter().any(|w| eq_scalar(h, w)))
                    }),
                    FilterOp::NotIn => f.value.as_array().is_some_and(|want| {
                        !have.iter().any(|h| want.iter().any(|w| eq_scalar(h, w)))
                    }),
                }
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Filter;
    use serde_json::json;

    #[test]
    fn values_traverse_arrays_and_skip_missing() {
        let e =
            json!({"process": {"file": {"hashes": [{"value": "a"}, {"value": "b"}], "path": "p"}}});
        let got: Vec<&str> = values_at(&e, "process.file.hashes.value")
            .into_iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(got, ["a", "b"]);
        assert_eq!(values_at(&e, "process.file.path"), [&json!("p")]);
        assert!(values_at(&e, "process.cmd_line").is_empty());
    }

    #[test]
    fn scope_needs_class_and_every_filter() {
        let r = Route {
            route_id: "r".into(),
            class_uids: vec![1009],
            filters: vec![Filter {
                path: "metadata.log_name".into(),
                op: FilterOp::In,
                value: json!(["A", "B"]),
            }],
            alias_set: "s".into(),
        };
        assert!(r.in_scope(&json!({"class_uid": 1009, "metadata": {"log_name": "b"}})));
        assert!(!r.in_scope(&json!({"class_uid": 1009, "metadata": {"log_name": "c"}})));
        assert!(!r.in_scope(&json!({"class_uid": 1009})));
        assert!(!r.in_scope(&json!({"class_uid": 1007, "metadata": {"log_name": "A"}})));
        let not_in = Route {
            filters: vec![Filter {
                path: "activity_id".into(),
                op: FilterOp::NotIn,
                value: json!([2, 3]),
            }],
            ..r
        };
        assert!(not_in.in_scope(&json!({"class_uid": 1009, "activity_id": 1})));
        assert!(
            not_in.in_scope(&json!({"class_uid": 1009})),
            "a missing path holds"
        );
        assert!(!not_in.in_scope(&json!({"class_uid": 1009, "activity_id": 3})));
    }
}
