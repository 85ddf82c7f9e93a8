//! Keyword searches by column buffer. A Sigma keyword is searched in every string of an event;
//! done row by row that is every string cell of every row through the keyword index (with a
//! case-folded copy of each), which made one product-wide keyword rule cost more than all the
//! other rules together. Here each string column of a batch is searched once, in its Arrow
//! value buffer, for the literals the class engines' keyword atoms need
//! ([`Engine::keyword_literals`]), ASCII-case-insensitively; only the cells where one occurs
//! (or that the fast search cannot judge) are scanned exactly, per row, with the engine of the
//! row's class ([`Engine::keyword_atoms`]). The answers are those of the row-by-row scan.
//!
//! Why a cell that is not a candidate fires no keyword atom:
//! - ASCII text folds by ASCII lower-casing, so a folded needle occurs in the folded text
//!   exactly when it occurs in the raw text ignoring ASCII case; a cased needle occurring in
//!   the raw text occurs ignoring case too. A wildcard pattern is verified only after its
//!   required literal occurs, and every such literal is a needle.
//! - Text with non-ASCII characters folds by Unicode rules, but each character on its own (the
//!   final-sigma rule aside, which yields no ASCII), and the only non-ASCII characters that
//!   fold to ASCII are `İ` (to `i` and a combining dot) and the Kelvin sign `K` (to `k`). So
//!   when every needle is ASCII, a run of ASCII in the folded text comes from the same run,
//!   up to ASCII case, in the raw text: the search over the raw buffer is exact except for
//!   cells holding `İ` or `K`, which are candidates. When some needle is not ASCII, every
//!   cell with a non-ASCII character is a candidate.
//! - JSON-text cells are searched for the JSON-escaped needles: the store's JSON text is
//!   written by `serde_json`, which escapes character by character (`\` as `\\`, `"` as `\"`,
//!   controls as `\n`, `\u001f`...), so a string holding a needle is encoded holding the
//!   escaped needle. A cell holding an escape `serde_json` does not write (`\/`, `\u` beyond
//!   the controls), as another writer might, is a candidate.
//! - A match that runs past its cell's end is not a candidate: the search reports the match
//!   that ends first, so no match lies within that cell; it resumes at the next cell.

use crate::columnar::BatchView;
use aho_corasick::AhoCorasick;
use arrow_array::{Array, StringArray};
use pa_sigma::{Engine, KeywordLiterals, keyword_search};
use rayon::prelude::*;
use std::sync::Arc;

/// The automata over the needles of some class engines.
pub(super) struct Prefilter {
    /// Needles as they are, for plain string cells.
    plain: AhoCorasick,
    /// Needles JSON-escaped, for JSON-text cells.
    json: AhoCorasick,
    /// Every needle is ASCII (see the module notes on non-ASCII text).
    ascii: bool,
}

impl Prefilter {
    /// Over the keyword needles of `engines` (those whose literals are [`KeywordLiterals::Needles`]).
    pub(super) fn new(engines: &[&Engine]) -> Result<Prefilter, String> {
        let mut needles: Vec<String> = Vec::new();
        for e in engines {
            if let KeywordLiterals::Needles(n) = e.keyword_literals() {
                needles.extend(n.into_iter().map(|(n, _)| n));
            }
        }
        needles.sort_unstable();
        needles.dedup();
        let escaped: Vec<String> = needles.iter().map(|n| json_escaped(n)).collect();
        Ok(Prefilter {
            plain: keyword_search::automaton(&needles)?,
            json: keyword_search::automaton(&escaped)?,
            ascii: needles.iter().all(|n| n.is_ascii()),
        })
    }
}

/// `s` as it appears inside a `serde_json` string literal.
fn json_escaped(s: &str) -> String {
    let quoted = serde_json::to_string(s).unwrap_or_default();
    quoted
        .get(1..quoted.len().saturating_sub(1))
        .unwrap_or_default()
        .to_string()
}

/// Per row of a batch, the string columns whose cells must be scanned exactly (CSR layout).
pub(super) struct Candidates {
    /// Row `r`'s columns are `cols[at[r]..at[r + 1]]`, ascending.
    at: Vec<u32>,
    cols: Vec<u32>,
}

impl Candidates {
    /// The candidate columns of row `row`.
    pub(super) fn of(&self, row: usize) -> &[u32] {
        match (self.at.get(row), self.at.get(row + 1)) {
            (Some(&lo), Some(&hi)) => &self.cols[lo as usize..hi as usize],
            _ => &[],
        }
    }

    /// Search every string column of `view` once; only rows with `wanted[row]` are kept.
    pub(super) fn find(view: &BatchView<'_>, pf: &Arc<Prefilter>, wanted: &[bool]) -> Candidates {
        let per_col: Vec<(u32, Vec<u32>)> = view
            .text_columns()
            .par_iter()
            .map(|&(c, arr, json)| {
                let ac = if json { &pf.json } else { &pf.plain };
                let mut rows = candidate_rows(arr, ac, json, pf.ascii);
                rows.retain(|&r| wanted.get(r as usize).copied().unwrap_or(false));
                (u32::try_from(c).unwrap_or(u32::MAX), rows)
            })
            .collect();
        let mut count = vec![0u32; view.len() + 1];
        for (_, rows) in &per_col {
            for &r in rows {
                count[r as usize + 1] += 1;
            }
        }
        for i in 1..count.len() {
            count[i] += count[i - 1];
        }
        let at = count.clone();
        let mut fill = count;
        let mut cols = vec![0u32; at.last().copied().unwrap_or(0) as usize];
        // columns in ascending order, so each row's list is ascending
        for (c, rows) in &per_col {
            for &r in rows {
                let slot = &mut fill[r as usize];
                cols[*slot as usize] = *c;
                *slot += 1;
            }
        }
        Candidates { at, cols }
    }
}

/// The rows (ascending, non-null) of a string column whose cell may fire a keyword atom.
fn candidate_rows(arr: &StringArray, ac: &AhoCorasick, json: bool, ascii: bool) -> Vec<u32> {
    let n = arr.len();
    if n == 0 {
        return Vec::new();
    }
    let offs = arr.value_offsets();
    let lo = offs[0] as usize;
    let bounds: Vec<usize> = offs
        .iter()
        .map(|&o| (o as usize).saturating_sub(lo))
        .collect();
    let Some(hay) = arr.value_data().get(lo..lo + bounds[n]) else {
        return (0..n as u32).collect();
    };
    let mut rows = Vec::new();
    text_candidates(hay, &bounds, ac, json, ascii, &mut rows);
    rows.retain(|&r| !arr.is_null(r as usize));
    rows
}

/// The rows of texts laid end to end (see [`keyword_search`]) that may fire a keyword atom,
/// ascending: those the needle search marks and, for JSON text, those holding an escape
/// `serde_json` does not write (`\/`, `\u` beyond the controls).
fn text_candidates(
    hay: &[u8],
    bounds: &[usize],
    ac: &AhoCorasick,
    json: bool,
    ascii: bool,
    rows: &mut Vec<u32>,
) {
    keyword_search::candidate_rows(ac, ascii, hay, bounds, rows);
    if !json {
        return;
    }
    // a backslash starts an escape when an even number of backslashes precede it
    let escape_at = |p: usize| hay[..p].iter().rev().take_while(|&&b| b == b'\\').count() % 2 == 0;
    let before = rows.len();
    for p in memchr::memmem::find_iter(hay, b"\\/") {
        if escape_at(p) {
            rows.push(keyword_search::row_at(bounds, p) as u32);
        }
    }
    for p in memchr::memmem::find_iter(hay, b"\\u") {
        let control = hay
            .get(p + 2..p + 6)
            .is_some_and(|h| h.starts_with(b"00") && matches!(h[2], b'0' | b'1'));
        if !control && escape_at(p) {
            rows.push(keyword_search::row_at(bounds, p) as u32);
        }
    }
    if rows.len() > before {
        rows.sort_unstable();
        rows.dedup();
    }
}

impl super::Detector {
    /// The keyword cells of a batch for the planned classes whose engines have keyword
    /// needles; `None` when there are none. A class whose prefilter cannot be built has its
    /// keyword searches done row by row (`keywords_planned` cleared).
    pub(super) fn keyword_cells(
        &self,
        view: &BatchView<'_>,
        classes: &mut std::collections::BTreeMap<u32, super::ClassPlan<'_, '_>>,
        row_at: &[(u32, u32)],
    ) -> Option<Candidates> {
        let planned: Vec<u32> = classes
            .iter()
            .filter(|(_, cp)| cp.keywords_planned)
            .map(|(&c, _)| c)
            .collect();
        if planned.is_empty() {
            return None;
        }
        let pf = match self.prefilter(&planned) {
            Ok(pf) => pf,
            Err(e) => {
                tracing::warn!("keyword searches run row by row: {e}");
                for cp in classes.values_mut() {
                    cp.keywords_planned = false;
                }
                return None;
            }
        };
        let wanted: Vec<bool> = row_at
            .iter()
            .map(|(c, _)| planned.binary_search(c).is_ok())
            .collect();
        Some(Candidates::find(view, &pf, &wanted))
    }

    /// The prefilter over the keyword needles of `classes` (ascending), built once.
    fn prefilter(&self, classes: &[u32]) -> Result<Arc<Prefilter>, String> {
        let mut cache = self
            .keyword_prefilters
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((_, pf)) = cache.iter().find(|(k, _)| k == classes) {
            return Ok(pf.clone());
        }
        let engines: Vec<&Engine> = classes
            .iter()
            .filter_map(|&c| self.engine(c).map(|(e, _, _)| e))
            .collect();
        let pf = Arc::new(Prefilter::new(&engines)?);
        if cache.len() >= 64 {
            cache.clear();
        }
        cache.push((classes.to_vec(), pf.clone()));
        Ok(pf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ac(needles: &[&str], json: bool) -> AhoCorasick {
        let pats: Vec<String> = needles
            .iter()
            .map(|n| if json { json_escaped(n) } else { n.to_string() })
            .collect();
        AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(pats)
            .unwrap()
    }

    #[test]
    fn plain_cells_candidates_are_needle_holders_and_non_ascii_text() {
        let arr = StringArray::from(vec![
            Some("C:\\Windows\\SYSTEM32\\svchost.exe"), // 0: needle in another case
            Some("nothing here"),                       // 1
            None,                                       // 2: null
            Some(""),                                   // 3: empty
            Some("\u{212A}ernel"),                      // 4: Kelvin sign folds to `k`
            Some("sys"),                                // 5: a match spanning 5 and 6...
            Some("tem32 system32"),                     // 6: ...and a true one after it
            Some("xx system32"),                        // 7: at the end
        ]);
        let got = candidate_rows(&arr, &ac(&["system32", "kernel"], false), false, true);
        // the spanning match marks nothing; the search resumes in 6 and finds its own
        assert_eq!(got, vec![0, 4, 6, 7]);
        // other non-ASCII text is judged by the search when every needle is ASCII
        let accents = StringArray::from(vec![Some("café"), Some("CAFÉ SYSTEM32"), Some("ok")]);
        let plain = ac(&["system32", "kernel"], false);
        assert_eq!(candidate_rows(&accents, &plain, false, true), vec![1]);
        assert_eq!(candidate_rows(&accents, &plain, false, false), vec![0, 1]);
        // a sliced array (non-zero first offset) maps positions to its own rows
        let sliced = arr.slice(4, 4);
        let sliced = sliced.as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(
            candidate_rows(sliced, &ac(&["system32", "kernel"], false), false, true),
            vec![0, 2, 3]
        );
    }

    #[test]
    fn json_cells_are_searched_for_escaped_needles() {
        let cells = [
            serde_json::json!([{"name": "path", "value": "C:\\Temp\\mimilib.dll"}]),
            serde_json::json!([{"value": "say \"hi\""}]),
            serde_json::json!([{"value": "plain"}]),
        ];
        let mut texts: Vec<String> = cells.iter().map(|c| c.to_string()).collect();
        // another writer's escapes: `\u` for any character, `\/` for `/`
        texts.push(r#"[{"value":"\u004dIMILIB.dll"}]"#.to_string());
        texts.push(r#"[{"value":"a\/b"}]"#.to_string());
        let arr = StringArray::from(texts.iter().map(|t| Some(t.as_str())).collect::<Vec<_>>());
        let needles = ["\\mimilib.dll", "\"hi\"", "a/b"];
        assert_eq!(
            candidate_rows(&arr, &ac(&needles, true), true, true),
            vec![0, 1, 3, 4]
        );
        // `\\u` that is an escaped backslash before a `u` is no escape of another writer
        let users = StringArray::from(vec![Some(r#"["C:\\users\\x"]"#), Some(r#"["\\\u0041"]"#)]);
        assert_eq!(
            candidate_rows(&users, &ac(&["zz"], true), true, true),
            vec![1]
        );
        // unescaped, the quoted needle would be missed (`\"hi\"` in the text)
        assert_eq!(
            candidate_rows(&arr, &ac(&needles, false), true, true),
            vec![0, 3, 4]
        );
    }
}
