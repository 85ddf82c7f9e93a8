//! `pa-lab`: the lab_provider stage (inventory snapshot).

use clap::Parser;

#[derive(Parser)]
#[command(name = "pa-lab", version, about = "Resolve the lab inventory of a run")]
struct Cli {
    #[command(flatten)]
    common: pa_stage::CommonArgs,
}

fn main() {
    let cli = Cli::parse();
    std::process::exit(pa_stage::run_stage(
        pa_bundle::Stage::LabProvider,
        &cli.common,
        pa_inventory::run,
    ));
}
