//! `pa-runner`: the runner stage (ground truth: Atomic Red Team tests run on the range's
//! targets, or a recording imported by the replay provider). `--dry-run` prints the resolved
//! commands of every action and runs nothing.

use anyhow::Context;
use clap::Parser;
use std::io::Write;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "pa-runner",
    version,
    about = "Run the scenario's Atomic Red Team tests on the range's targets (or import the recording of a replay range); --dry-run prints what would run"
)]
struct Cli {
    #[command(flatten)]
    common: pa_stage::CommonArgs,
    /// Print every action's target, test and resolved commands (secrets redacted); run nothing,
    /// change nothing.
    #[arg(long)]
    dry_run: bool,
    /// With --dry-run and no --run-dir: the range file.
    #[arg(long, requires_all = ["dry_run", "scenario"], conflicts_with = "run_dir")]
    range: Option<PathBuf>,
    /// With --dry-run and no --run-dir: the scenario file.
    #[arg(long, requires_all = ["dry_run", "range"], conflicts_with = "run_dir")]
    scenario: Option<PathBuf>,
}

/// A run id for plans made outside a bundle.
const DRY_RUN_ID: &str = "00000000-0000-4000-8000-000000000000";

fn dry_run(cli: &Cli) -> anyhow::Result<String> {
    let (run_id, range_path, scenario_path, base) =
        match (&cli.common.run_dir, &cli.range, &cli.scenario) {
            (Some(dir), _, _) => {
                let (run, manifest) = pa_bundle::RunDir::open(dir)
                    .with_context(|| format!("{}: not a run bundle", dir.display()))?;
                let base = pa_stage::range_base_dir(&run, &manifest);
                (
                    run.run_id().to_string(),
                    run.path().join("inputs/range.yaml"),
                    run.path().join("inputs/scenario.yaml"),
                    base,
                )
            }
            (None, Some(r), Some(s)) => {
                let base = r
                    .parent()
                    .map(|p| {
                        if p.as_os_str().is_empty() {
                            PathBuf::from(".")
                        } else {
                            p.to_path_buf()
                        }
                    })
                    .unwrap_or_else(|| PathBuf::from("."));
                (DRY_RUN_ID.to_string(), r.clone(), s.clone(), base)
            }
            _ => anyhow::bail!("--dry-run needs --run-dir, or --range and --scenario"),
        };
    let range = pa_config::RangeConfig::load(&range_path)?;
    let scenario = pa_config::ScenarioConfig::load(&scenario_path)?;
    if range.lab.provider == pa_config::LabProvider::Replay {
        anyhow::bail!(
            "{}: a replay range executes nothing (the runner imports its recorded ground truth)",
            range_path.display()
        );
    }
    pa_actions::live::dry_run(&run_id, &range, &scenario, &base)
        .map_err(|f| anyhow::anyhow!("{} ({})", f.message, f.code.as_str()))
}

fn main() {
    let cli = Cli::parse();
    if cli.dry_run {
        pa_stage::init_logging(cli.common.log_format, cli.common.verbose, cli.common.quiet);
        match dry_run(&cli) {
            Ok(text) => {
                let mut out = pa_stage::stdout();
                if let Err(e) = out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
                    pa_stage::exit_on_error("pa-runner", &e.to_string());
                }
                std::process::exit(0);
            }
            Err(e) => pa_stage::exit_on_error("pa-runner", &format!("{e:#}")),
        }
    }
    std::process::exit(pa_stage::run_stage(
        pa_bundle::Stage::Runner,
        &cli.common,
        pa_actions::run,
    ));
}
