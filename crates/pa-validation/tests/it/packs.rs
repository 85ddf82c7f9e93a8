//! The shipped packs decode, cover their labs, and every signal is specific (it constrains
//! something the test does, not any event of a class).

use crate::common;
use pa_criteria::{Engine, Pack};
use serde_json::Value;

fn shipped(name: &str) -> Pack {
    pa_criteria::load_pack(&common::root().join("mappings/criteria").join(name))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn assert_specific(p: &Pack) {
    for e in &p.entries {
        for s in &e.expected_signals {
            assert!(
                !s.predicate.constraints.is_empty(),
                "{} {}: a signal without constraints matches any event of its class",
                e.entry_id,
                s.signal_id
            );
            assert!(s.min_count >= 1, "{} {}", e.entry_id, s.signal_id);
        }
    }
}

#[test]
fn linux_atomics_has_one_entry_per_lab_test() {
    let p = shipped("linux-atomics.yaml");
    assert_eq!(p.pack_id, "linux-atomics");
    assert_specific(&p);
    let sel: Value = serde_json::from_str(
        &std::fs::read_to_string(common::data("linux-audit-lab/selected_tests.json")).unwrap(),
    )
    .unwrap();
    let tests = sel["tests"].as_array().unwrap();
    assert_eq!(tests.len(), 35);
    assert_eq!(p.entries.len(), 35);
    for t in tests {
        let guid = t["guid"].as_str().unwrap();
        let hits: Vec<&str> = p
            .entries
            .iter()
            .filter(|e| e.engine_test_id == guid)
            .map(|e| e.entry_id.as_str())
            .collect();
        assert_eq!(hits.len(), 1, "{guid}: {hits:?}");
        let e = p.entries.iter().find(|e| e.engine_test_id == guid).unwrap();
        assert_eq!(e.engine, Engine::Atomic);
        assert_eq!(e.technique_id, t["technique"].as_str().unwrap());
        assert_eq!(
            e.entry_id,
            format!(
                "linux/{}-{}",
                t["technique"].as_str().unwrap(),
                t["test_number"]
            )
        );
    }
}

#[test]
fn replay_evtx_has_one_entry_per_example_action() {
    let p = shipped("replay-evtx.yaml");
    assert_specific(&p);
    let gt =
        std::fs::read_to_string(common::root().join("examples/replay-evtx/ground_truth.jsonl"))
            .unwrap();
    let mut n = 0;
    for line in gt.lines().filter(|l| !l.trim().is_empty()) {
        let r: Value = serde_json::from_str(line).unwrap();
        let id = format!("recorded:{}", r["action_id"].as_str().unwrap());
        let e = p
            .entries
            .iter()
            .find(|e| e.engine_test_id == id)
            .unwrap_or_else(|| panic!("no entry for {id}"));
        assert_eq!(e.engine, Engine::Recorded);
        assert_eq!(e.technique_id, r["technique_id"].as_str().unwrap());
        n += 1;
    }
    assert_eq!(n, 6);
    assert_eq!(p.entries.len(), 6);
}

/// The local-linux example's scenario is covered by the linux pack.
#[test]
fn the_local_linux_scenario_is_covered() {
    let p = shipped("linux-atomics.yaml");
    let scenario =
        pa_config::ScenarioConfig::load(&common::root().join("examples/local-linux/scenario.yaml"))
            .unwrap();
    for a in &scenario.actions {
        let guid = a.engine_test_id.as_deref().unwrap();
        assert!(
            p.entries.iter().any(|e| e.engine_test_id == guid),
            "{}: {guid} has no entry",
            a.action_id
        );
    }
}
