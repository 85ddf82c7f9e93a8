//! The `detection` section (and the detection part of a filter): search identifiers with
//! their field items, modifiers and values, the conditions and the timeframe.

use super::{DetectionItem, RuleValue, Selection};
use crate::yaml::Yaml;
use std::collections::BTreeMap;

/// Parse a `detection`-like mapping into search identifiers, conditions and timeframe.
#[allow(clippy::type_complexity)]
pub(super) fn parse_detection(
    det: &Yaml,
) -> Result<(BTreeMap<String, Selection>, Vec<String>, Option<String>), String> {
    let Yaml::Map(entries) = det else {
        return Err(format!("detection is a {}, expected a mapping", det.kind()));
    };
    let mut selections = BTreeMap::new();
    let mut conditions = Vec::new();
    let mut timeframe = None;
    for (name, value) in entries {
        match name.as_str() {
            "condition" => match value {
                Yaml::Seq(items) => {
                    for c in items {
                        conditions.push(c.scalar_text().ok_or_else(|| {
                            format!("condition list holds a {}, expected strings", c.kind())
                        })?);
                    }
                }
                other => conditions.push(other.scalar_text().ok_or_else(|| {
                    format!("condition is a {}, expected a string", other.kind())
                })?),
            },
            "timeframe" => timeframe = value.scalar_text(),
            _ => {
                let sel = parse_selection(value).map_err(|e| format!("selection `{name}`: {e}"))?;
                selections.insert(name.clone(), sel);
            }
        }
    }
    if conditions.is_empty() {
        return Err("detection has no condition".into());
    }
    Ok((selections, conditions, timeframe))
}

fn split_key(key: &str) -> (Option<String>, Vec<String>) {
    let mut parts = key.split('|');
    let field = parts.next().unwrap_or("").trim().to_owned();
    let mods = parts.map(|m| m.trim().to_owned()).collect();
    ((!field.is_empty()).then_some(field), mods)
}

fn parse_values(v: &Yaml) -> Result<Vec<RuleValue>, String> {
    match v {
        Yaml::Seq(items) => {
            if items.is_empty() {
                return Err("empty value list".into());
            }
            items
                .iter()
                .map(|i| {
                    RuleValue::from_yaml(i).ok_or_else(|| {
                        format!("a value list holds a {}, expected scalars", i.kind())
                    })
                })
                .collect()
        }
        Yaml::Map(_) => Err("a field value is a mapping, expected a scalar or a list".into()),
        other => Ok(RuleValue::from_yaml(other).into_iter().collect()),
    }
}

fn parse_map_branch(entries: &[(String, Yaml)]) -> Result<Vec<DetectionItem>, String> {
    let mut items = Vec::new();
    for (k, v) in entries {
        let (field, modifiers) = split_key(k);
        let values = parse_values(v).map_err(|e| format!("`{k}`: {e}"))?;
        items.push(DetectionItem {
            field,
            modifiers,
            values,
        });
    }
    if items.is_empty() {
        return Err("empty mapping".into());
    }
    Ok(items)
}

fn parse_selection(v: &Yaml) -> Result<Selection, String> {
    match v {
        Yaml::Map(entries) => Ok(Selection {
            branches: vec![parse_map_branch(entries)?],
        }),
        Yaml::Seq(items) => {
            if items.is_empty() {
                return Err("empty list".into());
            }
            if items.iter().all(|i| RuleValue::from_yaml(i).is_some()) {
                let values = parse_values(v)?;
                return Ok(Selection {
                    branches: vec![vec![DetectionItem {
                        field: None,
                        modifiers: Vec::new(),
                        values,
                    }]],
                });
            }
            let mut branches = Vec::new();
            for i in items {
                match i {
                    Yaml::Map(entries) => branches.push(parse_map_branch(entries)?),
                    Yaml::Seq(_) => return Err("a list inside a selection list".into()),
                    scalar => branches.push(vec![DetectionItem {
                        field: None,
                        modifiers: Vec::new(),
                        values: RuleValue::from_yaml(scalar).into_iter().collect(),
                    }]),
                }
            }
            Ok(Selection { branches })
        }
        Yaml::Null => Err("empty search identifier (null)".into()),
        scalar => Ok(Selection {
            branches: vec![vec![DetectionItem {
                field: None,
                modifiers: Vec::new(),
                values: RuleValue::from_yaml(scalar).into_iter().collect(),
            }]],
        }),
    }
}
