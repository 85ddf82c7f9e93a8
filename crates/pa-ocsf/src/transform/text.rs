//! Text helpers of the transforms: the text of a scalar, and the parsers of integers, times,
//! `key=value` lists, host:port pairs, audit sockaddrs and hash lists.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::TimeFormat;

/// The text of a scalar: a string's own text (borrowed), a number or boolean printed (owned);
/// `None` for null, arrays and objects.
pub(super) fn text_of(v: &Value) -> Option<Cow<'_, str>> {
    match v {
        Value::String(s) => Some(Cow::Borrowed(s)),
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        Value::Bool(b) => Some(Cow::Owned(b.to_string())),
        _ => None,
    }
}

/// The text of a scalar (strings as is, numbers and booleans printed).
pub(crate) fn scalar_text(v: &Value) -> Option<String> {
    text_of(v).map(Cow::into_owned)
}

/// Whether `s` is in `set` (whose members are lowercase when `ignore_case`; `max_len` is the
/// byte length of the longest).
pub(super) fn in_set(s: &str, set: &BTreeSet<String>, ignore_case: bool, max_len: usize) -> bool {
    // a longer text cannot be a member (lowercasing keeps an ASCII text's length)
    if s.len() > max_len && (!ignore_case || s.is_ascii()) {
        false
    } else if !ignore_case {
        set.contains(s)
    } else if s.bytes().all(|b| b.is_ascii() && !b.is_ascii_uppercase()) {
        // already its own lowercase form
        set.contains(s)
    } else {
        set.contains(&s.to_lowercase())
    }
}

pub(super) fn parse_int(s: &str, hex: bool) -> Option<i64> {
    if hex {
        if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
            return i64::from_str_radix(h, 16).ok();
        }
    }
    s.parse::<i64>().ok()
}

const MAX_MS: i64 = 253_402_300_799_999; // 9999-12-31T23:59:59.999Z

pub(super) fn parse_time(v: &Value, f: TimeFormat) -> Option<i64> {
    let ms = match (f, v) {
        (TimeFormat::EpochMillis, Value::Number(n)) => n.as_i64(),
        (TimeFormat::EpochMillis, Value::String(s)) => s.trim().parse::<i64>().ok(),
        (TimeFormat::EpochSeconds, Value::Number(n)) => n
            .as_i64()
            .and_then(|s| s.checked_mul(1000))
            .or_else(|| n.as_f64().and_then(seconds_f64_to_ms)),
        (TimeFormat::EpochSeconds, Value::String(s)) => epoch_seconds_text(s.trim()),
        (TimeFormat::Rfc3339, Value::String(s)) => pa_canon::parse_rfc3339_to_millis(s).ok(),
        (TimeFormat::SpaceUtc, Value::String(s)) => {
            let t = s.trim();
            if t.len() < 19 || t.as_bytes().get(10) != Some(&b' ') {
                return None;
            }
            let iso = format!("{}T{}Z", &t[..10], &t[11..]);
            pa_canon::parse_rfc3339_to_millis(&iso).ok()
        }
        _ => None,
    }?;
    (0..=MAX_MS).contains(&ms).then_some(ms)
}

fn seconds_f64_to_ms(f: f64) -> Option<i64> {
    if f.is_finite() && (0.0..=(MAX_MS as f64 / 1000.0)).contains(&f) {
        Some((f * 1000.0).floor() as i64)
    } else {
        None
    }
}

/// `1795343951` or `1795343951.263` (exact decimal, extra precision truncated).
fn epoch_seconds_text(s: &str) -> Option<i64> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if int.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let secs: i64 = int.parse().ok()?;
    let mut ms_digits: String = frac.chars().take(3).collect();
    while ms_digits.len() < 3 {
        ms_digits.push('0');
    }
    let ms: i64 = ms_digits.parse().ok()?;
    secs.checked_mul(1000)?.checked_add(ms)
}

/// `(address, port)` of a hex `struct sockaddr_in` / `sockaddr_in6` as audit prints it
/// (family little-endian, port big-endian). Other families (unix, netlink...) give `None`.
pub(super) fn decode_sockaddr(hex: &str) -> Option<(std::net::IpAddr, u16)> {
    let h = hex.trim();
    if !h.len().is_multiple_of(2) || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let bytes: Vec<u8> = (0..h.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&h[i..i + 2], 16))
        .collect::<Result<_, _>>()
        .ok()?;
    let family = u16::from_le_bytes([*bytes.first()?, *bytes.get(1)?]);
    let port = u16::from_be_bytes([*bytes.get(2)?, *bytes.get(3)?]);
    match family {
        2 => {
            let a: [u8; 4] = bytes.get(4..8)?.try_into().ok()?;
            Some((std::net::IpAddr::from(a), port))
        }
        10 => {
            let a: [u8; 16] = bytes.get(8..24)?.try_into().ok()?;
            Some((std::net::IpAddr::from(a), port))
        }
        _ => None,
    }
}

/// The value of `key` in a `k=v k2="v 2" ...` list (double quotes removed; a bare word
/// without `=` is skipped).
pub(super) fn kv_get<'s>(s: &'s str, key: &str) -> Option<&'s str> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        let start = i;
        while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'=' {
            i += 1;
        }
        let k = &s[start..i];
        if i >= b.len() || b[i] != b'=' {
            continue;
        }
        i += 1;
        let value = if i < b.len() && b[i] == b'"' {
            i += 1;
            let vs = i;
            while i < b.len() && b[i] != b'"' {
                i += 1;
            }
            let v = &s[vs..i];
            i += 1;
            v
        } else {
            let vs = i;
            while i < b.len() && !b[i].is_ascii_whitespace() {
                i += 1;
            }
            &s[vs..i]
        };
        if k == key {
            return Some(value);
        }
    }
    None
}

pub(super) fn split_host_port(s: &str) -> Option<(&str, &str)> {
    let s = s.trim();
    if let Some(rest) = s.strip_prefix('[') {
        let (h, p) = rest.split_once("]:")?;
        return (!h.is_empty() && !p.is_empty()).then_some((h, p));
    }
    let (h, p) = s.rsplit_once(':')?;
    if h.contains(':') || h.is_empty() || p.is_empty() {
        return None;
    }
    Some((h, p))
}

/// `SHA1=..,MD5=..,IMPHASH=..` → OCSF fingerprints sorted by (algorithm_id, value), deduplicated.
/// Algorithms not in `ids` get `other_id` and keep their name in `algorithm`.
/// `Ok(None)` for a list without items; `Err` says which item is not `ALGO=value`.
pub(super) fn parse_hashes(
    s: &str,
    ids: &BTreeMap<String, i64>,
    other_id: i64,
) -> Result<Option<Value>, String> {
    let mut out: BTreeMap<(i64, String, String), Value> = BTreeMap::new();
    for item in s.split(',') {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        let Some((name, value)) = item.split_once('=') else {
            return Err(format!("parse_hashes: {item:?} is not ALGO=value"));
        };
        let (name, value) = (name.trim(), value.trim());
        if name.is_empty() || value.is_empty() {
            return Err(format!("parse_hashes: {item:?} is not ALGO=value"));
        }
        let mut fp = Map::new();
        let id = match ids.get(&name.to_ascii_uppercase()) {
            Some(id) => *id,
            None => {
                fp.insert("algorithm".into(), Value::String(name.to_string()));
                other_id
            }
        };
        fp.insert("algorithm_id".into(), Value::from(id));
        fp.insert("value".into(), Value::String(value.to_string()));
        let label = if id == other_id {
            name.to_string()
        } else {
            String::new()
        };
        out.entry((id, value.to_string(), label))
            .or_insert(Value::Object(fp));
    }
    Ok((!out.is_empty()).then(|| Value::Array(out.into_values().collect())))
}
