//! The SQL engines (ADR-0019): the detector's rule compilations as one SQL script
//! (`pa-sigma-sql`), and the detection stage run through the DuckDB CLI found on `PATH`, with
//! the same `detections/detections.jsonl` as the native engine for every rule the dialect can
//! run. A rule a dialect refuses is reported as not executable (`unsupported_in_dialect`).

use crate::detector::Detector;
use crate::{DetectionInstance, EventRef, instance};
use pa_bundle::reason::DetectionReason;
pub use pa_sigma_sql::{Columns, Dialect, Script};
use pa_sigma_sql::{RuleInput, ScriptRule, StoreColumns};
use pa_stage::StageFailure;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The DuckDB CLI the engine runs.
pub const DUCKDB: &str = "duckdb";

/// What can go wrong running rules through SQL.
#[derive(Debug, thiserror::Error)]
pub enum SqlEngineError {
    /// The store's `_schema.json` cannot be read or is not a known store layout.
    #[error("{0}")]
    Store(String),
    /// `duckdb` is not on PATH.
    #[error(
        "the DuckDB CLI `{DUCKDB}` was not found on PATH ({0}); install it (e.g. `pip install duckdb-cli`) or use --engine native"
    )]
    EngineMissing(std::io::Error),
    /// `duckdb` failed (a query error, an unreadable store).
    #[error("{DUCKDB} failed on {script} (exit {code}): {stderr}")]
    EngineFailed {
        /// The script it ran.
        script: String,
        /// Its exit status.
        code: String,
        /// What it said.
        stderr: String,
    },
    /// Its output is not what the script writes.
    #[error("{file}:{line}: unexpected {DUCKDB} output: {problem}")]
    BadOutput {
        /// The output file.
        file: String,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        problem: String,
    },
    /// A temporary file could not be written or read.
    #[error("{0}")]
    Io(String),
}

impl From<SqlEngineError> for StageFailure {
    fn from(e: SqlEngineError) -> StageFailure {
        let code = match &e {
            SqlEngineError::Store(_) => DetectionReason::SqlStoreIncompatible,
            SqlEngineError::EngineMissing(_) => DetectionReason::SqlEngineUnavailable,
            SqlEngineError::EngineFailed { .. }
            | SqlEngineError::BadOutput { .. }
            | SqlEngineError::Io(_) => DetectionReason::BackendDriverFailed,
        };
        StageFailure::new(code, e.to_string())
    }
}

/// The columns of the normalized store described by `schema_file` (`_schema.json`).
pub fn store_columns(schema_file: &Path) -> Result<StoreColumns, SqlEngineError> {
    let name = schema_file.display().to_string();
    let bytes = std::fs::read(schema_file)
        .map_err(|e| SqlEngineError::Store(format!("{name}: cannot read: {e}")))?;
    let doc: pa_store::DatasetSchema = serde_json::from_slice(&bytes)
        .map_err(|e| SqlEngineError::Store(format!("{name}: not a store schema: {e}")))?;
    let cols: Vec<(String, String, String)> = doc
        .columns
        .iter()
        .map(|c| (c.name.clone(), c.physical_type.clone(), c.encoding.clone()))
        .collect();
    StoreColumns::from_schema(&name, &doc.schema_id, &doc.schema_version, &cols)
        .map_err(|e| SqlEngineError::Store(e.to_string()))
}

/// Every executable rule compilation of `det` in `dialect`, against `columns`. A rule with a
/// compilation the dialect refuses is refused as a whole (its other classes too), so that what
/// runs gives exactly the native engine's detections of that rule.
pub fn script(det: &Detector, columns: &Columns, dialect: Dialect) -> Script {
    let mut rules = Vec::new();
    let mut refused = Vec::new();
    for plan in &det.plans {
        let mut compiled = Vec::new();
        let mut refusal = None;
        for &i in &plan.exec_indices {
            let r = &det.rules[i];
            let Some(class_uid) = r.class_uid else {
                refusal = Some(pa_sigma_sql::Refusal {
                    reason_code: pa_sigma_sql::UNSUPPORTED_IN_DIALECT.into(),
                    message: "rules compiled in Sigma field mode have no OCSF class".into(),
                });
                break;
            };
            let input = RuleInput {
                rule_id: &r.rule_id,
                compiled: &r.compiled,
                class_uid,
                route: r.route.as_ref(),
            };
            match pa_sigma_sql::compile_rule(&input, columns, dialect) {
                Ok(p) => compiled.push(ScriptRule {
                    index: i,
                    rule_id: r.rule_id.clone(),
                    predicate: p,
                }),
                Err(e) => {
                    refusal = Some(e);
                    break;
                }
            }
        }
        match refusal {
            Some(e) => refused.push((plan.rule_id.clone(), e)),
            None => rules.extend(compiled),
        }
    }
    Script {
        dialect,
        rules,
        refused,
    }
}

/// Mark the rules `script` refused as not executable in `det` (their reason is the
/// dialect's), so that coverage and compiled plans report them like other non-executable
/// rules.
pub fn apply_refusals(det: &mut Detector, script: &Script) {
    let by_id: BTreeMap<&str, &pa_sigma_sql::Refusal> = script
        .refused
        .iter()
        .map(|(id, r)| (id.as_str(), r))
        .collect();
    for plan in &mut det.plans {
        if let Some(r) = by_id.get(plan.rule_id.as_str()) {
            if plan.non_executable.is_none() {
                plan.non_executable = Some((
                    r.reason_code.clone(),
                    format!("{}: {}", script.dialect.name(), r.message),
                ));
                plan.exec_indices.clear();
            }
        }
    }
}

/// One result row of the script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// Index into [`Detector::rules`].
    pub rule_index: usize,
    /// Where the event is.
    pub time_ms: Option<i64>,
    pub class_uid: Option<i64>,
    pub event_uid: String,
}

/// Run `script` with the DuckDB CLI over the store's Parquet parts in `store_dir`: the hits
/// and the number of events in the store.
pub fn run_duckdb(script: &Script, store_dir: &Path) -> Result<(Vec<Hit>, u64), SqlEngineError> {
    let tmp = tempfile::Builder::new()
        .prefix("pa-detect-sql-")
        .tempdir()
        .map_err(|e| SqlEngineError::Io(format!("temporary directory: {e}")))?;
    let parts =
        pa_store::part_files(store_dir).map_err(|e| SqlEngineError::Store(e.to_string()))?;
    if parts.is_empty() {
        return Ok((Vec::new(), 0));
    }
    let hits_file = tmp.path().join("hits.jsonl");
    let count_file = tmp.path().join("count.jsonl");
    let glob = store_dir.join("part-*.parquet");
    let mut sql = script.duckdb_script(
        &glob.display().to_string(),
        true,
        Some(&path_str(&hits_file)),
    );
    sql.push_str(&format!(
        "COPY (SELECT count(*) AS n FROM {}) TO {} (FORMAT json);\n",
        pa_sigma_sql::VIEW,
        Dialect::DuckDb.str_lit(&path_str(&count_file))
    ));
    let script_file = tmp.path().join("detect.sql");
    std::fs::write(&script_file, sql)
        .map_err(|e| SqlEngineError::Io(format!("{}: {e}", script_file.display())))?;
    let out = Command::new(DUCKDB)
        .args(["-batch", "-bail", "-no-init", "-f"])
        .arg(&script_file)
        .output()
        .map_err(SqlEngineError::EngineMissing)?;
    if !out.status.success() {
        return Err(SqlEngineError::EngineFailed {
            script: script_file.display().to_string(),
            code: out
                .status
                .code()
                .map_or_else(|| "by signal".into(), |c| c.to_string()),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    let hits = read_lines(&hits_file)?
        .into_iter()
        .map(|(line, v)| hit(&hits_file, line, &v))
        .collect::<Result<Vec<_>, _>>()?;
    let total = read_lines(&count_file)?
        .first()
        .and_then(|(_, v)| v.get("n").and_then(Value::as_u64))
        .ok_or_else(|| SqlEngineError::BadOutput {
            file: count_file.display().to_string(),
            line: 1,
            problem: "no event count".into(),
        })?;
    Ok((hits, total))
}

fn path_str(p: &Path) -> String {
    p.display().to_string()
}

fn read_lines(file: &PathBuf) -> Result<Vec<(usize, Value)>, SqlEngineError> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| SqlEngineError::Io(format!("{}: {e}", file.display())))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l)
                .map(|v| (i + 1, v))
                .map_err(|e| SqlEngineError::BadOutput {
                    file: file.display().to_string(),
                    line: i + 1,
                    problem: e.to_string(),
                })
        })
        .collect()
}

fn hit(file: &Path, line: usize, v: &Value) -> Result<Hit, SqlEngineError> {
    let bad = |problem: &str| SqlEngineError::BadOutput {
        file: file.display().to_string(),
        line,
        problem: problem.to_owned(),
    };
    let rule_index = v
        .get("rule_index")
        .and_then(Value::as_u64)
        .and_then(|i| usize::try_from(i).ok())
        .ok_or_else(|| bad("no rule_index"))?;
    Ok(Hit {
        rule_index,
        time_ms: v.get("time").and_then(Value::as_i64),
        class_uid: v.get("class_uid").and_then(Value::as_i64),
        event_uid: v
            .get("event_uid")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
    })
}

/// The detection instances of `hits`, sorted as `detections.jsonl` is, and per rule whether
/// it matched.
pub fn instances(
    det: &Detector,
    hits: &[Hit],
    run_id: Option<&str>,
    scenario_id: Option<&str>,
) -> Result<(Vec<DetectionInstance>, Vec<bool>), SqlEngineError> {
    let mut matched = vec![false; det.rules.len()];
    let mut out = Vec::with_capacity(hits.len());
    for h in hits {
        if h.rule_index >= det.rules.len() {
            return Err(SqlEngineError::BadOutput {
                file: "query result".into(),
                line: 0,
                problem: format!("rule_index {} is not a compiled rule", h.rule_index),
            });
        }
        matched[h.rule_index] = true;
        let er = EventRef {
            time_ms: h.time_ms,
            class_uid: h.class_uid,
            id: h.event_uid.clone(),
        };
        out.push(instance(det, h.rule_index, &er, run_id, scenario_id));
    }
    out.sort_by_cached_key(DetectionInstance::sort_key);
    Ok((out, matched))
}
