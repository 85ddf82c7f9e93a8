//! Values inside JSON-text columns. DuckDB: the native engine parses the cell and walks it
//! (`walk_json_path`: object keys by name, arrays traversed at every step, arrays at the end
//! flattened); here the same walk is a DuckDB list expression over the cell's parsed JSON
//! (`json_extract` of each member, arrays replaced by their elements at every step), evaluated
//! row by row like any scalar (a `json_tree` subquery per condition would be decorrelated into
//! a join over the whole store per rule). Spark has no JSON tree function: it reads a column's own values when
//! they are strings or lists of strings ([`spark_values`]) and, for keywords, the string tokens
//! of the text ([`spark_strings`]).

use crate::Dialect;

/// Arrays directly inside arrays the DuckDB walk follows at one step; deeper nesting stops the
/// query with an error rather than answer differently.
const ARRAY_DEPTH: usize = 4;

/// A node's JSON type in the conditions over the node `pa_j` (`VARCHAR`, `BIGINT`,
/// `UBIGINT`, `DOUBLE`, `BOOLEAN`, `NULL`, `OBJECT`).
pub(crate) const NODE_TYPE: &str = "json_type(pa_j)";

/// The list of JSON values `list` with its arrays replaced by their elements, arrays inside
/// arrays too (the native walk traverses arrays at every step).
fn without_arrays(list: String) -> String {
    let mut l = list;
    for _ in 0..ARRAY_DEPTH {
        l = format!(
            "flatten(list_transform({l}, lambda pa_n: CASE WHEN json_type(pa_n) = 'ARRAY' THEN json_extract(pa_n, '$[*]') ELSE [pa_n] END))"
        );
    }
    format!(
        "list_transform({l}, lambda pa_n: CASE WHEN json_type(pa_n) = 'ARRAY' THEN CAST(error('pa-sigma-sql: arrays nested more than {ARRAY_DEPTH} deep inside JSON text') AS JSON) ELSE pa_n END)"
    )
}

/// A JSONPath member step for `key` (quoted: any character but `"` and `\` stands for itself).
fn member(key: &str) -> String {
    let mut out = String::from("$.\"");
    for c in key.chars() {
        if matches!(c, '"' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// DuckDB: the values of `parts` below the root of the JSON text in column `col`, as the native
/// `walk_json_path` finds them (object members by name, arrays traversed at every step and at
/// the end, missing members skipped), as a `JSON[]` without arrays (an array is no value a
/// condition holds for: its elements are). A scalar expression, not a subquery: DuckDB
/// evaluates it only on the rows that reach it.
fn nodes(d: Dialect, col: &str, parts: &[String]) -> String {
    let c = d.ident(col);
    let mut l =
        format!("(CASE WHEN {c} IS NULL THEN CAST([] AS JSON[]) ELSE [CAST({c} AS JSON)] END)");
    for part in parts {
        l = format!(
            "list_filter(list_transform({}, lambda pa_n: json_extract(pa_n, {})), lambda pa_n: pa_n IS NOT NULL)",
            without_arrays(l),
            d.str_lit(&member(part))
        );
    }
    without_arrays(l)
}

/// Some value of `parts` inside column `col` satisfies `cond` (over the node `pa_j`, whose
/// type is [`NODE_TYPE`]).
pub(crate) fn exists(d: Dialect, col: &str, parts: &[String], cond: &str) -> String {
    format!(
        "COALESCE(list_bool_or(list_transform({}, lambda pa_j: {cond})), FALSE)",
        nodes(d, col, parts)
    )
}

/// DuckDB: every string value inside the JSON text of column `col` (`for_each_json_string`:
/// the root and every node below it, not object keys), decoded, as a `VARCHAR[]` (empty when
/// the cell is NULL). A scalar expression, not a subquery: DuckDB evaluates it only on the rows
/// that reach it.
pub(crate) fn strings(d: Dialect, col: &str) -> String {
    let c = d.ident(col);
    format!(
        "(CASE WHEN {c} IS NULL THEN CAST([] AS VARCHAR[]) ELSE list_transform(list_filter(list_prepend(CAST({c} AS JSON), json_extract({c}, '$..*')), lambda pa_n: json_type(pa_n) = 'VARCHAR'), lambda pa_n: pa_n ->> '$') END)"
    )
}

/// A double's text as the native engine prints it (`float_text`: integral values below 1e15
/// as integers, others Rust's shortest round-trip form without exponent). DuckDB prints the
/// same digits except where it would use an exponent: the query then fails with an error rather
/// than compare a different text.
pub(crate) fn float_text(v: &str) -> String {
    format!(
        "(CASE WHEN {v} = trunc({v}) AND abs({v}) < 1e15 THEN CAST(CAST({v} AS BIGINT) AS VARCHAR) \
         WHEN contains(CAST({v} AS VARCHAR), 'e') OR NOT isfinite({v}) THEN CAST(error('pa-sigma-sql: the text of double ' || CAST({v} AS VARCHAR) || ' cannot be printed as the native engine does') AS VARCHAR) \
         ELSE CAST({v} AS VARCHAR) END)"
    )
}

/// The text of the node `pa_j` (`FieldValue::text`): strings, integers, booleans, doubles.
pub(crate) fn text(_d: Dialect) -> String {
    let raw = "(pa_j->>'$')";
    format!(
        "(CASE json_type(pa_j) WHEN 'VARCHAR' THEN {raw} WHEN 'BOOLEAN' THEN {raw} WHEN 'BIGINT' THEN {raw} \
         WHEN 'UBIGINT' THEN (CASE WHEN TRY_CAST({raw} AS BIGINT) IS NOT NULL THEN {raw} ELSE {} END) \
         WHEN 'DOUBLE' THEN {} END)",
        float_text(&format!("CAST({raw} AS DOUBLE)")),
        float_text(&format!("CAST({raw} AS DOUBLE)"))
    )
}

/// The number of the node `pa_j` (`FieldValue::number`).
pub(crate) fn number(d: Dialect) -> String {
    let raw = "(pa_j->>'$')";
    format!(
        "(CASE WHEN json_type(pa_j) IN ('BIGINT', 'UBIGINT', 'DOUBLE') THEN CAST({raw} AS DOUBLE) WHEN json_type(pa_j) = 'VARCHAR' THEN {} END)",
        d.parse_number(raw)
    )
}

/// A JSON string token in Java regex syntax (possessive: no backtracking into it).
const STR_TOKEN: &str = r#""[^"\\]*+(?:\\.[^"\\]*+)*+""#;

/// JSON white space.
const JSON_WS: &str = r"[\x{20}\x{9}\x{A}\x{D}]*+";

/// Spark: the values of the JSON-text column `col` itself (`push_json_value` of the cell: a
/// string, or the elements of an array) as an `ARRAY<STRING>`, JSON `null` as NULL, for the
/// shapes the store writes into a column of strings and string lists: a string, `null`, or an
/// array of strings and nulls. Any other shape (numbers, objects, nested arrays: whose texts
/// and walks Spark SQL does not reproduce) stops the query with an error naming the column,
/// rather than answer differently. NULL when the cell is.
pub(crate) fn spark_values(d: Dialect, col: &str) -> String {
    let c = d.ident(col);
    let ws = JSON_WS;
    let elem = format!("(?:{STR_TOKEN}|null)");
    let string = d.str_lit(&format!(r"\A{ws}{STR_TOKEN}{ws}\z"));
    let null = d.str_lit(&format!(r"\A{ws}null{ws}\z"));
    let array = d.str_lit(&format!(
        r"\A{ws}\[{ws}(?:{elem}{ws}(?:,{ws}{elem}{ws})*+)?\]{ws}\z"
    ));
    let msg = d.str_lit(&format!(
        "pa-sigma-sql: column `{col}` holds a JSON value other than a string or an array of strings and nulls (the Spark SQL of this rule reads only those): "
    ));
    format!(
        "(CASE WHEN {c} IS NULL THEN CAST(NULL AS ARRAY<STRING>) \
         WHEN {c} RLIKE {string} THEN from_json(concat('[', {c}, ']'), 'ARRAY<STRING>') \
         WHEN {c} RLIKE {null} THEN array(CAST(NULL AS STRING)) \
         WHEN {c} RLIKE {array} THEN from_json({c}, 'ARRAY<STRING>') \
         ELSE CAST(raise_error(concat({msg}, substr({c}, 1, 200))) AS ARRAY<STRING>) END)"
    )
}

/// Spark: every string value inside the JSON text of column `col` (`for_each_json_string`: not
/// object keys), decoded, as an `ARRAY<STRING>`. The string tokens of valid JSON are found left
/// to right (no `"` occurs outside them), and a token followed by `:` is a key.
pub(crate) fn spark_strings(d: Dialect, col: &str) -> String {
    let c = d.ident(col);
    let tok = d.str_lit(&format!("({STR_TOKEN})({JSON_WS}:)?"));
    format!(
        "from_json(concat('[', array_join(filter(zip_with(regexp_extract_all({c}, {tok}, 1), regexp_extract_all({c}, {tok}, 2), (pa_t, pa_k) -> IF(pa_k = '', pa_t, NULL)), pa_t -> pa_t IS NOT NULL), ','), ']'), 'ARRAY<STRING>')"
    )
}

/// Spark: some element `pa_v` of `array` satisfies `cond` (FALSE when the array is NULL).
pub(crate) fn spark_any(array: &str, cond: &str) -> String {
    format!("COALESCE(exists({array}, pa_v -> {cond}), FALSE)")
}
