//! Events read straight from the normalized store's Arrow batches: a row is queried column by
//! column (strings borrowed from the Arrow buffers), with no JSON reconstruction. This is the
//! bundle mode's hot path; [`ValueEvent`] is the same lookup over a JSON value, for stream mode.
//!
//! Lookup of a key (a dotted OCSF path from the bridge): the column of that name; else, when a
//! prefix of the key is a JSON-text column (arrays such as `observables`), the rest of the key
//! inside each parsed element. Keyword searches see every string cell of the row.

use arrow_array::{
    Array, BooleanArray, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray,
};
use pa_sigma::{Event, FieldValue, for_each_json_string, push_json_value, walk_json_path};
use pa_store::events::ColumnInfo;
use serde_json::Value;
use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::OnceLock;

/// Column-name maps are looked up for every key of every row, where SipHash showed in
/// profiles: they use pa-sigma's word-at-a-time hasher (keys are the store's own column names,
/// so hash flooding is not a concern).
type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<pa_sigma::WordHash>>;

enum Col<'a> {
    Str(&'a StringArray),
    I64(&'a Int64Array),
    I32(&'a Int32Array),
    F64(&'a Float64Array),
    Bool(&'a BooleanArray),
    /// JSON text, parsed on first use, once per batch (`None` for a null cell): columns no
    /// rule reads are never parsed.
    Json(&'a StringArray, OnceLock<Vec<Option<Value>>>),
    /// A column of a type the store does not write: no values.
    Null,
}

impl Col<'_> {
    /// The parsed cell of a JSON column (`None` for a null cell or another column type).
    fn json(&self, r: usize) -> Option<&Value> {
        let Col::Json(a, parsed) = self else {
            return None;
        };
        if a.is_null(r) {
            return None;
        }
        parsed.get_or_init(|| parse_cells(a)).get(r)?.as_ref()
    }
}

/// Every cell of a JSON-text column parsed.
fn parse_cells(s: &StringArray) -> Vec<Option<Value>> {
    (0..s.len())
        .map(|r| (!s.is_null(r)).then(|| parse_cell(s.value(r))))
        .collect()
}

/// A JSON-text cell parsed (text that is not JSON stays a string).
fn parse_cell(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
}

/// One record batch of the normalized store, ready to be queried row by row.
pub struct BatchView<'a> {
    cols: Vec<Col<'a>>,
    names: FastMap<&'a str, usize>,
    /// JSON column names, for lookups below them (`observables.name`).
    json_cols: FastMap<&'a str, usize>,
    /// Every proper dotted prefix of a column name (`process`, `process.file`) → the columns
    /// below it: an object key is present when one of them has a value.
    prefixes: FastMap<&'a str, Vec<usize>>,
    /// Column names, by index.
    col_names: Vec<&'a str>,
    /// Every string column, plain or JSON text: (column index, its array, holds JSON).
    texts: Vec<(usize, &'a StringArray, bool)>,
    rows: usize,
}

impl<'a> BatchView<'a> {
    /// Index a batch (as read by `pa_store::events::EventReader::next_batch`).
    pub fn new(batch: &'a RecordBatch, info: &'a [ColumnInfo]) -> BatchView<'a> {
        let mut cols = Vec::with_capacity(info.len());
        let mut names = FastMap::default();
        let mut json_cols = FastMap::default();
        let mut prefixes: FastMap<&'a str, Vec<usize>> = FastMap::default();
        let mut col_names = Vec::with_capacity(info.len());
        let mut texts = Vec::new();
        for (i, ci) in info.iter().enumerate() {
            let a = batch.column(i).as_ref();
            let any = a.as_any();
            let col = if let Some(s) = any.downcast_ref::<StringArray>() {
                texts.push((i, s, ci.json));
                if ci.json {
                    json_cols.insert(ci.name.as_str(), i);
                    Col::Json(s, OnceLock::new())
                } else {
                    Col::Str(s)
                }
            } else if let Some(x) = any.downcast_ref::<Int64Array>() {
                Col::I64(x)
            } else if let Some(x) = any.downcast_ref::<Int32Array>() {
                Col::I32(x)
            } else if let Some(x) = any.downcast_ref::<Float64Array>() {
                Col::F64(x)
            } else if let Some(x) = any.downcast_ref::<BooleanArray>() {
                Col::Bool(x)
            } else {
                Col::Null
            };
            cols.push(col);
            names.insert(ci.name.as_str(), i);
            col_names.push(ci.name.as_str());
            let n = ci.name.as_str();
            for (pos, _) in n.match_indices('.') {
                prefixes.entry(&n[..pos]).or_default().push(i);
            }
        }
        BatchView {
            cols,
            names,
            json_cols,
            prefixes,
            col_names,
            texts,
            rows: batch.num_rows(),
        }
    }

    /// Every string column, plain or JSON text, ascending: (column index, its array, holds
    /// JSON). The strings keyword searches see are in these columns ([`BatchView::cell_strings`]).
    pub fn text_columns(&self) -> &[(usize, &'a StringArray, bool)] {
        &self.texts
    }

    /// The strings a keyword search sees in column `col` of row `row`: a plain string cell,
    /// or every string inside a JSON cell. Nothing for other columns and null cells.
    pub fn cell_strings(&self, col: usize, row: usize, f: &mut dyn FnMut(&str)) {
        match self.cols.get(col) {
            Some(Col::Str(a)) if !a.is_null(row) => f(a.value(row)),
            // Keyword candidates are a few rows of a column: a cell is parsed on its own unless
            // the column already is.
            Some(Col::Json(a, parsed)) if !a.is_null(row) => match parsed.get() {
                Some(cells) => {
                    if let Some(Some(j)) = cells.get(row) {
                        for_each_json_string(j, f);
                    }
                }
                None => for_each_json_string(&parse_cell(a.value(row)), f),
            },
            _ => {}
        }
    }

    /// Rows in the batch.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether the batch is empty.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Where `key` is found in this batch (the lookup [`RowEvent`]'s `values` does), resolved
    /// once so that rows can be asked cheaply whether the key has a value
    /// ([`RowEvent::may_have`]).
    pub fn resolve<'k>(&self, key: &'k str) -> Resolved<'_, 'k> {
        if let Some(&i) = self.names.get(key) {
            return Resolved::Column(i);
        }
        // Inside a JSON column: `observables.name` → column `observables`, path `name`.
        for (pos, _) in key.match_indices('.') {
            if let Some(&i) = self.json_cols.get(&key[..pos]) {
                return Resolved::Json(i, &key[pos + 1..]);
            }
        }
        // An object prefix (`process.file`): present when any column below it has a value.
        match self.prefixes.get(key) {
            Some(below) => Resolved::Object(below),
            None => Resolved::Absent,
        }
    }

    /// Row `row` as an [`Event`].
    pub fn row(&'a self, row: usize) -> RowEvent<'a> {
        RowEvent {
            view: self,
            row,
            table: None,
            hints: false,
        }
    }

    /// Row `row` as an [`Event`] that also gives key hints (its non-null column names and their
    /// dotted prefixes). Same detections as [`BatchView::row`], but measured slower on the
    /// SigmaHQ windows rules (119.7k vs 85.6k instructions/event): a top-level prefix such as
    /// `process` must be hinted for object keys, and it makes every `process.*` key a
    /// candidate. Kept for comparison; [`crate::detector::Detector::detect_row`] is the fast path.
    pub fn row_hinted(&'a self, row: usize) -> RowEvent<'a> {
        RowEvent {
            view: self,
            row,
            table: None,
            hints: true,
        }
    }

    /// Row `row` as an [`Event`] whose lookups of the keys in `table` (built over this batch)
    /// skip the name lookup. Same answers as [`BatchView::row`].
    pub fn row_with(&'a self, row: usize, table: &'a KeyTable<'a, 'a>) -> RowEvent<'a> {
        RowEvent {
            view: self,
            row,
            table: Some(table),
            hints: false,
        }
    }

    /// Resolve the numbered keys of `ids` against this batch once (each distinct text once),
    /// for [`BatchView::row_with`].
    pub fn key_table<'k>(&self, ids: &'k KeyIds) -> KeyTable<'_, 'k> {
        KeyTable {
            ids,
            resolved: ids.texts.iter().map(|t| self.resolve(t)).collect(),
        }
    }

    /// Whether `key` resolves to a plain string column (one text or null per row, which is all
    /// [`RowEvent`]'s lookup gives for it).
    pub fn is_str_column(&self, key: &Resolved<'_, '_>) -> bool {
        matches!(key, Resolved::Column(i) if matches!(self.cols.get(*i), Some(Col::Str(_))))
    }

    /// The cell of a plain string column ([`BatchView::is_str_column`]) at `row`.
    pub fn str_cell(&self, key: &Resolved<'_, '_>, row: usize) -> Option<&'a str> {
        match key {
            Resolved::Column(i) => match self.cols.get(*i) {
                Some(Col::Str(a)) => (!a.is_null(row)).then(|| a.value(row)),
                _ => None,
            },
            _ => None,
        }
    }

    /// An integer cell by column name.
    pub fn int(&self, name: &str, row: usize) -> Option<i64> {
        match self.names.get(name).map(|&i| &self.cols[i])? {
            Col::I64(a) => (!a.is_null(row)).then(|| a.value(row)),
            Col::I32(a) => (!a.is_null(row)).then(|| i64::from(a.value(row))),
            _ => None,
        }
    }

    /// A string cell by column name.
    pub fn str(&self, name: &str, row: usize) -> Option<&'a str> {
        match self.names.get(name).map(|&i| &self.cols[i])? {
            Col::Str(a) => (!a.is_null(row)).then(|| a.value(row)),
            _ => None,
        }
    }
}

/// Where a key is found in a [`BatchView`] (see [`BatchView::resolve`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolved<'v, 'k> {
    /// The column of that name (by index).
    Column(usize),
    /// Below a JSON-text column: the column and the dotted path inside each parsed cell.
    Json(usize, &'k str),
    /// An object prefix of these columns: present (as a complex value) when one has a value.
    Object(&'v [usize]),
    /// Nowhere in this batch: no row has a value.
    Absent,
}

/// One row of a [`BatchView`].
#[derive(Clone, Copy)]
pub struct RowEvent<'a> {
    view: &'a BatchView<'a>,
    row: usize,
    table: Option<&'a KeyTable<'a, 'a>>,
    /// Whether [`Event::for_each_key_hint`] is answered (see [`BatchView::row_hinted`]).
    hints: bool,
}

/// The key strings a caller queries rows with, numbered by text once ([`KeyIds::new`]) and
/// found again by the address and length of each string: a caller that queries rows with the
/// very `&str`s it numbered (an engine's own key strings) skips hashing the text on every row.
///
/// Contract: the strings must outlive the `KeyIds` unchanged, so that their addresses cannot
/// be reused by other text meanwhile; build it from strings owned by the value that owns it
/// (the [`crate::detector::Detector`] numbers its engines' keys). Any other `&str`, including
/// an equal string elsewhere in memory, is resolved by its text as usual.
#[derive(Debug, Default)]
pub struct KeyIds {
    by_addr: FastMap<(usize, usize), u32>,
    texts: Vec<String>,
}

impl KeyIds {
    /// Number `keys` (equal texts share a number).
    pub fn new<'k>(keys: impl IntoIterator<Item = &'k str>) -> KeyIds {
        let mut ids = KeyIds::default();
        let mut by_text: FastMap<&'k str, u32> = FastMap::default();
        for k in keys {
            let next = u32::try_from(ids.texts.len()).unwrap_or(u32::MAX);
            let id = *by_text.entry(k).or_insert_with(|| {
                ids.texts.push(k.to_string());
                next
            });
            ids.by_addr.insert(addr(k), id);
        }
        ids
    }

    /// Distinct key texts.
    pub fn len(&self) -> usize {
        self.texts.len()
    }

    /// Whether no key is numbered.
    pub fn is_empty(&self) -> bool {
        self.texts.is_empty()
    }
}

/// The keys of a [`KeyIds`] resolved against one batch ([`BatchView::key_table`]). The table
/// changes no answer: a key it does not know is resolved by its text.
pub struct KeyTable<'v, 'k> {
    ids: &'k KeyIds,
    resolved: Vec<Resolved<'v, 'k>>,
}

impl<'v, 'k> KeyTable<'v, 'k> {
    /// Distinct keys in the table.
    pub fn len(&self) -> usize {
        self.resolved.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.resolved.is_empty()
    }

    /// Where `key` (one of the numbered strings itself) is in the batch; `None` for any
    /// other string.
    pub fn get(&self, key: &str) -> Option<Resolved<'v, 'k>> {
        let id = *self.ids.by_addr.get(&addr(key))?;
        self.resolved.get(id as usize).copied()
    }
}

fn addr(key: &str) -> (usize, usize) {
    (key.as_ptr() as usize, key.len())
}

impl Event for RowEvent<'_> {
    fn values<'b>(&'b self, key: &str, out: &mut Vec<FieldValue<'b>>) {
        let v = self.view;
        let r = self.row;
        let resolved = self
            .table
            .and_then(|t| t.get(key))
            .unwrap_or_else(|| v.resolve(key));
        match resolved {
            Resolved::Column(i) => match &v.cols[i] {
                Col::Str(a) => {
                    if !a.is_null(r) {
                        out.push(FieldValue::Str(a.value(r)));
                    }
                }
                Col::I64(a) => {
                    if !a.is_null(r) {
                        out.push(FieldValue::Int(a.value(r)));
                    }
                }
                Col::I32(a) => {
                    if !a.is_null(r) {
                        out.push(FieldValue::Int(i64::from(a.value(r))));
                    }
                }
                Col::F64(a) => {
                    if !a.is_null(r) {
                        out.push(FieldValue::Float(a.value(r)));
                    }
                }
                Col::Bool(a) => {
                    if !a.is_null(r) {
                        out.push(FieldValue::Bool(a.value(r)));
                    }
                }
                c @ Col::Json(..) => {
                    if let Some(j) = c.json(r) {
                        push_json_value(j, out);
                    }
                }
                Col::Null => {}
            },
            Resolved::Json(i, path) => {
                if let Some(j) = v.cols[i].json(r) {
                    let parts: Vec<&str> = path.split('.').collect();
                    walk_json_path(j, &parts, out);
                }
            }
            Resolved::Object(below) => {
                if below.iter().any(|&i| !cell_is_null(&v.cols[i], r)) {
                    out.push(FieldValue::Complex);
                }
            }
            Resolved::Absent => {}
        }
    }

    /// Names of the row's non-null cells: the column name, its proper dotted prefixes (object
    /// keys are present through the columns below them) and, for a JSON column, its first
    /// segment (keys below it). A superset of what [`Event::for_each_key_hint`] asks for.
    fn for_each_key_hint(&self, f: &mut dyn FnMut(&str)) -> bool {
        if !self.hints {
            return false;
        }
        let r = self.row;
        for (c, name) in self.view.cols.iter().zip(&self.view.col_names) {
            if cell_is_null(c, r) {
                continue;
            }
            f(name);
            for (pos, _) in name.match_indices('.') {
                f(&name[..pos]);
            }
        }
        true
    }

    fn for_each_string(&self, f: &mut dyn FnMut(&str)) {
        for &(c, _, _) in &self.view.texts {
            self.view.cell_strings(c, self.row, f);
        }
    }
}

impl RowEvent<'_> {
    /// Whether a key resolved with [`BatchView::resolve`] may have a value on this row (`false`
    /// guarantees that `values` finds nothing; a non-null JSON cell counts as maybe).
    pub fn may_have(&self, key: &Resolved<'_, '_>) -> bool {
        let v = self.view;
        match *key {
            Resolved::Column(i) | Resolved::Json(i, _) => {
                v.cols.get(i).is_some_and(|c| !cell_is_null(c, self.row))
            }
            Resolved::Object(below) => below
                .iter()
                .any(|&i| v.cols.get(i).is_some_and(|c| !cell_is_null(c, self.row))),
            Resolved::Absent => false,
        }
    }
}

fn cell_is_null(c: &Col<'_>, r: usize) -> bool {
    match c {
        Col::Str(a) => a.is_null(r),
        Col::I64(a) => a.is_null(r),
        Col::I32(a) => a.is_null(r),
        Col::F64(a) => a.is_null(r),
        Col::Bool(a) => a.is_null(r),
        Col::Json(a, _) => a.is_null(r),
        Col::Null => true,
    }
}

/// A borrowed JSON event with the same lookup as [`RowEvent`]: a literal top-level key, then
/// a dotted path.
#[derive(Clone, Copy)]
pub struct ValueEvent<'a>(pub &'a Value);

/// [`ValueEvent`]'s lookup: a literal top-level key, else a dotted path.
fn value_lookup<'a>(event: &'a Value, key: &str, out: &mut Vec<FieldValue<'a>>) {
    if let Some(v) = event.get(key) {
        push_json_value(v, out);
        return;
    }
    let parts: Vec<&str> = key.split('.').collect();
    walk_json_path(event, &parts, out);
}

impl Event for ValueEvent<'_> {
    fn values<'b>(&'b self, key: &str, out: &mut Vec<FieldValue<'b>>) {
        value_lookup(self.0, key, out);
    }
    fn for_each_string(&self, f: &mut dyn FnMut(&str)) {
        for_each_json_string(self.0, f);
    }
}

/// A JSON event with [`ValueEvent`]'s answers, for matching many rules against one event: the
/// literal top-level lookup is skipped when no top-level key holds `.` (checked once), a
/// dotted path is walked without collecting its segments, and the engine is told the
/// top-level keys so that it skips the keys whose first segment the event lacks.
pub struct HintedValueEvent<'a> {
    value: &'a Value,
    /// A top-level key holds `.`: the literal lookup comes first, as in [`ValueEvent`].
    literal_dots: bool,
}

impl<'a> HintedValueEvent<'a> {
    /// Wrap `value`.
    pub fn new(value: &'a Value) -> HintedValueEvent<'a> {
        let literal_dots = match value {
            Value::Object(m) => m.keys().any(|k| k.contains('.')),
            _ => false,
        };
        HintedValueEvent {
            value,
            literal_dots,
        }
    }
}

/// [`walk_json_path`] over the segments of a split key.
fn walk_split<'a>(v: &'a Value, parts: std::str::Split<'_, char>, out: &mut Vec<FieldValue<'a>>) {
    let mut rest = parts.clone();
    let Some(head) = rest.next() else {
        push_json_value(v, out);
        return;
    };
    match v {
        Value::Object(m) => {
            if let Some(child) = m.get(head) {
                walk_split(child, rest, out);
            }
        }
        Value::Array(items) => {
            for i in items {
                walk_split(i, parts.clone(), out);
            }
        }
        _ => {}
    }
}

impl Event for HintedValueEvent<'_> {
    fn values<'b>(&'b self, key: &str, out: &mut Vec<FieldValue<'b>>) {
        if self.literal_dots
            && let Some(v) = self.value.get(key)
        {
            push_json_value(v, out);
            return;
        }
        walk_split(self.value, key.split('.'), out);
    }
    fn for_each_string(&self, f: &mut dyn FnMut(&str)) {
        for_each_json_string(self.value, f);
    }
    /// The top-level keys: a key's value is reached through its first segment, which the
    /// engine's triggers list.
    fn for_each_key_hint(&self, f: &mut dyn FnMut(&str)) -> bool {
        match self.value {
            Value::Object(m) => {
                m.keys().for_each(|k| f(k));
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn values_of(ev: &dyn Event, key: &str) -> Vec<String> {
        let mut out = Vec::new();
        ev.values(key, &mut out);
        out.iter()
            .map(|v| match v {
                FieldValue::Complex => "<complex>".to_string(),
                FieldValue::Null => "<null>".to_string(),
                other => other.text().unwrap_or_default().into_owned(),
            })
            .collect()
    }

    /// Every key the walk can answer (and some it cannot) gets the same values, in the same
    /// order, from the hinted event.
    #[test]
    fn hinted_events_answer_like_value_events() {
        let events = [
            json!({"a": {"b": [1, {"c": "x"}, [{"c": "y"}, [{"c": ["z", 2.5]}]]], "d": {}},
                   "e": [], "f": null, "g": true, "": {"": "empty keys"},
                   "unmapped": {"k.dot": {"z": 1}, "plain": "v"}}),
            json!({"a.b": "literal", "a": {"b": "nested"}}),
            json!([{"a": 1}, {"a": 2}]),
            json!("scalar"),
            json!({"process": {"file": {"path": "C:\\x.exe"}, "pid": 4}, "observables":
                   [{"name": "n1", "value": "v1"}, {"name": "n2"}]}),
        ];
        let keys = [
            "a",
            "a.b",
            "a.b.c",
            "a.d",
            "a.d.x",
            "e",
            "f",
            "g",
            "",
            ".",
            "..",
            "unmapped",
            "unmapped.k",
            "unmapped.k.dot",
            "unmapped.k.dot.z",
            "unmapped.plain",
            "a.b.",
            "process",
            "process.file",
            "process.file.path",
            "process.pid",
            "observables",
            "observables.name",
            "observables.value",
            "missing",
            "process.missing.deeper",
        ];
        for e in &events {
            let plain = ValueEvent(e);
            let hinted = HintedValueEvent::new(e);
            for k in keys {
                let (mut a, mut b) = (Vec::new(), Vec::new());
                plain.values(k, &mut a);
                hinted.values(k, &mut b);
                assert_eq!(b, a, "key {k:?} of {e}");
            }
            let mut a = Vec::new();
            let mut b = Vec::new();
            plain.for_each_string(&mut |s| a.push(s.to_string()));
            hinted.for_each_string(&mut |s| b.push(s.to_string()));
            assert_eq!(a, b);
        }
    }

    #[test]
    fn row_events_answer_like_json_events() {
        let events = vec![
            json!({"time": 5, "class_uid": 1007, "metadata": {"uid": "a"},
                   "process": {"pid": 42, "file": {"path": "C:\\x.exe"}, "cmd_line": "x -y"},
                   "observables": [{"name": "process.file.path", "value": "C:\\x.exe"}],
                   "unmapped": {"IntegrityLevel": "High"}, "flag": true}),
            json!({"time": 6, "class_uid": 4001, "metadata": {"uid": "b"}, "dst_endpoint": {"port": 445}}),
        ];
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("s");
        let mut w = pa_store::events::EventWriter::new(&dir, t.path(), 1 << 20).unwrap();
        for e in &events {
            w.push(e).unwrap();
        }
        let s = w.finish().unwrap();
        std::fs::write(
            dir.join("_schema.json"),
            serde_json::to_vec(&s.schema_document).unwrap(),
        )
        .unwrap();
        let mut r = pa_store::events::EventReader::open(&dir).unwrap();
        let (batch, info) = r.next_batch().unwrap().unwrap();
        let view = BatchView::new(&batch, &info);
        assert_eq!(view.len(), 2);
        // The strings of a row before any JSON column is parsed (each cell parsed on its own).
        let unparsed = BatchView::new(&batch, &info);
        let strings_of = |v: &BatchView<'_>, r: usize| {
            let mut out = Vec::new();
            v.row(r).for_each_string(&mut |s| out.push(s.to_string()));
            out
        };
        let before: Vec<Vec<String>> = (0..2).map(|r| strings_of(&unparsed, r)).collect();
        assert!(before[0].iter().any(|s| s == "process.file.path"));
        let keys = [
            "process.pid",
            "process.file.path",
            "process.cmd_line",
            "observables.name",
            "observables.value",
            "unmapped.IntegrityLevel",
            "dst_endpoint.port",
            "flag",
            "process.file",
            "nope",
            "metadata.uid",
            "class_uid",
        ];
        let ids = KeyIds::new(keys);
        assert_eq!(ids.len(), keys.len());
        let table = view.key_table(&ids);
        assert_eq!(table.len(), keys.len());
        // an equal text at another address is not the table's: resolved by text instead
        let other = "process.pid".to_string();
        assert!(table.get(&other).is_none() && table.get(keys[0]).is_some());
        for (i, e) in events.iter().enumerate() {
            let row = view.row(i);
            let fast = view.row_with(i, &table);
            let je = ValueEvent(e);
            for key in keys {
                // The table's own strings, and an equal string at another address.
                assert_eq!(
                    values_of(&fast, key),
                    values_of(&row, key),
                    "row {i} key {key}"
                );
                let copy = key.to_string();
                assert_eq!(
                    values_of(&fast, &copy),
                    values_of(&row, key),
                    "row {i} key {key}"
                );
                let hit = !values_of(&row, key).is_empty();
                assert!(
                    !hit || row.may_have(&view.resolve(key)),
                    "row {i} key {key}"
                );
            }
            for key in keys {
                assert_eq!(
                    values_of(&row, key),
                    values_of(&je, key),
                    "row {i} key {key}"
                );
            }
            let mut a = Vec::new();
            row.for_each_string(&mut |s| a.push(s.to_string()));
            let mut b = Vec::new();
            je.for_each_string(&mut |s| b.push(s.to_string()));
            a.sort();
            b.sort();
            assert_eq!(a, b);
        }
        assert_eq!(view.int("time", 1), Some(6));
        assert_eq!(view.str("metadata.uid", 0), Some("a"));
        // ... are the strings once the lookups above have parsed the columns.
        let after: Vec<Vec<String>> = (0..2).map(|r| strings_of(&view, r)).collect();
        assert_eq!(before, after);
    }
}
