//! A value while modifiers apply: Sigma wildcard tokens, the raw forms a value can take, the
//! transforms (`windash`, the encodings, `expand` placeholders) and the string matcher the
//! result becomes.

use crate::matcher::{Matcher, StrKind, fold};
use base64::Engine as _;
use regex::Regex;
use std::collections::BTreeMap;

/// One character of a Sigma string after escape processing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Tok {
    C(char),
    Star,
    One,
}

/// Parse Sigma wildcards and escapes: `*` `?` wildcards; `\*` `\?` `\\` escapes; a backslash before
/// any other character is literal.
pub(super) fn parse_wildcards(s: &str) -> Vec<Tok> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::with_capacity(chars.len());
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' => match chars.get(i + 1) {
                Some(&n @ ('*' | '?' | '\\')) => {
                    out.push(Tok::C(n));
                    i += 2;
                }
                _ => {
                    out.push(Tok::C('\\'));
                    i += 1;
                }
            },
            '*' => {
                out.push(Tok::Star);
                i += 1;
            }
            '?' => {
                out.push(Tok::One);
                i += 1;
            }
            c => {
                out.push(Tok::C(c));
                i += 1;
            }
        }
    }
    out
}

fn plain(toks: &[Tok]) -> Option<String> {
    toks.iter()
        .map(|t| match t {
            Tok::C(c) => Some(*c),
            _ => None,
        })
        .collect()
}

/// A value while modifiers are applied.
#[derive(Debug, Clone)]
pub(super) enum V {
    Raw(String),
    Toks(Vec<Tok>),
    Bytes(Vec<u8>),
    Num(f64, String),
    Bool(bool),
    Null,
}

impl V {
    pub(super) fn toks(self) -> Result<Vec<Tok>, String> {
        Ok(match self {
            V::Raw(s) => parse_wildcards(&s),
            V::Toks(t) => t,
            V::Bytes(b) => b.into_iter().map(|c| Tok::C(char::from(c))).collect(),
            V::Num(_, s) => s.chars().map(Tok::C).collect(),
            V::Bool(b) => b.to_string().chars().map(Tok::C).collect(),
            V::Null => return Err("a string modifier on a null value".into()),
        })
    }
    pub(super) fn bytes(self, what: &str) -> Result<Vec<u8>, String> {
        match self {
            V::Bytes(b) => Ok(b),
            other => {
                let t = other.toks()?;
                plain(&t)
                    .map(String::into_bytes)
                    .ok_or_else(|| format!("`{what}` cannot encode a value with wildcards"))
            }
        }
    }
    pub(super) fn raw_text(&self) -> Option<String> {
        match self {
            V::Raw(s) => Some(s.clone()),
            V::Num(_, s) => Some(s.clone()),
            V::Bool(b) => Some(b.to_string()),
            V::Toks(t) => plain(t),
            V::Bytes(_) | V::Null => None,
        }
    }
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// `windash`: every `-` or `/` that starts a word (preceded by a non-word character or the start,
/// followed by a word character) is replaced by each of `-` `/` `–` `—` `―` (all permutations).
pub(super) fn windash(toks: &[Tok]) -> Result<Vec<Vec<Tok>>, String> {
    let positions: Vec<usize> = (0..toks.len())
        .filter(|&i| {
            let Tok::C(c) = toks[i] else { return false };
            if c != '-' && c != '/' {
                return false;
            }
            let prev_ok = match i.checked_sub(1).map(|p| toks[p]) {
                None | Some(Tok::Star) | Some(Tok::One) => true,
                Some(Tok::C(p)) => !is_word(p),
            };
            let next_ok = matches!(toks.get(i + 1), Some(Tok::C(n)) if is_word(*n));
            prev_ok && next_ok
        })
        .collect();
    if positions.len() > 5 {
        return Err(format!(
            "`windash` on a value with {} flag dashes would produce too many variants",
            positions.len()
        ));
    }
    const DASHES: [char; 5] = ['-', '/', '\u{2013}', '\u{2014}', '\u{2015}'];
    let mut out = vec![toks.to_vec()];
    for &p in &positions {
        let mut next = Vec::with_capacity(out.len() * DASHES.len());
        for v in &out {
            for d in DASHES {
                let mut w = v.clone();
                w[p] = Tok::C(d);
                next.push(w);
            }
        }
        out = next;
    }
    Ok(out)
}

pub(super) fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// `base64offset`: the three encodings of `v` shifted by 0, 1, 2 bytes, with the characters that
/// depend on unknown neighbouring bytes cut at both ends (as pySigma does).
pub(super) fn base64_offsets(v: &[u8]) -> Vec<String> {
    const START: [usize; 3] = [0, 2, 3];
    const END_CUT: [usize; 3] = [0, 3, 2];
    (0..3)
        .map(|i| {
            let mut buf = vec![b' '; i];
            buf.extend_from_slice(v);
            let enc = b64(&buf);
            let end = enc.len().saturating_sub(END_CUT[(v.len() + i) % 3]);
            let start = START[i].min(end);
            enc[start..end].to_owned()
        })
        .collect()
}

pub(super) fn utf16(s: &[u8], le: bool, bom: bool) -> Result<Vec<u8>, String> {
    let text =
        std::str::from_utf8(s).map_err(|_| "utf16 of bytes that are not UTF-8".to_owned())?;
    let mut out = Vec::new();
    if bom {
        out.extend_from_slice(if le { &[0xFF, 0xFE] } else { &[0xFE, 0xFF] });
    }
    for u in text.encode_utf16() {
        out.extend_from_slice(&if le { u.to_le_bytes() } else { u.to_be_bytes() });
    }
    Ok(out)
}

fn placeholder_name_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.')
}

/// `expand`: substitute `%name%` placeholders (cartesian product over multi-valued ones);
/// `\%` is a literal percent sign. Returns `Err((is_unresolved, message))`.
pub(super) fn expand(
    raw: &str,
    map: &BTreeMap<String, Vec<String>>,
) -> Result<Vec<Vec<Tok>>, (bool, String)> {
    let chars: Vec<char> = raw.chars().collect();
    // Segments: literal text (still with wildcard syntax) or a placeholder name.
    let mut segs: Vec<Result<String, String>> = Vec::new();
    let mut text = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' && chars.get(i + 1) == Some(&'%') {
            // Keep the percent literal: escape it for the wildcard parser as a plain char.
            text.push('%');
            i += 2;
            continue;
        }
        if c == '%' {
            if let Some(len) = chars[i + 1..].iter().position(|&x| x == '%') {
                let name: String = chars[i + 1..i + 1 + len].iter().collect();
                if !name.is_empty() && name.chars().all(placeholder_name_char) {
                    segs.push(Ok(std::mem::take(&mut text)));
                    segs.push(Err(name));
                    i += len + 2;
                    continue;
                }
            }
        }
        text.push(c);
        i += 1;
    }
    segs.push(Ok(text));
    let mut out: Vec<Vec<Tok>> = vec![Vec::new()];
    for seg in segs {
        match seg {
            Ok(t) => {
                let toks = parse_wildcards(&t);
                for o in &mut out {
                    o.extend_from_slice(&toks);
                }
            }
            Err(name) => {
                let Some(vals) = map.get(&name).filter(|v| !v.is_empty()) else {
                    return Err((true, format!("placeholder %{name}% has no value")));
                };
                let mut next = Vec::new();
                for o in &out {
                    for v in vals {
                        let mut w = o.clone();
                        w.extend(parse_wildcards(v));
                        next.push(w);
                    }
                }
                if next.len() > 10_000 {
                    return Err((false, "placeholder expansion too large".into()));
                }
                out = next;
            }
        }
    }
    Ok(out)
}

pub(super) fn string_matcher(toks: &[Tok], cased: bool) -> Result<Matcher, String> {
    let lead = toks.iter().take_while(|t| **t == Tok::Star).count();
    if lead == toks.len() && lead > 0 {
        return Ok(Matcher::Any);
    }
    let trail = toks.iter().rev().take_while(|t| **t == Tok::Star).count();
    let mid = &toks[lead..toks.len() - trail];
    if let Some(lit) = plain(mid) {
        let kind = match (lead > 0, trail > 0) {
            (false, false) => StrKind::Exact,
            (true, true) => StrKind::Contains,
            (false, true) => StrKind::Starts,
            (true, false) => StrKind::Ends,
        };
        let needle = if cased { lit } else { fold(&lit) };
        return Ok(Matcher::Lit {
            kind,
            needle,
            cased,
        });
    }
    let mut pat = String::from("(?s)^");
    let mut source = String::new();
    // The longest literal run: every value the glob matches contains it (prefilter).
    let (mut required, mut run) = (String::new(), String::new());
    for t in toks {
        if let Tok::C(c) = t {
            run.push_str(&if cased {
                c.to_string()
            } else {
                fold(&c.to_string())
            });
        } else {
            if run.len() > required.len() {
                required = std::mem::take(&mut run);
            }
            run.clear();
        }
    }
    if run.len() > required.len() {
        required = run;
    }
    for t in toks {
        match t {
            Tok::Star => {
                pat.push_str(".*");
                source.push('*');
            }
            Tok::One => {
                pat.push('.');
                source.push('?');
            }
            Tok::C(c) => {
                let s = if cased {
                    c.to_string()
                } else {
                    fold(&c.to_string())
                };
                pat.push_str(&regex::escape(&s));
                match c {
                    '*' | '?' | '\\' => {
                        source.push('\\');
                        source.push(*c);
                    }
                    _ => source.push(*c),
                }
            }
        }
    }
    pat.push('$');
    let regex = Regex::new(&pat).map_err(|e| format!("wildcard pattern {source:?}: {e}"))?;
    Ok(Matcher::Glob {
        regex,
        cased,
        source,
        required,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_escapes() {
        assert_eq!(
            parse_wildcards(r"a\*b\?c\\d\e*?"),
            vec![
                Tok::C('a'),
                Tok::C('*'),
                Tok::C('b'),
                Tok::C('?'),
                Tok::C('c'),
                Tok::C('\\'),
                Tok::C('d'),
                Tok::C('\\'),
                Tok::C('e'),
                Tok::Star,
                Tok::One
            ]
        );
        // `\\*` is a backslash followed by a wildcard; `\\\*` a backslash and a star.
        assert_eq!(parse_wildcards(r"\\*"), vec![Tok::C('\\'), Tok::Star]);
        assert_eq!(parse_wildcards(r"\\\*"), vec![Tok::C('\\'), Tok::C('*')]);
        assert_eq!(parse_wildcards(r"\\\\"), vec![Tok::C('\\'), Tok::C('\\')]);
    }

    #[test]
    fn base64offset_matches_pysigma() {
        // pySigma expands `IEX (` to these three strings.
        assert_eq!(base64_offsets(b"IEX ("), vec!["SUVYIC", "lFWCAo", "JRVggK"]);
    }

    #[test]
    fn windash_variants() {
        let t = parse_wildcards(" -enc");
        let v = windash(&t).expect("expands");
        let s: Vec<String> = v.iter().map(|x| plain(x).expect("plain")).collect();
        assert_eq!(
            s,
            vec![
                " -enc",
                " /enc",
                " \u{2013}enc",
                " \u{2014}enc",
                " \u{2015}enc"
            ]
        );
        // not at a word start: unchanged
        let t = parse_wildcards("a-b");
        assert_eq!(windash(&t).expect("ok").len(), 1);
    }

    #[test]
    fn expand_placeholders() {
        let mut m = BTreeMap::new();
        m.insert(
            "Admins".to_owned(),
            vec!["root".to_owned(), "adm_*".to_owned()],
        );
        let v = expand(r"\%x%Admins%", &m).expect("escaped percent is literal");
        assert_eq!(plain(&v[0]).as_deref(), Some("%xroot"));
        let v = expand(r"pre\%%Admins%", &m).expect("expands");
        assert_eq!(v.len(), 2);
        assert_eq!(plain(&v[0]).as_deref(), Some("pre%root"));
        assert_eq!(v[1].last(), Some(&Tok::Star));
        assert!(matches!(expand("%Nope%", &m), Err((true, _))));
    }
}
