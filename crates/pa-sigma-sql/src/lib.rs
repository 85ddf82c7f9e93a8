//! `pa-sigma-sql`: Sigma rules, as `pa-sigma` compiled them and the bridge routed them to an
//! OCSF class, as SQL predicates over the normalized store (`normalized/ocsf_events/`), in two
//! dialects: DuckDB and Spark SQL (ADR-0019).
//!
//! The input is the native engine's own compiled form ([`pa_sigma::CompiledRule`]: every
//! modifier already applied, `base64`/`base64offset`/`utf16*`/`wide`/`windash`/`expand`
//! expanded into alternatives, wildcards parsed, literals case-folded), the class it was
//! compiled for and its route's filters, so the SQL answers exactly what the native engine
//! answers on each row. What a dialect cannot express exactly gives the rule a [`Refusal`]
//! (`unsupported_in_dialect`) instead of a different query.
//!
//! Row model (the native `columnar` lookup): a key is the column of that name; a key at or
//! below a JSON-text column is walked inside the parsed JSON (DuckDB list expressions; refused
//! in Spark); a proper prefix of column names is an object (present when a column below it has a
//! value); any other key is absent. Keywords search every string cell and every string inside
//! JSON text.

mod cidr;
mod dialect;
mod expr;
mod json;
mod regex;
mod script;

pub use dialect::Dialect;
pub use regex::translate as translate_regex;
pub use script::{
    DUCKDB_RULES_PER_STATEMENT, HITS_TABLE, OUTPUT_COLUMNS, SPARK_RULES_PER_STATEMENT, Script,
    ScriptRule, StoreFiles, VIEW,
};

use pa_bridge::Route;
use pa_sigma::CompiledRule;
use serde::Serialize;
use std::collections::BTreeMap;

/// The reason code of a rule a dialect cannot run.
pub const UNSUPPORTED_IN_DIALECT: &str = "unsupported_in_dialect";

/// The `_schema.json` kinds and versions of the normalized store this compiler knows.
/// (1.1.0 adds the `layout` of the parts, possibly hive-partitioned; 1.0.0 stores are not.)
pub const KNOWN_STORE_SCHEMAS: &[(&str, &str)] = &[
    ("pa.ocsf_events.v1", "1.0.0"),
    ("pa.ocsf_events.v1", "1.1.0"),
];

/// Why a rule has no SQL in a dialect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{reason_code}: {message}")]
pub struct Refusal {
    /// `unsupported_in_dialect`.
    pub reason_code: String,
    /// What cannot be expressed, naming the selection and field.
    pub message: String,
}

pub(crate) fn refuse(message: impl Into<String>) -> Refusal {
    Refusal {
        reason_code: UNSUPPORTED_IN_DIALECT.to_owned(),
        message: message.into(),
    }
}

/// The type a store column has over the whole dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnKind {
    /// 64- or 32-bit integers.
    Int,
    /// Doubles.
    Float,
    /// Booleans.
    Bool,
    /// Strings.
    Str,
    /// JSON text (arrays, empty objects, mixed types).
    Json,
}

/// A store whose `_schema.json` the compiler cannot read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// Not a known store kind/version.
    #[error(
        "{file}: store schema {schema_id} version {schema_version} is not one this SQL compiler knows ({known})"
    )]
    UnknownVersion {
        /// The `_schema.json` file.
        file: String,
        /// Its `schema_id`.
        schema_id: String,
        /// Its `schema_version`.
        schema_version: String,
        /// The known ones.
        known: String,
    },
    /// A column whose type the compiler does not know.
    #[error(
        "{file}: column {column:?} has type {physical_type} that the SQL compiler does not know"
    )]
    UnknownColumnType {
        /// The `_schema.json` file.
        file: String,
        /// The column.
        column: String,
        /// Its physical type.
        physical_type: String,
    },
}

/// The columns of a normalized store, as its `_schema.json` describes them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreColumns {
    cols: BTreeMap<String, ColumnKind>,
}

impl StoreColumns {
    /// The columns of `_schema.json` (`file` names it in errors): its kind and version must be
    /// one of [`KNOWN_STORE_SCHEMAS`]; `columns` are (name, physical type, encoding).
    pub fn from_schema(
        file: &str,
        schema_id: &str,
        schema_version: &str,
        columns: &[(String, String, String)],
    ) -> Result<StoreColumns, StoreError> {
        if !KNOWN_STORE_SCHEMAS.contains(&(schema_id, schema_version)) {
            return Err(StoreError::UnknownVersion {
                file: file.to_owned(),
                schema_id: schema_id.to_owned(),
                schema_version: schema_version.to_owned(),
                known: KNOWN_STORE_SCHEMAS
                    .iter()
                    .map(|(i, v)| format!("{i} {v}"))
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        let mut cols = BTreeMap::new();
        for (name, physical, encoding) in columns {
            let kind = match (physical.as_str(), encoding.as_str()) {
                (_, "json") => ColumnKind::Json,
                ("INT64" | "INT32", _) => ColumnKind::Int,
                ("DOUBLE", _) => ColumnKind::Float,
                ("BOOLEAN", _) => ColumnKind::Bool,
                ("BYTE_ARRAY", _) => ColumnKind::Str,
                (other, _) => {
                    return Err(StoreError::UnknownColumnType {
                        file: file.to_owned(),
                        column: name.clone(),
                        physical_type: other.to_owned(),
                    });
                }
            };
            cols.insert(name.clone(), kind);
        }
        Ok(StoreColumns { cols })
    }

    /// Columns given directly (tests, tools).
    pub fn new(cols: impl IntoIterator<Item = (String, ColumnKind)>) -> StoreColumns {
        StoreColumns {
            cols: cols.into_iter().collect(),
        }
    }

    /// The kind of a column.
    pub fn kind(&self, name: &str) -> Option<ColumnKind> {
        self.cols.get(name).copied()
    }

    /// Every column, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, ColumnKind)> + '_ {
        self.cols.iter().map(|(k, v)| (k.as_str(), *v))
    }
}

/// The columns a script is compiled against.
#[derive(Debug, Clone)]
pub enum Columns {
    /// A real store's columns: a key is found exactly as the native engine finds it.
    Store(StoreColumns),
    /// No store at hand: every key a rule uses is assumed to be a string column of that name
    /// (the script then fails on a store that lacks one, or has it as another type); keyword
    /// searches are refused (they need the store's column list).
    AssumedStrings,
}

/// One rule compilation to translate: a rule compiled for one OCSF class.
#[derive(Debug, Clone, Copy)]
pub struct RuleInput<'a> {
    /// The rule id (the native detection's id).
    pub rule_id: &'a str,
    /// The native compilation for `class_uid`.
    pub compiled: &'a CompiledRule,
    /// The class (`class_uid` column) the compilation is for.
    pub class_uid: u32,
    /// The route, whose filters every event must satisfy.
    pub route: Option<&'a Route>,
}

/// The SQL `WHERE` predicate of one rule compilation in `dialect` (class, route filters and
/// condition), with the columns it reads, or why it has none.
pub fn compile_rule(
    input: &RuleInput<'_>,
    columns: &Columns,
    dialect: Dialect,
) -> Result<Predicate, Refusal> {
    expr::rule_predicate(input, columns, dialect)
}

/// A rule compilation's predicate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Predicate {
    /// The boolean SQL expression over the store's columns (never NULL).
    pub sql: String,
    /// The columns it reads, sorted.
    pub columns: Vec<String>,
}
