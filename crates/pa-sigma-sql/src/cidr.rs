//! `cidr` for IPv4 networks. The native engine trims the text (Unicode white space), strips one
//! pair of brackets, cuts a `%zone`, parses an IP address (Rust's parser: decimal octets without
//! leading zeros) and reads IPv4-mapped IPv6 addresses as IPv4. The SQL does the same for the
//! dotted-quad and `::ffff:` dotted-quad forms; any other text that could be an IPv4-mapped IPv6
//! address (hexadecimal, colons and a `ffff` group) stops the query with an error rather than
//! be answered differently. Every other text is not an address of the network, as natively.

use crate::Dialect;

const OCTET: &str = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])";

/// The address text `t` after trimming, bracket stripping and zone cutting.
fn normalized(d: Dialect, t: &str) -> String {
    let tr = d.trim_ws(t);
    let unbracketed = format!(
        "(CASE WHEN length({tr}) >= 2 AND substr({tr}, 1, 1) = '[' AND substr({tr}, length({tr}), 1) = ']' THEN substr({tr}, 2, length({tr}) - 2) ELSE {tr} END)"
    );
    match d {
        Dialect::DuckDb => format!("split_part({unbracketed}, '%', 1)"),
        Dialect::Spark => format!("substring_index({unbracketed}, '%', 1)"),
    }
}

/// `t` (a text expression, NULL for no value) is an address of `net/len` (IPv4).
pub(crate) fn ipv4_in(d: Dialect, t: &str, net: u32, len: u8) -> String {
    let n = normalized(d, t);
    let pat = format!(r"\A(?:(?i:::ffff:))?{OCTET}\.{OCTET}\.{OCTET}\.{OCTET}\z");
    let lit = d.str_lit(&pat);
    let octet = |k: u8| format!("CAST(regexp_extract({n}, {lit}, {k}) AS BIGINT)");
    let value = format!(
        "({} * 16777216 + {} * 65536 + {} * 256 + {})",
        octet(1),
        octet(2),
        octet(3),
        octet(4)
    );
    let size: u64 = 1u64 << (32 - u32::from(len));
    let lo = u64::from(net);
    let hi = lo + size - 1;
    let candidate = d.regex_search(&n, r"\A(?i:[0-9a-f:.]*ffff[0-9a-f:.]*)\z");
    let stop = match d {
        Dialect::DuckDb => format!(
            "CAST(error('pa-sigma-sql: cidr: ' || {n} || ' may be an IPv4-mapped IPv6 address in a form the SQL does not parse') AS BOOLEAN)"
        ),
        Dialect::Spark => format!(
            "CAST(raise_error(concat('pa-sigma-sql: cidr: ', {n}, ' may be an IPv4-mapped IPv6 address in a form the SQL does not parse')) AS BOOLEAN)"
        ),
    };
    format!(
        "(CASE WHEN {} THEN {value} BETWEEN {lo} AND {hi} WHEN strpos_colon THEN {stop} ELSE FALSE END)",
        d.regex_search(&n, &pat),
    )
    .replace(
        "strpos_colon",
        &format!("(({n} LIKE '%:%') AND {candidate})"),
    )
}
