#!/usr/bin/env python3
"""Run Sigma rules, compiled to Spark SQL by `pa-detect sql --dialect spark`, over a Purple Axiom
normalized store (`normalized/ocsf_events/`: Parquet parts and `_schema.json`) on Apache Spark.

    spark-submit detect.py --store <store dir> --sql <script.sql> --out <dir>
    python3 detect.py --store ... --sql ... --out ...      (pyspark installed; Spark local[2])

The store and the output may be any Hadoop-compatible path (file:, hdfs:, s3a:, abfss: ...),
in either layout `_schema.json` declares: flat parts, or hive partitions (`class_uid=<n>/`,
`day=<YYYY-MM-DD>/class_uid=<n>/`), whose values Spark reads from the paths and prunes on.
The job registers the store as the temporary view the script reads (`pa_events`), with the
column types `_schema.json` declares, runs the script's statements (chunks of rules, each one
scan of the store) one after the other, and writes their union:

  <out>/hits/part-*.json   JSON lines {"rule_index", "rule_id", "event_uid", "time", "class_uid"},
                           ordered by rule_index, time, event_uid across the parts in name order:
                           the rows the DuckDB CLI writes for `pa-detect --engine duckdb`.
  <out>/summary.json       events read, rule compilations run, hits, the rules the script's
                           header lists as refused with their reasons, the Spark version.

`pa-detect --run-dir <bundle> --engine spark --spark-results <out>` (the output copied beside
the bundle) turns the hits into the bundle's `detections/detections.jsonl`, the same contract
and order as the native engine's, after checking they are these rules over this store.

Exit status: 0 done; 2 bad arguments or inputs (missing store, unknown store schema, unreadable
script); 1 the query failed (the rule whose query fails is named when it can be found).
"""

import argparse
import json
import os
import re
import sys

VIEW = "pa_events"
HITS_DDL = "rule_index BIGINT, rule_id STRING, event_uid STRING, time BIGINT, class_uid INT"
KNOWN_STORE_SCHEMAS = {("pa.ocsf_events.v1", "1.0.0"), ("pa.ocsf_events.v1", "1.1.0")}
# Hive partitionings of the store's parts (`_schema.json` layout.partition_by) this job reads.
KNOWN_PARTITIONINGS = ([], ["class_uid"], ["day", "class_uid"])
# Physical types of `_schema.json` columns and the Spark types the compiled SQL expects.
SPARK_TYPES = {
    "INT64": "BIGINT",
    "INT32": "INT",
    "DOUBLE": "DOUBLE",
    "BOOLEAN": "BOOLEAN",
    "BYTE_ARRAY": "STRING",
}
REFUSED = re.compile(r"^-- refused (\S+): ([a-z_]+): (.*)$")
HEAD = "SELECT CAST(pa_hit.rule_index AS BIGINT) AS rule_index, "
RULE_LINE = re.compile(r"^  IF\(.*, named_struct\('rule_index', (\d+), 'rule_id', '((?:[^'\\]|\\.)*)'\), NULL\),?$")


class JobError(Exception):
    """A failure with its exit status."""

    def __init__(self, message, status):
        super().__init__(message)
        self.status = status


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="detect.py",
        description="Run pa-detect's Spark SQL over a normalized store and write the hits.",
    )
    p.add_argument("--store", required=True, help="the normalized store (normalized/ocsf_events)")
    p.add_argument("--sql", required=True, help="the script `pa-detect sql --dialect spark` wrote")
    p.add_argument("--out", required=True, help="the output directory (must not exist)")
    p.add_argument(
        "--master",
        default=None,
        help="Spark master (default: spark-submit's --master, or local[2] when run with python3)",
    )
    return p.parse_args(argv)


def read_script(path):
    """The script's statements and the rules its header lists as refused."""
    try:
        with open(path, encoding="utf-8", newline="") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise JobError(f"{path}: cannot read the SQL script: {e}", 2)
    refused = []
    statements, cur = [], []
    # Split on "\n" only: string literals hold other line separators (U+2028...) as they are.
    for line in text.split("\n"):
        m = REFUSED.match(line)
        if m:
            refused.append({"rule_id": m.group(1), "reason_code": m.group(2), "message": m.group(3)})
        elif line.startswith("--") and not cur:
            continue
        elif line == ";":
            statements.append(Statement(cur))
            cur = []
        elif line.strip():
            cur.append(line)
    if "read_parquet(" in text:
        raise JobError(f"{path}: a DuckDB script; write it with `pa-detect sql --dialect spark`", 2)
    if cur:
        raise JobError(f"{path}: the last statement does not end with a line holding `;`", 2)
    if not statements or not all(s.lines[0].startswith(HEAD) for s in statements):
        raise JobError(
            f"{path}: not a script of `pa-detect sql --dialect spark` (statements of the form "
            f"`{HEAD}...` separated by lines holding `;`)",
            2,
        )
    return statements, refused


class Statement:
    """One statement of the script: a chunk of rules, one `IF(...)` line each."""

    def __init__(self, lines):
        self.lines = lines
        self.rules = []  # (line number in self.lines, rule_index, rule_id)
        for i, line in enumerate(lines):
            m = RULE_LINE.match(line)
            if m:
                rule_id = re.sub(r"\\(.)", r"\1", m.group(2))
                self.rules.append((i, int(m.group(1)), rule_id))

    def sql(self, only=None):
        """The statement, or with `only` (rule line numbers) the statement of those rules."""
        if only is None:
            return "\n".join(self.lines)
        first, last = self.rules[0][0], self.rules[-1][0]
        kept = [self.lines[i].rstrip(",") for i in sorted(only)]
        return "\n".join(self.lines[:first] + [",\n".join(kept)] + self.lines[last + 1 :])


def hadoop_fs(spark, path):
    jvm = spark.sparkContext._jvm
    p = jvm.org.apache.hadoop.fs.Path(path)
    return p.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), p


def read_text(spark, path):
    fs, p = hadoop_fs(spark, path)
    if not fs.exists(p):
        return None
    stream = fs.open(p)
    try:
        reader = spark.sparkContext._jvm.java.io.BufferedReader(
            spark.sparkContext._jvm.java.io.InputStreamReader(stream, "UTF-8")
        )
        chunks = []
        while True:
            line = reader.readLine()
            if line is None:
                break
            chunks.append(line)
        return "\n".join(chunks)
    finally:
        stream.close()


def write_text(spark, path, text):
    fs, p = hadoop_fs(spark, path)
    stream = fs.create(p, False)
    try:
        stream.write(bytearray(text.encode("utf-8")))
    finally:
        stream.close()


def store_schema(spark, store):
    """The Spark schema (DDL) of the store's columns, from its `_schema.json`."""
    fs, p = hadoop_fs(spark, store)
    if not fs.exists(p):
        raise JobError(f"{store}: the store does not exist", 2)
    schema_file = store.rstrip("/") + "/_schema.json"
    text = read_text(spark, schema_file)
    if text is None:
        raise JobError(f"{schema_file}: missing (not a normalized store written by pa-normalize)", 2)
    try:
        doc = json.loads(text)
        key = (doc["schema_id"], doc["schema_version"])
        columns = doc["columns"]
    except (ValueError, KeyError, TypeError) as e:
        raise JobError(f"{schema_file}: not a store schema: {e}", 2)
    if key not in KNOWN_STORE_SCHEMAS:
        known = ", ".join(f"{i} {v}" for i, v in sorted(KNOWN_STORE_SCHEMAS))
        raise JobError(
            f"{schema_file}: store schema {key[0]} version {key[1]} is not one this job knows ({known})",
            2,
        )
    layout = doc.get("layout") or {}
    partition_by = layout.get("partition_by") or []
    if partition_by not in KNOWN_PARTITIONINGS:
        raise JobError(f"{schema_file}: layout.partition_by {partition_by!r} is not one this job reads", 2)
    fields = []
    for c in columns:
        name, physical = c.get("name"), c.get("physical_type")
        ty = "STRING" if c.get("encoding") == "json" else SPARK_TYPES.get(physical)
        if not isinstance(name, str) or ty is None:
            raise JobError(f"{schema_file}: column {name!r} has type {physical!r} this job does not know", 2)
        fields.append("`{}` {}".format(name.replace("`", "``"), ty))
    return ", ".join(fields)


def session(master):
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise JobError("pyspark is not installed: `pip install pyspark` (and a Java 17 runtime)", 2)
    b = SparkSession.builder.appName("purple-axiom-detect")
    if master:
        b = b.master(master)
    elif "PYSPARK_GATEWAY_PORT" not in os.environ:
        # run with python3, not spark-submit: a local Spark on two cores (planning thousands of
        # rule predicates needs more than the default 1 GB heap)
        b = b.master("local[2]").config("spark.driver.memory", "2g")
    b = b.config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
    spark = b.getOrCreate()
    # The job reports a failure itself, with Spark's message (and the rule); Spark's own log
    # would repeat it as stack traces, also for the failures the rule search expects.
    spark.sparkContext.setLogLevel("FATAL")
    # The compiled SQL's assumptions: backslash escapes in string literals, column names that
    # differ only in case are different columns.
    spark.conf.set("spark.sql.parser.escapedStringLiterals", "false")
    spark.conf.set("spark.sql.caseSensitive", "true")
    # Thousands of rule predicates in one projection: whole-stage code generation would
    # compile methods beyond the JVM's 64 KB limit (and then fall back slowly).
    spark.conf.set("spark.sql.codegen.wholeStage", "false")
    return spark


def failing_rule(spark, statements):
    """A rule whose query fails: (rule_id, error), or None. Finds the failing statement, then
    bisects its rules."""
    for st in statements:
        try:
            spark.sql(st.sql()).count()
            continue
        except Exception as e:  # noqa: BLE001 - any Spark failure narrows the search
            err = e
        cand = [r[0] for r in st.rules]
        while len(cand) > 1:
            half = cand[: len(cand) // 2]
            try:
                spark.sql(st.sql(half)).count()
                cand = cand[len(cand) // 2 :]
            except Exception as e:  # noqa: BLE001
                cand, err = half, e
        if cand:
            try:
                spark.sql(st.sql(cand)).count()
            except Exception as e:  # noqa: BLE001
                err = e
            rule_id = next(r[2] for r in st.rules if r[0] == cand[0])
            return rule_id, err
    return None


def short(e):
    java = getattr(e, "java_exception", None)
    text = (java.toString() if java is not None else str(e)).strip()
    return text.splitlines()[0] if text else type(e).__name__


def write_hits(spark, args, ddl, statements):
    """Run every statement over the store and write the ordered hits; their directory."""
    events = spark.read.schema(ddl).option("pathGlobFilter", "part-*.parquet").parquet(args.store)
    events.createOrReplaceTempView(VIEW)
    hits_dir = args.out.rstrip("/") + "/hits"
    chunks_dir = args.out.rstrip("/") + "/_chunks"
    # One statement (a chunk of rules: one scan of the store) after the other, each to its
    # own Parquet directory: a plan of every rule at once exhausts the driver.
    for i, st in enumerate(statements):
        try:
            spark.sql(st.sql()).write.parquet(f"{chunks_dir}/{i:05}")
        except Exception as e:  # noqa: BLE001 - reported with the failing rule when found
            found = failing_rule(spark, [st])
            if found:
                raise JobError(f"{args.sql}: the query of rule {found[0]} fails: {short(found[1])}", 1)
            raise JobError(f"{args.sql}: statement {i + 1} fails: {short(e)}", 1)
    spark.read.schema(HITS_DDL).parquet(*[f"{chunks_dir}/{i:05}" for i in range(len(statements))]).orderBy(
        "rule_index", "time", "event_uid"
    ).write.json(hits_dir)
    cfs, cpath = hadoop_fs(spark, chunks_dir)
    cfs.delete(cpath, True)
    return hits_dir


def run(args):
    statements, refused = read_script(args.sql)
    spark = session(args.master)
    try:
        ddl = store_schema(spark, args.store)
        fs, out = hadoop_fs(spark, args.out)
        if fs.exists(out):
            raise JobError(f"{args.out}: the output directory already exists", 2)
        try:
            hits_dir = write_hits(spark, args, ddl, statements)
        except BaseException:
            # a failed run leaves no partial output behind
            if fs.exists(out):
                fs.delete(out, True)
            raise
        n_hits = spark.read.schema(HITS_DDL).json(hits_dir).count()
        compilations = sum(len(st.rules) for st in statements)
        summary = {
            "store": args.store,
            "script": args.sql,
            "spark_version": spark.version,
            "events_evaluated": spark.table(VIEW).count(),
            "rule_compilations": compilations,
            "hits": n_hits,
            "refused": refused,
        }
        write_text(spark, args.out.rstrip("/") + "/summary.json", json.dumps(summary, sort_keys=True) + "\n")
        print(
            f"detect.py: {compilations} rule compilation(s), {summary['events_evaluated']} events, "
            f"{n_hits} hit(s), {len(refused)} rule(s) refused by the compiler; written to {args.out}",
            file=sys.stderr,
        )
    finally:
        spark.stop()


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        run(args)
    except JobError as e:
        print(f"detect.py: error: {e}", file=sys.stderr)
        return e.status
    return 0


if __name__ == "__main__":
    sys.exit(main())
