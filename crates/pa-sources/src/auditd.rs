//! Linux audit logs (`audit.log`, raw or ENRICHED format).
//!
//! Two layers:
//!
//! * [`parse_record`] is `pa.auditd_record_kv.v1`: one line → record type, `audit(TS:SERIAL)`
//!   id, optional `node`, and its key/values verbatim (repeated keys become arrays). Reason
//!   codes: `line_too_long` (> 65,536 chars), `invalid_token`, `unterminated_quote`,
//!   `missing_required_field` (no `type` / no `msg`), `duplicate_required_field`,
//!   `missing_correlation_key` (`msg` is not `audit(...)`). A line refused only as
//!   `invalid_token` because its body mixes free text with its pairs (SELinux `avc:  denied
//!   { read } for  pid=...`, `tty pid=...`) is read by [`parse_record_free_text`] instead and
//!   counted as `audit_free_text_records`.
//! * [`AuditdReader`] groups records into one event per `(node, msg id)`. Records of different
//!   events may interleave. A group is complete on `EOE`, on `PROCTITLE` (the kernel's last
//!   record of a syscall event) or, for user-space message types (`USER_*`, `CRED_*`, ...), on
//!   arrival; a group is stale after [`STALE_LINES`] further lines, and everything is flushed at
//!   end of input. Events are emitted in order of first appearance, so the output depends only
//!   on the input. A record arriving for an already emitted event is dropped as
//!   `audit_late_record` (a late `EOE` is ignored).
//!
//! Decoding: untrusted-string fields (`exe comm name cwd path proctitle cmd acct ocomm key data`,
//! and `aN`/`aN[i]` of `EXECVE`) given unquoted as hex are decoded (invalid UTF-8 replaced by
//! U+FFFD); `PROCTITLE` NULs become spaces (kept, never used as the command line); split
//! arguments (`aN_len`, `aN[i]`) are reassembled into `execve_argv`; ENRICHED fields after the
//! `\x1d` separator are kept under their own (uppercase) keys, prefixed `enriched_` only if they
//! would collide; a user-space `msg='k=v ...'` payload is kept as `msg` and its pairs are added
//! when their keys are free (bare words in it, as in `op=adding user`, are skipped).

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use serde_json::{Map, Value};

use crate::base::lines;
use crate::base::prelude::*;
use crate::lines::Line;
use crate::timeutil::parse_epoch_dot_ms;

/// Module token of the record parser.
pub const MODULE_TOKEN: &str = "pa.auditd_record_kv.v1";
/// Longest accepted record line, in characters.
pub const MAX_INPUT_CHARS: usize = 65_536;
/// A group that saw no record for this many lines is flushed.
pub const STALE_LINES: u64 = 1_000;
/// At most this many events are held open; the oldest is flushed beyond it.
pub const MAX_OPEN_EVENTS: usize = 4_096;
const RECENT_CLOSED: usize = 8_192;
/// An event with this many records is complete (a bound, far above real events).
pub const MAX_RECORDS_PER_EVENT: usize = 8_192;
/// Open events holding more raw bytes than this are flushed, oldest first.
pub const MAX_BUFFERED_BYTES: usize = 64 * 1024 * 1024;
/// Lines longer than this are not even buffered.
const MAX_LINE_BYTES: usize = 1024 * 1024;

mod kv;

pub use kv::{
    AuditKvError, AuditKvErrorKind, AuditRecord, AuditRecordAst, Quoting, Token, parse_record,
    parse_record_free_text, tokenize,
};
use kv::{insert_multi, payload_tokens};

/// Fields whose unquoted values the kernel writes hex-encoded.
const HEX_FIELDS: [&str; 11] = [
    "exe",
    "comm",
    "name",
    "cwd",
    "path",
    "proctitle",
    "cmd",
    "acct",
    "ocomm",
    "key",
    "data",
];

fn hex_bytes(v: &str) -> Option<Vec<u8>> {
    if v.is_empty() || !v.len().is_multiple_of(2) || !v.bytes().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    hex::decode(v).ok()
}

/// Is `key` an EXECVE argument (`aN`) or argument chunk (`aN[i]`)?
fn execve_arg_key(key: &str) -> bool {
    let Some(rest) = key.strip_prefix('a') else {
        return false;
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return false;
    }
    let tail = &rest[digits..];
    tail.is_empty()
        || (tail.starts_with('[')
            && tail.ends_with(']')
            && tail.len() > 2
            && tail[1..tail.len() - 1].bytes().all(|c| c.is_ascii_digit()))
}

/// Decoded bytes of a value (hex decoded when the field is an encoded one).
fn value_bytes(record_type: &str, t: &Token) -> Vec<u8> {
    let encodable = t.quoting == Quoting::None
        && (HEX_FIELDS.contains(&t.key.as_str())
            || (record_type == "EXECVE" && execve_arg_key(&t.key)));
    if encodable {
        if let Some(bytes) = hex_bytes(&t.value) {
            return bytes;
        }
    }
    t.value.as_bytes().to_vec()
}

fn decoded_value(record_type: &str, t: &Token) -> String {
    let bytes = value_bytes(record_type, t);
    let mut s = String::from_utf8_lossy(&bytes).into_owned();
    if t.key == "proctitle" {
        s = s.trim_end_matches('\0').replace('\0', " ");
    } else if t.key == "key" {
        s = s.replace('\u{1}', ",");
    }
    s
}

/// The decoded `fields` object of one record.
fn record_fields(rec: &AuditRecord) -> Map<String, Value> {
    let mut fields = Map::new();
    let mut enriched = Vec::new();
    for t in &rec.tokens {
        if t.enriched {
            enriched.push(t);
            continue;
        }
        insert_multi(
            &mut fields,
            t.key.clone(),
            Value::String(decoded_value(&rec.record_type, t)),
        );
    }
    // A user-space payload msg='k=v ...': add its pairs where the key is free.
    if let Some(Value::String(inner)) = fields.get("msg").cloned() {
        for t in payload_tokens(&inner) {
            if !fields.contains_key(&t.key) {
                fields.insert(
                    t.key.clone(),
                    Value::String(decoded_value(&rec.record_type, &t)),
                );
            }
        }
    }
    for t in enriched {
        let key = if fields.contains_key(&t.key) {
            format!("enriched_{}", t.key)
        } else {
            t.key.clone()
        };
        insert_multi(&mut fields, key, Value::String(t.value.clone()));
    }
    fields
}

/// The most arguments an event's argv is reassembled with: an `argc` or an argument index
/// beyond it is not believed (a forged `argc=99999999999` must not allocate 2 TB). The kernel's
/// limit on the bytes of an `execve`'s arguments keeps real commands far below it.
pub const MAX_EXECVE_ARGS: usize = 1 << 20;

/// Reassemble argv from the EXECVE records of one event.
fn execve_argv(records: &[AuditRecord]) -> Option<Vec<String>> {
    let execs: Vec<&AuditRecord> = records
        .iter()
        .filter(|r| r.record_type == "EXECVE")
        .collect();
    if execs.is_empty() {
        return None;
    }
    let mut argc: Option<usize> = None;
    let mut whole: BTreeMap<usize, Vec<u8>> = BTreeMap::new();
    let mut chunks: BTreeMap<usize, BTreeMap<usize, Vec<u8>>> = BTreeMap::new();
    for r in &execs {
        for t in &r.tokens {
            if t.key == "argc" {
                argc = t.value.parse().ok();
                continue;
            }
            if !execve_arg_key(&t.key) {
                continue;
            }
            let body = &t.key[1..];
            match body.split_once('[') {
                None => {
                    if let Ok(n) = body.parse::<usize>() {
                        whole.insert(n, value_bytes("EXECVE", t));
                    }
                }
                Some((n, idx)) => {
                    let (Ok(n), Ok(i)) = (
                        n.parse::<usize>(),
                        idx.trim_end_matches(']').parse::<usize>(),
                    ) else {
                        continue;
                    };
                    chunks
                        .entry(n)
                        .or_default()
                        .insert(i, value_bytes("EXECVE", t));
                }
            }
        }
    }
    let highest = whole.keys().chain(chunks.keys()).max().map_or(0, |m| m + 1);
    // `argc` and the argument indices are whatever the log says: never more than the bound.
    let n = argc
        .unwrap_or(highest)
        .min(highest.max(argc.unwrap_or(0)))
        .min(MAX_EXECVE_ARGS);
    let mut argv = Vec::with_capacity(n);
    for i in 0..n {
        if let Some(b) = whole.get(&i) {
            argv.push(String::from_utf8_lossy(b).into_owned());
        } else if let Some(parts) = chunks.get(&i) {
            let bytes: Vec<u8> = parts.values().flatten().copied().collect();
            argv.push(String::from_utf8_lossy(&bytes).into_owned());
        } else {
            argv.push(String::new());
        }
    }
    Some(argv)
}

/// Record types user space writes one record per event (libaudit's 1100-1199 and 2100-2999
/// ranges, auditd's 1200-1299): the event is complete when its record arrives.
fn standalone_type(t: &str) -> bool {
    const PREFIXES: [&str; 12] = [
        "USER_", "CRED_", "DAEMON_", "SERVICE_", "SYSTEM_", "GRP_", "RESP_", "CRYPTO_", "VIRT_",
        "ROLE_", "LABEL_", "DEV_",
    ];
    // the kernel's own anomaly records (1700-1799) may come with a syscall's records
    const KERNEL_ANOM: [&str; 4] = ["ANOM_PROMISCUOUS", "ANOM_ABEND", "ANOM_LINK", "ANOM_CREAT"];
    PREFIXES.iter().any(|p| t.starts_with(p))
        || (t.starts_with("ANOM_") && !KERNEL_ANOM.contains(&t))
        || matches!(
            t,
            "USER"
                | "LOGIN_FAILURE"
                | "ADD_USER"
                | "DEL_USER"
                | "ADD_GROUP"
                | "DEL_GROUP"
                | "ACCT_LOCK"
                | "ACCT_UNLOCK"
                | "CHGRP_ID"
                | "CHUSER_ID"
                | "USYS_CONFIG"
                | "DAC_CHECK"
                | "MAC_CHECK"
                | "TEST"
                | "TRUSTED_APP"
                | "SOFTWARE_UPDATE"
                | "FS_RELABEL"
        )
}

struct Group {
    key: GroupKey,
    node: Option<String>,
    records: Vec<AuditRecord>,
    raw: Vec<String>,
    first_offset: u64,
    last_line: u64,
    complete: bool,
    bytes: usize,
}

type GroupKey = (Option<String>, String);

/// Streaming audit log reader (one [`SourceRecord`] per audit event).
pub type AuditdReader = Reader<Auditd>;

/// The auditd half of [`AuditdReader`]: the events being assembled.
#[derive(Default)]
pub struct Auditd {
    open: BTreeMap<u64, Group>,
    index: HashMap<GroupKey, u64>,
    closed: HashSet<GroupKey>,
    closed_order: VecDeque<GroupKey>,
    seq: u64,
    buffered: usize,
    line_no: u64,
    eof: bool,
}

/// Count a line or an event as read and dropped, without an ordinal (only emitted events take
/// one).
fn drop_unnumbered(base: &mut Base, reason: &str, detail: String) {
    base.counters.read();
    base.counters.drop_record(reason, detail);
}

impl Auditd {
    fn add_line(&mut self, base: &mut Base, offset: u64, bytes: &[u8]) {
        base.counters.bump("audit_lines_total");
        let text = String::from_utf8_lossy(bytes);
        let parsed = match parse_record(&text) {
            Err(e) if e.kind == AuditKvErrorKind::InvalidToken => parse_record_free_text(&text)
                .inspect(|_| base.counters.bump("audit_free_text_records")),
            other => other,
        };
        let rec = match parsed {
            Ok(r) => r,
            Err(e) => {
                let d = format!("{} line {} (byte {offset}): {e}", base.file, self.line_no);
                drop_unnumbered(base, e.code(), d);
                return;
            }
        };
        let key: GroupKey = (rec.node.clone(), rec.msg_id().to_owned());
        if self.closed.contains(&key) {
            if rec.record_type != "EOE" {
                let d = format!(
                    "{} line {}: record for already emitted event {}",
                    base.file, self.line_no, key.1
                );
                drop_unnumbered(base, "audit_late_record", d);
            }
            return;
        }
        let line_no = self.line_no;
        let seq = match self.index.get(&key) {
            Some(s) => *s,
            None => {
                let s = self.seq;
                self.seq += 1;
                self.index.insert(key.clone(), s);
                self.open.insert(
                    s,
                    Group {
                        key: key.clone(),
                        node: rec.node.clone(),
                        records: Vec::new(),
                        raw: Vec::new(),
                        first_offset: offset,
                        last_line: line_no,
                        complete: false,
                        bytes: 0,
                    },
                );
                s
            }
        };
        if let Some(g) = self.open.get_mut(&seq) {
            let t = rec.record_type.as_str();
            if t == "EOE" || t == "PROCTITLE" || (g.records.is_empty() && standalone_type(t)) {
                g.complete = true;
            }
            if g.records.len() + 1 >= MAX_RECORDS_PER_EVENT {
                g.complete = true;
            }
            g.last_line = line_no;
            g.bytes += text.len();
            self.buffered += text.len();
            g.raw.push(text.into_owned());
            if rec.record_type != "EOE" {
                g.records.push(rec);
            }
        }
    }

    /// Pop the oldest group if it may be emitted now.
    fn pop_ready(&mut self) -> Option<Group> {
        let (&seq, g) = self.open.iter().next()?;
        let ready = self.eof
            || g.complete
            || g.last_line + STALE_LINES < self.line_no
            || self.open.len() > MAX_OPEN_EVENTS
            || self.buffered > MAX_BUFFERED_BYTES;
        if !ready {
            return None;
        }
        let g = self.open.remove(&seq)?;
        self.buffered -= g.bytes;
        let key = g.key.clone();
        self.index.remove(&key);
        self.closed.insert(key.clone());
        self.closed_order.push_back(key);
        if self.closed_order.len() > RECENT_CLOSED {
            if let Some(old) = self.closed_order.pop_front() {
                self.closed.remove(&old);
            }
        }
        Some(g)
    }

    fn build(base: &mut Base, g: Group) -> Option<SourceRecord> {
        let first = g.records.first()?;
        let msg_id = first.msg_id().to_owned();
        let (ts, serial) = msg_id.split_once(':').unwrap_or((msg_id.as_str(), ""));
        let time_ms = parse_epoch_dot_ms(ts);
        let mut ev = Map::new();
        ev.insert("msg_id".into(), Value::String(msg_id.clone()));
        if let Some(t) = time_ms {
            ev.insert("time_ms".into(), Value::from(t));
        }
        if let Some(n) = &g.node {
            ev.insert("node".into(), Value::String(n.clone()));
        }
        let mut records = Vec::with_capacity(g.records.len());
        let mut paths: Vec<(u64, usize, Map<String, Value>)> = Vec::new();
        for (i, r) in g.records.iter().enumerate() {
            let fields = record_fields(r);
            if r.record_type == "PATH" {
                let item = fields
                    .get("item")
                    .and_then(Value::as_str)
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(u64::MAX);
                paths.push((item, i, fields.clone()));
            }
            let mut o = Map::new();
            o.insert("type".into(), Value::String(r.record_type.clone()));
            o.insert("fields".into(), Value::Object(fields));
            records.push(Value::Object(o));
        }
        ev.insert("records".into(), Value::Array(records));
        if let Some(argv) = execve_argv(&g.records) {
            ev.insert("execve_argv".into(), Value::from(argv));
        }
        paths.sort_by_key(|(item, i, _)| (*item, *i));
        if !paths.is_empty() {
            ev.insert(
                "paths".into(),
                Value::Array(
                    paths
                        .into_iter()
                        .map(|(_, _, f)| Value::Object(f))
                        .collect(),
                ),
            );
        }
        let ordinal = base.next_ordinal();
        Some(SourceRecord {
            source_type: SourceType::LinuxAuditd,
            provenance: base.provenance(ordinal, Some(g.first_offset), serial.parse().ok()),
            time_ms,
            host: g.node.clone(),
            fields: Value::Object(ev),
            raw: g.raw.join("\n"),
        })
    }
}

impl FromRead for Auditd {
    fn start(input: DynRead) -> (Self, Self::Input) {
        (Auditd::default(), lines(input, MAX_LINE_BYTES))
    }
}

impl Format for Auditd {
    const FORMAT: SourceFormat = SourceFormat::Auditd;
    type Input = LineInput;

    fn pop(&mut self, base: &mut Base) -> Option<SourceRecord> {
        while let Some(g) = self.pop_ready() {
            match Self::build(base, g) {
                Some(r) => {
                    base.counters.kept();
                    return Some(r);
                }
                None => {
                    let d = format!("{}: event without records", base.file);
                    drop_unnumbered(base, "audit_empty_event", d);
                }
            }
        }
        None
    }

    fn take(&mut self, base: &mut Base, line: Line) {
        self.line_no += 1;
        if line.too_long {
            base.counters.bump("audit_lines_total");
            let d = format!("{} line {} (byte {})", base.file, self.line_no, line.offset);
            drop_unnumbered(base, AuditKvErrorKind::LineTooLong.code(), d);
        } else if !line.is_blank() {
            self.add_line(base, line.offset, &line.bytes);
        }
    }

    fn end(&mut self, _base: &mut Base, _failed: bool) {
        // Everything still open is flushed, also after an I/O error.
        self.eof = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_forged_argc_or_argument_index_is_bounded() {
        for line in [
            "type=EXECVE msg=audit(10.5:1): argc=99999999999 a0=\"id\"",
            "type=EXECVE msg=audit(10.5:1): a99999999999=\"id\"",
        ] {
            let (evs, c) = events(&format!("{line}\ntype=EOE msg=audit(10.5:1):\n"));
            assert_eq!(c.dropped_total(), 0, "{c:?}");
            let argv = evs[0].fields["execve_argv"].as_array().expect("argv");
            assert_eq!(argv.len(), MAX_EXECVE_ARGS, "{line}");
        }
    }

    fn events(text: &str) -> (Vec<SourceRecord>, Counters) {
        let mut r = AuditdReader::from_reader(
            "mem".into(),
            Box::new(std::io::Cursor::new(text.as_bytes().to_vec())),
        );
        let v: Vec<_> = r.by_ref().map(|x| x.unwrap()).collect();
        (v, r.counters().clone())
    }

    #[test]
    fn interleaved_events_hex_and_split_args() {
        let log = "\
type=SYSCALL msg=audit(10.5:1): syscall=59 exe=2F746D702F712F6F6464206E616D65 a0=7f\x1dSYSCALL=execve UID=\"root\"
type=SYSCALL msg=audit(10.5:2): syscall=1 exe=\"/bin/x\"
type=EXECVE msg=audit(10.5:1): argc=3 a0=\"echo\" a1_len=4 a1[0]=4142 a2=C3BC
type=EXECVE msg=audit(10.5:1):  a1[1]=4344
type=PATH msg=audit(10.5:1): item=1 name=\"/lib/ld.so\" nametype=NORMAL
type=PATH msg=audit(10.5:1): item=0 name=\"/tmp/q/odd name\" nametype=NORMAL
type=PROCTITLE msg=audit(10.5:2): proctitle=2F62696E2F78002D61
type=PROCTITLE msg=audit(10.5:1): proctitle=6563686F
type=EOE msg=audit(10.5:1):
";
        let (evs, c) = events(log);
        assert_eq!(evs.len(), 2);
        assert_eq!(c.dropped_total(), 0, "{c:?}");
        let e1 = &evs[0].fields;
        assert_eq!(e1["msg_id"], "10.5:1");
        assert_eq!(e1["time_ms"], 10_500);
        assert_eq!(e1["execve_argv"], serde_json::json!(["echo", "ABCD", "ü"]));
        assert_eq!(e1["records"][0]["fields"]["exe"], "/tmp/q/odd name");
        assert_eq!(
            e1["records"][0]["fields"]["a0"], "7f",
            "SYSCALL args are not text"
        );
        assert_eq!(e1["records"][0]["fields"]["SYSCALL"], "execve");
        assert_eq!(e1["paths"][0]["name"], "/tmp/q/odd name");
        let e2 = &evs[1].fields;
        assert_eq!(e2["records"][1]["fields"]["proctitle"], "/bin/x -a");
        assert!(e2.get("execve_argv").is_none());
    }

    #[test]
    fn late_record_is_counted() {
        let log = "type=USER msg=audit(1.0:5): pid=1 msg='text=hi exe=\"/x\"'\ntype=SYSCALL msg=audit(1.0:6): a=b\ntype=PROCTITLE msg=audit(1.0:6): proctitle=6869\ntype=CWD msg=audit(1.0:6): cwd=\"/\"\n";
        let (evs, c) = events(log);
        assert_eq!(evs.len(), 2);
        assert_eq!(evs[0].fields["records"][0]["fields"]["text"], "hi");
        assert_eq!(evs[0].fields["records"][0]["fields"]["exe"], "/x");
        assert_eq!(c.dropped.get("audit_late_record"), Some(&1));
        assert_eq!(c.read, c.kept + c.dropped_total());
    }

    #[test]
    fn incomplete_group_is_flushed_when_stale_in_first_seen_order() {
        let mut log = String::from("type=SYSCALL msg=audit(1.0:1): syscall=2 exe=\"/a\"\n");
        for i in 0..(STALE_LINES + 5) {
            let serial = i + 2;
            log.push_str(&format!("type=SYSCALL msg=audit(1.0:{serial}): syscall=1\ntype=PROCTITLE msg=audit(1.0:{serial}): proctitle=6869\n"));
        }
        let (evs, c) = events(&log);
        assert_eq!(evs.len() as u64, STALE_LINES + 6);
        assert_eq!(c.dropped_total(), 0);
        let ids: Vec<u64> = evs
            .iter()
            .map(|e| e.provenance.record_id.unwrap())
            .collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "first-seen order");
        assert_eq!(evs[0].fields["records"].as_array().unwrap().len(), 1);
        // Same input, same output.
        let (again, _) = events(&log);
        assert_eq!(again, evs);
    }

    #[test]
    fn loose_user_space_payloads_and_free_text_bodies_are_read() {
        // shadow-utils writes `op=adding user`: the bare word is skipped, the pairs kept
        let log = "type=ADD_USER msg=audit(1.0:7): pid=1 uid=0 auid=4294967295 ses=4294967295 msg='op=adding user id=999 exe=\"/usr/sbin/useradd\" hostname=? addr=? terminal=? res=success'\x1dUID=\"root\" ID=\"unknown(999)\"
type=AVC msg=audit(2.0:8): avc:  denied  { read write } for  pid=5 comm=\"httpd\" name=\"x\" scontext=a tcontext=b tclass=file permissive=0
type=TTY msg=audit(3.0:9): tty pid=6 uid=0 auid=1000 ses=1 major=136 minor=0 comm=\"bash\" data=6C730D
";
        let (evs, c) = events(log);
        assert_eq!(c.dropped_total(), 0, "{c:?}");
        assert_eq!(c.extra["audit_free_text_records"], 2);
        let add = &evs[0].fields["records"][0]["fields"];
        assert_eq!(add["op"], "adding");
        assert_eq!(add["id"], "999");
        assert_eq!(add["exe"], "/usr/sbin/useradd");
        assert_eq!(add["res"], "success");
        assert_eq!(add["ID"], "unknown(999)");
        let avc = &evs[1].fields["records"][0]["fields"];
        assert_eq!(avc["seresult"], "denied");
        assert_eq!(avc["seperms"], "read write");
        assert_eq!(avc["pid"], "5");
        assert_eq!(avc["tclass"], "file");
        assert_eq!(evs[2].fields["records"][0]["fields"]["data"], "ls\r");
        // pa.auditd_record_kv.v1 itself stays strict
        assert_eq!(
            parse_record("type=AVC msg=audit(2.0:8): avc:  denied").map(|_| ()),
            Err(AuditKvError {
                kind: AuditKvErrorKind::InvalidToken,
                byte_offset: 27,
                detail: "token without '=': \"avc:\"".into()
            })
        );
    }

    #[test]
    fn user_space_records_complete_on_arrival() {
        for t in [
            "USER_AUTH",
            "CRED_ACQ",
            "CRYPTO_KEY_USER",
            "GRP_MGMT",
            "SOFTWARE_UPDATE",
            "VIRT_CONTROL",
            "ANOM_LOGIN_FAILURES",
            "RESP_ACCT_LOCK",
            "USYS_CONFIG",
            "DAEMON_START",
            "SERVICE_STOP",
        ] {
            assert!(standalone_type(t), "{t}");
        }
        for t in [
            "SYSCALL",
            "PATH",
            "AVC",
            "ANOM_ABEND",
            "ANOM_PROMISCUOUS",
            "LOGIN",
            "CONFIG_CHANGE",
        ] {
            assert!(!standalone_type(t), "{t}");
        }
    }

    #[test]
    fn node_prefix() {
        let r = parse_record("node=h1 type=SYSCALL msg=audit(1.0:6): a=b").unwrap();
        assert_eq!(r.node.as_deref(), Some("h1"));
        assert_eq!(r.ast().kv.len(), 1);
    }

    #[test]
    fn enriched_braced_socket_addresses_are_one_value() {
        let line = "type=SOCKADDR msg=audit(1796541937.428:1075): saddr=100000000000000000000000\x1dSADDR={ saddr_fam=netlink nlnk-fam=16 nlnk-pid=0 }";
        let t = tokenize(line).unwrap();
        let saddr = t.iter().find(|t| t.key == "SADDR").unwrap();
        assert_eq!(saddr.value, "{ saddr_fam=netlink nlnk-fam=16 nlnk-pid=0 }");
        assert!(saddr.enriched);
        let inet = "type=SOCKADDR msg=audit(1.2:3): saddr=02000016\u{1d}SADDR={ saddr_fam=inet laddr=127.0.0.1 lport=22 } X=1";
        let t = tokenize(inet).unwrap();
        assert_eq!(t.last().unwrap().key, "X");
        assert!(tokenize("type=SOCKADDR msg=audit(1.2:3): SADDR={ unclosed").is_err());
    }
}
