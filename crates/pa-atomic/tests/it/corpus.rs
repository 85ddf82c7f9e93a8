//! The whole Atomic Red Team corpus (`../shared/data/atomics`, pinned by its SOURCE_COMMIT):
//! every technique file loads, every test is selectable by its GUID, every `sh`/`bash` test
//! resolves with its defaults, and the tests of the other executors that do not resolve are
//! exactly the known ones, by reason.

use std::collections::{BTreeMap, BTreeSet};

use pa_atomic::{AtomicsRoot, ExecutorName, Technique, TestSelector, resolve};

use crate::common::data_dir;

/// Technique files that do not load, with the upstream defect that stops them: none at the
/// pinned commit.
const KNOWN_LOAD_DEFECTS: &[(&str, &str)] = &[];

/// Tests that do not resolve with their defaults: `(executor, reason_code, count)`. All are
/// Windows tests; the reasons are upstream's, not ours:
/// * `missing_required_input`: inputs declared with an empty default (credentials, tenant ids,
///   optional arguments) that the operator must supply;
/// * `unresolved_placeholder`: T1560.001 test d1334303 names an input `7zip_exe`, which
///   `pa.template_atomic.v1` refuses (a placeholder name starts with a letter or `_`).
///   (T1114.002's `1st_target_mailbox` is the same defect, reported first as a missing input.)
const KNOWN_UNRESOLVED: &[(&str, &str, usize)] = &[
    ("command_prompt", "missing_required_input", 11),
    ("command_prompt", "unresolved_placeholder", 1),
    ("powershell", "missing_required_input", 18),
];

const ROOT: &str = "/opt/atomic-red-team/atomics";

fn load_all() -> Vec<Technique> {
    let root = AtomicsRoot::new(data_dir().join("atomics"));
    let ids = root.technique_ids().unwrap();
    assert_eq!(ids.len(), 341, "technique files in the pinned corpus");
    let mut failures = BTreeMap::new();
    let mut techniques = Vec::new();
    for id in &ids {
        match root.load(id) {
            Ok(t) => techniques.push(t),
            Err(e) => {
                failures.insert(id.clone(), e.to_string());
            }
        }
    }
    let known: BTreeSet<&str> = KNOWN_LOAD_DEFECTS.iter().map(|(id, _)| *id).collect();
    let unexpected: Vec<_> = failures
        .iter()
        .filter(|(id, _)| !known.contains(id.as_str()))
        .collect();
    assert!(
        unexpected.is_empty(),
        "technique files that do not load: {unexpected:#?}"
    );
    techniques
}

#[test]
fn every_technique_loads_and_every_shell_test_resolves() {
    let techniques = load_all();
    let tests: usize = techniques.iter().map(|t| t.tests.len()).sum();
    assert_eq!(tests, 1819, "tests in the pinned corpus");

    let mut guids = BTreeSet::new();
    let mut resolved: BTreeMap<String, usize> = BTreeMap::new();
    let mut unresolved: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    let mut max_passes = 0;
    for t in &techniques {
        for (i, test) in t.tests.iter().enumerate() {
            let guid = test.guid().expect("every upstream test has a GUID");
            assert!(
                guids.insert(guid.to_ascii_lowercase()),
                "duplicate GUID {guid}"
            );
            let sel = t.select(TestSelector::Guid(guid)).unwrap();
            assert_eq!(sel.index, i);
            let exec = test.executor.name.as_str().to_string();
            match resolve(&sel, &BTreeMap::new(), ROOT) {
                Ok(r) => {
                    *resolved.entry(exec).or_default() += 1;
                    max_passes = max_passes.max(r.passes);
                    let texts = r
                        .command
                        .actual
                        .iter()
                        .chain(&r.command.canonical)
                        .chain(&r.cleanup_command.canonical)
                        .chain(r.inputs.values());
                    for text in texts {
                        assert!(
                            !text.to_ascii_lowercase().contains("pathtoatomicsfolder"),
                            "{}: {text}",
                            sel.test_ref()
                        );
                    }
                    let sha = r.identity_inputs().unwrap().sha256().unwrap();
                    assert_eq!(sha.len(), 64);
                }
                Err(e) => unresolved
                    .entry((exec, e.reason_code().to_string()))
                    .or_default()
                    .push(e.to_string()),
            }
        }
    }
    println!("resolved with defaults, by executor: {resolved:?} (most passes: {max_passes})");
    for ((exec, reason), errors) in &unresolved {
        println!("unresolved {exec} {reason}: {}", errors.len());
        for e in errors {
            println!("  {e}");
        }
    }

    let shell_failures: Vec<_> = unresolved
        .iter()
        .filter(|((exec, _), _)| ExecutorName::parse(exec).is_posix_shell())
        .collect();
    assert!(shell_failures.is_empty(), "{shell_failures:#?}");
    assert_eq!(resolved.get("sh"), Some(&413));
    assert_eq!(resolved.get("bash"), Some(&128));
    let counts: Vec<(&str, &str, usize)> = unresolved
        .iter()
        .map(|((e, r), v)| (e.as_str(), r.as_str(), v.len()))
        .collect();
    assert_eq!(counts, KNOWN_UNRESOLVED);
    assert_eq!(
        resolved.values().sum::<usize>() + counts.iter().map(|c| c.2).sum::<usize>(),
        1819
    );
}
