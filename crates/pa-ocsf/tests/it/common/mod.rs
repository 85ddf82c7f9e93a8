//! Shared helpers of the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use pa_ocsf::{EventContext, Normalized, Normalizer};
use pa_sources::{Provenance, SourceRecord, SourceType};

/// The repository root (two levels above this crate).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `../shared/data` beside the repository; panics with a clear message when absent.
pub fn data_dir() -> PathBuf {
    let d = repo_root().join("../shared/data");
    assert!(
        d.is_dir(),
        "reference data missing: expected {} (../shared/data beside the repository)",
        d.display()
    );
    d
}

/// A file or directory under the reference data; panics with a clear message when absent.
pub fn data(rel: &str) -> PathBuf {
    let p = data_dir().join(rel);
    assert!(p.exists(), "reference data missing: {}", p.display());
    p
}

/// The authored profile tree.
pub fn mappings_dir() -> PathBuf {
    repo_root().join("mappings/normalizer/ocsf/1.7.0")
}

/// Load the authored profiles (panics with the load error).
pub fn normalizer() -> Normalizer {
    Normalizer::load(&mappings_dir()).unwrap_or_else(|e| panic!("profiles do not load: {e}"))
}

/// A synthetic record of source type `st` with the given fields (no time, no host).
pub fn record(st: SourceType, fields: serde_json::Value) -> SourceRecord {
    SourceRecord {
        source_type: st,
        provenance: Provenance {
            file: "synthetic".into(),
            offset: None,
            ordinal: 0,
            record_id: None,
        },
        time_ms: None,
        host: None,
        fields,
        raw: String::new(),
    }
}

/// The non-empty lines of a JSON Lines file under the reference data, parsed (panics naming the
/// file and the line that does not parse).
pub fn read_jsonl(rel: &str) -> Vec<serde_json::Value> {
    let p = data(rel);
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{}: {e}: {l}", p.display())))
        .collect()
}

/// A fixed context.
pub fn ctx() -> EventContext<'static> {
    EventContext {
        run_id: "run-test",
        scenario_id: "scenario-test",
        raw_ref: None,
        normalizer_version: "0.1.0-test",
        collector_version: None,
        host: None,
    }
}

/// Every record of a file read with `pa_sources::open_auto` (panics on a file-level error).
pub fn records(path: &Path) -> Vec<SourceRecord> {
    let reader = pa_sources::open_auto(path)
        .unwrap_or_else(|e| panic!("{}: cannot open: {e}", path.display()));
    reader
        .map(|r| r.unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .collect()
}

/// All files under `dir` with extension `ext`, sorted.
pub fn files_with_ext(dir: &Path, ext: &str) -> Vec<PathBuf> {
    fn walk(p: &Path, ext: &str, out: &mut Vec<PathBuf>) {
        let Ok(rd) = std::fs::read_dir(p) else { return };
        for e in rd.flatten() {
            let path = e.path();
            if path.is_dir() {
                walk(&path, ext, out);
            } else if path.extension().and_then(|x| x.to_str()) == Some(ext) {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, ext, &mut out);
    out.sort();
    out
}

/// The mapped event, or a panic naming the outcome.
pub fn mapped(n: &Normalized) -> &serde_json::Value {
    match n {
        Normalized::Mapped(v) => v,
        other => panic!("expected a mapped event, got {other:?}"),
    }
}

/// The value at a dotted path.
pub fn at<'a>(v: &'a serde_json::Value, path: &str) -> Option<&'a serde_json::Value> {
    path.split('.').try_fold(v, |cur, seg| cur.get(seg))
}
