//! `pa.auditd_record_kv.v1` tokenizer: one audit record line into `key=value` tokens (plain,
//! double- or single-quoted, or braced), with the module's reason codes.

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
    pub(super) fn new(kind: AuditKvErrorKind, at: usize, detail: impl Into<String>) -> Self {
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

fn is_sep(b: u8) -> bool {
    b == b' ' || b == b'\t' || b == 0x1d || b == b'\n' || b == b'\r'
}

/// Tokenize `key=value` pairs (lenient about nothing: see the reason codes).
pub fn tokenize(line: &str) -> Result<Vec<Token>, AuditKvError> {
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
