//! Correlation tests, built on the examples of the Sigma correlation specification 2.1.0.

use super::*;
use crate::rule::load_str;
use std::path::Path;

const MIN: i64 = 60_000;

fn base(name: &str, id: &str) -> String {
    format!(
        "title: {name}\nid: {id}\nname: {name}\nlogsource:\n  product: windows\n  service: security\ndetection:\n  sel:\n    EventID: 1\n  condition: sel\n"
    )
}

fn load(docs: &[String]) -> (RuleSet, CorrelationSet) {
    let set = load_str(Path::new("mr_test.yml"), &docs.join("---\n"));
    assert!(set.issues.is_empty(), "{:?}", set.issues);
    let (cs, issues) = compile_correlations(&set);
    assert!(issues.is_empty(), "{issues:?}");
    (set, cs)
}

fn rule_index(set: &RuleSet, name: &str) -> usize {
    set.rules
        .iter()
        .position(|r| r.name.as_deref() == Some(name))
        .unwrap()
}

/// Feed a match of rule `name` with `fields` given by name.
fn feed(
    eng: &mut CorrelationEngine<'_>,
    set: &RuleSet,
    cs: &CorrelationSet,
    name: &str,
    t: i64,
    id: &str,
    fields: &[(&str, &str)],
) -> Vec<CorrelationHit> {
    let r = rule_index(set, name);
    let wanted = cs.rule_fields.get(&r).cloned().unwrap_or_default();
    let vals: Vec<Option<String>> = wanted
        .iter()
        .map(|w| {
            fields
                .iter()
                .find(|(k, _)| k == w)
                .map(|(_, v)| v.to_string())
        })
        .collect();
    eng.feed(r, t, id, &vals)
}

fn ids(h: &CorrelationHit) -> Vec<&str> {
    h.events.iter().map(|c| c.event_id.as_str()).collect()
}

#[test]
fn event_count_many_failed_logins_per_computer_in_an_hour() {
    // spec: Event Count example (gte 100 per ComputerName in 1h)
    let corr = "title: Many failed logins\nid: 0e95725d-7320-415d-80f7-004da920fc11\ncorrelation:\n    type: event_count\n    rules:\n        - 5638f7c0-ac70-491d-8465-2a65075e0d86\n    group-by:\n        - ComputerName\n    timespan: 1h\n    condition:\n        gte: 100\n";
    let (set, cs) = load(&[
        base("failed_login", "5638f7c0-ac70-491d-8465-2a65075e0d86"),
        corr.into(),
    ]);
    let mut eng = CorrelationEngine::new(&cs, CorrelationLimits::default());
    // 99 on host A within the hour, then one on host B: nothing
    for i in 0..99 {
        let h = feed(
            &mut eng,
            &set,
            &cs,
            "failed_login",
            i * 30_000,
            &format!("a{i}"),
            &[("ComputerName", "A")],
        );
        assert!(h.is_empty());
    }
    assert!(
        feed(
            &mut eng,
            &set,
            &cs,
            "failed_login",
            99 * 30_000,
            "b0",
            &[("ComputerName", "B")]
        )
        .is_empty()
    );
    // an event without the group-by field does not count
    assert!(feed(&mut eng, &set, &cs, "failed_login", 99 * 30_000, "x", &[]).is_empty());
    // the 100th on A fires with exactly the 100 events
    let h = feed(
        &mut eng,
        &set,
        &cs,
        "failed_login",
        99 * 30_000 + 1,
        "a99",
        &[("ComputerName", "A")],
    );
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].value, 100.0);
    assert_eq!(
        h[0].group,
        vec![("ComputerName".to_string(), "A".to_string())]
    );
    assert_eq!(h[0].events.len(), 100);
    assert_eq!(ids(&h[0])[0], "a0");
    assert_eq!(h[0].window_start_ms, 0);
    assert_eq!(h[0].window_end_ms, 99 * 30_000 + 1);
    assert!(h[0].emits);
    // the group started over: one more is not a new result
    assert!(
        feed(
            &mut eng,
            &set,
            &cs,
            "failed_login",
            99 * 30_000 + 2,
            "a100",
            &[("ComputerName", "A")]
        )
        .is_empty()
    );
    let st = eng.stats()[0].1;
    assert_eq!((st.matches, st.missing_group_field, st.fired), (103, 1, 1));
    // the base rule is silent (no generate: true)
    assert!(cs.silent_rules.contains(&rule_index(&set, "failed_login")));
}

#[test]
fn window_is_inclusive_and_slides() {
    let corr = "title: two in 5m\ncorrelation:\n  type: event_count\n  rules: [r]\n  group-by: [User]\n  timespan: 5m\n  condition:\n    gte: 2\n";
    let (set, cs) = load(&[base("r", "r-id"), corr.into()]);
    let mut eng = CorrelationEngine::new(&cs, CorrelationLimits::default());
    assert!(feed(&mut eng, &set, &cs, "r", 0, "e0", &[("User", "u")]).is_empty());
    // 5m + 1ms later: e0 has left the window
    assert!(
        feed(
            &mut eng,
            &set,
            &cs,
            "r",
            5 * MIN + 1,
            "e1",
            &[("User", "u")]
        )
        .is_empty()
    );
    // exactly 5m after e1: still inside (inclusive)
    let h = feed(
        &mut eng,
        &set,
        &cs,
        "r",
        10 * MIN + 1,
        "e2",
        &[("User", "u")],
    );
    assert_eq!(h.len(), 1);
    assert_eq!(ids(&h[0]), ["e1", "e2"]);
}

#[test]
fn value_count_distinct_users_per_source_and_destination() {
    // spec: Value Count example (gte 100 distinct User per ComputerName+WorkstationName in 1d)
    let corr = "title: Failed login\nid: 0e95725d-7320-415d-80f7-004da920fc12\ncorrelation:\n    type: value_count\n    rules:\n        - 5638f7c0-ac70-491d-8465-2a65075e0d86\n    group-by:\n        - ComputerName\n        - WorkstationName\n    timespan: 1d\n    condition:\n        field: User\n        gte: 100\n";
    let (set, cs) = load(&[
        base("failed_login", "5638f7c0-ac70-491d-8465-2a65075e0d86"),
        corr.into(),
    ]);
    let mut eng = CorrelationEngine::new(&cs, CorrelationLimits::default());
    let at = |i: i64| i * MIN;
    // 99 distinct users, each twice: 198 events, 99 distinct values
    for i in 0..198 {
        let user = format!("user{}", i % 99);
        let h = feed(
            &mut eng,
            &set,
            &cs,
            "failed_login",
            at(i),
            &format!("e{i}"),
            &[
                ("ComputerName", "dc1"),
                ("WorkstationName", "ws7"),
                ("User", &user),
            ],
        );
        assert!(h.is_empty(), "fired at {i}");
    }
    // same user on another workstation is another group
    assert!(
        feed(
            &mut eng,
            &set,
            &cs,
            "failed_login",
            at(198),
            "o",
            &[
                ("ComputerName", "dc1"),
                ("WorkstationName", "ws8"),
                ("User", "new")
            ]
        )
        .is_empty()
    );
    // no User: not counted
    assert!(
        feed(
            &mut eng,
            &set,
            &cs,
            "failed_login",
            at(198),
            "n",
            &[("ComputerName", "dc1"), ("WorkstationName", "ws7")]
        )
        .is_empty()
    );
    let h = feed(
        &mut eng,
        &set,
        &cs,
        "failed_login",
        at(199),
        "last",
        &[
            ("ComputerName", "dc1"),
            ("WorkstationName", "ws7"),
            ("User", "user100"),
        ],
    );
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].value, 100.0);
    assert_eq!(h[0].events.len(), 199);
    assert_eq!(eng.stats()[0].1.missing_value_field, 1);
}

#[test]
fn temporal_recon_commands_in_any_order() {
    // spec: Temporal Proximity example (recon a, b, c in 5m by ComputerName + User)
    let corr = "title: Recon\ncorrelation:\n    type: temporal\n    rules:\n        - recon_cmd_a\n        - recon_cmd_b\n        - recon_cmd_c\n    group-by:\n        - ComputerName\n        - User\n    timespan: 5m\n";
    let (set, cs) = load(&[
        base("recon_cmd_a", "a"),
        base("recon_cmd_b", "b"),
        base("recon_cmd_c", "c"),
        corr.into(),
    ]);
    let mut eng = CorrelationEngine::new(&cs, CorrelationLimits::default());
    let f = [("ComputerName", "h1"), ("User", "bob")];
    let other = [("ComputerName", "h1"), ("User", "eve")];
    assert!(feed(&mut eng, &set, &cs, "recon_cmd_c", 0, "c1", &f).is_empty());
    assert!(feed(&mut eng, &set, &cs, "recon_cmd_a", MIN, "a1", &f).is_empty());
    assert!(feed(&mut eng, &set, &cs, "recon_cmd_a", MIN, "a2", &f).is_empty());
    // b by another user does not complete bob's set
    assert!(feed(&mut eng, &set, &cs, "recon_cmd_b", 2 * MIN, "b-eve", &other).is_empty());
    let h = feed(&mut eng, &set, &cs, "recon_cmd_b", 3 * MIN, "b1", &f);
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].value, 3.0);
    assert_eq!(ids(&h[0]), ["c1", "a1", "a2", "b1"]);
    let rules: Vec<usize> = h[0].events.iter().map(|c| c.rule).collect();
    assert_eq!(rules, [2, 0, 0, 1]);
    // too far apart: c at 0, a at 4m, b at 6m → c left the window
    let mut eng = CorrelationEngine::new(&cs, CorrelationLimits::default());
    assert!(feed(&mut eng, &set, &cs, "recon_cmd_c", 0, "c", &f).is_empty());
    assert!(feed(&mut eng, &set, &cs, "recon_cmd_a", 4 * MIN, "a", &f).is_empty());
    assert!(feed(&mut eng, &set, &cs, "recon_cmd_b", 6 * MIN, "b", &f).is_empty());
}

#[test]
fn temporal_ordered_needs_the_listed_order() {
    let corr = "title: Recon ordered\ncorrelation:\n    type: temporal_ordered\n    rules:\n        - recon_cmd_a\n        - recon_cmd_b\n        - recon_cmd_c\n    group-by:\n        - ComputerName\n        - User\n    timespan: 5m\n";
    let (set, cs) = load(&[
        base("recon_cmd_a", "a"),
        base("recon_cmd_b", "b"),
        base("recon_cmd_c", "c"),
        corr.into(),
    ]);
    let f = [("ComputerName", "h1"), ("User", "bob")];
    // c, b, a: wrong order
    let mut eng = CorrelationEngine::new(&cs, CorrelationLimits::default());
    for (i, r) in ["recon_cmd_c", "recon_cmd_b", "recon_cmd_a"]
        .iter()
        .enumerate()
    {
        assert!(feed(&mut eng, &set, &cs, r, i as i64, &format!("x{i}"), &f).is_empty());
    }
    // then b, c: a(2) < b(3) < c(4) in order → fires with exactly those three
    assert!(feed(&mut eng, &set, &cs, "recon_cmd_b", 3, "b2", &f).is_empty());
    let h = feed(&mut eng, &set, &cs, "recon_cmd_c", 4, "c2", &f);
    assert_eq!(h.len(), 1);
    assert_eq!(ids(&h[0]), ["x2", "b2", "c2"]);
    // equal timestamps keep feed order: b then a at the same ms is not a → b
    let mut eng = CorrelationEngine::new(&cs, CorrelationLimits::default());
    assert!(feed(&mut eng, &set, &cs, "recon_cmd_b", 10, "b", &f).is_empty());
    assert!(feed(&mut eng, &set, &cs, "recon_cmd_a", 10, "a", &f).is_empty());
    assert!(feed(&mut eng, &set, &cs, "recon_cmd_c", 10, "c", &f).is_empty());
}

/// The specification's complete example: failed logins (event_count, chained) followed by a
/// successful login (temporal_ordered), rules referenced by `name`.
const SPEC_EXAMPLE: &str = "title: Correlation - Multiple Failed Logins Followed by Successful Login\nid: b180ead8-d58f-40b2-ae54-c8940995b9b6\nstatus: experimental\ncorrelation:\n    type: temporal_ordered\n    rules:\n        - multiple_failed_login\n        - successful_login\n    group-by:\n        - User\n    timespan: 10m\nlevel: high\n---\ntitle: Multiple failed logons\nid: a8418a5a-5fc4-46b5-b23b-6c73beb19d41\nname: multiple_failed_login\ncorrelation:\n    type: event_count\n    rules:\n        - failed_login\n    group-by:\n        - User\n    timespan: 10m\n    condition:\n        gte: 10\n---\ntitle: Single failed login\nid: 53ba33fd-3a50-4468-a5ef-c583635cfa92\nname: failed_login\nlogsource:\n    product: windows\n    service: security\ndetection:\n    selection:\n        EventID:\n            - 529\n            - 4625\n    condition: selection\n---\ntitle: Successful login\nid: 4d0a2c83-c62c-4ed4-b475-c7e23a9269b8\nname: successful_login\nlogsource:\n    product: windows\n    service: security\ndetection:\n    selection:\n        EventID:\n            - 528\n            - 4624\n    condition: selection\n";

#[test]
fn chained_failed_logins_followed_by_success() {
    let set = load_str(Path::new("mr_failed_then_success.yml"), SPEC_EXAMPLE);
    assert!(set.issues.is_empty(), "{:?}", set.issues);
    let (cs, issues) = compile_correlations(&set);
    assert!(issues.is_empty());
    // the outer correlation emits; the inner one and both base rules do not (no generate)
    let outer = cs
        .correlations
        .iter()
        .find(|c| c.kind == CorrelationKind::TemporalOrdered)
        .unwrap();
    let inner = cs
        .correlations
        .iter()
        .find(|c| c.kind == CorrelationKind::EventCount)
        .unwrap();
    assert!(outer.emits && !inner.emits);
    assert_eq!(
        outer.members,
        vec![Member::Correlation(inner.index), Member::Rule(1)]
    );
    assert_eq!(cs.silent_rules.len(), 2);
    let mut eng = CorrelationEngine::new(&cs, CorrelationLimits::default());
    let u = [("User", "alice")];
    // a success before the failures does not count (order)
    assert!(feed(&mut eng, &set, &cs, "successful_login", 0, "s0", &u).is_empty());
    let mut inner_hits = Vec::new();
    for i in 0..10 {
        inner_hits.extend(feed(
            &mut eng,
            &set,
            &cs,
            "failed_login",
            1000 + i,
            &format!("f{i}"),
            &u,
        ));
    }
    assert_eq!(
        inner_hits.len(),
        1,
        "the 10th failure fires the inner correlation"
    );
    assert!(!inner_hits[0].emits);
    let h = feed(&mut eng, &set, &cs, "successful_login", 2 * MIN, "s1", &u);
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].correlation, outer.index);
    assert!(h[0].emits);
    assert_eq!(h[0].events.len(), 11);
    assert_eq!(h[0].events[0].event_id, "f0");
    assert_eq!(h[0].events[10].event_id, "s1");
    assert_eq!(
        h[0].window_start_ms, 1000,
        "the window starts at the first failure"
    );
    assert_eq!(h[0].window_end_ms, 2 * MIN);
    // another user's success is not alice's
    assert!(
        feed(
            &mut eng,
            &set,
            &cs,
            "successful_login",
            3 * MIN,
            "s2",
            &[("User", "bob")]
        )
        .is_empty()
    );
}

#[test]
fn generate_true_keeps_base_rules() {
    let corr = "title: c\ngenerate: true\ncorrelation:\n  type: event_count\n  rules: [r]\n  group-by: [User]\n  timespan: 1m\n  condition:\n    gte: 2\n";
    let (_, cs) = load(&[base("r", "r-id"), corr.into()]);
    assert!(cs.silent_rules.is_empty());
}

#[test]
fn value_sum_exfiltration() {
    // spec: Value Sum example (bytes_sent gt 1000000 per SourceIP+User in 1h)
    let corr = "title: Possible Exfiltration to Website\ncorrelation:\n    type: value_sum\n    rules:\n        - website_access\n    group-by:\n        - SourceIP\n        - User\n    timespan: 1h\n    condition:\n        field: bytes_sent\n        gt: 1000000\n";
    let (set, cs) = load(&[base("website_access", "w"), corr.into()]);
    let mut eng = CorrelationEngine::new(&cs, CorrelationLimits::default());
    let f = |b: &'static str| [("SourceIP", "10.0.0.5"), ("User", "bob"), ("bytes_sent", b)];
    assert!(feed(&mut eng, &set, &cs, "website_access", 0, "w1", &f("600000")).is_empty());
    assert!(
        feed(
            &mut eng,
            &set,
            &cs,
            "website_access",
            1,
            "w2",
            &f("not a number")
        )
        .is_empty()
    );
    assert!(
        feed(&mut eng, &set, &cs, "website_access", 2, "w3", &f("400000")).is_empty(),
        "1000000 is not > 1000000"
    );
    let h = feed(&mut eng, &set, &cs, "website_access", 3, "w4", &f("1"));
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].value, 1_000_001.0);
    assert_eq!(ids(&h[0]), ["w1", "w3", "w4"]);
}

#[test]
fn value_avg_network_traffic() {
    // spec: Value Average example (BytesOut average gt 500 per SourceIP+User in 24h)
    let corr = "title: Suspicious average network traffic\ncorrelation:\n    type: value_avg\n    rules: \n        - rule_a_id\n    group-by:\n        - SourceIP\n        - User\n    timespan: 24h\n    condition:\n        field: BytesOut\n        gt: 500\n";
    let (set, cs) = load(&[base("rule_a", "rule_a_id"), corr.into()]);
    let mut eng = CorrelationEngine::new(&cs, CorrelationLimits::default());
    let f = |b: &'static str| [("SourceIP", "10.0.0.5"), ("User", "bob"), ("BytesOut", b)];
    assert!(feed(&mut eng, &set, &cs, "rule_a", 0, "n1", &f("100")).is_empty());
    assert!(
        feed(&mut eng, &set, &cs, "rule_a", 1, "n2", &f("900")).is_empty(),
        "avg 500 is not > 500"
    );
    let h = feed(&mut eng, &set, &cs, "rule_a", 2, "n3", &f("503"));
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].value, 501.0);
}

#[test]
fn value_percentile_rare_process_per_computer() {
    // spec: Value Percentile example (an Image seen in at most 1% of a computer's processes)
    let corr = "title: rare process\ncorrelation:\n    type: value_percentile\n    rules: \n        - process_creation\n    group-by:\n        - ComputerName\n    timespan: 24h\n    condition:\n        field: Image\n        lte: 1\n";
    let (set, cs) = load(&[base("process_creation", "p"), corr.into()]);
    let mut eng = CorrelationEngine::new(&cs, CorrelationLimits::default());
    for i in 0..199 {
        let h = feed(
            &mut eng,
            &set,
            &cs,
            "process_creation",
            i,
            &format!("p{i}"),
            &[("ComputerName", "h"), ("Image", "svchost.exe")],
        );
        assert!(h.is_empty());
    }
    // 2 of 201 ≈ 0.995% after the second rare one; the first was 1 of 200 = 0.5%
    let h = feed(
        &mut eng,
        &set,
        &cs,
        "process_creation",
        300,
        "rare",
        &[("ComputerName", "h"), ("Image", "mimikatz.exe")],
    );
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].value, 0.5);
    assert_eq!(ids(&h[0]), ["rare"], "only the rare events form the result");
    // the common ones stay in the window
    assert_eq!(eng.state_size().matches, 199);
}

#[test]
fn aliases_join_different_fields() {
    // spec: Field Name Aliases example
    let r1 = "title: internal error\nname: internal_error\nlogsource:\n  category: webserver\ndetection:\n    selection:\n        http.response.status_code: 500\n    condition: selection\n";
    let r2 = "title: new connection\nname: new_network_connection\nlogsource:\n  category: network_connection\ndetection:\n    selection:\n        event.category: network\n    condition: selection\n";
    let corr = "title: error then connection\ncorrelation:\n    type: temporal\n    rules:\n        - internal_error\n        - new_network_connection\n    group-by:\n        - internal_ip\n        - remote_ip\n    timespan: 10s\n    aliases:\n        internal_ip:\n            internal_error: destination.ip\n            new_network_connection: source.ip\n        remote_ip:\n            internal_error: source.ip\n            new_network_connection: destination.ip\n";
    let (set, cs) = load(&[r1.into(), r2.into(), corr.into()]);
    assert_eq!(cs.rule_fields[&0], ["destination.ip", "source.ip"]);
    let mut eng = CorrelationEngine::new(&cs, CorrelationLimits::default());
    let err = [("destination.ip", "10.0.0.1"), ("source.ip", "203.0.113.9")];
    assert!(feed(&mut eng, &set, &cs, "internal_error", 0, "e", &err).is_empty());
    // same addresses in the same fields: not the aliased relation
    assert!(
        feed(
            &mut eng,
            &set,
            &cs,
            "new_network_connection",
            1000,
            "wrong",
            &err
        )
        .is_empty()
    );
    let conn = [("source.ip", "10.0.0.1"), ("destination.ip", "203.0.113.9")];
    let h = feed(
        &mut eng,
        &set,
        &cs,
        "new_network_connection",
        2000,
        "c",
        &conn,
    );
    assert_eq!(h.len(), 1);
    assert_eq!(ids(&h[0]), ["e", "c"]);
    assert_eq!(
        h[0].group,
        [
            ("internal_ip".to_string(), "10.0.0.1".to_string()),
            ("remote_ip".to_string(), "203.0.113.9".to_string())
        ]
    );
}

#[test]
fn bad_references_and_timespans_are_load_issues_with_file_and_line() {
    let text = format!(
        "{}---\ntitle: missing ref\ncorrelation:\n  type: event_count\n  rules: [no_such_rule]\n  group-by: [User]\n  timespan: 5m\n  condition:\n    gte: 2\n---\ntitle: bad span\ncorrelation:\n  type: event_count\n  rules: [r]\n  group-by: [User]\n  timespan: 5 minutes\n  condition:\n    gte: 2\n---\ntitle: over broken\ncorrelation:\n  type: temporal\n  rules: [r, bad_span_corr]\n  group-by: [User]\n  timespan: 5m\n---\ntitle: no condition\ncorrelation:\n  type: value_count\n  rules: [r]\n  timespan: 5m\n---\ntitle: fine\ncorrelation:\n  type: event_count\n  rules: [r]\n  timespan: 1d\n  condition:\n    gte: 2\n",
        base("r", "r-id")
    )
    .replace("title: bad span\n", "title: bad span\nname: bad_span_corr\n");
    let set = load_str(Path::new("rules/mr_bad.yml"), &text);
    let msgs: Vec<(u64, &str)> = set
        .issues
        .iter()
        .map(|i| (i.line, i.message.as_str()))
        .collect();
    assert_eq!(set.issues.len(), 4, "{msgs:?}");
    assert!(set.issues.iter().all(|i| i.file == Path::new("rules/mr_bad.yml") && i.reason_code == REASON_LOAD_FAILED));
    assert_eq!(msgs[0].0, 12);
    assert!(
        msgs[0]
            .1
            .contains("`no_such_rule`, which is no rule id or name"),
        "{}",
        msgs[0].1
    );
    assert_eq!(msgs[1].0, 21);
    assert!(msgs[1].1.contains("timespan `5 minutes`"), "{}", msgs[1].1);
    assert_eq!(msgs[2].0, 31);
    assert!(
        msgs[2].1.contains("references correlation `bad span`"),
        "{}",
        msgs[2].1
    );
    assert!(
        msgs[3].1.contains("needs a `correlation.condition`"),
        "{}",
        msgs[3].1
    );
    assert_eq!(set.correlations.len(), 1);
    assert_eq!(set.correlations[0].title, "fine");
}

#[test]
fn cycles_and_unknown_types_are_rejected() {
    let text = "title: a\nname: ca\ncorrelation:\n  type: temporal\n  rules: [cb]\n  timespan: 5m\n---\ntitle: b\nname: cb\ncorrelation:\n  type: temporal\n  rules: [ca]\n  timespan: 5m\n---\ntitle: median\ncorrelation:\n  type: value_median\n  rules: [ca]\n  timespan: 5m\n";
    let set = load_str(Path::new("c.yml"), text);
    assert!(set.correlations.is_empty());
    assert_eq!(set.issues.len(), 3, "{:?}", set.issues);
    assert!(set.issues.iter().any(|i| {
        i.message
            .contains("unknown correlation type `value_median`")
    }));
    assert!(set.issues.iter().any(|i| i.message.contains("cycle")));
}

#[test]
fn timespans() {
    assert_eq!(parse_timespan("90m"), Ok(90 * MIN));
    assert_eq!(parse_timespan("1d"), Ok(86_400_000));
    assert_eq!(parse_timespan("30s"), Ok(30_000));
    assert_eq!(parse_timespan("2h"), Ok(7_200_000));
    for bad in [
        "",
        "m",
        "5",
        "5M",
        "1w",
        "-1m",
        "1.5h",
        "0s",
        "99999999999999999999d",
    ] {
        assert!(parse_timespan(bad).is_err(), "{bad}");
    }
}

#[test]
fn a_flood_of_distinct_groups_is_bounded_and_reported() {
    let corr = "title: flood\ncorrelation:\n  type: event_count\n  rules: [r]\n  group-by: [User]\n  timespan: 1d\n  condition:\n    gte: 3\n";
    let (set, cs) = load(&[base("r", "r-id"), corr.into()]);
    let limits = CorrelationLimits {
        max_groups: 1000,
        max_window: 64,
    };
    let mut eng = CorrelationEngine::new(&cs, limits);
    let r = rule_index(&set, "r");
    let mut peak = StateSize::default();
    // the real attack: two failures of `victim` early on
    eng.feed(r, 0, "v0", &[Some("victim".into())]);
    eng.feed(r, 1, "v1", &[Some("victim".into())]);
    for i in 0..1_000_000i64 {
        let h = eng.feed(r, 2 + i, &format!("e{i}"), &[Some(format!("user{i}"))]);
        assert!(h.is_empty());
        if i % 100_000 == 0 {
            let s = eng.state_size();
            if s.approx_bytes > peak.approx_bytes {
                peak = s;
            }
        }
    }
    let size = eng.state_size();
    assert_eq!(size.groups, 1000);
    assert_eq!(size.matches, 1000);
    assert!(size.approx_bytes < 2 * 1024 * 1024, "{size:?}");
    assert!(peak.approx_bytes < 2 * 1024 * 1024, "{peak:?}");
    let st = eng.stats()[0].1;
    assert!(st.truncated());
    // 1M + 1 distinct groups (the victim's and the flood's), 1000 kept
    assert_eq!(st.groups_evicted, 1_000_001 - 1000);
    // the victim's group was evicted: its third failure starts a new window (the reason the
    // stats report, so that a person knows results may be missing)
    assert!(
        eng.feed(r, 2_000_000, "v2", &[Some("victim".into())])
            .is_empty()
    );
    // a window never holds more than max_window matches
    for i in 0..100 {
        eng.feed(r, 2_000_001 + i, &format!("w{i}"), &[Some("hot".into())]);
    }
    assert!(eng.state_size().matches <= 1000 + 64);
}

#[test]
fn late_and_extreme_times() {
    let corr = "title: two\ncorrelation:\n  type: event_count\n  rules: [r]\n  group-by: [User]\n  timespan: 1m\n  condition:\n    gte: 2\n";
    let (set, cs) = load(&[base("r", "r-id"), corr.into()]);
    let mut eng = CorrelationEngine::new(&cs, CorrelationLimits::default());
    let u = [("User", "u")];
    assert!(feed(&mut eng, &set, &cs, "r", 10 * MIN, "a", &u).is_empty());
    // older than the newest match minus the timespan: dropped, counted
    assert!(feed(&mut eng, &set, &cs, "r", 8 * MIN, "late", &u).is_empty());
    assert_eq!(eng.stats()[0].1.late_matches, 1);
    // out of order but inside the timespan: placed in time order
    let h = feed(&mut eng, &set, &cs, "r", 10 * MIN - 1000, "b", &u);
    assert_eq!(ids(&h[0]), ["b", "a"]);
    // no overflow at the ends of the time range
    let mut eng = CorrelationEngine::new(&cs, CorrelationLimits::default());
    assert!(feed(&mut eng, &set, &cs, "r", i64::MIN, "min", &u).is_empty());
    let h = feed(&mut eng, &set, &cs, "r", i64::MIN + 1, "min1", &u);
    assert_eq!(h.len(), 1);
    assert!(feed(&mut eng, &set, &cs, "r", i64::MAX, "max", &u).is_empty());
}

#[test]
fn generate_on_a_chain_keeps_the_inner_correlation_and_tuples_count_once() {
    let inner = "title: inner\nname: inner\ncorrelation:\n  type: value_count\n  rules: [r]\n  group-by: [Host]\n  timespan: 1h\n  condition:\n    field: [User, Domain]\n    gte: 2\n";
    let outer = "title: outer\ngenerate: true\ncorrelation:\n  type: event_count\n  rules: [inner]\n  group-by: [Host]\n  timespan: 1h\n  condition:\n    gte: 2\n";
    let (set, cs) = load(&[base("r", "r-id"), inner.into(), outer.into()]);
    assert!(
        cs.correlations.iter().all(|c| c.emits),
        "generate: true on the outer one"
    );
    // the base rule is referenced only by `inner`, which does not say generate
    assert!(cs.silent_rules.contains(&0));
    let mut eng = CorrelationEngine::new(&cs, CorrelationLimits::default());
    let f = |u: &'static str, d: &'static str| [("Host", "h"), ("User", u), ("Domain", d)];
    assert!(feed(&mut eng, &set, &cs, "r", 0, "a", &f("bob", "X")).is_empty());
    assert!(
        feed(&mut eng, &set, &cs, "r", 1, "b", &f("bob", "X")).is_empty(),
        "same tuple"
    );
    let h = feed(&mut eng, &set, &cs, "r", 2, "c", &f("bob", "Y"));
    assert_eq!(h.len(), 1, "inner fires (2 distinct tuples)");
    assert!(feed(&mut eng, &set, &cs, "r", 3, "d", &f("eve", "X")).is_empty());
    let h = feed(&mut eng, &set, &cs, "r", 4, "e", &f("eve", "Y"));
    assert_eq!(
        h.len(),
        2,
        "inner fires again, and the outer over two inner results"
    );
    assert_eq!(h[1].events.len(), 5);
    assert_eq!(h[1].group, vec![("Host".to_string(), "h".to_string())]);
}
