//! `pa-orchestrate`: run the Purple Axiom pipeline, re-run part of it, inspect runs.

use clap::{Parser, Subcommand};
use pa_bundle::{RunDir, Stage, Workspace};
use pa_orchestrator::{RunOptions, StageLocator};
use pa_stage::{LogFormat, init_logging};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

#[derive(Parser)]
#[command(
    name = "pa-orchestrate",
    version,
    about = "Run the Purple Axiom pipeline and manage run bundles"
)]
struct Cli {
    /// Log format on stderr (also passed to every stage).
    #[arg(long, value_enum, default_value_t = LogFormat::Human, global = true)]
    log_format: LogFormat,
    /// More logging.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// Less logging.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    quiet: u8,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the pipeline: a new run from a range and a scenario, or a suffix of an existing run.
    Run(RunArgs),
    /// Show a run's stage outcomes.
    Status {
        /// The run directory (`runs/<run_id>`).
        run_dir: PathBuf,
        /// Print the manifest's outcomes as JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// List the runs of a workspace, newest first.
    List {
        #[arg(long, default_value = ".")]
        workspace: PathBuf,
    },
}

#[derive(clap::Args)]
struct RunArgs {
    /// range.yaml (new run).
    #[arg(long, requires = "scenario", conflicts_with = "run_dir")]
    range: Option<PathBuf>,
    /// scenario.yaml (new run).
    #[arg(long, requires = "range", conflicts_with = "run_dir")]
    scenario: Option<PathBuf>,
    /// Workspace holding runs/ (new run).
    #[arg(long, default_value = ".")]
    workspace: PathBuf,
    /// Run id for a new run (lowercase UUID; default: a new UUIDv4).
    #[arg(long)]
    run_id: Option<String>,
    /// An existing run to re-run stages of (with --from).
    #[arg(long, requires = "from")]
    run_dir: Option<PathBuf>,
    /// First stage to re-run (`detection` or `pa-detect`).
    #[arg(long, value_parser = parse_stage)]
    from: Option<Stage>,
    /// Last stage to run.
    #[arg(long, value_parser = parse_stage)]
    until: Option<Stage>,
    /// Only look for stage executables in this directory.
    #[arg(long)]
    stage_bin_dir: Option<PathBuf>,
    /// Break glass: move an existing run lock aside (recorded in the manifest).
    #[arg(long)]
    force_run_lock: bool,
}

fn parse_stage(s: &str) -> Result<Stage, String> {
    Stage::parse(s).ok_or_else(|| {
        format!(
            "unknown stage {s:?}; stages: {}",
            Stage::ALL
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    })
}

fn main() {
    let cli = Cli::parse();
    init_logging(cli.log_format, cli.verbose, cli.quiet);
    let code = match real_main(cli) {
        Ok(code) => code,
        Err(e) => pa_stage::exit_on_error("pa-orchestrate", &format!("{e:#}")),
    };
    std::process::exit(code);
}

fn real_main(cli: Cli) -> anyhow::Result<i32> {
    match cli.cmd {
        Cmd::Status { run_dir, json } => {
            let (_, m) = RunDir::open(&run_dir)?;
            let text = if json {
                format!("{}\n", serde_json::to_string_pretty(&m.stage_outcomes)?)
            } else {
                pa_orchestrator::status::status_table(&m)
            };
            let mut out = pa_stage::stdout();
            let written = out.write_all(text.as_bytes()).and_then(|()| out.flush());
            // The exit code is the run's status, whether or not anyone read the table.
            Ok(pa_stage::verdict(m.status.exit_code(), written)?)
        }
        Cmd::List { workspace } => {
            let mut out = pa_stage::stdout();
            for (started, id, status, scenario) in
                pa_orchestrator::status::list_runs(&Workspace::new(workspace))?
            {
                writeln!(out, "{started:<25} {id} {status:<10} {scenario}")?;
            }
            out.flush()?;
            Ok(0)
        }
        Cmd::Run(a) => {
            let interrupted = Arc::new(AtomicBool::new(false));
            signal_hook::flag::register(signal_hook::consts::SIGINT, interrupted.clone())?;
            signal_hook::flag::register(signal_hook::consts::SIGTERM, interrupted.clone())?;
            let mut stage_args = vec![
                "--log-format".to_string(),
                cli.log_format.as_str().to_string(),
            ];
            stage_args.extend(std::iter::repeat_n("-v".to_string(), cli.verbose as usize));
            stage_args.extend(std::iter::repeat_n("-q".to_string(), cli.quiet as usize));
            let opts = RunOptions {
                locator: StageLocator {
                    bin_dir: a.stage_bin_dir,
                },
                until: a.until,
                force_run_lock: a.force_run_lock,
                stage_args,
                progress: true,
            };
            let result = match (a.range, a.scenario, a.run_dir, a.from) {
                (Some(r), Some(s), None, None) => pa_orchestrator::run_new(
                    &r,
                    &s,
                    &Workspace::new(a.workspace),
                    a.run_id,
                    &opts,
                    interrupted,
                ),
                (None, None, Some(d), Some(from)) => {
                    pa_orchestrator::run_existing(&d, from, &opts, interrupted)
                }
                _ => anyhow::bail!(
                    "give either --range and --scenario (new run) or --run-dir and --from (re-run)"
                ),
            };
            match result {
                Ok(summary) => {
                    let mut out = pa_stage::stdout();
                    let written = writeln!(
                        out,
                        "{} {}",
                        summary.status.as_str(),
                        summary.run_dir.display()
                    )
                    .and_then(|()| out.flush());
                    // The exit code is the run's status, whether or not anyone read the line.
                    Ok(pa_stage::verdict(summary.status.exit_code(), written)?)
                }
                Err(e) => {
                    eprintln!("pa-orchestrate: {e} [{}]", e.reason_code());
                    Ok(20)
                }
            }
        }
    }
}
