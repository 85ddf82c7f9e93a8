//! Rule predicates assembled into one query: the union of every rule compilation's matching
//! events, with the rule as a column, in a deterministic order.

use crate::{Dialect, Predicate, Refusal};

/// The view (DuckDB) or temporary view (Spark) the query reads the store through.
pub const VIEW: &str = "pa_events";

/// Rule compilations per statement of the Spark script.
pub const SPARK_RULES_PER_STATEMENT: usize = 25;

/// The columns of the query's result, in order.
pub const OUTPUT_COLUMNS: [&str; 5] = ["rule_index", "rule_id", "event_uid", "time", "class_uid"];

/// One rule compilation in a script.
#[derive(Debug, Clone)]
pub struct ScriptRule {
    /// The caller's index of the compilation (the native detector's rule index): the
    /// `rule_index` column.
    pub index: usize,
    /// The rule id: the `rule_id` column.
    pub rule_id: String,
    /// Its predicate.
    pub predicate: Predicate,
}

/// The rules of a script and the ones a dialect refused.
#[derive(Debug, Clone)]
pub struct Script {
    /// The dialect.
    pub dialect: Dialect,
    /// Compiled rules, in the caller's order.
    pub rules: Vec<ScriptRule>,
    /// Refused rules (rule id, reason), in the caller's order.
    pub refused: Vec<(String, Refusal)>,
}

impl Script {
    /// The union query over [`VIEW`]: one `SELECT` per rule compilation, ordered by
    /// `rule_index`, `time`, `event_uid`.
    pub fn query(&self) -> String {
        let d = self.dialect;
        let mut q = String::new();
        q.push_str("SELECT rule_index, rule_id, event_uid, time, class_uid FROM (\n");
        if self.rules.is_empty() {
            q.push_str(&format!(
                "  SELECT CAST(NULL AS BIGINT) AS rule_index, CAST(NULL AS {s}) AS rule_id, CAST(NULL AS {s}) AS event_uid, CAST(NULL AS BIGINT) AS time, CAST(NULL AS INT) AS class_uid WHERE FALSE\n",
                s = d.string_type()
            ));
        }
        for (i, r) in self.rules.iter().enumerate() {
            if i > 0 {
                q.push_str("  UNION ALL\n");
            }
            q.push_str(&format!(
                "  SELECT CAST({} AS BIGINT) AS rule_index, {} AS rule_id, {} AS event_uid, {} AS time, {} AS class_uid FROM {VIEW}\n    WHERE {}\n",
                r.index,
                d.str_lit(&r.rule_id),
                d.ident("metadata.uid"),
                d.ident("time"),
                d.ident("class_uid"),
                r.predicate.sql
            ));
        }
        q.push_str(") AS hits\nORDER BY rule_index, time, event_uid");
        q
    }

    /// A commented header: dialect, counts and the refused rules with their reasons.
    pub fn header(&self) -> String {
        let mut h = format!(
            "-- pa-sigma-sql: {} rule compilation(s) in the {} dialect; {} rule(s) refused\n",
            self.rules.len(),
            self.dialect.name(),
            self.refused.len()
        );
        for (id, r) in &self.refused {
            let msg: String = r.message.replace(['\n', '\r'], " ");
            h.push_str(&format!("-- refused {id}: {}: {msg}\n", r.reason_code));
        }
        h
    }

    /// A complete DuckDB script: the store's Parquet parts (`files`) as [`VIEW`] (a view, or
    /// with `load` a temporary table read once: every rule's query then scans memory, not the
    /// files), then the query, written to `out` as JSON lines when given (else printed).
    pub fn duckdb_script(&self, files: &StoreFiles, load: bool, out: Option<&str>) -> String {
        let d = Dialect::DuckDb;
        let mut s = self.header();
        s.push_str(&format!(
            "CREATE OR REPLACE TEMP {} {VIEW} AS SELECT * FROM {};\n",
            if load { "TABLE" } else { "VIEW" },
            files.duckdb_read_parquet()
        ));
        match out {
            Some(o) => s.push_str(&format!(
                "COPY (\n{}\n) TO {} (FORMAT json);\n",
                self.query(),
                d.str_lit(o)
            )),
            None => {
                s.push_str(&self.query());
                s.push_str(";\n");
            }
        }
        s
    }

    /// The Spark SQL script: the header, then one statement per chunk of
    /// [`SPARK_RULES_PER_STATEMENT`] rule compilations, each a line holding only `;` after it.
    /// A statement reads the temporary view [`VIEW`] the job registers over the store once and
    /// returns the [`OUTPUT_COLUMNS`] of every (rule, event) pair of its chunk; the detections
    /// are the union of all statements, ordered by `rule_index`, `time`, `event_uid`. (One
    /// union of thousands of per-rule `SELECT`s is too deep for Spark's parser, and would scan
    /// the store once per rule.) Each rule is on one line (Spark literals escape line breaks).
    pub fn spark_script(&self) -> String {
        let d = Dialect::Spark;
        let mut s = self.header();
        s.push_str(&format!(
            "-- statements separated by lines holding `;`; the detections are the union of their rows, ordered by rule_index, time, event_uid (temporary view `{VIEW}` over the store)\n"
        ));
        let head = format!(
            "SELECT CAST(pa_hit.rule_index AS BIGINT) AS rule_index, pa_hit.rule_id AS rule_id, {} AS event_uid, {} AS `time`, {} AS class_uid FROM {VIEW}\n",
            d.ident("metadata.uid"),
            d.ident("time"),
            d.ident("class_uid"),
        );
        if self.rules.is_empty() {
            s.push_str(&format!(
                "SELECT CAST(NULL AS BIGINT) AS rule_index, CAST(NULL AS STRING) AS rule_id, CAST(NULL AS STRING) AS event_uid, CAST(NULL AS BIGINT) AS `time`, CAST(NULL AS INT) AS class_uid FROM {VIEW} WHERE FALSE\n;\n"
            ));
        }
        for chunk in self.rules.chunks(SPARK_RULES_PER_STATEMENT) {
            s.push_str(&head);
            s.push_str("LATERAL VIEW explode(filter(array(\n");
            for (i, r) in chunk.iter().enumerate() {
                s.push_str(&format!(
                    "  IF({}, named_struct('rule_index', {}, 'rule_id', {}), NULL){}\n",
                    r.predicate.sql.replace(['\n', '\r'], " "),
                    r.index,
                    d.str_lit(&r.rule_id),
                    if i + 1 < chunk.len() { "," } else { "" }
                ));
            }
            s.push_str("), pa_h -> pa_h IS NOT NULL)) pa_hits AS pa_hit\n;\n");
        }
        s
    }
}

/// The Parquet files of a normalized store, as its `_schema.json` `layout` places them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreFiles {
    /// A glob matching every part (`<store>/part-*.parquet`,
    /// `<store>/class_uid=*/part-*.parquet`, `<store>/day=*/class_uid=*/part-*.parquet`).
    pub glob: String,
    /// Hive partition keys in the paths (`day`, `class_uid`), outermost first.
    pub partition_by: Vec<String>,
}

impl StoreFiles {
    /// The DuckDB table function reading them. Partitioned stores: the partition values come
    /// from the paths (`class_uid` typed as the store's `INTEGER`, `day` as text), and each
    /// partition's parts hold only its columns, so the schemas are united by name (a column a
    /// partition lacks reads as NULL).
    pub fn duckdb_read_parquet(&self) -> String {
        let d = Dialect::DuckDb;
        if self.partition_by.is_empty() {
            return format!("read_parquet({})", d.str_lit(&self.glob));
        }
        let types: Vec<String> = self
            .partition_by
            .iter()
            .map(|k| {
                let ty = if k == "class_uid" {
                    "INTEGER"
                } else {
                    "VARCHAR"
                };
                format!("{}: {ty}", d.str_lit(k))
            })
            .collect();
        format!(
            "read_parquet({}, hive_partitioning = true, union_by_name = true, hive_types = {{{}}})",
            d.str_lit(&self.glob),
            types.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(index: usize, id: &str, sql: &str) -> ScriptRule {
        ScriptRule {
            index,
            rule_id: id.into(),
            predicate: Predicate {
                sql: sql.into(),
                columns: Vec::new(),
            },
        }
    }

    #[test]
    fn spark_script_is_chunks_of_rules_one_per_line() {
        let rules: Vec<ScriptRule> = (0..=SPARK_RULES_PER_STATEMENT)
            .map(|i| rule(i * 2, &format!("r{i}"), r"(`x` = 'a\nb')"))
            .collect();
        let s = Script {
            dialect: Dialect::Spark,
            rules,
            refused: vec![(
                "bad".into(),
                crate::refuse("selection `s`, field `f`: why\nnot"),
            )],
        }
        .spark_script();
        assert!(s.contains(
            "-- refused bad: unsupported_in_dialect: selection `s`, field `f`: why not\n"
        ));
        let statements: Vec<&str> = s.split("\n;\n").filter(|x| !x.is_empty()).collect();
        assert_eq!(statements.len(), 2, "{s}");
        let lines: Vec<&str> = s.lines().filter(|l| l.starts_with("  IF(")).collect();
        assert_eq!(lines.len(), SPARK_RULES_PER_STATEMENT + 1);
        assert_eq!(
            lines[1],
            r"  IF((`x` = 'a\nb'), named_struct('rule_index', 2, 'rule_id', 'r1'), NULL),"
        );
        // the last rule of a statement ends its array
        assert!(lines[SPARK_RULES_PER_STATEMENT - 1].ends_with("NULL)"));
        assert!(s.ends_with(") pa_hits AS pa_hit\n;\n"));
        let empty = Script {
            dialect: Dialect::Spark,
            rules: Vec::new(),
            refused: Vec::new(),
        }
        .spark_script();
        assert!(empty.contains("WHERE FALSE\n;\n"), "{empty}");
    }

    #[test]
    fn duckdb_reads_partitioned_stores_by_name_with_typed_partition_values() {
        let flat = StoreFiles {
            glob: "/s/part-*.parquet".into(),
            partition_by: Vec::new(),
        };
        assert_eq!(
            flat.duckdb_read_parquet(),
            "read_parquet('/s/part-*.parquet')"
        );
        let hive = StoreFiles {
            glob: "/s/day=*/class_uid=*/part-*.parquet".into(),
            partition_by: vec!["day".into(), "class_uid".into()],
        };
        assert_eq!(
            hive.duckdb_read_parquet(),
            "read_parquet('/s/day=*/class_uid=*/part-*.parquet', hive_partitioning = true, union_by_name = true, hive_types = {'day': VARCHAR, 'class_uid': INTEGER})"
        );
    }

    #[test]
    fn spark_literals_keep_to_one_line() {
        assert_eq!(Dialect::Spark.str_lit("a\nb\r'\\"), r"'a\nb\r\'\\'");
        assert_eq!(Dialect::DuckDb.str_lit("a\n'"), "'a\n'''");
    }
}
