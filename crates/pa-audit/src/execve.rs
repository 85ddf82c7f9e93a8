//! EXECVE records: the argument vector of each exec event (quoted, hex-encoded, split into
//! chunks, spread over several records), and [`find_execve_arg`], the canary check.

use std::collections::HashMap;

use crate::window::{AuditStamp, parse_stamp};

/// One exec event's arguments, from its EXECVE record(s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecveEvent {
    /// The event's stamp.
    pub stamp: AuditStamp,
    /// The arguments, decoded (`argc` of them when the record says; a missing one is empty).
    pub args: Vec<Vec<u8>>,
}

impl ExecveEvent {
    /// Whether an argument, or the arguments joined by spaces, contain `token`.
    pub fn contains(&self, token: &[u8]) -> bool {
        if token.is_empty() {
            return true;
        }
        self.args.iter().any(|a| contains(a, token)) || contains(&self.args.join(&b' '), token)
    }

    /// The arguments as text (lossily decoded), joined by spaces.
    pub fn command_line(&self) -> String {
        String::from_utf8_lossy(&self.args.join(&b' ')).into_owned()
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// The EXECVE events of an audit log text, in the order of their first record. The records of
/// one event (a long argument list is split over several) are joined before decoding; the
/// ENRICHED part after 0x1d is ignored.
pub fn execve_events(text: &str) -> Vec<ExecveEvent> {
    let mut order: Vec<AuditStamp> = Vec::new();
    let mut bodies: HashMap<AuditStamp, Vec<&str>> = HashMap::new();
    for line in text.lines() {
        let Some(body) = execve_body(line) else {
            continue;
        };
        let Some(stamp) = parse_stamp(line) else {
            continue;
        };
        bodies
            .entry(stamp)
            .or_insert_with(|| {
                order.push(stamp);
                Vec::new()
            })
            .push(body);
    }
    order
        .into_iter()
        .map(|stamp| ExecveEvent {
            stamp,
            args: decode_args(&bodies[&stamp]),
        })
        .collect()
}

/// The fields of an EXECVE line (after `): `, before 0x1d), or `None` for another type.
fn execve_body(line: &str) -> Option<&str> {
    let i = line.find("type=EXECVE msg=audit(")?;
    if i > 0 && !line[..i].ends_with(' ') {
        return None;
    }
    let rest = &line[i..];
    let body = &rest[rest.find("): ")? + 3..];
    Some(body.split('\u{1d}').next().unwrap_or(body))
}

/// The time (ms since the epoch) of the first EXECVE event whose arguments contain `token`
/// (one argument, or the arguments joined by spaces), however auditd encoded them: quoted
/// (`a1="x"`), hex (`a1=2F746D70`), split (`a1_len=N a1[0]=... a1[1]=...`), over several
/// records.
pub fn find_execve_arg(text: &str, token: &str) -> Option<i64> {
    execve_events(text)
        .into_iter()
        .find(|e| e.contains(token.as_bytes()))
        .map(|e| e.stamp.ms())
}

/// Decodes an EXECVE field value: `"text"` as is, an even run of hex digits as hex, anything
/// else (`(null)`) as is.
pub fn decode_value(v: &str) -> Vec<u8> {
    if v.len() >= 2 && v.starts_with('"') && v.ends_with('"') {
        return v.as_bytes()[1..v.len() - 1].to_vec();
    }
    decode_hex(v).unwrap_or_else(|| v.as_bytes().to_vec())
}

fn decode_hex(v: &str) -> Option<Vec<u8>> {
    if v.is_empty() || !v.len().is_multiple_of(2) {
        return None;
    }
    let digit = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    v.as_bytes()
        .chunks(2)
        .map(|p| Some(digit(p[0])? << 4 | digit(p[1])?))
        .collect()
}

/// The argument vector of one event's EXECVE record bodies.
fn decode_args(bodies: &[&str]) -> Vec<Vec<u8>> {
    let mut argc: Option<usize> = None;
    let mut whole: HashMap<usize, Vec<u8>> = HashMap::new();
    let mut chunks: HashMap<usize, Vec<(usize, Vec<u8>)>> = HashMap::new();
    let mut max_index: Option<usize> = None;
    for tok in bodies.iter().flat_map(|b| b.split_whitespace()) {
        let Some((name, value)) = tok.split_once('=') else {
            continue;
        };
        if name == "argc" {
            argc = value.parse().ok();
            continue;
        }
        let Some(rest) = name.strip_prefix('a') else {
            continue;
        };
        let digits_end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let Ok(index) = rest[..digits_end].parse::<usize>() else {
            continue;
        };
        let suffix = &rest[digits_end..];
        if suffix.is_empty() {
            whole.insert(index, decode_value(value));
        } else if let Some(chunk) = suffix
            .strip_prefix('[')
            .and_then(|s| s.strip_suffix(']'))
            .and_then(|s| s.parse::<usize>().ok())
        {
            chunks
                .entry(index)
                .or_default()
                .push((chunk, decode_value(value)));
        } else if suffix != "_len" {
            continue;
        }
        max_index = Some(max_index.map_or(index, |m| m.max(index)));
    }
    let n = argc.unwrap_or_else(|| max_index.map_or(0, |m| m + 1));
    (0..n)
        .map(|i| {
            if let Some(v) = whole.remove(&i) {
                return v;
            }
            let mut parts = chunks.remove(&i).unwrap_or_default();
            parts.sort_by_key(|(c, _)| *c);
            parts.into_iter().flat_map(|(_, v)| v).collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        assert_eq!(decode_value("\"-p\""), b"-p");
        assert_eq!(decode_value("\"\""), b"");
        assert_eq!(decode_value("2F746D70"), b"/tmp");
        assert_eq!(decode_value("2f746d70"), b"/tmp");
        assert_eq!(decode_value("(null)"), b"(null)");
        assert_eq!(decode_value("ABC"), b"ABC");
        assert_eq!(decode_value("C3BC6D6C617574"), "ümlaut".as_bytes());
    }

    #[test]
    fn quoted_hex_and_enriched() {
        let text = "type=SYSCALL msg=audit(1.000:1): syscall=59 a0=1 a1=2F746D70\n\
            type=EXECVE msg=audit(1.000:1): argc=5 a0=\"/bin/echo\" a1=686173207370616365 \
            a2=6861732271756F7465 a3=\"\" a4=C3BC6D6C617574\u{1d}ARCH=x86_64\n\
            type=EXECVE msg=audit(2.250:2): argc=2 a0=\"/bin/echo\" a1=\"pa-canary-xyz\"\n";
        let ev = execve_events(text);
        assert_eq!(ev.len(), 2);
        assert_eq!(
            ev[0].args,
            vec![
                b"/bin/echo".to_vec(),
                b"has space".to_vec(),
                b"has\"quote".to_vec(),
                Vec::new(),
                "ümlaut".as_bytes().to_vec()
            ]
        );
        assert_eq!(find_execve_arg(text, "has space"), Some(1000));
        assert_eq!(find_execve_arg(text, "echo has"), Some(1000));
        assert_eq!(find_execve_arg(text, "pa-canary-xyz"), Some(2250));
        // The SYSCALL record's a1 is a register, not an argument.
        assert_eq!(find_execve_arg(text, "/tmp"), None);
        assert_eq!(find_execve_arg(text, "ARCH"), None);
    }

    #[test]
    fn split_arguments_over_several_records() {
        let a = "41".repeat(10);
        let b = "42".repeat(5);
        let text = format!(
            "type=EXECVE msg=audit(3.000:7): argc=3 a0=\"/bin/echo\" a1_len=15 a1[0]={a}\n\
             type=CWD msg=audit(3.000:7): cwd=\"/\"\n\
             type=EXECVE msg=audit(3.000:7):  a1[1]={b} a2=\"tail\"\n"
        );
        let ev = execve_events(&text);
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].args[1], b"AAAAAAAAAABBBBB");
        assert_eq!(ev[0].command_line(), "/bin/echo AAAAAAAAAABBBBB tail");
        assert_eq!(find_execve_arg(&text, "AAAB"), Some(3000));
        assert_eq!(find_execve_arg(&text, "BBBBB tail"), Some(3000));
    }

    #[test]
    fn missing_arguments_are_empty() {
        let ev = execve_events("type=EXECVE msg=audit(1.000:1): argc=3 a0=\"x\" a2=\"z\"\n");
        assert_eq!(ev[0].args, vec![b"x".to_vec(), Vec::new(), b"z".to_vec()]);
        let ev = execve_events("node=n type=EXECVE msg=audit(1.000:1): a0=\"x\" a1=\"y\"\n");
        assert_eq!(ev[0].args.len(), 2);
        assert!(execve_events("type=EXECVE_NOT msg=audit(1.000:1): a0=\"x\"\n").is_empty());
    }
}
