//! The signing stage (`pa-sign`): `security/checksums.txt` over every covered file of a run
//! bundle ([`checksums`]), a minisign signature of it (`security/checksums.txt.minisig`,
//! trusted comment naming the run and the key) and the signer's public key
//! (`security/minisign.pub`); `pa-sign verify` ([`verify`]) re-hashes and checks all of it;
//! `pa-sign keygen` ([`key`]) makes a key pair. Any stock `minisign -V` verifies the signature.
//!
//! Ordering (SPEC §11): `manifest.json`, `logs/health.json` and `run_results.json` are covered
//! yet record the signing outcome, so the stage first records its own success and writes the
//! derived files, then hashes and signs; if anything after that fails it records the failure
//! and removes `security/`, so a bundle never carries a signature that does not verify.

pub mod checksums;
pub mod key;
pub mod verify;

use pa_bundle::reason::{CommonReason, SigningReason};
use pa_bundle::{BundleError, FailMode, ReasonCode, RunDir, Stage, StageOutcome, Staging};
use pa_stage::CommonArgs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What can go wrong while signing.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The key is missing, unreadable, malformed, encrypted without a password.
    #[error("signing key {what}: {message}")]
    Key { what: String, message: String },
    /// Bundles hold regular files only.
    #[error("{0}: is a symlink; a run bundle holds regular files only")]
    Symlink(PathBuf),
    #[error("{path}: {reason}")]
    BadPath { path: PathBuf, reason: String },
    #[error("minisign: {0}")]
    Minisign(String),
    #[error("internal error: {0}")]
    Internal(String),
    #[error(transparent)]
    Bundle(#[from] BundleError),
}

impl SignError {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        SignError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
    pub fn key(what: impl std::fmt::Display, message: impl Into<String>) -> Self {
        SignError::Key {
            what: what.to_string(),
            message: message.into(),
        }
    }
    /// The reason code the stage records.
    pub fn reason_code(&self) -> ReasonCode {
        match self {
            SignError::Key { .. } => SigningReason::SigningKeyUnavailable.into(),
            SignError::Bundle(e) => e.reason_code(),
            _ => SigningReason::SignatureWriteFailed.into(),
        }
    }
}

/// Signing options beyond the stage protocol's.
#[derive(Debug, Clone, Default)]
pub struct SignOptions {
    /// The secret key file (overrides the range's `security.signing.key_ref`).
    pub key: Option<PathBuf>,
    /// Environment variable with the password of an encrypted key (overrides
    /// `security.signing.password_env`).
    pub password_env: Option<String>,
}

/// The trusted comment of a bundle's signature (signed with it; no wall-clock time, so the
/// same bundle and key always give the same comment).
pub fn trusted_comment(run_id: &str, key_id: &str) -> String {
    format!(
        "run_id:{run_id} key_id:{key_id} file:{} signer:pa-sign/{}",
        checksums::CHECKSUMS,
        env!("CARGO_PKG_VERSION")
    )
}

/// Run the signing stage on `common.run_dir`; returns the exit code (0 signed, 20 not).
pub fn run(common: &CommonArgs, opts: &SignOptions) -> i32 {
    pa_stage::init_logging(common.log_format, common.verbose, common.quiet);
    let Some(run_dir) = common.run_dir.as_deref() else {
        let _ = writeln!(std::io::stderr(), "pa-sign: --run-dir is required");
        return 20;
    };
    match run_inner(common, run_dir, opts) {
        Ok(code) => code,
        Err(e) => {
            tracing::error!(reason_code = e.reason_code().as_str(), "{e}");
            let _ = writeln!(std::io::stderr(), "pa-sign: {e} ({})", e.reason_code());
            20
        }
    }
}

fn run_inner(common: &CommonArgs, run_dir: &Path, opts: &SignOptions) -> Result<i32, BundleError> {
    let (run, manifest, _lock) = pa_stage::open_locked(run_dir, common.lock_held)?;
    pa_bundle::publish::recover(&run)?;
    let started = Instant::now();

    // 1. The key (before anything changes).
    let key = match resolve_key(&run, &manifest, opts) {
        Ok(k) => k,
        Err(e) => return finish_failed(&run, started, e.reason_code(), e.to_string()),
    };

    // 2. Record success first: the manifest and the derived files are covered.
    let stale_report = run.resolve("logs/contract_validation/signing.json")?;
    if stale_report.exists() {
        std::fs::remove_file(&stale_report).map_err(|e| BundleError::io(&stale_report, e))?;
    }
    let mut m = run.read_manifest()?;
    let mut outcome = StageOutcome::success(Stage::Signing);
    outcome.duration_ms = Some(started.elapsed().as_millis() as u64);
    m.record_outcomes(Stage::Signing, vec![outcome]);
    run.write_manifest(&m)?;
    pa_stage::write_derived(&run, &m)?;

    // 3. Hash, sign, publish, verify what was published.
    match sign_bundle(&run, &key) {
        Ok(n) => {
            let secs = started.elapsed().as_secs_f64();
            tracing::info!(files = n, key_id = %key.key_id, "signed");
            let _ = writeln!(
                std::io::stdout(),
                "signing: success in {secs:.3}s: {n} file(s) signed with key id {}",
                key.key_id
            );
            Ok(0)
        }
        Err((code, msg)) => finish_failed(&run, started, code, msg),
    }
}

fn resolve_key(
    run: &RunDir,
    manifest: &pa_bundle::Manifest,
    opts: &SignOptions,
) -> Result<key::SigningKey, SignError> {
    // The range's signing section, when the bundle has one.
    let range = run
        .resolve("inputs/range.yaml")
        .ok()
        .filter(|p| p.is_file())
        .map(|p| pa_config::RangeConfig::load(&p))
        .transpose()
        .map_err(|e| SignError::key("inputs/range.yaml", e.to_string()))?;
    let cfg = range.map(|r| r.security.signing).unwrap_or_default();
    let source = match (&opts.key, &cfg.key_ref) {
        (Some(p), _) => key::KeySource::File(p.clone()),
        (None, Some(r)) => key::KeySource::parse(r, &pa_stage::range_base_dir(run, manifest))?,
        (None, None) => {
            return Err(SignError::key(
                "(none)",
                "no key: pass --key PATH or set security.signing.key_ref in the range (create one with `pa-sign keygen --out PATH`)",
            ));
        }
    };
    let password = match opts.password_env.as_ref().or(cfg.password_env.as_ref()) {
        Some(var) => Some(std::env::var(var).map_err(|_| {
            SignError::key(
                source.describe(),
                format!("its password variable {var} is not set"),
            )
        })?),
        None => None,
    };
    key::load(&source, password)
}

/// Hash every covered file, sign, publish `security/` through the gate, and verify the
/// published signature. Returns the number of signed files.
fn sign_bundle(run: &RunDir, key: &key::SigningKey) -> Result<usize, (ReasonCode, String)> {
    let fail = |e: SignError| (e.reason_code(), e.to_string());
    let root = run.path();
    let pub_text = key::public_key_text(&key.public).map_err(fail)?;
    // The public key is covered too: write it first, through the same staging.
    let mut entries = checksums::compute(root).map_err(fail)?;
    entries.retain(|e| !e.path.starts_with("security/"));
    entries.push(checksums::Entry {
        path: checksums::PUBLIC_KEY.into(),
        digest: pa_canon::sha256_prefixed(pub_text.as_bytes()),
    });
    entries.sort();
    let text = checksums::render(&entries);
    let sig = minisign::sign(
        Some(&key.public),
        &key.secret,
        std::io::Cursor::new(text.as_bytes()),
        Some(&trusted_comment(run.run_id(), &key.key_id)),
        Some(&format!("signature from pa-sign, key id {}", key.key_id)),
    )
    .map_err(|e| fail(SignError::Minisign(e.to_string())))?;
    let mut staging = Staging::begin(run, Stage::Signing.as_str()).map_err(|e| fail(e.into()))?;
    let staged = (|| {
        staging.write(checksums::PUBLIC_KEY, pub_text.as_bytes())?;
        staging.write(checksums::CHECKSUMS, text.as_bytes())?;
        staging.write(checksums::SIGNATURE, sig.into_string().as_bytes())
    })();
    if let Err(e) = staged {
        let _ = staging.abandon();
        return Err(fail(e.into()));
    }
    staging.publish().map_err(|e| fail(e.into()))?;
    // Self-check: what was published verifies with the key that signed it (not with the
    // copy just published).
    let report = verify::verify_with_key(
        root,
        Some(run.run_id()),
        &key.public,
        "signing key",
        "given",
    );
    if report.verdict != verify::Verdict::Valid {
        return Err((
            SigningReason::SignatureVerificationFailed.into(),
            format!(
                "the published signature does not verify: {}",
                verify::render_human(root, &report).trim_end()
            ),
        ));
    }
    Ok(entries.len())
}

/// Record a failed signing: no `security/` stays behind, the manifest and derived files say
/// why. Exit 20.
fn finish_failed(
    run: &RunDir,
    started: Instant,
    code: ReasonCode,
    message: String,
) -> Result<i32, BundleError> {
    let sec = run.resolve("security")?;
    if sec.exists() {
        std::fs::remove_dir_all(&sec).map_err(|e| BundleError::io(&sec, e))?;
    }
    let code = if code.allowed_for(Stage::Signing) {
        code
    } else {
        CommonReason::StageProcessFailed.into()
    };
    tracing::error!(reason_code = code.as_str(), "{message}");
    let mut o = StageOutcome::failed(Stage::Signing, FailMode::FailClosed, code)
        .with_message(message.clone());
    o.duration_ms = Some(started.elapsed().as_millis() as u64);
    let mut m = run.read_manifest()?;
    m.record_outcomes(Stage::Signing, vec![o]);
    run.write_manifest(&m)?;
    pa_stage::write_derived(run, &m)?;
    let _ = writeln!(
        std::io::stdout(),
        "signing: failed (fail_closed, {code}) in {:.3}s: {message}",
        started.elapsed().as_secs_f64()
    );
    Ok(20)
}
