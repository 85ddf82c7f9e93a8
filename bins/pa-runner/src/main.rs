//! `pa-runner`: the runner stage (ground truth; replay import).

use clap::Parser;

#[derive(Parser)]
#[command(
    name = "pa-runner",
    version,
    about = "Run (or import the recording of) the scenario's actions"
)]
struct Cli {
    #[command(flatten)]
    common: pa_stage::CommonArgs,
}

fn main() {
    let cli = Cli::parse();
    std::process::exit(pa_stage::run_stage(
        pa_bundle::Stage::Runner,
        &cli.common,
        pa_actions::run,
    ));
}
