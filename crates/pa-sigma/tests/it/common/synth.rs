//! Synthetic events derived from compiled rules' own patterns, then mutated (case changes,
//! dropped fields, altered characters, events merged): many rules fire on them, and many nearly do.

use pa_sigma::*;
use serde_json::{Map, Value, json};

/// A small deterministic generator.
pub struct Lcg(pub u64);

impl Lcg {
    /// Next value.
    pub fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    /// A value in `0..n`.
    pub fn pick(&mut self, n: usize) -> usize {
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

/// An event built to satisfy the positive selections of `rule`.
pub fn event_for(rule: &CompiledRule, rng: &mut Lcg) -> Map<String, Value> {
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

/// A mutated copy of `ev` (`how` in 0..3).
pub fn mutate(ev: &Map<String, Value>, how: usize, rng: &mut Lcg) -> Map<String, Value> {
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

/// For every `step`-th rule: a mutated event, the event merged with the previous one, and the
/// event.
pub fn synthetic_events(rules: &[CompiledRule], step: usize) -> Vec<Value> {
    labelled_synthetic_events(rules, step)
        .into_iter()
        .map(|(_, v)| v)
        .collect()
}

/// [`synthetic_events`], each labelled `syn:<rule id or index>:<mutated|merged|plain>`.
pub fn labelled_synthetic_events(rules: &[CompiledRule], step: usize) -> Vec<(String, Value)> {
    let mut rng = Lcg(0x5eed);
    let mut events = Vec::new();
    let mut prev: Option<Map<String, Value>> = None;
    for (i, r) in rules.iter().enumerate() {
        if i % step.max(1) != 0 {
            continue;
        }
        let name = r.id.clone().unwrap_or_else(|| i.to_string());
        let ev = event_for(r, &mut rng);
        events.push((
            format!("syn:{name}:mutated"),
            Value::Object(mutate(&ev, rng.pick(3), &mut rng)),
        ));
        if let Some(p) = &prev {
            let mut merged = p.clone();
            merged.extend(ev.clone());
            events.push((format!("syn:{name}:merged"), Value::Object(merged)));
        }
        events.push((format!("syn:{name}:plain"), Value::Object(ev.clone())));
        prev = Some(ev);
    }
    events
}
