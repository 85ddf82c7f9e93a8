//! The literal index of one event key (or of keywords): the case-folded and the cased needles
//! of its matchers in one Aho-Corasick automaton each (or a `memmem` finder for a single
//! needle), and its wildcard patterns, verified after their longest literal was seen; and the
//! bitset of the atoms an event fires.

use crate::matcher::{Matcher, StrKind, fold_into};
use aho_corasick::{AhoCorasick, MatchKind};
use memchr::memmem;
use std::collections::BTreeMap;

/// What a literal hit means for an atom.
#[derive(Clone, Copy)]
enum Use {
    /// The atom holds when the needle sits at this placement.
    Direct(u32, StrKind),
    /// The needle is the prefilter of a wildcard pattern (index into `KeyIndex::globs`).
    Verify(usize),
}

/// Literal needles of one key (or of keywords) for one case mode.
#[derive(Default)]
struct LitIndex {
    /// Distinct needles.
    needles: Vec<String>,
    /// Per needle: its uses.
    users: Vec<Vec<Use>>,
    ac: Option<AhoCorasick>,
    single: Option<memmem::Finder<'static>>,
    /// Atoms with an empty needle.
    empty: Vec<(u32, StrKind)>,
}

impl LitIndex {
    fn add(&mut self, map: &mut BTreeMap<String, usize>, needle: &str, u: Use) {
        if needle.is_empty() {
            if let Use::Direct(atom, kind) = u {
                self.empty.push((atom, kind));
            }
            return;
        }
        let id = *map.entry(needle.to_owned()).or_insert_with(|| {
            self.needles.push(needle.to_owned());
            self.users.push(Vec::new());
            self.needles.len() - 1
        });
        self.users[id].push(u);
    }

    fn build(&mut self) -> Result<(), String> {
        if self.needles.len() == 1 {
            self.single = Some(memmem::Finder::new(self.needles[0].as_bytes()).into_owned());
        } else if self.needles.len() > 1 {
            // A contiguous NFA, not the DFA the builder picks for up to 100 needles: the DFAs
            // of a rule set's indexes were ~27 MiB built in every run (fixed cost and memory),
            // and matching measured no slower without them (BENCHMARKS.md, issue 15).
            self.ac = Some(
                AhoCorasick::builder()
                    .match_kind(MatchKind::Standard)
                    .kind(Some(aho_corasick::AhoCorasickKind::ContiguousNFA))
                    .build(&self.needles)
                    .map_err(|e| format!("cannot build literal automaton: {e}"))?,
            );
        }
        Ok(())
    }

    /// Set the atoms the literals of `hay` satisfy; wildcard patterns whose prefilter literal
    /// occurs are pushed to `verify`.
    fn scan(&self, hay: &str, bits: &mut Bits, verify: &mut Vec<usize>) {
        for (atom, kind) in &self.empty {
            if *kind != StrKind::Exact || hay.is_empty() {
                bits.set(*atom);
            }
        }
        let mut mark = |id: usize, start: usize, end: usize, bits: &mut Bits| {
            for u in &self.users[id] {
                match *u {
                    Use::Direct(atom, kind) => {
                        let ok = match kind {
                            StrKind::Contains => true,
                            StrKind::Starts => start == 0,
                            StrKind::Ends => end == hay.len(),
                            StrKind::Exact => start == 0 && end == hay.len(),
                        };
                        if ok {
                            bits.set(atom);
                        }
                    }
                    Use::Verify(g) => verify.push(g),
                }
            }
        };
        if let Some(f) = &self.single {
            let n = self.needles[0].as_str();
            if let Some(start) = f.find(hay.as_bytes()) {
                if hay.len() == n.len() {
                    mark(0, 0, hay.len(), bits);
                } else {
                    // One synthetic occurrence per placement that holds (never both anchors at
                    // once, which would claim an exact match).
                    mark(0, 1, usize::MAX, bits);
                    if start == 0 {
                        mark(0, 0, usize::MAX, bits);
                    }
                    if hay.ends_with(n) {
                        mark(0, 1, hay.len(), bits);
                    }
                }
            }
        } else if let Some(ac) = &self.ac {
            for m in ac.find_overlapping_iter(hay) {
                mark(m.pattern().as_usize(), m.start(), m.end(), bits);
            }
        }
    }
}

/// Everything indexed for one key (or for keywords).
#[derive(Default)]
pub(super) struct KeyIndex {
    folded: LitIndex,
    cased: LitIndex,
    /// Wildcard patterns: regex, case-sensitive, atom. Verified only after their prefilter hit.
    globs: Vec<(regex::Regex, bool, u32)>,
    /// Wildcard patterns without any literal: always verified.
    globs_always: Vec<usize>,
    any: Vec<u32>,
    folded_map: BTreeMap<String, usize>,
    cased_map: BTreeMap<String, usize>,
    /// Some matcher of the key compares the case-folded text (set by `build`).
    fold_needed: bool,
    /// Keywords: every needle, searched ASCII-case-insensitively in the raw text before the
    /// exact scan ([`KeyIndex::may_fire`]); `None` when some atom needs no literal.
    quick: Option<(AhoCorasick, bool)>,
}

impl KeyIndex {
    pub(super) fn add(&mut self, m: &Matcher, atom: u32) {
        match m {
            Matcher::Lit {
                kind,
                needle,
                cased: false,
            } => self
                .folded
                .add(&mut self.folded_map, needle, Use::Direct(atom, *kind)),
            Matcher::Lit {
                kind,
                needle,
                cased: true,
            } => self
                .cased
                .add(&mut self.cased_map, needle, Use::Direct(atom, *kind)),
            Matcher::Glob {
                regex,
                cased,
                required,
                ..
            } => {
                let g = self.globs.len();
                self.globs.push((regex.clone(), *cased, atom));
                if required.is_empty() {
                    self.globs_always.push(g);
                } else if *cased {
                    self.cased
                        .add(&mut self.cased_map, required, Use::Verify(g));
                } else {
                    self.folded
                        .add(&mut self.folded_map, required, Use::Verify(g));
                }
            }
            Matcher::Any => self.any.push(atom),
            _ => {}
        }
    }
    pub(super) fn build(&mut self) -> Result<(), String> {
        self.folded.build()?;
        self.cased.build()?;
        self.folded_map.clear();
        self.cased_map.clear();
        self.fold_needed = !self.folded.needles.is_empty()
            || !self.folded.empty.is_empty()
            || self.globs.iter().any(|g| !g.1);
        Ok(())
    }
    pub(super) fn is_empty(&self) -> bool {
        self.folded.needles.is_empty()
            && self.folded.empty.is_empty()
            && self.cased.needles.is_empty()
            && self.cased.empty.is_empty()
            && self.globs.is_empty()
            && self.any.is_empty()
    }
    /// Build the quick search of [`KeyIndex::candidates`] (for the keyword index, whose scans
    /// see every string of an event, most of which hold no needle).
    pub(super) fn build_quick(&mut self) -> Result<(), String> {
        let Some(lits) = self.literals() else {
            return Ok(());
        };
        let ascii = lits.iter().all(|(n, _)| n.is_ascii());
        let ac = crate::keyword_search::automaton(lits.iter().map(|(n, _)| n))?;
        self.quick = Some((ac, ascii));
        Ok(())
    }

    /// The rows of strings laid end to end (`hay`, `bounds`: see [`crate::keyword_search`])
    /// that may fire an atom, ascending; `false` when there is no quick search (every row
    /// must be scanned).
    pub(super) fn candidates(&self, hay: &[u8], bounds: &[usize], out: &mut Vec<u32>) -> bool {
        let Some((ac, ascii)) = &self.quick else {
            return false;
        };
        crate::keyword_search::candidate_rows(ac, *ascii, hay, bounds, out);
        true
    }

    /// Every literal an atom of this index needs before it can fire: case-folded needles,
    /// cased needles and the required literals of wildcard patterns, as (needle, cased). `None`
    /// when some atom can fire without any literal (`Any`, an empty needle, a wildcard pattern
    /// with no literal): then every text must be scanned.
    pub(super) fn literals(&self) -> Option<Vec<(&str, bool)>> {
        if !self.any.is_empty()
            || !self.globs_always.is_empty()
            || !self.folded.empty.is_empty()
            || !self.cased.empty.is_empty()
        {
            return None;
        }
        let folded = self.folded.needles.iter().map(|n| (n.as_str(), false));
        let cased = self.cased.needles.iter().map(|n| (n.as_str(), true));
        Some(folded.chain(cased).collect())
    }

    /// Scan one value. `fold_buf` is reused for the case-folded text.
    pub(super) fn scan(
        &self,
        raw: &str,
        bits: &mut Bits<'_>,
        verify: &mut Vec<usize>,
        fold_buf: &mut String,
    ) {
        for a in &self.any {
            bits.set(*a);
        }
        verify.clear();
        verify.extend_from_slice(&self.globs_always);
        let folded = if self.fold_needed {
            fold_into(raw, fold_buf);
            self.folded.scan(fold_buf, bits, verify);
            true
        } else {
            false
        };
        self.cased.scan(raw, bits, verify);
        if !verify.is_empty() {
            verify.sort_unstable();
            verify.dedup();
            for &g in verify.iter() {
                let (re, cased, atom) = &self.globs[g];
                if bits.get(*atom) {
                    continue;
                }
                let hay = if *cased || !folded {
                    raw
                } else {
                    fold_buf.as_str()
                };
                if re.is_match(hay) {
                    bits.set(*atom);
                }
            }
        }
    }
}

/// Fired atoms of one event: a bitset over the scratch words, plus the list of atoms set (so
/// that only those words are cleared afterwards).
pub(super) struct Bits<'s> {
    pub(super) words: &'s mut [u64],
    pub(super) set: &'s mut Vec<u32>,
}

impl Bits<'_> {
    // `#[inline]` (and on `get`): the engine's per-event loop in the parent module calls these
    // once per atom; they stay inlinable there whatever codegen unit this module lands in.
    #[inline]
    pub(super) fn set(&mut self, i: u32) {
        let (w, b) = (i as usize / 64, 1u64 << (i % 64));
        if self.words[w] & b == 0 {
            self.words[w] |= b;
            self.set.push(i);
        }
    }
    #[inline]
    pub(super) fn get(&self, i: u32) -> bool {
        self.words[i as usize / 64] & (1 << (i % 64)) != 0
    }
}
