//! The fast matcher: per event key one case-folded Aho-Corasick automaton (or a `memmem` finder
//! when there is a single needle) over every literal of every rule, wildcard patterns verified
//! only after their longest literal was seen, values folded once per event, and a rule's
//! condition evaluated only when one of its indexed matchers fired (or when its condition can
//! hold without any, e.g. through `not` or `null`).
//!
//! [`index`] holds the literal index of one key and the bitset of fired atoms; [`prereq`] the
//! prerequisite analysis done once when the engine is built.

mod index;
mod keywords;
mod prereq;

use crate::compile::CompiledRule;
use crate::event::{Event, FieldValue};
use crate::matcher::{Matcher, StrKind};
use index::{Bits, KeyIndex};
pub use keywords::KeywordLiterals;
use prereq::{engine_indexed, regex_prerequisites, rule_cnf};
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

/// A word-at-a-time multiplicative hasher (the Fx scheme) for the trigger map (hashed once per
/// hint name) and the scan memo (hashed once per value), where SipHash showed in profiles.
/// Trigger keys come from the rules; memo entries are compared in full and bounded, so hash
/// flooding can cost time at worst, never a wrong answer. Public for callers that key maps by
/// event field names in their own hot paths (`BuildHasherDefault<WordHash>`).
#[derive(Default, Clone, Copy)]
pub struct WordHash(u64);

impl WordHash {
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for WordHash {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 59));
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
}

/// Per-thread buffers reused across events (no allocation per event in the steady state).
/// Invariant between calls: `words`, `clause_hit`, `rule_hits` and `present` are all zero/false.
#[derive(Default)]
struct Scratch {
    /// `true` while a call is using the buffers; found set at the start of a call only if an
    /// earlier call unwound, in which case everything is cleared.
    busy: bool,
    words: Vec<u64>,
    set: Vec<u32>,
    clause_hit: Vec<bool>,
    /// The clauses set in `clause_hit` by this call (to clear them after).
    hit_clauses: Vec<u32>,
    rule_hits: Vec<u32>,
    touched: Vec<u32>,
    present: Vec<bool>,
    present_list: Vec<u32>,
    verify: Vec<usize>,
    fold: String,
    candidates: Vec<u32>,
    memo: Memo,
    /// Keyword search: an event's strings end to end, their bounds, the candidate rows.
    kw_text: String,
    kw_bounds: Vec<usize>,
    kw_rows: Vec<u32>,
}

impl Scratch {
    fn prepare(&mut self, atoms: usize, clauses: usize, rules: usize, keys: usize) {
        if self.busy {
            self.words.iter_mut().for_each(|w| *w = 0);
            self.clause_hit.iter_mut().for_each(|c| *c = false);
            self.rule_hits.iter_mut().for_each(|c| *c = 0);
            self.present.iter_mut().for_each(|c| *c = false);
        }
        self.busy = true;
        self.set.clear();
        self.hit_clauses.clear();
        self.touched.clear();
        self.present_list.clear();
        self.candidates.clear();
        let words = atoms.div_ceil(64);
        if self.words.len() < words {
            self.words.resize(words, 0);
        }
        if self.clause_hit.len() < clauses {
            self.clause_hit.resize(clauses, false);
        }
        if self.rule_hits.len() < rules {
            self.rule_hits.resize(rules, 0);
        }
        if self.present.len() < keys {
            self.present.resize(keys, false);
        }
    }
}

/// Scan results of key values within one caller scope (a batch): (engine, key, text) -> the
/// atoms the text fires. Texts are compared in full; memory is bounded (cleared when full).
#[derive(Default)]
struct Memo {
    scope: u64,
    /// Hash of (engine, key, text) -> first entry with that hash.
    heads: HashMap<u64, u32, BuildHasherDefault<WordHash>>,
    entries: Vec<MemoEntry>,
    atoms: Vec<u32>,
    bytes: usize,
}

struct MemoEntry {
    engine: u64,
    key: u32,
    text: Box<str>,
    atoms: (u32, u32),
    /// Next entry with the same hash (`u32::MAX`: none).
    next: u32,
}

/// The keyword search buffer is freed after an event whose strings needed more than this.
const KW_TEXT_KEEP: usize = 1 << 20;

/// Memo bounds: text bytes and entries kept per thread before everything is dropped.
const MEMO_MAX_BYTES: usize = 8 << 20;
const MEMO_MAX_ENTRIES: usize = 1 << 17;
/// Longer texts are scanned every time (rarely repeated, and they would fill the memo).
const MEMO_MAX_TEXT: usize = 4096;

fn memo_hash(engine: u64, key: u32, text: &str) -> u64 {
    let mut h = WordHash::default();
    h.write_u64(engine);
    h.write_u32(key);
    h.write(text.as_bytes());
    h.finish()
}

impl Memo {
    fn enter(&mut self, scope: u64) {
        if self.scope != scope
            || self.bytes > MEMO_MAX_BYTES
            || self.entries.len() > MEMO_MAX_ENTRIES
        {
            self.heads.clear();
            self.entries.clear();
            self.atoms.clear();
            self.bytes = 0;
            self.scope = scope;
        }
    }

    fn get(&self, hash: u64, engine: u64, key: u32, text: &str) -> Option<&[u32]> {
        let mut at = *self.heads.get(&hash)?;
        while let Some(e) = self.entries.get(at as usize) {
            if e.engine == engine && e.key == key && &*e.text == text {
                return self.atoms.get(e.atoms.0 as usize..e.atoms.1 as usize);
            }
            at = e.next;
        }
        None
    }

    fn put(&mut self, hash: u64, engine: u64, key: u32, text: &str, atoms: &[u32]) {
        let (Ok(id), Ok(lo), Ok(hi)) = (
            u32::try_from(self.entries.len()),
            u32::try_from(self.atoms.len()),
            u32::try_from(self.atoms.len() + atoms.len()),
        ) else {
            return;
        };
        self.atoms.extend_from_slice(atoms);
        let next = self.heads.insert(hash, id).unwrap_or(u32::MAX);
        self.bytes += text.len() + 4 * atoms.len() + 48;
        self.entries.push(MemoEntry {
            engine,
            key,
            text: text.into(),
            atoms: (lo, hi),
            next,
        });
    }
}

/// Source of engine ids (memo entries are per engine) and of memo scopes.
static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

fn next_id() -> u64 {
    NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

/// Run `f` with this thread's scratch buffers; re-entered on the thread (an `Event` that runs an
/// engine), with fresh ones.
fn with_scratch<R>(f: impl FnOnce(&mut Scratch) -> R) -> R {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut s) => f(&mut s),
        Err(_) => f(&mut Scratch::default()),
    })
}

/// The compiled rule set, indexed for speed.
pub struct Engine {
    rules: Vec<CompiledRule>,
    keys: Vec<(String, KeyIndex)>,
    keywords: Option<KeyIndex>,
    /// Hint name → indices into `keys` it may make present (see [`Event::for_each_key_hint`]).
    triggers: HashMap<String, Vec<usize>, BuildHasherDefault<WordHash>>,
    /// Per rule, per matcher ordinal: its atom, if indexed.
    atom_of: Vec<Vec<Option<u32>>>,
    /// Number of atoms.
    atoms: usize,
    /// Atom → the prerequisite clauses it satisfies (`clause_start[a]..clause_start[a + 1]`
    /// into `atom_clauses`).
    clause_start: Vec<u32>,
    atom_clauses: Vec<u32>,
    /// Clause → its rule.
    clause_rule: Vec<u32>,
    /// Per rule: how many clauses must have a fired atom before its condition is evaluated.
    required: Vec<u32>,
    /// Rules without prerequisite clauses, ascending: evaluated on every event.
    always: Vec<u32>,
    /// Unique id of this engine (memo entries are per engine).
    id: u64,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("rules", &self.rules.len())
            .field("keys", &self.keys.len())
            .field("atoms", &self.atoms)
            .field("clauses", &self.clause_rule.len())
            .field("always", &self.always.len())
            .finish()
    }
}

/// Engine construction failed (only possible on automaton size limits).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot build the matcher: {0}")]
pub struct EngineError(pub String);

/// The next atom id (`atoms` counts them), with its empty list of prerequisite clauses.
fn new_atom(atoms: &mut u32, clauses_of_atom: &mut Vec<Vec<u32>>) -> Result<u32, EngineError> {
    let atom = *atoms;
    *atoms = atoms
        .checked_add(1)
        .ok_or_else(|| EngineError("too many matchers".into()))?;
    clauses_of_atom.push(Vec::new());
    Ok(atom)
}

impl Engine {
    /// Index the rules. Rule indices in results refer to positions in `rules`.
    pub fn new(rules: Vec<CompiledRule>) -> Result<Engine, EngineError> {
        let mut keys: BTreeMap<String, KeyIndex> = BTreeMap::new();
        let mut keywords = KeyIndex::default();
        let mut atom_of = Vec::with_capacity(rules.len());
        let mut atoms: u32 = 0;
        let mut clauses_of_atom: Vec<Vec<u32>> = Vec::new();
        let mut clause_rule = Vec::new();
        let mut required = Vec::with_capacity(rules.len());
        let mut always = Vec::new();
        for (ri, rule) in rules.iter().enumerate() {
            let mut slots = vec![None; rule.matcher_count];
            // `re` matchers: atoms of their literal prerequisites (no answers of their own)
            let mut pre: Vec<Option<Vec<u32>>> = vec![None; rule.matcher_count];
            for sel in &rule.selections {
                for b in &sel.branches {
                    for it in b {
                        for g in &it.groups {
                            for (ord, m) in g {
                                if let (Matcher::Re { regex }, Some(k)) = (m, &it.key) {
                                    let Some(lits) = regex_prerequisites(regex.as_str()) else {
                                        continue;
                                    };
                                    let mut ids = Vec::with_capacity(lits.len());
                                    for needle in lits {
                                        let atom = new_atom(&mut atoms, &mut clauses_of_atom)?;
                                        let lit = Matcher::Lit {
                                            kind: StrKind::Contains,
                                            needle,
                                            cased: false,
                                        };
                                        keys.entry(k.clone()).or_default().add(&lit, atom);
                                        ids.push(atom);
                                    }
                                    if let Some(p) = pre.get_mut(*ord) {
                                        *p = Some(ids);
                                    }
                                    continue;
                                }
                                if !engine_indexed(m) {
                                    continue;
                                }
                                let atom = new_atom(&mut atoms, &mut clauses_of_atom)?;
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
                }
            }
            let ri = u32::try_from(ri).map_err(|_| EngineError("too many rules".into()))?;
            let cnf = rule_cnf(rule, &slots, &pre);
            if cnf.is_empty() {
                always.push(ri);
            }
            required.push(cnf.len() as u32);
            for clause in cnf {
                let id = u32::try_from(clause_rule.len())
                    .map_err(|_| EngineError("too many clauses".into()))?;
                clause_rule.push(ri);
                for a in clause {
                    clauses_of_atom[a as usize].push(id);
                }
            }
            atom_of.push(slots);
        }
        let mut clause_start = Vec::with_capacity(clauses_of_atom.len() + 1);
        let mut atom_clauses = Vec::new();
        clause_start.push(0u32);
        for c in clauses_of_atom {
            atom_clauses.extend(c);
            clause_start.push(
                u32::try_from(atom_clauses.len())
                    .map_err(|_| EngineError("too many clause entries".into()))?,
            );
        }
        let mut keys: Vec<(String, KeyIndex)> = keys.into_iter().collect();
        let mut triggers: HashMap<String, Vec<usize>, BuildHasherDefault<WordHash>> =
            HashMap::default();
        for (i, (k, _)) in keys.iter().enumerate() {
            let mut names = vec![k.as_str()];
            names.extend(k.split_once('.').map(|(a, _)| a));
            names.extend(k.split_once('_').map(|(a, _)| a));
            names.sort_unstable();
            names.dedup();
            for n in names {
                triggers.entry(n.to_owned()).or_default().push(i);
            }
        }
        for (_, k) in &mut keys {
            k.build().map_err(EngineError)?;
        }
        keywords.build().map_err(EngineError)?;
        keywords.build_quick().map_err(EngineError)?;
        let has_kw = !keywords.is_empty();
        Ok(Engine {
            rules,
            keys,
            keywords: has_kw.then_some(keywords),
            triggers,
            atom_of,
            atoms: atoms as usize,
            clause_start,
            atom_clauses,
            clause_rule,
            required,
            always,
            id: next_id(),
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

    /// The event keys the engine looks up, by index (ascending bytewise); the indices are those
    /// [`Engine::matches_among`] takes.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.keys.iter().map(|(k, _)| k.as_str())
    }

    /// Number of rules evaluated on every event regardless of literal hits.
    pub fn always_evaluated(&self) -> usize {
        self.always.len()
    }

    /// The rules evaluated on every event (indices into [`Engine::rules`]): no literal of
    /// theirs is a prerequisite.
    pub fn always_evaluated_rules(&self) -> impl Iterator<Item = &CompiledRule> + '_ {
        self.always.iter().map(|&i| &self.rules[i as usize])
    }

    /// Indices (ascending) of the rules that match the event.
    pub fn matches(&self, event: &dyn Event) -> Vec<usize> {
        self.run(event, None, None)
    }

    /// As [`Engine::matches`], with the caller naming the keys (indices into [`Engine::keys`],
    /// any order, repeats and out-of-range indices ignored) that may have values on this event:
    /// a key not yielded is promised to have none and is not looked up. For callers that
    /// resolved the keys against their storage once (a columnar batch) instead of per event.
    ///
    /// With `scope` (an id from [`Engine::new_scope`], one per batch), the literal scan of a
    /// key's text is remembered on this thread and reused for the same text of the same key
    /// while the scope lasts (texts compared in full, memory bounded): repeated values (images,
    /// users, hosts) are scanned once per batch. Results do not depend on it.
    pub fn matches_among(
        &self,
        event: &dyn Event,
        keys: &mut dyn Iterator<Item = usize>,
        scope: Option<u64>,
    ) -> Vec<usize> {
        self.run(event, Some(keys), scope)
    }

    /// [`Engine::matches_among`] with some keys already scanned by the caller: `fired` holds
    /// the atoms their values fire ([`Engine::key_atoms`]), and `keys` names only the keys
    /// still to scan. The same answers as scanning every key here; a caller evaluating a
    /// batch column by column scans each distinct value of a key once, with that key's
    /// automaton hot in cache, instead of switching automata on every row.
    ///
    /// With `keywords_scanned`, `fired` also holds every keyword atom the event's strings fire
    /// ([`Engine::keyword_atoms`] over each string that may fire one, see
    /// [`Engine::keyword_literals`]) and the event's strings are not walked here.
    pub fn matches_with_fired(
        &self,
        event: &dyn Event,
        keys: &mut dyn Iterator<Item = usize>,
        fired: &[u32],
        scope: Option<u64>,
        keywords_scanned: bool,
    ) -> Vec<usize> {
        with_scratch(|s| self.run_with(event, Some(keys), fired, scope, keywords_scanned, s))
    }

    /// The atoms `text` fires as a value of key `key` (index into [`Engine::keys`]), for
    /// [`Engine::matches_with_fired`]; empty for an unknown key.
    pub fn key_atoms(&self, key: usize, text: &str, out: &mut Vec<u32>) {
        if let Some((_, idx)) = self.keys.get(key) {
            self.index_atoms(idx, text, out);
        }
    }

    /// The atoms `text` fires in index `idx` of this engine (appended to `out`).
    fn index_atoms(&self, idx: &KeyIndex, text: &str, out: &mut Vec<u32>) {
        with_scratch(|s| {
            self.prepare(s);
            let Scratch {
                words,
                set,
                verify,
                fold,
                ..
            } = s;
            let mut bits = Bits {
                words: &mut words[..],
                set,
            };
            idx.scan(text, &mut bits, verify, fold);
            for &a in bits.set.iter() {
                bits.words[a as usize / 64] = 0;
            }
            out.extend_from_slice(bits.set);
            bits.set.clear();
            s.busy = false;
        })
    }

    /// The prerequisite clauses atom `a` belongs to.
    fn clauses_of(&self, a: u32) -> &[u32] {
        let a = a as usize;
        &self.atom_clauses[self.clause_start[a] as usize..self.clause_start[a + 1] as usize]
    }

    /// Size the scratch buffers for this engine (they are shared by every engine of a thread).
    fn prepare(&self, s: &mut Scratch) {
        s.prepare(
            self.atoms,
            self.clause_rule.len(),
            self.rules.len(),
            self.keys.len(),
        );
    }

    /// A fresh memo scope id for [`Engine::matches_among`] (process-wide unique).
    pub fn new_scope() -> u64 {
        next_id()
    }

    fn run(
        &self,
        event: &dyn Event,
        present: Option<&mut dyn Iterator<Item = usize>>,
        scope: Option<u64>,
    ) -> Vec<usize> {
        with_scratch(|s| self.run_with(event, present, &[], scope, false, s))
    }

    fn run_with(
        &self,
        event: &dyn Event,
        present: Option<&mut dyn Iterator<Item = usize>>,
        fired: &[u32],
        scope: Option<u64>,
        keywords_scanned: bool,
        s: &mut Scratch,
    ) -> Vec<usize> {
        self.prepare(s);
        let Scratch {
            words,
            set,
            clause_hit,
            hit_clauses,
            rule_hits,
            touched,
            present: present_mask,
            present_list,
            verify,
            fold,
            candidates,
            memo,
            kw_text,
            kw_bounds,
            kw_rows,
            ..
        } = s;
        if let Some(sc) = scope {
            memo.enter(sc);
        }
        // 1. Which keys to look up.
        let all_keys = match present {
            Some(keys) => {
                let n = self.keys.len();
                present_list.extend(keys.filter(|&i| i < n).map(|i| i as u32));
                present_list.sort_unstable();
                present_list.dedup();
                false
            }
            None => {
                let hinted = event.for_each_key_hint(&mut |name| {
                    if let Some(list) = self.triggers.get(name) {
                        for &i in list {
                            if !present_mask[i] {
                                present_mask[i] = true;
                                present_list.push(i as u32);
                            }
                        }
                    }
                });
                for &i in present_list.iter() {
                    present_mask[i as usize] = false;
                }
                if hinted {
                    present_list.sort_unstable();
                } else {
                    present_list.clear();
                }
                !hinted
            }
        };
        // 2. Literal scan: fired atoms.
        let mut bits = Bits {
            words: &mut words[..],
            set,
        };
        for &a in fired {
            if (a as usize) < self.atoms {
                bits.set(a);
            }
        }
        let mut vals: Vec<FieldValue<'_>> = Vec::with_capacity(8);
        let mut scan_key = |i: usize, bits: &mut Bits<'_>| {
            let (key, idx) = &self.keys[i];
            vals.clear();
            event.values(key, &mut vals);
            // Atoms belong to one key, so while none of this key's has fired, the atoms a
            // scan adds are exactly those its text fires: that is what the memo keeps.
            let key_start = bits.set.len();
            for v in &vals {
                let Some(t) = v.text() else { continue };
                if scope.is_none() || t.len() > MEMO_MAX_TEXT || bits.set.len() != key_start {
                    idx.scan(&t, bits, verify, fold);
                    continue;
                }
                let h = memo_hash(self.id, i as u32, &t);
                if let Some(atoms) = memo.get(h, self.id, i as u32, &t) {
                    for &a in atoms {
                        bits.set(a);
                    }
                } else {
                    idx.scan(&t, bits, verify, fold);
                    memo.put(h, self.id, i as u32, &t, &bits.set[key_start..]);
                }
            }
        };
        if all_keys {
            for i in 0..self.keys.len() {
                scan_key(i, &mut bits);
            }
        } else {
            for &i in present_list.iter() {
                scan_key(i as usize, &mut bits);
            }
        }
        if let Some(kw) = self.keywords.as_ref().filter(|_| !keywords_scanned) {
            // The event's strings laid end to end and searched once for the needles; only
            // the strings that may fire are scanned (see `keyword_search`).
            kw_text.clear();
            kw_bounds.clear();
            kw_bounds.push(0);
            event.for_each_string(&mut |t| {
                kw_text.push_str(t);
                kw_bounds.push(kw_text.len());
            });
            kw_rows.clear();
            if kw.candidates(kw_text.as_bytes(), kw_bounds, kw_rows) {
                for &r in kw_rows.iter() {
                    let r = r as usize;
                    kw.scan(
                        &kw_text[kw_bounds[r]..kw_bounds[r + 1]],
                        &mut bits,
                        verify,
                        fold,
                    );
                }
            } else {
                for r in 0..kw_bounds.len() - 1 {
                    kw.scan(
                        &kw_text[kw_bounds[r]..kw_bounds[r + 1]],
                        &mut bits,
                        verify,
                        fold,
                    );
                }
            }
            if kw_text.capacity() > KW_TEXT_KEEP {
                *kw_text = String::new();
            }
        }
        // 3. Candidates: rules all of whose prerequisite clauses have a fired atom.
        for &a in bits.set.iter() {
            for &c in self.clauses_of(a) {
                let c = c as usize;
                if clause_hit[c] {
                    continue;
                }
                clause_hit[c] = true;
                hit_clauses.push(c as u32);
                let r = self.clause_rule[c] as usize;
                if rule_hits[r] == 0 {
                    touched.push(r as u32);
                }
                rule_hits[r] += 1;
                if rule_hits[r] == self.required[r] {
                    candidates.push(r as u32);
                }
            }
        }
        candidates.extend_from_slice(&self.always);
        candidates.sort_unstable();
        // 4. Conditions of the candidates, with the scan's answers as the oracle.
        let mut out = Vec::new();
        let fired = &bits;
        for &ri in candidates.iter() {
            let ri = ri as usize;
            let slots = &self.atom_of[ri];
            let mut oracle = |ord: usize| slots.get(ord).copied().flatten().map(|a| fired.get(a));
            if self.rules[ri].eval_with(event, &mut oracle, &mut vals) {
                out.push(ri);
            }
        }
        // 5. Restore the all-clear invariant.
        for &a in bits.set.iter() {
            bits.words[a as usize / 64] = 0;
        }
        for &r in touched.iter() {
            rule_hits[r as usize] = 0;
        }
        for &c in hit_clauses.iter() {
            clause_hit[c as usize] = false;
        }
        s.busy = false;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CompileOptions, IdentityResolver, JsonEvent, compile, load_str};
    use serde_json::json;
    use std::path::Path;

    fn rule(id: &str, detection: &str) -> CompiledRule {
        let text = format!(
            "title: {id}\nid: {id}\nlogsource:\n  product: windows\ndetection:\n{detection}"
        );
        let set = load_str(Path::new("t.yml"), &text);
        assert!(set.issues.is_empty(), "load issues: {:?}", set.issues);
        compile(&set.rules[0], &IdentityResolver, &CompileOptions::default()).expect("compiles")
    }

    fn engine() -> Engine {
        Engine::new(vec![
            rule(
                "a",
                "  sel:\n    Image|endswith: '\\cmd.exe'\n    CommandLine|contains: ' /c '\n  filter:\n    User: SYSTEM\n  condition: sel and not filter",
            ),
            rule(
                "b",
                "  sel1:\n    Image|endswith: '\\whoami.exe'\n  sel2:\n    CommandLine|re: '(?i)/all$'\n  condition: sel1 and sel2",
            ),
            rule("c", "  sel:\n    User|startswith: 'adm'\n  condition: not sel"),
            rule(
                "d",
                "  sel:\n    Tags|contains|all:\n      - red\n      - blue\n  condition: sel",
            ),
            rule(
                "e",
                "  s1:\n    Image|endswith: '.exe'\n  s2:\n    User: bob\n  s3:\n    CommandLine|contains: '-enc'\n  condition: 2 of s*",
            ),
        ])
        .expect("engine")
    }

    fn events() -> Vec<JsonEvent> {
        let v = [
            json!({"Image": "C:\\Windows\\cmd.exe", "CommandLine": "cmd /c dir", "User": "bob"}),
            json!({"Image": "C:\\Windows\\cmd.exe", "CommandLine": "cmd /c dir", "User": "SYSTEM"}),
            json!({"Image": "C:\\Windows\\whoami.exe", "CommandLine": "whoami /ALL", "User": "admin"}),
            json!({"Image": "C:\\Windows\\whoami.exe", "CommandLine": "whoami", "User": "admin"}),
            json!({"Tags": ["red", "green"], "Image": "x.exe"}),
            json!({"Tags": ["red", "blue"], "User": "bob"}),
            json!({"Tags": ["blue", "red"], "User": "bob", "Image": "p.EXE"}),
            json!({"CommandLine": "powershell -enc AAAA", "User": "bob"}),
        ];
        v.into_iter().map(JsonEvent::new).collect()
    }

    #[test]
    fn fast_paths_agree_with_the_reference() {
        let e = engine();
        let evs = events();
        let all_keys: Vec<usize> = (0..e.key_count()).collect();
        let scope = Engine::new_scope();
        let mut fired = 0;
        // Twice: the second round is answered from the memo.
        for round in 0..2 {
            for (n, ev) in evs.iter().enumerate() {
                let reference: Vec<usize> = (0..e.rules().len())
                    .filter(|&i| e.rules()[i].eval(ev))
                    .collect();
                assert_eq!(e.matches(ev), reference, "event {n} round {round}");
                let among = e.matches_among(ev, &mut all_keys.iter().copied(), Some(scope));
                assert_eq!(among, reference, "event {n} round {round} (memo)");
                let plain = e.matches_among(ev, &mut all_keys.iter().copied(), None);
                assert_eq!(plain, reference, "event {n} round {round} (no memo)");
                fired += reference.len();
            }
        }
        assert!(fired >= 12, "too few hits to mean anything: {fired}");
    }

    #[test]
    fn regex_prerequisites_are_necessary_literals() {
        let p = |s: &str| regex_prerequisites(s);
        assert_eq!(
            p(r"\\powershell\.exe.*-enc"),
            Some(vec![r"\powershell.exe".to_string()])
        );
        // case-insensitive: every variant folds to the one literal the index scans for
        let ci = p(r"(?i)IEX\s").expect("literals");
        assert!(ci.iter().all(|l| l.starts_with("iex")), "{ci:?}");
        // alternations keep every branch
        assert_eq!(
            p("(cmd|pwsh)[.]exe"),
            Some(vec!["cmd.exe".to_string(), "pwsh.exe".to_string()])
        );
        // a leading class or repetition: the suffix side still names a literal
        assert_eq!(p(r"\w+\.ps1$"), Some(vec![".ps1".to_string()]));
        // can match the empty string, or no literal at all: no prerequisite
        assert_eq!(p("a*"), None);
        assert_eq!(p(r"^\w+$"), None);
        assert_eq!(p("[a-z]{3,}"), None);
        // Σ folds by context: no prerequisite rather than a wrong one
        assert_eq!(p("ΣΑΣ"), None);
    }

    #[test]
    fn regex_prerequisites_gate_rules_without_changing_answers() {
        let e = Engine::new(vec![rule(
            "re",
            "  sel:\n    CommandLine|re: '(?i)invoke-(expression|webrequest)'\n  condition: sel",
        )])
        .expect("engine");
        assert_eq!(e.always_evaluated(), 0);
        for (cl, want) in [
            ("powershell INVOKE-Expression x", true),
            ("powershell Invoke-WebRequest", true),
            ("powershell invoke-item", false),
            ("cmd /c dir", false),
        ] {
            let ev = JsonEvent::new(json!({ "CommandLine": cl }));
            assert_eq!(!e.matches(&ev).is_empty(), want, "{cl}");
            assert_eq!(e.rules()[0].eval(&ev), want, "{cl}");
        }
    }

    #[test]
    fn prerequisites_skip_rules_that_cannot_hold() {
        let e = engine();
        // `c` (a bare `not`) has no prerequisite; `b` needs its `Image` clause and its regex's
        // literal (`/all`, the regex itself still decides); `a` needs both its `Image` and
        // `CommandLine` clauses.
        assert_eq!(e.always_evaluated(), 1);
        assert_eq!(e.required[0], 2);
        assert_eq!(e.required[1], 2);
        // `all` of two values: one clause each.
        assert_eq!(e.required[3], 2);
        // `2 of` three selections: one clause over the union.
        assert_eq!(e.required[4], 1);
    }

    #[test]
    fn keys_not_named_are_not_looked_up() {
        let e = engine();
        let ev = &events()[0];
        let image = e.keys().position(|k| k == "Image").expect("Image key");
        // Only `Image` may have values: rule `a` cannot see its CommandLine literal.
        let hits = e.matches_among(ev, &mut std::iter::once(image), None);
        assert!(!hits.contains(&0), "{hits:?}");
        assert!(e.matches(ev).contains(&0));
        // Out-of-range and repeated indices are ignored.
        let all: Vec<usize> = (0..e.key_count()).chain([0, 99, usize::MAX]).collect();
        assert_eq!(
            e.matches_among(ev, &mut all.into_iter(), None),
            e.matches(ev)
        );
    }
}
