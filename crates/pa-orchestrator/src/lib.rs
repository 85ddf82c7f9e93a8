//! The driver behind `pa-orchestrate`: creates a run bundle, spawns each enabled stage
//! binary in canonical order under the run lock, stops after a fail_closed failure, derives
//! the run status and writes `run_results.json` and `logs/health.json`.
//!
//! It knows stages only as executables and the bundle only through `pa-bundle`.

pub mod spawn;
pub mod status;

use pa_bundle::reason::CommonReason;
use pa_bundle::{
    BundleError, CONTRACT_VERSION, FailMode, Manifest, OCSF_VERSION, OutcomeStatus, RunDir,
    RunLock, RunStatus, Stage, StageOutcome, Staging, Workspace, validate_run_id,
};
use pa_config::{RangeConfig, ScenarioConfig};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

pub use spawn::StageLocator;

/// The pipeline version recorded in manifests.
pub const PIPELINE_VERSION: &str = concat!("purple-axiom-rs/", env!("CARGO_PKG_VERSION"));

/// Errors that stop the orchestrator before or outside stage execution.
#[derive(Debug, thiserror::Error)]
pub enum OrchestrateError {
    #[error("config_schema_invalid: {0}")]
    Config(#[from] pa_config::ConfigError),
    #[error("{0}")]
    Bundle(#[from] BundleError),
    #[error("{0}")]
    Usage(String),
}

impl OrchestrateError {
    /// The reason code for this error.
    pub fn reason_code(&self) -> &'static str {
        match self {
            OrchestrateError::Config(_) => CommonReason::ConfigSchemaInvalid.as_str(),
            OrchestrateError::Bundle(b) => b.reason_code().as_str(),
            OrchestrateError::Usage(_) => CommonReason::InputMissing.as_str(),
        }
    }
}

/// Options shared by both run forms.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub locator: StageLocator,
    pub until: Option<Stage>,
    pub force_run_lock: bool,
    /// Extra arguments passed to every stage (`--log-format json`, `-v`).
    pub stage_args: Vec<String>,
    /// Show a progress line on stderr.
    pub progress: bool,
}

/// How a pipeline ended.
#[derive(Debug, Clone)]
pub struct RunSummary {
    pub run_dir: PathBuf,
    pub status: RunStatus,
    pub outcomes: Vec<StageOutcome>,
}

fn break_glass_into(m: &mut Manifest, lock: &RunLock) {
    if let Some(ev) = &lock.break_glass {
        let orch = m
            .extensions
            .entry("orchestrator".into())
            .or_insert_with(|| json!({}));
        if let Some(obj) = orch.as_object_mut() {
            let rl = obj
                .entry("run_lock")
                .or_insert_with(|| json!({"break_glass_events": []}));
            if let Some(arr) = rl
                .get_mut("break_glass_events")
                .and_then(|a| a.as_array_mut())
            {
                arr.push(serde_json::to_value(ev).unwrap_or_default());
            }
        }
    }
}

fn abs(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// `pa-orchestrate run --range R --scenario S`: create a bundle and run the pipeline.
pub fn run_new(
    range_path: &Path,
    scenario_path: &Path,
    workspace: &Workspace,
    run_id: Option<String>,
    opts: &RunOptions,
    interrupted: Arc<AtomicBool>,
) -> Result<RunSummary, OrchestrateError> {
    let range_bytes = std::fs::read(range_path).map_err(|e| BundleError::io(range_path, e))?;
    let scenario_bytes =
        std::fs::read(scenario_path).map_err(|e| BundleError::io(scenario_path, e))?;
    let range = RangeConfig::parse(&String::from_utf8_lossy(&range_bytes), range_path)?;
    let scenario = ScenarioConfig::parse(&String::from_utf8_lossy(&scenario_bytes), scenario_path)?;

    let run_id = run_id.unwrap_or_else(pa_bundle::new_run_id);
    validate_run_id(&run_id).map_err(|e| OrchestrateError::Usage(e.to_string()))?;
    workspace.ensure()?;
    let lock = RunLock::acquire(workspace, &run_id, opts.force_run_lock)?;
    let dir = workspace.run_dir(&run_id);
    if dir.exists() {
        return Err(OrchestrateError::Usage(format!(
            "{} already exists: re-run stages of it with `pa-orchestrate run --run-dir {} --from <stage>`",
            dir.display(),
            dir.display()
        )));
    }
    std::fs::create_dir_all(&dir).map_err(|e| BundleError::io(&dir, e))?;
    let run = RunDir::new_unchecked(dir.clone(), run_id.clone());

    // Inputs, verbatim, through the publish gate.
    let mut staging = Staging::begin(&run, "orchestrator")?;
    staging.write("inputs/range.yaml", &range_bytes)?;
    staging.write("inputs/scenario.yaml", &scenario_bytes)?;
    staging.publish()?;

    let enabled: Vec<Stage> = Stage::ALL
        .into_iter()
        .filter(|s| range.stage_enabled(s.as_str()))
        .collect();
    let mut inputs = BTreeMap::new();
    inputs.insert(
        "range_yaml_sha256".to_string(),
        pa_canon::sha256_prefixed(&range_bytes),
    );
    inputs.insert(
        "scenario_yaml_sha256".to_string(),
        pa_canon::sha256_prefixed(&scenario_bytes),
    );
    let mut extensions = BTreeMap::new();
    extensions.insert(
        "orchestrator".to_string(),
        json!({
            "range_dir": abs(range_path.parent().unwrap_or(Path::new("."))).to_string_lossy(),
            "scenario_dir": abs(scenario_path.parent().unwrap_or(Path::new("."))).to_string_lossy(),
            "range_id": range.range_id,
        }),
    );
    let mut manifest = Manifest {
        contract_version: CONTRACT_VERSION.into(),
        run_id: run_id.clone(),
        status: RunStatus::Success,
        started_at_utc: pa_canon::now_utc_string(),
        ended_at_utc: None,
        scenario: pa_bundle::manifest::ManifestScenario {
            scenario_id: scenario.scenario_id.clone(),
            scenario_version: scenario.scenario_version.clone(),
            runner_type: if range.lab.provider == pa_config::LabProvider::Replay {
                "replay".into()
            } else {
                "atomic".into()
            },
            techniques: scenario.techniques(),
            posture: scenario.posture.as_ref().map(|p| json!({"mode": p.mode})),
        },
        versions: pa_bundle::manifest::Versions {
            project_version: env!("CARGO_PKG_VERSION").into(),
            pipeline_version: PIPELINE_VERSION.into(),
            scenario_id: scenario.scenario_id.clone(),
            scenario_version: scenario.scenario_version.clone(),
            ocsf_version: OCSF_VERSION.into(),
            contracts_version: CONTRACT_VERSION.into(),
            extra: BTreeMap::new(),
        },
        inputs,
        targets: range
            .lab
            .assets
            .iter()
            .map(|a| pa_bundle::manifest::Target {
                asset_id: a.asset_id.clone(),
                os: a.os.clone(),
                role: a.role.clone(),
            })
            .collect(),
        enabled_stages: enabled.clone(),
        stage_outcomes: Vec::new(),
        lab: Some(json!({"provider": range.lab.provider.as_str()})),
        extensions,
    };
    break_glass_into(&mut manifest, &lock);
    run.write_manifest(&manifest)?;
    tracing::info!(run_id = %run_id, dir = %dir.display(), "created run bundle");

    let stages: Vec<Stage> = enabled
        .iter()
        .copied()
        .filter(|s| opts.until.is_none_or(|u| *s <= u))
        .collect();
    let summary = drive(&run, &stages, opts, interrupted)?;
    drop(lock);
    Ok(summary)
}

/// `pa-orchestrate run --run-dir D --from S [--until U]`: re-run a suffix of an existing bundle.
pub fn run_existing(
    run_dir: &Path,
    from: Stage,
    opts: &RunOptions,
    interrupted: Arc<AtomicBool>,
) -> Result<RunSummary, OrchestrateError> {
    let (run, manifest) = RunDir::open(run_dir)?;
    let ws = run.workspace()?;
    let lock = RunLock::acquire(&ws, run.run_id(), opts.force_run_lock)?;
    // A bundle holds regular files only: one with a symlink (an input or the staging area
    // pointing outside it) is refused before anything is read through it.
    if let Some(path) = run.find_symlink()? {
        return Err(BundleError::Symlink { path }.into());
    }
    if lock.break_glass.is_some() {
        let mut m = run.read_manifest()?;
        break_glass_into(&mut m, &lock);
        run.write_manifest(&m)?;
    }
    pa_bundle::publish::recover(&run)?;
    let stages: Vec<Stage> = manifest
        .enabled_stages
        .iter()
        .copied()
        .filter(|s| *s >= from && opts.until.is_none_or(|u| *s <= u))
        .collect();
    if stages.is_empty() {
        return Err(OrchestrateError::Usage(format!(
            "no enabled stage from {from}{} in this run (enabled: {})",
            opts.until
                .map(|u| format!(" until {u}"))
                .unwrap_or_default(),
            manifest
                .enabled_stages
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let summary = drive(&run, &stages, opts, interrupted)?;
    drop(lock);
    Ok(summary)
}

/// Spawn `stages` in order; record outcomes; finalize the manifest and derived files.
fn drive(
    run: &RunDir,
    stages: &[Stage],
    opts: &RunOptions,
    interrupted: Arc<AtomicBool>,
) -> Result<RunSummary, OrchestrateError> {
    let progress = spawn::Progress::new(opts.progress, stages.len());
    let mut stopped = false;
    for (i, &stage) in stages.iter().enumerate() {
        let mut m = run.read_manifest()?;
        if stopped {
            m.record_outcomes(stage, vec![StageOutcome::blocked(stage)]);
            run.write_manifest(&m)?;
            continue;
        }
        // Forget the previous outcome: the stage records a fresh one.
        m.record_outcomes(stage, Vec::new());
        if stage == Stage::Signing {
            // Signing covers the manifest and the derived files: they must be final before
            // it hashes them (SPEC §11). pa-sign then records its own outcome in them.
            finalize(run, &mut m)?;
        } else {
            run.write_manifest(&m)?;
        }
        progress.start(i, stage);
        let result = spawn::run_stage_process(run, stage, opts, &interrupted);
        // Finish any publish the child was killed in the middle of, and drop its staging.
        pa_bundle::publish::recover(run)?;
        let staged = run.staging_root().join(stage.as_str());
        if staged.exists() {
            let _ = std::fs::remove_dir_all(&staged);
        }
        let mut m = run.read_manifest()?;
        let recorded = m.outcome(stage).cloned();
        let forced = match (result, recorded) {
            (spawn::ProcessResult::Interrupted(msg), _) => {
                Some((CommonReason::StageInterrupted, msg, None))
            }
            (spawn::ProcessResult::NotFound(msg), _) => {
                Some((CommonReason::StageBinaryNotFound, msg, None))
            }
            (spawn::ProcessResult::Exited { .. }, Some(o)) => {
                progress.finish(i, stage, &o);
                if o.status == OutcomeStatus::Failed && o.fail_mode == FailMode::FailClosed {
                    stopped = true;
                }
                None
            }
            (
                spawn::ProcessResult::Exited {
                    description,
                    duration_ms,
                },
                None,
            ) => Some((
                CommonReason::StageProcessFailed,
                format!(
                    "{} {description} without recording an outcome",
                    stage.binary_name()
                ),
                Some(duration_ms),
            )),
        };
        if let Some((code, msg, duration_ms)) = forced {
            let mut o =
                StageOutcome::failed(stage, FailMode::FailClosed, code.into()).with_message(msg);
            o.duration_ms = duration_ms;
            m.record_outcomes(stage, vec![o.clone()]);
            run.write_manifest(&m)?;
            progress.finish(i, stage, &o);
            stopped = true;
        }
    }
    progress.done();
    let mut m = run.read_manifest()?;
    let signed = stages.last() == Some(&Stage::Signing)
        && m.outcome(Stage::Signing)
            .is_some_and(|o| o.status == OutcomeStatus::Success);
    // A signed bundle is final as pa-sign left it: rewriting it would break the signature.
    if !signed {
        finalize(run, &mut m)?;
    }
    Ok(RunSummary {
        run_dir: run.path().to_path_buf(),
        status: m.status,
        outcomes: m.stage_outcomes,
    })
}

/// The end of a run: its end time, its status from the recorded outcomes, and the derived
/// files (`logs/health.json`, `run_results.json`).
fn finalize(run: &RunDir, m: &mut pa_bundle::Manifest) -> Result<(), OrchestrateError> {
    m.ended_at_utc = Some(pa_canon::now_utc_string());
    m.status = pa_bundle::derive_status(&m.stage_outcomes);
    run.write_manifest(m)?;
    pa_stage::write_derived(run, m)?;
    Ok(())
}
