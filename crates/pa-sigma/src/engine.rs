//! The fast matcher: per event key one case-folded Aho-Corasick automaton over every literal of
//! every rule, one `RegexSet` per key for regexes and wildcard patterns, values folded once per
//! event, and a rule's condition evaluated only when one of its indexed matchers fired (or when
//! its condition can hold without any, e.g. through `not` or `null`).

use crate::compile::{CompiledItem, CompiledRule};
use crate::condition::Cond;
use crate::event::{Event, FieldValue};
use crate::matcher::{Matcher, StrKind, fold};
use aho_corasick::{AhoCorasick, MatchKind};
use memchr::memmem;
use regex::RegexSet;
use std::collections::BTreeMap;

/// Literal needles of one key (or of keywords) for one case mode.
#[derive(Default)]
struct LitIndex {
    /// Distinct needles.
    needles: Vec<String>,
    /// Per needle: the atoms (and their placement) using it.
    users: Vec<Vec<(u32, StrKind)>>,
    ac: Option<AhoCorasick>,
    single: Option<memmem::Finder<'static>>,
    /// Atoms with an empty needle.
    empty: Vec<(u32, StrKind)>,
}

impl LitIndex {
    fn add(&mut self, map: &mut BTreeMap<String, usize>, needle: &str, atom: u32, kind: StrKind) {
        if needle.is_empty() {
            self.empty.push((atom, kind));
            return;
        }
        let id = *map.entry(needle.to_owned()).or_insert_with(|| {
            self.needles.push(needle.to_owned());
            self.users.push(Vec::new());
            self.needles.len() - 1
        });
        self.users[id].push((atom, kind));
    }

    fn build(&mut self) -> Result<(), String> {
        if self.needles.len() == 1 {
            self.single = Some(memmem::Finder::new(self.needles[0].as_bytes()).into_owned());
        } else if self.needles.len() > 1 {
            self.ac = Some(
                AhoCorasick::builder()
                    .match_kind(MatchKind::Standard)
                    .build(&self.needles)
                    .map_err(|e| format!("cannot build literal automaton: {e}"))?,
            );
        }
        Ok(())
    }

    fn scan(&self, hay: &str, bits: &mut Bits) {
        for (atom, kind) in &self.empty {
            if *kind != StrKind::Exact || hay.is_empty() {
                bits.set(*atom);
            }
        }
        let mark = |id: usize, start: usize, end: usize, bits: &mut Bits| {
            for (atom, kind) in &self.users[id] {
                let ok = match kind {
                    StrKind::Contains => true,
                    StrKind::Starts => start == 0,
                    StrKind::Ends => end == hay.len(),
                    StrKind::Exact => start == 0 && end == hay.len(),
                };
                if ok {
                    bits.set(*atom);
                }
            }
        };
        if let Some(f) = &self.single {
            let n = self.needles[0].as_str();
            if f.find(hay.as_bytes()).is_some() {
                mark(0, 1, usize::MAX, bits);
                if hay.starts_with(n) {
                    mark(0, 0, usize::MAX, bits);
                }
                if hay.ends_with(n) {
                    mark(0, 1, hay.len(), bits);
                }
                if hay == n {
                    mark(0, 0, hay.len(), bits);
                }
            }
        } else if let Some(ac) = &self.ac {
            for m in ac.find_overlapping_iter(hay) {
                mark(m.pattern().as_usize(), m.start(), m.end(), bits);
            }
        }
    }
}

/// Regexes over one text form (raw or folded).
#[derive(Default)]
struct ReIndex {
    patterns: Vec<String>,
    atoms: Vec<u32>,
    set: Option<RegexSet>,
    /// Used when the set cannot be built (size limits): each regex on its own.
    singles: Vec<(regex::Regex, u32)>,
}

impl ReIndex {
    fn add(&mut self, re: &regex::Regex, atom: u32) {
        self.patterns.push(re.as_str().to_owned());
        self.atoms.push(atom);
        self.singles.push((re.clone(), atom));
    }
    fn build(&mut self) {
        if self.patterns.len() > 1 {
            if let Ok(set) = regex::RegexSetBuilder::new(&self.patterns)
                .size_limit(64 << 20)
                .build()
            {
                self.set = Some(set);
                self.singles.clear();
            }
        }
    }
    fn scan(&self, hay: &str, bits: &mut Bits) {
        if let Some(set) = &self.set {
            for i in set.matches(hay).iter() {
                bits.set(self.atoms[i]);
            }
        } else {
            for (re, atom) in &self.singles {
                if re.is_match(hay) {
                    bits.set(*atom);
                }
            }
        }
    }
    fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }
}

/// Everything indexed for one key (or for keywords).
#[derive(Default)]
struct KeyIndex {
    folded: LitIndex,
    cased: LitIndex,
    glob_folded: ReIndex,
    glob_cased: ReIndex,
    re: ReIndex,
    any: Vec<u32>,
    folded_map: BTreeMap<String, usize>,
    cased_map: BTreeMap<String, usize>,
}

impl KeyIndex {
    fn add(&mut self, m: &Matcher, atom: u32) {
        match m {
            Matcher::Lit {
                kind,
                needle,
                cased: false,
            } => self.folded.add(&mut self.folded_map, needle, atom, *kind),
            Matcher::Lit {
                kind,
                needle,
                cased: true,
            } => self.cased.add(&mut self.cased_map, needle, atom, *kind),
            Matcher::Glob {
                regex,
                cased: false,
                ..
            } => self.glob_folded.add(regex, atom),
            Matcher::Glob {
                regex, cased: true, ..
            } => self.glob_cased.add(regex, atom),
            Matcher::Re { regex } => self.re.add(regex, atom),
            Matcher::Any => self.any.push(atom),
            _ => {}
        }
    }
    fn build(&mut self) -> Result<(), String> {
        self.folded.build()?;
        self.cased.build()?;
        self.glob_folded.build();
        self.glob_cased.build();
        self.re.build();
        self.folded_map.clear();
        self.cased_map.clear();
        Ok(())
    }
    fn needs_fold(&self) -> bool {
        !self.folded.needles.is_empty()
            || !self.folded.empty.is_empty()
            || !self.glob_folded.is_empty()
    }
    fn scan(&self, raw: &str, bits: &mut Bits) {
        for a in &self.any {
            bits.set(*a);
        }
        if self.needs_fold() {
            let f = fold(raw);
            self.folded.scan(&f, bits);
            self.glob_folded.scan(&f, bits);
        }
        self.cased.scan(raw, bits);
        self.glob_cased.scan(raw, bits);
        self.re.scan(raw, bits);
    }
}

/// A small bitset of fired atoms.
struct Bits {
    words: Vec<u64>,
    any: bool,
}

impl Bits {
    fn new(n: usize) -> Bits {
        Bits {
            words: vec![0; n.div_ceil(64)],
            any: false,
        }
    }
    fn set(&mut self, i: u32) {
        let i = i as usize;
        self.words[i / 64] |= 1 << (i % 64);
        self.any = true;
    }
    fn get(&self, i: u32) -> bool {
        let i = i as usize;
        self.words[i / 64] & (1 << (i % 64)) != 0
    }
}

/// The compiled rule set, indexed for speed.
pub struct Engine {
    rules: Vec<CompiledRule>,
    keys: Vec<(String, KeyIndex)>,
    keywords: Option<KeyIndex>,
    /// Per rule, per matcher ordinal: its atom, if indexed.
    atom_of: Vec<Vec<Option<u32>>>,
    /// Atom → rule index.
    atom_rule: Vec<u32>,
    /// Rules whose condition can hold without any indexed matcher firing.
    always: Vec<bool>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("rules", &self.rules.len())
            .field("keys", &self.keys.len())
            .field("atoms", &self.atom_rule.len())
            .finish()
    }
}

/// Engine construction failed (only possible on automaton size limits).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot build the matcher: {0}")]
pub struct EngineError(pub String);

fn item_requires_atom(it: &CompiledItem) -> bool {
    !it.neq
        && !it.groups.is_empty()
        && it
            .groups
            .iter()
            .all(|g| !g.is_empty() && g.iter().all(|(_, m)| m.is_indexed()))
}

fn cond_requires(c: &Cond, sel_req: &[bool]) -> bool {
    match c {
        Cond::Sel { index } => sel_req[*index],
        Cond::AtLeast { n, of } => of.iter().filter(|i| !sel_req[**i]).count() < *n,
        Cond::Not { .. } => false,
        Cond::And { args } => args.iter().any(|a| cond_requires(a, sel_req)),
        Cond::Or { args } => args.iter().all(|a| cond_requires(a, sel_req)),
    }
}

impl Engine {
    /// Index the rules. Rule indices in results refer to positions in `rules`.
    pub fn new(rules: Vec<CompiledRule>) -> Result<Engine, EngineError> {
        let mut keys: BTreeMap<String, KeyIndex> = BTreeMap::new();
        let mut keywords = KeyIndex::default();
        let mut atom_of = Vec::with_capacity(rules.len());
        let mut atom_rule = Vec::new();
        let mut always = Vec::with_capacity(rules.len());
        for (ri, rule) in rules.iter().enumerate() {
            let mut slots = vec![None; rule.matcher_count];
            let mut sel_req = Vec::with_capacity(rule.selections.len());
            for sel in &rule.selections {
                let mut all_branches_req = !sel.branches.is_empty();
                for b in &sel.branches {
                    let mut branch_req = false;
                    for it in b {
                        branch_req |= item_requires_atom(it);
                        for g in &it.groups {
                            for (ord, m) in g {
                                if !m.is_indexed() {
                                    continue;
                                }
                                let atom = u32::try_from(atom_rule.len())
                                    .map_err(|_| EngineError("too many matchers".into()))?;
                                atom_rule.push(ri as u32);
                                if let Some(slot) = slots.get_mut(*ord) {
                                    *slot = Some(atom);
                                }
                                match &it.key {
                                    Some(k) => keys.entry(k.clone()).or_default().add(m, atom),
                                    None => keywords.add(m, atom),
                                }
                            }
                        }
                    }
                    all_branches_req &= branch_req;
                }
                sel_req.push(all_branches_req);
            }
            always.push(!cond_requires(&rule.condition, &sel_req));
            atom_of.push(slots);
        }
        let mut keys: Vec<(String, KeyIndex)> = keys.into_iter().collect();
        for (_, k) in &mut keys {
            k.build().map_err(EngineError)?;
        }
        keywords.build().map_err(EngineError)?;
        let has_kw = !keywords.folded.needles.is_empty()
            || !keywords.folded.empty.is_empty()
            || !keywords.cased.needles.is_empty()
            || !keywords.cased.empty.is_empty()
            || !keywords.glob_folded.is_empty()
            || !keywords.glob_cased.is_empty()
            || !keywords.re.is_empty()
            || !keywords.any.is_empty();
        Ok(Engine {
            rules,
            keys,
            keywords: has_kw.then_some(keywords),
            atom_of,
            atom_rule,
            always,
        })
    }

    /// The rules, in index order.
    pub fn rules(&self) -> &[CompiledRule] {
        &self.rules
    }

    /// Number of distinct event keys the engine looks up per event.
    pub fn key_count(&self) -> usize {
        self.keys.len()
    }

    /// Number of rules evaluated on every event regardless of literal hits.
    pub fn always_evaluated(&self) -> usize {
        self.always.iter().filter(|b| **b).count()
    }

    /// Indices (ascending) of the rules that match the event.
    pub fn matches(&self, event: &dyn Event) -> Vec<usize> {
        let mut bits = Bits::new(self.atom_rule.len());
        let mut vals: Vec<FieldValue<'_>> = Vec::new();
        for (key, idx) in &self.keys {
            vals.clear();
            event.values(key, &mut vals);
            for v in &vals {
                if let Some(t) = v.text() {
                    idx.scan(&t, &mut bits);
                }
            }
        }
        if let Some(kw) = &self.keywords {
            event.for_each_string(&mut |s| kw.scan(s, &mut bits));
        }
        let mut candidate = self.always.clone();
        if bits.any {
            for (wi, w) in bits.words.iter().enumerate() {
                let mut w = *w;
                while w != 0 {
                    let b = w.trailing_zeros() as usize;
                    w &= w - 1;
                    let atom = wi * 64 + b;
                    if let Some(r) = self.atom_rule.get(atom) {
                        candidate[*r as usize] = true;
                    }
                }
            }
        }
        let mut out = Vec::new();
        for (ri, c) in candidate.iter().enumerate() {
            if !*c {
                continue;
            }
            let slots = &self.atom_of[ri];
            let mut oracle = |ord: usize| slots.get(ord).copied().flatten().map(|a| bits.get(a));
            if self.rules[ri].eval_with(event, &mut oracle) {
                out.push(ri);
            }
        }
        out
    }
}
