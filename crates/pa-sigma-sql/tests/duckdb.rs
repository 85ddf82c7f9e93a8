//! Each modifier and wildcard/escape case: the SQL text, and its result on a small table through
//! the real DuckDB CLI, against the native evaluator's result on the same rows and the rows the
//! case expects. The DuckDB CLI (`pip install duckdb-cli`) must be on PATH: these tests fail, with
//! a message saying so, when it is not.

use pa_sigma::{CompileOptions, IdentityResolver, JsonEvent};
use pa_sigma_sql::{ColumnKind, Columns, Dialect, RuleInput, StoreColumns, compile_rule};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;

/// The table every case runs on: (id, Image, CommandLine, Pid, Elevated, Score).
fn rows() -> Vec<Value> {
    vec![
        json!({"id": 1, "Image": "C:\\Windows\\System32\\cmd.exe", "CommandLine": "cmd.exe /c whoami", "Pid": 4, "Elevated": true, "Parent": "C:\\Windows\\explorer.exe", "Other": "cmd.exe /c whoami", "Tags": ["a", "Admin", 1], "Ip": "10.1.2.3"}),
        json!({"id": 2, "Image": "C:\\Tools\\PSEXEC.EXE", "CommandLine": "psexec -s -accepteula \\\\host cmd", "Pid": 150, "Elevated": false, "Parent": "psexec", "Other": "-S", "Tags": [{"name": "x", "value": "C:\\evil.exe"}, [{"name": "y"}]], "Ip": "::FFFF:10.9.9.9"}),
        json!({"id": 3, "Image": "/usr/bin/100%_done?", "CommandLine": "powershell -enc SQBFAFgAIAAoA", "Pid": 7, "Parent": "/usr/bin", "Tags": [], "Ip": " [10.0.0.1%eth0]\t"}),
        json!({"id": 4, "Image": "C:\\a*b\\x.exe", "CommandLine": "It's \"quoted\"\nsecond line –enc", "Score": "  42 ", "Ip": "010.1.1.1"}),
        json!({"id": 5, "CommandLine": "ÄÖÜ straße ΣΑΣ", "Pid": 1000, "Score": "1e2", "Tags": [2.5, true, null, 150], "Ip": "11.0.0.1"}),
        json!({"id": 6, "Image": "", "CommandLine": "powershell.exe -e JABzAD0A", "Score": "nan", "Ip": "fe80::1"}),
    ]
}

fn columns() -> Vec<(&'static str, ColumnKind)> {
    vec![
        ("id", ColumnKind::Int),
        ("Image", ColumnKind::Str),
        ("CommandLine", ColumnKind::Str),
        ("Pid", ColumnKind::Int),
        ("Elevated", ColumnKind::Bool),
        ("Parent", ColumnKind::Str),
        ("Other", ColumnKind::Str),
        ("Score", ColumnKind::Str),
        ("Tags", ColumnKind::Json),
        ("Ip", ColumnKind::Str),
        ("class_uid", ColumnKind::Int),
    ]
}

fn duckdb() -> String {
    let ok = Command::new("duckdb")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "the DuckDB CLI (`duckdb`) is not on PATH: install it with `pip install duckdb-cli` (CI's .ci/run does)"
    );
    "duckdb".into()
}

fn sql_value(v: Option<&Value>, kind: ColumnKind) -> String {
    let d = Dialect::DuckDb;
    let ty = match kind {
        ColumnKind::Int => "BIGINT",
        ColumnKind::Bool => "BOOLEAN",
        ColumnKind::Float => "DOUBLE",
        _ => "VARCHAR",
    };
    match v {
        None | Some(Value::Null) => format!("CAST(NULL AS {ty})"),
        Some(v) if kind == ColumnKind::Json => d.str_lit(&v.to_string()),
        Some(Value::String(s)) => d.str_lit(s),
        Some(other) => format!("CAST({other} AS {ty})"),
    }
}

/// The ids of the rows where `predicate` holds, through the DuckDB CLI.
fn run_duckdb(predicate: &str) -> Vec<i64> {
    let cols = columns();
    let d = Dialect::DuckDb;
    let mut sql = String::from("CREATE TABLE pa_events AS ");
    let selects: Vec<String> = rows()
        .iter()
        .map(|r| {
            let vals: Vec<String> = cols
                .iter()
                .map(|(n, k)| {
                    let v = if *n == "class_uid" {
                        Some(json!(1007))
                    } else {
                        r.get(*n).cloned()
                    };
                    format!("{} AS {}", sql_value(v.as_ref(), *k), d.ident(n))
                })
                .collect();
            format!("SELECT {}", vals.join(", "))
        })
        .collect();
    sql.push_str(&selects.join(" UNION ALL "));
    sql.push_str(";\n");
    sql.push_str(&format!(
        "SELECT id FROM pa_events WHERE {predicate} ORDER BY id;\n"
    ));
    let t = tempfile::tempdir().unwrap();
    let f = t.path().join("q.sql");
    std::fs::write(&f, &sql).unwrap();
    let out = Command::new(duckdb())
        .args(["-csv", "-noheader", "-init", "/dev/null", "-f"])
        .arg(&f)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "duckdb failed: {}\n{sql}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.trim().parse().unwrap())
        .collect()
}

fn compile(detection: &str) -> pa_sigma::CompiledRule {
    let text = format!(
        "title: t\nid: 11111111-1111-4111-8111-111111111111\nlogsource:\n  product: windows\ndetection:\n{detection}\n"
    );
    let set = pa_sigma::load_str(Path::new("case.yml"), &text);
    assert!(set.issues.is_empty(), "{:?}", set.issues);
    pa_sigma::compile(&set.rules[0], &IdentityResolver, &CompileOptions::default())
        .unwrap_or_else(|e| panic!("{e}"))
}

fn native(rule: &pa_sigma::CompiledRule) -> Vec<i64> {
    rows()
        .iter()
        .filter(|r| rule.eval(&JsonEvent::new((*r).clone())))
        .map(|r| r["id"].as_i64().unwrap())
        .collect()
}

fn store() -> Columns {
    Columns::Store(StoreColumns::new(
        columns().into_iter().map(|(n, k)| (n.to_string(), k)),
    ))
}

/// Compile `detection`, check the SQL contains `needle`, and that DuckDB and the native
/// evaluator both select exactly `expect`.
/// A rule compiled for `dialect` over the test store (class 1007, no route).
fn rule_in(detection: &str, dialect: Dialect) -> pa_sigma_sql::Predicate {
    let rule = compile(detection);
    let input = RuleInput {
        rule_id: "r",
        compiled: &rule,
        class_uid: 1007,
        route: None,
    };
    compile_rule(&input, &store(), dialect).unwrap()
}

/// A rule compiled for Spark over the test store.
fn spark_rule(detection: &str) -> pa_sigma_sql::Predicate {
    rule_in(detection, Dialect::Spark)
}

/// A rule compiled for DuckDB over the test store.
fn duckdb_rule(detection: &str) -> pa_sigma_sql::Predicate {
    rule_in(detection, Dialect::DuckDb)
}

/// The DuckDB CLI counting the rows where `p` holds in a one-row table of class 1007 whose
/// column `col` holds `value` (CSV, no header).
fn count_one_row(p: &pa_sigma_sql::Predicate, col: &str, value: &str) -> std::process::Output {
    let d = Dialect::DuckDb;
    let sql = format!(
        "SELECT count(*) FROM (SELECT {} AS {}, 1007 AS class_uid) AS pa_events WHERE {};",
        d.str_lit(value),
        d.ident(col),
        p.sql
    );
    Command::new(duckdb())
        .args(["-batch", "-no-init", "-csv", "-noheader", "-c", &sql])
        .output()
        .unwrap()
}

fn case(detection: &str, needle: &str, expect: &[i64]) -> String {
    let rule = compile(detection);
    let input = RuleInput {
        rule_id: "r",
        compiled: &rule,
        class_uid: 1007,
        route: None,
    };
    let p = compile_rule(&input, &store(), Dialect::DuckDb).unwrap_or_else(|e| panic!("{e}"));
    assert!(p.sql.contains(needle), "SQL lacks {needle:?}:\n{}", p.sql);
    assert_eq!(native(&rule), expect, "native evaluator on {detection}");
    assert_eq!(
        run_duckdb(&p.sql),
        expect,
        "duckdb on {detection}\n{}",
        p.sql
    );
    // The Spark text compiles too (or is refused for a stated reason).
    let _ = compile_rule(&input, &store(), Dialect::Spark);
    p.sql
}

fn refused(detection: &str, dialect: Dialect, why: &str) {
    let rule = compile(detection);
    let input = RuleInput {
        rule_id: "r",
        compiled: &rule,
        class_uid: 1007,
        route: None,
    };
    let e = compile_rule(&input, &store(), dialect).expect_err("refused");
    assert_eq!(e.reason_code, "unsupported_in_dialect");
    assert!(e.message.contains(why), "{e}");
}

#[test]
fn equality_is_case_insensitive() {
    case(
        "  sel:\n    Image: 'c:\\windows\\system32\\CMD.exe'\n  condition: sel",
        "(lower(\"Image\") = 'c:\\windows\\system32\\cmd.exe')",
        &[1],
    );
    case(
        "  sel:\n    Image|cased: 'C:\\Tools\\PSEXEC.EXE'\n  condition: sel",
        "(\"Image\" = 'C:\\Tools\\PSEXEC.EXE')",
        &[2],
    );
    // '' matches only the empty string
    case("  sel:\n    Image: ''\n  condition: sel", "= ''", &[6]);
}

#[test]
fn placements_contains_startswith_endswith() {
    case(
        "  sel:\n    CommandLine|contains: 'WHOAMI'\n  condition: sel",
        // DuckDB needs no escape character here: its fast substring search
        "(lower(\"CommandLine\") LIKE '%whoami%')",
        &[1],
    );
    case(
        "  sel:\n    CommandLine|startswith: 'powershell'\n  condition: sel",
        "LIKE 'powershell%'",
        &[3, 6],
    );
    case(
        "  sel:\n    Image|endswith: '.exe'\n  condition: sel",
        "LIKE '%.exe'",
        &[1, 2, 4],
    );
    case(
        "  sel:\n    CommandLine|contains|all:\n      - '-s'\n      - 'accepteula'\n  condition: sel",
        " AND ",
        &[2],
    );
}

#[test]
fn wildcards_and_escapes() {
    // `?` is one character, `*` any run; SQL's own `%` and `_` are escaped
    case(
        "  sel:\n    Image: '/usr/bin/100%_done?'\n  condition: sel",
        "'/usr/bin/100\\%\\_done_'",
        &[3],
    );
    case(
        "  sel:\n    Image: '/usr/bin/100%_done\\?'\n  condition: sel",
        "100%_done?",
        &[3],
    );
    case(
        "  sel:\n    Image: '/usr/bin/1?0%_*'\n  condition: sel",
        "'/usr/bin/1_0\\%\\_%'",
        &[3],
    );
    // `\*` is a literal star (and DuckDB's `LIKE` without `ESCAPE` takes `\` as itself)
    case(
        "  sel:\n    Image: 'c:\\a\\*b\\\\*'\n  condition: sel",
        "LIKE 'c:\\a*b\\%')",
        &[4],
    );
    // a lone `*` is any non-null value
    case(
        "  sel:\n    Image: '*'\n  condition: sel",
        "IS NOT NULL",
        &[1, 2, 3, 4, 6],
    );
    // quotes and newlines in values and patterns
    case(
        "  sel:\n    CommandLine|contains: \"it's \\\"quoted\\\"*second\"\n  condition: sel",
        "it''s",
        &[4],
    );
}

#[test]
fn non_ascii_folding() {
    case(
        "  sel:\n    CommandLine|contains: 'STRASSE'\n  condition: sel",
        "",
        &[],
    );
    case(
        "  sel:\n    CommandLine|startswith: 'äöü'\n  condition: sel",
        "äöü",
        &[5],
    );
}

#[test]
fn regular_expressions_with_flags() {
    case(
        "  sel:\n    CommandLine|re: '-e(nc)? [A-Z]+'\n  condition: sel",
        "regexp_matches(\"CommandLine\"",
        &[3, 6],
    );
    case(
        "  sel:\n    CommandLine|re|i: 'POWERSHELL(\\.exe)? -E'\n  condition: sel",
        "[Pp]",
        &[3, 6],
    );
    case(
        "  sel:\n    CommandLine|re|m: '^second'\n  condition: sel",
        "(?m:^)",
        &[4],
    );
    case(
        "  sel:\n    CommandLine|re|s: 'quoted.+second'\n  condition: sel",
        "",
        &[4],
    );
    case(
        "  sel:\n    CommandLine|re: 'quoted.+second'\n  condition: sel",
        "",
        &[],
    );
    refused(
        "  sel:\n    CommandLine|re: '\\bwhoami'\n  condition: sel",
        Dialect::DuckDb,
        "Unicode word boundary",
    );
    refused(
        "  sel:\n    CommandLine|re|m: '^second'\n  condition: sel",
        Dialect::Spark,
        "multi-line anchor",
    );
}

#[test]
fn encodings_expanded_at_compile_time() {
    // `IEX (` as UTF-16LE base64 at the three offsets
    case(
        "  sel:\n    CommandLine|wide|base64offset|contains: 'IEX ('\n  condition: sel",
        // the alternatives of one field are one RE2 search
        "regexp_matches(lower(\"CommandLine\"), '(?s)(?:sqbfafgaiaaoa|",
        &[3],
    );
    case(
        "  sel:\n    CommandLine|base64|contains: '$s='\n  condition: sel",
        "jhm9",
        &[],
    );
    case(
        "  sel:\n    CommandLine|utf16le|base64offset|contains: '$s='\n  condition: sel",
        "",
        &[6],
    );
    // windash: `-enc` also as `/enc`, `–enc` (en dash), ...
    case(
        "  sel:\n    CommandLine|windash|contains: ' -enc'\n  condition: sel",
        "| –enc|",
        &[3, 4],
    );
}

#[test]
fn fieldref_exists_null_and_numbers() {
    case(
        "  sel:\n    CommandLine|fieldref: Other\n  condition: sel",
        "= lower(\"Other\")",
        &[1],
    );
    case(
        "  sel:\n    Image|fieldref|startswith: Parent\n  condition: sel",
        "substr(",
        &[3],
    );
    case(
        "  sel:\n    CommandLine|fieldref|contains: Other\n  condition: sel",
        "strpos(",
        &[1, 2],
    );
    case(
        "  sel:\n    Elevated|exists: true\n  condition: sel",
        "(\"Elevated\" IS NOT NULL)",
        &[1, 2],
    );
    case(
        "  sel:\n    Elevated: null\n  condition: sel",
        "(\"Elevated\" IS NULL)",
        &[3, 4, 5, 6],
    );
    case(
        "  sel:\n    Elevated: true\n  condition: sel",
        "'true'",
        &[1],
    );
    case(
        "  sel:\n    Pid: 150\n  condition: sel",
        "CAST(\"Pid\" AS VARCHAR)",
        &[2],
    );
    case(
        "  sel:\n    Pid|gte: 150\n  condition: sel",
        ">= CAST('150.0' AS DOUBLE)",
        &[2, 5],
    );
    // strings that read as numbers (trimmed), not `nan`
    case("  sel:\n    Score|gt: 41\n  condition: sel", "", &[4, 5]);
    case("  sel:\n    Score|lt: 1000\n  condition: sel", "", &[4, 5]);
    case(
        "  sel:\n    Image|neq: ''\n  condition: sel",
        "NOT",
        &[1, 2, 3, 4],
    );
    refused(
        "  sel:\n    Ip|cidr: 'fe80::/10'\n  condition: sel",
        Dialect::DuckDb,
        "IPv6",
    );
}

#[test]
fn conditions_not_one_of_all_of() {
    let d = "  a:\n    Image|endswith: '.exe'\n  b:\n    CommandLine|contains: 'whoami'\n  c:\n    Pid: 7\n";
    case(&format!("{d}  condition: a and not b"), "NOT", &[2, 4]);
    case(&format!("{d}  condition: 1 of them"), " OR ", &[1, 2, 3, 4]);
    case(&format!("{d}  condition: all of them"), "", &[]);
    case(&format!("{d}  condition: 2 of them"), ">= 2", &[1]);
    case(
        &format!("{d}  condition: all of a* or c"),
        "",
        &[1, 2, 3, 4],
    );
    // NULL cells never turn `not` into NULL
    case(&format!("{d}  condition: not a"), "COALESCE", &[3, 5, 6]);
}

#[test]
fn keywords_search_every_string_column() {
    case(
        "  keywords:\n    - 'ACCEPTEULA'\n    - 'straße'\n  condition: keywords",
        "concat_ws(",
        &[2, 5],
    );
    let rule = compile("  keywords:\n    - 'x'\n  condition: keywords");
    let input = RuleInput {
        rule_id: "r",
        compiled: &rule,
        class_uid: 1007,
        route: None,
    };
    let with_json = Columns::Store(StoreColumns::new([
        ("Image".to_string(), ColumnKind::Str),
        ("observables".to_string(), ColumnKind::Json),
    ]));
    // Spark: the string values inside the JSON text, found as tokens (keys excluded)
    let p = compile_rule(&input, &with_json, Dialect::Spark).unwrap();
    assert!(
        p.sql.contains("regexp_extract_all(`observables`, ")
            && p.sql.contains("IF(pa_k = '', pa_t, NULL)"),
        "{}",
        p.sql
    );
    assert!(compile_rule(&input, &Columns::AssumedStrings, Dialect::Spark).is_err());
}

#[test]
fn cidr_ipv4_networks() {
    // trimmed, brackets stripped, zone cut, `::ffff:` mapped; no leading zeros
    case(
        "  sel:\n    Ip|cidr: '10.0.0.0/8'\n  condition: sel",
        "BETWEEN 167772160 AND 184549375",
        &[1, 2, 3],
    );
    case(
        "  sel:\n    Ip|cidr: '11.0.0.1'\n  condition: sel",
        "",
        &[5],
    );
    case(
        "  sel:\n    Ip|cidr: '0.0.0.0/0'\n  condition: sel",
        "",
        &[1, 2, 3, 5],
    );
    case(
        "  sel:\n    Ip|cidr: '10.0.0.0/8'\n  filter:\n    Ip|cidr: '10.9.0.0/16'\n  condition: sel and not filter",
        "",
        &[1, 3],
    );
}

#[test]
fn cidr_stops_on_mapped_addresses_it_cannot_parse() {
    let p = duckdb_rule("  sel:\n    Ip|cidr: '10.0.0.0/8'\n  condition: sel");
    // `0:0:0:0:0:ffff:10.1.1.1` is 10.1.1.1 to the native engine: DuckDB errors, never says no.
    let out = count_one_row(&p, "Ip", "0:0:0:0:0:ffff:10.1.1.1");
    assert!(
        !out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("IPv4-mapped"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn values_inside_json_text() {
    case(
        "  sel:\n    Tags: 'admin'\n  condition: sel",
        "json_extract(pa_n, '$[*]')",
        &[1],
    );
    case("  sel:\n    Tags: 1\n  condition: sel", "", &[1]);
    case("  sel:\n    Tags: '2.5'\n  condition: sel", "", &[5]);
    case("  sel:\n    Tags: 'true'\n  condition: sel", "", &[5]);
    case("  sel:\n    Tags|gt: 100\n  condition: sel", "", &[5]);
    // below the column: object keys by name, arrays traversed at every step
    case(
        "  sel:\n    Tags.name: 'y'\n  condition: sel",
        "'$.\"name\"'",
        &[2],
    );
    case(
        "  sel:\n    Tags.value|endswith: '\\evil.exe'\n  condition: sel",
        "",
        &[2],
    );
    // `[]` has no value; null elements are values that are null
    case(
        "  sel:\n    Tags|exists: true\n  condition: sel",
        "",
        &[1, 2, 5],
    );
    case("  sel:\n    Tags: null\n  condition: sel", "", &[3, 4, 6]);
    case(
        "  sel:\n    Tags.name: null\n  condition: sel",
        "",
        &[1, 3, 4, 5, 6],
    );
    // keywords see the strings inside JSON text too: rows whose text holds a keyword's literal
    // (as JSON escapes it) are decoded and their strings tried
    case(
        "  keywords:\n    - 'EVIL.EXE'\n  condition: keywords",
        "json_extract(\"Tags\", '$..*')",
        &[2],
    );
    // `C:\evil` is `C:\\evil` in the JSON text: the escaped literal finds the row
    case(
        "  keywords:\n    - 'c:\\evil'\n  condition: keywords",
        "LIKE '%c:\\\\evil%')",
        &[2],
    );
    // object keys are not strings of the row, though the text holds them
    case("  keywords:\n    - 'name'\n  condition: keywords", "", &[]);
    // a glob's longest literal run filters; the glob decides (`a` alone is a JSON string)
    case(
        "  keywords:\n    - 'ad*n'\n    - '*:\\e?il.*'\n  condition: keywords",
        "'(?s)(?:ad|\\:\\\\\\\\e)'",
        &[1, 2],
    );
    // a regular expression has no literal: every row's strings are tried
    case(
        "  keywords:\n    - '|re': '^x$'\n  condition: keywords",
        "",
        &[2],
    );
    // Spark reads a JSON-text column's own values (strings and string lists; another shape
    // stops the query), not paths below it
    refused(
        "  sel:\n    Tags.name: 'y'\n  condition: sel",
        Dialect::Spark,
        "JSON text",
    );
    let p = spark_rule("  sel:\n    Tags: 'admin'\n  condition: sel");
    assert!(
        p.sql.contains("from_json(`Tags`, 'ARRAY<STRING>')")
            && p.sql.contains("raise_error(")
            && p.sql
                .contains("pa_v -> pa_v IS NOT NULL AND COALESCE((lower(pa_v) = 'admin'), FALSE)"),
        "{}",
        p.sql
    );
}

#[test]
fn spark_text_escapes_backslashes_and_quotes() {
    let p = spark_rule("  sel:\n    Image|contains: \"\\\\x'\"\n  condition: sel");
    assert!(
        p.sql
            .contains("lower(`Image`) LIKE '%\\\\\\\\x\\'%' ESCAPE '\\\\'"),
        "{}",
        p.sql
    );
    assert_eq!(p.columns, ["Image", "class_uid"]);
}

#[test]
fn json_arrays_nested_too_deep_stop_the_query() {
    let p = duckdb_rule("  sel:\n    Tags: 'x'\n  condition: sel");
    let run = |tags: &str| count_one_row(&p, "Tags", tags);
    // four arrays deep is walked (the native walk finds `x` at any depth)
    let ok = run(r#"[[[["x"]]]]"#);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&ok.stdout).trim(), "1");
    // deeper: an error, never a different answer
    let deep = run(r#"[[[[["x"]]]]]"#);
    assert!(!deep.status.success());
    assert!(
        String::from_utf8_lossy(&deep.stderr).contains("nested more than 4 deep"),
        "{}",
        String::from_utf8_lossy(&deep.stderr)
    );
}
