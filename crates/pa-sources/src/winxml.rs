//! `pa.win_event_xml.v1`: the one parser every Windows event goes through.
//!
//! Input is one rendered event (`<Event>...</Event>`) as bytes. The parser:
//!
//! 1. rejects inputs over [`MAX_INPUT_BYTES`] (`xml_input_too_large`);
//! 2. requires UTF-8 (`xml_invalid_utf8`), drops a UTF-8 BOM and turns CR/CRLF into LF
//!    (the *canonical bytes*, which is also what offsets refer to);
//! 3. streams the document with `quick-xml`, refusing any DOCTYPE
//!    (`xml_external_entity_disallowed` when it names an external id, else `xml_disallowed_doctype`),
//!    any entity reference other than the 5 predefined and numeric ones (`xml_not_well_formed`),
//!    nesting deeper than [`MAX_DEPTH`] (`xml_depth_exceeded`) and more than [`MAX_TOKENS`]
//!    start tags + attributes (`xml_token_limit_exceeded`);
//! 4. refuses `RenderingInfo` (`rendering_info_present`, located at its start tag);
//! 5. checks the required System fields and their syntax (`xml_missing_required_field`,
//!    `xml_invalid_integer`, `xml_invalid_guid`).
//!
//! Element and attribute names are compared by local name (namespace prefixes ignored).
//! Every error carries `location_byte_offset` as the reference vectors define it (the start
//! tag for `rendering_info_present`, the first invalid byte for `xml_invalid_utf8`, 0 for
//! whole-document errors) and a diagnostic `position` (where the reader stopped).

mod tree;

use serde::Serialize;
use serde_json::{Map, Value};
use tree::{Node, build_tree};

/// Module token of this parser, used as the error message prefix.
pub const MODULE_TOKEN: &str = "pa.win_event_xml.v1";
/// Largest accepted event, in bytes (16 MiB).
pub const MAX_INPUT_BYTES: usize = 16 * 1024 * 1024;
/// Deepest accepted element nesting (the root element is depth 1).
pub const MAX_DEPTH: usize = 64;
/// Most start tags plus attributes accepted in one event.
pub const MAX_TOKENS: usize = 4096;

/// The reason codes of `pa.win_event_xml.v1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WinXmlErrorKind {
    /// More than [`MAX_INPUT_BYTES`].
    InputTooLarge,
    /// Not UTF-8.
    InvalidUtf8,
    /// Syntax error, unbalanced tags, undeclared entity, several roots, ...
    NotWellFormed,
    /// A DOCTYPE without an external identifier.
    DisallowedDoctype,
    /// A DOCTYPE naming a SYSTEM or PUBLIC identifier (or declaring an external entity).
    ExternalEntityDisallowed,
    /// Nesting deeper than [`MAX_DEPTH`].
    DepthExceeded,
    /// More than [`MAX_TOKENS`] start tags + attributes.
    TokenLimitExceeded,
    /// The event carries `RenderingInfo` (the collector was not in raw mode).
    RenderingInfoPresent,
    /// A required System field is absent or empty.
    MissingRequiredField,
    /// A numeric System field is not a decimal integer.
    InvalidInteger,
    /// `Provider/@Guid` is not a GUID.
    InvalidGuid,
}

impl WinXmlErrorKind {
    /// The reason code string.
    pub fn code(self) -> &'static str {
        match self {
            WinXmlErrorKind::InputTooLarge => "xml_input_too_large",
            WinXmlErrorKind::InvalidUtf8 => "xml_invalid_utf8",
            WinXmlErrorKind::NotWellFormed => "xml_not_well_formed",
            WinXmlErrorKind::DisallowedDoctype => "xml_disallowed_doctype",
            WinXmlErrorKind::ExternalEntityDisallowed => "xml_external_entity_disallowed",
            WinXmlErrorKind::DepthExceeded => "xml_depth_exceeded",
            WinXmlErrorKind::TokenLimitExceeded => "xml_token_limit_exceeded",
            WinXmlErrorKind::RenderingInfoPresent => "rendering_info_present",
            WinXmlErrorKind::MissingRequiredField => "xml_missing_required_field",
            WinXmlErrorKind::InvalidInteger => "xml_invalid_integer",
            WinXmlErrorKind::InvalidGuid => "xml_invalid_guid",
        }
    }
}

/// A `pa.win_event_xml.v1` failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("pa.win_event_xml.v1: {}: {detail} (byte {position})", kind.code())]
pub struct WinXmlError {
    /// The reason.
    pub kind: WinXmlErrorKind,
    /// `location.byte_offset` as the reference vectors define it.
    pub location_byte_offset: u64,
    /// Diagnostic: byte offset (in the canonical bytes) where the problem was seen.
    pub position: u64,
    /// Human-readable detail.
    pub detail: String,
}

impl WinXmlError {
    fn new(kind: WinXmlErrorKind, location: u64, position: u64, detail: impl Into<String>) -> Self {
        WinXmlError {
            kind,
            location_byte_offset: location,
            position,
            detail: detail.into(),
        }
    }

    fn doc(kind: WinXmlErrorKind, position: u64, detail: impl Into<String>) -> Self {
        Self::new(kind, 0, position, detail)
    }

    /// The reason code string.
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }
}

/// `Provider` in the AST.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProviderAst {
    /// `@Name`.
    pub name: String,
    /// `@Guid`, lowercased, without braces.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guid: Option<String>,
    /// `@EventSourceName`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_source_name: Option<String>,
}

/// `EventID` in the AST.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventIdAst {
    /// The id.
    pub id: u64,
    /// `@Qualifiers`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qualifiers: Option<u64>,
}

/// `TimeCreated` in the AST.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimeCreatedAst {
    /// `@SystemTime`, verbatim.
    pub system_time: String,
}

/// `Execution` in the AST.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExecutionAst {
    /// `@ProcessID`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process_id: Option<u64>,
    /// `@ThreadID`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thread_id: Option<u64>,
}

/// `Security` in the AST.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecurityAst {
    /// `@UserID`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
}

/// `Correlation` in the AST.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CorrelationAst {
    /// `@ActivityID`, verbatim.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activity_id: Option<String>,
    /// `@RelatedActivityID`, verbatim.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub related_activity_id: Option<String>,
}

/// The `System` block in the AST (the identity-bearing part of an event).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SystemAst {
    /// Provider.
    pub provider: ProviderAst,
    /// EventID (+ qualifiers).
    pub event_id: EventIdAst,
    /// Version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    /// Level.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<u64>,
    /// Task.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task: Option<u64>,
    /// Opcode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opcode: Option<u64>,
    /// Keywords, verbatim (hex string).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keywords: Option<String>,
    /// TimeCreated.
    pub time_created: TimeCreatedAst,
    /// EventRecordID as a decimal string.
    pub event_record_id: String,
    /// Correlation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correlation: Option<CorrelationAst>,
    /// Execution.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution: Option<ExecutionAst>,
    /// Channel.
    pub channel: String,
    /// Computer.
    pub computer: String,
    /// Security.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security: Option<SecurityAst>,
}

/// The typed AST of `pa.win_event_xml.v1` (what the reference vectors compare).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WinEventAst {
    /// The System block.
    pub system: SystemAst,
}

/// A successfully parsed event.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedWinEvent {
    /// The typed System AST.
    pub ast: WinEventAst,
    /// The Windows `fields` shape of [`crate::record::SourceRecord`].
    pub fields: Value,
    /// The canonical XML text (UTF-8, LF line ends, no BOM).
    pub canonical: String,
}

/// Canonical bytes: UTF-8 (BOM dropped), CR and CRLF turned into LF.
pub fn canonicalize(input: &[u8]) -> Result<String, WinXmlError> {
    if input.len() > MAX_INPUT_BYTES {
        return Err(WinXmlError::doc(
            WinXmlErrorKind::InputTooLarge,
            MAX_INPUT_BYTES as u64,
            format!("{} bytes > {MAX_INPUT_BYTES}", input.len()),
        ));
    }
    let text = match std::str::from_utf8(input) {
        Ok(s) => s,
        Err(e) => {
            let at = e.valid_up_to() as u64;
            return Err(WinXmlError::new(
                WinXmlErrorKind::InvalidUtf8,
                at,
                at,
                "input is not valid UTF-8",
            ));
        }
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if !text.contains('\r') {
        return Ok(text.to_owned());
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\r' {
            if chars.peek() == Some(&'\n') {
                chars.next();
            }
            out.push('\n');
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

/// Parse one event with `pa.win_event_xml.v1`.
pub fn parse(input: &[u8]) -> Result<ParsedWinEvent, WinXmlError> {
    let canonical = canonicalize(input)?;
    let root = build_tree(&canonical)?;
    let ast = build_ast(&root)?;
    let fields = build_fields(&root, &ast);
    Ok(ParsedWinEvent {
        ast,
        fields,
        canonical,
    })
}

fn missing(what: &str) -> WinXmlError {
    WinXmlError::doc(
        WinXmlErrorKind::MissingRequiredField,
        0,
        format!("required field {what} is missing"),
    )
}

fn non_empty(v: Option<&str>) -> Option<&str> {
    v.filter(|s| !s.trim().is_empty())
}

fn parse_uint(what: &str, v: &str) -> Result<u64, WinXmlError> {
    let t = v.trim_matches(|c| matches!(c, ' ' | '\t' | '\n'));
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(WinXmlError::doc(
            WinXmlErrorKind::InvalidInteger,
            0,
            format!("{what} is not a decimal integer: {v:?}"),
        ));
    }
    t.parse::<u64>().map_err(|_| {
        WinXmlError::doc(
            WinXmlErrorKind::InvalidInteger,
            0,
            format!("{what} is out of range: {v:?}"),
        )
    })
}

fn opt_uint(what: &str, v: Option<&str>) -> Result<Option<u64>, WinXmlError> {
    match non_empty(v) {
        Some(s) => parse_uint(what, s).map(Some),
        None => Ok(None),
    }
}

/// Normalize a GUID: braces removed, lowercased; must be 8-4-4-4-12 hex digits.
pub fn normalize_guid(v: &str) -> Option<String> {
    let t = v.trim();
    let t = t
        .strip_prefix('{')
        .and_then(|s| s.strip_suffix('}'))
        .unwrap_or(t);
    let groups: Vec<&str> = t.split('-').collect();
    let lens = [8usize, 4, 4, 4, 12];
    if groups.len() != 5
        || groups
            .iter()
            .zip(lens)
            .any(|(g, n)| g.len() != n || !g.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return None;
    }
    Some(t.to_ascii_lowercase())
}

fn build_ast(root: &Node) -> Result<WinEventAst, WinXmlError> {
    if root.name != "Event" {
        return Err(missing("Event"));
    }
    let sys = root.child("System").ok_or_else(|| missing("System"))?;
    let provider = sys.child("Provider").ok_or_else(|| missing("Provider"))?;
    let provider_name =
        non_empty(provider.attr("Name")).ok_or_else(|| missing("Provider/@Name"))?;
    let channel = sys
        .child("Channel")
        .and_then(|n| non_empty(Some(&n.text)))
        .ok_or_else(|| missing("Channel"))?;
    let computer = sys
        .child("Computer")
        .and_then(|n| non_empty(Some(&n.text)))
        .ok_or_else(|| missing("Computer"))?;
    let event_id_node = sys.child("EventID").ok_or_else(|| missing("EventID"))?;
    let event_id_text = non_empty(Some(&event_id_node.text)).ok_or_else(|| missing("EventID"))?;
    let record_id_text = sys
        .child("EventRecordID")
        .and_then(|n| non_empty(Some(&n.text)))
        .ok_or_else(|| missing("EventRecordID"))?;
    let system_time = sys
        .child("TimeCreated")
        .and_then(|n| non_empty(n.attr("SystemTime")))
        .ok_or_else(|| missing("TimeCreated/@SystemTime"))?;

    let event_id = EventIdAst {
        id: parse_uint("EventID", event_id_text)?,
        qualifiers: opt_uint("EventID/@Qualifiers", event_id_node.attr("Qualifiers"))?,
    };
    let record_id = parse_uint("EventRecordID", record_id_text)?;
    let guid = match provider.attr("Guid") {
        Some(g) if !g.trim().is_empty() => Some(normalize_guid(g).ok_or_else(|| {
            WinXmlError::doc(
                WinXmlErrorKind::InvalidGuid,
                0,
                format!("Provider/@Guid is not a GUID: {g:?}"),
            )
        })?),
        _ => None,
    };
    let text_of = |name: &str| sys.child(name).map(|n| n.text.as_ref());
    let execution = match sys.child("Execution") {
        Some(n) => Some(ExecutionAst {
            process_id: opt_uint("Execution/@ProcessID", n.attr("ProcessID"))?,
            thread_id: opt_uint("Execution/@ThreadID", n.attr("ThreadID"))?,
        }),
        None => None,
    };
    let correlation = sys.child("Correlation").and_then(|n| {
        let a = non_empty(n.attr("ActivityID")).map(str::to_owned);
        let r = non_empty(n.attr("RelatedActivityID")).map(str::to_owned);
        (a.is_some() || r.is_some()).then_some(CorrelationAst {
            activity_id: a,
            related_activity_id: r,
        })
    });
    let security = sys.child("Security").map(|n| SecurityAst {
        user_id: non_empty(n.attr("UserID")).map(str::to_owned),
    });
    Ok(WinEventAst {
        system: SystemAst {
            provider: ProviderAst {
                name: provider_name.to_owned(),
                guid,
                event_source_name: non_empty(provider.attr("EventSourceName")).map(str::to_owned),
            },
            event_id,
            version: opt_uint("Version", text_of("Version"))?,
            level: opt_uint("Level", text_of("Level"))?,
            task: opt_uint("Task", text_of("Task"))?,
            opcode: opt_uint("Opcode", text_of("Opcode"))?,
            keywords: non_empty(text_of("Keywords")).map(|s| s.trim().to_owned()),
            time_created: TimeCreatedAst {
                system_time: system_time.trim().to_owned(),
            },
            event_record_id: record_id.to_string(),
            correlation,
            execution,
            channel: channel.trim().to_owned(),
            computer: computer.trim().to_owned(),
            security,
        },
    })
}

/// Elements of `System` that carry their data in attributes.
const ATTRIBUTE_HOLDERS: [&str; 5] = [
    "Provider",
    "TimeCreated",
    "Correlation",
    "Execution",
    "Security",
];

fn insert_multi(map: &mut Map<String, Value>, key: String, value: Value) {
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

/// Generic element → JSON: a leaf without attributes is its text; otherwise an object of
/// attributes and children (repeated children become arrays), text under `#text`.
fn tree_value(node: &Node) -> Value {
    if node.attrs.is_empty() && node.children.is_empty() {
        return Value::String(node.text.to_string());
    }
    let mut map = Map::new();
    for (k, v) in &node.attrs {
        map.insert(k.to_string(), Value::String(v.to_string()));
    }
    for child in &node.children {
        insert_multi(&mut map, child.name.to_string(), tree_value(child));
    }
    if !node.text.trim().is_empty() {
        map.insert("#text".to_owned(), Value::String(node.text.to_string()));
    }
    Value::Object(map)
}

fn system_value(sys: &Node, ast: &WinEventAst) -> Value {
    let mut map = Map::new();
    for child in &sys.children {
        let value = match child.name.as_ref() {
            "Provider" => {
                let mut p = Map::new();
                for (k, v) in &child.attrs {
                    p.insert(k.to_string(), Value::String(v.to_string()));
                }
                if let Some(g) = &ast.system.provider.guid {
                    p.insert("Guid".to_owned(), Value::String(g.clone()));
                }
                Value::Object(p)
            }
            "EventID" => {
                if let Some(q) = child.attr("Qualifiers") {
                    map.insert("EventIDQualifiers".to_owned(), Value::String(q.to_owned()));
                }
                Value::String(child.text.trim().to_owned())
            }
            name if ATTRIBUTE_HOLDERS.contains(&name) => {
                let mut o = Map::new();
                for (k, v) in &child.attrs {
                    o.insert(k.to_string(), Value::String(v.to_string()));
                }
                Value::Object(o)
            }
            _ => tree_value(child),
        };
        insert_multi(&mut map, child.name.to_string(), value);
    }
    Value::Object(map)
}

/// `EventData`: named `Data` by name, unnamed `Data` under `"Data"`, other children as trees.
/// Attributes of `EventData` itself (e.g. the `Name` of a template) are not data and are left out,
/// as in the `evtx` crate's JSON.
fn event_data_value(node: &Node) -> Value {
    let mut map = Map::new();
    for child in &node.children {
        if child.name == "Data" {
            let key = match child.attr("Name") {
                Some(n) if !n.is_empty() => n.to_owned(),
                _ => "Data".to_owned(),
            };
            insert_multi(&mut map, key, Value::String(child.text.to_string()));
        } else {
            insert_multi(&mut map, child.name.to_string(), tree_value(child));
        }
    }
    if map.is_empty() && !node.text.trim().is_empty() {
        map.insert("Data".to_owned(), Value::String(node.text.to_string()));
    }
    Value::Object(map)
}

fn build_fields(root: &Node, ast: &WinEventAst) -> Value {
    let mut map = Map::new();
    for child in &root.children {
        let value = match child.name.as_ref() {
            "System" => system_value(child, ast),
            "EventData" => event_data_value(child),
            _ => {
                let v = tree_value(child);
                if v.is_string() {
                    Value::Object(Map::new())
                } else {
                    v
                }
            }
        };
        insert_multi(&mut map, child.name.to_string(), value);
    }
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &str = r#"<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System><Provider Name="P" Guid="{AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE}"/><EventID Qualifiers="0">1</EventID><TimeCreated SystemTime="2026-01-01T00:00:00Z"/><EventRecordID>7</EventRecordID><Channel>Security</Channel><Computer>H</Computer></System><EventData><Data Name="A">x &amp; &#65;</Data><Data Name="A">y</Data><Data>u</Data></EventData></Event>"#;

    #[test]
    fn parses_and_builds_fields() {
        let p = parse(OK.as_bytes()).unwrap();
        assert_eq!(
            p.ast.system.provider.guid.as_deref(),
            Some("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee")
        );
        assert_eq!(
            p.fields["EventData"]["A"],
            serde_json::json!(["x & A", "y"])
        );
        assert_eq!(p.fields["EventData"]["Data"], "u");
        assert_eq!(p.fields["System"]["EventID"], "1");
        assert_eq!(p.fields["System"]["EventIDQualifiers"], "0");
        assert_eq!(
            p.fields["System"]["TimeCreated"]["SystemTime"],
            "2026-01-01T00:00:00Z"
        );
    }

    #[test]
    fn crlf_is_canonicalized() {
        let c = canonicalize(b"a\r\nb\rc\n").unwrap();
        assert_eq!(c, "a\nb\nc\n");
    }

    #[test]
    fn custom_entity_is_rejected() {
        let x = OK.replace("&amp;", "&who;");
        let e = parse(x.as_bytes()).unwrap_err();
        assert_eq!(e.code(), "xml_not_well_formed");
        let x = OK.replace("Name=\"P\"", "Name=\"&who;\"");
        assert_eq!(
            parse(x.as_bytes()).unwrap_err().code(),
            "xml_not_well_formed"
        );
    }

    #[test]
    fn guid_normalization() {
        assert_eq!(
            normalize_guid("{01234567-89AB-CDEF-0123-456789ABCDEF}").as_deref(),
            Some("01234567-89ab-cdef-0123-456789abcdef")
        );
        assert!(normalize_guid("{NOT-A-GUID}").is_none());
    }

    #[test]
    fn depth_64_is_accepted_65_is_not() {
        let nest = |n: usize| {
            let open: String = (0..n).map(|_| "<a>").collect();
            let close: String = (0..n).map(|_| "</a>").collect();
            OK.replace("<Data>u</Data>", &format!("<Data>u</Data>{open}{close}"))
        };
        // Event=1, EventData=2, so n nested elements reach depth n+2.
        assert!(parse(nest(62).as_bytes()).is_ok());
        assert_eq!(
            parse(nest(63).as_bytes()).unwrap_err().code(),
            "xml_depth_exceeded"
        );
    }
}
