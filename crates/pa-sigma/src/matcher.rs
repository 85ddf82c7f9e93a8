//! Compiled value matchers and the reference (straightforward) evaluation of one value.

use crate::event::{Event, FieldValue};
use regex::Regex;
use std::net::IpAddr;

/// Case folding used everywhere a match is case-insensitive: both sides are lowercased.
pub fn fold(s: &str) -> String {
    if s.is_ascii() {
        s.to_ascii_lowercase()
    } else {
        s.to_lowercase()
    }
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
                Some(t) => kind.test(&fold(&t), needle),
                None => false,
            },
            Matcher::Glob { regex, cased, .. } => match v.text() {
                Some(t) if *cased => regex.is_match(&t),
                Some(t) => regex.is_match(&fold(&t)),
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
    fn kinds() {
        assert!(StrKind::Exact.test("abc", "abc"));
        assert!(!StrKind::Exact.test("abcd", "abc"));
        assert!(StrKind::Starts.test("abcd", "ab"));
        assert!(StrKind::Ends.test("abcd", "cd"));
        assert!(StrKind::Contains.test("abcd", "bc"));
    }
}
