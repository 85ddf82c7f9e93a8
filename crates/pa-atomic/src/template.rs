//! `pa.template_atomic.v1`: the `#{name}` placeholders of Atomic Red Team commands and input
//! defaults.
//!
//! A placeholder starts at `#{` and ends at the first `}` after it (no escapes, no nesting); its
//! name is `[A-Za-z_][A-Za-z0-9_-]*` and is case-sensitive. A `#` not followed by `{` is text.
//! Errors carry the module's error code and the byte offset the reference vectors
//! (`fixtures/parser_modules/template_atomic_v1`) expect: the `#` of an unterminated placeholder,
//! the start of an empty or badly started name, the offending character of a name.

use std::fmt;

/// The module token, the prefix of every error message.
pub const MODULE_TOKEN: &str = "pa.template_atomic.v1";

/// One piece of a parsed template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Segment<'a> {
    /// Text taken as written (never empty).
    Literal(&'a str),
    /// `#{name}`: the name.
    Placeholder(&'a str),
}

/// What is wrong with a template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateErrorCode {
    /// `#{` without a closing `}`.
    UnterminatedPlaceholder,
    /// `#{}`.
    EmptyPlaceholderName,
    /// The name does not start with a letter or `_`.
    InvalidPlaceholderNameStart,
    /// The name holds a character other than letters, digits, `_` and `-`.
    InvalidPlaceholderNameChar,
}

impl TemplateErrorCode {
    /// The wire form of the code.
    pub fn as_str(self) -> &'static str {
        match self {
            TemplateErrorCode::UnterminatedPlaceholder => "unterminated_placeholder",
            TemplateErrorCode::EmptyPlaceholderName => "empty_placeholder_name",
            TemplateErrorCode::InvalidPlaceholderNameStart => "invalid_placeholder_name_start",
            TemplateErrorCode::InvalidPlaceholderNameChar => "invalid_placeholder_name_char",
        }
    }
}

/// A template that does not parse: the code and the byte offset it applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TemplateError {
    /// What is wrong.
    pub code: TemplateErrorCode,
    /// Where, in bytes from the start of the text.
    pub byte_offset: usize,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{MODULE_TOKEN}: {} at byte {}",
            self.code.as_str(),
            self.byte_offset
        )
    }
}

impl std::error::Error for TemplateError {}

fn name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// Parse a template into literal text and placeholders.
pub fn parse(text: &str) -> Result<Vec<Segment<'_>>, TemplateError> {
    let mut out = Vec::new();
    let mut rest_start = 0;
    while let Some(found) = text[rest_start..].find("#{") {
        let open = rest_start + found;
        if open > rest_start {
            out.push(Segment::Literal(&text[rest_start..open]));
        }
        let name_at = open + 2;
        let Some(len) = text[name_at..].find('}') else {
            return Err(TemplateError {
                code: TemplateErrorCode::UnterminatedPlaceholder,
                byte_offset: open,
            });
        };
        let name = &text[name_at..name_at + len];
        check_name(name, name_at)?;
        out.push(Segment::Placeholder(name));
        rest_start = name_at + len + 1;
    }
    if rest_start < text.len() {
        out.push(Segment::Literal(&text[rest_start..]));
    }
    Ok(out)
}

fn check_name(name: &str, at: usize) -> Result<(), TemplateError> {
    let mut chars = name.char_indices();
    match chars.next() {
        None => Err(TemplateError {
            code: TemplateErrorCode::EmptyPlaceholderName,
            byte_offset: at,
        }),
        Some((_, c)) if !name_start(c) => Err(TemplateError {
            code: TemplateErrorCode::InvalidPlaceholderNameStart,
            byte_offset: at,
        }),
        Some(_) => match chars.find(|&(_, c)| !name_char(c)) {
            Some((i, _)) => Err(TemplateError {
                code: TemplateErrorCode::InvalidPlaceholderNameChar,
                byte_offset: at + i,
            }),
            None => Ok(()),
        },
    }
}

/// The placeholder names of a template, in order of appearance (repeats kept).
pub fn placeholders(text: &str) -> Result<Vec<&str>, TemplateError> {
    Ok(parse(text)?
        .into_iter()
        .filter_map(|s| match s {
            Segment::Placeholder(n) => Some(n),
            Segment::Literal(_) => None,
        })
        .collect())
}

/// Why a substitution failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SubstError {
    /// The text does not parse.
    Syntax(TemplateError),
    /// A placeholder names no known value.
    Unknown(String),
}

/// Replace every placeholder of `text` by the value `lookup` gives for its name, in one pass
/// (values are not parsed again).
pub(crate) fn substitute<'v>(
    text: &str,
    lookup: impl Fn(&str) -> Option<&'v str>,
) -> Result<String, SubstError> {
    let segments = parse(text).map_err(SubstError::Syntax)?;
    let mut out = String::with_capacity(text.len());
    for s in segments {
        match s {
            Segment::Literal(t) => out.push_str(t),
            Segment::Placeholder(n) => {
                out.push_str(lookup(n).ok_or_else(|| SubstError::Unknown(n.to_string()))?)
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_and_names() {
        assert_eq!(parse("").unwrap(), vec![]);
        assert_eq!(
            parse("##{a}x#{b-c_1}").unwrap(),
            vec![
                Segment::Literal("#"),
                Segment::Placeholder("a"),
                Segment::Literal("x"),
                Segment::Placeholder("b-c_1"),
            ]
        );
        assert_eq!(placeholders("#{a}#{a}{b}").unwrap(), vec!["a", "a"]);
        assert_eq!(
            parse("a # { b }").unwrap(),
            vec![Segment::Literal("a # { b }")]
        );
    }

    #[test]
    fn errors_carry_code_and_offset() {
        let e = |s: &str| parse(s).unwrap_err();
        assert_eq!(
            e("x#{"),
            TemplateError {
                code: TemplateErrorCode::UnterminatedPlaceholder,
                byte_offset: 1
            }
        );
        assert_eq!(
            e("#{é}").code,
            TemplateErrorCode::InvalidPlaceholderNameStart
        );
        assert_eq!(e("#{aé}").byte_offset, 3);
        // The first `}` closes: the space is inside the name.
        assert_eq!(
            e("#{a #{b}").code,
            TemplateErrorCode::InvalidPlaceholderNameChar
        );
        assert!(
            e("#{}")
                .to_string()
                .starts_with("pa.template_atomic.v1: empty_placeholder_name")
        );
    }

    #[test]
    fn substitution_is_one_pass() {
        let v = |n: &str| match n {
            "a" => Some("#{b}"),
            "b" => Some("B"),
            _ => None,
        };
        assert_eq!(substitute("<#{a}|#{b}>", v).unwrap(), "<#{b}|B>");
        assert_eq!(
            substitute("#{zz}", v).unwrap_err(),
            SubstError::Unknown("zz".into())
        );
        assert!(matches!(
            substitute("#{1}", v).unwrap_err(),
            SubstError::Syntax(_)
        ));
    }
}
