//! Values inside JSON-text columns. DuckDB: the native engine parses the cell and walks it
//! (`walk_json_path`: object keys by name, arrays traversed at every step, arrays at the end
//! flattened); here DuckDB's `json_tree` lists every node with its `fullkey`, and a node is one
//! of the key's values when its `fullkey` is the walk's path with any array indices between
//! and after the keys. Spark has no JSON tree function: it reads a column's own values when
//! they are strings or lists of strings ([`spark_values`]) and, for keywords, the string tokens
//! of the text ([`spark_strings`]).

use crate::Dialect;

/// The `fullkey` shape of the values of `parts` below the root.
fn fullkey_pattern(parts: &[String]) -> String {
    let idx = r"(?:\[[0-9]+\])*";
    let mut p = format!(r"\${idx}");
    for part in parts {
        p.push_str(&format!(r"\.{part}{idx}"));
    }
    p
}

/// Some value of `parts` inside column `col` satisfies `cond` (over the node `pa_j`).
pub(crate) fn exists(d: Dialect, col: &str, parts: &[String], cond: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM json_tree({}.{}) AS pa_j WHERE regexp_full_match(pa_j.fullkey, {}) AND {cond})",
        crate::VIEW,
        d.ident(col),
        d.str_lit(&fullkey_pattern(parts))
    )
}

/// Some node anywhere inside column `col` satisfies `cond` (keyword searches).
pub(crate) fn anywhere(d: Dialect, col: &str, cond: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM json_tree({}.{}) AS pa_j WHERE {cond})",
        crate::VIEW,
        d.ident(col)
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
    let raw = "(pa_j.value->>'$')";
    format!(
        "(CASE pa_j.type WHEN 'VARCHAR' THEN {raw} WHEN 'BOOLEAN' THEN {raw} WHEN 'BIGINT' THEN {raw} \
         WHEN 'UBIGINT' THEN (CASE WHEN TRY_CAST({raw} AS BIGINT) IS NOT NULL THEN {raw} ELSE {} END) \
         WHEN 'DOUBLE' THEN {} END)",
        float_text(&format!("CAST({raw} AS DOUBLE)")),
        float_text(&format!("CAST({raw} AS DOUBLE)"))
    )
}

/// The number of the node `pa_j` (`FieldValue::number`).
pub(crate) fn number(d: Dialect) -> String {
    let raw = "(pa_j.value->>'$')";
    format!(
        "(CASE WHEN pa_j.type IN ('BIGINT', 'UBIGINT', 'DOUBLE') THEN CAST({raw} AS DOUBLE) WHEN pa_j.type = 'VARCHAR' THEN {} END)",
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
