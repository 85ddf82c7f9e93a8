//! `stage_main!`: the whole `main` of a stage binary.

/// Define `main` for a stage binary: parse the common arguments and run `$run` under the
/// stage protocol, exiting with its code.
///
/// ```text
/// pa_stage::stage_main!(pa_bundle::Stage::LabProvider, "pa-lab", "Resolve the lab inventory of a run", pa_inventory::run);
/// ```
#[macro_export]
macro_rules! stage_main {
    ($stage:expr, $name:literal, $about:literal, $run:path) => {
        #[derive(clap::Parser)]
        #[command(name = $name, version, about = $about)]
        struct Cli {
            #[command(flatten)]
            common: $crate::CommonArgs,
        }

        fn main() {
            let cli = <Cli as clap::Parser>::parse();
            std::process::exit($crate::run_stage($stage, &cli.common, $run));
        }
    };
}
