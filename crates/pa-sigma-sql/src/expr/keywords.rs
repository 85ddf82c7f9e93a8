//! Keyword searches: a group of alternatives (one Sigma keyword list) over every string the
//! native row walk sees, the string cells and the strings inside JSON text, compiled once per
//! group rather than once per (keyword, column): the row's texts are built once and every
//! alternative is tried on them.
//!
//! - String cells: the literals a keyword *contains* are searched in the row's string cells
//!   joined by a separator they do not contain (so a match never spans two cells); other
//!   alternatives are tried cell by cell.
//! - JSON text (DuckDB): every string value inside the row's JSON-text cells (not object keys),
//!   decoded, is tried on each alternative. A row is only decoded when its JSON text contains
//!   some alternative's literal as the store writes it (`serde_json`: only `"`, `\` and control
//!   characters escaped, so a string that contains a literal has text that contains the
//!   literal's escaped form, folded or not): the cheap text search rules out almost every row
//!   and the exact check decides the rest, as the native engine's keyword index does.
//!   Spark reads the string tokens of each JSON-text cell ([`crate::json::spark_strings`]).

use super::{Cx, GlobTok, glob_char, glob_tokens, like_escape, nn, or_all};
use crate::{ColumnKind, Columns, Dialect, Refusal};
use pa_sigma::{Matcher, StrKind};

/// Joins a row's cells into one text: no literal containing it is searched in the joined text.
const SEP: char = '\u{1}';

/// `body` (an expression of `var`) evaluated once on the value of `value` (which is not NULL):
/// the way to use one computed text in several comparisons without computing it each time.
fn bind(d: Dialect, value: &str, var: &str, body: &str) -> String {
    match d {
        Dialect::DuckDb => nn(&format!(
            "list_bool_or(list_transform([{value}], lambda {var}: {body}))"
        )),
        Dialect::Spark => nn(&format!("exists(array({value}), {var} -> {body})")),
    }
}

/// Some element `var` of the DuckDB list `list` satisfies `cond`.
fn duckdb_any(list: &str, var: &str, cond: &str) -> String {
    nn(&format!(
        "list_bool_or(list_transform({list}, lambda {var}: {cond}))"
    ))
}

/// A literal as the store writes it inside JSON text (`serde_json`'s string escaping).
fn json_escaped(s: &str) -> String {
    let quoted = serde_json::to_string(s).unwrap_or_default();
    quoted
        .strip_prefix('"')
        .and_then(|q| q.strip_suffix('"'))
        .unwrap_or_default()
        .to_owned()
}

/// The longest run of literal characters of a glob (folded unless `cased`, as the glob
/// compares them): every value the glob matches contains it.
fn glob_literal(source: &str, cased: bool) -> String {
    let mut best = String::new();
    let mut run = String::new();
    for t in glob_tokens(source).into_iter().chain([GlobTok::Star]) {
        match t {
            GlobTok::Lit(c) => run.push_str(&glob_char(c, cased)),
            GlobTok::Star | GlobTok::One => {
                if run.chars().count() > best.chars().count() {
                    best = std::mem::take(&mut run);
                }
                run.clear();
            }
        }
    }
    best
}

/// A literal every string an alternative matches contains, and whether it is compared with
/// the text's case (else with the folded text); `None` when there is no such literal.
fn needle(m: &Matcher) -> Option<(bool, String)> {
    match m {
        Matcher::Lit { needle, cased, .. } => Some((*cased, needle.clone())),
        Matcher::Glob { source, cased, .. } => Some((*cased, glob_literal(source, *cased))),
        _ => None,
    }
}

/// The literals (escaped by `escape`), by `[folded, cased]`, one of which the text of every
/// row the group matches contains; `None` when some alternative has no literal.
fn prefilter(group: &[&Matcher], escape: fn(&str) -> String) -> Option<[Vec<String>; 2]> {
    let mut lits: [Vec<String>; 2] = Default::default();
    for m in group {
        let (cased, n) = needle(m)?;
        let n = escape(&n);
        if !lits[usize::from(cased)].contains(&n) {
            lits[usize::from(cased)].push(n);
        }
    }
    Some(lits)
}

/// Some of `lits` (by `[folded, cased]`) occurs in `text` (folded for the first ones): one RE2
/// search per case for several literals in DuckDB, else `LIKE`s on the text computed once.
fn contains_any(d: Dialect, text: &str, lits: &[Vec<String>; 2]) -> Vec<String> {
    let mut parts = Vec::new();
    for (cased, lits) in lits.iter().enumerate() {
        if lits.is_empty() {
            continue;
        }
        let t = if cased == 1 {
            text.to_owned()
        } else {
            format!("lower({text})")
        };
        if d == Dialect::DuckDb && lits.len() >= super::literals::MIN_ALTERNATIVES {
            let frags: Vec<String> = lits
                .iter()
                .map(|l| super::literals::re_literal(l))
                .collect();
            parts.push(super::literals::search_any(d, &t, &frags));
        } else {
            let body = or_all(
                lits.iter()
                    .map(|l| d.like("pa_t", &format!("%{}%", like_escape(l))))
                    .collect(),
            );
            parts.push(bind(d, &t, "pa_t", &body));
        }
    }
    parts
}

impl Cx<'_> {
    /// One keyword group: some alternative matches some string of the row.
    pub(super) fn keywords(&mut self, group: &[&Matcher]) -> Result<String, Refusal> {
        let store = match self.columns {
            Columns::AssumedStrings => {
                return Err(self.here(
                    "keywords search every string column of a store, and no store was given",
                ));
            }
            Columns::Store(s) => s.clone(),
        };
        let of_kind = |k: ColumnKind| -> Vec<String> {
            store
                .iter()
                .filter(|(_, kind)| *kind == k)
                .map(|(n, _)| n.to_owned())
                .collect()
        };
        let (strs, jsons) = (of_kind(ColumnKind::Str), of_kind(ColumnKind::Json));
        self.used.extend(strs.iter().chain(&jsons).cloned());
        let mut parts = Vec::new();
        if !strs.is_empty() {
            parts.extend(self.string_cells(group, &strs)?);
        }
        if !jsons.is_empty() {
            parts.push(self.json_strings(group, &jsons)?);
        }
        Ok(or_all(parts))
    }

    /// The group over the string cells.
    fn string_cells(&self, group: &[&Matcher], cols: &[String]) -> Result<Vec<String>, Refusal> {
        let d = self.d;
        let mut parts = Vec::new();
        // [folded, cased] `contains` literals, searched in the joined cells
        let mut joined: [Vec<String>; 2] = Default::default();
        for m in group {
            match m {
                Matcher::Lit {
                    kind: StrKind::Contains,
                    needle,
                    cased,
                } if !needle.contains(SEP) => joined[usize::from(*cased)].push(needle.clone()),
                _ => {
                    for c in cols {
                        parts.push(self.text_match(m, &d.ident(c))?);
                    }
                }
            }
        }
        parts.extend(contains_any(d, &joined_text(d, cols), &joined));
        Ok(parts)
    }

    /// The group over the strings inside the JSON-text cells.
    fn json_strings(&self, group: &[&Matcher], cols: &[String]) -> Result<String, Refusal> {
        let d = self.d;
        let cond = or_all(
            group
                .iter()
                .map(|m| self.text_match(m, "pa_v"))
                .collect::<Result<_, _>>()?,
        );
        if d == Dialect::Spark {
            return Ok(or_all(
                cols.iter()
                    .map(|c| crate::json::spark_any(&crate::json::spark_strings(d, c), &cond))
                    .collect(),
            ));
        }
        let lists: Vec<String> = cols.iter().map(|c| crate::json::strings(d, c)).collect();
        let exact = duckdb_any(&format!("list_concat({})", lists.join(", ")), "pa_v", &cond);
        let Some(lits) = prefilter(group, json_escaped) else {
            return Ok(exact);
        };
        let pre = or_all(contains_any(d, &joined_text(d, cols), &lits));
        Ok(format!("(CASE WHEN {pre} THEN {exact} ELSE FALSE END)"))
    }
}

/// The cells of `cols` joined by [`SEP`] (NULL cells left out).
fn joined_text(d: Dialect, cols: &[String]) -> String {
    let cells: Vec<String> = cols.iter().map(|c| d.ident(c)).collect();
    format!(
        "concat_ws({}, {})",
        d.str_lit(&SEP.to_string()),
        cells.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_literals_are_the_longest_literal_run() {
        assert_eq!(glob_literal(r"*\evil*.EXE", false), r"\evil");
        assert_eq!(glob_literal(r"a?bc*d", true), "bc");
        assert_eq!(glob_literal(r"\*\?x*", true), "*?x");
        assert_eq!(glob_literal("*", false), "");
    }

    #[test]
    fn literals_are_escaped_as_the_store_writes_json() {
        assert_eq!(json_escaped("a\"b\\c\n\u{1f}é"), "a\\\"b\\\\c\\n\\u001fé");
    }
}
