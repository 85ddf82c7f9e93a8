//! Validate OCSF events (JSON files, or JSON Lines) against a schema source tree and print
//! the violations: `cargo run -p pa-ocsf-schema --example ocsf_check -- [--ext <extension dir>]...
//! <schema dir> <file>...` (`--ext` adds an extension directory, e.g.
//! `mappings/ocsf-extension/purple_axiom`).

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use pa_ocsf_schema::OcsfSchema;

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut exts: Vec<String> = Vec::new();
    while args.first().is_some_and(|a| a == "--ext") {
        if args.len() < 2 {
            eprintln!("--ext needs a directory");
            return ExitCode::from(2);
        }
        exts.push(args.remove(1));
        args.remove(0);
    }
    let Some((dir, files)) = args.split_first() else {
        eprintln!(
            "usage: ocsf_check [--ext <extension dir>]... <schema dir> <event.json|events.jsonl>..."
        );
        return ExitCode::from(2);
    };
    let t = Instant::now();
    let ext_paths: Vec<&Path> = exts.iter().map(Path::new).collect();
    let schema = match OcsfSchema::load_with_extensions(Path::new(dir), &ext_paths) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    eprintln!(
        "loaded OCSF {} ({} classes, {} objects) in {:?}",
        schema.version(),
        schema.classes().count(),
        schema.objects().count(),
        t.elapsed()
    );
    let mut bad = 0usize;
    for f in files {
        let text = match std::fs::read_to_string(f) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("{f}: {e}");
                return ExitCode::from(2);
            }
        };
        let events: Vec<(usize, serde_json::Value)> = match serde_json::from_str(&text) {
            Ok(v) => vec![(1, v)],
            Err(_) => {
                let mut out = Vec::new();
                for (i, line) in text.lines().enumerate() {
                    if line.trim().is_empty() {
                        continue;
                    }
                    match serde_json::from_str(line) {
                        Ok(v) => out.push((i + 1, v)),
                        Err(e) => {
                            eprintln!("{f}:{}: invalid JSON: {e}", i + 1);
                            return ExitCode::from(2);
                        }
                    }
                }
                out
            }
        };
        for (line, ev) in events {
            let vs = schema.validate(&ev);
            if vs.is_empty() {
                println!("{f}:{line}: valid");
            } else {
                bad += 1;
                for v in vs {
                    println!("{f}:{line}: {v}");
                }
            }
        }
    }
    if bad == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
