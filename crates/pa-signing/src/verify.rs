//! `pa-sign verify <run-dir>`: parse the checksums file, verify its minisign signature,
//! re-hash every covered file, and report every missing, added or changed file.

use crate::checksums::{self, CHECKSUMS, Entry, PUBLIC_KEY, SIGNATURE};
use crate::key;
use minisign::{PublicKey, SignatureBox};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// The verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Signature good, every covered file present and unchanged, nothing added.
    Valid,
    /// Something was altered, added or removed, or the signature does not verify.
    Invalid,
    /// The bundle carries no signature to check (not signed, or `security/` incomplete).
    Indeterminate,
}

/// A covered file whose bytes differ from the signed checksum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Changed {
    pub path: String,
    pub expected: String,
    pub actual: String,
}

/// What `verify` found.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub verdict: Verdict,
    /// Signature check: `ok`, or why not.
    pub signature: String,
    /// `bundle` (the key in `security/minisign.pub`: proves integrity, not who signed) or
    /// `given` (`--pubkey`).
    pub key_source: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trusted_comment: Option<String>,
    /// Covered files listed in the checksums file.
    pub files_signed: usize,
    pub changed: Vec<Changed>,
    /// Listed, but gone.
    pub missing: Vec<String>,
    /// Covered by the rules, present, but not listed.
    pub added: Vec<String>,
    /// Other problems (checksums file format, unreadable files, symlinks).
    pub problems: Vec<String>,
}

impl Report {
    fn indeterminate(why: String, key_source: &'static str) -> Report {
        Report {
            verdict: Verdict::Indeterminate,
            signature: why,
            key_source,
            key_id: None,
            trusted_comment: None,
            files_signed: 0,
            changed: Vec::new(),
            missing: Vec::new(),
            added: Vec::new(),
            problems: Vec::new(),
        }
    }
}

/// Verify the bundle at `root` (whose run id is `run_id`, when known), with `pubkey` (a
/// minisign public key file) or else the bundle's own public key.
pub fn verify(root: &Path, run_id: Option<&str>, pubkey: Option<&Path>) -> Report {
    let key_source = if pubkey.is_some() { "given" } else { "bundle" };
    let (path, what) = match pubkey {
        Some(p) => (p.to_path_buf(), p.display().to_string()),
        None => (root.join(PUBLIC_KEY), PUBLIC_KEY.to_string()),
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if pubkey.is_none() && e.kind() == std::io::ErrorKind::NotFound => {
            return Report::indeterminate(
                format!(
                    "{PUBLIC_KEY} is missing: the bundle is not signed (or its signature was removed)"
                ),
                key_source,
            );
        }
        Err(e) => {
            let mut r = Report::indeterminate(format!("{what}: {e}"), key_source);
            if pubkey.is_none() {
                r.verdict = Verdict::Invalid;
            }
            return r;
        }
    };
    match key::parse_public(&text, &what) {
        Ok(pk) => verify_with_key(root, run_id, &pk, &what, key_source),
        Err(e) => {
            let mut r = Report::indeterminate(e.to_string(), key_source);
            r.verdict = Verdict::Invalid;
            r
        }
    }
}

/// [`verify`] with a public key already in hand (`pk_what` names it in messages).
pub fn verify_with_key(
    root: &Path,
    run_id: Option<&str>,
    pk: &PublicKey,
    pk_what: &str,
    key_source: &'static str,
) -> Report {
    let key_id = key::key_id(pk.keynum());
    let mut report = Report {
        verdict: Verdict::Valid,
        key_id: Some(key_id.clone()),
        ..Report::indeterminate("ok".into(), key_source)
    };

    // The checksums file and its signature.
    let sums = match std::fs::read(root.join(CHECKSUMS)) {
        Ok(b) => b,
        Err(e) => {
            report.verdict = Verdict::Invalid;
            report.signature = format!("{CHECKSUMS}: {e}");
            return report;
        }
    };
    match std::fs::read_to_string(root.join(SIGNATURE))
        .map_err(|e| format!("{SIGNATURE}: {e}"))
        .and_then(|t| {
            SignatureBox::from_string(&t)
                .map_err(|e| format!("{SIGNATURE}: not a minisign signature: {e}"))
        }) {
        Err(e) => {
            report.verdict = Verdict::Invalid;
            report.signature = e;
        }
        Ok(sig) => {
            report.trusted_comment = sig.trusted_comment().ok();
            let sig_id = key::key_id(sig.keynum());
            if sig_id != key_id {
                report.verdict = Verdict::Invalid;
                report.signature = format!(
                    "signed with key id {sig_id}, but the public key ({pk_what}) has key id {key_id}"
                );
            } else if let Err(e) =
                minisign::verify(pk, &sig, std::io::Cursor::new(&sums), true, false, false)
            {
                report.verdict = Verdict::Invalid;
                report.signature = format!("{CHECKSUMS}: {e}");
            } else if let (Some(id), Some(tc)) = (run_id, report.trusted_comment.as_deref()) {
                // The trusted comment is signed: it ties the signature to this run.
                let signed_run = tc
                    .split(' ')
                    .find_map(|w| w.strip_prefix("run_id:"))
                    .unwrap_or("");
                if signed_run != id {
                    report.verdict = Verdict::Invalid;
                    report.signature =
                        format!("the signature is of run {signed_run:?}, not of this run ({id})");
                }
            }
        }
    }

    // Re-hash.
    let listed = match checksums::parse(&sums) {
        Ok(l) => l,
        Err(e) => {
            report.verdict = Verdict::Invalid;
            report.problems.push(format!("{CHECKSUMS}: {e}"));
            return report;
        }
    };
    report.files_signed = listed.len();
    let on_disk = match checksums::all_files(root) {
        Ok(f) => f,
        Err(e) => {
            report.verdict = Verdict::Invalid;
            report.problems.push(e.to_string());
            return report;
        }
    };
    let present: std::collections::BTreeSet<&str> = on_disk.iter().map(String::as_str).collect();
    let listed_map: BTreeMap<&str, &Entry> = listed.iter().map(|e| (e.path.as_str(), e)).collect();
    let mut to_hash = Vec::new();
    for e in &listed {
        if present.contains(e.path.as_str()) {
            to_hash.push(e.path.clone());
        } else {
            report.missing.push(e.path.clone());
        }
        if !checksums::is_covered(&e.path) {
            report.problems.push(format!(
                "{CHECKSUMS} lists {}, which signing never covers",
                e.path
            ));
        }
    }
    for p in &on_disk {
        if checksums::is_covered(p) && !listed_map.contains_key(p.as_str()) {
            report.added.push(p.clone());
        }
    }
    match checksums::digest_all(root, &to_hash) {
        Ok(actual) => {
            for a in actual {
                let expected = &listed_map[a.path.as_str()].digest;
                if *expected != a.digest {
                    report.changed.push(Changed {
                        path: a.path,
                        expected: expected.clone(),
                        actual: a.digest,
                    });
                }
            }
        }
        Err(e) => report.problems.push(e.to_string()),
    }
    if !(report.changed.is_empty()
        && report.missing.is_empty()
        && report.added.is_empty()
        && report.problems.is_empty())
    {
        report.verdict = Verdict::Invalid;
    }
    report
}

/// The human rendering: a verdict line, then one line per finding.
pub fn render_human(root: &Path, r: &Report) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let verdict = match r.verdict {
        Verdict::Valid => "VALID",
        Verdict::Invalid => "INVALID",
        Verdict::Indeterminate => "INDETERMINATE",
    };
    let _ = writeln!(
        s,
        "{verdict}: {} ({} signed file(s){}{})",
        root.display(),
        r.files_signed,
        r.key_id
            .as_deref()
            .map(|k| format!(", key id {k} from the {} key", r.key_source))
            .unwrap_or_default(),
        r.trusted_comment
            .as_deref()
            .map(|t| format!(", trusted comment: {t}"))
            .unwrap_or_default()
    );
    if r.signature != "ok" {
        let _ = writeln!(s, "  signature: {}", r.signature);
    }
    for c in &r.changed {
        let _ = writeln!(
            s,
            "  changed: {} (signed {}, now {})",
            c.path, c.expected, c.actual
        );
    }
    for m in &r.missing {
        let _ = writeln!(s, "  missing: {m}");
    }
    for a in &r.added {
        let _ = writeln!(s, "  added:   {a}");
    }
    for p in &r.problems {
        let _ = writeln!(s, "  problem: {p}");
    }
    if r.verdict == Verdict::Valid && r.key_source == "bundle" {
        let _ = writeln!(
            s,
            "  note: verified with the bundle's own public key, which proves the bundle is intact, not who signed it; pass --pubkey with a key you trust"
        );
    }
    s
}
