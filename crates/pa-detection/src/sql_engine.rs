//! The SQL engines (ADR-0019): the detector's rule compilations as one SQL script
//! (`pa-sigma-sql`), and the detection stage run through the DuckDB CLI found on `PATH`, with
//! the same `detections/detections.jsonl` as the native engine for every rule the dialect can
//! run. A rule a dialect refuses is reported as not executable (`unsupported_in_dialect`).

use crate::detector::Detector;
use crate::{DetectionInstance, EventRef, instance};
use pa_bundle::reason::DetectionReason;
pub use pa_sigma_sql::{Columns, Dialect, Script, StoreFiles};
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
    /// Spark results that are not this rule set's script over this store.
    #[error("{file}: {problem}")]
    Mismatch {
        /// The file of the results.
        file: String,
        /// What does not match.
        problem: String,
    },
}

impl From<SqlEngineError> for StageFailure {
    fn from(e: SqlEngineError) -> StageFailure {
        let code = match &e {
            SqlEngineError::Store(_) => DetectionReason::SqlStoreIncompatible,
            SqlEngineError::EngineMissing(_) => DetectionReason::SqlEngineUnavailable,
            SqlEngineError::Mismatch { .. } => DetectionReason::SqlResultsMismatch,
            SqlEngineError::EngineFailed { .. }
            | SqlEngineError::BadOutput { .. }
            | SqlEngineError::Io(_) => DetectionReason::BackendDriverFailed,
        };
        StageFailure::new(code, e.to_string())
    }
}

/// A normalized store as its `_schema.json` describes it: its columns, and where its parts
/// are.
#[derive(Debug, Clone)]
pub struct Store {
    /// The columns.
    pub columns: StoreColumns,
    /// The parts (a glob and the partition keys of the paths).
    pub files: StoreFiles,
    /// Parts found in the store.
    pub parts: usize,
}

/// The normalized store whose `_schema.json` is `schema_file`.
pub fn store(schema_file: &Path) -> Result<Store, SqlEngineError> {
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
    let columns = StoreColumns::from_schema(&name, &doc.schema_id, &doc.schema_version, &cols)
        .map_err(|e| SqlEngineError::Store(e.to_string()))?;
    let layout = doc.layout.unwrap_or_default();
    layout
        .check_partitioning()
        .map_err(|e| SqlEngineError::Store(format!("{name}: layout: {e}")))?;
    let dir = schema_file.parent().unwrap_or(Path::new("."));
    let parts = pa_store::layout::partitions(dir, &layout)
        .map_err(|e| SqlEngineError::Store(e.to_string()))?
        .iter()
        .map(|p| p.parts.len())
        .sum();
    Ok(Store {
        columns,
        files: StoreFiles {
            glob: dir.join(layout.parts_glob()).display().to_string(),
            partition_by: layout
                .partition_by
                .iter()
                .map(|k| k.name().to_owned())
                .collect(),
        },
        parts,
    })
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
                    class_uid,
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

/// Run `script` with the DuckDB CLI over the Parquet parts of `store`: the hits and the
/// number of events in the store.
pub fn run_duckdb(script: &Script, store: &Store) -> Result<(Vec<Hit>, u64), SqlEngineError> {
    let tmp = tempfile::Builder::new()
        .prefix("pa-detect-sql-")
        .tempdir()
        .map_err(|e| SqlEngineError::Io(format!("temporary directory: {e}")))?;
    if store.parts == 0 {
        return Ok((Vec::new(), 0));
    }
    let hits_file = tmp.path().join("hits.jsonl");
    let count_file = tmp.path().join("count.jsonl");
    // DuckDB spills what does not fit in memory under its temporary directory (by default
    // `.tmp/` in the working directory): keep it inside ours, removed with it.
    // Insertion order is not kept (the hits are ordered at the end): DuckDB then streams.
    let mut sql = format!(
        "SET temp_directory = {};\nSET preserve_insertion_order = false;\n",
        Dialect::DuckDb.str_lit(&path_str(&tmp.path().join("spill")))
    );
    sql.push_str(&script.duckdb_script(&store.files, Some(&path_str(&hits_file))));
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

/// The hits the Spark job (`examples/scale-out/detect.py`) wrote into `out` (`summary.json`,
/// `hits/part-*.json`) running `script` (the Spark script of these rules over this store) over
/// a store of `store_rows` events: the hits and the events the job read. Results of another
/// rule set or store are refused ([`SqlEngineError::Mismatch`]): the compilations and refused
/// rules the job ran must be the script's, every hit's (`rule_index`, `rule_id`) one of its
/// compilations, and the job must have read as many events as the store holds.
pub fn read_spark_hits(
    script: &Script,
    out: &Path,
    store_rows: u64,
) -> Result<(Vec<Hit>, u64), SqlEngineError> {
    let summary_file = out.join("summary.json");
    let mismatch = |file: &Path, problem: String| SqlEngineError::Mismatch {
        file: file.display().to_string(),
        problem,
    };
    let text = std::fs::read_to_string(&summary_file).map_err(|e| {
        SqlEngineError::Io(format!(
            "{}: cannot read the Spark job's summary: {e}",
            summary_file.display()
        ))
    })?;
    let summary: Value = serde_json::from_str(&text).map_err(|e| SqlEngineError::BadOutput {
        file: summary_file.display().to_string(),
        line: e.line(),
        problem: e.to_string(),
    })?;
    let num = |key: &str| summary.get(key).and_then(Value::as_u64);
    if num("rule_compilations") != Some(script.rules.len() as u64) {
        return Err(mismatch(
            &summary_file,
            format!(
                "the job ran {} rule compilation(s); these rules compile to {} in the spark dialect (results of another rule set?)",
                summary.get("rule_compilations").unwrap_or(&Value::Null),
                script.rules.len()
            ),
        ));
    }
    let mut ran_refused: Vec<&str> = summary
        .get("refused")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|r| r.get("rule_id").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default();
    let mut refused: Vec<&str> = script.refused.iter().map(|(id, _)| id.as_str()).collect();
    ran_refused.sort_unstable();
    refused.sort_unstable();
    if ran_refused != refused {
        return Err(mismatch(
            &summary_file,
            "the rules the job's script refused are not the ones these rules refuse".into(),
        ));
    }
    let events = num("events_evaluated").ok_or_else(|| SqlEngineError::BadOutput {
        file: summary_file.display().to_string(),
        line: 1,
        problem: "no events_evaluated".into(),
    })?;
    if events != store_rows {
        return Err(mismatch(
            &summary_file,
            format!(
                "the job read {events} event(s); the store holds {store_rows} (results of another store?)"
            ),
        ));
    }
    let ids: BTreeMap<usize, &str> = script
        .rules
        .iter()
        .map(|r| (r.index, r.rule_id.as_str()))
        .collect();
    let hits_dir = out.join("hits");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&hits_dir)
        .map_err(|e| SqlEngineError::Io(format!("{}: {e}", hits_dir.display())))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("part-") && n.ends_with(".json"))
        })
        .collect();
    files.sort();
    let mut hits = Vec::new();
    for f in &files {
        for (line, v) in read_lines(f)? {
            let h = hit(f, line, &v)?;
            let rule_id = v.get("rule_id").and_then(Value::as_str).unwrap_or_default();
            if ids.get(&h.rule_index) != Some(&rule_id) {
                return Err(mismatch(
                    f,
                    format!(
                        "line {line}: rule_index {} with rule_id {rule_id:?} is not a compilation of these rules",
                        h.rule_index
                    ),
                ));
            }
            hits.push(h);
        }
    }
    let n = num("hits").unwrap_or(hits.len() as u64);
    if n != hits.len() as u64 {
        return Err(mismatch(
            &hits_dir,
            format!(
                "{} hit(s) in the part files; the summary says {n} (an incomplete copy?)",
                hits.len()
            ),
        ));
    }
    Ok((hits, events))
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
