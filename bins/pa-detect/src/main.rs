//! `pa-detect`: the detection stage (Sigma over the normalized store of a run bundle), a
//! pipeline filter (`--events`), a compile report (`check`) and a per-event explanation
//! (`explain`).

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};
use pa_detection::detector::{Detector, FieldMode};
use pa_detection::sql_engine;
use std::io::Write;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "pa-detect",
    version,
    about = "Evaluate Sigma rules: over a run bundle (--run-dir), over JSONL events (--events), or report (check) and explain (explain)"
)]
struct Cli {
    #[command(flatten)]
    common: pa_stage::CommonArgs,
    /// Sigma rule files or directories (bundle mode: replaces the range's detection.sigma.rule_paths).
    #[arg(long, value_name = "PATH", global = true)]
    rules: Vec<PathBuf>,
    /// Stream mode: JSON-lines events to evaluate (`-` = stdin); detections go to stdout.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["run_dir", "lock_held"])]
    events: Option<String>,
    /// Field names of the events: `ocsf` (routed and resolved through the bridge) or `sigma`
    /// (events already use Sigma field names, flat or Event.EventData JSON).
    #[arg(long, value_enum, default_value_t = Fields::Ocsf, global = true)]
    fields: Fields,
    /// Bridge data directory (default: the shipped mappings/bridge).
    #[arg(long, value_name = "DIR", global = true)]
    bridge: Option<PathBuf>,
    /// Parse the rules without the rule-set cache (`$XDG_CACHE_HOME/purple-axiom/rules`; also
    /// off when the environment sets `PA_NO_RULE_CACHE=1`).
    #[arg(long, global = true)]
    no_cache: bool,
    /// Correlation rules: most groups (distinct group-by values) held per correlation; beyond
    /// it the least recently active group is evicted and reported (default 100000).
    #[arg(long, value_name = "N", global = true, value_parser = clap::value_parser!(u64).range(1..))]
    correlation_max_groups: Option<u64>,
    /// Correlation rules: most matches held per group window; beyond it the oldest is dropped
    /// and reported (default 10000).
    #[arg(long, value_name = "N", global = true, value_parser = clap::value_parser!(u64).range(1..))]
    correlation_max_window: Option<u64>,
    /// Bundle mode: the engine that matches the store: `native` (in process), `duckdb` (the
    /// rules compiled to SQL and run by the DuckDB CLI on PATH; rules the dialect cannot
    /// express are reported as not executable), or `spark` (the results of
    /// `examples/scale-out/detect.py`, given with --spark-results, imported after checking they
    /// are these rules' Spark script over this store).
    #[arg(long, value_enum, default_value_t = EngineArg::Native)]
    engine: EngineArg,
    /// With `--engine spark`: the Spark job's output directory (`summary.json`, `hits/`).
    #[arg(long, value_name = "DIR")]
    spark_results: Option<PathBuf>,
    #[command(subcommand)]
    cmd: Option<Cmd>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Fields {
    Ocsf,
    Sigma,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum EngineArg {
    Native,
    Duckdb,
    Spark,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum DialectArg {
    Duckdb,
    Spark,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Human,
    Json,
}

#[derive(Subcommand)]
enum Cmd {
    /// Parse and compile rules without events: per rule executable or the reason, and totals.
    Check {
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Show which selections and values of a rule matched or failed on one event.
    Explain {
        /// The rule id.
        #[arg(long)]
        rule: String,
        /// A file holding one JSON event (or JSON lines: the first event is used).
        #[arg(long)]
        event: PathBuf,
    },
    /// Write the rules as one SQL script for DuckDB (one query: the union of every rule's
    /// matching events, with the rule as a column) or Spark SQL (statements of up to 25 rules,
    /// for `examples/scale-out/detect.py`); refused rules are listed in its header.
    Sql {
        /// The SQL dialect.
        #[arg(long, value_enum)]
        dialect: DialectArg,
        /// Where to write the script (default: stdout).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// A run bundle whose normalized store the script is for (its columns; DuckDB: a
        /// view over its Parquet parts).
        #[arg(long = "run-dir", value_name = "DIR")]
        run_dir: Option<PathBuf>,
    },
}

fn limits(cli: &Cli) -> pa_sigma::CorrelationLimits {
    let n = |v: Option<u64>| v.map(|v| usize::try_from(v).unwrap_or(usize::MAX));
    pa_detection::correlate::limits(n(cli.correlation_max_groups), n(cli.correlation_max_window))
}

fn detector(cli: &Cli) -> anyhow::Result<(pa_sigma::RuleSet, Detector)> {
    let cache = (!cli.no_cache)
        .then(pa_detection::RuleCache::user)
        .flatten();
    let set = pa_detection::load_rules_with(&cli.rules, cache.as_ref())?;
    let (mode, bridge) = match cli.fields {
        Fields::Sigma => (FieldMode::Sigma, None),
        Fields::Ocsf => (
            FieldMode::Ocsf,
            Some(pa_detection::load_bridge(cli.bridge.as_deref())?),
        ),
    };
    let mut det = Detector::build(
        &set,
        bridge.as_ref(),
        mode,
        &pa_sigma::CompileOptions::default(),
    )?;
    det.correlation_limits = limits(cli);
    Ok((set, det))
}

fn tool(cli: &Cli) -> anyhow::Result<i32> {
    match &cli.cmd {
        Some(Cmd::Check { format }) => {
            let (set, det) = detector(cli)?;
            let doc = pa_detection::check_report(&set, &det);
            let mut out = pa_stage::stdout();
            match format {
                Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?,
                Format::Human => {
                    for r in doc.rules.iter().filter(|r| !r.executable) {
                        writeln!(
                            out,
                            "{}:{}: {} ({}): {}",
                            r.file,
                            r.line,
                            r.reason_code.as_deref().unwrap_or(""),
                            r.rule_id,
                            r.message.as_deref().unwrap_or("")
                        )?;
                    }
                    for i in &doc.load_issues {
                        writeln!(
                            out,
                            "{}:{}: {}: {}",
                            i.file, i.line, i.reason_code, i.message
                        )?;
                    }
                    let t = &doc.totals;
                    writeln!(
                        out,
                        "{} rule(s): {} executable, {} not executable, {} load issue(s); reasons: {}",
                        t.rules,
                        t.executable,
                        t.non_executable,
                        t.load_issues,
                        serde_json::to_string(&t.reasons)?
                    )?;
                }
            }
            out.flush()?;
            Ok(0)
        }
        Some(Cmd::Explain { rule, event }) => {
            let (_, det) = detector(cli)?;
            let text = std::fs::read_to_string(event)
                .with_context(|| format!("{}: cannot read", event.display()))?;
            let ev: serde_json::Value = match serde_json::from_str(&text) {
                Ok(v) => v,
                Err(_) => {
                    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
                    serde_json::from_str(first)
                        .with_context(|| format!("{}: not a JSON event", event.display()))?
                }
            };
            let ex = pa_detection::explain(&det, rule, &ev)?;
            let text = format!("{}\n", serde_json::to_string_pretty(&ex)?);
            let mut out = pa_stage::stdout();
            let written = out.write_all(text.as_bytes()).and_then(|()| out.flush());
            // Exit 1 when the rule does not fire, whether or not anyone read the explanation.
            Ok(pa_stage::verdict(if ex.fires { 0 } else { 1 }, written)?)
        }
        Some(Cmd::Sql {
            dialect,
            out,
            run_dir,
        }) => {
            let (_, det) = detector(cli)?;
            let dialect = match dialect {
                DialectArg::Duckdb => sql_engine::Dialect::DuckDb,
                DialectArg::Spark => sql_engine::Dialect::Spark,
            };
            // With a run bundle: its store's columns (the script matches exactly what the
            // native engine matches on it); without: every field a string column.
            let store = run_dir
                .as_ref()
                .or(cli.common.run_dir.as_ref())
                .map(|r| r.join("normalized/ocsf_events"));
            let store = store
                .map(|dir| sql_engine::store(&dir.join("_schema.json")))
                .transpose()?;
            let columns = match &store {
                Some(s) => sql_engine::Columns::Store(s.columns.clone()),
                None => sql_engine::Columns::AssumedStrings,
            };
            let script = sql_engine::script(&det, &columns, dialect);
            let text = match (dialect, &store) {
                (sql_engine::Dialect::DuckDb, Some(s)) => script.duckdb_script(&s.files, None),
                _ => script.spark_script(),
            };
            match out {
                Some(p) => std::fs::write(p, &text)
                    .with_context(|| format!("{}: cannot write the script", p.display()))?,
                None => {
                    let mut o = pa_stage::stdout();
                    let written = o.write_all(text.as_bytes()).and_then(|()| o.flush());
                    pa_stage::verdict(0, written)?;
                }
            }
            eprintln!(
                "pa-detect: {} rule compilation(s) in the {} dialect, {} rule(s) refused (listed in the script's header)",
                script.rules.len(),
                dialect.name(),
                script.refused.len()
            );
            Ok(0)
        }
        None => {
            let Some(events) = &cli.events else {
                bail!("give --run-dir (bundle mode), --events (stream mode), or a subcommand");
            };
            let (_, det) = detector(cli)?;
            let mut out = pa_stage::stdout();
            let t = pa_detection::stream(&det, events, &mut out)?;
            for w in &t.correlation_warnings {
                eprintln!("pa-detect: warning: {w}");
            }
            eprintln!(
                "pa-detect: {} event(s), {} detection(s), {} executable rule(s), {} not executable",
                t.events, t.detections, t.executable_rules, t.non_executable_rules
            );
            Ok(0)
        }
    }
}

fn main() {
    let cli = Cli::parse();
    if cli.common.run_dir.is_some() && cli.cmd.is_none() {
        let rules = (!cli.rules.is_empty()).then(|| cli.rules.clone());
        let cache = (!cli.no_cache)
            .then(pa_detection::RuleCache::user)
            .flatten();
        let limits = (cli.correlation_max_groups, cli.correlation_max_window);
        let engine = match (cli.engine, &cli.spark_results) {
            (EngineArg::Native, None) => pa_detection::EngineKind::Native,
            (EngineArg::Duckdb, None) => pa_detection::EngineKind::DuckDb,
            (EngineArg::Spark, Some(dir)) => pa_detection::EngineKind::SparkResults(dir.clone()),
            (EngineArg::Spark, None) => pa_stage::exit_on_error(
                "pa-detect",
                "--engine spark needs --spark-results DIR (the output of examples/scale-out/detect.py)",
            ),
            (_, Some(_)) => {
                pa_stage::exit_on_error("pa-detect", "--spark-results is only for --engine spark")
            }
        };
        std::process::exit(pa_stage::run_stage(
            pa_bundle::Stage::Detection,
            &cli.common,
            move |ctx| pa_detection::run_with(ctx, rules, cache.as_ref(), limits, engine),
        ));
    }
    pa_stage::init_logging(cli.common.log_format, cli.common.verbose, cli.common.quiet);
    match tool(&cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => pa_stage::exit_on_error("pa-detect", &format!("{e:#}")),
    }
}
