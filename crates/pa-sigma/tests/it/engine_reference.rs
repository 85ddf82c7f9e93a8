//! The fast engine must give exactly the reference evaluator's results. Events are synthesized
//! from the corpus rules' own patterns (so that many rules fire), then mutated (case changes,
//! dropped fields, altered characters, events merged), and every rule is evaluated both ways.

use crate::common;

use crate::common::synth::{Lcg, event_for, synthetic_events};
use pa_sigma::*;
use serde_json::Value;

#[test]
fn engine_equals_reference_on_synthetic_events() {
    let set = load_paths(&common::positive_rule_dirs());
    let compiled = compile_ruleset(&set, &IdentityResolver, &CompileOptions::default());
    let rules = compiled.rules;
    assert!(rules.len() > 3000);
    let engine = Engine::new(rules.clone()).expect("engine");
    let events = synthetic_events(&rules, 9);
    let mut total_hits = 0usize;
    let mut firing_events = 0usize;
    let mut self_hits = 0usize;
    for v in &events {
        let e = JsonEvent::new(v.clone());
        let fast = engine.matches(&e);
        let reference: Vec<usize> = (0..rules.len()).filter(|i| rules[*i].eval(&e)).collect();
        assert_eq!(fast, reference, "engine != reference on {v}");
        total_hits += fast.len();
        firing_events += usize::from(!fast.is_empty());
    }
    for (i, r) in rules.iter().enumerate().filter(|(i, _)| i % 9 == 0) {
        let mut rng = Lcg(i as u64);
        let e = JsonEvent::new(Value::Object(event_for(r, &mut rng)));
        self_hits += usize::from(engine.matches(&e).contains(&i));
    }
    println!(
        "{} synthetic events, {firing_events} fire at least one rule, {total_hits} hits; \
         {self_hits} of {} generated events fire their own rule",
        events.len(),
        rules.len().div_ceil(9)
    );
    // The generator is good enough to exercise the positive path, not only misses. (Every event
    // fires something: zeek_rdp_public_listener is `not selection`, true when its fields are absent.)
    assert!(
        firing_events * 2 > events.len(),
        "too few synthetic events fire"
    );
    assert!(
        self_hits * 2 > rules.len().div_ceil(9),
        "too few generated events fire their own rule: {self_hits}"
    );
}
