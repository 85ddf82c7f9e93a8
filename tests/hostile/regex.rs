//! Sigma rules with pathological regular expressions: catastrophic backtracking patterns run in
//! linear time (the engine has no backtracking), huge repetitions and unsupported constructs are
//! refused at compile time with `unsupported_regex`, naming the rule file.

use crate::{rule, rules, run, stderr, tool};

const PATTERNS: [(&str, &str, bool); 8] = [
    // (name, pattern, compiles)
    ("nested-plus", "(a+)+$", true),
    ("alternation", "(a|aa)+$", true),
    ("evil", "^(([a-z])+.)+[A-Z]([a-z])+$", true),
    ("huge-repeat", "a{100000}{100000}", false),
    ("big-repeat", "(a{1000}){1000}", false),
    ("unicode-classes", "\\w{500}\\w{500}", false),
    ("backreference", "(a)\\1", false),
    ("lookahead", "(?=a)a", false),
];

#[test]
fn pathological_regexes_compile_fail_or_run_in_linear_time() {
    let t = tempfile::tempdir().expect("tempdir");
    let files: Vec<(String, String)> = PATTERNS
        .iter()
        .enumerate()
        .map(|(i, (name, pat, _))| {
            (
                format!("{name}.yml"),
                rule(
                    i as u32 + 1,
                    &format!("  sel:\n    CommandLine|re: '{pat}'\n  condition: sel"),
                ),
            )
        })
        .collect();
    let files: Vec<(&str, String)> = files.iter().map(|(f, r)| (f.as_str(), r.clone())).collect();
    let dir = rules(t.path(), "regex", &files);

    let out = run(
        tool("pa-detect")
            .arg("--rules")
            .arg(&dir)
            .args(["--fields", "sigma", "check"]),
        "pa-detect check",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    for (name, _, compiles) in PATTERNS {
        let line = text.lines().find(|l| l.contains(&format!("{name}.yml")));
        match (compiles, line) {
            (true, None) => {}
            (false, Some(l)) => assert!(l.contains("unsupported_regex"), "{l}"),
            (true, Some(l)) => panic!("{name} should compile: {l}"),
            (false, None) => panic!("{name} should be refused: {text}"),
        }
    }

    // Inputs that make a backtracking engine take exponential time.
    let mut events = String::new();
    for n in [30, 1_000, 100_000, 1_000_000] {
        for s in [
            "a".repeat(n) + "!",
            "a".repeat(n),
            "abcdefghijklmnopqrstuvwxyz".repeat(n / 26 + 1) + "1",
        ] {
            events.push_str(&format!("{{\"EventID\":1,\"CommandLine\":\"{s}\"}}\n"));
        }
    }
    let ev = t.path().join("events.jsonl");
    std::fs::write(&ev, events).expect("events");
    let out = run(
        tool("pa-detect")
            .arg("--rules")
            .arg(&dir)
            .args(["--fields", "sigma", "--events"])
            .arg(&ev),
        "pa-detect --events over backtracking bait",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let det = String::from_utf8_lossy(&out.stdout);
    // `(a+)+$` and `(a|aa)+$` match the all-`a` lines: four of them.
    for id in [1, 2] {
        let n = det
            .lines()
            .filter(|l| l.contains(&format!("00000000-0000-4000-8000-{id:012}")))
            .count();
        assert_eq!(n, 4, "rule {id}: {det}");
    }
}
