//! The OCSF schema extensions the envelope uses, declared in `metadata.extensions`.
//!
//! The Purple Axiom extension (`mappings/ocsf-extension/purple_axiom/extension.json`, see
//! `docs/adr/0004-ocsf-envelope-extension.md`) is compiled in: its `extension.json` is the one
//! place its name, uid and version are written, and the declaration every event carries is
//! derived from it.

use std::path::Path;

use serde_json::{Map, Value};

use pa_yaml::FileError;

/// The workspace path of the Purple Axiom extension definition (for error messages).
pub const PROJECT_EXTENSION_FILE: &str = "mappings/ocsf-extension/purple_axiom/extension.json";

/// The text of [`PROJECT_EXTENSION_FILE`], compiled in.
const PROJECT_EXTENSION_JSON: &str =
    include_str!("../../../mappings/ocsf-extension/purple_axiom/extension.json");

/// The OCSF `extension` object (`{name, uid, version}`, `uid` as text) of an extension
/// definition file's text; `origin` names the file in errors.
pub(crate) fn declaration_of(text: &str, origin: &Path) -> Result<Value, FileError> {
    let v: Value = serde_json::from_str(text)
        .map_err(|e| FileError::invalid(origin, e.line() as u64, format!("not JSON: {e}")))?;
    let field = |k: &str| -> Result<String, FileError> {
        match v.get(k) {
            Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
            Some(Value::Number(n)) if k == "uid" && n.is_u64() => Ok(n.to_string()),
            Some(other) => Err(FileError::invalid(
                origin,
                0,
                format!(
                    "extension {k} must be a non-empty string (uid: an unsigned integer), got {other}"
                ),
            )),
            None => Err(FileError::invalid(
                origin,
                0,
                format!("extension definition lacks {k}"),
            )),
        }
    };
    let mut m = Map::new();
    m.insert("name".into(), Value::String(field("name")?));
    m.insert("uid".into(), Value::String(field("uid")?));
    m.insert("version".into(), Value::String(field("version")?));
    Ok(Value::Object(m))
}

/// The declarations of the extensions every normalized event uses (the Purple Axiom one).
pub(crate) fn envelope_extensions() -> Result<Vec<Value>, FileError> {
    Ok(vec![declaration_of(
        PROJECT_EXTENSION_JSON,
        Path::new(PROJECT_EXTENSION_FILE),
    )?])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn declaration_from_the_definition() {
        let d = declaration_of(
            r#"{"uid": 999, "name": "purple_axiom", "version": "0.1.0", "caption": "x"}"#,
            Path::new("e.json"),
        )
        .unwrap();
        assert_eq!(
            d,
            json!({"name": "purple_axiom", "uid": "999", "version": "0.1.0"})
        );
        let shipped = envelope_extensions().unwrap();
        assert_eq!(shipped.len(), 1);
        assert_eq!(shipped[0]["name"], "purple_axiom");
    }

    #[test]
    fn bad_definitions_are_named_errors() {
        for bad in [
            "{",
            r#"{"name": "x", "version": "1"}"#,
            r#"{"name": "x", "uid": -3, "version": "1"}"#,
            r#"{"name": "", "uid": 1, "version": "1"}"#,
        ] {
            let e = declaration_of(bad, Path::new("ext/extension.json")).unwrap_err();
            assert!(e.to_string().contains("ext/extension.json"), "{e}");
        }
    }
}
