//! Write a synthetic scored run bundle (`pa_reporting::synthetic`) for `cargo xtask bench
//! report` and manual inspection: `report_bench --actions N --workspace DIR [--run-id ID]`
//! prints the bundle's path. `--actions 0` writes the ten-action demo bundle.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut actions = 10_000usize;
    let mut workspace = std::path::PathBuf::from("bench-ws");
    let mut run_id = "00000000-0000-4000-8000-00000000be7c".to_string();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let v = it.next().cloned().unwrap_or_default();
        match a.as_str() {
            "--actions" => actions = v.parse().expect("--actions N"),
            "--workspace" => workspace = v.into(),
            "--run-id" => run_id = v,
            other => panic!("unknown argument {other}"),
        }
    }
    let spec = if actions == 0 {
        pa_reporting::synthetic::BundleSpec::demo(&run_id)
    } else {
        pa_reporting::synthetic::BundleSpec::scaled(&run_id, actions)
    };
    let dir = spec.write(&workspace).expect("write the synthetic bundle");
    println!("{}", dir.display());
}
