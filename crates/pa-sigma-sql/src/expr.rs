//! One rule compilation → one SQL predicate: keys resolved the way the native columnar lookup
//! resolves them, each matcher as the native `Matcher::field_matches`, items and conditions as
//! `CompiledRule::eval`, route filters as `filters_hold`. Every leaf is wrapped so that it is
//! TRUE or FALSE, never NULL (SQL's three-valued logic would otherwise change `not`).

use crate::regex::translate;
use crate::{ColumnKind, Columns, Dialect, Predicate, Refusal, RuleInput, refuse};
use pa_sigma::{CompiledItem, Cond, Matcher, NumOp, StrKind};
use serde_json::Value;
use std::collections::BTreeSet;

mod keywords;
mod literals;

/// Where a key is found (the native `columnar::Resolved`).
enum Key {
    /// A scalar column.
    Col(String, ColumnKind),
    /// Inside a JSON-text column: the column and the object keys walked below it (none: the
    /// column's own values, the only case in Spark), arrays traversed at every step.
    Json(String, Vec<String>),
    /// An object prefix: present when one of these columns has a value.
    Object(Vec<String>),
    /// Nowhere: no row has a value.
    Absent,
}

struct Cx<'a> {
    columns: &'a Columns,
    d: Dialect,
    used: BTreeSet<String>,
    /// Where errors point (`selection `x`, field `y``).
    at: String,
}

/// A SQL boolean that is never NULL.
fn nn(e: &str) -> String {
    format!("COALESCE({e}, FALSE)")
}

fn or_all(parts: Vec<String>) -> String {
    join_all(parts, "OR", "FALSE")
}

fn and_all(parts: Vec<String>) -> String {
    join_all(parts, "AND", "TRUE")
}

/// Operands joined by `op`, nested as a balanced tree of chains of at most [`CHAIN`] operands:
/// a rule with thousands of alternatives (expanded modifiers) would otherwise be an operator
/// tree thousands deep, which overflows Spark's recursive planner.
fn join_all(mut parts: Vec<String>, op: &str, empty: &str) -> String {
    const CHAIN: usize = 16;
    match parts.len() {
        0 => return empty.into(),
        1 => return parts.pop().unwrap_or_default(),
        _ => {}
    }
    while parts.len() > CHAIN {
        parts = parts
            .chunks(CHAIN)
            .map(|c| {
                if c.len() == 1 {
                    c[0].clone()
                } else {
                    format!("({})", c.join(&format!(" {op} ")))
                }
            })
            .collect();
    }
    format!("({})", parts.join(&format!(" {op} ")))
}

/// A literal as a `LIKE` pattern with `\` escapes.
fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// One piece of a `Glob` matcher's source: `*`, `?`, or a literal character (`\*`, `\?` and
/// `\\` are the literal `*`, `?` and `\`; any other `\` is itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GlobTok {
    Star,
    One,
    Lit(char),
}

/// The pieces of a glob source, in order.
fn glob_tokens(source: &str) -> Vec<GlobTok> {
    let mut out = Vec::with_capacity(source.len());
    let mut chars = source.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(match c {
            '\\' => match chars.peek() {
                Some(&n @ ('*' | '?' | '\\')) => {
                    chars.next();
                    GlobTok::Lit(n)
                }
                _ => GlobTok::Lit('\\'),
            },
            '*' => GlobTok::Star,
            '?' => GlobTok::One,
            c => GlobTok::Lit(c),
        });
    }
    out
}

/// A glob's literal character as it is compared: folded unless `cased` (as the native glob
/// folds them, one by one).
fn glob_char(c: char, cased: bool) -> String {
    if cased {
        c.to_string()
    } else {
        pa_sigma::fold(&c.to_string())
    }
}

/// A `Glob` matcher's source as a `LIKE` pattern, literal characters folded unless `cased`.
fn glob_like(source: &str, cased: bool) -> String {
    let mut out = String::with_capacity(source.len());
    for t in glob_tokens(source) {
        match t {
            GlobTok::Star => out.push('%'),
            GlobTok::One => out.push('_'),
            GlobTok::Lit(c) => out.push_str(&like_escape(&glob_char(c, cased))),
        }
    }
    out
}

impl Cx<'_> {
    fn resolve(&mut self, key: &str) -> Result<Key, Refusal> {
        let store = match self.columns {
            Columns::AssumedStrings => {
                self.used.insert(key.to_owned());
                return Ok(Key::Col(key.to_owned(), ColumnKind::Str));
            }
            Columns::Store(s) => s,
        };
        if let Some(kind) = store.kind(key) {
            if kind == ColumnKind::Json {
                return self.json(key, key, "");
            }
            self.used.insert(key.to_owned());
            return Ok(Key::Col(key.to_owned(), kind));
        }
        for (pos, _) in key.match_indices('.') {
            if store.kind(&key[..pos]) == Some(ColumnKind::Json) {
                return self.json(key, &key[..pos], &key[pos + 1..]);
            }
        }
        let prefix = format!("{key}.");
        let below: Vec<String> = store
            .iter()
            .filter(|(n, _)| n.starts_with(&prefix))
            .map(|(n, _)| n.to_owned())
            .collect();
        if below.is_empty() {
            return Ok(Key::Absent);
        }
        self.used.extend(below.iter().cloned());
        Ok(Key::Object(below))
    }

    fn json(&mut self, key: &str, col: &str, path: &str) -> Result<Key, Refusal> {
        let parts: Vec<String> = if path.is_empty() {
            Vec::new()
        } else {
            path.split('.').map(str::to_owned).collect()
        };
        let simple = parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
        // Spark reads the column's own values (strings and string lists), not paths below.
        if !simple || (self.d == Dialect::Spark && !parts.is_empty()) {
            return Err(refuse(format!(
                "{}: `{key}` is stored as JSON text in column `{col}`; matching inside JSON values is not compiled to {}",
                self.at,
                self.d.name()
            )));
        }
        self.used.insert(col.to_owned());
        Ok(Key::Json(col.to_owned(), parts))
    }

    fn here(&self, what: impl std::fmt::Display) -> Refusal {
        refuse(format!("{}: {what} ({})", self.at, self.d.name()))
    }

    /// The text of a scalar column's value (as `FieldValue::text`), NULL when the cell is.
    fn text(&self, col: &str, kind: ColumnKind) -> Result<String, Refusal> {
        let c = self.d.ident(col);
        Ok(match kind {
            ColumnKind::Str => c,
            ColumnKind::Int => format!("CAST({c} AS {})", self.d.string_type()),
            ColumnKind::Bool => {
                format!("(CASE WHEN {c} THEN 'true' WHEN NOT {c} THEN 'false' END)")
            }
            ColumnKind::Float | ColumnKind::Json => {
                return Err(self.here(format!(
                    "column `{col}` holds doubles, whose text form (Rust's shortest round-trip) SQL does not print the same way"
                )));
            }
        })
    }

    /// The number of a scalar column's value (as `FieldValue::number`), NULL when none.
    fn number(&self, col: &str, kind: ColumnKind) -> Option<String> {
        let c = self.d.ident(col);
        match kind {
            ColumnKind::Int => Some(format!("CAST({c} AS DOUBLE)")),
            ColumnKind::Float => Some(c),
            ColumnKind::Str => Some(self.d.parse_number(&c)),
            ColumnKind::Bool | ColumnKind::Json => None,
        }
    }

    fn cmp(op: NumOp) -> &'static str {
        match op {
            NumOp::Gt => ">",
            NumOp::Gte => ">=",
            NumOp::Lt => "<",
            NumOp::Lte => "<=",
        }
    }

    /// A value-text matcher (literal, wildcard, any, regex) on text `t` (never NULL result).
    fn text_match(&self, m: &Matcher, t: &str) -> Result<String, Refusal> {
        let d = self.d;
        Ok(nn(&match m {
            Matcher::Lit {
                kind,
                needle,
                cased,
            } => {
                let x = if *cased {
                    t.to_owned()
                } else {
                    format!("lower({t})")
                };
                let e = like_escape(needle);
                match kind {
                    StrKind::Exact => format!("({x} = {})", d.str_lit(needle)),
                    StrKind::Contains => d.like(&x, &format!("%{e}%")),
                    StrKind::Starts => d.like(&x, &format!("{e}%")),
                    StrKind::Ends => d.like(&x, &format!("%{e}")),
                }
            }
            Matcher::Glob { source, cased, .. } => {
                let x = if *cased {
                    t.to_owned()
                } else {
                    format!("lower({t})")
                };
                d.like(&x, &glob_like(source, *cased))
            }
            Matcher::Any => format!("({t} IS NOT NULL)"),
            Matcher::Re { regex } => {
                let p = translate(regex.as_str(), d)
                    .map_err(|e| self.here(format!("regex {:?}: {e}", regex.as_str())))?;
                d.regex_search(t, &p)
            }
            other => return Err(self.here(format!("{} as a text match", other.describe()))),
        }))
    }

    /// `Matcher::field_matches` over the values of `key`.
    fn matcher(&mut self, m: &Matcher, key: &Key) -> Result<String, Refusal> {
        let d = self.d;
        match m {
            Matcher::Exists(want) => {
                let present = self.present(key);
                return Ok(if *want {
                    present
                } else {
                    format!("(NOT {present})")
                });
            }
            Matcher::Null => {
                // all values null: a scalar cell gives no value when null; an object is complex
                return Ok(match key {
                    Key::Col(c, _) => format!("({} IS NULL)", d.ident(c)),
                    Key::Json(c, _) if d == Dialect::Spark => format!(
                        "(NOT {})",
                        crate::json::spark_any(
                            &crate::json::spark_values(d, c),
                            "pa_v IS NOT NULL"
                        )
                    ),
                    Key::Json(c, parts) => format!(
                        "(NOT {})",
                        crate::json::exists(
                            d,
                            c,
                            parts,
                            &format!("{} NOT IN ('ARRAY', 'NULL')", crate::json::NODE_TYPE)
                        )
                    ),
                    Key::Object(_) => format!("(NOT {})", self.present(key)),
                    Key::Absent => "TRUE".into(),
                });
            }
            _ => {}
        }
        if let Key::Json(c, parts) = key {
            return self.json_matcher(m, c, parts);
        }
        let (col, kind) = match key {
            // complex or no values: no value has a text or a number
            Key::Object(_) | Key::Absent => return Ok("FALSE".into()),
            Key::Col(c, k) => (c.clone(), *k),
            Key::Json(..) => return Ok("FALSE".into()),
        };
        match m {
            Matcher::Num { op, value } => {
                let Some(n) = self.number(&col, kind) else {
                    return Ok("FALSE".into());
                };
                Ok(nn(&format!("({n} {} {})", Self::cmp(*op), d.double(*value))))
            }
            Matcher::FieldRef {
                key: other,
                kind: place,
                cased,
                ..
            } => {
                let okey = self.resolve(other)?;
                let (ocol, okind) = match okey {
                    Key::Object(_) | Key::Absent => return Ok("FALSE".into()),
                    Key::Json(..) => {
                        return Err(self.here(format!(
                            "fieldref to `{other}`, a value inside JSON text"
                        )));
                    }
                    Key::Col(c, k) => (c, k),
                };
                let prep = |t: String| if *cased { t } else { format!("lower({t})") };
                let a = prep(self.text(&col, kind)?);
                let b = prep(self.text(&ocol, okind)?);
                Ok(nn(&match place {
                    StrKind::Exact => format!("({a} = {b})"),
                    StrKind::Contains => match d {
                        Dialect::DuckDb => format!("(strpos({a}, {b}) > 0)"),
                        Dialect::Spark => format!("(instr({a}, {b}) > 0)"),
                    },
                    StrKind::Starts => format!("(substr({a}, 1, length({b})) = {b})"),
                    StrKind::Ends => {
                        format!("(length({a}) >= length({b}) AND substr({a}, length({a}) - length({b}) + 1) = {b})")
                    }
                }))
            }
            Matcher::Cidr {
                net: pa_sigma::IpNet::V4(net, len),
                ..
            } => {
                let t = self.text(&col, kind)?;
                Ok(nn(&crate::cidr::ipv4_in(d, &t, *net, *len)))
            }
            Matcher::Cidr { source, .. } => Err(self.here(format!(
                "cidr {source}: IPv6 address parsing (compressed forms, zones, mapped addresses) has no exact SQL string equivalent"
            ))),
            Matcher::Time { part, .. } => Err(self.here(format!(
                "the time modifier `{}` (date parts of text values)",
                part.name()
            ))),
            _ => {
                let t = self.text(&col, kind)?;
                self.text_match(m, &t)
            }
        }
    }

    /// A matcher over the values inside a JSON-text column (DuckDB).
    fn json_matcher(
        &mut self,
        m: &Matcher,
        col: &str,
        parts: &[String],
    ) -> Result<String, Refusal> {
        let d = self.d;
        if d == Dialect::Spark {
            // the values are strings (or NULL for JSON null): their text is themselves
            let v = "pa_v";
            let cond = match m {
                Matcher::Num { op, value } => nn(&format!(
                    "({} {} {})",
                    d.parse_number(v),
                    Self::cmp(*op),
                    d.double(*value)
                )),
                Matcher::Lit { .. } | Matcher::Glob { .. } | Matcher::Any | Matcher::Re { .. } => {
                    self.text_match(m, v)?
                }
                other => {
                    return Err(
                        self.here(format!("{} on a value inside JSON text", other.describe()))
                    );
                }
            };
            return Ok(crate::json::spark_any(
                &crate::json::spark_values(d, col),
                &format!("pa_v IS NOT NULL AND {cond}"),
            ));
        }
        let scalar = format!(
            "{} NOT IN ('ARRAY', 'OBJECT', 'NULL')",
            crate::json::NODE_TYPE
        );
        let cond = match m {
            Matcher::Num { op, value } => format!(
                "{scalar} AND COALESCE(({} {} {}), FALSE)",
                crate::json::number(d),
                Self::cmp(*op),
                d.double(*value)
            ),
            Matcher::Lit { .. } | Matcher::Glob { .. } | Matcher::Any | Matcher::Re { .. } => {
                format!(
                    "{scalar} AND {}",
                    self.text_match(m, &crate::json::text(d))?
                )
            }
            other => {
                return Err(self.here(format!("{} on a value inside JSON text", other.describe())));
            }
        };
        Ok(crate::json::exists(d, col, parts, &cond))
    }

    /// Whether `key` has a value (a non-null cell, or a non-null column below an object).
    fn present(&self, key: &Key) -> String {
        match key {
            Key::Col(c, _) => format!("({} IS NOT NULL)", self.d.ident(c)),
            Key::Json(c, _) if self.d == Dialect::Spark => {
                crate::json::spark_any(&crate::json::spark_values(self.d, c), "TRUE")
            }
            Key::Json(c, parts) => crate::json::exists(
                self.d,
                c,
                parts,
                &format!("{} <> 'ARRAY'", crate::json::NODE_TYPE),
            ),
            Key::Object(below) => or_all(
                below
                    .iter()
                    .map(|c| format!("({} IS NOT NULL)", self.d.ident(c)))
                    .collect(),
            ),
            Key::Absent => "FALSE".into(),
        }
    }

    /// One group of alternatives on `key`: some matcher matches some value. DuckDB: two or
    /// more literal or wildcard alternatives on a text column are one RE2 search
    /// ([`literals`]).
    fn alternatives(&mut self, g: &[(usize, Matcher)], key: &Key) -> Result<String, Refusal> {
        let text = match key {
            Key::Col(c, kind) if self.d == Dialect::DuckDb => self.text(c, *kind).ok(),
            _ => None,
        };
        let frags: Vec<Option<(bool, String)>> = g
            .iter()
            .map(|(_, m)| text.as_ref().and_then(|_| literals::fragment(m)))
            .collect();
        let mut count = [0usize; 2];
        for (cased, _) in frags.iter().flatten() {
            count[usize::from(*cased)] += 1;
        }
        let mut alts = Vec::with_capacity(g.len());
        let mut searched: [Vec<String>; 2] = Default::default();
        for ((_, m), f) in g.iter().zip(frags) {
            match f {
                Some((cased, f)) if count[usize::from(cased)] >= literals::MIN_ALTERNATIVES => {
                    searched[usize::from(cased)].push(f);
                }
                _ => alts.push(self.matcher(m, key)?),
            }
        }
        if let Some(t) = &text {
            for (cased, frags) in searched.iter().enumerate() {
                if !frags.is_empty() {
                    let x = if cased == 1 {
                        t.clone()
                    } else {
                        format!("lower({t})")
                    };
                    alts.push(literals::search_any(self.d, &x, frags));
                }
            }
        }
        Ok(or_all(alts))
    }

    /// `eval_item`.
    fn item(&mut self, item: &CompiledItem) -> Result<String, Refusal> {
        let key = match &item.key {
            Some(k) => Some(self.resolve(k)?),
            None => None,
        };
        // Some group holds (or all do): without `all`, the alternatives of every group are one
        // group, searched together.
        let merged;
        let item_groups = if item.all || item.groups.len() < 2 {
            &item.groups
        } else {
            merged = vec![item.groups.iter().flatten().cloned().collect::<Vec<_>>()];
            &merged
        };
        let mut groups = Vec::with_capacity(item_groups.len());
        for g in item_groups {
            groups.push(match &key {
                Some(k) => self.alternatives(g, k)?,
                None => self.keywords(&g.iter().map(|(_, m)| m).collect::<Vec<_>>())?,
            });
        }
        if item.neq {
            let present = match &key {
                Some(Key::Col(c, _)) => format!("({} IS NOT NULL)", self.d.ident(c)),
                Some(Key::Json(c, _)) if self.d == Dialect::Spark => crate::json::spark_any(
                    &crate::json::spark_values(self.d, c),
                    "pa_v IS NOT NULL",
                ),
                Some(Key::Json(c, parts)) => crate::json::exists(
                    self.d,
                    c,
                    parts,
                    &format!(
                        "{} NOT IN ('ARRAY', 'OBJECT', 'NULL')",
                        crate::json::NODE_TYPE
                    ),
                ),
                _ => "FALSE".into(),
            };
            return Ok(format!("({present} AND NOT {})", or_all(groups)));
        }
        Ok(if item.all {
            and_all(groups)
        } else {
            or_all(groups)
        })
    }

    fn cond(&self, c: &Cond, sels: &[String]) -> String {
        let sel = |i: usize| sels.get(i).cloned().unwrap_or_else(|| "FALSE".into());
        match c {
            Cond::Sel { index } => sel(*index),
            Cond::Not { arg } => format!("(NOT {})", self.cond(arg, sels)),
            Cond::And { args } => and_all(args.iter().map(|a| self.cond(a, sels)).collect()),
            Cond::Or { args } => or_all(args.iter().map(|a| self.cond(a, sels)).collect()),
            Cond::AtLeast { n, of } => {
                if *n <= 1 {
                    or_all(of.iter().map(|&i| sel(i)).collect())
                } else if *n >= of.len() {
                    if *n > of.len() {
                        "FALSE".into()
                    } else {
                        and_all(of.iter().map(|&i| sel(i)).collect())
                    }
                } else {
                    let sum: Vec<String> = of
                        .iter()
                        .map(|&i| format!("(CASE WHEN {} THEN 1 ELSE 0 END)", sel(i)))
                        .collect();
                    format!("(({}) >= {n})", sum.join(" + "))
                }
            }
        }
    }

    /// `filters_hold` for one filter.
    fn filter(&mut self, f: &pa_bridge::Filter) -> Result<String, Refusal> {
        let text = |v: &Value| match v {
            Value::String(s) => Some(s.to_lowercase()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        };
        let want: Vec<String> = match f.op {
            pa_bridge::FilterOp::Eq => text(&f.value).into_iter().collect(),
            pa_bridge::FilterOp::In | pa_bridge::FilterOp::NotIn => f
                .value
                .as_array()
                .map(|a| a.iter().filter_map(text).collect())
                .unwrap_or_default(),
        };
        // `not_in` holds exactly when `in` over the same values does not (a missing value
        // included), as in the native `filters_hold`.
        let negate = f.op == pa_bridge::FilterOp::NotIn;
        let none_hit = if negate { "TRUE" } else { "FALSE" };
        self.at = format!("route filter on `{}`", f.path);
        let (col, kind) = match self.resolve(&f.path)? {
            Key::Object(_) | Key::Absent => return Ok(none_hit.into()),
            Key::Json(..) => return Err(self.here("a route filter on a value inside JSON text")),
            Key::Col(c, k) => (c, k),
        };
        if want.is_empty() {
            return Ok(none_hit.into());
        }
        let t = self.text(&col, kind)?;
        let list: Vec<String> = want.iter().map(|w| self.d.str_lit(w)).collect();
        let hit = nn(&format!("(lower({t}) IN ({}))", list.join(", ")));
        Ok(if negate { format!("(NOT {hit})") } else { hit })
    }
}

pub(crate) fn rule_predicate(
    input: &RuleInput<'_>,
    columns: &Columns,
    d: Dialect,
) -> Result<Predicate, Refusal> {
    let mut cx = Cx {
        columns,
        d,
        used: BTreeSet::new(),
        at: String::new(),
    };
    cx.used.insert("class_uid".into());
    let mut parts = vec![format!("({} = {})", d.ident("class_uid"), input.class_uid)];
    if let Some(route) = input.route {
        for f in &route.filters {
            parts.push(cx.filter(f)?);
        }
    }
    let mut sels = Vec::with_capacity(input.compiled.selections.len());
    for s in &input.compiled.selections {
        let mut branches = Vec::with_capacity(s.branches.len());
        for b in &s.branches {
            let mut items = Vec::with_capacity(b.len());
            for it in b {
                cx.at = match &it.field {
                    Some(f) => format!("selection `{}`, field `{f}`", s.name),
                    None => format!("selection `{}`, keywords", s.name),
                };
                items.push(cx.item(it)?);
            }
            branches.push(and_all(items));
        }
        sels.push(or_all(branches));
    }
    parts.push(cx.cond(&input.compiled.condition, &sels));
    Ok(Predicate {
        sql: and_all(parts),
        columns: cx.used.into_iter().collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_sources_become_like_patterns() {
        assert_eq!(glob_like(r"C:\\Win*\\a?.EXE", false), r"c:\\win%\\a_.exe");
        assert_eq!(glob_like(r"100\%_x\*", true), r"100\\\%\_x*");
        assert_eq!(like_escape("a%b_c\\"), r"a\%b\_c\\");
    }

    #[test]
    fn long_chains_become_balanced_trees() {
        let parts = |n: usize| (0..n).map(|i| format!("p{i}")).collect::<Vec<_>>();
        assert_eq!(or_all(parts(3)), "(p0 OR p1 OR p2)");
        assert_eq!(and_all(Vec::new()), "TRUE");
        let big = or_all(parts(1000));
        // 1000 operands: chains of 16 under chains of 16 under one chain: depth 3
        let depth = big
            .chars()
            .scan(0i32, |d, c| {
                *d += match c {
                    '(' => 1,
                    ')' => -1,
                    _ => 0,
                };
                Some(*d)
            })
            .max();
        assert_eq!(depth, Some(3), "{big}");
        assert_eq!(big.matches(" OR ").count(), 999);
        assert!(big.starts_with("(((p0 OR p1 OR") && big.contains("p999"));
    }
}
