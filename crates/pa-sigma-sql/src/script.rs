//! Rule predicates assembled into scripts: the (rule, event) pairs of every rule compilation,
//! with the rule as a column, in a deterministic order. Each statement evaluates a chunk of
//! rule compilations of one class in one scan of the store (DuckDB) or of the view (Spark).

use crate::{Dialect, Predicate, Refusal};

/// The view (DuckDB) or temporary view (Spark) the query reads the store through.
pub const VIEW: &str = "pa_events";

/// Rule compilations per statement of the Spark script.
pub const SPARK_RULES_PER_STATEMENT: usize = 25;

/// Rule compilations (of one class) per statement of the DuckDB script.
pub const DUCKDB_RULES_PER_STATEMENT: usize = 256;

/// The DuckDB script's table of hits, filled statement by statement.
pub const HITS_TABLE: &str = "pa_hits";

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
    /// The class the compilation is for (its predicate holds only on events of that class).
    pub class_uid: u32,
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

    /// A complete DuckDB script over the store's Parquet parts (`files`), read through the view
    /// [`VIEW`]: the header; the table [`HITS_TABLE`]; one `INSERT` per chunk of at most
    /// [`DUCKDB_RULES_PER_STATEMENT`] rule compilations of one class, each one scan of that
    /// class's events (partitions and row groups of other classes pruned) that evaluates its
    /// rules on every row once; then the hits, ordered by `rule_index`, `time`, `event_uid`,
    /// written to `out` as JSON lines when given (else selected). (One union of every rule's
    /// query runs them all at once, and takes memory in proportion to the rule count.)
    pub fn duckdb_script(&self, files: &StoreFiles, out: Option<&str>) -> String {
        let d = Dialect::DuckDb;
        let mut s = self.header();
        s.push_str(&format!(
            "CREATE OR REPLACE TEMP VIEW {VIEW} AS SELECT * FROM {};\n",
            files.duckdb_read_parquet()
        ));
        s.push_str(&format!(
            "CREATE OR REPLACE TEMP TABLE {HITS_TABLE} (rule_index BIGINT, rule_id VARCHAR, event_uid VARCHAR, \"time\" BIGINT, class_uid INTEGER);\n"
        ));
        let mut by_class: std::collections::BTreeMap<u32, Vec<&ScriptRule>> = Default::default();
        for r in &self.rules {
            by_class.entry(r.class_uid).or_default().push(r);
        }
        for (class, rules) in &by_class {
            for chunk in rules.chunks(DUCKDB_RULES_PER_STATEMENT) {
                s.push_str(&format!(
                    "INSERT INTO {HITS_TABLE} SELECT pa_hit.rule_index, pa_hit.rule_id, pa_uid, pa_time, pa_class FROM (\n  SELECT {} AS pa_uid, {} AS pa_time, {} AS pa_class, unnest(list_filter([\n",
                    d.ident("metadata.uid"),
                    d.ident("time"),
                    d.ident("class_uid"),
                ));
                for (i, r) in chunk.iter().enumerate() {
                    s.push_str(&format!(
                        "    CASE WHEN {} THEN {{'rule_index': {}, 'rule_id': {}}} END{}\n",
                        r.predicate.sql,
                        r.index,
                        d.str_lit(&r.rule_id),
                        if i + 1 < chunk.len() { "," } else { "" }
                    ));
                }
                s.push_str(&format!(
                    "  ], lambda pa_h: pa_h IS NOT NULL)) AS pa_hit\n  FROM {VIEW} WHERE {} = {class}\n);\n",
                    d.ident("class_uid")
                ));
            }
        }
        let ordered = format!(
            "SELECT rule_index, rule_id, event_uid, \"time\", class_uid FROM {HITS_TABLE} ORDER BY rule_index, \"time\", event_uid"
        );
        match out {
            Some(o) => s.push_str(&format!(
                "COPY ({ordered}) TO {} (FORMAT json);\n",
                d.str_lit(o)
            )),
            None => s.push_str(&format!("{ordered};\n")),
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
            class_uid: 1007,
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
