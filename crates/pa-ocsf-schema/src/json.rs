//! JSON helpers for the loader: reading files with located errors and the left-precedence
//! deep merge the OCSF source format is built on.

use std::path::Path;

use serde_json::{Map, Value};

use crate::error::SchemaError;

/// Read and parse a JSON file; errors name the file (and line/column for syntax errors).
pub(crate) fn read_json(path: &Path) -> Result<Value, SchemaError> {
    let text = std::fs::read_to_string(path).map_err(|source| SchemaError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| SchemaError::Json {
        path: path.to_path_buf(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })
}

/// Read a JSON file that must hold an object.
pub(crate) fn read_object(path: &Path) -> Result<Map<String, Value>, SchemaError> {
    match read_json(path)? {
        Value::Object(m) => Ok(m),
        other => Err(SchemaError::format(
            path,
            format!(
                "expected a JSON object at the top level, found {}",
                kind(&other)
            ),
        )),
    }
}

/// A short name of a JSON value's kind, for messages.
pub(crate) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "an integer",
        Value::Number(_) => "a float",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Merge `right` into `left`; `left` wins wherever both define a member.
///
/// Objects merge member by member (recursively); arrays merge as ordered sets (left's
/// elements first, then right's elements not already present); for anything else the left
/// value is kept. A member that is explicitly `null` on the left stays `null`: the OCSF
/// source uses `"profile": null` to take an attribute out of a profile.
pub(crate) fn deep_merge(left: &mut Value, right: &Value) {
    match (left, right) {
        (Value::Object(l), Value::Object(r)) => merge_maps(l, r),
        (Value::Array(l), Value::Array(r)) => {
            for x in r {
                if !l.contains(x) {
                    l.push(x.clone());
                }
            }
        }
        _ => {}
    }
}

/// [`deep_merge`] for two maps.
pub(crate) fn merge_maps(left: &mut Map<String, Value>, right: &Map<String, Value>) {
    for (k, rv) in right {
        match left.get_mut(k) {
            Some(lv) => deep_merge(lv, rv),
            None => {
                left.insert(k.clone(), rv.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn left_wins_and_maps_union() {
        let mut l = json!({"a": 1, "e": {"0": "x"}, "p": null, "l": [1, 2]});
        let r = json!({"a": 2, "b": 3, "e": {"0": "y", "99": "z"}, "p": "host", "l": [2, 3]});
        deep_merge(&mut l, &r);
        assert_eq!(
            l,
            json!({"a": 1, "b": 3, "e": {"0": "x", "99": "z"}, "p": null, "l": [1, 2, 3]})
        );
    }

    #[test]
    fn kinds() {
        assert_eq!(kind(&json!(1)), "an integer");
        assert_eq!(kind(&json!(1.5)), "a float");
        assert_eq!(kind(&json!("s")), "a string");
        assert_eq!(kind(&json!(null)), "null");
    }
}
