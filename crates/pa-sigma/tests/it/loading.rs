//! Loading from disk: directory walking and ordering, unreadable input, and robustness against
//! mangled rule text (never a panic).

use crate::common;

use pa_sigma::*;
use std::path::{Path, PathBuf};

const RULE: &str = "title: T\nid: ID\nlogsource:\n  product: windows\ndetection:\n  sel:\n    Image|endswith: '\\x.exe'\n  condition: sel\n";

fn write(dir: &Path, rel: &str, text: &str) -> PathBuf {
    let p = dir.join(rel);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    std::fs::write(&p, text).expect("write");
    p
}

#[test]
fn directories_are_walked_sorted_and_filtered() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    write(d, "b/z.yml", &RULE.replace("ID", "3").replace("T\n", "Z\n"));
    write(d, "a.yaml", &RULE.replace("ID", "1").replace("T\n", "A\n"));
    write(
        d,
        "B.yml",
        &RULE.replace("ID", "0").replace("T\n", "Upper\n"),
    );
    write(
        d,
        "b/a.yml",
        &RULE.replace("ID", "2").replace("T\n", "BA\n"),
    );
    write(d, "notes.txt", "title: not a rule");
    write(d, "b/readme.md", "# nothing");
    let set = load_paths(&[d.to_path_buf()]);
    assert!(set.issues.is_empty(), "{:?}", set.issues);
    let titles: Vec<&str> = set.rules.iter().map(|r| r.title.as_str()).collect();
    // byte order: "B.yml" < "a.yaml" < "b/a.yml" < "b/z.yml"
    assert_eq!(titles, vec!["Upper", "A", "BA", "Z"]);
    // a file given directly is loaded whatever its extension; a missing path is an issue
    let direct = write(d, "extra.rule", &RULE.replace("ID", "9"));
    let set = load_paths(&[direct, d.join("missing")]);
    assert_eq!(set.rules.len(), 1);
    assert_eq!(set.issues.len(), 1);
    assert!(set.issues[0].message.contains("cannot read rule path"));
    assert_eq!(set.issues[0].reason_code, REASON_LOAD_FAILED);
}

#[test]
fn rule_metadata_and_digest() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let text = "title: Meta\nid: m-1\nstatus: test\nlevel: high\ntags:\n  - attack.execution\n  - attack.t1059.001\n  - attack.T1059\nlogsource:\n  category: ' Process_Creation '\n  product: Windows\ndetection:\n  sel:\n    A: 1\n  condition: sel\n";
    let p = write(tmp.path(), "m.yml", &text.replace('\n', "\r\n"));
    let set = load_paths(std::slice::from_ref(&p));
    let r = &set.rules[0];
    assert_eq!(r.id.as_deref(), Some("m-1"));
    assert_eq!(r.level.as_deref(), Some("high"));
    assert_eq!(r.status.as_deref(), Some("test"));
    assert_eq!(r.technique_ids, vec!["T1059", "T1059.001"]);
    assert_eq!(r.logsource.category.as_deref(), Some(" Process_Creation "));
    assert_eq!(
        r.logsource.category_norm.as_deref(),
        Some("process_creation")
    );
    assert_eq!(r.logsource.product_norm.as_deref(), Some("windows"));
    assert_eq!(r.file, p);
    assert_eq!(r.line, 1);
    // CRLF file hashes like the LF text
    assert_eq!(r.rule_sha256, rule_sha256(text.as_bytes()));
}

#[test]
fn invalid_files_are_issues() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    write(d, "1_bad_yaml.yml", "title: [unclosed\n");
    std::fs::write(d.join("2_not_utf8.yml"), b"title: \xff\xfe\n").expect("write");
    write(d, "3_dup_key.yml", "title: a\ntitle: b\n");
    write(d, "4_ok.yml", RULE);
    write(d, "5_scalar.yml", "just a string\n");
    write(
        d,
        "6_both.yml",
        "title: x\ndetection:\n  s: {A: 1}\n  condition: s\ncorrelation:\n  type: event_count\n  rules: [a]\n",
    );
    let set = load_paths(&[d.to_path_buf()]);
    assert_eq!(set.rules.len(), 1);
    let msgs: Vec<String> = set
        .issues
        .iter()
        .map(|i| format!("{}:{} {}", i.file.display(), i.line, i.message))
        .collect();
    assert_eq!(set.issues.len(), 5, "{msgs:#?}");
    assert!(msgs[0].contains("1_bad_yaml.yml") && msgs[0].contains("invalid YAML"));
    assert_eq!(
        set.issues[2].line, 2,
        "duplicate key reported on its line: {msgs:?}"
    );
    assert!(msgs[1].contains("not valid UTF-8"));
    assert!(msgs[2].contains("3_dup_key.yml"));
    assert_eq!(set.issues[4].reason_code, "backend_compile_error");
}

#[test]
fn mangled_corpus_rules_never_panic() {
    let dir = common::data_dir().join("sigma/rules/windows/process_creation");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("corpus dir")
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    let mut seed = 7u64;
    let mut next = move || {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
        (seed >> 33) as usize
    };
    let mut loaded = 0;
    let mut compiled_n = 0;
    for f in files.iter().step_by(7).take(150) {
        let text = std::fs::read_to_string(f).expect("read");
        let bytes: Vec<char> = text.chars().collect();
        for round in 0..8 {
            let mut t = bytes.clone();
            match round % 4 {
                0 => t.truncate(next() % (t.len() + 1)),
                1 => {
                    for _ in 0..3 {
                        let i = next() % t.len().max(1);
                        if i < t.len() {
                            t[i] = ['|', '*', '\\', ':', '-', '(', '%', '\''][next() % 8];
                        }
                    }
                }
                2 => {
                    let i = next() % t.len().max(1);
                    let j = next() % t.len().max(1);
                    if i < t.len() && j < t.len() {
                        t.swap(i, j);
                    }
                }
                _ => {
                    let s: String = t.iter().collect();
                    t = s
                        .replace("condition: ", "condition: not (")
                        .replace("|contains", "|base64offset|contains")
                        .chars()
                        .collect();
                }
            }
            let s: String = t.into_iter().collect();
            let set = load_str(Path::new("mangled.yml"), &s);
            loaded += set.rules.len();
            let c = compile_ruleset(&set, &IdentityResolver, &CompileOptions::default());
            compiled_n += c.rules.len();
            let engine = Engine::new(c.rules.clone()).expect("engine");
            let ev =
                JsonEvent::new(serde_json::json!({"Image": "C:\\x.exe", "CommandLine": "a -b /c"}));
            let fast = engine.matches(&ev);
            let reference: Vec<usize> = (0..c.rules.len())
                .filter(|i| c.rules[*i].eval(&ev))
                .collect();
            assert_eq!(fast, reference);
            let _ = check(&set, &IdentityResolver, &CompileOptions::default());
            for r in &c.rules {
                let _ = explain(r, &ev);
            }
        }
    }
    println!("mangled: {loaded} rules loaded, {compiled_n} compiled");
    assert!(loaded > 0 && compiled_n > 0);
}
