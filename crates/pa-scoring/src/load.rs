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

/// The members of a plan read up front; the others are skipped without being built.
#[derive(serde::Deserialize)]
struct PlanHead {
    #[serde(default)]
    rule_id: Value,
    #[serde(default)]
    executable: Value,
    #[serde(default)]
    non_executable_reason: Value,
    #[serde(default)]
    technique_ids: Value,
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
    /// Read one line: its head now, the rest on first [`PlanRow::document`]. A line the head
    /// reader cannot take as it would a `Value` (not an object, a repeated member, a `\u` escape
    /// of a surrogate) is parsed whole at once, so every error is reported here.
    pub fn parse(line: &str) -> Result<PlanRow, serde_json::Error> {
        let lazy =
            line.trim_start().starts_with('{') && !line.contains("\\ud") && !line.contains("\\uD");
        if lazy {
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
        ];
        for line in lines {
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
        for bad in [r#"{"rule_id":"\ud800"}"#, r#"{"a":}"#, r#"{"a":1"#] {
            let want = serde_json::from_str::<Value>(bad).unwrap_err().to_string();
            let got = PlanRow::parse(bad).unwrap_err().to_string();
            assert_eq!(got, want, "{bad}");
        }
    }
}
