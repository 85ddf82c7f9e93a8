//! JSON lines to `pa-detect --events` that cannot be events: not UTF-8, one line longer than the
//! 64 MiB bound (never held whole in memory), JSON nested beyond the parser's limit.

use crate::{rule, rules, run, stderr, tool};
use std::io::Write;

fn detect(dir: &std::path::Path, events: &std::path::Path) -> std::process::Output {
    let rules = rules(
        dir,
        "rules",
        &[("r.yml", rule(1, "  sel: {EventID: 1}\n  condition: sel"))],
    );
    run(
        tool("pa-detect")
            .arg("--rules")
            .arg(rules)
            .args(["--fields", "sigma", "--events"])
            .arg(events),
        "pa-detect --events",
    )
}

fn expect_error(dir: &std::path::Path, name: &str, body: &[u8], want: &str) {
    let events = dir.join(name);
    std::fs::write(&events, body).expect("events");
    let out = detect(dir, &events);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(20), "{name}: {err}");
    assert!(
        err.contains(&format!("pa-detect: error: {}", events.display())) && err.contains(want),
        "{name}: {err}"
    );
}

#[test]
fn invalid_utf8_names_the_file_and_line() {
    let t = tempfile::tempdir().expect("tempdir");
    expect_error(
        t.path(),
        "bad-utf8.jsonl",
        b"{\"EventID\":1}\n{\"EventID\":1,\"Image\":\"\xff\xfe\"}\n",
        ":2: not UTF-8 (invalid byte at column 23)",
    );
}

#[test]
fn json_nested_too_deep_names_the_file_and_line() {
    let t = tempfile::tempdir().expect("tempdir");
    let deep = format!("{}1{}\n", "{\"a\":".repeat(100_000), "}".repeat(100_000));
    expect_error(
        t.path(),
        "deep.jsonl",
        format!("{{\"EventID\":1}}\n{deep}").as_bytes(),
        ":2: not a JSON event: recursion limit exceeded",
    );
}

#[test]
fn a_line_over_64_mib_is_refused_not_held() {
    let t = tempfile::tempdir().expect("tempdir");
    let events = t.path().join("long.jsonl");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&events).expect("create"));
        f.write_all(b"{\"EventID\":1}\n{\"EventID\":1,\"CommandLine\":\"")
            .expect("write");
        let chunk = vec![b'A'; 1 << 20];
        for _ in 0..64 {
            f.write_all(&chunk).expect("write");
        }
        f.write_all(b"\"}\n").expect("write");
    }
    let out = detect(t.path(), &events);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(20), "{err}");
    assert!(
        err.contains(&format!(
            "{}:2: line longer than 67108864 bytes",
            events.display()
        )),
        "{err}"
    );
}
