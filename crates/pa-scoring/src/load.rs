//! What scoring reads from the bundle: the ground truth, criteria results, detections, the
//! compiled plans and coverage documents, the runner's executor documents (tagged pids), and
//! the facts of every normalized event it needs.

use crate::ScoreError;
use arrow_array::Array;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// A JSONL file as values, with 1-based line numbers.
pub fn jsonl(path: &Path) -> Result<Vec<(usize, Value)>, ScoreError> {
    jsonl_with(path, |line| serde_json::from_str(line))
}

/// A JSONL file's non-blank lines read by `parse`, with 1-based line numbers.
fn jsonl_with<T>(
    path: &Path,
    parse: impl Fn(&str) -> Result<T, serde_json::Error>,
) -> Result<Vec<(usize, T)>, ScoreError> {
    let text = std::fs::read_to_string(path).map_err(|e| ScoreError::io(path, e))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v = parse(line).map_err(|e| ScoreError::Invalid {
            path: path.display().to_string(),
            detail: format!("line {}: {e}", i + 1),
        })?;
        out.push((i + 1, v));
    }
    Ok(out)
}

/// A JSON document.
pub fn json(path: &Path) -> Result<Value, ScoreError> {
    let bytes = std::fs::read(path).map_err(|e| ScoreError::io(path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| ScoreError::Invalid {
        path: path.display().to_string(),
        detail: e.to_string(),
    })
}

/// `sha256:` of a file's bytes, `None` when it does not exist.
pub fn digest(path: &Path) -> Option<String> {
    std::fs::read(path)
        .ok()
        .map(|b| pa_canon::sha256_prefixed(&b))
}

/// What scoring needs of one normalized event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFacts {
    pub uid: String,
    pub time_ms: Option<i64>,
    pub class_uid: Option<i64>,
    pub host: Option<String>,
    /// `actor.session.uid`: the audit session that did it.
    pub session: Option<String>,
    /// For a login record: the session it opened (`session.uid`) and the pid that opened it.
    pub opened_session: Option<(String, i64)>,
    /// `metadata.event_code` (the source's event type).
    pub event_code: Option<String>,
    /// How many of the Tier-1 fields it has.
    pub tier1_present: usize,
}

/// The Tier-1 fields: what every normalized event must carry to be joined, routed and
/// attributed.
pub const TIER1_FIELDS: [&str; 9] = [
    "time",
    "class_uid",
    "category_uid",
    "activity_id",
    "type_uid",
    "severity_id",
    "metadata.uid",
    "metadata.product.name",
    "device.hostname",
];

const WANTED: [&str; 8] = [
    "metadata.uid",
    "time",
    "class_uid",
    "device.hostname",
    "actor.session.uid",
    "session.uid",
    "actor.process.pid",
    "metadata.event_code",
];

fn text(v: Option<Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Read the facts of every event of the normalized store (absent store: no events).
pub fn events(dir: &Path) -> Result<Vec<EventFacts>, ScoreError> {
    if !dir.join("_schema.json").is_file() {
        return Ok(Vec::new());
    }
    let store_err = |e: pa_store::StoreError| ScoreError::Invalid {
        path: dir.display().to_string(),
        detail: e.to_string(),
    };
    let mut reader = pa_store::events::EventReader::open(dir).map_err(store_err)?;
    let mut out = Vec::new();
    while let Some((batch, info)) = reader.next_batch().map_err(store_err)? {
        let idx = |name: &str| info.iter().position(|c| c.name == name);
        let wanted: Vec<Option<usize>> = WANTED.iter().map(|n| idx(n)).collect();
        let tier1: Vec<Option<usize>> = TIER1_FIELDS.iter().map(|n| idx(n)).collect();
        let get = |col: Option<usize>, row: usize| -> Option<Value> {
            let c = col?;
            pa_store::events::cell(batch.column(c).as_ref(), info[c].json, row)
        };
        for row in 0..batch.num_rows() {
            let opened = match (
                text(get(wanted[5], row)),
                get(wanted[6], row).and_then(|v| v.as_i64()),
            ) {
                (Some(s), Some(pid)) => Some((s, pid)),
                _ => None,
            };
            out.push(EventFacts {
                uid: text(get(wanted[0], row)).unwrap_or_default(),
                time_ms: get(wanted[1], row).and_then(|v| v.as_i64()),
                class_uid: get(wanted[2], row).and_then(|v| v.as_i64()),
                host: text(get(wanted[3], row)),
                session: text(get(wanted[4], row)),
                opened_session: opened,
                event_code: text(get(wanted[7], row)),
                tier1_present: tier1
                    .iter()
                    .filter(|c| c.is_some_and(|c| !batch.column(c).is_null(row)))
                    .count(),
            });
        }
    }
    Ok(out)
}

/// The tagged pids of each action's commands, from `runner/actions/*/executor.json`:
/// action id → (phase, pid).
pub fn tagged_pids(run: &Path) -> Result<BTreeMap<String, Vec<(String, i64)>>, ScoreError> {
    let dir = run.join("runner/actions");
    let mut out: BTreeMap<String, Vec<(String, i64)>> = BTreeMap::new();
    let Ok(rd) = std::fs::read_dir(&dir) else {
        return Ok(out);
    };
    let mut dirs: Vec<_> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    dirs.sort();
    for d in dirs {
        let p = d.join("executor.json");
        if !p.is_file() {
            continue;
        }
        let doc = json(&p)?;
        let Some(action) = doc["action_id"].as_str() else {
            continue;
        };
        for c in doc["commands"].as_array().into_iter().flatten() {
            if let (Some(phase), Some(pid)) = (c["phase"].as_str(), c["tagged_pid"].as_i64()) {
                out.entry(action.to_string())
                    .or_default()
                    .push((phase.to_string(), pid));
            }
        }
    }
    Ok(out)
}

/// One compiled plan: the members every run reads (rule id, executability and its reason,
/// technique ids), and the whole document, parsed only when asked for (the plans of a
/// technique with an undetected action). `bridge/compiled_plans.jsonl` holds thousands of
/// plans of which a run looks at a few.
#[derive(Debug)]
pub struct PlanRow {
    /// `rule_id` (`null` when absent).
    pub rule_id: Value,
    /// `executable`.
    pub executable: Value,
    /// `non_executable_reason`.
    pub non_executable_reason: Value,
    /// `technique_ids`.
    pub technique_ids: Value,
    /// The line, when the document is not parsed yet.
    text: Option<String>,
    full: std::sync::OnceLock<Value>,
}

/// The members of a plan read up front. The others are read through [`Checked`]: every check
/// a `Value` parse makes (number range, nesting depth, string escapes), nothing built. A
/// repeated member keeps its last value, as in a `Value`.
#[derive(Default)]
struct PlanHead {
    rule_id: Value,
    executable: Value,
    non_executable_reason: Value,
    technique_ids: Value,
}

impl<'de> serde::Deserialize<'de> for PlanHead {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct HeadVisitor;
        impl<'de> serde::de::Visitor<'de> for HeadVisitor {
            type Value = PlanHead;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a compiled plan object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<PlanHead, A::Error> {
                let mut h = PlanHead::default();
                while let Some(k) = m.next_key::<String>()? {
                    match k.as_str() {
                        "rule_id" => h.rule_id = m.next_value()?,
                        "executable" => h.executable = m.next_value()?,
                        "non_executable_reason" => h.non_executable_reason = m.next_value()?,
                        "technique_ids" => h.technique_ids = m.next_value()?,
                        _ => {
                            m.next_value::<Checked>()?;
                        }
                    }
                }
                Ok(h)
            }
        }
        d.deserialize_map(HeadVisitor)
    }
}

/// Any JSON value, read as a `Value` would be read (`deserialize_any`) and not kept.
struct Checked;

impl<'de> serde::Deserialize<'de> for Checked {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct CheckedVisitor;
        impl<'de> serde::de::Visitor<'de> for CheckedVisitor {
            type Value = Checked;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_bool<E>(self, _: bool) -> Result<Checked, E> {
                Ok(Checked)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Checked, E> {
                Ok(Checked)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Checked, E> {
                Ok(Checked)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Checked, E> {
                Ok(Checked)
            }
            fn visit_str<E>(self, _: &str) -> Result<Checked, E> {
                Ok(Checked)
            }
            fn visit_unit<E>(self) -> Result<Checked, E> {
                Ok(Checked)
            }
            fn visit_none<E>(self) -> Result<Checked, E> {
                Ok(Checked)
            }
            fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Checked, D::Error> {
                <Checked as serde::Deserialize>::deserialize(d)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut s: A,
            ) -> Result<Checked, A::Error> {
                while s.next_element::<Checked>()?.is_some() {}
                Ok(Checked)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<Checked, A::Error> {
                while m.next_entry::<Checked, Checked>()?.is_some() {}
                Ok(Checked)
            }
        }
        d.deserialize_any(CheckedVisitor)
    }
}

impl From<Value> for PlanRow {
    fn from(v: Value) -> PlanRow {
        let member = |k: &str| v.get(k).cloned().unwrap_or(Value::Null);
        PlanRow {
            rule_id: member("rule_id"),
            executable: member("executable"),
            non_executable_reason: member("non_executable_reason"),
            technique_ids: member("technique_ids"),
            text: None,
            full: std::sync::OnceLock::from(v),
        }
    }
}

impl PlanRow {
    /// Read one line: its head now, the rest on first [`PlanRow::document`]. The head reader
    /// checks the whole line as a `Value` parse would; a line it does not take (not an object,
    /// or not JSON) is parsed whole at once, so every error is reported here with `Value`'s
    /// message.
    pub fn parse(line: &str) -> Result<PlanRow, serde_json::Error> {
        if line.trim_start().starts_with('{') {
            if let Ok(h) = serde_json::from_str::<PlanHead>(line) {
                return Ok(PlanRow {
                    rule_id: h.rule_id,
                    executable: h.executable,
                    non_executable_reason: h.non_executable_reason,
                    technique_ids: h.technique_ids,
                    text: Some(line.to_owned()),
                    full: std::sync::OnceLock::new(),
                });
            }
        }
        Ok(PlanRow::from(serde_json::from_str::<Value>(line)?))
    }

    /// The whole plan document.
    pub fn document(&self) -> &Value {
        self.full.get_or_init(|| {
            // The head reader accepted the line, so it is JSON that `Value` reads too.
            self.text
                .as_deref()
                .and_then(|t| serde_json::from_str(t).ok())
                .unwrap_or(Value::Null)
        })
    }
}

/// The compiled plans of the rule set, with the 1-based line of each rule id in
/// `bridge/compiled_plans.jsonl`. A bundle detected before ADR-0015 has one file per rule
/// (`bridge/compiled_plans/*.plan.json`): read in file order, with no lines.
pub fn plans(run: &Path) -> Result<(Vec<PlanRow>, BTreeMap<String, usize>), ScoreError> {
    let doc = run.join("bridge/compiled_plans.jsonl");
    if doc.is_file() {
        let rows = jsonl_with(&doc, PlanRow::parse)?;
        let lines = rows
            .iter()
            .filter_map(|(line, p)| p.rule_id.as_str().map(|id| (id.to_owned(), *line)))
            .collect();
        return Ok((rows.into_iter().map(|(_, p)| p).collect(), lines));
    }
    let dir = run.join("bridge/compiled_plans");
    let Ok(rd) = std::fs::read_dir(&dir) else {
        return Ok((Vec::new(), BTreeMap::new()));
    };
    let mut files: Vec<_> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let docs = files
        .iter()
        .map(|p| json(p).map(PlanRow::from))
        .collect::<Result<_, _>>()?;
    Ok((docs, BTreeMap::new()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A plan row answers as the line's `Value` would, parsed lazily or not.
    #[test]
    fn plan_rows_read_as_values_do() {
        let lines = [
            r#"{"rule_id":"r1","executable":true,"technique_ids":["T1"],"plan":{"x":[1,2,{"y":"\u00e9"}]}}"#,
            r#"{"executable":false,"non_executable_reason":{"reason_code":"unmapped_field"},"z":1}"#,
            r#"  {"rule_id":"a","rule_id":"b"}"#,
            r#"{"rule_id":"\ud83d\ude00","executable":"yes"}"#,
            r#"[1,2,3,4]"#,
            r#"7"#,
            r#"{"technique_ids":{"not":"a list"},"rule_id":5}"#,
            r#"{"plan":{"a":1,"a":[2]},"rule_id":"r","x":"\ud83d\ude00","n":1e300,"m":-0}"#,
        ];
        let nested = format!(
            "{{\"rule_id\":\"r\",\"plan\":{}1{}}}",
            "[".repeat(100),
            "]".repeat(100)
        );
        for line in lines.iter().copied().chain([nested.as_str()]) {
            let v: Value = serde_json::from_str(line).unwrap();
            let row = PlanRow::parse(line).unwrap();
            assert_eq!(row.rule_id, v["rule_id"], "{line}");
            assert_eq!(row.executable, v["executable"], "{line}");
            assert_eq!(
                row.non_executable_reason, v["non_executable_reason"],
                "{line}"
            );
            assert_eq!(row.technique_ids, v["technique_ids"], "{line}");
            assert_eq!(row.document(), &v, "{line}");
        }
        // What `Value` refuses is refused when the line is read, with the same message.
        let deep = format!(
            "{{\"rule_id\":\"r\",\"plan\":{}1{}}}",
            "[".repeat(130),
            "]".repeat(130)
        );
        for bad in [
            r#"{"rule_id":"\ud800"}"#,
            r#"{"plan":"\udc00x","rule_id":"r"}"#,
            r#"{"a":}"#,
            r#"{"a":1"#,
            r#"{"rule_id":"r","plan":1e400}"#,
            r#"{"rule_id":"r","plan":{"x":-1e400}}"#,
            r#"{"rule_id":"r"} x"#,
            deep.as_str(),
        ] {
            let want = serde_json::from_str::<Value>(bad).unwrap_err().to_string();
            let got = PlanRow::parse(bad).unwrap_err().to_string();
            assert_eq!(got, want, "{bad}");
        }
    }
}
