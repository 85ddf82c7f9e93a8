//! `bridge/router_table.json` and `bridge/mapping_pack_snapshot.json` (RFC 8785 JSON with a
//! `sha256:` digest over the canonical form of the document without its own digest field).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::bridge::{Bridge, OCSF_VERSION};
use crate::error::DocumentError;

/// Canonical (RFC 8785) bytes of a JSON value.
pub fn canonical_bytes(what: &'static str, v: &Value) -> Result<Vec<u8>, DocumentError> {
    serde_json_canonicalizer::to_vec(v).map_err(|e| DocumentError::Canonical {
        what,
        message: e.to_string(),
    })
}

/// `"sha256:" + hex(sha256(JCS(v)))`.
pub fn jcs_sha256(what: &'static str, v: &Value) -> Result<String, DocumentError> {
    let bytes = canonical_bytes(what, v)?;
    Ok(format!("sha256:{}", hex::encode(Sha256::digest(&bytes))))
}

fn to_value<T: Serialize>(what: &'static str, v: &T) -> Result<Value, DocumentError> {
    serde_json::to_value(v).map_err(|e| DocumentError::Canonical {
        what,
        message: e.to_string(),
    })
}

/// Insert `digest_key` = digest of `doc` (which must not yet contain it).
fn seal(
    what: &'static str,
    mut doc: Map<String, Value>,
    digest_key: &str,
) -> Result<Value, DocumentError> {
    let digest = jcs_sha256(what, &Value::Object(doc.clone()))?;
    doc.insert(digest_key.to_string(), Value::String(digest));
    Ok(Value::Object(doc))
}

/// A built document: its JSON value and its RFC 8785 bytes (no trailing newline).
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// The document.
    pub value: Value,
    /// Canonical bytes to write.
    pub bytes: Vec<u8>,
    /// The document's own digest (`sha256:<hex>`).
    pub sha256: String,
}

impl Bridge {
    /// `bridge/router_table.json`.
    pub fn router_table_document(&self) -> Result<Document, DocumentError> {
        const WHAT: &str = "router_table";
        let mut routes = Vec::new();
        for r in &self.routes {
            let mut ls = Map::new();
            for (k, v) in [
                ("category", &r.logsource.category),
                ("product", &r.logsource.product),
                ("service", &r.logsource.service),
            ] {
                if let Some(v) = v {
                    ls.insert(k.to_string(), Value::String(v.clone()));
                }
            }
            if r.exact {
                ls.insert("exact".to_string(), Value::Bool(true));
            }
            let mut route = Map::new();
            route.insert("route_id".into(), Value::String(r.route_id.clone()));
            route.insert("sigma_logsource".into(), Value::Object(ls));
            route.insert("ocsf_scope".into(), json!({ "class_uids": r.class_uids }));
            route.insert("filters".into(), to_value(WHAT, &r.filters)?);
            route.insert("alias_set".into(), Value::String(r.alias_set.clone()));
            if !r.alias_sets_by_class.is_empty() {
                route.insert(
                    "alias_sets_by_class".into(),
                    Value::Object(
                        r.alias_sets_by_class
                            .iter()
                            .map(|(c, s)| (c.to_string(), Value::String(s.clone())))
                            .collect(),
                    ),
                );
            }
            if let Some(n) = &r.notes {
                route.insert("notes".into(), Value::String(n.clone()));
            }
            routes.push(Value::Object(route));
        }
        let mut doc = Map::new();
        doc.insert(
            "router_table_id".into(),
            Value::String(self.router.router_table_id.clone()),
        );
        doc.insert(
            "router_table_version".into(),
            Value::String(self.router.router_table_version.clone()),
        );
        doc.insert("ocsf_version".into(), Value::String(OCSF_VERSION.into()));
        doc.insert("routes".into(), Value::Array(routes));
        finish(
            WHAT,
            seal(WHAT, doc, "router_table_sha256")?,
            "router_table_sha256",
        )
    }

    /// `bridge/mapping_pack_snapshot.json` (references the router table by digest).
    pub fn mapping_pack_snapshot_document(&self) -> Result<Document, DocumentError> {
        const WHAT: &str = "mapping_pack_snapshot";
        let router = self.router_table_document()?;
        let mut field_aliases = Map::new();
        let mut fallback_sets = Map::new();
        for (name, set) in &self.alias_sets {
            let mut fields = Map::new();
            for (k, a) in &set.fields {
                let v = if a.by_class.is_empty() {
                    Value::String(a.path.clone().unwrap_or_default())
                } else {
                    let by: BTreeMap<String, &String> =
                        a.by_class.iter().map(|(c, p)| (c.to_string(), p)).collect();
                    let mut m = Map::new();
                    m.insert("by_class".into(), to_value(WHAT, &by)?);
                    if let Some(p) = &a.path {
                        m.insert("path".into(), Value::String(p.clone()));
                    }
                    Value::Object(m)
                };
                fields.insert(k.clone(), v);
            }
            field_aliases.insert(name.clone(), Value::Object(fields));
            fallback_sets.insert(name.clone(), to_value(WHAT, &set.fallback)?);
        }
        let mut doc = Map::new();
        doc.insert(
            "mapping_pack_id".into(),
            Value::String(self.pack.mapping_pack_id.clone()),
        );
        doc.insert(
            "mapping_pack_version".into(),
            Value::String(self.pack.mapping_pack_version.clone()),
        );
        doc.insert("ocsf_version".into(), Value::String(OCSF_VERSION.into()));
        doc.insert(
            "router_table_ref".into(),
            json!({
                "router_table_id": self.router.router_table_id,
                "router_table_version": self.router.router_table_version,
                "router_table_sha256": router.sha256,
            }),
        );
        doc.insert("field_aliases".into(), Value::Object(field_aliases));
        doc.insert(
            "fallback_policy".into(),
            json!({
                "enabled": self.pack.fallback_enabled,
                "default_prefix": self.pack.default_prefix,
                "alias_sets": Value::Object(fallback_sets),
            }),
        );
        finish(
            WHAT,
            seal(WHAT, doc, "mapping_pack_sha256")?,
            "mapping_pack_sha256",
        )
    }
}

fn finish(what: &'static str, value: Value, key: &str) -> Result<Document, DocumentError> {
    let bytes = canonical_bytes(what, &value)?;
    let sha256 = value
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    Ok(Document {
        value,
        bytes,
        sha256,
    })
}

/// Recompute a sealed document's digest (the value of `digest_key` removed) and compare.
pub fn verify_digest(
    what: &'static str,
    doc: &Value,
    digest_key: &str,
) -> Result<bool, DocumentError> {
    let Some(obj) = doc.as_object() else {
        return Ok(false);
    };
    let Some(claimed) = obj.get(digest_key).and_then(Value::as_str) else {
        return Ok(false);
    };
    let mut rest = obj.clone();
    rest.remove(digest_key);
    Ok(jcs_sha256(what, &Value::Object(rest))? == claimed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_is_sha256_of_the_canonical_form() {
        // key order and number spelling do not matter; the digest is over RFC 8785 bytes
        let v: Value = serde_json::from_str(r#"{"b":[1,2.50,true,null],"a":"x"}"#).expect("json");
        assert_eq!(
            canonical_bytes("t", &v).expect("jcs"),
            br#"{"a":"x","b":[1,2.5,true,null]}"#
        );
        assert_eq!(
            jcs_sha256("t", &v).expect("digest"),
            "sha256:eefd48e492206a5b6adb10ad876ec7cc056518581617631bafb28ef496c571f9"
        );
        let sealed = seal("t", v.as_object().cloned().expect("object"), "d").expect("seal");
        assert!(verify_digest("t", &sealed, "d").expect("verify"));
        assert!(!verify_digest("t", &json!({"a": 1}), "d").expect("no digest"));
    }
}
