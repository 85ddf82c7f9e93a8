//! Sigma's YAML tree. Text is decoded by `pa-yaml` (the project's one strict decoder).
//!
//! Documents are decoded strictly (YAML 1.2 booleans, duplicate keys rejected, explicit budgets)
//! into an order-preserving tree so that rule authors' key order survives into explanations.
//! Plain scalars spelled as integers with redundant leading zeros (`00000429`, `0755`) stay strings
//! as written: Sigma treats values as strings, and such a spelling is an identifier (a keyboard
//! layout id, a mode), not the number it would otherwise collapse to (`429`).

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// An order-preserving YAML value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Yaml {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Yaml>),
    Map(Vec<(String, Yaml)>),
}

impl Yaml {
    /// Look a key up in a mapping.
    pub(crate) fn get(&self, key: &str) -> Option<&Yaml> {
        match self {
            Yaml::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The value as a string when it is a scalar (numbers and booleans rendered as text).
    pub(crate) fn scalar_text(&self) -> Option<String> {
        match self {
            Yaml::Str(s) => Some(s.clone()),
            Yaml::Int(i) => Some(i.to_string()),
            Yaml::Float(f) => Some(float_text(*f)),
            Yaml::Bool(b) => Some(b.to_string()),
            Yaml::Null | Yaml::Seq(_) | Yaml::Map(_) => None,
        }
    }

    /// A short name of the node kind, for error messages.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Yaml::Null => "null",
            Yaml::Bool(_) => "boolean",
            Yaml::Int(_) => "integer",
            Yaml::Float(_) => "float",
            Yaml::Str(_) => "string",
            Yaml::Seq(_) => "list",
            Yaml::Map(_) => "mapping",
        }
    }
}

/// Text form of a float as Sigma tooling prints it (`1.0` → `1`, `1.5` → `1.5`).
pub(crate) fn float_text(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

struct YamlVisitor;

impl<'de> Visitor<'de> for YamlVisitor {
    type Value = Yaml;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Yaml, E> {
        Ok(Yaml::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Yaml, E> {
        Ok(Yaml::Int(v))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Yaml, E> {
        Ok(i64::try_from(v).map_or(Yaml::Float(v as f64), Yaml::Int))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Yaml, E> {
        Ok(i64::try_from(v).map_or(Yaml::Float(v as f64), Yaml::Int))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Yaml, E> {
        Ok(i64::try_from(v).map_or(Yaml::Float(v as f64), Yaml::Int))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Yaml, E> {
        Ok(Yaml::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Yaml, E> {
        Ok(Yaml::Str(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Yaml, E> {
        Ok(Yaml::Str(v))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Yaml, E> {
        Ok(Yaml::Str(String::from_utf8_lossy(v).into_owned()))
    }
    fn visit_none<E: de::Error>(self) -> Result<Yaml, E> {
        Ok(Yaml::Null)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Yaml, E> {
        Ok(Yaml::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Yaml, D::Error> {
        Yaml::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Yaml, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element::<Yaml>()? {
            out.push(v);
        }
        Ok(Yaml::Seq(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Yaml, A::Error> {
        let mut out: Vec<(String, Yaml)> = Vec::new();
        while let Some(k) = map.next_key::<Yaml>()? {
            let key = match k {
                Yaml::Null => "null".to_owned(),
                other => other.scalar_text().ok_or_else(|| {
                    de::Error::custom(format!("a {} cannot be a mapping key", other.kind()))
                })?,
            };
            let v = map.next_value::<Yaml>()?;
            out.push((key, v));
        }
        Ok(Yaml::Map(out))
    }
}

impl<'de> Deserialize<'de> for Yaml {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Yaml, D::Error> {
        d.deserialize_any(YamlVisitor)
    }
}

/// Sigma's decoding options: merge keys as YAML 1.1 tooling expands them, leading-zero
/// integers kept as written, and room for large rule collections.
const OPTIONS: pa_yaml::YamlOptions = pa_yaml::YamlOptions {
    leading_zero_numbers_as_strings: true,
    allow_merge_keys: true,
    max_documents: 100_000,
};

/// Decode every non-empty document of a YAML stream, each with the 1-based line it starts on.
/// `file` names the stream in errors.
pub(crate) fn parse_documents(
    file: &std::path::Path,
    text: &str,
) -> Result<Vec<(u64, Yaml)>, pa_yaml::FileError> {
    pa_yaml::decode_yaml_documents_strict(file, text, &OPTIONS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_document_with_lines() {
        let docs = parse_documents(std::path::Path::new("r.yml"), "a: 1\n---\nb: [x, 2]\n")
            .expect("parses");
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].1.get("a"), Some(&Yaml::Int(1)));
        assert_eq!(docs[1].0, 3);
        assert_eq!(
            docs[1].1.get("b"),
            Some(&Yaml::Seq(vec![Yaml::Str("x".into()), Yaml::Int(2)]))
        );
    }

    #[test]
    fn strict_booleans_and_duplicates() {
        let docs =
            parse_documents(std::path::Path::new("r.yml"), "a: yes\nb: true\n").expect("parses");
        assert_eq!(docs[0].1.get("a"), Some(&Yaml::Str("yes".into())));
        assert_eq!(docs[0].1.get("b"), Some(&Yaml::Bool(true)));
        assert!(parse_documents(std::path::Path::new("r.yml"), "a: 1\na: 2\n").is_err());
        assert!(parse_documents(std::path::Path::new("r.yml"), "a: [1\n").is_err());
    }

    #[test]
    fn leading_zero_integers_stay_text() {
        let docs = parse_documents(
            std::path::Path::new("r.yml"),
            "a: [00000429, 0755, -007, 0, 429, 0x1F, 0.5, 010.5]\n",
        )
        .expect("parses");
        assert_eq!(
            docs[0].1.get("a"),
            Some(&Yaml::Seq(vec![
                Yaml::Str("00000429".into()),
                Yaml::Str("0755".into()),
                Yaml::Str("-007".into()),
                Yaml::Int(0),
                Yaml::Int(429),
                Yaml::Int(31),
                Yaml::Float(0.5),
                Yaml::Float(10.5),
            ]))
        );
    }
}
