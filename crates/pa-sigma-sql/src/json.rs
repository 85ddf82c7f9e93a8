//! Values inside JSON-text columns, for DuckDB: the native engine parses the cell and walks it
//! (`walk_json_path`: object keys by name, arrays traversed at every step, arrays at the end
//! flattened); here DuckDB's `json_tree` lists every node with its `fullkey`, and a node is one
//! of the key's values when its `fullkey` is the walk's path with any array indices between
//! and after the keys.

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
