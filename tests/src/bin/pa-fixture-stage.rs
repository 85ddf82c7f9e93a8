//! A test-only stage executable. The shell wrappers in `tests/fixtures/stages/` exec it as
//! `pa-fixture-stage <stage_id> --run-dir ... --lock-held`. Its behaviour comes from the
//! environment variable `PA_FIXTURE_<STAGE_ID>` (uppercase):
//!
//! * `success` (default): publish the stage's fixture artifact (if it has one), succeed;
//! * `warn`: publish, then report a warn_and_skip degradation (exit 10);
//! * `fail`: fail closed with `input_missing` (exit 20);
//! * `bad_artifact`: stage an artifact that fails its contract (exit 20, nothing published);
//! * `hang`: stage the artifact, write `<pid>` to `$PA_FIXTURE_READY`, then sleep (to be killed);
//! * `exit_silently`: exit 3 without recording an outcome.
//!
//! Invoked through a symlink named after a stage binary (`pa-detect -> pa-fixture-stage`), it
//! takes the stage from its own name (the orchestrator benchmark uses this).
//!
//! `PA_FIXTURE_TAG` is written into the artifact so tests can tell runs apart.

use clap::Parser;
use pa_bundle::Stage;
use pa_bundle::reason::CommonReason;
use pa_stage::{CommonArgs, StageContext, StageFailure, StageSuccess};

#[derive(Parser)]
struct Cli {
    stage: String,
    #[command(flatten)]
    common: CommonArgs,
}

/// Invoked through a link named after a stage binary (`pa-detect`)?
fn stage_from_argv0() -> Option<Stage> {
    let arg0 = std::env::args_os().next()?;
    let name = std::path::Path::new(&arg0)
        .file_name()?
        .to_str()?
        .to_string();
    Stage::ALL.into_iter().find(|s| s.binary_name() == name)
}

#[derive(Parser)]
struct LinkedCli {
    #[command(flatten)]
    common: CommonArgs,
}

fn artifact(stage: Stage, tag: &str, valid: bool) -> Option<(&'static str, Vec<u8>)> {
    match stage {
        Stage::Detection => {
            let line = if valid {
                serde_json::json!({
                    "rule_id": "11111111-1111-4111-8111-111111111111",
                    "rule_title": format!("fixture {tag}"),
                    "rule_source": "sigma",
                    "run_id": "00000000-0000-4000-8000-000000000000",
                    "scenario_id": "fixture",
                    "technique_ids": ["T1059"],
                    "first_seen_utc": "2026-01-01T00:00:00.000Z",
                    "last_seen_utc": "2026-01-01T00:00:00.000Z",
                    "matched_event_ids": ["pa:eid:v1:00000000000000000000000000000000"],
                })
                .to_string()
            } else {
                format!("{{\"rule_id\": 5, \"tag\": \"{tag}\"}}")
            };
            Some((
                "detections/detections.jsonl",
                format!("{line}\n").into_bytes(),
            ))
        }
        _ => None,
    }
}

fn behave(stage: Stage, ctx: &mut StageContext<'_>) -> Result<StageSuccess, StageFailure> {
    let mode = std::env::var(format!("PA_FIXTURE_{}", stage.as_str().to_uppercase()))
        .unwrap_or_else(|_| "success".into());
    let tag = std::env::var("PA_FIXTURE_TAG").unwrap_or_default();
    match mode.as_str() {
        "fail" => {
            return Err(StageFailure::new(
                CommonReason::InputMissing,
                format!("fixture {stage} told to fail"),
            ));
        }
        "exit_silently" => std::process::exit(3),
        _ => {}
    }
    if let Some((rel, bytes)) = artifact(stage, &tag, mode != "bad_artifact") {
        ctx.staging.write(rel, &bytes)?;
    }
    if mode == "hang" {
        if let Ok(ready) = std::env::var("PA_FIXTURE_READY") {
            let _ = std::fs::write(ready, std::process::id().to_string());
        }
        loop {
            std::thread::sleep(std::time::Duration::from_secs(1));
        }
    }
    let mut ok = StageSuccess {
        summary: format!("fixture {mode}"),
        ..Default::default()
    };
    if mode == "warn" {
        ok.warnings.push((
            CommonReason::InputMissing.into(),
            format!("fixture {stage} degraded"),
        ));
    }
    Ok(ok)
}

fn main() {
    if let Some(stage) = stage_from_argv0() {
        let cli = LinkedCli::parse();
        std::process::exit(pa_stage::run_stage(stage, &cli.common, |ctx| {
            behave(stage, ctx)
        }));
    }
    let cli = Cli::parse();
    let Some(stage) = Stage::parse(&cli.stage) else {
        eprintln!("unknown stage {}", cli.stage);
        std::process::exit(2);
    };
    std::process::exit(pa_stage::run_stage(stage, &cli.common, |ctx| {
        behave(stage, ctx)
    }));
}
