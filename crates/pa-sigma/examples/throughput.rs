//! Throughput of the indexed engine against the reference evaluator over the whole SigmaHQ
//! corpus. Run: `cargo run -p pa-sigma --release --example throughput [DATA_DIR]`.

use pa_sigma::*;
use std::path::PathBuf;
use std::time::Instant;

fn main() {
    let data = std::env::args().nth(1).map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
        PathBuf::from,
    );
    let sigma = data.join("sigma");
    let dirs: Vec<PathBuf> = [
        "rules",
        "rules-emerging-threats",
        "rules-threat-hunting",
        "rules-placeholder",
        "rules-compliance",
        "rules-dfir",
    ]
    .iter()
    .map(|d| sigma.join(d))
    .filter(|p| p.exists())
    .collect();
    if dirs.is_empty() {
        eprintln!("no rule directories under {}", sigma.display());
        std::process::exit(2);
    }
    let t = Instant::now();
    let set = load_paths(&dirs);
    let load = t.elapsed();
    let t = Instant::now();
    let compiled = compile_ruleset(&set, &IdentityResolver, &CompileOptions::default());
    let comp = t.elapsed();
    let t = Instant::now();
    let engine = match Engine::new(compiled.rules.clone()) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let build = t.elapsed();
    // Events: every regression sample plus the Linux lab's process creations and audit records.
    let mut events: Vec<SigmaJsonEvent> = Vec::new();
    let mut stack = vec![data.join("sigma-regression")];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "json") {
                if let Ok(text) = std::fs::read_to_string(&p) {
                    events.extend(SigmaJsonEvent::read_all(&text).unwrap_or_default());
                }
            }
        }
    }
    for f in ["process_creation.jsonl", "auditd_records.jsonl"] {
        let p = data.join("linux-audit-lab/derived").join(f);
        if let Ok(text) = std::fs::read_to_string(&p) {
            for l in text.lines() {
                if let Ok(v) = serde_json::from_str(l) {
                    events.push(SigmaJsonEvent::new(v));
                }
            }
        }
    }
    let bytes: usize = events.iter().map(|e| e.value.to_string().len()).sum();
    let rounds = 20;
    let t = Instant::now();
    let mut hits = 0usize;
    for _ in 0..rounds {
        for e in &events {
            hits += engine.matches(e).len();
        }
    }
    let fast = t.elapsed();
    let engine_only = std::env::args().nth(2).is_some_and(|a| a == "engine-only");
    let t = Instant::now();
    let mut ref_hits = 0usize;
    for e in events.iter().filter(|_| !engine_only) {
        ref_hits += compiled.rules.iter().filter(|r| r.eval(e)).count();
    }
    let reference = t.elapsed();
    let n = events.len() * rounds;
    println!(
        "rules: {} loaded in {:.2?}, {} executable compiled in {:.2?}; engine built in {:.2?} \
         ({} keys, {} rules always evaluated)",
        set.rules.len(),
        load,
        compiled.rules.len(),
        comp,
        build,
        engine.key_count(),
        engine.always_evaluated()
    );
    println!(
        "engine: {n} events ({:.1} MB JSON) in {:.2?} = {:.0} events/s, {} hits per pass",
        (bytes * rounds) as f64 / 1e6,
        fast,
        n as f64 / fast.as_secs_f64(),
        hits / rounds
    );
    println!(
        "reference: {} events x {} rules in {:.2?} = {:.0} events/s, {ref_hits} hits",
        events.len(),
        compiled.rules.len(),
        reference,
        events.len() as f64 / reference.as_secs_f64()
    );
    if !engine_only {
        assert_eq!(hits / rounds, ref_hits, "engine and reference disagree");
    }
}
