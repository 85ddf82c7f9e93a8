//! Field lookup over OCSF events, Unicode case folding and the constraint operators.

use crate::model::{Constraint, Op};
use serde_json::{Number, Value};
use std::cmp::Ordering;

/// A dotted OCSF path (`process.cmd_line`, `actor.process.file.path`), split once. A key that
/// itself contains `.` or `\` is written with `\` before it (`unmapped.a\.b`), as the
/// normalized store names its columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldPath {
    text: String,
    keys: Vec<String>,
}

impl FieldPath {
    /// Split a dotted path; `None` when a key is empty or the path ends in a lone `\`.
    pub fn parse(text: &str) -> Option<FieldPath> {
        let mut keys = vec![String::new()];
        let mut esc = false;
        for c in text.chars() {
            match (esc, c) {
                (true, _) => {
                    keys.last_mut()?.push(c);
                    esc = false;
                }
                (false, '\\') => esc = true,
                (false, '.') => keys.push(String::new()),
                (false, _) => keys.last_mut()?.push(c),
            }
        }
        if esc || keys.iter().any(String::is_empty) {
            return None;
        }
        Some(FieldPath {
            text: text.to_owned(),
            keys,
        })
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The object keys, in order.
    pub fn keys(&self) -> &[String] {
        &self.keys
    }
}

/// Resolve `path` in an event object: each key descends into an object; a key missing, or a
/// key applied to anything but an object (an array included), leaves the path unresolved.
pub fn lookup<'a>(event: &'a Value, path: &FieldPath) -> Option<&'a Value> {
    let mut cur = event;
    for k in &path.keys {
        cur = cur.as_object()?.get(k)?;
    }
    Some(cur)
}

/// A normalized OCSF event as the evaluator sees it.
pub trait Event {
    /// `class_uid`.
    fn class_uid(&self) -> Option<i64>;
    /// `time` (epoch milliseconds).
    fn time_ms(&self) -> Option<i64>;
    /// `metadata.uid` (the id listed in `sample_event_ids`).
    fn event_uid(&self) -> Option<&str>;
    /// The value at `path` (`None`: unresolved). Arrays and objects are given as such.
    fn field(&self, path: &FieldPath) -> Option<&Value>;
}

impl Event for Value {
    fn class_uid(&self) -> Option<i64> {
        self.get("class_uid").and_then(Value::as_i64)
    }
    fn time_ms(&self) -> Option<i64> {
        self.get("time").and_then(Value::as_i64)
    }
    fn event_uid(&self) -> Option<&str> {
        self.get("metadata")
            .and_then(|m| m.get("uid"))
            .and_then(Value::as_str)
    }
    fn field(&self, path: &FieldPath) -> Option<&Value> {
        lookup(self, path)
    }
}

/// Unicode simple case folding of a string, locale-independent and without normalization:
/// each character is replaced by its one-character lowercase form (characters whose lowercase
/// is several characters, such as `İ`, stay as they are, as simple folding leaves them), and
/// the lowercase letters that fold to another letter (final sigma, long s, the Greek symbol
/// variants) are folded too.
pub fn fold_case(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let c = {
            let mut lower = c.to_lowercase();
            match (lower.next(), lower.next()) {
                (Some(l), None) => l,
                _ => c,
            }
        };
        out.push(match c {
            'ς' => 'σ',
            'ſ' => 's',
            '\u{345}' | '\u{1FBE}' => 'ι',
            'ϐ' => 'β',
            'ϑ' => 'θ',
            'ϕ' => 'φ',
            'ϖ' => 'π',
            'ϰ' => 'κ',
            'ϱ' => 'ρ',
            'ϵ' => 'ε',
            'ẛ' => 'ṡ',
            other => other,
        });
    }
    out
}

/// Compare two JSON numbers exactly when both are integers, else as `f64`.
fn cmp_numbers(a: &Number, b: &Number) -> Option<Ordering> {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        return Some(x.cmp(&y));
    }
    if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
        return Some(x.cmp(&y));
    }
    a.as_f64()?.partial_cmp(&b.as_f64()?)
}

/// Equality of two JSON scalars (strings, numbers, booleans); anything else is unequal.
fn scalar_eq(actual: &Value, expected: &Value, case_sensitive: bool) -> bool {
    match (actual, expected) {
        (Value::String(a), Value::String(e)) if case_sensitive => a == e,
        (Value::String(a), Value::String(e)) => fold_case(a) == fold_case(e),
        (Value::Number(a), Value::Number(e)) => cmp_numbers(a, e) == Some(Ordering::Equal),
        (Value::Bool(a), Value::Bool(e)) => a == e,
        _ => false,
    }
}

impl Constraint {
    /// Whether the constraint holds for the resolved value (`None`: the path is unresolved,
    /// which is false for every operator, `exists` included).
    pub fn matches(&self, actual: Option<&Value>) -> bool {
        let Some(actual) = actual else {
            return false;
        };
        if self.op == Op::Exists {
            return !actual.is_null();
        }
        if actual.is_array() || actual.is_object() {
            return false;
        }
        let expected = self.value.as_ref().unwrap_or(&Value::Null);
        match self.op {
            Op::Exists => unreachable!("handled above"),
            Op::Equals => scalar_eq(actual, expected, self.case_sensitive),
            Op::OneOf => expected.as_array().is_some_and(|alts| {
                alts.iter()
                    .any(|e| scalar_eq(actual, e, self.case_sensitive))
            }),
            Op::Contains => match (actual, expected) {
                (Value::String(a), Value::String(e)) if self.case_sensitive => a.contains(e),
                (Value::String(a), Value::String(e)) => {
                    fold_case(a).contains(fold_case(e).as_str())
                }
                _ => false,
            },
            Op::Regex => match (actual, &self.regex) {
                (Value::String(a), Some(re)) => re.is_match(a),
                _ => false,
            },
            Op::NumLt | Op::NumLte | Op::NumGt | Op::NumGte => match (actual, expected) {
                (Value::Number(a), Value::Number(e)) => {
                    cmp_numbers(a, e).is_some_and(|o| match self.op {
                        Op::NumLt => o == Ordering::Less,
                        Op::NumLte => o != Ordering::Greater,
                        Op::NumGt => o == Ordering::Greater,
                        _ => o != Ordering::Less,
                    })
                }
                _ => false,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn c(field: &str, op: Op, value: Value, case_sensitive: bool) -> Constraint {
        Constraint::new(field, op, Some(value), case_sensitive).unwrap()
    }

    fn at<'a>(ev: &'a Value, path: &str) -> Option<&'a Value> {
        lookup(ev, &FieldPath::parse(path).unwrap())
    }

    fn event() -> Value {
        json!({
            "class_uid": 1007, "time": 1000, "metadata": {"uid": "e1", "product": {"name": "auditd"}},
            "process": {"cmd_line": "C:\\Windows\\System32\\cmd.exe /c whoami", "pid": 5, "ratio": 0.5,
                        "file": {"path": "/usr/bin/uname"}},
            "observables": [{"name": "x"}], "flag": true, "nothing": null,
            "unmapped": {"a.b": "dotted"}
        })
    }

    #[test]
    fn paths_resolve_through_objects_only() {
        let ev = event();
        assert_eq!(at(&ev, "process.file.path"), Some(&json!("/usr/bin/uname")));
        assert_eq!(at(&ev, "metadata.product.name"), Some(&json!("auditd")));
        assert_eq!(at(&ev, "unmapped.a\\.b"), Some(&json!("dotted")));
        assert!(at(&ev, "process.missing").is_none());
        assert!(
            at(&ev, "observables.name").is_none(),
            "no descent into arrays"
        );
        assert!(at(&ev, "process.pid.x").is_none());
        assert!(FieldPath::parse("a..b").is_none());
        assert!(FieldPath::parse("").is_none());
        assert!(FieldPath::parse("a\\").is_none());
        assert_eq!(ev.class_uid(), Some(1007));
        assert_eq!(ev.time_ms(), Some(1000));
        assert_eq!(ev.event_uid(), Some("e1"));
    }

    #[test]
    fn equals_compares_scalars_of_the_same_type() {
        let ev = event();
        let v = |p: &str| at(&ev, p);
        assert!(c("process.pid", Op::Equals, json!(5), true).matches(v("process.pid")));
        assert!(c("process.pid", Op::Equals, json!(5.0), true).matches(v("process.pid")));
        assert!(!c("process.pid", Op::Equals, json!("5"), true).matches(v("process.pid")));
        assert!(c("flag", Op::Equals, json!(true), true).matches(v("flag")));
        assert!(!c("flag", Op::Equals, json!(false), true).matches(v("flag")));
        assert!(c("p", Op::Equals, json!("/usr/bin/uname"), true).matches(v("process.file.path")));
        assert!(!c("p", Op::Equals, json!("/usr/bin/UNAME"), true).matches(v("process.file.path")));
        assert!(!c("x", Op::Equals, json!("x"), true).matches(v("process.missing")));
        assert!(!c("x", Op::Equals, json!("x"), true).matches(v("nothing")));
        assert!(Constraint::new("x", Op::Equals, Some(json!(null)), true).is_err());
    }

    #[test]
    fn case_insensitive_equals_folds_both_sides() {
        let observed = json!("c:\\windows\\system32\\cmd.exe");
        let expected = json!("C:\\Windows\\System32\\cmd.exe");
        assert!(c("f", Op::Equals, expected.clone(), false).matches(Some(&observed)));
        assert!(!c("f", Op::Equals, expected, true).matches(Some(&observed)));
        assert!(c("f", Op::Equals, json!("ΣΑΣ"), false).matches(Some(&json!("σας"))));
        assert!(c("f", Op::Equals, json!("KELVIN"), false).matches(Some(&json!("\u{212A}elvin"))));
    }

    #[test]
    fn fold_case_is_simple_folding() {
        assert_eq!(fold_case("ABC déF"), "abc déf");
        assert_eq!(fold_case("ς"), "σ");
        assert_eq!(fold_case("ſ"), "s");
        // İ lowercases to two characters: simple folding leaves it.
        assert_eq!(fold_case("İ"), "İ");
        // ß has no simple fold to "ss".
        assert_eq!(fold_case("Straße"), "straße");
        assert_eq!(fold_case("ẞ"), "ß");
    }

    #[test]
    fn contains_is_a_substring_test_on_strings() {
        let ev = event();
        let cmd = at(&ev, "process.cmd_line");
        assert!(c("f", Op::Contains, json!("cmd.exe /c"), true).matches(cmd));
        assert!(!c("f", Op::Contains, json!("CMD.EXE"), true).matches(cmd));
        assert!(c("f", Op::Contains, json!("CMD.EXE"), false).matches(cmd));
        assert!(!c("f", Op::Contains, json!("5"), true).matches(at(&ev, "process.pid")));
    }

    #[test]
    fn regex_searches_and_honours_case() {
        let observed = json!("C:\\Windows\\System32\\cmd.exe");
        assert!(c("f", Op::Regex, json!("cmd\\.exe"), true).matches(Some(&observed)));
        assert!(!c("f", Op::Regex, json!("^cmd"), true).matches(Some(&observed)));
        assert!(!c("f", Op::Regex, json!("CMD\\.EXE$"), true).matches(Some(&observed)));
        assert!(c("f", Op::Regex, json!("CMD\\.EXE$"), false).matches(Some(&observed)));
        assert!(!c("f", Op::Regex, json!("5"), true).matches(Some(&json!(5))));
    }

    #[test]
    fn numeric_comparisons_need_numbers() {
        let five = json!(5);
        assert!(c("f", Op::NumGte, json!(3), true).matches(Some(&five)));
        assert!(c("f", Op::NumGte, json!(5), true).matches(Some(&five)));
        assert!(!c("f", Op::NumGt, json!(5), true).matches(Some(&five)));
        assert!(c("f", Op::NumGt, json!(4.5), true).matches(Some(&five)));
        assert!(c("f", Op::NumLt, json!(6), true).matches(Some(&five)));
        assert!(!c("f", Op::NumLt, json!(5), true).matches(Some(&five)));
        assert!(c("f", Op::NumLte, json!(5), true).matches(Some(&five)));
        assert!(!c("f", Op::NumLte, json!(4), true).matches(Some(&five)));
        assert!(!c("f", Op::NumGte, json!(3), true).matches(Some(&json!("5"))));
        assert!(c("f", Op::NumLt, json!(0), true).matches(Some(&json!(-1))));
        assert!(c("f", Op::NumGt, json!(1), true).matches(Some(&json!(u64::MAX))));
    }

    #[test]
    fn exists_is_presence_and_arrays_only_exist() {
        let ev = event();
        let ex = Constraint::new("f", Op::Exists, None, true).unwrap();
        assert!(ex.matches(at(&ev, "observables")));
        assert!(ex.matches(at(&ev, "process")));
        assert!(ex.matches(at(&ev, "flag")));
        assert!(!ex.matches(at(&ev, "nothing")));
        assert!(!ex.matches(at(&ev, "process.missing")));
        let arr = at(&ev, "observables");
        for (op, v) in [
            (Op::Equals, json!("x")),
            (Op::OneOf, json!(["x"])),
            (Op::Contains, json!("x")),
            (Op::Regex, json!("x")),
            (Op::NumGte, json!(0)),
            (Op::NumLt, json!(10)),
        ] {
            assert!(
                !c("f", op, v.clone(), true).matches(arr),
                "{op:?} on an array"
            );
            assert!(
                !c("f", op, v, true).matches(at(&ev, "process")),
                "{op:?} on an object"
            );
        }
    }

    #[test]
    fn one_of_matches_any_scalar() {
        let ev = event();
        let path = at(&ev, "process.file.path");
        assert!(c("f", Op::OneOf, json!(["/bin/x", "/usr/bin/uname"]), true).matches(path));
        assert!(!c("f", Op::OneOf, json!(["/bin/x", "/USR/BIN/UNAME"]), true).matches(path));
        assert!(c("f", Op::OneOf, json!(["/bin/x", "/USR/BIN/UNAME"]), false).matches(path));
        assert!(c("f", Op::OneOf, json!([4, 5]), true).matches(at(&ev, "process.pid")));
        assert!(!c("f", Op::OneOf, json!(["5"]), true).matches(at(&ev, "process.pid")));
    }
}
