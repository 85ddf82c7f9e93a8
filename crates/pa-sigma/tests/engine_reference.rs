//! The fast engine must give exactly the reference evaluator's results. Events are synthesized
//! from the corpus rules' own patterns (so that many rules fire), then mutated (case changes,
//! dropped fields, altered characters, events merged), and every rule is evaluated both ways.

mod common;

use pa_sigma::*;
use serde_json::{Map, Value, json};

struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn pick(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn unglob(source: &str) -> String {
    let mut out = String::new();
    let mut chars = source.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            '*' => out.push_str("ab"),
            '?' => out.push('c'),
            c => out.push(c),
        }
    }
    out
}

fn sample(m: &Matcher, rng: &mut Lcg) -> Option<Value> {
    Some(match m {
        Matcher::Lit { kind, needle, .. } => Value::String(match kind {
            StrKind::Exact => needle.clone(),
            StrKind::Starts => format!("{needle}tail"),
            StrKind::Ends => format!("head{needle}"),
            StrKind::Contains => format!("h {needle} t"),
        }),
        Matcher::Glob { source, .. } => Value::String(unglob(source)),
        Matcher::Any => json!("anything"),
        Matcher::Re { .. } => json!("x"),
        Matcher::Cidr { net, .. } => Value::String(match net {
            IpNet::V4(n, _) => std::net::Ipv4Addr::from(n | 1).to_string(),
            IpNet::V6(n, _) => std::net::Ipv6Addr::from(n | 1).to_string(),
        }),
        Matcher::Num { op, value } => {
            let v = match op {
                NumOp::Gt | NumOp::Gte => value + 1.0,
                NumOp::Lt | NumOp::Lte => value - 1.0,
            };
            if rng.pick(2) == 0 {
                json!(v)
            } else {
                Value::String(v.to_string())
            }
        }
        Matcher::Time { .. } => json!("2025-11-27T23:40:10Z"),
        Matcher::Exists(true) => json!("present"),
        Matcher::Exists(false) | Matcher::Null | Matcher::FieldRef { .. } => return None,
    })
}

fn event_for(rule: &CompiledRule, rng: &mut Lcg) -> Map<String, Value> {
    let mut ev = Map::new();
    for sel in &rule.selections {
        if sel.name.starts_with("filter") || sel.name.starts_with('#') {
            continue;
        }
        let Some(branch) = sel.branches.get(rng.pick(sel.branches.len())) else {
            continue;
        };
        for it in branch {
            let mut parts = Vec::new();
            for g in &it.groups {
                if let Some((_, m)) = g.get(rng.pick(g.len())) {
                    if let Some(v) = sample(m, rng) {
                        parts.push(v);
                    }
                }
                if !it.all {
                    break;
                }
            }
            let value = if parts.len() == 1 {
                parts.remove(0)
            } else if parts.is_empty() {
                continue;
            } else {
                Value::String(
                    parts
                        .iter()
                        .map(|p| p.as_str().map_or_else(|| p.to_string(), str::to_owned))
                        .collect::<Vec<_>>()
                        .join(" "),
                )
            };
            let key = it.key.clone().unwrap_or_else(|| "message".into());
            ev.insert(key, value);
        }
    }
    ev
}

fn mutate(ev: &Map<String, Value>, how: usize, rng: &mut Lcg) -> Map<String, Value> {
    let mut out = ev.clone();
    let keys: Vec<String> = out.keys().cloned().collect();
    match how {
        0 => {
            for v in out.values_mut() {
                if let Value::String(s) = v {
                    *s = s.to_uppercase();
                }
            }
        }
        1 => {
            if !keys.is_empty() {
                out.remove(&keys[rng.pick(keys.len())]);
            }
        }
        _ => {
            for v in out.values_mut() {
                if let Value::String(s) = v {
                    let chars: Vec<char> = s.chars().collect();
                    if !chars.is_empty() {
                        let i = rng.pick(chars.len());
                        *s = chars
                            .iter()
                            .enumerate()
                            .map(|(j, c)| if j == i { 'Z' } else { *c })
                            .collect();
                    }
                }
            }
        }
    }
    out
}

#[test]
fn engine_equals_reference_on_synthetic_events() {
    let set = load_paths(&common::positive_rule_dirs());
    let compiled = compile_ruleset(&set, &IdentityResolver, &CompileOptions::default());
    let rules = compiled.rules;
    assert!(rules.len() > 3000);
    let engine = Engine::new(rules.clone()).expect("engine");
    let mut rng = Lcg(0x5eed);
    let mut events = Vec::new();
    let mut prev: Option<Map<String, Value>> = None;
    for (i, r) in rules.iter().enumerate() {
        if i % 9 != 0 {
            continue;
        }
        let ev = event_for(r, &mut rng);
        events.push(Value::Object(mutate(&ev, rng.pick(3), &mut rng)));
        if let Some(p) = &prev {
            let mut merged = p.clone();
            merged.extend(ev.clone());
            events.push(Value::Object(merged));
        }
        events.push(Value::Object(ev.clone()));
        prev = Some(ev);
    }
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
