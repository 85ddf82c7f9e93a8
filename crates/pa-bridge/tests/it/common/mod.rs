//! Shared helpers of the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// `../shared/data` relative to the repository root; fails loudly when absent.
pub fn shared_data() -> PathBuf {
    let p = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data"));
    assert!(
        p.is_dir(),
        "reference data not found at {} (expected ../shared/data beside the repository)",
        p.display()
    );
    p.to_path_buf()
}

/// The repository's `mappings/bridge` directory.
pub fn bridge_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../mappings/bridge"
    ))
}

/// The shipped bridge data, loaded (panics with the load error).
pub fn bridge() -> pa_bridge::Bridge {
    pa_bridge::Bridge::load(bridge_dir()).unwrap_or_else(|e| panic!("{e}"))
}

/// Every file under `dir` (recursively) whose extension is one of `exts`, appended to `out` in
/// directory order (callers sort). A directory that cannot be read fails the test.
pub fn files(dir: &Path, exts: &[&str], out: &mut Vec<PathBuf>) {
    let rd = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for e in rd {
        let p = e.expect("dir entry").path();
        if p.is_dir() {
            files(&p, exts, out);
        } else if p
            .extension()
            .and_then(|x| x.to_str())
            .is_some_and(|x| exts.contains(&x))
        {
            out.push(p);
        }
    }
}

/// A JSON file, parsed (panics naming the file).
pub fn read_json(p: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Fail with every problem listed (and their count) unless there are none.
pub fn assert_no_problems(problems: &[String]) {
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// The crate's JSON Schemas.
pub fn schema(name: &str) -> serde_json::Value {
    read_json(&PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/schemas")).join(name))
}

/// Validate `doc` against the schema file `name`, panicking with every error.
pub fn assert_valid(name: &str, doc: &serde_json::Value) {
    let s = schema(name);
    let v = jsonschema::validator_for(&s).unwrap_or_else(|e| panic!("{name}: bad schema: {e}"));
    let errors: Vec<String> = v
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{name}: {errors:#?}");
}

/// The parts of a Sigma rule the bridge needs.
#[derive(Debug)]
pub struct RuleKeys {
    pub id: Option<String>,
    pub logsource: pa_bridge::LogSource,
    /// Field names referenced by the detection (modifiers stripped, sorted, unique; keyword
    /// searches are not fields).
    pub fields: Vec<String>,
}

fn str_at<'a>(v: &'a serde_json::Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(serde_json::Value::as_str)
}

fn collect_fields(v: &serde_json::Value, out: &mut std::collections::BTreeSet<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for k in m.keys() {
                let f = pa_bridge::strip_modifiers(k);
                if !f.is_empty() {
                    out.insert(f.to_string());
                }
            }
        }
        serde_json::Value::Array(xs) => {
            for x in xs {
                if x.is_object() {
                    collect_fields(x, out);
                }
            }
        }
        _ => {}
    }
}

/// Parse a Sigma rule file's `id`, `logsource` and detection field names (first document that
/// has a `logsource`). `Err` when the YAML does not parse.
pub fn rule_keys(text: &str) -> Result<Option<RuleKeys>, String> {
    let docs: Vec<serde_json::Value> =
        serde_saphyr::from_multiple(text).map_err(|e| e.to_string())?;
    for d in docs {
        let Some(ls) = d.get("logsource") else {
            continue;
        };
        let logsource = pa_bridge::LogSource::new(
            str_at(ls, "product"),
            str_at(ls, "category"),
            str_at(ls, "service"),
        );
        let mut fields = std::collections::BTreeSet::new();
        if let Some(det) = d.get("detection").and_then(serde_json::Value::as_object) {
            for (k, v) in det {
                if k == "condition" || k == "timeframe" {
                    continue;
                }
                collect_fields(v, &mut fields);
            }
        }
        return Ok(Some(RuleKeys {
            id: str_at(&d, "id").map(str::to_string),
            logsource,
            fields: fields.into_iter().collect(),
        }));
    }
    Ok(None)
}
