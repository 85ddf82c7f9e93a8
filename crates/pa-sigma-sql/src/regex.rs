//! `re` patterns re-written for the engine's regex dialect.
//!
//! The native engine runs Rust `regex` (Unicode-aware: `\d`, `\w`, `\s`, `\b` and case folding
//! are Unicode). The pattern is parsed with `regex-syntax` exactly as `regex` parses it, and the
//! resulting high-level IR (case folding and Perl classes already expanded to explicit
//! code-point classes) is printed back in a small syntax RE2 (DuckDB) and Java (Spark) read the
//! same way: every character as `\x{HEX}` (or a plain ASCII letter/digit), explicit classes,
//! non-capturing groups and counted repetitions. A construct whose meaning differs in the target
//! and cannot be spelled out is refused with the reason, never approximated.

use crate::Dialect;
use regex_syntax::hir::{Class, Hir, HirKind, Look};

/// RE2's largest counted repetition.
const RE2_MAX_REPEAT: u32 = 1000;

/// `pattern` (Rust `regex` syntax, flags inline) in `dialect`'s syntax with the same matches
/// (an unanchored search), or why it cannot be.
pub fn translate(pattern: &str, dialect: Dialect) -> Result<String, String> {
    let hir = regex_syntax::ParserBuilder::new()
        .build()
        .parse(pattern)
        .map_err(|e| format!("pattern does not parse: {e}"))?;
    let mut out = String::with_capacity(pattern.len() * 2);
    emit(&hir, dialect, &mut out)?;
    Ok(out)
}

fn push_char(c: char, out: &mut String) {
    if c.is_ascii_alphanumeric() {
        out.push(c);
    } else {
        out.push_str(&format!("\\x{{{:X}}}", u32::from(c)));
    }
}

fn emit_class(ranges: &[(char, char)], out: &mut String) {
    if ranges.is_empty() {
        // Matches nothing.
        out.push_str("[^\\x{0}-\\x{10FFFF}]");
        return;
    }
    out.push('[');
    for &(a, b) in ranges {
        push_char(a, out);
        if b != a {
            out.push('-');
            push_char(b, out);
        }
    }
    out.push(']');
}

/// Rust's word characters (`\w`, Unicode) as code-point ranges.
fn unicode_word() -> Vec<(char, char)> {
    match regex_syntax::parse(r"\w").map(|h| h.into_kind()) {
        Ok(HirKind::Class(Class::Unicode(c))) => {
            c.ranges().iter().map(|r| (r.start(), r.end())).collect()
        }
        _ => vec![('0', '9'), ('A', 'Z'), ('_', '_'), ('a', 'z')],
    }
}

const ASCII_WORD: [(char, char); 4] = [('0', '9'), ('A', 'Z'), ('_', '_'), ('a', 'z')];

/// A word boundary (or its negation) spelled with lookarounds (Java only).
fn java_boundary(word: &[(char, char)], negate: bool, out: &mut String) {
    let mut w = String::new();
    emit_class(word, &mut w);
    if negate {
        out.push_str(&format!("(?:(?<={w})(?={w})|(?<!{w})(?!{w}))"));
    } else {
        out.push_str(&format!("(?:(?<={w})(?!{w})|(?<!{w})(?={w}))"));
    }
}

fn look(l: Look, dialect: Dialect, out: &mut String) -> Result<(), String> {
    let refuse = |what: &str| {
        Err(format!(
            "{what} has no equivalent in {} regular expressions",
            dialect.name()
        ))
    };
    match (l, dialect) {
        (Look::Start, _) => out.push_str("\\A"),
        (Look::End, _) => out.push_str("\\z"),
        (Look::StartLF, Dialect::DuckDb) => out.push_str("(?m:^)"),
        (Look::EndLF, Dialect::DuckDb) => out.push_str("(?m:$)"),
        // Java's multi-line anchors know other line terminators and not a start after a
        // final newline.
        (Look::StartLF | Look::EndLF, Dialect::Spark) => {
            return refuse("a multi-line anchor (`(?m)^`/`$`)");
        }
        (Look::WordAscii, Dialect::DuckDb) => out.push_str("\\b"),
        (Look::WordAsciiNegate, Dialect::DuckDb) => out.push_str("\\B"),
        (Look::WordAscii, Dialect::Spark) => java_boundary(&ASCII_WORD, false, out),
        (Look::WordAsciiNegate, Dialect::Spark) => java_boundary(&ASCII_WORD, true, out),
        (Look::WordUnicode, Dialect::Spark) => java_boundary(&unicode_word(), false, out),
        (Look::WordUnicodeNegate, Dialect::Spark) => java_boundary(&unicode_word(), true, out),
        (Look::WordUnicode | Look::WordUnicodeNegate, Dialect::DuckDb) => {
            return refuse("a Unicode word boundary (`\\b`; write `(?-u:\\b)` for ASCII)");
        }
        (other, _) => return refuse(&format!("the assertion {other:?}")),
    }
    Ok(())
}

fn emit(h: &Hir, dialect: Dialect, out: &mut String) -> Result<(), String> {
    match h.kind() {
        HirKind::Empty => out.push_str("(?:)"),
        HirKind::Literal(lit) => {
            let s = std::str::from_utf8(&lit.0)
                .map_err(|_| "a literal that is not UTF-8 (a byte-oriented pattern)".to_owned())?;
            s.chars().for_each(|c| push_char(c, out));
        }
        HirKind::Class(Class::Unicode(c)) => {
            let ranges: Vec<(char, char)> =
                c.ranges().iter().map(|r| (r.start(), r.end())).collect();
            emit_class(&ranges, out);
        }
        HirKind::Class(Class::Bytes(_)) => {
            return Err("a byte class (`(?-u)` outside ASCII)".into());
        }
        HirKind::Look(l) => look(*l, dialect, out)?,
        HirKind::Repetition(r) => {
            if dialect == Dialect::DuckDb
                && (r.min > RE2_MAX_REPEAT || r.max.is_some_and(|m| m > RE2_MAX_REPEAT))
            {
                return Err(format!(
                    "a repetition count over {RE2_MAX_REPEAT} (RE2's limit)"
                ));
            }
            out.push_str("(?:");
            emit(&r.sub, dialect, out)?;
            out.push(')');
            match (r.min, r.max) {
                (0, None) => out.push('*'),
                (1, None) => out.push('+'),
                (0, Some(1)) => out.push('?'),
                (n, None) => out.push_str(&format!("{{{n},}}")),
                (n, Some(m)) if n == m => out.push_str(&format!("{{{n}}}")),
                (n, Some(m)) => out.push_str(&format!("{{{n},{m}}}")),
            }
            if !r.greedy {
                out.push('?');
            }
        }
        HirKind::Capture(c) => {
            out.push_str("(?:");
            emit(&c.sub, dialect, out)?;
            out.push(')');
        }
        HirKind::Concat(hs) => {
            for x in hs {
                emit(x, dialect, out)?;
            }
        }
        HirKind::Alternation(hs) => {
            out.push_str("(?:");
            for (i, x) in hs.iter().enumerate() {
                if i > 0 {
                    out.push('|');
                }
                emit(x, dialect, out)?;
            }
            out.push(')');
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_classes_and_repetitions() {
        assert_eq!(
            translate(r"a\.b+", Dialect::DuckDb).unwrap(),
            r"a\x{2E}(?:b)+"
        );
        assert_eq!(
            translate(r"(?i)x", Dialect::DuckDb).unwrap(),
            r"[Xx]",
            "case folding is expanded"
        );
        assert_eq!(
            translate(r"^a{2,3}?$", Dialect::Spark).unwrap(),
            r"\A(?:a){2,3}?\z"
        );
        assert!(translate(r"a{1001}", Dialect::DuckDb).is_err());
        assert!(translate(r"a{1001}", Dialect::Spark).is_ok());
        // `.` is every character but `\n`, spelled out
        assert_eq!(
            translate(r".", Dialect::Spark).unwrap(),
            r"[\x{0}-\x{9}\x{B}-\x{10FFFF}]"
        );
    }

    #[test]
    fn word_boundaries_per_dialect() {
        assert!(translate(r"\bx", Dialect::DuckDb).is_err());
        assert_eq!(translate(r"(?-u:\b)x", Dialect::DuckDb).unwrap(), r"\bx");
        assert!(translate(r"\bx", Dialect::Spark).unwrap().contains("(?<="));
        assert!(translate(r"(?m)^x", Dialect::Spark).is_err());
        assert_eq!(translate(r"(?m)^x", Dialect::DuckDb).unwrap(), "(?m:^)x");
    }
}
