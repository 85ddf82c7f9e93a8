//! Unit tests of the `tidy` checks, on small samples (and the repository's own dependency map).

use super::source::{blank, test_mask};
use super::*;
use serde_json::Value;
use std::path::Path;

fn files(list: &[(&str, &str)]) -> Files {
    list.iter()
        .map(|(p, t)| (p.to_string(), t.to_string()))
        .collect()
}

fn messages(v: &[Violation]) -> Vec<String> {
    v.iter().map(ToString::to_string).collect()
}

// --- deps ---------------------------------------------------------------------------------------

const DOC: &str = "\
# Architecture

| crate | owns |
|---|---|

<!-- tidy:allowed-deps (checked by `cargo xtask tidy`) -->
```text
# leaves
pa-canon:
pa-sigma:   # nothing
pa-bundle: pa-canon
pa-stage: pa-bundle, pa-canon,
```
";

fn package(name: &str, kind: Option<&str>, deps: &[&str]) -> String {
    let deps: Vec<String> = deps
        .iter()
        .map(|d| match kind {
            Some(k) => format!(r#"{{"name": "{d}", "kind": "{k}"}}"#),
            None => format!(r#"{{"name": "{d}", "kind": null}}"#),
        })
        .collect();
    format!(
        r#"{{"name": "{name}", "id": "path+file:///w/{name}#0.1.0", "manifest_path": "/w/crates/{name}/Cargo.toml", "dependencies": [{}]}}"#,
        deps.join(", ")
    )
}

fn metadata(packages: &[String]) -> String {
    let ids: Vec<String> = packages
        .iter()
        .map(|p| {
            let v: Value = serde_json::from_str(p).unwrap();
            format!("{}", v["id"])
        })
        .collect();
    format!(
        r#"{{"packages": [{}], "workspace_members": [{}], "workspace_root": "/w"}}"#,
        packages.join(", "),
        ids.join(", ")
    )
}

fn deps_violations(doc: &str, meta: &str) -> Vec<String> {
    let (map, mut v) = parse_allowed_deps(doc);
    v.extend(check_deps(&map, &parse_metadata(meta).unwrap()));
    messages(&v)
}

fn valid_packages() -> Vec<String> {
    vec![
        package("pa-canon", None, &["serde_json"]),
        package("pa-sigma", None, &["regex"]),
        package("pa-bundle", None, &["pa-canon", "serde"]),
        package("pa-stage", None, &["pa-bundle"]),
    ]
}

#[test]
fn map_syntax_is_parsed() {
    let (map, errors) = parse_allowed_deps(DOC);
    assert_eq!(errors, vec![]);
    let names: Vec<&str> = map.entries.keys().map(String::as_str).collect();
    assert_eq!(names, ["pa-bundle", "pa-canon", "pa-sigma", "pa-stage"]);
    let (line, stage) = &map.entries["pa-stage"];
    assert_eq!(*line, 12);
    assert_eq!(stage.iter().collect::<Vec<_>>(), ["pa-bundle", "pa-canon"]);
    assert!(map.entries["pa-sigma"].1.is_empty());
}

#[test]
fn a_valid_map_passes() {
    let mut p = valid_packages();
    p.push(package("pa-stage", Some("dev"), &["pa-canon", "tempfile"]));
    p.remove(3);
    assert_eq!(deps_violations(DOC, &metadata(&p)), Vec::<String>::new());
}

#[test]
fn an_edge_not_in_the_map_fails_and_is_named() {
    let mut p = valid_packages();
    p[1] = package("pa-sigma", Some("dev"), &["pa-bundle"]);
    p.push(package("pa-extra-ignored-dep-target", None, &[]));
    let v = deps_violations(DOC, &metadata(&p));
    assert!(
        v.contains(
            &"tidy: deps: crates/pa-sigma/Cargo.toml: pa-sigma -> pa-bundle (dev): not allowed by ARCHITECTURE.md"
                .to_string()
        ),
        "{v:#?}"
    );
    // Normal and build edges are named with their kind too.
    let p = vec![
        package("pa-canon", Some("build"), &["pa-stage"]),
        package("pa-sigma", None, &["pa-canon"]),
        package("pa-bundle", None, &["pa-canon"]),
        package("pa-stage", None, &[]),
    ];
    assert_eq!(
        deps_violations(DOC, &metadata(&p)),
        [
            "tidy: deps: crates/pa-canon/Cargo.toml: pa-canon -> pa-stage (build): not allowed by ARCHITECTURE.md",
            "tidy: deps: crates/pa-sigma/Cargo.toml: pa-sigma -> pa-canon (normal): not allowed by ARCHITECTURE.md",
        ]
    );
}

#[test]
fn a_package_missing_from_the_map_fails() {
    let mut p = valid_packages();
    p.push(package("pa-new", None, &["pa-canon"]));
    assert_eq!(
        deps_violations(DOC, &metadata(&p)),
        [
            "tidy: deps: ARCHITECTURE.md: workspace package `pa-new` (crates/pa-new/Cargo.toml) has no entry in the allowed-deps map"
        ]
    );
}

#[test]
fn an_entry_naming_no_package_fails() {
    let mut p = valid_packages();
    p.remove(1);
    assert_eq!(
        deps_violations(DOC, &metadata(&p)),
        ["tidy: deps: ARCHITECTURE.md:10: map entry `pa-sigma` names no workspace package"]
    );
}

#[test]
fn map_syntax_errors_fail() {
    let v = |doc: &str| messages(&parse_allowed_deps(doc).1);
    assert_eq!(
        v("no map here"),
        [
            "tidy: deps: ARCHITECTURE.md: no `<!-- tidy:allowed-deps -->` block (the allowed dependency map)"
        ]
    );
    let doc = "<!-- tidy:allowed-deps -->\n```\na: b\nb\nc: a b\na:\n```\n";
    assert_eq!(
        v(doc),
        [
            "tidy: deps: ARCHITECTURE.md:4: `b`: expected `package: dep, dep, ...`",
            "tidy: deps: ARCHITECTURE.md:5: `a b` is not a package name (expected `package: dep, dep, ...`)",
            "tidy: deps: ARCHITECTURE.md:6: `a` has a second entry",
            "tidy: deps: ARCHITECTURE.md:3: `a` may depend on `b`, which has no entry of its own",
        ]
    );
    assert_eq!(
        v("<!-- tidy:allowed-deps -->\n```\na:\n"),
        ["tidy: deps: ARCHITECTURE.md:2: the allowed-deps block is not closed (```)"]
    );
}

#[test]
fn metadata_keeps_only_edges_between_members() {
    let json = r#"{"workspace_root": "/w", "workspace_members": ["a-id", "b-id"], "packages": [
        {"name": "a", "id": "a-id", "manifest_path": "/w/crates/a/Cargo.toml", "dependencies": [
            {"name": "b", "kind": null}, {"name": "b", "kind": "dev"}, {"name": "b", "kind": "build"},
            {"name": "serde", "kind": null}, {"name": "c", "kind": null}]},
        {"name": "b", "id": "b-id", "manifest_path": "/w/bins/b/Cargo.toml", "dependencies": []},
        {"name": "c", "id": "c-id", "manifest_path": "/elsewhere/c/Cargo.toml", "dependencies": []}
    ]}"#;
    let p = parse_metadata(json).unwrap();
    assert_eq!(p.len(), 2);
    assert_eq!(p[0].manifest, "crates/a/Cargo.toml");
    let edges: Vec<_> = p[0].deps.iter().map(|(d, k)| format!("{d} {k}")).collect();
    assert_eq!(edges, ["b normal", "b dev", "b build"]);
}

/// The repository's own map parses and has an entry for every package directory.
#[test]
fn the_repository_map_lists_every_package_directory() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let doc = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap();
    let (map, errors) = parse_allowed_deps(&doc);
    assert_eq!(errors, vec![]);
    let mut dirs = 0;
    for group in ["crates", "bins"] {
        for entry in std::fs::read_dir(root.join(group)).unwrap() {
            let entry = entry.unwrap();
            if entry.path().join("Cargo.toml").is_file() {
                let name = entry.file_name().to_string_lossy().into_owned();
                assert!(
                    map.entries.contains_key(&name),
                    "{group}/{name} is not in the map"
                );
                dirs += 1;
            }
        }
    }
    assert!(dirs > 10, "only {dirs} package directories found");
    assert!(map.entries.contains_key("pa-e2e") && map.entries.contains_key("xtask"));
}

// --- blanking ----------------------------------------------------------------------------------

#[test]
fn blank_removes_comments_and_literals_but_keeps_lines() {
    let src = "let a = \"x // y\"; // println!()\n/* multi\n line */ let c = '\"'; let r = r#\"a\"b\"#;\nlet l: &'a str = b'{';";
    let b = blank(src, true);
    assert_eq!(b.lines().count(), src.lines().count());
    assert_eq!(b.chars().count(), src.chars().count());
    assert!(!b.contains("println") && !b.contains("multi") && !b.contains('y'));
    assert!(
        b.contains("let c = ' ';") && b.contains("let r = r#\"   \"#;"),
        "{b}"
    );
    assert!(b.contains("&'a str") && !b.contains('{'), "{b}");
    let kept = blank(src, false);
    assert!(kept.contains("\"x // y\"") && !kept.contains("println"));
}

#[test]
fn test_items_are_masked() {
    let src = "fn a() {}\n#[cfg(test)]\nmod tests {\n    fn b() { let x = \"}\"; }\n}\nfn c() {}\n#[cfg(test)]\nuse x;\n";
    let mask = test_mask(src);
    let lines: Vec<usize> = (1..=8).filter(|&l| mask[l]).collect();
    assert_eq!(lines, [2, 3, 4, 5, 7, 8]);
    assert_eq!(counted_lines(src), 2);
}

// --- ignore ------------------------------------------------------------------------------------

#[test]
fn ignore_attributes_fail() {
    let bad = files(&[
        // spelled in pieces so that a plain text search for the attribute finds no test here
        (
            "crates/a/tests/t.rs",
            concat!("#[test]\n#[", "ignore]\nfn slow() {}\n"),
        ),
        (
            "tests/e2e/x.rs",
            concat!(
                "#[",
                "ignore = \"later\"]\nfn a() {}\n#[cfg_attr(miri, ignore)]\nfn b() {}\n"
            ),
        ),
    ]);
    assert_eq!(
        messages(&check_ignore(&bad))
            .iter()
            .map(|m| m.split(": `").next().unwrap())
            .collect::<Vec<_>>(),
        [
            "tidy: ignore: crates/a/tests/t.rs:2",
            "tidy: ignore: tests/e2e/x.rs:1",
            "tidy: ignore: tests/e2e/x.rs:3",
        ]
    );
    let good = files(&[(
        "crates/a/src/lib.rs",
        concat!(
            "//! never #[",
            "ignore] a test\n#[test]\nfn t() { let s = \"#[",
            "ignore]\"; }\n#[cfg_attr(test, allow(dead_code))]\nfn x() {}\n"
        ),
    )]);
    assert_eq!(check_ignore(&good), vec![]);
}

// --- wall-clock --------------------------------------------------------------------------------

#[test]
fn wall_clock_assertions_fail() {
    let src = r#"
use std::time::{Duration, Instant};

#[test]
fn direct() {
    let t = Instant::now();
    work();
    assert!(t.elapsed().as_secs() < 5);
}

#[test]
fn through_variables() {
    let rounds = 200;
    let t = std::time::Instant::now();
    let took = t.elapsed();
    let per_sec = (rounds * 10) as f64 / took.as_secs_f64();
    assert!(
        per_sec > 1000.0,
        "validation too slow: {per_sec:.0} events/s"
    );
}

#[test]
fn duration_comparison() {
    let d = measure();
    assert!(d < Duration::from_millis(50), "{d:?}");
    assert_eq!(
        took_ms(),
        t.elapsed().as_millis()
    );
}
"#;
    let v = wall_clock_in("crates/a/tests/t.rs", src);
    let at: Vec<&str> = v.iter().map(|v| v.location.as_str()).collect();
    assert_eq!(
        at,
        [
            "crates/a/tests/t.rs:8",
            "crates/a/tests/t.rs:17",
            "crates/a/tests/t.rs:26",
            "crates/a/tests/t.rs:27"
        ]
    );
    assert!(v[0].to_string().starts_with(
        "tidy: wall-clock: crates/a/tests/t.rs:8: `assert!(t.elapsed().as_secs() < 5);` asserts on wall-clock time"
    ));
}

#[test]
fn printing_and_polling_elapsed_time_passes() {
    let src = r#"
#[test]
fn prints() {
    let t0 = Instant::now();
    let n = run();
    println!("{:.1?} in all", t0.elapsed());
    let secs = t0.elapsed().as_secs_f64();
    eprintln!("{n} in {secs} s");
    assert!(n > 5000, "only {n} in {secs} s");
    assert_eq!(n, 6000, "{}", t0.elapsed().as_secs());
}

#[test]
fn polls() {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(60) {
        if done() {
            break;
        }
    }
    let t = 3;
    assert_eq!(t, 3);
    assert_eq!(config().timeout, Duration::from_secs(5));
}

fn other() {
    assert!(secs == 1); // a different `secs`: timed variables are per function
}
"#;
    let v = check_wall_clock(&files(&[("tests/e2e/poll.rs", src)]));
    assert_eq!(v, vec![]);
    // Outside a tests directory the check does not apply.
    let bad = "fn f() { assert!(t.elapsed().as_secs() < 5); }";
    assert_eq!(
        check_wall_clock(&files(&[("crates/a/src/lib.rs", bad)])),
        vec![]
    );
    assert_eq!(
        check_wall_clock(&files(&[("tests/src/x.rs", bad)])).len(),
        1
    );
}

// --- print -------------------------------------------------------------------------------------

#[test]
fn printing_in_library_crates_fails() {
    let lib = "//! ```\n//! println!(\"doc\");\n//! ```\npub fn f() {\n    eprintln!(\"x\");\n    let _ = dbg!(1);\n    print!(\"y\");\n}\n#[cfg(test)]\nmod tests {\n    fn t() { println!(\"ok in tests\"); }\n}\n";
    let v = check_prints(&files(&[
        ("crates/a/src/lib.rs", lib),
        (
            "crates/a/src/bin/tool.rs",
            "fn main() { println!(\"ok\"); }",
        ),
        ("bins/b/src/main.rs", "fn main() { println!(\"ok\"); }"),
        ("crates/a/tests/t.rs", "fn t() { println!(\"ok\"); }"),
        ("crates/a/examples/e.rs", "fn main() { println!(\"ok\"); }"),
    ]));
    let at: Vec<String> = v
        .iter()
        .map(|v| format!("{} {}", v.location, &v.message[..10]))
        .collect();
    assert_eq!(
        at,
        [
            "crates/a/src/lib.rs:5 `eprintln!",
            "crates/a/src/lib.rs:6 `dbg!` in ",
            "crates/a/src/lib.rs:7 `print!` i",
        ]
    );
    let good = files(&[
        (
            "crates/a/src/lib.rs",
            "mod helpers;\n#[cfg(test)]\nmod tests;\npub fn f() -> String { format!(\"x\") }\n",
        ),
        ("crates/a/src/tests.rs", "fn t() { println!(\"ok\"); }"),
        (
            "crates/a/src/helpers.rs",
            "fn w(o: &mut impl std::io::Write) { writeln!(o, \"x\").unwrap(); }",
        ),
    ]);
    assert_eq!(check_prints(&good), vec![]);
}

// --- failpoint ---------------------------------------------------------------------------------

#[test]
fn ungated_failpoints_fail() {
    let src = "\
use std::env;

/// Environment variable naming a fault to inject (tests only).
pub const FAILPOINT_ENV: &str = \"PA_FAILPOINT\";

fn failpoint(name: &str) -> Option<std::io::Error> {
    let v = std::env::var(FAILPOINT_ENV).ok()?;
    None
}
";
    let v = check_failpoints(&files(&[("crates/pa-bundle/src/publish.rs", src)]));
    assert_eq!(
        v.iter().map(|v| v.location.as_str()).collect::<Vec<_>>(),
        [
            "crates/pa-bundle/src/publish.rs:4",
            "crates/pa-bundle/src/publish.rs:7"
        ]
    );
    assert!(v[0].to_string().contains("reachable in a release build"));
}

#[test]
fn gated_failpoints_pass() {
    let gated = "\
#[cfg(any(test, feature = \"failpoints\"))]
pub const FAILPOINT_ENV: &str = \"PA_FAILPOINT\";

#[cfg(feature = \"failpoints\")]
fn failpoint(name: &str) -> Option<std::io::Error> {
    let a = 1;
    let b = 2;
    let c = 3;
    let v = std::env::var(FAILPOINT_ENV).ok()?;
    None
}

fn publish() {
    if cfg!(feature = \"failpoints\") && std::env::var_os(\"PA_FAILPOINT\").is_some() {}
}

// FAILPOINT in a comment is not code.
#[cfg(test)]
mod tests {
    fn t() {
        let a = 1;
        let b = 2;
        std::env::set_var(super::FAILPOINT_ENV, \"x\");
    }
}
";
    let gated_module = "pub fn hook() -> bool { std::env::var_os(\"PA_FAILPOINT\").is_some() }\n";
    let v = check_failpoints(&files(&[
        ("crates/pa-bundle/src/publish.rs", gated),
        (
            "crates/pa-bundle/src/lib.rs",
            "pub mod publish;\n#[cfg(feature = \"failpoints\")]\npub mod faults;\n",
        ),
        ("crates/pa-bundle/src/faults/mod.rs", "mod env;\n"),
        ("crates/pa-bundle/src/faults/env.rs", gated_module),
        ("crates/pa-bundle/tests/t.rs", gated_module),
    ]));
    assert_eq!(v, vec![]);
    // The same module declared without a cfg is flagged.
    let v = check_failpoints(&files(&[
        ("bins/b/src/main.rs", "mod faults;\nfn main() {}\n"),
        ("bins/b/src/faults.rs", gated_module),
    ]));
    assert_eq!(messages(&v).len(), 1);
    assert!(v[0].location == "bins/b/src/faults.rs:1");
}

// --- file-size ---------------------------------------------------------------------------------

fn lines(n: usize) -> String {
    "fn f() {}\n".repeat(n)
}

#[test]
fn oversized_files_fail_unless_listed() {
    let tests_block = format!("#[cfg(test)]\nmod tests {{\n{}}}\n", lines(300));
    let big = files(&[
        ("crates/a/src/big.rs", lines(801).as_str()),
        (
            "crates/a/src/ok.rs",
            format!("{}{tests_block}", lines(800)).as_str(),
        ),
        ("crates/a/src/lib_tests.rs", lines(900).as_str()),
        ("crates/a/tests/t.rs", lines(900).as_str()),
        ("xtask/src/main.rs", lines(900).as_str()),
    ]);
    let v = messages(&check_file_sizes(&big, ""));
    assert_eq!(
        v,
        [
            "tidy: file-size: crates/a/src/big.rs: 801 lines (not counting #[cfg(test)] items), over the limit of 800: split it",
            "tidy: file-size: xtask/src/main.rs: 900 lines (not counting #[cfg(test)] items), over the limit of 800: split it",
        ]
    );
    let list = "# path max_lines\ncrates/a/src/big.rs 801\nxtask/src/main.rs 950 # shrinking\n";
    assert_eq!(check_file_sizes(&big, list), vec![]);
}

#[test]
fn the_allow_list_only_shrinks() {
    let tree = files(&[
        ("crates/a/src/grew.rs", lines(901).as_str()),
        ("crates/a/src/small.rs", lines(800).as_str()),
    ]);
    let list = "crates/a/src/grew.rs 900\ncrates/a/src/small.rs 850\ncrates/a/src/gone.rs 1000\nbad line\ncrates/a/src/grew.rs 900\n";
    assert_eq!(
        messages(&check_file_sizes(&tree, list)),
        [
            "tidy: file-size: xtask/tidy-allowlist.txt:4: `bad line`: expected `path max_lines`",
            "tidy: file-size: xtask/tidy-allowlist.txt:5: crates/a/src/grew.rs is listed twice",
            "tidy: file-size: crates/a/src/grew.rs: 901 lines, more than its recorded maximum of 900 in xtask/tidy-allowlist.txt: it grew; split it",
            "tidy: file-size: xtask/tidy-allowlist.txt:2: crates/a/src/small.rs has 800 lines now (at most 800): remove it from the list",
            "tidy: file-size: xtask/tidy-allowlist.txt:3: crates/a/src/gone.rs no longer exists (or is no longer a checked source file): remove it from the list",
        ]
    );
}

/// `tidy::run` end to end on a throw-away two-crate workspace (`cargo metadata` needs no
/// network for path-only crates): a dependency edge the map does not allow fails the run, and
/// the same workspace passes once the map allows it.
#[test]
fn run_fails_on_a_broken_dependency_edge_of_a_real_workspace() {
    let dir = std::env::temp_dir().join(format!("pa-tidy-run-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let write = |rel: &str, text: &str| {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    write(
        "Cargo.toml",
        "[workspace]\nresolver = \"3\"\nmembers = [\"crates/*\"]\n",
    );
    for (name, deps) in [("low", ""), ("high", "low = { path = \"../low\" }\n")] {
        write(
            &format!("crates/{name}/Cargo.toml"),
            &format!(
                "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[dependencies]\n{deps}"
            ),
        );
        write(&format!("crates/{name}/src/lib.rs"), "//! A crate.\n");
    }
    write(ALLOWLIST, "# nothing over the limit\n");
    let map = |high: &str| {
        format!("# Architecture\n\n{MAP_MARKER} -->\n```text\nlow:\nhigh: {high}\n```\n")
    };
    write(ARCHITECTURE, &map(""));
    let broken = run(&dir).expect("tidy runs");
    write(ARCHITECTURE, &map("low"));
    let fixed = run(&dir).expect("tidy runs");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(!broken, "high -> low is not in the map: tidy must fail");
    assert!(fixed, "high -> low is in the map: tidy must pass");
}
