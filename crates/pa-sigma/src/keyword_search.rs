//! Searching many strings at once for keyword needles: the strings laid end to end in one
//! buffer (row `r` is `hay[bounds[r]..bounds[r + 1]]`), one Aho-Corasick search over it, and
//! the rows that hold a match. Used by the engine over the strings of one event and by
//! columnar callers over a whole string column (an Arrow value buffer).
//!
//! The search ignores ASCII case and sees raw text; the engine compares keywords against
//! case-folded text. The two agree (a row without a match fires no keyword atom) when every
//! needle is ASCII and the row has none of the two non-ASCII characters that fold to ASCII
//! (`İ` → `i` + combining dot, Kelvin sign → `k`): every other character folds on its own to
//! non-ASCII, or is ASCII and folds by ASCII rules. [`rows_folding_to_ascii`] finds those rows.

use aho_corasick::{AhoCorasick, Input, MatchKind};

/// The automaton [`matching_rows`] expects: every needle, ASCII case ignored, standard
/// (earliest-ending) match semantics.
pub fn automaton<I, P>(needles: I) -> Result<AhoCorasick, String>
where
    I: IntoIterator<Item = P>,
    P: AsRef<[u8]>,
{
    AhoCorasick::builder()
        .match_kind(MatchKind::Standard)
        .ascii_case_insensitive(true)
        .build(needles)
        .map_err(|e| format!("cannot build the keyword search: {e}"))
}

/// The row holding byte `p` (the last row starting at or before it).
pub fn row_at(bounds: &[usize], p: usize) -> usize {
    bounds
        .partition_point(|&b| b <= p)
        .saturating_sub(1)
        .min(bounds.len().saturating_sub(2))
}

/// Append the rows (ascending) with a match of `ac` inside them. One search: a row is marked
/// once and the search resumes at the next row; a match running past its row's end marks
/// nothing, since standard semantics report the match that ends first, so no match lies
/// within that row.
pub fn matching_rows(ac: &AhoCorasick, hay: &[u8], bounds: &[usize], out: &mut Vec<u32>) {
    if bounds.len() < 2 {
        return;
    }
    let end_of = |r: usize| bounds[r + 1];
    let mut pos = 0;
    while pos < hay.len() {
        let Some(m) = ac.find(Input::new(hay).range(pos..)) else {
            break;
        };
        let r = row_at(bounds, m.start());
        if m.end() <= end_of(r) {
            out.push(r as u32);
        }
        pos = end_of(r).max(m.start() + 1);
    }
}

/// Append the rows holding `İ` or the Kelvin sign (ascending per character; callers sort).
pub fn rows_folding_to_ascii(hay: &[u8], bounds: &[usize], out: &mut Vec<u32>) {
    for pat in ["\u{130}", "\u{212A}"] {
        for p in memchr::memmem::find_iter(hay, pat.as_bytes()) {
            out.push(row_at(bounds, p) as u32);
        }
    }
}

/// Append the rows with a non-ASCII byte.
pub fn non_ascii_rows(hay: &[u8], bounds: &[usize], out: &mut Vec<u32>) {
    for r in 0..bounds.len().saturating_sub(1) {
        if !hay[bounds[r]..bounds[r + 1]].is_ascii() {
            out.push(r as u32);
        }
    }
}

/// The rows that may fire a keyword atom, ascending and distinct: those with a match, and the
/// non-ASCII rows the search cannot judge (all of them when `ascii_needles` is false).
pub fn candidate_rows(
    ac: &AhoCorasick,
    ascii_needles: bool,
    hay: &[u8],
    bounds: &[usize],
    out: &mut Vec<u32>,
) {
    let from = out.len();
    matching_rows(ac, hay, bounds, out);
    if !hay.is_ascii() {
        if ascii_needles {
            rows_folding_to_ascii(hay, bounds, out);
        } else {
            non_ascii_rows(hay, bounds, out);
        }
    }
    out[from..].sort_unstable();
    let mut w = from;
    for i in from..out.len() {
        if w == from || out[i] != out[w - 1] {
            out[w] = out[i];
            w += 1;
        }
    }
    out.truncate(w);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn laid(rows: &[&str]) -> (String, Vec<usize>) {
        let mut hay = String::new();
        let mut bounds = vec![0];
        for r in rows {
            hay.push_str(r);
            bounds.push(hay.len());
        }
        (hay, bounds)
    }

    #[test]
    fn candidates_are_rows_with_a_match_and_unjudgeable_text() {
        let rows = [
            "C:\\Windows\\SYSTEM32\\x", // 0
            "nothing",                  // 1
            "",                         // 2
            "\u{212A}ERNEL",            // 3: Kelvin sign
            "sys",                      // 4: a match spanning 4 and 5...
            "tem32 system32",           // 5: ...and a true one after it
            "café",                     // 6
            "CAFÉ system32",            // 7
            "TAX\u{130}",               // 8
        ];
        let (hay, bounds) = laid(&rows);
        let ac = automaton(["system32", "kernel"]).unwrap();
        let mut out = vec![99];
        candidate_rows(&ac, true, hay.as_bytes(), &bounds, &mut out);
        assert_eq!(out, vec![99, 0, 3, 5, 7, 8]);
        let mut out = Vec::new();
        candidate_rows(&ac, false, hay.as_bytes(), &bounds, &mut out);
        assert_eq!(out, vec![0, 3, 5, 6, 7, 8]);
        let mut out = Vec::new();
        candidate_rows(&ac, true, b"", &[0], &mut out);
        assert!(out.is_empty());
    }
}
