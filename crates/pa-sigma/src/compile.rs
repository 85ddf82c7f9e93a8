//! Compilation of loaded rules into matchers: modifiers, wildcards, encodings, conditions.

use crate::condition::{Cond, parse_condition, resolve};
use crate::event::{Event, FieldValue, parse_number};
use crate::matcher::{IpNet, Matcher, NumOp, StrKind, TimePart, fold};
use crate::rule::{DetectionItem, LogSource, Rule, RuleValue, Selection};
use base64::Engine as _;
use regex::{Regex, RegexBuilder};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// A field the resolver cannot map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{reason_code}: {message}")]
pub struct Unresolved {
    /// Reason code that makes the rule non-executable (e.g. `unmapped_field`).
    pub reason_code: String,
    /// Explanation.
    pub message: String,
}

/// Maps a Sigma field name to the key the events are queried with.
pub trait FieldResolver {
    /// Resolve one Sigma field name.
    fn resolve(&self, sigma_field: &str) -> Result<String, Unresolved>;
}

/// Uses Sigma field names as event keys (for events that already carry Sigma names).
#[derive(Debug, Clone, Copy, Default)]
pub struct IdentityResolver;

impl FieldResolver for IdentityResolver {
    fn resolve(&self, sigma_field: &str) -> Result<String, Unresolved> {
        Ok(sigma_field.to_owned())
    }
}

/// Options of compilation.
#[derive(Debug, Clone, Default)]
pub struct CompileOptions {
    /// Values for `%name%` placeholders of `|expand` (name without the percent signs).
    pub placeholders: BTreeMap<String, Vec<String>>,
}

/// Why a rule cannot be executed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{}:{line}: {reason_code}: {message}", file.display())]
pub struct NonExecutable {
    /// Rule file.
    pub file: PathBuf,
    /// Line of the rule document.
    pub line: u64,
    /// Rule id, if any.
    pub rule_id: Option<String>,
    /// Reason code (`unsupported_modifier`, `unsupported_regex`, `backend_compile_error`, …).
    pub reason_code: String,
    /// Explanation, naming the selection, field or modifier.
    pub message: String,
}

/// A compiled field item (or keyword item when `key` is `None`).
#[derive(Debug, Clone)]
pub struct CompiledItem {
    /// Sigma field name.
    pub field: Option<String>,
    /// Resolved event key.
    pub key: Option<String>,
    /// Modifiers as written.
    pub modifiers: Vec<String>,
    /// `|all`: every value group must match.
    pub all: bool,
    /// `|neq`: the field is present and equals none of the values.
    pub neq: bool,
    /// Value groups (one per written value); the alternatives of a group are OR-ed
    /// (expansions such as `windash` or `base64offset`). Each matcher carries its rule-local ordinal.
    pub groups: Vec<Vec<(usize, Matcher)>>,
}

/// A compiled selection.
#[derive(Debug, Clone)]
pub struct CompiledSelection {
    /// Identifier (filter selections are named `#f<k>:<name>`).
    pub name: String,
    /// OR over branches, AND within a branch.
    pub branches: Vec<Vec<CompiledItem>>,
}

/// An executable rule.
#[derive(Debug, Clone)]
pub struct CompiledRule {
    /// Rule id.
    pub id: Option<String>,
    /// Title.
    pub title: String,
    /// Level.
    pub level: Option<String>,
    /// ATT&CK technique ids.
    pub technique_ids: Vec<String>,
    /// Log source.
    pub logsource: LogSource,
    /// Source file.
    pub file: PathBuf,
    /// Line of the rule document.
    pub line: u64,
    /// Digest of the rule file.
    pub rule_sha256: String,
    /// The condition text(s), with applied filters, for explanations.
    pub condition_text: String,
    /// Selections (rule's, then filters').
    pub selections: Vec<CompiledSelection>,
    /// The resolved condition.
    pub condition: Cond,
    /// Number of matchers (ordinals run 0..n).
    pub matcher_count: usize,
}

/// Evaluation context: answers for indexed matchers (fast path) or `None` (compute directly).
pub(crate) type Oracle<'o> = &'o mut dyn FnMut(usize) -> Option<bool>;

impl CompiledRule {
    /// The reference evaluator: straightforward, every matcher computed directly.
    pub fn eval(&self, event: &dyn Event) -> bool {
        self.eval_with(event, &mut |_| None, &mut Vec::new())
    }

    /// `vals` is a reusable buffer for the values of looked-up keys (its contents are ignored).
    pub(crate) fn eval_with<'e>(
        &self,
        event: &'e dyn Event,
        oracle: Oracle<'_>,
        vals: &mut Vec<FieldValue<'e>>,
    ) -> bool {
        let mut kw: Option<Vec<String>> = None;
        // Selection results, on the stack for the usual handful of selections.
        let mut small = [None; 16];
        let mut large = Vec::new();
        let cache: &mut [Option<bool>] = if self.selections.len() <= small.len() {
            &mut small[..self.selections.len()]
        } else {
            large.resize(self.selections.len(), None);
            &mut large
        };
        self.condition.eval(&mut |i| {
            if let Some(r) = cache[i] {
                return r;
            }
            let r = self.eval_selection(i, event, oracle, &mut kw, vals);
            cache[i] = Some(r);
            r
        })
    }

    pub(crate) fn eval_selection<'e>(
        &self,
        i: usize,
        event: &'e dyn Event,
        oracle: Oracle<'_>,
        kw: &mut Option<Vec<String>>,
        vals: &mut Vec<FieldValue<'e>>,
    ) -> bool {
        self.selections[i].branches.iter().any(|b| {
            b.iter()
                .all(|item| eval_item(item, event, &mut *oracle, kw, false, vals).0)
        })
    }
}

/// Evaluate one item; returns the result and, per group, the first matching alternative.
/// `vals` is a reusable buffer for the item's values (cleared here).
#[inline]
pub(crate) fn eval_item<'e>(
    item: &CompiledItem,
    event: &'e dyn Event,
    oracle: Oracle<'_>,
    kw: &mut Option<Vec<String>>,
    want_hits: bool,
    vals: &mut Vec<FieldValue<'e>>,
) -> (bool, Vec<Option<usize>>) {
    let is_kw = item.key.is_none();
    vals.clear();
    let mut fetched = false;
    let mut hits = Vec::with_capacity(if want_hits { item.groups.len() } else { 0 });
    let (mut any, mut all_ok) = (false, true);
    {
        let mut one = |ord: usize, m: &Matcher| -> bool {
            if let Some(r) = oracle(ord) {
                return r;
            }
            if is_kw {
                let strings = kw.get_or_insert_with(|| {
                    let mut v = Vec::new();
                    event.for_each_string(&mut |s| v.push(s.to_owned()));
                    v
                });
                strings.iter().any(|s| m.keyword_matches(s))
            } else {
                if !fetched {
                    if let Some(k) = &item.key {
                        event.values(k, vals);
                    }
                    fetched = true;
                }
                m.field_matches(vals, event)
            }
        };
        for g in &item.groups {
            let h = g.iter().position(|(ord, m)| one(*ord, m));
            any |= h.is_some();
            all_ok &= h.is_some();
            if want_hits {
                hits.push(h);
            } else {
                // The result is decided: a hit for OR and NOT-ANY, a miss for ALL.
                let decided = if item.all && !item.neq { !all_ok } else { any };
                if decided {
                    break;
                }
            }
        }
    }
    let result = if item.neq {
        if !any && !fetched {
            if let Some(k) = &item.key {
                event.values(k, vals);
            }
        }
        let present = vals
            .iter()
            .any(|v| !matches!(v, FieldValue::Null | FieldValue::Complex));
        present && !any
    } else if item.all {
        all_ok
    } else {
        any
    };
    (result, hits)
}

fn fail(rule: &Rule, code: &str, msg: String) -> NonExecutable {
    NonExecutable {
        file: rule.file.clone(),
        line: rule.line,
        rule_id: rule.id.clone(),
        reason_code: code.into(),
        message: msg,
    }
}

/// One character of a Sigma string after escape processing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    C(char),
    Star,
    One,
}

/// Parse Sigma wildcards and escapes: `*` `?` wildcards; `\*` `\?` `\\` escapes; a backslash before
/// any other character is literal.
fn parse_wildcards(s: &str) -> Vec<Tok> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::with_capacity(chars.len());
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' => match chars.get(i + 1) {
                Some(&n @ ('*' | '?' | '\\')) => {
                    out.push(Tok::C(n));
                    i += 2;
                }
                _ => {
                    out.push(Tok::C('\\'));
                    i += 1;
                }
            },
            '*' => {
                out.push(Tok::Star);
                i += 1;
            }
            '?' => {
                out.push(Tok::One);
                i += 1;
            }
            c => {
                out.push(Tok::C(c));
                i += 1;
            }
        }
    }
    out
}

fn plain(toks: &[Tok]) -> Option<String> {
    toks.iter()
        .map(|t| match t {
            Tok::C(c) => Some(*c),
            _ => None,
        })
        .collect()
}

/// A value while modifiers are applied.
#[derive(Debug, Clone)]
enum V {
    Raw(String),
    Toks(Vec<Tok>),
    Bytes(Vec<u8>),
    Num(f64, String),
    Bool(bool),
    Null,
}

impl V {
    fn toks(self) -> Result<Vec<Tok>, String> {
        Ok(match self {
            V::Raw(s) => parse_wildcards(&s),
            V::Toks(t) => t,
            V::Bytes(b) => b.into_iter().map(|c| Tok::C(char::from(c))).collect(),
            V::Num(_, s) => s.chars().map(Tok::C).collect(),
            V::Bool(b) => b.to_string().chars().map(Tok::C).collect(),
            V::Null => return Err("a string modifier on a null value".into()),
        })
    }
    fn bytes(self, what: &str) -> Result<Vec<u8>, String> {
        match self {
            V::Bytes(b) => Ok(b),
            other => {
                let t = other.toks()?;
                plain(&t)
                    .map(String::into_bytes)
                    .ok_or_else(|| format!("`{what}` cannot encode a value with wildcards"))
            }
        }
    }
    fn raw_text(&self) -> Option<String> {
        match self {
            V::Raw(s) => Some(s.clone()),
            V::Num(_, s) => Some(s.clone()),
            V::Bool(b) => Some(b.to_string()),
            V::Toks(t) => plain(t),
            V::Bytes(_) | V::Null => None,
        }
    }
}

const STRING_TRANSFORMS: &[&str] = &[
    "contains",
    "startswith",
    "endswith",
    "windash",
    "base64",
    "base64offset",
    "utf16le",
    "utf16be",
    "utf16",
    "wide",
];

const KNOWN: &[&str] = &[
    "contains",
    "startswith",
    "endswith",
    "windash",
    "base64",
    "base64offset",
    "utf16le",
    "utf16be",
    "utf16",
    "wide",
    "all",
    "re",
    "i",
    "m",
    "s",
    "cidr",
    "exists",
    "cased",
    "fieldref",
    "gt",
    "gte",
    "lt",
    "lte",
    "neq",
    "expand",
];

const TIME_MODIFIERS: &[&str] = &["minute", "hour", "day", "week", "month", "year"];

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// `windash`: every `-` or `/` that starts a word (preceded by a non-word character or the start,
/// followed by a word character) is replaced by each of `-` `/` `–` `—` `―` (all permutations).
fn windash(toks: &[Tok]) -> Result<Vec<Vec<Tok>>, String> {
    let positions: Vec<usize> = (0..toks.len())
        .filter(|&i| {
            let Tok::C(c) = toks[i] else { return false };
            if c != '-' && c != '/' {
                return false;
            }
            let prev_ok = match i.checked_sub(1).map(|p| toks[p]) {
                None | Some(Tok::Star) | Some(Tok::One) => true,
                Some(Tok::C(p)) => !is_word(p),
            };
            let next_ok = matches!(toks.get(i + 1), Some(Tok::C(n)) if is_word(*n));
            prev_ok && next_ok
        })
        .collect();
    if positions.len() > 5 {
        return Err(format!(
            "`windash` on a value with {} flag dashes would produce too many variants",
            positions.len()
        ));
    }
    const DASHES: [char; 5] = ['-', '/', '\u{2013}', '\u{2014}', '\u{2015}'];
    let mut out = vec![toks.to_vec()];
    for &p in &positions {
        let mut next = Vec::with_capacity(out.len() * DASHES.len());
        for v in &out {
            for d in DASHES {
                let mut w = v.clone();
                w[p] = Tok::C(d);
                next.push(w);
            }
        }
        out = next;
    }
    Ok(out)
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// `base64offset`: the three encodings of `v` shifted by 0, 1, 2 bytes, with the characters that
/// depend on unknown neighbouring bytes cut at both ends (as pySigma does).
pub(crate) fn base64_offsets(v: &[u8]) -> Vec<String> {
    const START: [usize; 3] = [0, 2, 3];
    const END_CUT: [usize; 3] = [0, 3, 2];
    (0..3)
        .map(|i| {
            let mut buf = vec![b' '; i];
            buf.extend_from_slice(v);
            let enc = b64(&buf);
            let end = enc.len().saturating_sub(END_CUT[(v.len() + i) % 3]);
            let start = START[i].min(end);
            enc[start..end].to_owned()
        })
        .collect()
}

fn utf16(s: &[u8], le: bool, bom: bool) -> Result<Vec<u8>, String> {
    let text =
        std::str::from_utf8(s).map_err(|_| "utf16 of bytes that are not UTF-8".to_owned())?;
    let mut out = Vec::new();
    if bom {
        out.extend_from_slice(if le { &[0xFF, 0xFE] } else { &[0xFE, 0xFF] });
    }
    for u in text.encode_utf16() {
        out.extend_from_slice(&if le { u.to_le_bytes() } else { u.to_be_bytes() });
    }
    Ok(out)
}

fn placeholder_name_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.')
}

/// `expand`: substitute `%name%` placeholders (cartesian product over multi-valued ones);
/// `\%` is a literal percent sign. Returns `Err((is_unresolved, message))`.
fn expand(raw: &str, map: &BTreeMap<String, Vec<String>>) -> Result<Vec<Vec<Tok>>, (bool, String)> {
    let chars: Vec<char> = raw.chars().collect();
    // Segments: literal text (still with wildcard syntax) or a placeholder name.
    let mut segs: Vec<Result<String, String>> = Vec::new();
    let mut text = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' && chars.get(i + 1) == Some(&'%') {
            // Keep the percent literal: escape it for the wildcard parser as a plain char.
            text.push('%');
            i += 2;
            continue;
        }
        if c == '%' {
            if let Some(len) = chars[i + 1..].iter().position(|&x| x == '%') {
                let name: String = chars[i + 1..i + 1 + len].iter().collect();
                if !name.is_empty() && name.chars().all(placeholder_name_char) {
                    segs.push(Ok(std::mem::take(&mut text)));
                    segs.push(Err(name));
                    i += len + 2;
                    continue;
                }
            }
        }
        text.push(c);
        i += 1;
    }
    segs.push(Ok(text));
    let mut out: Vec<Vec<Tok>> = vec![Vec::new()];
    for seg in segs {
        match seg {
            Ok(t) => {
                let toks = parse_wildcards(&t);
                for o in &mut out {
                    o.extend_from_slice(&toks);
                }
            }
            Err(name) => {
                let Some(vals) = map.get(&name).filter(|v| !v.is_empty()) else {
                    return Err((true, format!("placeholder %{name}% has no value")));
                };
                let mut next = Vec::new();
                for o in &out {
                    for v in vals {
                        let mut w = o.clone();
                        w.extend(parse_wildcards(v));
                        next.push(w);
                    }
                }
                if next.len() > 10_000 {
                    return Err((false, "placeholder expansion too large".into()));
                }
                out = next;
            }
        }
    }
    Ok(out)
}

fn string_matcher(toks: &[Tok], cased: bool) -> Result<Matcher, String> {
    let lead = toks.iter().take_while(|t| **t == Tok::Star).count();
    if lead == toks.len() && lead > 0 {
        return Ok(Matcher::Any);
    }
    let trail = toks.iter().rev().take_while(|t| **t == Tok::Star).count();
    let mid = &toks[lead..toks.len() - trail];
    if let Some(lit) = plain(mid) {
        let kind = match (lead > 0, trail > 0) {
            (false, false) => StrKind::Exact,
            (true, true) => StrKind::Contains,
            (false, true) => StrKind::Starts,
            (true, false) => StrKind::Ends,
        };
        let needle = if cased { lit } else { fold(&lit) };
        return Ok(Matcher::Lit {
            kind,
            needle,
            cased,
        });
    }
    let mut pat = String::from("(?s)^");
    let mut source = String::new();
    // The longest literal run: every value the glob matches contains it (prefilter).
    let (mut required, mut run) = (String::new(), String::new());
    for t in toks {
        if let Tok::C(c) = t {
            run.push_str(&if cased {
                c.to_string()
            } else {
                fold(&c.to_string())
            });
        } else {
            if run.len() > required.len() {
                required = std::mem::take(&mut run);
            }
            run.clear();
        }
    }
    if run.len() > required.len() {
        required = run;
    }
    for t in toks {
        match t {
            Tok::Star => {
                pat.push_str(".*");
                source.push('*');
            }
            Tok::One => {
                pat.push('.');
                source.push('?');
            }
            Tok::C(c) => {
                let s = if cased {
                    c.to_string()
                } else {
                    fold(&c.to_string())
                };
                pat.push_str(&regex::escape(&s));
                match c {
                    '*' | '?' | '\\' => {
                        source.push('\\');
                        source.push(*c);
                    }
                    _ => source.push(*c),
                }
            }
        }
    }
    pat.push('$');
    let regex = Regex::new(&pat).map_err(|e| format!("wildcard pattern {source:?}: {e}"))?;
    Ok(Matcher::Glob {
        regex,
        cased,
        source,
        required,
    })
}

/// Compile one detection item.
fn compile_item(
    rule: &Rule,
    sel_name: &str,
    item: &DetectionItem,
    resolver: &dyn FieldResolver,
    opts: &CompileOptions,
    ord: &mut usize,
) -> Result<CompiledItem, NonExecutable> {
    let where_ = || match &item.field {
        Some(f) => format!("selection `{sel_name}`, field `{f}`"),
        None => format!("selection `{sel_name}`, keywords"),
    };
    let bad = |code: &str, m: String| fail(rule, code, format!("{}: {m}", where_()));
    for m in &item.modifiers {
        if !KNOWN.contains(&m.as_str()) && !TIME_MODIFIERS.contains(&m.as_str()) {
            return Err(bad(
                "unsupported_modifier",
                format!("unknown modifier `{m}`"),
            ));
        }
    }
    let has = |m: &str| item.modifiers.iter().any(|x| x == m);
    let cased = has("cased");
    let all = has("all");
    let neq = has("neq");
    let is_re = has("re");
    if !is_re
        && item
            .modifiers
            .iter()
            .any(|m| matches!(m.as_str(), "i" | "m" | "s"))
    {
        return Err(bad(
            "backend_compile_error",
            "regex flags `i`/`m`/`s` without `re`".into(),
        ));
    }
    let num_op = item.modifiers.iter().find_map(|m| match m.as_str() {
        "gt" => Some(NumOp::Gt),
        "gte" => Some(NumOp::Gte),
        "lt" => Some(NumOp::Lt),
        "lte" => Some(NumOp::Lte),
        _ => None,
    });
    let time_parts: Vec<TimePart> = item
        .modifiers
        .iter()
        .filter_map(|m| TimePart::from_modifier(m))
        .collect();
    if time_parts.len() > 1
        || (!time_parts.is_empty()
            && item.modifiers.iter().any(|m| {
                !matches!(m.as_str(), "gt" | "gte" | "lt" | "lte" | "neq" | "all")
                    && TimePart::from_modifier(m).is_none()
            }))
    {
        return Err(bad(
            "backend_compile_error",
            format!(
                "a time modifier combines only with gt/gte/lt/lte/neq, not `{}`",
                item.modifiers.join("|")
            ),
        ));
    }
    let types = [
        is_re,
        has("cidr"),
        has("exists"),
        num_op.is_some() && time_parts.is_empty(),
        has("fieldref"),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if types > 1 {
        return Err(bad(
            "backend_compile_error",
            format!("incompatible modifiers `{}`", item.modifiers.join("|")),
        ));
    }
    let key = match &item.field {
        Some(f) => Some(
            resolver
                .resolve(f)
                .map_err(|u| fail(rule, &u.reason_code, format!("{}: {}", where_(), u.message)))?,
        ),
        None => None,
    };
    let placement = if has("contains") {
        StrKind::Contains
    } else if has("startswith") {
        StrKind::Starts
    } else if has("endswith") {
        StrKind::Ends
    } else {
        StrKind::Exact
    };
    let mut groups = Vec::with_capacity(item.values.len());
    for value in &item.values {
        let start = match value {
            RuleValue::Null => V::Null,
            RuleValue::Bool(b) => V::Bool(*b),
            RuleValue::Int(i) => V::Num(*i as f64, i.to_string()),
            RuleValue::Float(f) => V::Num(*f, crate::yaml::float_text(*f)),
            RuleValue::Str(s) => V::Raw(s.clone()),
        };
        let matchers: Vec<Matcher> = if is_re {
            let Some(src) = start.raw_text() else {
                return Err(bad("backend_compile_error", "`re` needs a string".into()));
            };
            if item
                .modifiers
                .iter()
                .any(|m| STRING_TRANSFORMS.contains(&m.as_str()) || m == "expand")
            {
                return Err(bad(
                    "backend_compile_error",
                    format!("`re` combined with `{}`", item.modifiers.join("|")),
                ));
            }
            // The flags inline, so that the pattern text alone (`Regex::as_str`, which the
            // engine reads for prerequisite literals) carries them.
            let mut flags = String::new();
            for (m, f) in [("i", 'i'), ("m", 'm'), ("s", 's')] {
                if has(m) {
                    flags.push(f);
                }
            }
            let inline = if flags.is_empty() {
                src.clone()
            } else {
                format!("(?{flags}){src}")
            };
            // A larger lazy-DFA cache: with the default (2 MiB) the DFA of some corpus patterns
            // gives up on long values (script blocks) and the regex falls back to the bounded
            // backtracker, which clears a visited set of (states x text length) bits per search.
            let regex = RegexBuilder::new(&inline)
                .size_limit(1 << 22)
                .dfa_size_limit(1 << 24)
                .build()
                .map_err(|e| {
                    bad(
                        "unsupported_regex",
                        format!(
                            "regex {src:?} is not supported by the regex engine: {}",
                            e.to_string().lines().last().unwrap_or("")
                        ),
                    )
                })?;
            vec![Matcher::Re { regex }]
        } else if has("cidr") {
            let Some(src) = start.raw_text() else {
                return Err(bad("backend_compile_error", "`cidr` needs a string".into()));
            };
            let net = IpNet::parse(&src).ok_or_else(|| {
                bad(
                    "backend_compile_error",
                    format!("invalid CIDR network {src:?}"),
                )
            })?;
            vec![Matcher::Cidr { net, source: src }]
        } else if has("exists") {
            match start {
                V::Bool(b) => vec![Matcher::Exists(b)],
                V::Raw(s) if s.eq_ignore_ascii_case("true") => vec![Matcher::Exists(true)],
                V::Raw(s) if s.eq_ignore_ascii_case("false") => vec![Matcher::Exists(false)],
                _ => {
                    return Err(bad(
                        "backend_compile_error",
                        "`exists` needs true or false".into(),
                    ));
                }
            }
        } else if let Some(part) = time_parts.first() {
            let n = match &start {
                V::Num(n, _) => Some(*n),
                V::Raw(s) => parse_number(s),
                _ => None,
            };
            let Some(value) = n else {
                return Err(bad(
                    "backend_compile_error",
                    format!("`{}` needs a number", part.name()),
                ));
            };
            vec![Matcher::Time {
                part: *part,
                op: num_op,
                value,
            }]
        } else if let Some(op) = num_op {
            let n = match &start {
                V::Num(n, _) => Some(*n),
                V::Raw(s) => parse_number(s),
                _ => None,
            };
            let Some(value) = n else {
                return Err(bad(
                    "backend_compile_error",
                    "a numeric comparison needs a number".into(),
                ));
            };
            vec![Matcher::Num { op, value }]
        } else if has("fieldref") {
            let Some(other) = start.raw_text() else {
                return Err(bad(
                    "backend_compile_error",
                    "`fieldref` needs a field name".into(),
                ));
            };
            let k = resolver.resolve(&other).map_err(|u| {
                fail(
                    rule,
                    &u.reason_code,
                    format!("{}: referenced field `{other}`: {}", where_(), u.message),
                )
            })?;
            vec![Matcher::FieldRef {
                key: k,
                field: other,
                kind: placement,
                cased,
            }]
        } else if matches!(start, V::Null) {
            if item
                .modifiers
                .iter()
                .any(|m| STRING_TRANSFORMS.contains(&m.as_str()))
            {
                return Err(bad(
                    "backend_compile_error",
                    "string modifiers on a null value".into(),
                ));
            }
            vec![Matcher::Null]
        } else {
            let mut vs: Vec<V> = if has("expand") {
                let Some(raw) = start.raw_text() else {
                    return Err(bad(
                        "backend_compile_error",
                        "`expand` needs a string".into(),
                    ));
                };
                match expand(&raw, &opts.placeholders) {
                    Ok(t) => t.into_iter().map(V::Toks).collect(),
                    Err((true, m)) => return Err(bad("unsupported_placeholder", m)),
                    Err((false, m)) => return Err(bad("backend_compile_error", m)),
                }
            } else {
                vec![start]
            };
            let mut any_placement = false;
            for m in &item.modifiers {
                let mut next = Vec::with_capacity(vs.len());
                for v in vs {
                    match m.as_str() {
                        "contains" | "startswith" | "endswith" => {
                            any_placement = true;
                            let mut t = v.toks().map_err(|e| bad("backend_compile_error", e))?;
                            if m != "endswith" && t.last() != Some(&Tok::Star) {
                                t.push(Tok::Star);
                            }
                            if m != "startswith" && t.first() != Some(&Tok::Star) {
                                t.insert(0, Tok::Star);
                            }
                            next.push(V::Toks(t));
                        }
                        "windash" => {
                            let t = v.toks().map_err(|e| bad("backend_compile_error", e))?;
                            for w in windash(&t).map_err(|e| bad("backend_compile_error", e))? {
                                next.push(V::Toks(w));
                            }
                        }
                        "utf16le" | "wide" | "utf16be" | "utf16" => {
                            let b = v.bytes(m).map_err(|e| bad("backend_compile_error", e))?;
                            let e = utf16(&b, m != "utf16be", m == "utf16")
                                .map_err(|e| bad("backend_compile_error", e))?;
                            next.push(V::Bytes(e));
                        }
                        "base64" => {
                            let b = v.bytes(m).map_err(|e| bad("backend_compile_error", e))?;
                            next.push(V::Toks(b64(&b).chars().map(Tok::C).collect()));
                        }
                        "base64offset" => {
                            let b = v.bytes(m).map_err(|e| bad("backend_compile_error", e))?;
                            for s in base64_offsets(&b) {
                                next.push(V::Toks(s.chars().map(Tok::C).collect()));
                            }
                        }
                        _ => next.push(v),
                    }
                }
                vs = next;
            }
            let mut out = Vec::with_capacity(vs.len());
            for v in vs {
                let mut t = v.toks().map_err(|e| bad("backend_compile_error", e))?;
                if key.is_none() && !any_placement {
                    // Keywords search anywhere in the event's strings.
                    if t.last() != Some(&Tok::Star) {
                        t.push(Tok::Star);
                    }
                    if t.first() != Some(&Tok::Star) {
                        t.insert(0, Tok::Star);
                    }
                }
                out.push(string_matcher(&t, cased).map_err(|e| bad("backend_compile_error", e))?);
            }
            out
        };
        if key.is_none() && matchers.iter().any(|m| !m.is_indexed()) {
            return Err(bad(
                "backend_compile_error",
                "keyword searches take strings or regular expressions only".into(),
            ));
        }
        let group = matchers
            .into_iter()
            .map(|m| {
                let o = *ord;
                *ord += 1;
                (o, m)
            })
            .collect();
        groups.push(group);
    }
    Ok(CompiledItem {
        field: item.field.clone(),
        key,
        modifiers: item.modifiers.clone(),
        all,
        neq,
        groups,
    })
}

fn compile_selection(
    rule: &Rule,
    name: &str,
    sel: &Selection,
    resolver: &dyn FieldResolver,
    opts: &CompileOptions,
    ord: &mut usize,
) -> Result<CompiledSelection, NonExecutable> {
    let mut branches = Vec::with_capacity(sel.branches.len());
    for b in &sel.branches {
        let mut items = Vec::with_capacity(b.len());
        for it in b {
            items.push(compile_item(rule, name, it, resolver, opts, ord)?);
        }
        branches.push(items);
    }
    Ok(CompiledSelection {
        name: name.to_owned(),
        branches,
    })
}

fn compile_conditions(
    rule: &Rule,
    conds: &[String],
    names: &[String],
    prefix: &str,
    what: &str,
) -> Result<Cond, NonExecutable> {
    let mut args = Vec::new();
    for c in conds {
        let ast = parse_condition(c)
            .map_err(|e| fail(rule, e.reason_code, format!("{what} `{c}`: {}", e.message)))?;
        args.push(
            resolve(&ast, names, prefix)
                .map_err(|e| fail(rule, e.reason_code, format!("{what} `{c}`: {}", e.message)))?,
        );
    }
    Ok(if args.len() == 1 {
        args.remove(0)
    } else {
        Cond::Or { args }
    })
}

/// Compile a rule against a resolver. Every failure names the file, line and what is wrong.
pub fn compile(
    rule: &Rule,
    resolver: &dyn FieldResolver,
    opts: &CompileOptions,
) -> Result<CompiledRule, NonExecutable> {
    if let Some(b) = &rule.blocked {
        return Err(fail(rule, &b.reason_code, b.message.clone()));
    }
    let mut ord = 0usize;
    let mut selections = Vec::new();
    for (name, sel) in &rule.selections {
        selections.push(compile_selection(
            rule, name, sel, resolver, opts, &mut ord,
        )?);
    }
    for (k, f) in rule.filters.iter().enumerate() {
        for (name, sel) in &f.selections {
            selections.push(compile_selection(
                rule,
                &format!("#f{k}:{name}"),
                sel,
                resolver,
                opts,
                &mut ord,
            )?);
        }
    }
    let names: Vec<String> = selections.iter().map(|s| s.name.clone()).collect();
    let main = compile_conditions(rule, &rule.conditions, &names, "", "condition")?;
    let mut text = rule.conditions.join(" or ");
    let condition = if rule.filters.is_empty() {
        main
    } else {
        let mut args = vec![main];
        for (k, f) in rule.filters.iter().enumerate() {
            let fc = compile_conditions(
                rule,
                &f.conditions,
                &names,
                &format!("#f{k}:"),
                &format!("filter {} condition", f.filter_ref),
            )?;
            text = format!(
                "({text}) and not filter {} ({})",
                f.filter_ref,
                f.conditions.join(" or ")
            );
            args.push(Cond::Not { arg: Box::new(fc) });
        }
        Cond::And { args }
    };
    Ok(CompiledRule {
        id: rule.id.clone(),
        title: rule.title.clone(),
        level: rule.level.clone(),
        technique_ids: rule.technique_ids.clone(),
        logsource: rule.logsource.clone(),
        file: rule.file.clone(),
        line: rule.line,
        rule_sha256: rule.rule_sha256.clone(),
        condition_text: text,
        selections,
        condition,
        matcher_count: ord,
    })
}

/// The result of compiling a whole set.
#[derive(Debug, Clone, Default)]
pub struct CompiledSet {
    /// Executable rules, in rule-set order.
    pub rules: Vec<CompiledRule>,
    /// Index into `RuleSet::rules` of each compiled rule.
    pub source_index: Vec<usize>,
    /// Rules that cannot be executed, with their reasons, in rule-set order.
    pub non_executable: Vec<NonExecutable>,
}

/// Compile every detection rule of a set.
pub fn compile_ruleset(
    set: &crate::rule::RuleSet,
    resolver: &dyn FieldResolver,
    opts: &CompileOptions,
) -> CompiledSet {
    let mut out = CompiledSet::default();
    for (i, r) in set.rules.iter().enumerate() {
        match compile(r, resolver, opts) {
            Ok(c) => {
                out.rules.push(c);
                out.source_index.push(i);
            }
            Err(e) => out.non_executable.push(e),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_escapes() {
        assert_eq!(
            parse_wildcards(r"a\*b\?c\\d\e*?"),
            vec![
                Tok::C('a'),
                Tok::C('*'),
                Tok::C('b'),
                Tok::C('?'),
                Tok::C('c'),
                Tok::C('\\'),
                Tok::C('d'),
                Tok::C('\\'),
                Tok::C('e'),
                Tok::Star,
                Tok::One
            ]
        );
        // `\\*` is a backslash followed by a wildcard; `\\\*` a backslash and a star.
        assert_eq!(parse_wildcards(r"\\*"), vec![Tok::C('\\'), Tok::Star]);
        assert_eq!(parse_wildcards(r"\\\*"), vec![Tok::C('\\'), Tok::C('*')]);
        assert_eq!(parse_wildcards(r"\\\\"), vec![Tok::C('\\'), Tok::C('\\')]);
    }

    #[test]
    fn base64offset_matches_pysigma() {
        // pySigma expands `IEX (` to these three strings.
        assert_eq!(base64_offsets(b"IEX ("), vec!["SUVYIC", "lFWCAo", "JRVggK"]);
    }

    #[test]
    fn windash_variants() {
        let t = parse_wildcards(" -enc");
        let v = windash(&t).expect("expands");
        let s: Vec<String> = v.iter().map(|x| plain(x).expect("plain")).collect();
        assert_eq!(
            s,
            vec![
                " -enc",
                " /enc",
                " \u{2013}enc",
                " \u{2014}enc",
                " \u{2015}enc"
            ]
        );
        // not at a word start: unchanged
        let t = parse_wildcards("a-b");
        assert_eq!(windash(&t).expect("ok").len(), 1);
    }

    #[test]
    fn expand_placeholders() {
        let mut m = BTreeMap::new();
        m.insert(
            "Admins".to_owned(),
            vec!["root".to_owned(), "adm_*".to_owned()],
        );
        let v = expand(r"\%x%Admins%", &m).expect("escaped percent is literal");
        assert_eq!(plain(&v[0]).as_deref(), Some("%xroot"));
        let v = expand(r"pre\%%Admins%", &m).expect("expands");
        assert_eq!(v.len(), 2);
        assert_eq!(plain(&v[0]).as_deref(), Some("pre%root"));
        assert_eq!(v[1].last(), Some(&Tok::Star));
        assert!(matches!(expand("%Nope%", &m), Err((true, _))));
    }
}
