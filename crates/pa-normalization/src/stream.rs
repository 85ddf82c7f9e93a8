//! Stream mode: telemetry files, folders or stdin read with a `pa-sources` reader, normalized
//! on several threads (one file per thread) and written as OCSF JSONL in input order.

use super::{MAPPINGS_REL, NORMALIZER_VERSION, NormalizeError, Tally};
use pa_ocsf::{EventContext, Normalizer};
use pa_sources::parallel::{self, FileEvent};
use serde_json::json;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Stream-mode source names and the reader format each uses.
pub fn stream_format(source: &str) -> Result<pa_sources::SourceFormat, NormalizeError> {
    use pa_sources::SourceFormat as F;
    Ok(match source {
        "evtx" => F::Evtx,
        "win-xml" | "xml" => F::WinXml,
        "otlp-json" | "otlp" => F::OtlpJson,
        "win-json" | "sysmon-json" | "security-json" | "windows-json" => F::WinJson,
        "osquery" => F::Osquery,
        "auditd" => F::Auditd,
        other => return Err(NormalizeError::UnknownSource(other.to_owned())),
    })
}

/// The file names a stream-mode directory input takes for a format: by extension
/// (case-insensitive), or for audit logs `audit.log` and its rotations (`audit.log.1`...).
fn takes(format: pa_sources::SourceFormat, name: &str) -> bool {
    use pa_sources::SourceFormat as F;
    let lower = name.to_ascii_lowercase();
    let ext = lower.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    match format {
        F::Evtx => ext == "evtx",
        F::WinXml => ext == "xml",
        F::OtlpJson | F::WinJson | F::Osquery => matches!(ext, "json" | "jsonl" | "ndjson"),
        F::Auditd => lower == "audit.log" || lower.starts_with("audit.log.") || ext == "log",
    }
}

/// Stream-mode inputs as files, in order: `-` (stdin) and files as given; a directory walked
/// recursively for the files of the format (by extension; for audit logs `audit.log` and its rotations), sorted by path bytes. A path that
/// cannot be read, or a directory with no such file, is an error naming it.
pub fn stream_inputs(
    format: pa_sources::SourceFormat,
    inputs: &[String],
) -> Result<Vec<String>, NormalizeError> {
    fn walk(
        dir: &Path,
        format: pa_sources::SourceFormat,
        out: &mut Vec<PathBuf>,
    ) -> Result<(), NormalizeError> {
        let err = |path: &Path, e: std::io::Error| NormalizeError::Input {
            path: path.to_path_buf(),
            message: e.to_string(),
        };
        for entry in std::fs::read_dir(dir).map_err(|e| err(dir, e))? {
            let entry = entry.map_err(|e| err(dir, e))?;
            let p = entry.path();
            let ft = entry.file_type().map_err(|e| err(&p, e))?;
            if ft.is_dir() {
                walk(&p, format, out)?;
            } else if ft.is_file() && takes(format, &entry.file_name().to_string_lossy()) {
                out.push(p);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    for input in inputs {
        if input == "-" {
            out.push(input.clone());
            continue;
        }
        let path = PathBuf::from(input);
        let meta = std::fs::metadata(&path).map_err(|e| NormalizeError::Input {
            path: path.clone(),
            message: e.to_string(),
        })?;
        if !meta.is_dir() {
            out.push(input.clone());
            continue;
        }
        let mut files = Vec::new();
        walk(&path, format, &mut files)?;
        if files.is_empty() {
            return Err(NormalizeError::Input {
                path,
                message: format!("no {} input file in this directory", format.as_str()),
            });
        }
        files.sort_by(|a, b| {
            a.as_os_str()
                .as_encoded_bytes()
                .cmp(b.as_os_str().as_encoded_bytes())
        });
        out.extend(files.into_iter().map(|p| p.display().to_string()));
    }
    Ok(out)
}

/// Stream mode: normalize one input file (`-` = stdin) to OCSF JSONL on `out`, in input order.
/// `host` is the host of records that name none (audit logs without `node=`).
/// Returns the tally; a file-level read error is an `Err` naming the file.
pub fn stream(
    source: &str,
    input: &str,
    mappings: Option<&Path>,
    host: Option<&str>,
    out: &mut dyn Write,
) -> Result<Tally, NormalizeError> {
    stream_all(source, &[input.to_string()], mappings, host, out)
}

/// Stream mode over several inputs (files, directories walked for the format's files, `-`
/// for stdin; see [`stream_inputs`]), one after the other in the order given, the profiles
/// loaded once: OCSF JSONL on `out`, one tally for all.
pub fn stream_all(
    source: &str,
    inputs: &[String],
    mappings: Option<&Path>,
    host: Option<&str>,
    out: &mut dyn Write,
) -> Result<Tally, NormalizeError> {
    let format = stream_format(source)?;
    let files = stream_inputs(format, inputs)?;
    let dir = match mappings {
        Some(d) => d.to_path_buf(),
        None => pa_stage::shipped_dir(MAPPINGS_REL)?,
    };
    let normalizer = Normalizer::load(&dir)?;
    // Readers need a file (EVTX seeks): standard input is spooled to a temporary file.
    let mut spools = Vec::new();
    let mut paths = Vec::with_capacity(files.len());
    for input in &files {
        if input == "-" {
            let mut t = tempfile::NamedTempFile::new().map_err(NormalizeError::Stdin)?;
            std::io::copy(&mut std::io::stdin().lock(), &mut t).map_err(NormalizeError::Stdin)?;
            paths.push(t.path().to_path_buf());
            spools.push(t);
        } else {
            paths.push(PathBuf::from(input));
        }
    }
    let covered = normalizer.source_types();
    let mut tally = Tally::default();
    // Files are read and normalized on several threads (one file per thread); the lines arrive
    // here in file order, then record order: the output is that of a sequential pass.
    let threads = parallel::threads_for(paths.len());
    parallel::read_files(
        &paths,
        format,
        threads,
        |_| (),
        |i, rec| {
            let raw_ref = json!({"kind": "file_cursor_v1", "path": files[i],
                                 "cursor": format!("ordinal:{}", rec.provenance.ordinal)});
            let ectx = EventContext {
                run_id: "",
                scenario_id: "",
                raw_ref: Some(raw_ref),
                normalizer_version: NORMALIZER_VERSION,
                collector_version: None,
                host,
            };
            let n = normalizer.normalize(&rec, &ectx);
            let line = n.event().map(pa_canon::value_to_jsonl_line).transpose();
            (rec.source_type, n, line)
        },
        |_, ev| {
            match ev {
                FileEvent::Start(()) => {}
                FileEvent::OpenFailed(e) | FileEvent::ReadError(e) => {
                    return Err(NormalizeError::Read(e));
                }
                FileEvent::Records(rs) => {
                    for (st, n, line) in rs {
                        let is_covered = covered.iter().any(|c| c == st.as_str());
                        tally.note(st, &n, is_covered);
                        if let Some(line) = line? {
                            out.write_all(line.as_bytes())
                                .map_err(NormalizeError::Output)?;
                        }
                    }
                }
                FileEvent::Done(counters) => tally.note_dropped(&counters),
            }
            Ok(())
        },
    )?;
    drop(spools);
    out.flush().map_err(NormalizeError::Output)?;
    Ok(tally)
}
