//! Compiling a transform from its `op` and `args` (the error says which op/arg is wrong).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::{Part, TimeFormat, Transform};

/// What a transform may refer to while compiling.
pub(crate) struct CompileEnv<'a> {
    pub sets: &'a BTreeMap<String, Vec<String>>,
    pub tables: &'a BTreeMap<String, BTreeMap<String, Value>>,
}

fn arg_str<'a>(args: &'a BTreeMap<String, Value>, k: &str) -> Result<Option<&'a str>, String> {
    match args.get(k) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(v) => Err(format!("arg {k} must be a string, got {v}")),
    }
}

fn arg_bool(args: &BTreeMap<String, Value>, k: &str) -> Result<bool, String> {
    match args.get(k) {
        None => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(v) => Err(format!("arg {k} must be true or false, got {v}")),
    }
}

fn arg_int(args: &BTreeMap<String, Value>, k: &str) -> Result<Option<i64>, String> {
    match args.get(k) {
        None => Ok(None),
        Some(v) => v
            .as_i64()
            .map(Some)
            .ok_or_else(|| format!("arg {k} must be an integer, got {v}")),
    }
}

fn part(args: &BTreeMap<String, Value>, first: &str, second: &str) -> Result<Part, String> {
    match arg_str(args, "part")? {
        Some(p) if p == first => Ok(Part::First),
        Some(p) if p == second => Ok(Part::Second),
        other => Err(format!(
            "arg part must be {first:?} or {second:?}, got {other:?}"
        )),
    }
}

impl Transform {
    /// Compile `op` with `args`; the error says which op/arg is wrong.
    pub(crate) fn compile(
        op: &str,
        args: &BTreeMap<String, Value>,
        env: &CompileEnv<'_>,
    ) -> Result<Transform, String> {
        let allowed: &[&str] = match op {
            "parse_int" => &["hex", "octal", "min", "max"],
            "parse_time" => &["formats"],
            "absent_if_in_set" => &["set", "ignore_case"],
            "split_domain_user" | "split_host_port" => &["part"],
            "parse_hashes" => &["algorithms", "other_id"],
            "map" => &["table", "entries", "ignore_case", "default", "passthrough"],
            "kv_get" | "line_kv_get" => &["key"],
            "split" => &["sep"],
            "basename" => &["ignore_trailing", "keep_empty"],
            "bit_and" => &["mask"],
            "sockaddr" => &["part"],
            "join" => &["sep"],
            "format" => &["template"],
            "strip_prefix" => &["prefix"],
            "trim_chars" => &["chars"],
            _ => &[],
        };
        if let Some(k) = args.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(format!("op {op}: unknown arg {k:?} (allowed: {allowed:?})"));
        }
        let t = match op {
            "trim" => Transform::Trim,
            "lowercase" => Transform::Lowercase,
            "uppercase" => Transform::Uppercase,
            "to_string" => Transform::ToString,
            "parse_int" => Transform::ParseInt {
                hex: arg_bool(args, "hex")?,
                octal: arg_bool(args, "octal")?,
                min: arg_int(args, "min")?,
                max: arg_int(args, "max")?,
            },
            "parse_time" => {
                let list = args
                    .get("formats")
                    .and_then(Value::as_array)
                    .ok_or("op parse_time: arg formats (a non-empty list) is required")?;
                let mut formats = Vec::new();
                for f in list {
                    formats.push(match f.as_str() {
                        Some("rfc3339") => TimeFormat::Rfc3339,
                        Some("space_utc") => TimeFormat::SpaceUtc,
                        Some("epoch_s") => TimeFormat::EpochSeconds,
                        Some("epoch_ms") => TimeFormat::EpochMillis,
                        _ => {
                            return Err(format!(
                                "op parse_time: unknown format {f} (rfc3339, space_utc, epoch_s, epoch_ms)"
                            ));
                        }
                    });
                }
                if formats.is_empty() {
                    return Err("op parse_time: formats is empty".into());
                }
                Transform::ParseTime { formats }
            }
            "absent_if_in_set" => {
                let name =
                    arg_str(args, "set")?.ok_or("op absent_if_in_set: arg set is required")?;
                let ignore_case = arg_bool(args, "ignore_case")?;
                let set = env
                    .sets
                    .get(name)
                    .ok_or_else(|| format!("op absent_if_in_set: no set named {name:?}"))?
                    .iter()
                    .map(|s| {
                        if ignore_case {
                            s.to_lowercase()
                        } else {
                            s.clone()
                        }
                    })
                    .collect::<BTreeSet<String>>();
                let max_len = set.iter().map(String::len).max().unwrap_or(0);
                Transform::AbsentIfInSet {
                    set,
                    ignore_case,
                    max_len,
                }
            }
            "split_domain_user" => Transform::SplitDomainUser {
                part: part(args, "domain", "user")?,
            },
            "split_host_port" => Transform::SplitHostPort {
                part: part(args, "host", "port")?,
            },
            "parse_hashes" => {
                let algos = args
                    .get("algorithms")
                    .and_then(Value::as_object)
                    .ok_or("op parse_hashes: arg algorithms (name → algorithm_id) is required")?;
                let mut ids = BTreeMap::new();
                for (k, v) in algos {
                    let id = v.as_i64().ok_or_else(|| {
                        format!("op parse_hashes: algorithm {k}: id must be an integer")
                    })?;
                    ids.insert(k.to_ascii_uppercase(), id);
                }
                Transform::ParseHashes {
                    ids,
                    other_id: arg_int(args, "other_id")?.unwrap_or(99),
                }
            }
            "map" => {
                let ignore_case = arg_bool(args, "ignore_case")?;
                let mut table = match (arg_str(args, "table")?, args.get("entries")) {
                    (Some(name), None) => env
                        .tables
                        .get(name)
                        .ok_or_else(|| format!("op map: no table named {name:?}"))?
                        .clone(),
                    (None, Some(Value::Object(m))) => {
                        m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
                    }
                    _ => return Err(
                        "op map: exactly one of table (a name) or entries (a mapping) is required"
                            .into(),
                    ),
                };
                if ignore_case {
                    table = table
                        .into_iter()
                        .map(|(k, v)| (k.to_lowercase(), v))
                        .collect();
                }
                let passthrough = arg_bool(args, "passthrough")?;
                if passthrough && args.contains_key("default") {
                    return Err("op map: default and passthrough exclude each other".into());
                }
                Transform::Map {
                    table,
                    ignore_case,
                    default: args.get("default").cloned(),
                    passthrough,
                }
            }
            "sockaddr" => Transform::Sockaddr {
                port: part(args, "ip", "port")? == Part::Second,
            },
            "kv_get" => Transform::KvGet {
                key: arg_str(args, "key")?
                    .ok_or("op kv_get: arg key is required")?
                    .to_string(),
            },
            "line_kv_get" => Transform::LineKvGet {
                key: arg_str(args, "key")?
                    .ok_or("op line_kv_get: arg key is required")?
                    .to_string(),
            },
            "split" => Transform::Split {
                sep: match arg_str(args, "sep")? {
                    Some("") => return Err("op split: arg sep must not be empty".into()),
                    other => other.map(str::to_string),
                },
            },
            "bit_and" => Transform::BitAnd {
                mask: arg_int(args, "mask")?.ok_or("op bit_and: arg mask is required")?,
            },
            "basename" => Transform::Basename {
                ignore_trailing: arg_bool(args, "ignore_trailing")?,
                keep_empty: arg_bool(args, "keep_empty")?,
            },
            "dirname" => Transform::Dirname,
            "join" => Transform::Join {
                sep: arg_str(args, "sep")?.unwrap_or(" ").to_string(),
            },
            "first" => Transform::First,
            "unique" => Transform::Unique,
            "format" => {
                let t = arg_str(args, "template")?.ok_or("op format: arg template is required")?;
                let (before, after) = t
                    .split_once("{}")
                    .ok_or("op format: template must contain {} once")?;
                if after.contains("{}") {
                    return Err("op format: template must contain {} once".into());
                }
                Transform::Format {
                    before: before.to_string(),
                    after: after.to_string(),
                }
            }
            "ip" => Transform::Ip,
            "trim_chars" => Transform::TrimChars {
                chars: arg_str(args, "chars")?
                    .ok_or("op trim_chars: arg chars is required")?
                    .chars()
                    .collect(),
            },
            "strip_prefix" => Transform::StripPrefix {
                prefix: arg_str(args, "prefix")?
                    .ok_or("op strip_prefix: arg prefix is required")?
                    .to_string(),
            },
            _ => {
                return Err(format!(
                    "unknown op {op:?} (trim, lowercase, uppercase, to_string, parse_int, parse_time, absent_if_in_set, split_domain_user, split_host_port, parse_hashes, map, kv_get, line_kv_get, split, bit_and, basename, dirname, join, first, unique, format, ip, strip_prefix, trim_chars)"
                ));
            }
        };
        Ok(t)
    }
}
