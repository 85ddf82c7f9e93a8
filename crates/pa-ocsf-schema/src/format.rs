//! String forms of the dictionary types that declare a `regex` in OCSF 1.7.0, checked by
//! hand (no regex engine): each function accepts exactly the language of the type's pattern,
//! except where noted.

use std::net::{Ipv4Addr, Ipv6Addr};

/// `Some(reason)` if `s` is not a valid value of dictionary type `type_name`; `None` if it is
/// valid or the type has no string form to check.
pub(crate) fn check(type_name: &str, s: &str) -> Option<&'static str> {
    let ok = match type_name {
        "ip_t" => is_ip(s),
        "mac_t" => is_mac(s),
        "datetime_t" => is_datetime(s),
        "email_t" => is_email(s),
        "file_hash_t" => !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit()),
        "uuid_t" => contains_uuid(s),
        "bytestring_t" => is_base64(s),
        _ => true,
    };
    (!ok).then_some(match type_name {
        "ip_t" => "is not an IPv4 or IPv6 address",
        "mac_t" => "is not a MAC address of six hex pairs separated by ':' or '-'",
        "datetime_t" => "is not an RFC 3339 date-time (YYYY-MM-DDTHH:MM:SS[.f][Z|±HH:MM])",
        "email_t" => "is not an email address",
        "file_hash_t" => "is not a hex string",
        "uuid_t" => "does not contain a UUID (8-4-4-4-12 hex digits)",
        _ => "is not Base64 (RFC 4648, standard or URL-safe alphabet, padded)",
    })
}

/// IPv4 dotted quad or IPv6 (optionally with a `%zone`), surrounding whitespace allowed.
fn is_ip(s: &str) -> bool {
    let t = s.trim();
    if t.parse::<Ipv4Addr>().is_ok() {
        return true;
    }
    let addr = match t.split_once('%') {
        Some((a, zone)) if !zone.is_empty() => a,
        Some(_) => return false,
        None => t,
    };
    addr.parse::<Ipv6Addr>().is_ok()
}

fn is_mac(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 17
        && b.iter().enumerate().all(|(i, c)| {
            if i % 3 == 2 {
                *c == b':' || *c == b'-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

fn digits(b: &[u8], from: usize, n: usize) -> bool {
    b.get(from..from + n)
        .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
}

/// `\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})?`
fn is_datetime(s: &str) -> bool {
    let b = s.as_bytes();
    if !(digits(b, 0, 4)
        && b.get(4) == Some(&b'-')
        && digits(b, 5, 2)
        && b.get(7) == Some(&b'-')
        && digits(b, 8, 2)
        && matches!(b.get(10), Some(b'T' | b't'))
        && digits(b, 11, 2)
        && b.get(13) == Some(&b':')
        && digits(b, 14, 2)
        && b.get(16) == Some(&b':')
        && digits(b, 17, 2))
    {
        return false;
    }
    let mut i = 19;
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        i = start;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    match b.get(i) {
        None => true,
        Some(b'Z' | b'z') => i + 1 == b.len(),
        Some(b'+' | b'-') => {
            digits(b, i + 1, 2)
                && b.get(i + 3) == Some(&b':')
                && digits(b, i + 4, 2)
                && i + 6 == b.len()
        }
        Some(_) => false,
    }
}

/// `[a-zA-Z0-9!#$%&'*+-/=?^_`{|}~.]+@[a-zA-Z0-9-]+\.[a-zA-Z0-9-.]+` (in the pattern `+-/`
/// is the range `+ , - . /`).
fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"!#$%&'*+,-./=?^_`{|}~".contains(&c));
    let Some((label, rest)) = domain.split_once('.') else {
        return false;
    };
    let label_ok = !label.is_empty()
        && label
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-');
    let rest_ok = !rest.is_empty()
        && rest
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'.');
    local_ok && label_ok && rest_ok
}

/// The 1.7.0 pattern is unanchored: a UUID anywhere in the string matches.
fn contains_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 36 {
        return false;
    }
    (0..=b.len() - 36).any(|start| {
        b[start..start + 36].iter().enumerate().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                *c == b'-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
    })
}

/// Padded Base64 in the standard or the URL-safe alphabet (not mixed); empty is valid.
/// As in the pattern, a final group must carry padding (`==` or `=`), or be a full quad.
fn is_base64(s: &str) -> bool {
    let b = s.as_bytes();
    if !b.len().is_multiple_of(4) {
        return false;
    }
    let std = |c: u8| c.is_ascii_alphanumeric() || c == b'+' || c == b'/';
    let url = |c: u8| c.is_ascii_alphanumeric() || c == b'-' || c == b'_';
    let body_len = b.len() - b.iter().rev().take_while(|c| **c == b'=').count();
    if b.len() - body_len > 2 {
        return false;
    }
    let body = &b[..body_len];
    body.iter().all(|c| std(*c)) || body.iter().all(|c| url(*c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip() {
        for ok in [
            "192.168.1.10",
            "::1",
            "2001:db8::8a2e:370:7334",
            "fe80::1%eth0",
            " 10.0.0.1 ",
        ] {
            assert_eq!(check("ip_t", ok), None, "{ok}");
        }
        for bad in ["256.1.1.1", "example.com", "", "fe80::1%", "1.2.3"] {
            assert!(check("ip_t", bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn mac() {
        assert_eq!(check("mac_t", "18:36:F3:98:4F:9A"), None);
        assert_eq!(check("mac_t", "18-36-f3-98-4f-9a"), None);
        assert!(check("mac_t", "1836F3984F9A").is_some());
        assert!(check("mac_t", "18:36:F3:98:4F:9G").is_some());
    }

    #[test]
    fn datetime() {
        for ok in [
            "2024-09-10T23:20:50.520Z",
            "2024-09-10t23:20:50",
            "2026-01-11T00:00:00+01:00",
            "2026-01-11T00:00:00.123456-05:30",
        ] {
            assert_eq!(check("datetime_t", ok), None, "{ok}");
        }
        for bad in [
            "2024-09-10 23:20:50Z",
            "2024-09-10T23:20Z",
            "2024-09-10T23:20:50.Z",
            "2024-09-10T23:20:50+0100",
            "2024-09-10T23:20:50ZZ",
            "1768089600",
        ] {
            assert!(check("datetime_t", bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn email_hash_uuid_base64() {
        assert_eq!(check("email_t", "john_doe@example.com"), None);
        assert!(check("email_t", "john_doe@localhost").is_some());
        assert!(check("email_t", "@example.com").is_some());
        assert_eq!(
            check("file_hash_t", "3172ac7e2b55cbb81f04a6e65855a628"),
            None
        );
        assert!(check("file_hash_t", "xyz").is_some());
        assert!(check("file_hash_t", "").is_some());
        assert_eq!(
            check("uuid_t", "{11111111-1111-1111-1111-111111111111}"),
            None
        );
        assert!(check("uuid_t", "11111111-1111-1111-1111").is_some());
        assert_eq!(check("bytestring_t", "aGVsbG8="), None);
        assert_eq!(check("bytestring_t", ""), None);
        assert_eq!(check("bytestring_t", "a-_b"), None);
        assert!(check("bytestring_t", "aGVsbG8").is_some());
        assert!(check("bytestring_t", "a+_b").is_some());
        assert_eq!(check("string_t", "anything"), None);
    }
}
