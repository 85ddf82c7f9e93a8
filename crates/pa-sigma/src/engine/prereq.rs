//! Prerequisites: which indexed matchers (atoms) must fire for a rule to be able to hold,
//! in conjunctive form, so that the engine evaluates a rule's condition only once each of its
//! clauses has a fired atom; and the literal prerequisites of `re` patterns. Computed once,
//! when the engine is built.

use crate::compile::{CompiledItem, CompiledRule};
use crate::condition::Cond;
use crate::matcher::{Matcher, fold_into};

/// The matcher kinds the engine answers from its literal scan. `re` is left to the evaluator:
/// it runs only for rules whose other prerequisites hold, not on every value of its key.
pub(super) fn engine_indexed(m: &Matcher) -> bool {
    matches!(m, Matcher::Lit { .. } | Matcher::Glob { .. } | Matcher::Any)
}

/// Literals one of which every text a `re` pattern matches contains, case-folded the way the
/// literal index folds event values: the prefixes (else suffixes) of its matches, as
/// `regex-syntax` extracts them for prefilters. They are prerequisites only (the regex still
/// decides), so they must be necessary: `None` when the set is infinite, has an empty literal
/// (the pattern can match the empty string) or is too large, and when a literal holds `Σ`,
/// whose lowercase depends on its neighbours (every other character folds on its own, so a
/// literal the text contains folds to one the folded text contains).
pub(crate) fn regex_prerequisites(pattern: &str) -> Option<Vec<String>> {
    use regex_syntax::hir::literal::{ExtractKind, Extractor};
    const MAX_LITERALS: usize = 64;
    let hir = regex_syntax::Parser::new().parse(pattern).ok()?;
    for kind in [ExtractKind::Prefix, ExtractKind::Suffix] {
        let seq = Extractor::new().kind(kind).extract(&hir);
        let Some(lits) = seq.literals() else { continue };
        if lits.is_empty() {
            continue;
        }
        let mut out = Vec::with_capacity(lits.len());
        for l in lits {
            let Ok(s) = std::str::from_utf8(l.as_bytes()) else {
                out.clear();
                break;
            };
            if s.is_empty() || s.contains('\u{3a3}') {
                out.clear();
                break;
            }
            let mut f = String::new();
            fold_into(s, &mut f);
            out.push(f);
        }
        if out.is_empty() {
            continue;
        }
        out.sort_unstable();
        out.dedup();
        // (case variants fold to one literal: the bound is on what the index scans for)
        if out.len() > MAX_LITERALS {
            continue;
        }
        return Some(out);
    }
    None
}

/// Prerequisites in conjunctive form: every clause (a set of atoms) must have a fired atom for
/// the expression to be able to hold. An empty list means no prerequisite.
type Cnf = Vec<Vec<u32>>;

/// One clause implied by "at least one of these holds": the union of the smallest clause of
/// each; `None` when one of them has no prerequisite.
fn any_of<'c>(parts: impl Iterator<Item = &'c Cnf>) -> Option<Vec<u32>> {
    let mut out = Vec::new();
    let mut n = 0;
    for p in parts {
        let smallest = p.iter().min_by_key(|c| c.len())?;
        out.extend_from_slice(smallest);
        n += 1;
    }
    (n > 0).then(|| {
        out.sort_unstable();
        out.dedup();
        out
    })
}

fn cond_cnf(c: &Cond, sel: &[Cnf]) -> Cnf {
    let empty = Cnf::new();
    let get = |i: usize| sel.get(i).unwrap_or(&empty);
    match c {
        Cond::Sel { index } => get(*index).clone(),
        Cond::Not { .. } => Cnf::new(),
        Cond::And { args } => args.iter().flat_map(|a| cond_cnf(a, sel)).collect(),
        Cond::Or { args } => {
            let parts: Vec<Cnf> = args.iter().map(|a| cond_cnf(a, sel)).collect();
            any_of(parts.iter()).map(|c| vec![c]).unwrap_or_default()
        }
        Cond::AtLeast { n, of } => {
            if *n == 0 {
                return Cnf::new();
            }
            if *n >= of.len() {
                return of.iter().flat_map(|&i| get(i).clone()).collect();
            }
            let unreq = of.iter().filter(|&&i| get(i).is_empty()).count();
            if unreq >= *n {
                return Cnf::new();
            }
            // At least n hold and fewer than n have no prerequisite: one with one holds.
            any_of(of.iter().map(|&i| get(i)).filter(|c| !c.is_empty()))
                .map(|c| vec![c])
                .unwrap_or_default()
        }
    }
}

/// Clauses of one item: each must have a fired atom for the item to hold (under the engine's
/// answers). `slots` maps matcher ordinals to atoms.
/// `pre` maps the ordinals of `re` matchers to the atoms of their literal prerequisites.
fn item_cnf(it: &CompiledItem, slots: &[Option<u32>], pre: &[Option<Vec<u32>>]) -> Cnf {
    if it.neq || it.groups.is_empty() || it.groups.iter().any(|g| g.is_empty()) {
        return Cnf::new();
    }
    // The atoms one of which fires when the matcher holds; `None`: no such set.
    let of = |ord: usize, m: &Matcher| -> Option<Vec<u32>> {
        if engine_indexed(m) {
            slots.get(ord).copied().flatten().map(|a| vec![a])
        } else {
            pre.get(ord).cloned().flatten()
        }
    };
    let atoms = |g: &Vec<(usize, Matcher)>| -> Option<Vec<u32>> {
        let mut out = Vec::new();
        for (ord, m) in g {
            out.extend(of(*ord, m)?);
        }
        Some(out)
    };
    if it.all {
        it.groups.iter().filter_map(atoms).collect()
    } else {
        let mut all = Vec::new();
        for g in &it.groups {
            match atoms(g) {
                Some(a) => all.extend(a),
                None => return Cnf::new(),
            }
        }
        vec![all]
    }
}

pub(super) fn rule_cnf(
    rule: &CompiledRule,
    slots: &[Option<u32>],
    pre: &[Option<Vec<u32>>],
) -> Cnf {
    let sel: Vec<Cnf> = rule
        .selections
        .iter()
        .map(|s| {
            let branches: Vec<Cnf> = s
                .branches
                .iter()
                .map(|b| b.iter().flat_map(|it| item_cnf(it, slots, pre)).collect())
                .collect();
            if branches.len() == 1 {
                branches.into_iter().next().unwrap_or_default()
            } else {
                any_of(branches.iter()).map(|c| vec![c]).unwrap_or_default()
            }
        })
        .collect();
    let mut cnf = cond_cnf(&rule.condition, &sel);
    for c in &mut cnf {
        c.sort_unstable();
        c.dedup();
    }
    cnf.sort();
    cnf.dedup();
    cnf
}
