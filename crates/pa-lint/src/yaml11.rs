//! Plain scalars that YAML 1.1 reads differently from pa's YAML 1.2 decoder.
//!
//! pa reads Sigma rules as YAML 1.2 with strict booleans: only `true`/`false` are booleans, and
//! a number with redundant leading zeros is the text written. Most Sigma tooling (pySigma on
//! PyYAML) reads YAML 1.1, where unquoted `yes`/`no`/`on`/`off`/`y`/`n` (and `True`, `FALSE`...)
//! are booleans, `010` is octal 8 and `1:20` is sexagesimal 80. The same rule then means two
//! things: each such plain scalar is a warning whose fix is to quote it.

use pa_yaml::outline::{Document, NodeKind};
use serde_json::json;

use crate::{Finding, Severity};

/// The rule id.
pub const RULE: &str = "lint-sigma-rule-yaml11-scalar";

/// How YAML 1.1 reads a plain scalar that YAML 1.2 (strict booleans) keeps as text, if it does.
pub(crate) fn yaml11_reading(text: &str) -> Option<String> {
    const TRUE: [&str; 10] = [
        "y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "True", "TRUE",
    ];
    const FALSE: [&str; 10] = [
        "n", "N", "no", "No", "NO", "off", "Off", "OFF", "False", "FALSE",
    ];
    if text.is_empty() {
        return None;
    }
    if TRUE.contains(&text) {
        return Some("the boolean true".into());
    }
    if FALSE.contains(&text) {
        return Some("the boolean false".into());
    }
    let (sign, digits) = match text.as_bytes()[0] {
        b'-' => (-1i128, &text[1..]),
        b'+' => (1, &text[1..]),
        _ => (1, text),
    };
    // octal: 0 followed by octal digits (underscores allowed in 1.1)
    if digits.len() > 1
        && digits.starts_with('0')
        && digits[1..].bytes().all(|b| matches!(b, b'0'..=b'7' | b'_'))
        && digits[1..].bytes().any(|b| b != b'_')
    {
        let v = i128::from_str_radix(&digits[1..].replace('_', ""), 8).ok()?;
        return Some(format!("the octal number {} ({})", text, sign * v));
    }
    sexagesimal(digits).map(|v| {
        let v = if sign < 0 { -v } else { v };
        format!("the base-60 number {text} ({})", trim_float(v))
    })
}

/// YAML 1.1 sexagesimal: `[1-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?`.
fn sexagesimal(s: &str) -> Option<f64> {
    let (int_part, frac) = match s.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (s, None),
    };
    let mut parts = int_part.split(':');
    let first = parts.next()?;
    let rest: Vec<&str> = parts.collect();
    if rest.is_empty()
        || !first.starts_with(|c: char| matches!(c, '1'..='9'))
        || !first.bytes().all(|b| b.is_ascii_digit() || b == b'_')
    {
        return None;
    }
    let mut v: f64 = first.replace('_', "").parse().ok()?;
    for p in rest {
        let ok = (1..=2).contains(&p.len())
            && p.bytes().all(|b| b.is_ascii_digit())
            && (p.len() == 1 || p.as_bytes()[0] <= b'5');
        if !ok {
            return None;
        }
        v = v * 60.0 + p.parse::<f64>().ok()?;
    }
    if let Some(f) = frac {
        if !f.bytes().all(|b| b.is_ascii_digit() || b == b'_') {
            return None;
        }
        let f = f.replace('_', "");
        if !f.is_empty() {
            v += format!("0.{f}").parse::<f64>().ok()?;
        }
    }
    Some(v)
}

fn trim_float(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// The findings of one document of `file`.
pub(crate) fn check(file: &str, doc: &Document) -> Vec<Finding> {
    let mut out = Vec::new();
    for n in &doc.nodes {
        if let Some(k) = n.key.as_ref().filter(|k| k.plain) {
            if let Some(reading) = yaml11_reading(&k.text) {
                out.push(
                    finding(file, &n.pointer, &k.text, &reading, true)
                        .at(k.mark.line, k.mark.column),
                );
            }
        }
        if let NodeKind::Scalar { text, plain: true } = &n.kind {
            if let Some(reading) = yaml11_reading(text) {
                out.push(
                    finding(file, &n.pointer, text, &reading, false).at(n.mark.line, n.mark.column),
                );
            }
        }
    }
    out
}

fn finding(file: &str, pointer: &str, text: &str, reading: &str, key: bool) -> Finding {
    let what = if key { "key" } else { "value" };
    Finding::new(
        file,
        pointer,
        RULE,
        Severity::Warning,
        format!(
            "unquoted {what} `{text}` is {reading} in YAML 1.1 (pySigma and other YAML 1.1 tools) but the text {text:?} for pa (YAML 1.2)"
        ),
    )
    .details(json!({"text": text, "yaml_1_1": reading, "position": what}))
    .hint(format!("quote it: '{}'", text.replace('\'', "''")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn readings() {
        for t in ["yes", "No", "ON", "off", "y", "N", "True", "FALSE"] {
            assert!(yaml11_reading(t).unwrap().starts_with("the boolean"), "{t}");
        }
        assert_eq!(yaml11_reading("010").unwrap(), "the octal number 010 (8)");
        assert_eq!(
            yaml11_reading("-0_17").unwrap(),
            "the octal number -0_17 (-15)"
        );
        assert_eq!(
            yaml11_reading("1:20").unwrap(),
            "the base-60 number 1:20 (80)"
        );
        assert_eq!(
            yaml11_reading("190:20:30").unwrap(),
            "the base-60 number 190:20:30 (685230)"
        );
        assert_eq!(
            yaml11_reading("1:20.5").unwrap(),
            "the base-60 number 1:20.5 (80.5)"
        );
        for t in [
            "true", "false", "0", "10", "0x1F", "08", "1:60", "01:20", "C:\\x", "yes!", "",
            "no way", "1:2:",
        ] {
            assert_eq!(yaml11_reading(t), None, "{t}");
        }
    }

    #[test]
    fn only_plain_scalars_keys_included() {
        let text = "a: yes\nb: 'yes'\nc: \"010\"\nd: 010\non: x\ne: [1:20, ok]\nf: |\n  no\n";
        let docs = pa_yaml::outline(Path::new("r.yml"), text).unwrap();
        let f = check("r.yml", &docs[0]);
        let got: Vec<(&str, u64, u64)> = f
            .iter()
            .map(|f| (f.instance_path.as_str(), f.line, f.column))
            .collect();
        assert_eq!(
            got,
            vec![("/a", 1, 4), ("/d", 4, 4), ("/on", 5, 1), ("/e/0", 6, 5)]
        );
        assert_eq!(f[0].hint.as_deref(), Some("quote it: 'yes'"));
        assert!(
            f[2].message
                .starts_with("unquoted key `on` is the boolean true"),
            "{}",
            f[2].message
        );
    }
}
