//! `pa-lint`: static checks of Purple Axiom content (Atomic tests, scenarios, range configs,
//! criteria packs, Sigma rules, mapping profiles) into a `pa:lint-report:v1` report.
//! Exit 0 when no finding is at or above `--fail-on`, 20 otherwise or when linting could not
//! run (report status `tool_error`).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Parser, ValueEnum};
use pa_lint::{LintOptions, Report, Severity, TargetKind};

#[derive(Parser)]
#[command(
    name = "pa-lint",
    version,
    about = "Check Atomic tests, scenarios, range configs, criteria packs, Sigma rules and mapping profiles without running anything",
    after_help = "Kinds are detected from each path (folder shape, YAML keys); --target overrides. Report paths are relative to the current directory. Exit codes: 0 pass, 20 findings at or above --fail-on, or linting could not run."
)]
struct Cli {
    /// Files and folders to lint.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Take every path as this kind instead of detecting it (atomic-template, criteria-pack,
    /// mapping-profile, range-config, redaction-policy, scenario, sigma-rule).
    #[arg(long, value_name = "KIND", value_parser = parse_kind)]
    target: Option<TargetKind>,
    /// Output on stdout: findings for people, or the lint.json document.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Also write the report (pa:lint-report:v1, RFC 8785 JSON) to this file.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// The lowest severity that fails the lint (exit 20).
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    fail_on: FailOn,
    /// The Atomic Red Team atomics folder scenarios refer to (default: a range.yaml's
    /// runner.atomic.atomics_root beside the scenario, else ./atomics).
    #[arg(long, value_name = "DIR")]
    atomics: Option<PathBuf>,
    /// Bridge data for Sigma rules (default: the shipped mappings/bridge).
    #[arg(long, value_name = "DIR")]
    bridge: Option<PathBuf>,
    /// Log format on stderr.
    #[arg(long, value_enum, default_value_t = pa_stage::LogFormat::Human)]
    log_format: pa_stage::LogFormat,
    /// More logging (-v, -vv).
    #[arg(short, long, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Less logging (-q: warnings and errors only, -qq: errors only).
    #[arg(short, long, action = clap::ArgAction::Count)]
    quiet: u8,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Human,
    Json,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum FailOn {
    Error,
    Warning,
    Info,
}

impl From<FailOn> for Severity {
    fn from(f: FailOn) -> Severity {
        match f {
            FailOn::Error => Severity::Error,
            FailOn::Warning => Severity::Warning,
            FailOn::Info => Severity::Info,
        }
    }
}

/// `--target`: one of the library's kind names (`atomic-template`, `redaction-policy`, ...).
fn parse_kind(s: &str) -> Result<TargetKind, String> {
    TargetKind::parse(s).ok_or_else(|| {
        let names: Vec<&str> = TargetKind::ALL.iter().map(|k| k.as_str()).collect();
        format!("unknown kind {s:?} (one of {})", names.join(", "))
    })
}

/// Write `bytes` to `path` through a temporary file beside it, so a reader never sees half a
/// report.
fn write_report(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("lint.json"),
        std::process::id()
    ));
    std::fs::write(&tmp, bytes).with_context(|| format!("{}: cannot write", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| {
        let _ = std::fs::remove_file(&tmp);
        format!("{}: cannot write", path.display())
    })
}

fn emit(cli: &Cli, report: &Report) -> anyhow::Result<()> {
    let bytes = report.to_jcs()?;
    if let Some(out) = &cli.out {
        write_report(out, &bytes)?;
    }
    let mut stdout = pa_stage::stdout();
    match cli.format {
        Format::Json => {
            stdout.write_all(&bytes)?;
            stdout.write_all(b"\n")?;
        }
        Format::Human => stdout.write_all(report.human().as_bytes())?,
    }
    stdout.flush()?;
    Ok(())
}

fn main() {
    let cli = Cli::parse();
    pa_stage::init_logging(cli.log_format, cli.verbose, cli.quiet);
    let mut opts = LintOptions::new(cli.paths.clone());
    opts.target = cli.target;
    opts.fail_on = cli.fail_on.into();
    opts.atomics = cli.atomics.clone();
    opts.bridge = cli.bridge.clone();
    let (report, failure) = match pa_lint::lint(&opts) {
        Ok(r) => (r, None),
        Err(e) => (pa_lint::tool_error_report(opts.fail_on), Some(e)),
    };
    if let Some(e) = &failure {
        // The report (status tool_error) still goes where it was asked for.
        if cli.out.is_some() || cli.format == Format::Json {
            if let Err(w) = emit(&cli, &report) {
                pa_stage::exit_on_error("pa-lint", &format!("{e}; and {w:#}"));
            }
        }
        pa_stage::exit_on_error("pa-lint", &e.to_string());
    }
    if let Err(e) = emit(&cli, &report) {
        pa_stage::exit_on_error("pa-lint", &format!("{e:#}"));
    }
    std::process::exit(report.exit_code());
}
