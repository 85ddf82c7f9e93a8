//! Every rule of the SigmaHQ corpus: no panics, ≥ 99 % parse, ≥ 97 % executable with the
//! identity resolver; deprecated/ and unsupported/ load without panics.

use crate::common;

use pa_sigma::*;
use std::collections::BTreeMap;

#[test]
fn corpus_parses_and_compiles() {
    let dirs = common::positive_rule_dirs();
    assert!(dirs.len() >= 4, "rule directories missing: {dirs:?}");
    let set = load_paths(&dirs);
    let parsed = set.rules.len() + set.correlations.len() + set.filter_documents;
    let total = parsed + set.issues.len();
    for i in &set.issues {
        println!(
            "LOAD FAIL {}:{} {} {}",
            i.file.display(),
            i.line,
            i.reason_code,
            i.message
        );
    }
    let report = check(&set, &IdentityResolver, &CompileOptions::default());
    let mut failures = 0;
    for r in report.rules.iter().filter(|r| !r.executable) {
        failures += 1;
        println!(
            "NON-EXECUTABLE {}:{} {} {}",
            r.file,
            r.line,
            r.reason_code.as_deref().unwrap_or("?"),
            r.message.as_deref().unwrap_or("")
        );
    }
    let parse_rate = parsed as f64 / total as f64;
    let exec_rate = report.executable_rules as f64 / report.total_rules as f64;
    println!(
        "documents {total}, parsed {parsed} ({:.4}), rules {} (detection {}, correlation {}), \
         executable {} ({:.4}), non-executable {failures}",
        parse_rate,
        report.total_rules,
        set.rules.len(),
        set.correlations.len(),
        report.executable_rules,
        exec_rate
    );
    println!(
        "reason histogram: {:?}",
        report.non_executable_reason_counts
    );
    println!("load issue histogram: {:?}", report.load_issue_counts);
    assert!(set.rules.len() > 3000, "corpus looks truncated");
    assert!(parse_rate >= 0.99, "parse rate {parse_rate:.4} < 0.99");
    assert!(exec_rate >= 0.97, "executable rate {exec_rate:.4} < 0.97");
    assert_eq!(
        report.non_executable_rules,
        report.non_executable_reason_counts.values().sum::<usize>()
    );
    // The whole corpus builds one engine.
    let compiled = compile_ruleset(&set, &IdentityResolver, &CompileOptions::default());
    let engine = Engine::new(compiled.rules).expect("engine over the corpus");
    println!(
        "engine: {} rules, {} keys, {} always evaluated",
        engine.rules().len(),
        engine.key_count(),
        engine.always_evaluated()
    );
}

#[test]
fn negative_dirs_load_without_panic() {
    let s = common::data_dir().join("sigma");
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for d in ["deprecated", "unsupported"] {
        let set = load_paths(&[s.join(d)]);
        assert!(
            set.rules.len() + set.correlations.len() + set.issues.len() > 50,
            "{d} looks empty"
        );
        let report = check(&set, &IdentityResolver, &CompileOptions::default());
        for i in &set.issues {
            println!(
                "{d} LOAD FAIL {}:{} {}",
                i.file.display(),
                i.line,
                i.message
            );
        }
        for r in report.rules.iter().filter(|r| !r.executable) {
            println!(
                "{d} NON-EXECUTABLE {}:{} {} {}",
                r.file,
                r.line,
                r.reason_code.as_deref().unwrap_or("?"),
                r.message.as_deref().unwrap_or("")
            );
        }
        for (k, v) in &report.non_executable_reason_counts {
            *reasons.entry(format!("{d}:{k}")).or_default() += v;
        }
        println!(
            "{d}: {} rules, {} executable, {} load issues",
            report.total_rules, report.executable_rules, report.load_issues
        );
    }
    println!("{reasons:?}");
    // unsupported/ holds rules common tooling cannot run: at least some must be refused.
    assert!(reasons.keys().any(|k| k.starts_with("unsupported:")));
}

#[test]
fn load_twice_is_identical() {
    let dirs = common::positive_rule_dirs();
    let a = load_paths(&dirs);
    let b = load_paths(&dirs);
    assert_eq!(a, b);
    let ra = check(&a, &IdentityResolver, &CompileOptions::default());
    let rb = check(&b, &IdentityResolver, &CompileOptions::default());
    assert_eq!(
        serde_json::to_string(&ra).expect("json"),
        serde_json::to_string(&rb).expect("json")
    );
    // files are visited in path-byte order
    let files: Vec<_> = a.rules.iter().map(|r| r.file.clone()).collect();
    let mut sorted = files.clone();
    sorted.sort_by(|x, y| {
        x.as_os_str()
            .as_encoded_bytes()
            .cmp(y.as_os_str().as_encoded_bytes())
    });
    assert_eq!(files, sorted);
}
