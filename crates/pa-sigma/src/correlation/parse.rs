//! The `correlation` section of a Sigma document, as written (checked against the rest of the
//! set by [`super::compile`]).

use crate::rule::CorrelationRule;
use crate::yaml::Yaml;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The correlation types of the Sigma correlation specification 2.1.0.
pub const CORRELATION_TYPES: [&str; 7] = [
    "event_count",
    "value_count",
    "temporal",
    "temporal_ordered",
    "value_sum",
    "value_avg",
    "value_percentile",
];

/// The comparison keys of a correlation `condition`.
pub const CONDITION_OPS: [&str; 6] = ["gt", "gte", "lt", "lte", "eq", "neq"];

fn str_list(y: Option<&Yaml>) -> Result<Vec<String>, String> {
    match y {
        None | Some(Yaml::Null) => Ok(Vec::new()),
        Some(Yaml::Seq(items)) => items
            .iter()
            .map(|i| {
                i.scalar_text()
                    .ok_or_else(|| format!("list item is a {}, expected a string", i.kind()))
            })
            .collect(),
        Some(y) => y
            .scalar_text()
            .map(|s| vec![s])
            .ok_or_else(|| format!("is a {}, expected a string or a list", y.kind())),
    }
}

/// Parse a document holding `correlation:` (title, file, line and digest are set by the caller).
pub(crate) fn parse_correlation(body: &Yaml) -> Result<CorrelationRule, String> {
    let c = body.get("correlation").ok_or("missing `correlation`")?;
    if !matches!(c, Yaml::Map(_)) {
        return Err(format!(
            "`correlation` is a {}, expected a mapping",
            c.kind()
        ));
    }
    let ctype = c
        .get("type")
        .and_then(Yaml::scalar_text)
        .ok_or("`correlation.type` is missing")?;
    if !CORRELATION_TYPES.contains(&ctype.as_str()) {
        return Err(format!(
            "unknown correlation type `{ctype}` (expected one of {})",
            CORRELATION_TYPES.join(", ")
        ));
    }
    let rules = str_list(c.get("rules")).map_err(|e| format!("`correlation.rules` {e}"))?;
    if rules.is_empty() {
        return Err("`correlation.rules` names no rule".into());
    }
    let group_by =
        str_list(c.get("group-by")).map_err(|e| format!("`correlation.group-by` {e}"))?;
    let mut condition = BTreeMap::new();
    let mut condition_fields = Vec::new();
    match c.get("condition") {
        None | Some(Yaml::Null) => {}
        Some(Yaml::Map(entries)) => {
            for (k, v) in entries {
                if k == "field" {
                    condition_fields = str_list(Some(v))
                        .map_err(|e| format!("`correlation.condition.field` {e}"))?;
                } else if CONDITION_OPS.contains(&k.as_str()) {
                    let text = match v {
                        Yaml::Int(_) | Yaml::Float(_) => v.scalar_text().unwrap_or_default(),
                        Yaml::Str(s) if crate::event::parse_number(s).is_some() => s.clone(),
                        other => {
                            return Err(format!(
                                "`correlation.condition.{k}` is a {}, expected a number",
                                other.kind()
                            ));
                        }
                    };
                    condition.insert(k.clone(), text);
                } else {
                    return Err(format!(
                        "unknown key `{k}` in `correlation.condition` (expected field, {})",
                        CONDITION_OPS.join(", ")
                    ));
                }
            }
        }
        Some(other) => {
            return Err(format!(
                "`correlation.condition` is a {}, expected a mapping",
                other.kind()
            ));
        }
    }
    let mut aliases = BTreeMap::new();
    match c.get("aliases") {
        None | Some(Yaml::Null) => {}
        Some(Yaml::Map(entries)) => {
            for (alias, per_rule) in entries {
                let Yaml::Map(m) = per_rule else {
                    return Err(format!(
                        "`correlation.aliases.{alias}` is a {}, expected a mapping of rule name to field",
                        per_rule.kind()
                    ));
                };
                let mut fields = BTreeMap::new();
                for (rule, field) in m {
                    let f = field.scalar_text().ok_or_else(|| {
                        format!(
                            "`correlation.aliases.{alias}.{rule}` is a {}, expected a field name",
                            field.kind()
                        )
                    })?;
                    fields.insert(rule.clone(), f);
                }
                aliases.insert(alias.clone(), fields);
            }
        }
        Some(other) => {
            return Err(format!(
                "`correlation.aliases` is a {}, expected a mapping",
                other.kind()
            ));
        }
    }
    let generate = match body.get("generate").or_else(|| c.get("generate")) {
        None | Some(Yaml::Null) => None,
        Some(Yaml::Bool(b)) => Some(*b),
        Some(other) => {
            return Err(format!(
                "`generate` is a {}, expected true or false",
                other.kind()
            ));
        }
    };
    let timespan = c
        .get("timespan")
        .or_else(|| c.get("timeframe"))
        .and_then(Yaml::scalar_text);
    Ok(CorrelationRule {
        id: body.get("id").and_then(Yaml::scalar_text),
        name: body.get("name").and_then(Yaml::scalar_text),
        title: String::new(),
        level: body.get("level").and_then(Yaml::scalar_text),
        technique_ids: crate::rule::technique_ids(&str_list(body.get("tags")).unwrap_or_default()),
        correlation_type: ctype,
        rules,
        group_by,
        timespan,
        condition,
        condition_fields,
        aliases,
        generate,
        file: PathBuf::new(),
        line: 0,
        rule_sha256: String::new(),
    })
}
