//! `security/checksums.txt` (`pa.checksums_file.v1`): one line `sha256:<hex> <path>\n` per
//! covered file of a run bundle, sorted by the path's bytes, unique, LF only.
//!
//! Covered: every regular file of the bundle except `.staging/**` (work in progress),
//! `unredacted/**` (quarantined evidence), `raw_parquet/**` (SPEC §11), the volatile part of
//! `logs/**` (files there that no contract declares) and the checksums file and signature
//! themselves. A symlink anywhere in the bundle is an error: bundles hold regular files only.

use crate::SignError;
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};

/// The checksums file, bundle-relative.
pub const CHECKSUMS: &str = "security/checksums.txt";
/// Its minisign signature.
pub const SIGNATURE: &str = "security/checksums.txt.minisig";
/// The public key of the signer (minisign format), so `pa-sign verify` works on the bundle
/// alone; to prove *who* signed, verify with a key you trust (`--pubkey`).
pub const PUBLIC_KEY: &str = "security/minisign.pub";

/// One line of the checksums file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Entry {
    /// Bundle-relative path (`pa.run_relpath.v1`).
    pub path: String,
    /// `sha256:<64 lowercase hex>`.
    pub digest: String,
}

/// Whether a bundle-relative path is covered by the checksums.
pub fn is_covered(rel: &str) -> bool {
    if rel == CHECKSUMS || rel == SIGNATURE {
        return false;
    }
    match rel.split('/').next().unwrap_or("") {
        ".staging" | "unredacted" | "raw_parquet" => false,
        // Only what a contract declares is evidence; anything else under logs/ is volatile.
        "logs" => matches!(pa_bundle::contracts::entry_for(rel), Ok(Some(_))),
        _ => true,
    }
}

/// Every file of the bundle at `root` (bundle-relative, sorted by bytes), covered or not.
/// A symlink, a non-UTF-8 name or a path that is not a valid bundle path is an error.
pub fn all_files(root: &Path) -> Result<Vec<String>, SignError> {
    let mut out = Vec::new();
    walk(root, root, &mut out)?;
    out.sort();
    Ok(out)
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) -> Result<(), SignError> {
    let rd = std::fs::read_dir(dir).map_err(|e| SignError::io(dir, e))?;
    for entry in rd {
        let entry = entry.map_err(|e| SignError::io(dir, e))?;
        let path = entry.path();
        let ft = entry.file_type().map_err(|e| SignError::io(&path, e))?;
        let rel = path
            .strip_prefix(root)
            .ok()
            .and_then(|r| r.to_str())
            .ok_or_else(|| SignError::BadPath {
                path: path.clone(),
                reason: "the name is not UTF-8".into(),
            })?
            .to_owned();
        if ft.is_symlink() {
            return Err(SignError::Symlink(path));
        }
        if ft.is_dir() {
            // The staging area is work in progress of a running stage: never read.
            if rel == ".staging" {
                continue;
            }
            walk(root, &path, out)?;
        } else if ft.is_file() {
            pa_bundle::relpath::check(&rel).map_err(|e| SignError::BadPath {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            out.push(rel);
        } else {
            return Err(SignError::BadPath {
                path,
                reason: "not a regular file".into(),
            });
        }
    }
    Ok(())
}

/// `sha256:<hex>` of a file's bytes, streamed.
pub fn file_digest(path: &Path) -> Result<String, SignError> {
    let mut f = std::fs::File::open(path).map_err(|e| SignError::io(path, e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = f.read(&mut buf).map_err(|e| SignError::io(path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(format!("sha256:{}", hex::encode(h.finalize())))
}

/// Digest every path (bundle-relative under `root`), on all cores, in input order.
pub fn digest_all(root: &Path, paths: &[String]) -> Result<Vec<Entry>, SignError> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 8);
    let chunk = paths.len().div_ceil(threads).max(1);
    let results: Vec<Result<Vec<Entry>, SignError>> = std::thread::scope(|s| {
        let handles: Vec<_> = paths
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .map(|rel| {
                            Ok(Entry {
                                digest: file_digest(&root.join(rel))?,
                                path: rel.clone(),
                            })
                        })
                        .collect::<Result<Vec<_>, SignError>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(SignError::Internal("hash worker panicked".into())))
            })
            .collect()
    });
    let mut out = Vec::with_capacity(paths.len());
    for r in results {
        out.extend(r?);
    }
    Ok(out)
}

/// The checksums of the bundle at `root`: every covered file, sorted by path.
pub fn compute(root: &Path) -> Result<Vec<Entry>, SignError> {
    let covered: Vec<String> = all_files(root)?
        .into_iter()
        .filter(|p| is_covered(p))
        .collect();
    digest_all(root, &covered)
}

/// The file's bytes.
pub fn render(entries: &[Entry]) -> String {
    let mut s = String::with_capacity(entries.len() * 120);
    for e in entries {
        s.push_str(&e.digest);
        s.push(' ');
        s.push_str(&e.path);
        s.push('\n');
    }
    s
}

/// Why a checksums file does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct FormatError {
    /// 1-based line (0: the whole file).
    pub line: usize,
    pub message: String,
}

/// Parse a checksums file strictly: UTF-8, LF line ends with a final LF, every line
/// `sha256:<64 lowercase hex> <valid bundle path>`, paths strictly ascending by bytes.
pub fn parse(bytes: &[u8]) -> Result<Vec<Entry>, FormatError> {
    let err = |line, message: String| FormatError { line, message };
    let text = std::str::from_utf8(bytes).map_err(|e| err(0, format!("not UTF-8: {e}")))?;
    if text.is_empty() {
        return Err(err(0, "empty: a bundle always has covered files".into()));
    }
    if !text.ends_with('\n') {
        return Err(err(0, "does not end with LF".into()));
    }
    let mut out: Vec<Entry> = Vec::new();
    for (i, line) in text[..text.len() - 1].split('\n').enumerate() {
        let n = i + 1;
        if line.contains('\r') {
            return Err(err(n, "CR in line (LF only)".into()));
        }
        let (digest, path) = line
            .split_once(' ')
            .ok_or_else(|| err(n, "expected `sha256:<hex> <path>`".into()))?;
        let hexpart = digest
            .strip_prefix("sha256:")
            .ok_or_else(|| err(n, format!("digest {digest:?} does not start with sha256:")))?;
        if hexpart.len() != 64
            || !hexpart
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(err(
                n,
                format!("digest {digest:?} is not 64 lowercase hex digits"),
            ));
        }
        pa_bundle::relpath::check(path)
            .map_err(|e| err(n, format!("path {path:?} is not a bundle path: {e}")))?;
        if let Some(prev) = out.last() {
            if prev.path.as_bytes() >= path.as_bytes() {
                return Err(err(
                    n,
                    format!(
                        "path {path:?} is not after {:?} (sorted, unique)",
                        prev.path
                    ),
                ));
            }
        }
        out.push(Entry {
            path: path.to_owned(),
            digest: digest.to_owned(),
        });
    }
    Ok(out)
}

/// A bundle path made absolute under `root` (for messages).
pub fn abs(root: &Path, rel: &str) -> PathBuf {
    root.join(rel)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coverage_follows_the_spec() {
        for p in [
            "manifest.json",
            "logs/health.json",
            "logs/contract_validation/detection.json",
            "security/minisign.pub",
            "normalized/ocsf_events/part-0000.parquet",
            "inputs/range.yaml",
        ] {
            assert!(is_covered(p), "{p}");
        }
        for p in [
            CHECKSUMS,
            SIGNATURE,
            ".staging/detection/x.json",
            "unredacted/runner/a.txt",
            "raw_parquet/src/part-0000.parquet",
            "logs/pa-detect.stderr.log",
        ] {
            assert!(!is_covered(p), "{p}");
        }
    }

    #[test]
    fn render_then_parse_round_trips_and_parse_is_strict() {
        let d = format!("sha256:{}", "a".repeat(64));
        let entries = vec![
            Entry {
                path: "a b.txt".into(),
                digest: d.clone(),
            },
            Entry {
                path: "manifest.json".into(),
                digest: d.clone(),
            },
        ];
        let text = render(&entries);
        assert_eq!(parse(text.as_bytes()).unwrap(), entries);
        for (bad, what) in [
            ("", "empty"),
            (&text[..text.len() - 1], "final LF"),
            (&text.replace('\n', "\r\n"), "CR"),
            (&format!("{d} manifest.json\n{d} a.txt\n"), "order"),
            (&format!("{d} a.txt\n{d} a.txt\n"), "duplicate"),
            (&format!("{} a.txt\n", d.to_uppercase()), "prefix case"),
            (&format!("sha256:{} a.txt\n", "A".repeat(64)), "hex case"),
            (&format!("sha256:{} a.txt\n", "a".repeat(63)), "length"),
            (&format!("{d} ../etc/passwd\n"), "dot-dot"),
            (&format!("{d} /etc/passwd\n"), "absolute"),
            (&format!("{d}\n"), "no path"),
        ] {
            assert!(parse(bad.as_bytes()).is_err(), "{what} accepted");
        }
    }

    #[test]
    fn compute_skips_uncovered_and_refuses_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for (rel, body) in [
            ("manifest.json", "{}"),
            ("raw_parquet/s/part-0000.parquet", "x"),
            (".staging/detection/a.json", "x"),
            ("logs/health.json", "{}"),
            ("logs/debug.log", "x"),
            ("detections/detections.jsonl", ""),
        ] {
            let p = root.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, body).unwrap();
        }
        let got: Vec<String> = compute(root).unwrap().into_iter().map(|e| e.path).collect();
        assert_eq!(
            got,
            [
                "detections/detections.jsonl",
                "logs/health.json",
                "manifest.json"
            ]
        );
        let e = compute(root).unwrap();
        assert_eq!(
            e[0].digest,
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        std::os::unix::fs::symlink("/etc/passwd", root.join("detections/link")).unwrap();
        assert!(matches!(compute(root), Err(SignError::Symlink(_))));
    }
}
