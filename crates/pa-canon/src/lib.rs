//! Canonical data layer: RFC 8785 JSON (JCS), digests, bytewise-stable sorting and
//! RFC 3339 UTC timestamps.
//!
//! Every artifact and every identity hash in Purple Axiom goes through this crate, so
//! that the same inputs give byte-identical outputs.
//!
//! * [`jcs`] / [`jcs_string`]: RFC 8785 canonical bytes of any `serde_json::Value`, with a
//!   guard that refuses integers outside the IEEE-754 exact range (|n| > 2^53 − 1), which
//!   every JCS implementation would otherwise round silently.
//! * [`sha256_hex`], [`sha256_prefixed`] (`sha256:<hex>`), [`jcs_sha256_hex`], [`blake3_hex`].
//! * [`sort_bytewise`]: sort strings by their UTF-8 bytes (the spec's order everywhere).
//! * [`format_utc_millis`], [`parse_rfc3339_to_millis`], [`now_utc_millis`].
//! * [`to_jsonl_line`]: one canonical JSON line (JCS + LF).

mod writer;

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Largest integer JCS can carry exactly (2^53 − 1).
pub const MAX_SAFE_INTEGER: u64 = 9_007_199_254_740_991;

/// Errors of the canonical layer.
#[derive(Debug, thiserror::Error)]
pub enum CanonError {
    /// An integer is beyond ±(2^53 − 1) and would be rounded by RFC 8785.
    #[error(
        "integer {value} at {pointer} is outside the exact JSON number range (|n| <= 2^53-1); carry it as a string"
    )]
    UnsafeInteger { pointer: String, value: String },
    /// The value could not be serialized to JSON.
    #[error("cannot serialize to JSON: {0}")]
    Serialize(#[from] serde_json::Error),
    /// The canonicalizer refused the value (non-finite number...).
    #[error("cannot canonicalize JSON: {0}")]
    Canonicalize(String),
    /// A timestamp did not parse.
    #[error("invalid RFC 3339 timestamp {value:?}: {reason}")]
    Time { value: String, reason: String },
}

/// Whether an integer's decimal text is exactly the RFC 8785 rendering of the double nearest
/// to it (so writing it as a JSON number changes nothing).
fn integer_is_its_own_double(n: &serde_json::Number) -> bool {
    let Some(f) = n.as_f64() else {
        return false;
    };
    let Some(d) = serde_json::Number::from_f64(f) else {
        return false;
    };
    serde_json_canonicalizer::to_string(&Value::Number(d)).is_ok_and(|t| t == n.to_string())
}

fn check_integers(v: &Value, pointer: &mut String) -> Result<(), CanonError> {
    match v {
        Value::Number(n) => {
            let big = if let Some(u) = n.as_u64() {
                u > MAX_SAFE_INTEGER
            } else if let Some(i) = n.as_i64() {
                i.unsigned_abs() > MAX_SAFE_INTEGER
            } else {
                false
            };
            // Beyond ±(2^53 − 1) an integer is refused unless it is exactly what RFC 8785
            // writes for the double it denotes (JCS output such as `777797777777777800`
            // canonicalizes again to itself); otherwise its digits would change silently.
            let bad = big && !integer_is_its_own_double(n);
            if bad {
                return Err(CanonError::UnsafeInteger {
                    pointer: if pointer.is_empty() {
                        "/".into()
                    } else {
                        pointer.clone()
                    },
                    value: n.to_string(),
                });
            }
            Ok(())
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&i.to_string());
                check_integers(item, pointer)?;
                pointer.truncate(len);
            }
            Ok(())
        }
        Value::Object(map) => {
            for (k, item) in map {
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&k.replace('~', "~0").replace('/', "~1"));
                check_integers(item, pointer)?;
                pointer.truncate(len);
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// RFC 8785 canonical bytes of a JSON value.
pub fn jcs_value(v: &Value) -> Result<Vec<u8>, CanonError> {
    check_integers(v, &mut String::new())?;
    serde_json_canonicalizer::to_vec(v).map_err(|e| CanonError::Canonicalize(e.to_string()))
}

/// A serializable document as a JSON value (to validate it against its contract before
/// writing it).
pub fn to_value<T: Serialize + ?Sized>(v: &T) -> Result<Value, CanonError> {
    Ok(serde_json::to_value(v)?)
}

/// RFC 8785 canonical bytes of any serializable value.
///
/// Written straight from the value's `Serialize` (no `serde_json::Value` in between); the few
/// cases that writer leaves to the value path (an integer beyond ±(2^53 − 1), a non-finite
/// float, a duplicate member name, an unusual map key, an error of the value itself) take
/// [`jcs_value`] over `serde_json::to_value`, which gives the same bytes or the error.
pub fn jcs<T: Serialize + ?Sized>(v: &T) -> Result<Vec<u8>, CanonError> {
    match writer::to_vec(v) {
        Ok(bytes) => Ok(bytes),
        Err(writer::Fallback) => jcs_via_value(v),
    }
}

/// [`jcs`] through a `serde_json::Value` (the reference path).
fn jcs_via_value<T: Serialize + ?Sized>(v: &T) -> Result<Vec<u8>, CanonError> {
    let value = serde_json::to_value(v)?;
    jcs_value(&value)
}

/// Appends `s` as an RFC 8785 JSON string (quotes included) to `out`: for writers that build
/// canonical JSON themselves.
pub fn write_jcs_string(out: &mut Vec<u8>, s: &str) {
    writer::write_str(out, s);
}

/// RFC 8785 canonical text of any serializable value.
pub fn jcs_string<T: Serialize + ?Sized>(v: &T) -> Result<String, CanonError> {
    let bytes = jcs(v)?;
    // JCS output is UTF-8 by construction.
    String::from_utf8(bytes).map_err(|e| CanonError::Canonicalize(e.to_string()))
}

/// One JSONL line: JCS text followed by LF.
pub fn to_jsonl_line<T: Serialize + ?Sized>(v: &T) -> Result<String, CanonError> {
    let mut s = jcs_string(v)?;
    s.push('\n');
    Ok(s)
}

/// [`to_jsonl_line`] of a JSON value, written from the value directly (the same bytes, or
/// the same error).
pub fn value_to_jsonl_line(v: &Value) -> Result<String, CanonError> {
    let mut out = Vec::with_capacity(1024);
    match writer::write_value(&mut out, v) {
        Ok(()) => {
            out.push(b'\n');
            // JCS output is UTF-8 by construction.
            String::from_utf8(out).map_err(|e| CanonError::Canonicalize(e.to_string()))
        }
        Err(writer::Fallback) => to_jsonl_line(v),
    }
}

/// Lowercase hex SHA-256 of bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// `sha256:<hex>` of bytes: the digest string form used in our own JSON.
pub fn sha256_prefixed(bytes: &[u8]) -> String {
    format!("sha256:{}", sha256_hex(bytes))
}

/// Lowercase hex SHA-256 of the JCS bytes of a value (identity hashes).
pub fn jcs_sha256_hex<T: Serialize + ?Sized>(v: &T) -> Result<String, CanonError> {
    Ok(sha256_hex(&jcs(v)?))
}

/// Lowercase hex BLAKE3 of bytes (internal content addressing).
pub fn blake3_hex(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

/// Sort strings by their UTF-8 bytes and remove duplicates.
pub fn sort_bytewise<S: AsRef<str> + Ord>(items: &mut Vec<S>) {
    items.sort_by(|a, b| a.as_ref().as_bytes().cmp(b.as_ref().as_bytes()));
    items.dedup_by(|a, b| a.as_ref() == b.as_ref());
}

/// Format epoch milliseconds as RFC 3339 UTC with exactly three fractional digits
/// (`2026-01-02T03:04:05.678Z`).
pub fn format_utc_millis(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let milli = ms.rem_euclid(1000);
    match OffsetDateTime::from_unix_timestamp(secs) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            milli
        ),
        // Out of range for the calendar: clamp to the epoch rather than panic.
        Err(_) => "1970-01-01T00:00:00.000Z".to_string(),
    }
}

/// Parse an RFC 3339 timestamp (any offset, any fractional precision) to epoch
/// milliseconds, truncating extra precision.
pub fn parse_rfc3339_to_millis(s: &str) -> Result<i64, CanonError> {
    let t = OffsetDateTime::parse(s.trim(), &Rfc3339).map_err(|e| CanonError::Time {
        value: s.to_string(),
        reason: e.to_string(),
    })?;
    let nanos = t.unix_timestamp_nanos();
    Ok(nanos.div_euclid(1_000_000) as i64)
}

/// The current wall-clock time in epoch milliseconds.
pub fn now_utc_millis() -> i64 {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// The current wall-clock time as RFC 3339 UTC with milliseconds.
pub fn now_utc_string() -> String {
    format_utc_millis(now_utc_millis())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A pseudo-random JSON value (xorshift): keys and strings from a small alphabet with
    /// escapes, non-ASCII and astral characters; numbers around the safe-integer limit.
    fn random_value(seed: &mut u64, depth: u32) -> Value {
        let mut next = || {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            *seed
        };
        let pick = |n: u64, r: u64| (r % n) as usize;
        const ATOMS: [&str; 16] = [
            "a",
            "B",
            "é",
            "\u{1f600}",
            "\u{fb33}",
            "\"",
            "\n\u{1}",
            "z.y",
            "\\",
            "\t\r",
            "\u{8}\u{c}",
            "\u{7f}",
            "\u{2028}",
            "",
            "\u{ffff}",
            "0",
        ];
        let text = |r: u64| -> String {
            (0..pick(4, r) + 1)
                .map(|i| ATOMS[pick(16, r >> (8 * i))])
                .collect()
        };
        let r = next();
        match pick(if depth == 0 { 5 } else { 7 }, r) {
            0 => Value::Null,
            1 => Value::Bool(r & 64 == 0),
            2 => match pick(7, r >> 8) {
                0 => json!(MAX_SAFE_INTEGER),
                1 => json!(MAX_SAFE_INTEGER + 1), // 2^53: its own double, accepted
                5 => json!(MAX_SAFE_INTEGER + 2), // refused
                2 => json!(-(MAX_SAFE_INTEGER as i64)),
                3 => json!((r >> 20) as i64 - (1 << 40)),
                4 => json!(f64::from_bits(r >> 2).clamp(-1e300, 1e300)),
                _ => json!(-0.0),
            },
            3 | 4 => Value::String(text(r >> 8)),
            5 => Value::Array(
                (0..pick(4, r >> 8))
                    .map(|_| random_value(seed, depth - 1))
                    .collect(),
            ),
            _ => {
                let n = pick(5, r >> 8);
                let keys: Vec<String> = (0..n)
                    .map(|i| text(r.rotate_left(9 * i as u32 + 3)))
                    .collect();
                let mut m = serde_json::Map::new();
                for k in keys {
                    m.insert(k, random_value(seed, depth - 1));
                }
                Value::Object(m)
            }
        }
    }

    #[test]
    fn value_lines_are_the_serialize_path_lines() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let (mut same, mut errors) = (0, 0);
        for _ in 0..5000 {
            let v = random_value(&mut seed, 4);
            match (value_to_jsonl_line(&v), to_jsonl_line(&v)) {
                (Ok(a), Ok(b)) => {
                    assert_eq!(a, b, "{v}");
                    same += 1;
                }
                (Err(a), Err(b)) => {
                    assert_eq!(a.to_string(), b.to_string());
                    errors += 1;
                }
                (a, b) => panic!("{v}: {a:?} vs {b:?}"),
            }
        }
        // Both kinds of outcome were exercised.
        assert!(same > 1000 && errors > 100, "{same} {errors}");
    }

    #[test]
    fn value_lines_of_edge_values() {
        let mut deep = json!(1);
        for _ in 0..100 {
            deep = json!({"k": [deep]});
        }
        for v in [
            json!(u64::MAX),
            json!(i64::MIN),
            json!(-(MAX_SAFE_INTEGER as i64)),
            json!(-(MAX_SAFE_INTEGER as i64) - 1),
            json!(1e21),
            json!(5e-324),
            json!({"": 0, "\u{7f}": [], "\u{2028}": {}}),
            deep,
        ] {
            match (value_to_jsonl_line(&v), to_jsonl_line(&v)) {
                (Ok(a), Ok(b)) => assert_eq!(a, b),
                (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
                (a, b) => panic!("{v}: {a:?} vs {b:?}"),
            }
        }
    }

    #[test]
    fn numbers_follow_rfc8785() {
        let v: Value = serde_json::from_str("[56.0, 1E30, 4.50, 2e-3, -0.0, 1e21, 1e20]").unwrap();
        assert_eq!(
            jcs_string(&v).unwrap(),
            "[56,1e+30,4.5,0.002,0,1e+21,100000000000000000000]"
        );
    }

    #[test]
    fn keys_sort_by_utf16_code_units() {
        // U+1F600 (surrogates D83D DE00) sorts before U+FB33 in UTF-16 order.
        let v = json!({"\u{fb33}": 1, "\u{1f600}": 2});
        assert_eq!(jcs_string(&v).unwrap(), "{\"\u{1f600}\":2,\"\u{fb33}\":1}");
    }

    #[test]
    fn integers_beyond_2_pow_53_are_refused_with_a_pointer() {
        let v = json!({"a": [1, 9_007_199_254_740_993u64]});
        let err = jcs_value(&v).unwrap_err().to_string();
        assert!(err.contains("/a/1"), "{err}");
        assert!(jcs_value(&json!(MAX_SAFE_INTEGER)).is_ok());
        assert!(jcs_value(&json!(-(MAX_SAFE_INTEGER as i64) - 2)).is_err());
        // -2^53 is a double exactly, written with the same digits: nothing changes.
        assert!(jcs_value(&json!(-(MAX_SAFE_INTEGER as i64) - 1)).is_ok());
    }

    /// Found by the `jcs` fuzz target: a double such as 7.777977777777778e17 is written
    /// `777797777777777800`, which must canonicalize again to itself; an integer whose digits
    /// the double would change is still refused.
    #[test]
    fn canonical_output_canonicalizes_again() {
        let v: Value = serde_json::from_str("777797777777777777.777").unwrap();
        let once = jcs(&v).unwrap();
        assert_eq!(once, b"777797777777777800");
        let back: Value = serde_json::from_slice(&once).unwrap();
        assert_eq!(jcs(&back).unwrap(), once);
        assert_eq!(jcs_value(&back).unwrap(), once);
        let exact: Value = serde_json::from_str("777797777777777792").unwrap();
        assert!(jcs(&exact).is_err(), "digits would change silently");
    }

    #[test]
    fn millis_round_trip_and_truncate() {
        let ms = parse_rfc3339_to_millis("2019-03-19T23:34:24.9875406Z").unwrap();
        assert_eq!(format_utc_millis(ms), "2019-03-19T23:34:24.987Z");
        assert_eq!(
            parse_rfc3339_to_millis("1970-01-01T01:00:00+01:00").unwrap(),
            0
        );
        assert_eq!(format_utc_millis(-1), "1969-12-31T23:59:59.999Z");
        assert!(parse_rfc3339_to_millis("yesterday").is_err());
    }

    #[test]
    fn bytewise_sort_dedups() {
        let mut v = vec!["b", "B", "a", "b", "\u{e9}", "z"];
        sort_bytewise(&mut v);
        assert_eq!(v, vec!["B", "a", "b", "z", "\u{e9}"]);
    }

    #[test]
    fn digests() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(sha256_prefixed(b"").starts_with("sha256:e3b0c442"));
        assert_eq!(
            blake3_hex(b""),
            "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
        );
    }
}
