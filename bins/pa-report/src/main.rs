//! `pa-report`: the reporting stage over a run bundle (`--run-dir`), the comparison of two runs
//! (`diff`: exit 10 on a regression alert) and coverage/latency trends across a workspace
//! (`trend`).

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};
use pa_bundle::Stage;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Parser)]
#[command(
    name = "pa-report",
    version,
    about = "Report a scored run bundle (--run-dir): report.json, thresholds.json, run_timeline.md, report.html, junit.xml, attack_layer.json; compare two runs (diff); trends across runs (trend)"
)]
struct Cli {
    #[command(flatten)]
    common: pa_stage::CommonArgs,
    /// Compare with this baseline run bundle (report.json's `regression`, the regression_alert gate).
    #[arg(long, value_name = "DIR")]
    baseline: Option<PathBuf>,
    /// Do not write report/report.html.
    #[arg(long, global = true)]
    no_html: bool,
    /// Compare runs whose mapping pack or normalizer profile differ (refused by default).
    #[arg(long, global = true)]
    allow_mapping_drift: bool,
    #[command(subcommand)]
    cmd: Option<Cmd>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Human,
    Json,
}

#[derive(Subcommand)]
enum Cmd {
    /// Compare a candidate run with a baseline run and report into the candidate bundle
    /// (report.json `regression`). Exit 10 when a regression alert fires, 0 when none does,
    /// 20 on an error or when the runs are not comparable.
    Diff {
        /// The baseline run bundle (runs/<run_id>).
        baseline: PathBuf,
        /// The candidate run bundle; its report is (re)written.
        candidate: PathBuf,
        /// Output on stdout.
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Technique coverage and detection latency across the runs of a workspace, per scenario,
    /// oldest first: trend.json and trend.html.
    Trend {
        /// The workspace (holds runs/).
        #[arg(long, value_name = "DIR")]
        workspace: PathBuf,
        /// Only this scenario id.
        #[arg(long)]
        scenario: Option<String>,
        /// Output directory (default: <workspace>/trend).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
}

fn options(cli: &Cli, baseline: Option<PathBuf>) -> pa_reporting::Options {
    pa_reporting::Options {
        baseline,
        no_html: cli.no_html,
        allow_mapping_drift: cli.allow_mapping_drift,
    }
}

fn diff(cli: &Cli, baseline: &Path, candidate: &Path, format: Format) -> anyhow::Result<i32> {
    let mut common = cli.common.clone();
    common.run_dir = Some(candidate.to_path_buf());
    let opts = options(cli, Some(baseline.to_path_buf()));
    let mut outcome = None;
    // JSON on stdout is the comparison alone; the stage's summary line is for people.
    let code =
        pa_stage::run_stage_with(Stage::Reporting, &common, format == Format::Human, |ctx| {
            pa_reporting::run(ctx, &opts, &mut outcome)
        });
    let Some(outcome) = outcome else {
        bail!(
            "the report of {} was not written (exit {code})",
            candidate.display()
        );
    };
    if code == 20 {
        bail!("the reporting stage failed on {}", candidate.display());
    }
    let Some(r) = outcome.regression else {
        bail!("no comparison was made");
    };
    let text = match format {
        Format::Human => pa_reporting::regression::to_text(&r, &outcome.run_id),
        Format::Json => format!(
            "{}\n",
            String::from_utf8(pa_reporting::jcs(&r).context("serializing the comparison")?)?
        ),
    };
    let mut out = pa_stage::stdout();
    let written = out.write_all(text.as_bytes()).and_then(|()| out.flush());
    let code = match (r.compared(), r.regression_alerted) {
        (false, _) => 20,
        (true, true) => 10,
        (true, false) => 0,
    };
    // The exit code is the comparison's verdict, whether or not anyone read the report.
    let code = pa_stage::verdict(code, written)?;
    if !r.compared() {
        let reason = r
            .comparability
            .reason_code
            .as_deref()
            .unwrap_or("indeterminate");
        let message = if reason == "baseline_missing" || reason == "regression_compare_failed" {
            format!(
                "cannot compare with the baseline ({reason}): {}",
                r.comparability.message
            )
        } else {
            format!(
                "{} and {} are not comparable ({reason}): {}",
                baseline.display(),
                candidate.display(),
                r.comparability.message
            )
        };
        eprintln!("pa-report: error: {message}");
    }
    Ok(code)
}

fn trend(
    cli: &Cli,
    workspace: &Path,
    scenario: Option<&str>,
    out: Option<&PathBuf>,
) -> anyhow::Result<i32> {
    pa_stage::init_logging(cli.common.log_format, cli.common.verbose, cli.common.quiet);
    let out = out.cloned().unwrap_or_else(|| workspace.join("trend"));
    let t = pa_reporting::trend::write(workspace, scenario, &out, &pa_reporting::now())?;
    let mut o = pa_stage::stdout();
    for s in &t.trend.scenarios {
        writeln!(o, "{}: {} run(s)", s.scenario_id, s.runs.len())?;
    }
    for s in &t.trend.skipped {
        writeln!(o, "skipped {}: {}", s.run, s.reason)?;
    }
    writeln!(o, "wrote {} and {}", t.json.display(), t.html.display())?;
    o.flush()?;
    Ok(0)
}

fn main() {
    let cli = Cli::parse();
    let result = match &cli.cmd {
        Some(Cmd::Diff {
            baseline,
            candidate,
            format,
        }) => diff(&cli, baseline, candidate, *format),
        Some(Cmd::Trend {
            workspace,
            scenario,
            out,
        }) => trend(&cli, workspace, scenario.as_deref(), out.as_ref()),
        None => {
            let opts = options(&cli, cli.baseline.clone());
            let mut outcome = None;
            Ok(pa_stage::run_stage(Stage::Reporting, &cli.common, |ctx| {
                pa_reporting::run(ctx, &opts, &mut outcome)
            }))
        }
    };
    match result {
        Ok(code) => std::process::exit(code),
        Err(e) => pa_stage::exit_on_error("pa-report", &format!("{e:#}")),
    }
}
