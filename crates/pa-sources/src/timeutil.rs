//! Small, allocation-free timestamp parsing (RFC 3339 and the Windows/Sysmon variants).

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn num(s: &[u8]) -> Option<i64> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(s).ok()?.parse().ok()
}

/// Parse `YYYY-MM-DD[T| ]hh:mm:ss[.fraction][Z|±hh:mm]` into milliseconds since the Unix
/// epoch (UTC; no zone means UTC). Extra fractional precision is truncated.
pub fn parse_rfc3339_ms(s: &str) -> Option<i64> {
    let b = s.trim().as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (y, mo, d) = (num(&b[0..4])?, num(&b[5..7])?, num(&b[8..10])?);
    let (h, mi, se) = (num(&b[11..13])?, num(&b[14..16])?, num(&b[17..19])?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let mut rest = &b[19..];
    let mut ms = 0i64;
    if let Some(r) = rest.strip_prefix(b".") {
        let digits = r.iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        let frac = &r[..digits];
        for i in 0..3 {
            ms = ms * 10 + frac.get(i).map_or(0, |c| i64::from(c - b'0'));
        }
        rest = &r[digits..];
    }
    let offset_min = match rest {
        [] | [b'Z'] | [b'z'] => 0,
        [sign @ (b'+' | b'-'), hh1, hh2, b':', mm1, mm2] => {
            let v = num(&[*hh1, *hh2])? * 60 + num(&[*mm1, *mm2])?;
            if *sign == b'-' { -v } else { v }
        }
        _ => return None,
    };
    let days = days_from_civil(y, mo, d);
    let secs = days * 86_400 + h * 3600 + mi * 60 + se - offset_min * 60;
    Some(secs * 1000 + ms)
}

/// Parse an audit timestamp `1700000000.123` into milliseconds.
pub fn parse_epoch_dot_ms(s: &str) -> Option<i64> {
    let (secs, frac) = s.split_once('.').unwrap_or((s, ""));
    let secs = num(secs.as_bytes())?;
    let mut ms = 0i64;
    let fb = frac.as_bytes();
    if !fb.iter().all(u8::is_ascii_digit) {
        return None;
    }
    for i in 0..3 {
        ms = ms * 10 + fb.get(i).map_or(0, |c| i64::from(c - b'0'));
    }
    Some(secs * 1000 + ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_variants() {
        assert_eq!(parse_rfc3339_ms("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339_ms("2019-03-19T23:34:24.9875406Z"),
            Some(1_553_038_464_987)
        );
        assert_eq!(
            parse_rfc3339_ms("2026-03-01T00:00:00.0000000Z"),
            Some(1_772_323_200_000)
        );
        assert_eq!(
            parse_rfc3339_ms("2025-11-27 07:40:10.132"),
            Some(1_764_229_210_132)
        );
        assert_eq!(parse_rfc3339_ms("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(parse_rfc3339_ms("garbage"), None);
        assert_eq!(
            parse_epoch_dot_ms("1700000000.123"),
            Some(1_700_000_000_123)
        );
        assert_eq!(parse_epoch_dot_ms("17x.1"), None);
    }
}
