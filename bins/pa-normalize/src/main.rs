//! `pa-normalize`: the normalization stage (raw_parquet → OCSF 1.7.0 normalized store), or, with
//! `--source`, a pipeline filter (telemetry file or stdin → OCSF JSONL).

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "pa-normalize",
    version,
    about = "Normalize telemetry into OCSF 1.7.0: a run bundle's raw_parquet (--run-dir), or files, folders or stdin as OCSF JSONL (--source)"
)]
struct Cli {
    #[command(flatten)]
    common: pa_stage::CommonArgs,
    /// Stream mode: the input's kind (evtx, win-xml, otlp-json, win-json, sysmon-json,
    /// security-json, osquery, auditd).
    #[arg(long, conflicts_with_all = ["run_dir", "lock_held"])]
    source: Option<String>,
    /// Stream mode: input files and folders (walked for the files of the --source format,
    /// sorted), `-` for stdin; several are read one after the other in the order given.
    #[arg(long, requires = "source", default_value = "-", num_args = 1..)]
    input: Vec<String>,
    /// Stream mode: where to write OCSF JSONL, `-` for stdout.
    #[arg(long, requires = "source", default_value = "-")]
    output: String,
    /// Stream mode: mapping profiles directory (default: the shipped profiles).
    #[arg(long, requires = "source")]
    mappings: Option<PathBuf>,
    /// Stream mode: the host of records that name none (audit logs without `node=`).
    #[arg(long, requires = "source")]
    host: Option<String>,
}

fn stream(cli: &Cli, source: &str) -> anyhow::Result<pa_normalization::Tally> {
    use anyhow::Context;
    let mut out: Box<dyn std::io::Write> = if cli.output == "-" {
        Box::new(pa_stage::stdout())
    } else {
        Box::new(std::io::BufWriter::new(
            std::fs::File::create(&cli.output)
                .with_context(|| format!("{}: cannot create", cli.output))?,
        ))
    };
    pa_normalization::stream_all(
        source,
        &cli.input,
        cli.mappings.as_deref(),
        cli.host.as_deref(),
        &mut out,
    )
    .map_err(anyhow::Error::from)
}

fn main() {
    let cli = Cli::parse();
    if let Some(source) = cli.source.clone() {
        pa_stage::init_logging(cli.common.log_format, cli.common.verbose, cli.common.quiet);
        match stream(&cli, &source) {
            Ok(t) => {
                let failed: u64 = t.failed.values().map(|v| v.0).sum();
                eprintln!(
                    "pa-normalize: {} record(s): {} normalized, {} as fallback Base Events, {} unmapped, {} failed",
                    t.records, t.mapped, t.fallback, t.unmapped, failed
                );
                for (code, (n, msg)) in &t.failed {
                    eprintln!("pa-normalize: {n} × {code}, first: {msg}");
                }
                for (code, (n, msg)) in &t.dropped {
                    eprintln!("pa-normalize: {n} input record(s) dropped × {code}, first: {msg}");
                }
                std::process::exit(0);
            }
            Err(e) => pa_stage::exit_on_error("pa-normalize", &format!("{e:#}")),
        }
    }
    std::process::exit(pa_stage::run_stage(
        pa_bundle::Stage::Normalization,
        &cli.common,
        pa_normalization::run,
    ));
}
