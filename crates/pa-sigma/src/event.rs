//! Events as the matcher sees them: a key → values lookup plus a walk over all strings.

use serde_json::Value;
use std::borrow::Cow;

/// One value of an event field.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FieldValue<'a> {
    /// A string.
    Str(&'a str),
    /// An integer.
    Int(i64),
    /// A float (also integers beyond `i64`).
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// An explicit null.
    Null,
    /// A present, non-scalar value (object): exists, but matches no value pattern.
    Complex,
}

impl FieldValue<'_> {
    /// The text a string pattern is matched against; `None` for null and complex values.
    pub fn text(&self) -> Option<Cow<'_, str>> {
        match self {
            FieldValue::Str(s) => Some(Cow::Borrowed(s)),
            FieldValue::Int(i) => Some(Cow::Owned(i.to_string())),
            FieldValue::Float(f) => Some(Cow::Owned(crate::yaml::float_text(*f))),
            FieldValue::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
            FieldValue::Null | FieldValue::Complex => None,
        }
    }

    /// The numeric value, for `gt`/`lt`/…: numbers, and strings that parse as numbers.
    pub fn number(&self) -> Option<f64> {
        match self {
            FieldValue::Int(i) => Some(*i as f64),
            FieldValue::Float(f) => Some(*f),
            FieldValue::Str(s) => parse_number(s),
            _ => None,
        }
    }
}

/// Parse a decimal number (integer or float) from text, trimming spaces.
pub fn parse_number(s: &str) -> Option<f64> {
    let t = s.trim();
    if t.is_empty() {
        return None;
    }
    if let Ok(i) = t.parse::<i64>() {
        return Some(i as f64);
    }
    let f = t.parse::<f64>().ok()?;
    f.is_finite().then_some(f)
}

/// An event the matcher can query. Implement it over JSON, Parquet rows, or anything else.
pub trait Event {
    /// Append every value of `key` to `out` (nothing when the key is absent; one entry per array
    /// element when the key holds an array).
    fn values<'a>(&'a self, key: &str, out: &mut Vec<FieldValue<'a>>);
    /// Call `f` on every string value of the event (for keyword searches).
    fn for_each_string(&self, f: &mut dyn FnMut(&str));

    /// Optional speed-up: call `f` with names such that [`Event::values`] finds something for a
    /// key only if the key itself, or its part before the first `.`, or its part before the first
    /// `_`, is among them; return `true` when this is supported. The engine then skips keys that
    /// cannot be present instead of looking each up. A superset of names is fine; a missing name
    /// makes the engine miss that key. The default returns `false` (every key is looked up).
    fn for_each_key_hint(&self, f: &mut dyn FnMut(&str)) -> bool {
        let _ = f;
        false
    }
}

/// Push a JSON value the way the matcher sees it (arrays flattened, objects complex).
#[inline]
pub fn push_json_value<'a>(v: &'a Value, out: &mut Vec<FieldValue<'a>>) {
    match v {
        Value::Null => out.push(FieldValue::Null),
        Value::Bool(b) => out.push(FieldValue::Bool(*b)),
        Value::Number(n) => out.push(match n.as_i64() {
            Some(i) => FieldValue::Int(i),
            None => FieldValue::Float(n.as_f64().unwrap_or(f64::NAN)),
        }),
        Value::String(s) => out.push(FieldValue::Str(s)),
        Value::Array(items) => {
            for i in items {
                push_json_value(i, out);
            }
        }
        Value::Object(_) => out.push(FieldValue::Complex),
    }
}

/// Push the values at a dotted path inside a JSON value (arrays on the way traversed: any
/// element may match).
#[inline]
pub fn walk_json_path<'a>(v: &'a Value, parts: &[&str], out: &mut Vec<FieldValue<'a>>) {
    let Some((head, rest)) = parts.split_first() else {
        push_json_value(v, out);
        return;
    };
    match v {
        Value::Object(m) => {
            if let Some(child) = m.get(*head) {
                walk_json_path(child, rest, out);
            }
        }
        Value::Array(items) => {
            for i in items {
                walk_json_path(i, parts, out);
            }
        }
        _ => {}
    }
}

/// Call `f` on every string inside a JSON value (for keyword searches).
#[inline]
pub fn for_each_json_string(v: &Value, f: &mut dyn FnMut(&str)) {
    match v {
        Value::String(s) => f(s),
        Value::Array(items) => items.iter().for_each(|i| for_each_json_string(i, f)),
        Value::Object(m) => m.values().for_each(|i| for_each_json_string(i, f)),
        _ => {}
    }
}

/// A JSON event: a key is a literal top-level key first, then a dotted path
/// (`process.file.path`; arrays on the way are traversed, any element may match).
#[derive(Debug, Clone, PartialEq)]
pub struct JsonEvent {
    /// The event.
    pub value: Value,
}

impl JsonEvent {
    /// Wrap a JSON value.
    pub fn new(value: Value) -> JsonEvent {
        JsonEvent { value }
    }
}

impl Event for JsonEvent {
    fn values<'a>(&'a self, key: &str, out: &mut Vec<FieldValue<'a>>) {
        if let Some(v) = self.value.get(key) {
            push_json_value(v, out);
            return;
        }
        if key.contains('.') {
            let parts: Vec<&str> = key.split('.').collect();
            walk_json_path(&self.value, &parts, out);
        }
    }
    fn for_each_string(&self, f: &mut dyn FnMut(&str)) {
        for_each_json_string(&self.value, f);
    }
    fn for_each_key_hint(&self, f: &mut dyn FnMut(&str)) -> bool {
        if let Value::Object(m) = &self.value {
            m.keys().for_each(|k| f(k));
        }
        true
    }
}

/// A Windows event in the evtx-JSON shape (`{"Event": {"System": …, "EventData": …}}`) or a flat
/// JSON object with Sigma field names.
///
/// Lookup order for a key: a literal top-level key; `Event.EventData.<key>` (or a
/// `Event.EventData.Data[]` element whose `#attributes.Name` is the key);
/// `Event.UserData.<element>.<key>`; `Event.System.<key>` (its `#text` when it has attributes);
/// `A_B` as `Event.System.A.#attributes.B` (`Provider_Name`, `Execution_ProcessID`);
/// finally a dotted path from the root.
#[derive(Debug, Clone, PartialEq)]
pub struct SigmaJsonEvent {
    /// The event.
    pub value: Value,
}

impl SigmaJsonEvent {
    /// Wrap a JSON value.
    pub fn new(value: Value) -> SigmaJsonEvent {
        SigmaJsonEvent { value }
    }

    /// Read every JSON value of a concatenated stream (`{..}{..}`, JSON lines, or one array of
    /// events) as events.
    pub fn read_all(text: &str) -> Result<Vec<SigmaJsonEvent>, serde_json::Error> {
        let mut out = Vec::new();
        for v in serde_json::Deserializer::from_str(text).into_iter::<Value>() {
            match v? {
                Value::Array(items) => out.extend(items.into_iter().map(SigmaJsonEvent::new)),
                other => out.push(SigmaJsonEvent::new(other)),
            }
        }
        Ok(out)
    }
}

/// Whether a source field name `source` is Sigma's `key` by the field-name convention: equal,
/// or equal once its spaces are removed (Windows Defender's `Threat Name` is `ThreatName` to
/// Sigma; docs/adr/0013-field-names-without-spaces.md).
pub fn sigma_name_matches(source: &str, key: &str) -> bool {
    source == key
        || (source.contains(' ')
            && source.len() > key.len()
            && source.bytes().filter(|b| *b != b' ').eq(key.bytes()))
}

/// A source field name as Sigma knows it: spaces removed (borrowed when it has none).
pub fn sigma_name(source: &str) -> std::borrow::Cow<'_, str> {
    if source.contains(' ') {
        std::borrow::Cow::Owned(source.chars().filter(|c| *c != ' ').collect())
    } else {
        std::borrow::Cow::Borrowed(source)
    }
}

/// A key hint under its source name and, when that has spaces, its Sigma name.
fn hint_both(f: &mut dyn FnMut(&str), source: &str) {
    f(source);
    if source.contains(' ') {
        f(&sigma_name(source));
    }
}

/// `Data` elements that carry their name as an attribute (`{"#attributes": {"Name": k}, "#text": v}`).
fn named_data(data: &serde_json::Map<String, Value>) -> impl Iterator<Item = (&str, &Value)> {
    let items: &[Value] = match data.get("Data") {
        Some(Value::Array(a)) => a,
        Some(v @ Value::Object(_)) => std::slice::from_ref(v),
        _ => &[],
    };
    items.iter().filter_map(|d| {
        let name = d.get("#attributes")?.get("Name")?.as_str()?;
        Some((name, d.get("#text").unwrap_or(&Value::Null)))
    })
}

fn scalar_or_text(v: &Value) -> &Value {
    match v {
        Value::Object(m) => m.get("#text").unwrap_or(v),
        _ => v,
    }
}

impl Event for SigmaJsonEvent {
    fn values<'a>(&'a self, key: &str, out: &mut Vec<FieldValue<'a>>) {
        let top = self.value.get(key).or_else(|| {
            self.value
                .as_object()?
                .iter()
                .find(|(k, _)| sigma_name_matches(k, key))
                .map(|(_, v)| v)
        });
        if let Some(v) = top {
            if key != "Event" {
                push_json_value(v, out);
                return;
            }
        }
        if let Some(ev) = self.value.get("Event") {
            if let Some(Value::Object(data)) = ev.get("EventData") {
                if key != "#attributes" {
                    if let Some(v) = data.get(key).or_else(|| {
                        // `Threat Name` for `ThreatName`
                        data.iter()
                            .find(|(k, _)| sigma_name_matches(k, key))
                            .map(|(_, v)| v)
                    }) {
                        push_json_value(scalar_or_text(v), out);
                        return;
                    }
                    // XML-shaped data: `"Data": [{"#attributes": {"Name": k}, "#text": v}, …]`
                    let mut found = false;
                    for d in named_data(data) {
                        if sigma_name_matches(d.0, key) {
                            push_json_value(d.1, out);
                            found = true;
                        }
                    }
                    if found {
                        return;
                    }
                }
            }
            if let Some(Value::Object(user)) = ev.get("UserData") {
                for elem in user.values() {
                    if let Value::Object(fields) = elem {
                        if let Some(v) = fields.get(key).or_else(|| {
                            fields
                                .iter()
                                .find(|(k, _)| sigma_name_matches(k, key))
                                .map(|(_, v)| v)
                        }) {
                            push_json_value(scalar_or_text(v), out);
                            return;
                        }
                    }
                }
            }
            if let Some(Value::Object(sys)) = ev.get("System") {
                if let Some(v) = sys.get(key) {
                    push_json_value(scalar_or_text(v), out);
                    return;
                }
                if let Some((elem, attr)) = key.split_once('_') {
                    if let Some(v) = sys
                        .get(elem)
                        .and_then(|e| e.get("#attributes"))
                        .and_then(|a| a.get(attr))
                    {
                        push_json_value(v, out);
                        return;
                    }
                }
            }
        }
        if key.contains('.') {
            let parts: Vec<&str> = key.split('.').collect();
            walk_json_path(&self.value, &parts, out);
        }
    }
    fn for_each_string(&self, f: &mut dyn FnMut(&str)) {
        for_each_json_string(&self.value, f);
    }
    fn for_each_key_hint(&self, f: &mut dyn FnMut(&str)) -> bool {
        if let Value::Object(m) = &self.value {
            m.keys().for_each(|k| hint_both(f, k));
        }
        if let Some(ev) = self.value.get("Event") {
            for section in ["EventData", "System"] {
                if let Some(Value::Object(m)) = ev.get(section) {
                    m.keys().for_each(|k| hint_both(f, k));
                    if section == "EventData" {
                        named_data(m).for_each(|(k, _)| hint_both(f, k));
                    }
                }
            }
            if let Some(Value::Object(user)) = ev.get("UserData") {
                for elem in user.values() {
                    if let Value::Object(m) = elem {
                        m.keys().for_each(|k| hint_both(f, k));
                    }
                }
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vals<'a>(e: &'a dyn Event, k: &str) -> Vec<FieldValue<'a>> {
        let mut out = Vec::new();
        e.values(k, &mut out);
        out
    }

    #[test]
    fn json_event_literal_then_dotted() {
        let e = JsonEvent::new(json!({
            "process.name": "literal",
            "process": {"name": "nested", "file": {"path": "/bin/sh"}},
            "users": [{"name": "a"}, {"name": "b"}],
            "n": 5, "z": null
        }));
        assert_eq!(vals(&e, "process.name"), vec![FieldValue::Str("literal")]);
        assert_eq!(
            vals(&e, "process.file.path"),
            vec![FieldValue::Str("/bin/sh")]
        );
        assert_eq!(
            vals(&e, "users.name"),
            vec![FieldValue::Str("a"), FieldValue::Str("b")]
        );
        assert_eq!(vals(&e, "n"), vec![FieldValue::Int(5)]);
        assert_eq!(vals(&e, "z"), vec![FieldValue::Null]);
        assert!(vals(&e, "missing").is_empty());
        assert_eq!(vals(&e, "process"), vec![FieldValue::Complex]);
    }

    #[test]
    fn sigma_json_event_shapes() {
        let e = SigmaJsonEvent::new(json!({"Event": {
            "System": {"Provider": {"#attributes": {"Name": "Microsoft-Windows-Sysmon"}},
                       "EventID": 7, "Channel": "Microsoft-Windows-Sysmon/Operational",
                       "Computer": "host", "Execution": {"#attributes": {"ProcessID": 42}}},
            "EventData": {"#attributes": {"Name": "TaskDisabled"}, "Image": "C:\\x.exe", "ProcessId": 1},
            "UserData": {"Op": {"User": "bob"}}
        }}));
        assert_eq!(vals(&e, "Image"), vec![FieldValue::Str("C:\\x.exe")]);
        assert_eq!(vals(&e, "EventID"), vec![FieldValue::Int(7)]);
        assert_eq!(
            vals(&e, "Provider_Name"),
            vec![FieldValue::Str("Microsoft-Windows-Sysmon")]
        );
        assert_eq!(vals(&e, "Execution_ProcessID"), vec![FieldValue::Int(42)]);
        assert_eq!(vals(&e, "Computer"), vec![FieldValue::Str("host")]);
        assert_eq!(vals(&e, "User"), vec![FieldValue::Str("bob")]);
        assert!(vals(&e, "Name").is_empty());
        let xml_shaped = SigmaJsonEvent::new(json!({"Event": {"EventData": {"Data": [
            {"#attributes": {"Name": "TargetUserName"}, "#text": "bob"},
            {"#attributes": {"Name": "LogonType"}, "#text": 3}]}}}));
        assert_eq!(
            vals(&xml_shaped, "TargetUserName"),
            vec![FieldValue::Str("bob")]
        );
        assert_eq!(vals(&xml_shaped, "LogonType"), vec![FieldValue::Int(3)]);
        let mut hints = Vec::new();
        assert!(xml_shaped.for_each_key_hint(&mut |k| hints.push(k.to_owned())));
        assert!(hints.contains(&"TargetUserName".to_owned()));
        let flat = SigmaJsonEvent::new(json!({"Image": "a.exe", "EventID": "4688"}));
        assert_eq!(vals(&flat, "Image"), vec![FieldValue::Str("a.exe")]);
        let qualified = SigmaJsonEvent::new(json!({"Event": {"System": {
            "EventID": {"#attributes": {"Qualifiers": 16384}, "#text": 7036}}}}));
        assert_eq!(vals(&qualified, "EventID"), vec![FieldValue::Int(7036)]);
    }

    #[test]
    fn read_all_concatenated() {
        let evs = SigmaJsonEvent::read_all("{\"a\":1}\n{\"a\":2}[{\"a\":3}]").expect("parses");
        assert_eq!(evs.len(), 3);
        assert!(SigmaJsonEvent::read_all("{\"a\":").is_err());
    }
}

#[cfg(test)]
mod name_convention_tests {
    use super::*;

    #[test]
    fn a_source_name_with_spaces_is_its_sigma_name_without_them() {
        assert!(sigma_name_matches("Threat Name", "ThreatName"));
        assert!(sigma_name_matches("ThreatName", "ThreatName"));
        assert!(sigma_name_matches(
            "Additional Actions ID",
            "AdditionalActionsID"
        ));
        assert!(!sigma_name_matches("Threat Name", "Threat"));
        assert!(!sigma_name_matches("Threat Name", "threatname"));
        assert!(!sigma_name_matches("ThreatName", "Threat Name"));
        assert_eq!(sigma_name("Source Name"), "SourceName");
        assert!(matches!(sigma_name("Image"), std::borrow::Cow::Borrowed(_)));
        let ev = SigmaJsonEvent::new(serde_json::json!({
            "Event": {"EventData": {"Source Name": "AMSI"}, "System": {"EventID": 1116}}}));
        let mut out = Vec::new();
        ev.values("SourceName", &mut out);
        assert_eq!(out.len(), 1);
        let mut hints = Vec::new();
        ev.for_each_key_hint(&mut |k| hints.push(k.to_string()));
        assert!(hints.contains(&"SourceName".to_string()), "{hints:?}");
        assert!(hints.contains(&"Source Name".to_string()), "{hints:?}");
    }
}
