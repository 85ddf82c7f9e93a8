//! The stage protocol (DESIGN §4) shared by every stage binary, so each binary is a thin
//! `main`: common arguments, logging, open the bundle, take or verify the run lock, stage,
//! gate and publish, record the outcome in `manifest.json`, print a one-line summary and
//! return the exit code (0 success, 10 warn_and_skip, 20 fail_closed).

pub mod logging;
mod main_macro;

mod stdout;
use clap::Args;
use pa_bundle::reason::CommonReason;
use pa_bundle::{
    BundleError, FailMode, Manifest, OutcomeStatus, ReasonCode, RunDir, RunLock, Stage,
    StageOutcome, Staging,
};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;
pub use stdout::{Stdout, exit_on_error, stdout, stdout_closed, verdict};

pub use logging::{LogFormat, init_logging};

/// Arguments every stage binary accepts.
#[derive(Debug, Clone, Args)]
pub struct CommonArgs {
    /// The run bundle to work on (`runs/<run_id>`).
    #[arg(long, value_name = "DIR")]
    pub run_dir: Option<PathBuf>,
    /// The caller (pa-orchestrate) holds the run lock; verify it instead of taking it.
    #[arg(long)]
    pub lock_held: bool,
    /// Log format on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,
    /// More logging (-v, -vv).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Less logging (-q: warnings and errors only, -qq: errors only).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub quiet: u8,
}

/// Why a stage failed: a reason code from the catalog, a message naming the file and what is
/// wrong, and optionally a fail mode other than the stage's default.
#[derive(Debug)]
pub struct StageFailure {
    pub code: ReasonCode,
    pub message: String,
    pub fail_mode: Option<FailMode>,
}

impl StageFailure {
    pub fn new(code: impl Into<ReasonCode>, message: impl Into<String>) -> Self {
        StageFailure {
            code: code.into(),
            message: message.into(),
            fail_mode: None,
        }
    }
    pub fn with_fail_mode(mut self, m: FailMode) -> Self {
        self.fail_mode = Some(m);
        self
    }
}

impl From<BundleError> for StageFailure {
    fn from(e: BundleError) -> Self {
        StageFailure::new(e.reason_code(), e.to_string())
    }
}

/// What a stage that completed reports.
#[derive(Debug, Default)]
pub struct StageSuccess {
    /// One line for the summary (`1234 events normalized`).
    pub summary: String,
    /// Degradations: the stage completed and publishes, but the outcome is
    /// `failed`/`warn_and_skip` with the first code (exit 10).
    pub warnings: Vec<(ReasonCode, String)>,
    /// Substage outcomes (`telemetry.windows_eventlog.raw_mode`, ...).
    pub substages: Vec<StageOutcome>,
    /// Version pins to merge into `manifest.versions`.
    pub versions: BTreeMap<String, serde_json::Value>,
}

/// What a stage function gets.
pub struct StageContext<'a> {
    pub stage: Stage,
    pub run: &'a RunDir,
    pub manifest: &'a Manifest,
    pub staging: &'a mut Staging,
}

impl StageContext<'_> {
    /// Resolve a declared bundle input: it must be a valid relative path, exist, and not be a
    /// symlink; otherwise the failure is `input_missing` naming the path.
    pub fn input(&self, rel: &str) -> Result<PathBuf, StageFailure> {
        let p = self.run.resolve(rel).map_err(StageFailure::from)?;
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => Err(StageFailure::new(
                CommonReason::InputMissing,
                format!(
                    "{}: is a symlink; bundle inputs must be regular files",
                    p.display()
                ),
            )),
            Ok(_) => Ok(p),
            Err(e) => Err(StageFailure::new(
                CommonReason::InputMissing,
                format!(
                    "{}: required input of stage {} is missing: {e}",
                    p.display(),
                    self.stage
                ),
            )),
        }
    }

    /// The run's range configuration (`inputs/range.yaml`).
    pub fn range(&self) -> Result<pa_config::RangeConfig, StageFailure> {
        let p = self.input("inputs/range.yaml")?;
        pa_config::RangeConfig::load(&p)
            .map_err(|e| StageFailure::new(CommonReason::ConfigSchemaInvalid, e.to_string()))
    }

    /// The directory relative paths in the range file are resolved against (recorded by the
    /// orchestrator when it copied the range file), or the bundle's `inputs/`.
    pub fn range_base_dir(&self) -> PathBuf {
        range_base_dir(self.run, self.manifest)
    }
}

/// The directory relative paths in a bundle's range file are resolved against: the one the
/// orchestrator recorded when it copied the range file, else the bundle's `inputs/`.
pub fn range_base_dir(run: &RunDir, manifest: &Manifest) -> PathBuf {
    manifest
        .extensions
        .get("orchestrator")
        .and_then(|o| o.get("range_dir"))
        .and_then(|d| d.as_str())
        .map(PathBuf::from)
        .unwrap_or_else(|| run.path().join("inputs"))
}

/// How a stage invocation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Success,
    Warned,
    Failed,
}

impl Exit {
    pub fn code(self) -> i32 {
        match self {
            Exit::Success => 0,
            Exit::Warned => 10,
            Exit::Failed => 20,
        }
    }
}

/// Run a stage function under the stage protocol. Never panics on stage errors: a panic in
/// `f` is caught and recorded as `stage_process_failed`.
pub fn run_stage<F>(stage: Stage, common: &CommonArgs, f: F) -> i32
where
    F: FnOnce(&mut StageContext<'_>) -> Result<StageSuccess, StageFailure>,
{
    run_stage_with(stage, common, true, f)
}

/// [`run_stage`], with the one-line summary on stdout only when `summary` is true: a tool whose
/// stdout is a document of its own (`pa-report diff --format json`) records the same outcome
/// and exits with the same code, but leaves stdout to that document.
pub fn run_stage_with<F>(stage: Stage, common: &CommonArgs, summary: bool, f: F) -> i32
where
    F: FnOnce(&mut StageContext<'_>) -> Result<StageSuccess, StageFailure>,
{
    init_logging(common.log_format, common.verbose, common.quiet);
    let Some(run_dir) = common.run_dir.as_deref() else {
        let _ = writeln!(std::io::stderr(), "error: --run-dir is required");
        return 20;
    };
    match run_stage_inner(stage, common, run_dir, summary, f) {
        Ok(exit) => exit.code(),
        Err(e) => {
            tracing::error!(
                stage = stage.as_str(),
                reason_code = e.reason_code().as_str(),
                "{e}"
            );
            let _ = writeln!(
                std::io::stderr(),
                "{}: {} ({})",
                stage.binary_name(),
                e,
                e.reason_code()
            );
            20
        }
    }
}

/// The first step of the stage protocol, before any mutation: open the bundle (not a run, a bad
/// manifest: refused) and take the run lock, or verify that the caller (`--lock-held`) holds
/// it. The lock is held while the returned guard lives.
pub fn open_locked(
    run_dir: &Path,
    lock_held: bool,
) -> Result<(RunDir, Manifest, Option<RunLock>), BundleError> {
    let (run, manifest) = RunDir::open(run_dir)?;
    let ws = run.workspace()?;
    let lock = if lock_held {
        RunLock::verify_held_elsewhere(&ws, run.run_id())?;
        None
    } else {
        Some(RunLock::acquire(&ws, run.run_id(), false)?)
    };
    Ok((run, manifest, lock))
}

fn run_stage_inner<F>(
    stage: Stage,
    common: &CommonArgs,
    run_dir: &Path,
    print_summary: bool,
    f: F,
) -> Result<Exit, BundleError>
where
    F: FnOnce(&mut StageContext<'_>) -> Result<StageSuccess, StageFailure>,
{
    let (run, manifest, _lock) = open_locked(run_dir, common.lock_held)?;
    let started = Instant::now();
    // A bundle holds regular files only: with a symlink anywhere (an input pointing outside the
    // bundle, a staging area elsewhere) nothing is read or staged, and the stage fails.
    let result = match run.find_symlink()? {
        Some(path) => Err(BundleError::Symlink { path }.into()),
        None => {
            let mut staging = Staging::begin(&run, stage.as_str())?;
            match call_stage(stage, &run, &manifest, &mut staging, f) {
                Ok(ok) => Ok((ok, staging)),
                Err(fail) => {
                    staging.abandon()?;
                    Err(fail)
                }
            }
        }
    };
    let (mut outcome, substages, versions, summary) = match result {
        Ok((ok, staging)) => match staging.publish() {
            Ok(report) => {
                let mut outcome = StageOutcome::success(stage);
                if let Some((code, msg)) = ok.warnings.first() {
                    outcome = StageOutcome::failed(stage, FailMode::WarnAndSkip, *code)
                        .with_message(msg.clone());
                    for (code, msg) in &ok.warnings {
                        tracing::warn!(reason_code = code.as_str(), "{msg}");
                    }
                }
                tracing::debug!(
                    published = report.published.len(),
                    removed = report.removed.len(),
                    "published"
                );
                (outcome, ok.substages, ok.versions, ok.summary)
            }
            Err(e) => {
                tracing::error!("{e}");
                let o = StageOutcome::failed(stage, FailMode::FailClosed, e.reason_code())
                    .with_message(e.to_string());
                (o, Vec::new(), BTreeMap::new(), String::new())
            }
        },
        Err(fail) => {
            tracing::error!(reason_code = fail.code.as_str(), "{}", fail.message);
            let mode = fail.fail_mode.unwrap_or_else(|| stage.default_fail_mode());
            let code = if fail.code.allowed_for(stage) {
                fail.code
            } else {
                CommonReason::StageProcessFailed.into()
            };
            (
                StageOutcome::failed(stage, mode, code).with_message(fail.message),
                Vec::new(),
                BTreeMap::new(),
                String::new(),
            )
        }
    };
    outcome.duration_ms = Some(started.elapsed().as_millis() as u64);

    // Record: re-read the manifest (the orchestrator may have changed it), replace our outcomes.
    let mut m = run.read_manifest()?;
    // The exit code is the worst of the stage's outcome and its substages' (a failed
    // `scoring.thresholds` gate makes `pa-score` exit 10, as it makes the run partial).
    let worst_sub = substages
        .iter()
        .filter(|o| o.status == OutcomeStatus::Failed)
        .map(|o| o.fail_mode)
        .max_by_key(|f| matches!(f, FailMode::FailClosed));
    let mut all = vec![outcome.clone()];
    all.extend(substages);
    m.record_outcomes(stage, all);
    for (k, v) in versions {
        m.versions.extra.insert(k, v);
    }
    run.write_manifest(&m)?;
    if !common.lock_held {
        // Standalone re-run: keep the derived files in step with the manifest.
        write_derived(&run, &m)?;
    }
    let exit = match (outcome.status, outcome.fail_mode, worst_sub) {
        (OutcomeStatus::Success, _, None) => Exit::Success,
        (OutcomeStatus::Success, _, Some(FailMode::WarnAndSkip)) => Exit::Warned,
        (OutcomeStatus::Success, _, Some(FailMode::FailClosed)) => Exit::Failed,
        (OutcomeStatus::Failed, FailMode::WarnAndSkip, Some(FailMode::FailClosed)) => Exit::Failed,
        (OutcomeStatus::Failed, FailMode::WarnAndSkip, _) => Exit::Warned,
        _ => Exit::Failed,
    };
    let secs = outcome.duration_ms.unwrap_or(0) as f64 / 1000.0;
    // The one-line summary of the stage protocol. A closed stdout (`| head`) is not an error
    // of the stage: the outcome is already recorded.
    if !print_summary {
        return Ok(exit);
    }
    let mut stdout = std::io::stdout().lock();
    let _ = match &outcome.reason_code {
        None => writeln!(
            stdout,
            "{}: success in {secs:.3}s{}",
            stage,
            if summary.is_empty() {
                String::new()
            } else {
                format!(": {summary}")
            }
        ),
        Some(code) => writeln!(
            stdout,
            "{}: {} ({}, {code}) in {secs:.3}s: {}",
            stage,
            outcome.status.as_str(),
            outcome.fail_mode.as_str(),
            outcome.message.as_deref().unwrap_or("")
        ),
    };
    Ok(exit)
}

/// Call the stage function; a panic in it is a `stage_process_failed` failure.
fn call_stage<F>(
    stage: Stage,
    run: &RunDir,
    manifest: &Manifest,
    staging: &mut Staging,
    f: F,
) -> Result<StageSuccess, StageFailure>
where
    F: FnOnce(&mut StageContext<'_>) -> Result<StageSuccess, StageFailure>,
{
    let mut ctx = StageContext {
        stage,
        run,
        manifest,
        staging,
    };
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&mut ctx))) {
        Ok(r) => r,
        Err(p) => {
            let msg = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".into());
            Err(StageFailure::new(
                CommonReason::StageProcessFailed,
                format!("internal error (panic): {msg}"),
            ))
        }
    }
}

/// The key metrics of `run_results.json`, from `scoring/summary.json` when scoring ran: the
/// actual values of the coverage, latency and Tier-1 gates, and a few more; with the number of
/// executed actions. A summary that cannot be read gives none (scoring's own outcome says why).
fn scoring_metrics(run: &RunDir) -> (Option<u64>, std::collections::BTreeMap<String, Option<f64>>) {
    /// The part of `scoring/summary.json` the run results carry: only `metrics` is kept;
    /// everything else of a summary that can be tens of megabytes is skipped unparsed.
    #[derive(serde::Deserialize)]
    struct Head {
        metrics: BTreeMap<String, serde_json::Value>,
    }
    let mut out = std::collections::BTreeMap::new();
    let Some(head) = run
        .resolve("scoring/summary.json")
        .ok()
        .and_then(|p| std::fs::read(p).ok())
        .and_then(|b| serde_json::from_slice::<Head>(&b).ok())
    else {
        return (None, out);
    };
    let m = &head.metrics;
    let num = |key: &str| m.get(key).and_then(serde_json::Value::as_f64);
    for key in [
        "technique_coverage_rate",
        "detection_latency_p50_seconds",
        "detection_latency_p95_seconds",
        "detection_latency_max_seconds",
        "tier1_field_coverage_rate",
        "false_positive_detection_rate",
        "actions_detected",
        "techniques_executed",
        "techniques_detected",
        "false_positive_detection_count",
    ] {
        out.insert(key.to_string(), num(key));
    }
    (
        m.get("actions_executed")
            .and_then(serde_json::Value::as_u64),
        out,
    )
}

/// Write `logs/health.json` and `run_results.json` from the manifest (validated, atomic).
pub fn write_derived(run: &RunDir, m: &Manifest) -> Result<(), BundleError> {
    let health = pa_canon::to_value(&pa_bundle::results::health(m))?;
    let (actions, metrics) = scoring_metrics(run);
    let mut rr = pa_bundle::results::run_results(m, actions, metrics);
    for (name, rel) in [
        ("report_json", "report/report.json"),
        ("scoring_summary", "scoring/summary.json"),
    ] {
        if run.resolve(rel).is_ok_and(|p| p.is_file()) {
            rr.pointers.insert(name.to_owned(), rel.to_owned());
        }
    }
    let results = pa_canon::to_value(&rr)?;
    for (rel, contract, v) in [
        ("logs/health.json", "health", health),
        ("run_results.json", "run_results", results),
    ] {
        let errs = pa_bundle::contracts::validate_value(contract, &v)?;
        if let Some(e) = errs.first() {
            return Err(BundleError::Contract {
                contract: contract.into(),
                reason: format!("{} {}", e.instance_path, e.message),
            });
        }
        pa_bundle::fsutil::write_atomic(&run.resolve(rel)?, &pa_canon::jcs_value(&v)?)?;
    }
    Ok(())
}

/// Data that ships with the project was not found anywhere [`shipped_dir`] looks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "shipped data {rel} not found; looked in: {} (set PA_HOME to the directory that holds mappings/)",
    tried.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
)]
pub struct ShippedDataNotFound {
    /// The data's path relative to the project's data root.
    pub rel: String,
    /// Every place looked, in order.
    pub tried: Vec<PathBuf>,
}

/// Find data that ships with the project (`mappings/...`): `$PA_HOME/<rel>` when `PA_HOME` is
/// set, else beside the executable in the repository layout (`<repo>/target/<profile>/<exe>` →
/// `<repo>/<rel>`) or the install layout (`<prefix>/bin/<exe>` → `<prefix>/share/purple-axiom/<rel>`),
/// else the source tree the binary was built from, else `./<rel>`. The error names every place
/// it looked.
pub fn shipped_dir(rel: &str) -> Result<PathBuf, ShippedDataNotFound> {
    let mut tried = Vec::new();
    if let Some(home) = std::env::var_os("PA_HOME") {
        let p = PathBuf::from(home).join(rel);
        if p.is_dir() {
            return Ok(p);
        }
        tried.push(p);
    } else {
        if let Ok(exe) = std::env::current_exe() {
            let exe = exe.canonicalize().unwrap_or(exe);
            let mut cands = Vec::new();
            if let Some(bin) = exe.parent() {
                for up in bin.ancestors().skip(1).take(3) {
                    cands.push(up.join(rel));
                }
                if let Some(prefix) = bin.parent() {
                    cands.push(prefix.join("share/purple-axiom").join(rel));
                }
            }
            for p in cands {
                if p.is_dir() {
                    return Ok(p);
                }
                tried.push(p);
            }
        }
        // The source tree this binary was built from (a build with CARGO_TARGET_DIR elsewhere).
        let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(rel);
        if p.is_dir() {
            return Ok(p);
        }
        tried.push(p);
        let p = PathBuf::from(rel);
        if p.is_dir() {
            return Ok(p);
        }
        tried.push(p);
    }
    Err(ShippedDataNotFound {
        rel: rel.to_owned(),
        tried,
    })
}
