//! The two SQL dialects: how literals, identifiers, casts and the few functions the predicates
//! use are spelled.

use serde::Serialize;

/// A SQL dialect the compiler emits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Dialect {
    /// DuckDB (regular expressions are RE2).
    DuckDb,
    /// Spark SQL (regular expressions are `java.util.regex`; string literals take backslash
    /// escapes, as with `spark.sql.parser.escapedStringLiterals=false`, the default).
    Spark,
}

/// Rust's `str::trim` removes these (`char::is_whitespace`, the Unicode `White_Space` set).
pub(crate) const WHITE_SPACE: &str = "\u{9}\u{A}\u{B}\u{C}\u{D}\u{20}\u{85}\u{A0}\u{1680}\u{2000}\u{2001}\u{2002}\u{2003}\u{2004}\u{2005}\u{2006}\u{2007}\u{2008}\u{2009}\u{200A}\u{2028}\u{2029}\u{202F}\u{205F}\u{3000}";

/// A `LIKE` pattern written with `\` escapes, without them: `None` when it escapes a `%` or `_`
/// (a literal wildcard character, which needs an escape character).
fn unescaped_like(pattern: &str) -> Option<String> {
    let mut out = String::with_capacity(pattern.len());
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('%' | '_') => return None,
                Some(n) => out.push(n),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    Some(out)
}

impl Dialect {
    /// The name used on the command line and in reports (`duckdb`, `spark`).
    pub fn name(self) -> &'static str {
        match self {
            Dialect::DuckDb => "duckdb",
            Dialect::Spark => "spark",
        }
    }

    /// Parse a command-line name.
    pub fn parse(s: &str) -> Option<Dialect> {
        match s {
            "duckdb" => Some(Dialect::DuckDb),
            "spark" => Some(Dialect::Spark),
            _ => None,
        }
    }

    /// A string literal.
    pub fn str_lit(self, s: &str) -> String {
        match self {
            Dialect::DuckDb => format!("'{}'", s.replace('\'', "''")),
            Dialect::Spark => {
                let mut out = String::with_capacity(s.len() + 2);
                out.push('\'');
                for c in s.chars() {
                    match c {
                        '\\' => out.push_str("\\\\"),
                        '\'' => out.push_str("\\'"),
                        // one line per literal: the script's statements are split on lines
                        '\n' => out.push_str("\\n"),
                        '\r' => out.push_str("\\r"),
                        c => out.push(c),
                    }
                }
                out.push('\'');
                out
            }
        }
    }

    /// A quoted column name.
    pub fn ident(self, name: &str) -> String {
        match self {
            Dialect::DuckDb => format!("\"{}\"", name.replace('"', "\"\"")),
            Dialect::Spark => format!("`{}`", name.replace('`', "``")),
        }
    }

    /// The string type name in casts.
    pub fn string_type(self) -> &'static str {
        match self {
            Dialect::DuckDb => "VARCHAR",
            Dialect::Spark => "STRING",
        }
    }

    /// `x LIKE pattern`, the pattern written with `\` as the escape character. DuckDB: without
    /// an `ESCAPE` clause when no `%` or `_` is escaped (its `LIKE` then has no escape
    /// character, and only such patterns become its fast `contains`/`prefix`/`suffix`/`=`
    /// searches: several times faster).
    pub fn like(self, x: &str, pattern: &str) -> String {
        if self == Dialect::DuckDb {
            if let Some(plain) = unescaped_like(pattern) {
                return format!("({x} LIKE {})", self.str_lit(&plain));
            }
        }
        format!(
            "({x} LIKE {} ESCAPE {})",
            self.str_lit(pattern),
            self.str_lit("\\")
        )
    }

    /// An unanchored regular-expression search (the pattern already in this dialect's syntax).
    pub fn regex_search(self, x: &str, pattern: &str) -> String {
        match self {
            Dialect::DuckDb => format!("regexp_matches({x}, {})", self.str_lit(pattern)),
            Dialect::Spark => format!("({x} RLIKE {})", self.str_lit(pattern)),
        }
    }

    /// A string that is a number, the way `pa_sigma::parse_number` reads it: trimmed of
    /// Unicode white space, a decimal integer or float, finite; NULL otherwise.
    pub fn parse_number(self, x: &str) -> String {
        let trimmed = self.trim_ws(x);
        // Only what Rust's `f64::from_str` accepts: an optional sign, digits with an optional
        // fraction and exponent (`inf`/`nan` are not finite and excluded below).
        let shape = self.regex_search(
            &trimmed,
            r"\A[+\x{2D}]?(?:[0-9]+(?:\x{2E}[0-9]*)?|\x{2E}[0-9]+)(?:[eE][+\x{2D}]?[0-9]+)?\z",
        );
        format!(
            "(CASE WHEN {shape} THEN {} END)",
            self.finite(&match self {
                Dialect::DuckDb => format!("TRY_CAST({trimmed} AS DOUBLE)"),
                Dialect::Spark => format!("CAST({trimmed} AS DOUBLE)"),
            })
        )
    }

    /// `x` trimmed of Unicode white space at both ends (Rust's `str::trim`).
    pub fn trim_ws(self, x: &str) -> String {
        match self {
            Dialect::DuckDb => format!("trim({x}, {})", self.str_lit(WHITE_SPACE)),
            Dialect::Spark => format!("trim(BOTH {} FROM {x})", self.str_lit(WHITE_SPACE)),
        }
    }

    /// `v` when it is a finite double, else NULL.
    pub fn finite(self, v: &str) -> String {
        format!("(CASE WHEN abs({v}) < CAST('Infinity' AS DOUBLE) THEN {v} END)")
    }

    /// A double literal.
    pub fn double(self, v: f64) -> String {
        format!("CAST('{v:?}' AS DOUBLE)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duckdb_like_drops_the_escape_clause_when_it_can() {
        let d = Dialect::DuckDb;
        // escaped backslashes become plain ones: DuckDB's LIKE has no escape character
        assert_eq!(d.like("x", r"%c:\\windows%"), r"(x LIKE '%c:\windows%')");
        // an escaped wildcard character needs the clause
        assert_eq!(d.like("x", r"%100\%%"), r"(x LIKE '%100\%%' ESCAPE '\')");
        assert_eq!(d.like("x", r"a\_b"), r"(x LIKE 'a\_b' ESCAPE '\')");
        // Spark's LIKE always escapes with `\`
        assert_eq!(
            Dialect::Spark.like("x", r"%c:\\w%"),
            r"(x LIKE '%c:\\\\w%' ESCAPE '\\')"
        );
    }
}
