//! Compiled value matchers and the reference (straightforward) evaluation of one value.

use crate::event::{Event, FieldValue};
use regex::Regex;
use std::net::IpAddr;

/// Case folding used everywhere a match is case-insensitive: both sides are lowercased.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    fold_into(s, &mut out);
    out
}

/// [`fold`] into a reused buffer (no allocation for ASCII text).
pub(crate) fn fold_into(raw: &str, buf: &mut String) {
    buf.clear();
    if raw.is_ascii() {
        buf.push_str(raw);
        buf.make_ascii_lowercase();
    } else {
        buf.push_str(&raw.to_lowercase());
    }
}

/// Call `f` with [`fold`]`(t)`: ASCII text already in lower case is passed as is, other text is
/// folded into a reused per-thread buffer.
fn with_fold<R>(t: &str, f: impl FnOnce(&str) -> R) -> R {
    thread_local! {
        static BUF: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
    }
    if t.is_ascii() && !t.bytes().any(|b| b.is_ascii_uppercase()) {
        return f(t);
    }
    BUF.with(|b| match b.try_borrow_mut() {
        Ok(mut buf) => {
            fold_into(t, &mut buf);
            f(&buf)
        }
        // re-entered (not expected): fall back to an owned copy
        Err(_) => f(&fold(t)),
    })
}

/// Where a literal must occur in the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StrKind {
    /// The whole value.
    Exact,
    /// Anywhere.
    Contains,
    /// At the start.
    Starts,
    /// At the end.
    Ends,
}

impl StrKind {
    /// Test `hay` against `needle` for this placement.
    pub fn test(self, hay: &str, needle: &str) -> bool {
        match self {
            StrKind::Exact => hay == needle,
            StrKind::Contains => hay.contains(needle),
            StrKind::Starts => hay.starts_with(needle),
            StrKind::Ends => hay.ends_with(needle),
        }
    }
}

/// Numeric comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumOp {
    /// `gt`.
    Gt,
    /// `gte`.
    Gte,
    /// `lt`.
    Lt,
    /// `lte`.
    Lte,
}

/// A part of a date value (time modifiers `minute hour day week month year`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimePart {
    /// 0–59.
    Minute,
    /// 0–23.
    Hour,
    /// Day of the month, 1–31.
    Day,
    /// ISO 8601 week of the year, 1–53.
    Week,
    /// 1–12.
    Month,
    /// The year.
    Year,
}

impl TimePart {
    /// The part a modifier names.
    pub fn from_modifier(m: &str) -> Option<TimePart> {
        Some(match m {
            "minute" => TimePart::Minute,
            "hour" => TimePart::Hour,
            "day" => TimePart::Day,
            "week" => TimePart::Week,
            "month" => TimePart::Month,
            "year" => TimePart::Year,
            _ => return None,
        })
    }

    /// The modifier name.
    pub fn name(self) -> &'static str {
        match self {
            TimePart::Minute => "minute",
            TimePart::Hour => "hour",
            TimePart::Day => "day",
            TimePart::Week => "week",
            TimePart::Month => "month",
            TimePart::Year => "year",
        }
    }

    /// Extract the part from `YYYY-MM-DD[(T| )HH:MM[:SS[.f]]][Z|±HH:MM]` text, as written (no time
    /// zone conversion, as the specification says).
    pub fn extract(self, text: &str) -> Option<i64> {
        let t = text.trim().as_bytes();
        let num = |a: usize, b: usize| -> Option<i64> {
            let s = t.get(a..b)?;
            if s.iter().all(u8::is_ascii_digit) {
                std::str::from_utf8(s).ok()?.parse().ok()
            } else {
                None
            }
        };
        if t.len() < 10 || t[4] != b'-' || t[7] != b'-' {
            return None;
        }
        let (y, mo, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
        if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) {
            return None;
        }
        let time = if t.len() >= 16 && (t[10] == b'T' || t[10] == b' ') && t[13] == b':' {
            let (h, mi) = (num(11, 13)?, num(14, 16)?);
            (h < 24 && mi < 60).then_some((h, mi))
        } else {
            None
        };
        Some(match self {
            TimePart::Year => y,
            TimePart::Month => mo,
            TimePart::Day => d,
            TimePart::Week => iso_week(y, mo, d),
            TimePart::Hour => time?.0,
            TimePart::Minute => time?.1,
        })
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 (proleptic Gregorian).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// ISO 8601 week number.
fn iso_week(y: i64, m: i64, d: i64) -> i64 {
    let days = days_from_civil(y, m, d);
    let weekday = (days + 3).rem_euclid(7) + 1; // Monday = 1
    let doy = days - days_from_civil(y, 1, 1) + 1;
    let w = (doy - weekday + 10) / 7;
    let weeks_in = |yy: i64| {
        let jan1 = (days_from_civil(yy, 1, 1) + 3).rem_euclid(7) + 1;
        if jan1 == 4 || (is_leap(yy) && jan1 == 3) {
            53
        } else {
            52
        }
    };
    if w < 1 {
        weeks_in(y - 1)
    } else if w > weeks_in(y) {
        1
    } else {
        w
    }
}

/// An IP network (`cidr`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpNet {
    /// IPv4 network and prefix length.
    V4(u32, u8),
    /// IPv6 network and prefix length.
    V6(u128, u8),
}

impl IpNet {
    /// Parse `a.b.c.d/n`, `x::/n`, or a bare address (full prefix).
    pub fn parse(s: &str) -> Option<IpNet> {
        let s = s.trim();
        let (addr, len) = match s.split_once('/') {
            Some((a, l)) => (a, Some(l.trim().parse::<u8>().ok()?)),
            None => (s, None),
        };
        match addr.trim().parse::<IpAddr>().ok()? {
            IpAddr::V4(a) => {
                let l = len.unwrap_or(32);
                (l <= 32).then(|| IpNet::V4(u32::from(a) & mask32(l), l))
            }
            IpAddr::V6(a) => {
                let l = len.unwrap_or(128);
                (l <= 128).then(|| IpNet::V6(u128::from(a) & mask128(l), l))
            }
        }
    }

    /// True when `text` is an IP address inside the network (IPv4-mapped IPv6 counts as IPv4).
    pub fn contains_text(&self, text: &str) -> bool {
        let t = text.trim();
        let t = t
            .strip_prefix('[')
            .and_then(|x| x.strip_suffix(']'))
            .unwrap_or(t);
        let t = t.split('%').next().unwrap_or(t);
        let Ok(ip) = t.parse::<IpAddr>() else {
            return false;
        };
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self, ip) {
            (IpNet::V4(net, l), IpAddr::V4(a)) => u32::from(a) & mask32(*l) == *net,
            (IpNet::V6(net, l), IpAddr::V6(a)) => u128::from(a) & mask128(*l) == *net,
            _ => false,
        }
    }
}

fn mask32(l: u8) -> u32 {
    if l == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(l))
    }
}

fn mask128(l: u8) -> u128 {
    if l == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(l))
    }
}

/// One compiled value pattern.
#[derive(Debug, Clone)]
pub enum Matcher {
    /// A literal with a placement; `needle` is already folded unless `cased`.
    Lit {
        /// Placement.
        kind: StrKind,
        /// The literal.
        needle: String,
        /// Case-sensitive.
        cased: bool,
    },
    /// A wildcard pattern compiled to an anchored regex over the folded (or, if cased, raw) text.
    Glob {
        /// The regex.
        regex: Regex,
        /// Case-sensitive.
        cased: bool,
        /// The pattern as written (after modifiers), for explanations.
        source: String,
        /// A literal every matching (folded unless cased) value contains; may be empty.
        required: String,
    },
    /// `*`: any non-null scalar.
    Any,
    /// `re`: a regex over the raw text.
    Re {
        /// The regex (flags inline).
        regex: Regex,
    },
    /// `cidr`.
    Cidr {
        /// Network.
        net: IpNet,
        /// As written.
        source: String,
    },
    /// `gt|gte|lt|lte`.
    Num {
        /// Operator.
        op: NumOp,
        /// Operand.
        value: f64,
    },
    /// A time modifier: the date part compared with `op` (equality when `None`).
    Time {
        /// Which part.
        part: TimePart,
        /// Comparison (`gt`…), or equality.
        op: Option<NumOp>,
        /// Operand.
        value: f64,
    },
    /// `exists: true|false`.
    Exists(bool),
    /// `null`: the field is missing or null.
    Null,
    /// `fieldref`: compare with the value(s) of another field of the same event.
    FieldRef {
        /// Resolved event key of the other field.
        key: String,
        /// The other field's Sigma name.
        field: String,
        /// Placement.
        kind: StrKind,
        /// Case-sensitive.
        cased: bool,
    },
}

impl Matcher {
    /// True for the kinds the fast engine indexes (literal, glob, any, regex).
    pub fn is_indexed(&self) -> bool {
        matches!(
            self,
            Matcher::Lit { .. } | Matcher::Glob { .. } | Matcher::Any | Matcher::Re { .. }
        )
    }

    /// A short human description, for explanations.
    pub fn describe(&self) -> String {
        match self {
            Matcher::Lit {
                kind,
                needle,
                cased,
            } => {
                let k = match kind {
                    StrKind::Exact => "equals",
                    StrKind::Contains => "contains",
                    StrKind::Starts => "startswith",
                    StrKind::Ends => "endswith",
                };
                format!("{k}{} {needle:?}", if *cased { " (cased)" } else { "" })
            }
            Matcher::Glob { source, cased, .. } => {
                format!(
                    "wildcard{} {source:?}",
                    if *cased { " (cased)" } else { "" }
                )
            }
            Matcher::Any => "any value".into(),
            Matcher::Re { regex } => format!("re {:?}", regex.as_str()),
            Matcher::Cidr { source, .. } => format!("cidr {source}"),
            Matcher::Num { op, value } => format!(
                "{} {}",
                match op {
                    NumOp::Gt => "gt",
                    NumOp::Gte => "gte",
                    NumOp::Lt => "lt",
                    NumOp::Lte => "lte",
                },
                crate::yaml::float_text(*value)
            ),
            Matcher::Time { part, op, value } => format!(
                "{} {} {}",
                part.name(),
                match op {
                    None => "==",
                    Some(NumOp::Gt) => ">",
                    Some(NumOp::Gte) => ">=",
                    Some(NumOp::Lt) => "<",
                    Some(NumOp::Lte) => "<=",
                },
                crate::yaml::float_text(*value)
            ),
            Matcher::Exists(b) => format!("exists {b}"),
            Matcher::Null => "null (missing or null)".into(),
            Matcher::FieldRef { field, kind, .. } => format!("fieldref {field} ({kind:?})"),
        }
    }

    /// Does one event value match? (Not used for `Exists`, `Null` and `FieldRef`, which need the
    /// whole field.)
    pub fn value_matches(&self, v: &FieldValue<'_>) -> bool {
        match self {
            Matcher::Lit {
                kind,
                needle,
                cased,
            } => match v.text() {
                Some(t) if *cased => kind.test(&t, needle),
                Some(t) => with_fold(&t, |t| kind.test(t, needle)),
                None => false,
            },
            Matcher::Glob { regex, cased, .. } => match v.text() {
                Some(t) if *cased => regex.is_match(&t),
                Some(t) => with_fold(&t, |t| regex.is_match(t)),
                None => false,
            },
            Matcher::Any => v.text().is_some(),
            Matcher::Re { regex } => v.text().is_some_and(|t| regex.is_match(&t)),
            Matcher::Cidr { net, .. } => v.text().is_some_and(|t| net.contains_text(&t)),
            Matcher::Num { op, value } => v.number().is_some_and(|n| match op {
                NumOp::Gt => n > *value,
                NumOp::Gte => n >= *value,
                NumOp::Lt => n < *value,
                NumOp::Lte => n <= *value,
            }),
            Matcher::Time { part, op, value } => {
                v.text().and_then(|t| part.extract(&t)).is_some_and(|n| {
                    let n = n as f64;
                    match op {
                        None => n == *value,
                        Some(NumOp::Gt) => n > *value,
                        Some(NumOp::Gte) => n >= *value,
                        Some(NumOp::Lt) => n < *value,
                        Some(NumOp::Lte) => n <= *value,
                    }
                })
            }
            Matcher::Exists(_) | Matcher::Null | Matcher::FieldRef { .. } => false,
        }
    }

    /// Does the field (all its values) match? The reference semantics for every kind.
    pub fn field_matches(&self, vals: &[FieldValue<'_>], event: &dyn Event) -> bool {
        match self {
            Matcher::Exists(b) => vals.is_empty() != *b,
            Matcher::Null => vals.iter().all(|v| matches!(v, FieldValue::Null)),
            Matcher::FieldRef {
                key, kind, cased, ..
            } => {
                let mut other = Vec::new();
                event.values(key, &mut other);
                let prep = |t: &str| if *cased { t.to_owned() } else { fold(t) };
                let others: Vec<String> = other
                    .iter()
                    .filter_map(|o| o.text().map(|t| prep(&t)))
                    .collect();
                vals.iter().any(|v| {
                    v.text()
                        .is_some_and(|t| others.iter().any(|o| kind.test(&prep(&t), o)))
                })
            }
            _ => vals.iter().any(|v| self.value_matches(v)),
        }
    }

    /// Keyword (unbound) match against one event string.
    pub fn keyword_matches(&self, s: &str) -> bool {
        self.value_matches(&FieldValue::Str(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_fold_gives_fold() {
        for t in [
            "",
            "lower",
            "C:\\Windows\\CMD.EXE",
            "Straße ΣΑΣ",
            "MiXeD 123",
        ] {
            assert_eq!(with_fold(t, str::to_owned), fold(t), "{t:?}");
            // nested use (the buffer is busy) still folds
            assert_eq!(
                with_fold(t, |a| with_fold("ABC", |b| format!("{a}{b}"))),
                fold(t) + "abc"
            );
        }
    }

    #[test]
    fn cidr_v4_v6() {
        let n = IpNet::parse("10.0.0.0/8").expect("net");
        assert!(n.contains_text("10.1.2.3"));
        assert!(n.contains_text("::ffff:10.9.9.9"));
        assert!(!n.contains_text("11.0.0.1"));
        assert!(!n.contains_text("not an ip"));
        let n6 = IpNet::parse("fe80::/10").expect("net");
        assert!(n6.contains_text("fe80::1"));
        assert!(n6.contains_text("fe80::1%eth0"));
        assert!(!n6.contains_text("2001:db8::1"));
        assert!(!n6.contains_text("10.0.0.1"));
        let host = IpNet::parse("192.168.1.5").expect("host");
        assert!(host.contains_text("192.168.1.5") && !host.contains_text("192.168.1.6"));
        assert!(IpNet::parse("10.0.0.0/33").is_none());
        assert!(
            IpNet::parse("0.0.0.0/0")
                .expect("any")
                .contains_text("8.8.8.8")
        );
    }

    #[test]
    fn time_parts() {
        let t = "2025-11-27T07:40:10.165324Z";
        assert_eq!(TimePart::Year.extract(t), Some(2025));
        assert_eq!(TimePart::Month.extract(t), Some(11));
        assert_eq!(TimePart::Day.extract(t), Some(27));
        assert_eq!(TimePart::Hour.extract(t), Some(7));
        assert_eq!(TimePart::Minute.extract(t), Some(40));
        assert_eq!(TimePart::Week.extract(t), Some(48));
        assert_eq!(TimePart::Hour.extract("2025-12-03 23:05:38.149"), Some(23));
        // ISO weeks at year boundaries
        assert_eq!(TimePart::Week.extract("2021-01-03"), Some(53));
        assert_eq!(TimePart::Week.extract("2024-12-30"), Some(1));
        assert_eq!(TimePart::Week.extract("2026-01-01"), Some(1));
        assert_eq!(TimePart::Hour.extract("2025-11-27"), None);
        assert_eq!(TimePart::Day.extract("2025-02-30"), None);
        assert_eq!(TimePart::Year.extract("yesterday"), None);
    }

    #[test]
    fn kinds() {
        assert!(StrKind::Exact.test("abc", "abc"));
        assert!(!StrKind::Exact.test("abcd", "abc"));
        assert!(StrKind::Starts.test("abcd", "ab"));
        assert!(StrKind::Ends.test("abcd", "cd"));
        assert!(StrKind::Contains.test("abcd", "bc"));
    }
}
