//! `pa.auditd_record_kv.v1`: one audit record line → record type, `audit(TS:SERIAL)` id,
//! optional `node`, and its key/values verbatim (see the parent module's documentation).

use serde::Serialize;
use serde_json::{Map, Value};

use super::{MAX_INPUT_CHARS, MODULE_TOKEN};
use crate::timeutil::parse_epoch_dot_ms;

/// The reason codes of `pa.auditd_record_kv.v1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AuditKvErrorKind {
    /// More than [`MAX_INPUT_CHARS`] characters.
    LineTooLong,
    /// A token without `=`.
    InvalidToken,
    /// A quoted value without its closing quote.
    UnterminatedQuote,
    /// `type` or `msg` is absent.
    MissingRequiredField,
    /// `type` (or the `msg=audit(...)` id) given twice.
    DuplicateRequiredField,
    /// `msg` is not `audit(SECONDS.MILLIS:SERIAL)`.
    MissingCorrelationKey,
}

impl AuditKvErrorKind {
    /// The reason code string.
    pub fn code(self) -> &'static str {
        match self {
            AuditKvErrorKind::LineTooLong => "line_too_long",
            AuditKvErrorKind::InvalidToken => "invalid_token",
            AuditKvErrorKind::UnterminatedQuote => "unterminated_quote",
            AuditKvErrorKind::MissingRequiredField => "missing_required_field",
            AuditKvErrorKind::DuplicateRequiredField => "duplicate_required_field",
            AuditKvErrorKind::MissingCorrelationKey => "missing_correlation_key",
        }
    }
}

/// A `pa.auditd_record_kv.v1` failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("pa.auditd_record_kv.v1: {}: {detail} (byte {byte_offset})", kind.code())]
pub struct AuditKvError {
    /// The reason.
    pub kind: AuditKvErrorKind,
    /// Byte offset in the line.
    pub byte_offset: u64,
    /// Detail.
    pub detail: String,
}

impl AuditKvError {
    fn new(kind: AuditKvErrorKind, at: usize, detail: impl Into<String>) -> Self {
        AuditKvError {
            kind,
            byte_offset: at as u64,
            detail: detail.into(),
        }
    }
    /// The reason code string.
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }
}

/// How a value was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quoting {
    /// Bare.
    None,
    /// `"..."` (with `\\` and `\"` escapes).
    Double,
    /// `'...'`.
    Single,
}

/// One `key=value` pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// Key.
    pub key: String,
    /// Value, unquoted and unescaped.
    pub value: String,
    /// How the value was quoted.
    pub quoting: Quoting,
    /// Byte offset of the token.
    pub offset: usize,
    /// The token comes after the ENRICHED `\x1d` separator.
    pub enriched: bool,
}

/// One parsed audit record line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// `type=`.
    pub record_type: String,
    /// `audit(TS:SERIAL)` verbatim.
    pub audit_msg_id: String,
    /// `node=`, when present.
    pub node: Option<String>,
    /// All other pairs, in order.
    pub tokens: Vec<Token>,
}

/// The AST the reference vectors compare.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditRecordAst {
    /// `audit(TS:SERIAL)`.
    pub audit_msg_id: String,
    /// Always [`MODULE_TOKEN`].
    pub audit_record_version: &'static str,
    /// Key/values verbatim; repeated keys as arrays.
    pub kv: Map<String, Value>,
    /// `node`, or null.
    pub node: Option<String>,
    /// `type`.
    pub record_type: String,
}

impl AuditRecord {
    /// The vector AST of this record.
    pub fn ast(&self) -> AuditRecordAst {
        let mut kv = Map::new();
        for t in &self.tokens {
            insert_multi(&mut kv, t.key.clone(), Value::String(t.value.clone()));
        }
        AuditRecordAst {
            audit_msg_id: self.audit_msg_id.clone(),
            audit_record_version: MODULE_TOKEN,
            kv,
            node: self.node.clone(),
            record_type: self.record_type.clone(),
        }
    }

    /// `TS:SERIAL` without `audit(` `)`.
    pub fn msg_id(&self) -> &str {
        self.audit_msg_id
            .strip_prefix("audit(")
            .and_then(|s| s.strip_suffix(')'))
            .unwrap_or(&self.audit_msg_id)
    }
}

pub(super) fn insert_multi(map: &mut Map<String, Value>, key: String, value: Value) {
    match map.get_mut(&key) {
        None => {
            map.insert(key, value);
        }
        Some(Value::Array(items)) => items.push(value),
        Some(existing) => {
            let first = existing.take();
            *existing = Value::Array(vec![first, value]);
        }
    }
}

fn is_sep(b: u8) -> bool {
    b == b' ' || b == b'\t' || b == 0x1d || b == b'\n' || b == b'\r'
}

/// Tokenize `key=value` pairs (lenient about nothing: see the reason codes).
pub fn tokenize(line: &str) -> Result<Vec<Token>, AuditKvError> {
    tokenize_with(line, false, &mut Vec::new())
}

/// The pairs of a user-space `msg='...'` payload. Lenient where libaudit's writers are loose:
/// a bare word is skipped (shadow-utils writes `op=adding user id=999`: `op=adding`, `id=999`,
/// as auparse reads it) and an unterminated quote ends the payload.
pub(super) fn payload_tokens(inner: &str) -> Vec<Token> {
    tokenize_with(inner, true, &mut Vec::new()).unwrap_or_default()
}

/// Lenient mode skips bare words (collected in `words`) and ends at an unterminated quote.
fn tokenize_with(
    line: &str,
    lenient: bool,
    words: &mut Vec<String>,
) -> Result<Vec<Token>, AuditKvError> {
    let b = line.as_bytes();
    let mut i = 0;
    let mut enriched = false;
    let mut out = Vec::new();
    while i < b.len() {
        if is_sep(b[i]) {
            if b[i] == 0x1d {
                enriched = true;
            }
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && b[i] != b'=' && !is_sep(b[i]) {
            i += 1;
        }
        if lenient && (i >= b.len() || b[i] != b'=' || i == start) {
            // a bare word (or a stray `=`): skip to the next separator
            while i < b.len() && !is_sep(b[i]) {
                i += 1;
            }
            words.push(line[start..i].to_owned());
            continue;
        }
        if i >= b.len() || b[i] != b'=' || i == start {
            return Err(AuditKvError::new(
                AuditKvErrorKind::InvalidToken,
                start,
                format!("token without '=': {:?}", &line[start..i.min(b.len())]),
            ));
        }
        let key = line[start..i].to_owned();
        i += 1;
        let (value, quoting) = match b.get(i) {
            Some(b'"') => {
                i += 1;
                let mut v = String::new();
                let mut seg = i;
                loop {
                    match b.get(i) {
                        None if lenient => return Ok(out),
                        None => {
                            return Err(AuditKvError::new(
                                AuditKvErrorKind::UnterminatedQuote,
                                start,
                                format!("value of {key} has no closing quote"),
                            ));
                        }
                        Some(b'"') => {
                            v.push_str(&line[seg..i]);
                            i += 1;
                            break;
                        }
                        Some(b'\\') if matches!(b.get(i + 1), Some(b'"') | Some(b'\\')) => {
                            v.push_str(&line[seg..i]);
                            v.push(char::from(b[i + 1]));
                            i += 2;
                            seg = i;
                        }
                        Some(_) => i += 1,
                    }
                }
                (v, Quoting::Double)
            }
            Some(b'\'') => {
                i += 1;
                let vs = i;
                while i < b.len() && b[i] != b'\'' {
                    i += 1;
                }
                if i >= b.len() && lenient {
                    return Ok(out);
                }
                if i >= b.len() {
                    return Err(AuditKvError::new(
                        AuditKvErrorKind::UnterminatedQuote,
                        start,
                        format!("value of {key} has no closing quote"),
                    ));
                }
                let v = line[vs..i].to_owned();
                i += 1;
                (v, Quoting::Single)
            }
            // A braced value (`SADDR={ saddr_fam=inet laddr=10.0.0.1 lport=22 }`, the
            // interpreted socket address of the ENRICHED format) runs to its closing brace,
            // spaces included, and is kept verbatim.
            Some(b'{') => {
                let vs = i;
                let mut depth = 0usize;
                while i < b.len() {
                    match b[i] {
                        b'{' => depth += 1,
                        b'}' => {
                            depth -= 1;
                            if depth == 0 {
                                i += 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                    i += 1;
                }
                if depth != 0 {
                    if lenient {
                        return Ok(out);
                    }
                    return Err(AuditKvError::new(
                        AuditKvErrorKind::UnterminatedQuote,
                        start,
                        format!("value of {key} has no closing brace"),
                    ));
                }
                (line[vs..i].to_owned(), Quoting::None)
            }
            _ => {
                let vs = i;
                while i < b.len() && !is_sep(b[i]) {
                    i += 1;
                }
                (line[vs..i].to_owned(), Quoting::None)
            }
        };
        out.push(Token {
            key,
            value,
            quoting,
            offset: start,
            enriched,
        });
    }
    Ok(out)
}

/// Parse one audit record line with `pa.auditd_record_kv.v1`.
pub fn parse_record(line: &str) -> Result<AuditRecord, AuditKvError> {
    check_length(line)?;
    record_of(tokenize(line)?)
}

/// A record whose body mixes free text with its pairs, which `pa.auditd_record_kv.v1` refuses
/// as `invalid_token`: SELinux `avc:  denied  { read } for  pid=...`, `tty pid=...`, older
/// auditd `auditd start, ver=...`, `policy loaded auid=...`. The pairs are read as
/// [`parse_record`] reads them, the words are skipped, and a `{ ... }` group with the word
/// before it becomes `seperms` (`read write`) and `seresult` (`denied`/`granted`) when those
/// keys are free (auparse's names). The caller keeps the raw line. Every other error is
/// [`parse_record`]'s.
pub fn parse_record_free_text(line: &str) -> Result<AuditRecord, AuditKvError> {
    check_length(line)?;
    let mut words = Vec::new();
    let mut rec = record_of(tokenize_with(line, true, &mut words)?)?;
    if let Some(open) = words.iter().position(|w| w == "{") {
        let close = words[open..]
            .iter()
            .position(|w| w == "}")
            .map(|c| open + c);
        let perms = close.map(|c| words[open + 1..c].join(" "));
        let result = open.checked_sub(1).map(|r| words[r].clone());
        let at = rec.tokens.first().map_or(0, |t| t.offset);
        for (key, value) in [("seresult", result), ("seperms", perms)] {
            let Some(value) = value.filter(|v| !v.is_empty()) else {
                continue;
            };
            if rec.tokens.iter().all(|t| t.key != key) {
                rec.tokens.push(Token {
                    key: key.to_owned(),
                    value,
                    quoting: Quoting::None,
                    offset: at,
                    enriched: false,
                });
            }
        }
    }
    Ok(rec)
}

fn check_length(line: &str) -> Result<(), AuditKvError> {
    match line.char_indices().nth(MAX_INPUT_CHARS) {
        Some((at, _)) => Err(AuditKvError::new(
            AuditKvErrorKind::LineTooLong,
            at,
            format!("more than {MAX_INPUT_CHARS} characters"),
        )),
        None => Ok(()),
    }
}

/// The required members (`type`, `msg=audit(...)`, optional `node`) out of a line's tokens.
fn record_of(tokens: Vec<Token>) -> Result<AuditRecord, AuditKvError> {
    let mut record_type: Option<String> = None;
    let mut msg_id: Option<String> = None;
    let mut node: Option<String> = None;
    let mut rest = Vec::with_capacity(tokens.len());
    for t in tokens {
        match t.key.as_str() {
            "type" if !t.enriched => {
                if record_type.is_some() {
                    return Err(AuditKvError::new(
                        AuditKvErrorKind::DuplicateRequiredField,
                        t.offset,
                        "type given twice",
                    ));
                }
                record_type = Some(t.value);
            }
            "msg" if msg_id.is_none() && t.quoting == Quoting::None => {
                let v = t.value.strip_suffix(':').unwrap_or(&t.value);
                if !valid_audit_id(v) {
                    return Err(AuditKvError::new(
                        AuditKvErrorKind::MissingCorrelationKey,
                        t.offset,
                        format!("msg is not audit(TS:SERIAL): {:?}", t.value),
                    ));
                }
                msg_id = Some(v.to_owned());
            }
            "msg" if t.quoting == Quoting::None && t.value.starts_with("audit(") => {
                return Err(AuditKvError::new(
                    AuditKvErrorKind::DuplicateRequiredField,
                    t.offset,
                    "msg=audit(...) given twice",
                ));
            }
            "node" if node.is_none() && record_type.is_none() && !t.enriched => {
                node = Some(t.value)
            }
            "node" if node.is_none() && msg_id.is_some() && rest.is_empty() && !t.enriched => {
                node = Some(t.value)
            }
            _ => rest.push(t),
        }
    }
    let record_type = record_type.ok_or_else(|| {
        AuditKvError::new(AuditKvErrorKind::MissingRequiredField, 0, "type is missing")
    })?;
    let audit_msg_id = msg_id.ok_or_else(|| {
        AuditKvError::new(AuditKvErrorKind::MissingRequiredField, 0, "msg is missing")
    })?;
    Ok(AuditRecord {
        record_type,
        audit_msg_id,
        node,
        tokens: rest,
    })
}

fn valid_audit_id(v: &str) -> bool {
    let Some(inner) = v.strip_prefix("audit(").and_then(|s| s.strip_suffix(')')) else {
        return false;
    };
    let Some((ts, serial)) = inner.split_once(':') else {
        return false;
    };
    !serial.is_empty()
        && serial.bytes().all(|c| c.is_ascii_digit())
        && parse_epoch_dot_ms(ts).is_some()
}
