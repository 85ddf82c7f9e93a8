//! Embedded contracts (`contracts/*.schema.json`, JSON Schema 2020-12) and the artifact
//! registry (`contracts/registry.json`: path glob → contract id → owning stage → format).
//!
//! Schemas are compiled into the binaries: no file or network resolution ever happens.

use crate::error::BundleError;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, Seek, SeekFrom};
use std::path::Path;
use std::sync::OnceLock;

/// The registry file, embedded.
pub const REGISTRY_JSON: &str = include_str!("../../../contracts/registry.json");

/// Every embedded schema: (contract id, schema text). Add a line when adding a contract.
pub const SCHEMAS: &[(&str, &str)] = &[
    (
        "manifest",
        include_str!("../../../contracts/manifest.schema.json"),
    ),
    (
        "run_results",
        include_str!("../../../contracts/run_results.schema.json"),
    ),
    (
        "health",
        include_str!("../../../contracts/health.schema.json"),
    ),
    (
        "contract_validation_report",
        include_str!("../../../contracts/contract_validation_report.schema.json"),
    ),
    (
        "detection_instance",
        include_str!("../../../contracts/detection_instance.schema.json"),
    ),
    (
        "ground_truth",
        include_str!("../../../contracts/ground_truth.schema.json"),
    ),
    (
        "telemetry_validation",
        include_str!("../../../contracts/telemetry_validation.schema.json"),
    ),
    (
        "dataset_schema",
        include_str!("../../../contracts/dataset_schema.schema.json"),
    ),
    (
        "lab_inventory_snapshot",
        include_str!("../../../contracts/lab_inventory_snapshot.schema.json"),
    ),
    (
        "mapping_profile_snapshot",
        include_str!("../../../contracts/mapping_profile_snapshot.schema.json"),
    ),
    (
        "mapping_coverage",
        include_str!("../../../contracts/mapping_coverage.schema.json"),
    ),
    (
        "router_table",
        include_str!("../../../contracts/router_table.schema.json"),
    ),
    (
        "mapping_pack_snapshot",
        include_str!("../../../contracts/mapping_pack_snapshot.schema.json"),
    ),
    (
        "bridge_coverage",
        include_str!("../../../contracts/bridge_coverage.schema.json"),
    ),
    (
        "compiled_plan",
        include_str!("../../../contracts/compiled_plan.schema.json"),
    ),
    (
        "runner_executor",
        include_str!("../../../contracts/runner_executor.schema.json"),
    ),
    (
        "capture_session",
        include_str!("../../../contracts/capture_session.schema.json"),
    ),
    (
        "scoring_summary",
        include_str!("../../../contracts/scoring_summary.schema.json"),
    ),
    (
        "criteria_pack_manifest",
        include_str!("../../../contracts/criteria_pack_manifest.schema.json"),
    ),
    (
        "criteria_entry",
        include_str!("../../../contracts/criteria_entry.schema.json"),
    ),
    (
        "criteria_result",
        include_str!("../../../contracts/criteria_result.schema.json"),
    ),
    (
        "report",
        include_str!("../../../contracts/report.schema.json"),
    ),
    (
        "thresholds",
        include_str!("../../../contracts/thresholds.schema.json"),
    ),
    (
        "attack_layer",
        include_str!("../../../contracts/attack_layer.schema.json"),
    ),
    (
        "baseline_run_ref",
        include_str!("../../../contracts/baseline_run_ref.schema.json"),
    ),
    // Not a bundle artifact (no registry entry): `pa-lint` validates its report against it.
    (
        "lint_report",
        include_str!("../../../contracts/lint_report.schema.json"),
    ),
];

/// How a published file is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArtifactFormat {
    /// One JSON document validated against the contract.
    Json,
    /// JSON Lines: every line validated against the contract; an empty file is valid.
    Jsonl,
    /// Apache Parquet: structural check (magic bytes, footer length).
    Parquet,
    /// UTF-8 text.
    Text,
    /// Bytes copied verbatim from a validated source (inputs).
    Opaque,
}

/// One registry entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArtifactEntry {
    pub glob: String,
    pub contract_id: Option<String>,
    /// Owning stage id, `orchestrator`, or `*` (any stage).
    pub stage: String,
    pub format: ArtifactFormat,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Registry {
    #[allow(dead_code)]
    registry_version: String,
    artifacts: Vec<ArtifactEntry>,
}

/// One contract violation.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct ContractError {
    /// JSON pointer into the instance (for JSONL: `/line/<n>/...`).
    pub instance_path: String,
    pub message: String,
}

struct Compiled {
    registry: Vec<ArtifactEntry>,
    validators: BTreeMap<String, jsonschema::Validator>,
}

fn compiled() -> Result<&'static Compiled, BundleError> {
    static C: OnceLock<Result<Compiled, String>> = OnceLock::new();
    let c = C.get_or_init(|| {
        let reg: Registry = serde_json::from_str(REGISTRY_JSON)
            .map_err(|e| format!("contracts/registry.json: {e}"))?;
        let mut validators = BTreeMap::new();
        for (id, text) in SCHEMAS {
            let schema: Value = serde_json::from_str(text)
                .map_err(|e| format!("contracts/{id}.schema.json: {e}"))?;
            let v = jsonschema::options()
                .should_validate_formats(true)
                .build(&schema)
                .map_err(|e| format!("contracts/{id}.schema.json: {e}"))?;
            validators.insert((*id).to_string(), v);
        }
        for a in &reg.artifacts {
            if let Some(id) = &a.contract_id {
                if !validators.contains_key(id) {
                    return Err(format!(
                        "registry entry {} names unknown contract {id}",
                        a.glob
                    ));
                }
            }
        }
        Ok(Compiled {
            registry: reg.artifacts,
            validators,
        })
    });
    c.as_ref().map_err(|reason| BundleError::Contract {
        contract: "registry".into(),
        reason: reason.clone(),
    })
}

/// The registry entries.
pub fn registry() -> Result<&'static [ArtifactEntry], BundleError> {
    Ok(&compiled()?.registry)
}

/// The registry entry governing a bundle-relative path, if any (first match wins).
pub fn entry_for(path: &str) -> Result<Option<&'static ArtifactEntry>, BundleError> {
    Ok(registry()?
        .iter()
        .find(|e| crate::glob::matches(&e.glob, path)))
}

/// Validate a JSON value against a contract. Errors are sorted, at most 50.
pub fn validate_value(contract_id: &str, value: &Value) -> Result<Vec<ContractError>, BundleError> {
    let c = compiled()?;
    let v = c
        .validators
        .get(contract_id)
        .ok_or_else(|| BundleError::Contract {
            contract: contract_id.into(),
            reason: "no such contract is embedded".into(),
        })?;
    let mut errs: Vec<ContractError> = v
        .iter_errors(value)
        .map(|e| ContractError {
            instance_path: e.instance_path().to_string(),
            message: e.to_string(),
        })
        .collect();
    errs.sort();
    errs.dedup();
    Ok(errs)
}

/// At most this many errors are reported per artifact (the total is still counted).
const MAX_REPORTED: usize = 50;

/// The errors of one artifact: the first [`MAX_REPORTED`] in sort order and the total, held in
/// bounded memory however many lines fail.
#[derive(Default)]
struct Errors {
    kept: Vec<ContractError>,
    total: usize,
}

impl Errors {
    fn push(&mut self, e: ContractError) {
        self.total += 1;
        self.kept.push(e);
        if self.kept.len() >= 8 * MAX_REPORTED {
            self.kept.sort();
            self.kept.truncate(MAX_REPORTED);
        }
    }

    fn finish(mut self) -> (Vec<ContractError>, usize) {
        self.kept.sort();
        self.kept.truncate(MAX_REPORTED);
        (self.kept, self.total)
    }
}

/// Validate the bytes of an artifact as its registry entry says.
/// Returns the (sorted, ≤ 50) errors and the total count.
pub fn validate_artifact(
    entry: &ArtifactEntry,
    bytes: &[u8],
) -> Result<(Vec<ContractError>, usize), BundleError> {
    validate_source(entry, std::io::Cursor::new(bytes), Path::new("<bytes>"))
}

/// Validate the artifact file at `path` as its registry entry says, reading it as a stream:
/// JSON Lines line by line and Parquet by its two ends, so memory does not grow with the file.
/// Returns the (sorted, ≤ 50) errors and the total count.
pub fn validate_file(
    entry: &ArtifactEntry,
    path: &Path,
) -> Result<(Vec<ContractError>, usize), BundleError> {
    let f = std::fs::File::open(path).map_err(|e| BundleError::io(path, e))?;
    validate_source(entry, std::io::BufReader::with_capacity(1 << 16, f), path)
}

/// JSON Lines are checked in batches of at most this many lines or [`BATCH_BYTES`] bytes.
const LINES_PER_BATCH: usize = 4_096;
const BATCH_BYTES: usize = 8 << 20;

/// Check numbered JSONL lines (parsed, then against the entry's contract), split over
/// `threads` threads when there are enough of them.
fn check_lines(
    entry: &ArtifactEntry,
    lines: &[(usize, Vec<u8>)],
    threads: usize,
    errs: &mut Errors,
) -> Result<(), BundleError> {
    let check = |chunk: &[(usize, Vec<u8>)]| -> Result<Vec<ContractError>, BundleError> {
        let mut out = Vec::new();
        for (number, line) in chunk {
            match serde_json::from_slice::<Value>(line) {
                Ok(v) => {
                    if let Some(id) = &entry.contract_id {
                        for mut e in validate_value(id, &v)? {
                            e.instance_path = format!("/line/{number}{}", e.instance_path);
                            out.push(e);
                        }
                    }
                }
                Err(e) => out.push(ContractError {
                    instance_path: format!("/line/{number}"),
                    message: format!("not JSON: {e}"),
                }),
            }
        }
        Ok(out)
    };
    let results: Vec<Result<Vec<ContractError>, BundleError>> = if threads < 2 || lines.len() < 64 {
        vec![check(lines)]
    } else {
        let per = lines.len().div_ceil(threads);
        std::thread::scope(|s| {
            let handles: Vec<_> = lines
                .chunks(per)
                .map(|c| s.spawn(move || check(c)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        })
    };
    for r in results {
        for e in r? {
            errs.push(e);
        }
    }
    Ok(())
}

fn validate_source<R: BufRead + Seek>(
    entry: &ArtifactEntry,
    mut src: R,
    path: &Path,
) -> Result<(Vec<ContractError>, usize), BundleError> {
    let io = |e: std::io::Error| BundleError::io(path, e);
    let mut errs = Errors::default();
    match entry.format {
        ArtifactFormat::Json => {
            let mut bytes = Vec::new();
            src.read_to_end(&mut bytes).map_err(io)?;
            match serde_json::from_slice::<Value>(&bytes) {
                Ok(v) => {
                    if let Some(id) = &entry.contract_id {
                        for e in validate_value(id, &v)? {
                            errs.push(e);
                        }
                    }
                }
                Err(e) => errs.push(ContractError {
                    instance_path: String::new(),
                    message: format!("not JSON: {e}"),
                }),
            }
        }
        ArtifactFormat::Jsonl => {
            // Lines are read in batches and each batch is checked on every core; the errors
            // are the same in any order (they are sorted at the end).
            let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
            let mut batch: Vec<(usize, Vec<u8>)> = Vec::new();
            let mut batch_bytes = 0usize;
            let mut number = 0usize;
            let mut ends_with_lf = true;
            loop {
                let mut line = Vec::new();
                if src.read_until(b'\n', &mut line).map_err(io)? == 0 {
                    break;
                }
                number += 1;
                ends_with_lf = line.last() == Some(&b'\n');
                if ends_with_lf {
                    line.pop();
                }
                if line.is_empty() {
                    continue;
                }
                batch_bytes += line.len();
                batch.push((number, line));
                if batch.len() >= LINES_PER_BATCH || batch_bytes >= BATCH_BYTES {
                    check_lines(entry, &batch, threads, &mut errs)?;
                    batch.clear();
                    batch_bytes = 0;
                }
            }
            check_lines(entry, &batch, threads, &mut errs)?;
            if !ends_with_lf {
                errs.push(ContractError {
                    instance_path: String::new(),
                    message: "JSONL must end with LF".into(),
                });
            }
        }
        ArtifactFormat::Parquet => {
            let n = src.seek(SeekFrom::End(0)).map_err(io)?;
            let mut ok = n >= 12;
            if ok {
                let mut head = [0u8; 4];
                src.seek(SeekFrom::Start(0)).map_err(io)?;
                src.read_exact(&mut head).map_err(io)?;
                let mut tail = [0u8; 8];
                src.seek(SeekFrom::Start(n - 8)).map_err(io)?;
                src.read_exact(&mut tail).map_err(io)?;
                let footer = u64::from(u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]));
                ok = &head == b"PAR1" && &tail[4..] == b"PAR1" && footer + 12 <= n;
            }
            if !ok {
                errs.push(ContractError {
                    instance_path: String::new(),
                    message: "not a complete Parquet file (magic bytes or footer missing)".into(),
                });
            }
        }
        ArtifactFormat::Text => {
            let mut bytes = Vec::new();
            src.read_to_end(&mut bytes).map_err(io)?;
            if let Err(e) = std::str::from_utf8(&bytes) {
                errs.push(ContractError {
                    instance_path: String::new(),
                    message: format!("not UTF-8: {e}"),
                });
            }
        }
        ArtifactFormat::Opaque => {}
    }
    Ok(errs.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn an_entry(contract_id: Option<&str>, format: ArtifactFormat) -> ArtifactEntry {
        ArtifactEntry {
            glob: "x".into(),
            contract_id: contract_id.map(str::to_string),
            stage: "*".into(),
            format,
        }
    }

    #[test]
    fn every_schema_compiles_and_registry_is_consistent() {
        let reg = registry().unwrap();
        assert!(reg.iter().any(|e| e.glob == "manifest.json"));
        for (id, _) in SCHEMAS {
            assert!(
                !validate_value(id, &Value::Null).unwrap().is_empty(),
                "{id} accepts null"
            );
        }
    }

    #[test]
    fn manifest_reason_enum_is_the_catalog() {
        let (_, text) = SCHEMAS.iter().find(|(id, _)| *id == "manifest").unwrap();
        let v: Value = serde_json::from_str(text).unwrap();
        let mut in_schema: Vec<String> = v["$defs"]["reason_code"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect();
        in_schema.sort();
        let catalog: Vec<String> = crate::reason::ReasonCode::all_codes()
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            in_schema, catalog,
            "contracts/manifest.schema.json reason_code enum drifted from reason.rs"
        );
    }

    #[test]
    fn jsonl_errors_carry_line_numbers() {
        let entry = an_entry(Some("contract_validation_report"), ArtifactFormat::Jsonl);
        let (errs, n) = validate_artifact(&entry, b"{}\nnot json\n").unwrap();
        assert!(n >= 2);
        assert!(
            errs.iter().any(|e| e.instance_path == "/line/2"),
            "{errs:?}"
        );
        let (errs, _) = validate_artifact(&entry, b"").unwrap();
        assert!(errs.is_empty());
    }

    #[test]
    fn a_file_is_judged_as_its_bytes_are() {
        let entry = an_entry(Some("contract_validation_report"), ArtifactFormat::Jsonl);
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("x.jsonl");
        // 1,000 failing lines: the total is counted, the first 50 in sort order are kept.
        let mut many = String::new();
        for i in 0..1_000 {
            many.push_str(if i % 3 == 0 { "nope\n" } else { "{}\n\n" });
        }
        for bytes in [
            &b""[..],
            b"{}",
            b"{}\nnot json\n",
            b"\n\n{}\r\n",
            many.as_bytes(),
        ] {
            std::fs::write(&p, bytes).unwrap();
            let (file_errs, file_n) = validate_file(&entry, &p).unwrap();
            let (errs, n) = validate_artifact(&entry, bytes).unwrap();
            assert_eq!((&file_errs, file_n), (&errs, n));
            assert!(errs.len() <= MAX_REPORTED);
        }
        let (errs, n) = validate_file(&entry, &p).unwrap();
        assert!(n > 1_000, "{n}");
        assert_eq!(errs.len(), MAX_REPORTED);
        let mut sorted = errs.clone();
        sorted.sort();
        assert_eq!(errs, sorted);
        assert!(errs.iter().all(|e| e.instance_path.starts_with("/line/")));

        let parquet = an_entry(None, ArtifactFormat::Parquet);
        let pp = t.path().join("p.parquet");
        let mut ok = b"PAR1".to_vec();
        ok.extend_from_slice(&[0u8; 10]);
        ok.extend_from_slice(&10u32.to_le_bytes());
        ok.extend_from_slice(b"PAR1");
        std::fs::write(&pp, &ok).unwrap();
        assert_eq!(validate_file(&parquet, &pp).unwrap().1, 0);
        std::fs::write(&pp, &ok[..ok.len() - 1]).unwrap();
        assert_eq!(validate_file(&parquet, &pp).unwrap().1, 1);
        let missing = t.path().join("missing.jsonl");
        let err = validate_file(&entry, &missing).unwrap_err().to_string();
        assert!(err.contains("missing.jsonl"), "{err}");
    }

    #[test]
    fn lines_checked_on_several_threads_give_the_errors_of_one() {
        let entry = an_entry(Some("contract_validation_report"), ArtifactFormat::Jsonl);
        let lines: Vec<(usize, Vec<u8>)> = (1..=500)
            .map(|i| {
                let text = match i % 4 {
                    0 => "not json".to_string(),
                    1 => "{}".to_string(),
                    2 => format!("{{\"contract_version\":{i}}}"),
                    _ => "[1]".to_string(),
                };
                (i * 2, text.into_bytes())
            })
            .collect();
        let run = |threads| {
            let mut errs = Errors::default();
            check_lines(&entry, &lines, threads, &mut errs).unwrap();
            let (kept, total) = errs.finish();
            (kept, total)
        };
        let one = run(1);
        assert!(one.1 > 500, "{}", one.1);
        for threads in [2, 3, 8] {
            assert_eq!(run(threads), one, "{threads} threads");
        }
    }

    #[test]
    fn truncated_parquet_is_rejected() {
        let entry = an_entry(None, ArtifactFormat::Parquet);
        assert_eq!(validate_artifact(&entry, b"PAR1\0\0\0").unwrap().1, 1);
    }
}
