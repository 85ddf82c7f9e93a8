//! Many literal and wildcard alternatives over one text as one regular-expression search
//! (DuckDB): RE2 tries them all in one pass over the text, where a chain of `LIKE`s scans the
//! text once per alternative. Measured with the DuckDB CLI on 200k rows: 400 substrings of
//! two columns as 800 `contains` took 5.9 s, as two RE2 alternations 0.04 s. SigmaHQ rules
//! list dozens of values per field, and the expanded modifiers (`base64offset`, `windash`,
//! `utf16`) hundreds.

use super::{GlobTok, glob_char, glob_tokens, nn, or_all};
use crate::Dialect;
use pa_sigma::{Matcher, StrKind};

/// Alternatives over one text below this count stay `LIKE`s.
pub(super) const MIN_ALTERNATIVES: usize = 2;

/// Alternatives per regular expression (RE2 compiles each pattern within a memory budget).
const MAX_PER_REGEX: usize = 256;

/// `s` in RE2 syntax, matching itself: ASCII punctuation escaped (RE2 takes a backslash before
/// any of it as the character), everything else as is.
pub(super) fn re_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c.is_ascii_punctuation() {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A `Glob` matcher's source as an RE2 pattern matching a whole text (with `(?s)`: `.` is any
/// character), literal characters folded unless `cased`.
fn glob_re(source: &str, cased: bool) -> String {
    let mut out = String::from("^");
    for t in glob_tokens(source) {
        match t {
            GlobTok::Star => out.push_str(".*"),
            GlobTok::One => out.push('.'),
            GlobTok::Lit(c) => out.push_str(&re_literal(&glob_char(c, cased))),
        }
    }
    out.push_str(r"\z");
    out
}

/// The RE2 pattern of a literal or wildcard alternative, searched anywhere in the text (the
/// folded text unless the returned flag, `cased`, is set): `None` for other matchers.
pub(super) fn fragment(m: &Matcher) -> Option<(bool, String)> {
    match m {
        Matcher::Lit {
            kind,
            needle,
            cased,
        } => {
            let n = re_literal(needle);
            Some((
                *cased,
                match kind {
                    StrKind::Contains => n,
                    StrKind::Starts => format!("^{n}"),
                    StrKind::Ends => format!(r"{n}\z"),
                    StrKind::Exact => format!(r"^{n}\z"),
                },
            ))
        }
        Matcher::Glob { source, cased, .. } => Some((*cased, glob_re(source, *cased))),
        _ => None,
    }
}

/// Some pattern of `frags` (RE2, from [`fragment`] or [`re_literal`]) occurs in `x`; never
/// NULL.
pub(super) fn search_any(d: Dialect, x: &str, frags: &[String]) -> String {
    or_all(
        frags
            .chunks(MAX_PER_REGEX)
            .map(|c| nn(&d.regex_search(x, &format!("(?s)(?:{})", c.join("|")))))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_and_globs_as_re2() {
        assert_eq!(re_literal(r"c:\a.b (x)*"), r"c\:\\a\.b \(x\)\*");
        assert_eq!(glob_re(r"*\Evil?.EXE\*", false), r"^.*\\evil.\.exe\*\z");
        assert_eq!(glob_re("a*", true), r"^a.*\z");
        let lit = |kind, needle: &str| Matcher::Lit {
            kind,
            needle: needle.into(),
            cased: false,
        };
        assert_eq!(
            fragment(&lit(StrKind::Ends, ".exe")),
            Some((false, r"\.exe\z".into()))
        );
        assert_eq!(
            fragment(&lit(StrKind::Exact, "")),
            Some((false, r"^\z".into()))
        );
        assert_eq!(fragment(&Matcher::Any), None);
        let s = search_any(Dialect::DuckDb, "t", &["a".into(), "^b".into()]);
        assert_eq!(s, "COALESCE(regexp_matches(t, '(?s)(?:a|^b)'), FALSE)");
    }
}
