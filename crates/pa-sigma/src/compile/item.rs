//! One detection item: its modifiers read and checked once, then each value compiled by the
//! function of its modifier family: `re` (with the flags `i`/`m`/`s`), `cidr`, `exists`, the
//! time parts, the numeric comparisons `gt`/`gte`/`lt`/`lte`, `fieldref`, `null`, and strings
//! (`expand` placeholders, then the placements `contains`/`startswith`/`endswith`, `windash`
//! and the encodings `base64`/`base64offset`/`utf16*`/`wide` in the order written, then the
//! wildcards).

use super::value::{Tok, V, b64, base64_offsets, expand, string_matcher, utf16, windash};
use super::{CompileOptions, CompiledItem, FieldResolver, ItemRef, NonExecutable, fail};
use crate::event::parse_number;
use crate::matcher::{IpNet, Matcher, NumOp, StrKind, TimePart};
use crate::rule::{DetectionItem, Rule, RuleValue};
use regex::RegexBuilder;

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

/// The modifiers of one item, read and checked once.
struct Mods {
    /// `cased`: compare the raw text, not the case-folded one.
    cased: bool,
    /// `all`: every value group must match.
    all: bool,
    /// `neq`: the field is present and equals none of the values.
    neq: bool,
    /// `re`.
    re: bool,
    /// `cidr`.
    cidr: bool,
    /// `exists`.
    exists: bool,
    /// `fieldref`.
    fieldref: bool,
    /// `gt`/`gte`/`lt`/`lte` (the first written).
    num_op: Option<NumOp>,
    /// The time part (`minute` ... `year`), at most one.
    time_part: Option<TimePart>,
    /// Where a `fieldref` value must sit in the field's value.
    placement: StrKind,
}

/// One item being compiled: what it needs, and where its errors point.
struct ItemCx<'a> {
    rule: &'a Rule,
    sel_name: &'a str,
    item: &'a DetectionItem,
    resolver: &'a dyn FieldResolver,
    opts: &'a CompileOptions,
}

/// Compile one detection item.
pub(super) fn compile_item(
    rule: &Rule,
    sel_name: &str,
    item: &DetectionItem,
    resolver: &dyn FieldResolver,
    opts: &CompileOptions,
    ord: &mut usize,
) -> Result<CompiledItem, NonExecutable> {
    let cx = ItemCx {
        rule,
        sel_name,
        item,
        resolver,
        opts,
    };
    let mods = cx.modifiers()?;
    let key = match &item.field {
        Some(f) => Some(resolver.resolve(f).map_err(|u| {
            cx.at_item(
                fail(
                    rule,
                    &u.reason_code,
                    format!("{}: {}", cx.where_(), u.message),
                ),
                false,
            )
        })?),
        None => None,
    };
    let mut groups = Vec::with_capacity(item.values.len());
    for value in &item.values {
        let matchers = cx.value_matchers(&mods, key.is_none(), initial(value))?;
        if key.is_none() && matchers.iter().any(|m| !m.is_indexed()) {
            return Err(cx.bad(
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
        all: mods.all,
        neq: mods.neq,
        groups,
    })
}

/// A value as written, before any modifier.
fn initial(value: &RuleValue) -> V {
    match value {
        RuleValue::Null => V::Null,
        RuleValue::Bool(b) => V::Bool(*b),
        RuleValue::Int(i) => V::Num(*i as f64, i.to_string()),
        RuleValue::Float(f) => V::Num(*f, crate::yaml::float_text(*f)),
        RuleValue::Str(s) => V::Raw(s.clone()),
    }
}

/// The number a numeric comparison or time part compares with: a number, or a string that
/// reads as one.
fn number(v: &V) -> Option<f64> {
    match v {
        V::Num(n, _) => Some(*n),
        V::Raw(s) => parse_number(s),
        _ => None,
    }
}

impl ItemCx<'_> {
    fn where_(&self) -> String {
        match &self.item.field {
            Some(f) => format!("selection `{}`, field `{f}`", self.sel_name),
            None => format!("selection `{}`, keywords", self.sel_name),
        }
    }

    fn bad(&self, code: &str, m: String) -> NonExecutable {
        self.at_item(
            fail(self.rule, code, format!("{}: {m}", self.where_())),
            false,
        )
    }

    /// [`Self::bad`] for a reason that is the modifiers themselves.
    fn bad_modifiers(&self, code: &str, m: String) -> NonExecutable {
        self.at_item(
            fail(self.rule, code, format!("{}: {m}", self.where_())),
            true,
        )
    }

    /// `ne`, pointing at this item.
    fn at_item(&self, mut ne: NonExecutable, modifier_error: bool) -> NonExecutable {
        ne.item = Some(Box::new(ItemRef {
            selection: self.sel_name.to_string(),
            field: self.item.field.clone(),
            modifiers: self.item.modifiers.clone(),
            modifier_error,
        }));
        ne
    }

    fn has(&self, m: &str) -> bool {
        self.item.modifiers.iter().any(|x| x == m)
    }

    /// Read the modifiers; fails on an unknown one and on combinations that cannot hold.
    fn modifiers(&self) -> Result<Mods, NonExecutable> {
        let item = self.item;
        for m in &item.modifiers {
            if !KNOWN.contains(&m.as_str()) && !TIME_MODIFIERS.contains(&m.as_str()) {
                return Err(
                    self.bad_modifiers("unsupported_modifier", format!("unknown modifier `{m}`"))
                );
            }
        }
        let re = self.has("re");
        if !re
            && item
                .modifiers
                .iter()
                .any(|m| matches!(m.as_str(), "i" | "m" | "s"))
        {
            return Err(self.bad_modifiers(
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
        let time_part = self.time_part()?;
        let (cidr, exists, fieldref) = (self.has("cidr"), self.has("exists"), self.has("fieldref"));
        let types = [
            re,
            cidr,
            exists,
            num_op.is_some() && time_part.is_none(),
            fieldref,
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if types > 1 {
            return Err(self.bad_modifiers(
                "backend_compile_error",
                format!("incompatible modifiers `{}`", item.modifiers.join("|")),
            ));
        }
        let placement = if self.has("contains") {
            StrKind::Contains
        } else if self.has("startswith") {
            StrKind::Starts
        } else if self.has("endswith") {
            StrKind::Ends
        } else {
            StrKind::Exact
        };
        Ok(Mods {
            cased: self.has("cased"),
            all: self.has("all"),
            neq: self.has("neq"),
            re,
            cidr,
            exists,
            fieldref,
            num_op,
            time_part,
            placement,
        })
    }

    /// The time part modifier (`minute` ... `year`), if any: at most one, combined only with
    /// `gt`/`gte`/`lt`/`lte`/`neq`/`all`.
    fn time_part(&self) -> Result<Option<TimePart>, NonExecutable> {
        let item = self.item;
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
            return Err(self.bad_modifiers(
                "backend_compile_error",
                format!(
                    "a time modifier combines only with gt/gte/lt/lte/neq, not `{}`",
                    item.modifiers.join("|")
                ),
            ));
        }
        Ok(time_parts.first().copied())
    }

    /// The matchers of one value (the alternatives of its group), by modifier family.
    /// `keyword`: the item has no field (its strings are searched anywhere).
    fn value_matchers(
        &self,
        mods: &Mods,
        keyword: bool,
        start: V,
    ) -> Result<Vec<Matcher>, NonExecutable> {
        Ok(if mods.re {
            vec![self.regex(start)?]
        } else if mods.cidr {
            vec![self.cidr(start)?]
        } else if mods.exists {
            vec![self.exists(start)?]
        } else if let Some(part) = mods.time_part {
            vec![self.time(part, mods.num_op, &start)?]
        } else if let Some(op) = mods.num_op {
            vec![self.numeric(op, &start)?]
        } else if mods.fieldref {
            vec![self.fieldref(start, mods)?]
        } else if matches!(start, V::Null) {
            vec![self.null()?]
        } else {
            self.strings(start, mods.cased, keyword)?
        })
    }

    /// `re`, with the flags `i`, `m`, `s`.
    fn regex(&self, start: V) -> Result<Matcher, NonExecutable> {
        let Some(src) = start.raw_text() else {
            return Err(self.bad("backend_compile_error", "`re` needs a string".into()));
        };
        if self
            .item
            .modifiers
            .iter()
            .any(|m| STRING_TRANSFORMS.contains(&m.as_str()) || m == "expand")
        {
            return Err(self.bad_modifiers(
                "backend_compile_error",
                format!("`re` combined with `{}`", self.item.modifiers.join("|")),
            ));
        }
        // The flags inline, so that the pattern text alone (`Regex::as_str`, which the
        // engine reads for prerequisite literals) carries them.
        let mut flags = String::new();
        for (m, f) in [("i", 'i'), ("m", 'm'), ("s", 's')] {
            if self.has(m) {
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
                self.bad(
                    "unsupported_regex",
                    format!(
                        "regex {src:?} is not supported by the regex engine: {}",
                        e.to_string().lines().last().unwrap_or("")
                    ),
                )
            })?;
        Ok(Matcher::Re { regex })
    }

    /// `cidr`: an IPv4 or IPv6 network.
    fn cidr(&self, start: V) -> Result<Matcher, NonExecutable> {
        let Some(src) = start.raw_text() else {
            return Err(self.bad("backend_compile_error", "`cidr` needs a string".into()));
        };
        let net = IpNet::parse(&src).ok_or_else(|| {
            self.bad(
                "backend_compile_error",
                format!("invalid CIDR network {src:?}"),
            )
        })?;
        Ok(Matcher::Cidr { net, source: src })
    }

    /// `exists`: `true` or `false`.
    fn exists(&self, start: V) -> Result<Matcher, NonExecutable> {
        match start {
            V::Bool(b) => Ok(Matcher::Exists(b)),
            V::Raw(s) if s.eq_ignore_ascii_case("true") => Ok(Matcher::Exists(true)),
            V::Raw(s) if s.eq_ignore_ascii_case("false") => Ok(Matcher::Exists(false)),
            _ => Err(self.bad(
                "backend_compile_error",
                "`exists` needs true or false".into(),
            )),
        }
    }

    /// A time part (`minute` ... `year`), compared as a number, with `gt`/`gte`/`lt`/`lte` or
    /// for equality.
    fn time(&self, part: TimePart, op: Option<NumOp>, start: &V) -> Result<Matcher, NonExecutable> {
        let Some(value) = number(start) else {
            return Err(self.bad(
                "backend_compile_error",
                format!("`{}` needs a number", part.name()),
            ));
        };
        Ok(Matcher::Time { part, op, value })
    }

    /// `gt`, `gte`, `lt`, `lte`.
    fn numeric(&self, op: NumOp, start: &V) -> Result<Matcher, NonExecutable> {
        let Some(value) = number(start) else {
            return Err(self.bad(
                "backend_compile_error",
                "a numeric comparison needs a number".into(),
            ));
        };
        Ok(Matcher::Num { op, value })
    }

    /// `fieldref`: the value names another field, resolved like the item's own.
    fn fieldref(&self, start: V, mods: &Mods) -> Result<Matcher, NonExecutable> {
        let Some(other) = start.raw_text() else {
            return Err(self.bad(
                "backend_compile_error",
                "`fieldref` needs a field name".into(),
            ));
        };
        let k = self.resolver.resolve(&other).map_err(|u| {
            self.at_item(
                fail(
                    self.rule,
                    &u.reason_code,
                    format!(
                        "{}: referenced field `{other}`: {}",
                        self.where_(),
                        u.message
                    ),
                ),
                false,
            )
        })?;
        Ok(Matcher::FieldRef {
            key: k,
            field: other,
            kind: mods.placement,
            cased: mods.cased,
        })
    }

    /// `null`: no string modifier applies.
    fn null(&self) -> Result<Matcher, NonExecutable> {
        if self
            .item
            .modifiers
            .iter()
            .any(|m| STRING_TRANSFORMS.contains(&m.as_str()))
        {
            return Err(self.bad(
                "backend_compile_error",
                "string modifiers on a null value".into(),
            ));
        }
        Ok(Matcher::Null)
    }

    /// Strings: `expand`, then every string transform in the order written (each may give
    /// several alternatives), then one wildcard matcher per alternative. Keyword values that
    /// no placement modifier placed are searched anywhere (as `*value*`).
    fn strings(&self, start: V, cased: bool, keyword: bool) -> Result<Vec<Matcher>, NonExecutable> {
        let mut vs: Vec<V> = if self.has("expand") {
            self.expanded(start)?
        } else {
            vec![start]
        };
        let mut any_placement = false;
        for m in &self.item.modifiers {
            let mut next = Vec::with_capacity(vs.len());
            for v in vs {
                any_placement |=
                    transform(m, v, &mut next).map_err(|e| self.bad("backend_compile_error", e))?;
            }
            vs = next;
        }
        let mut out = Vec::with_capacity(vs.len());
        for v in vs {
            out.push(
                wildcard_matcher(v, cased, keyword && !any_placement)
                    .map_err(|e| self.bad("backend_compile_error", e))?,
            );
        }
        Ok(out)
    }

    /// `expand`: the value with its `%name%` placeholders substituted, one alternative per
    /// combination of placeholder values.
    fn expanded(&self, start: V) -> Result<Vec<V>, NonExecutable> {
        let Some(raw) = start.raw_text() else {
            return Err(self.bad("backend_compile_error", "`expand` needs a string".into()));
        };
        match expand(&raw, &self.opts.placeholders) {
            Ok(t) => Ok(t.into_iter().map(V::Toks).collect()),
            Err((true, m)) => Err(self.bad("unsupported_placeholder", m)),
            Err((false, m)) => Err(self.bad("backend_compile_error", m)),
        }
    }
}

/// Apply modifier `m` to one alternative `v`, pushing the results to `out`: a string
/// transform (placement, `windash`, an encoding) transforms it, any other modifier passes it
/// through. Returns whether `m` is a placement (`contains`, `startswith`, `endswith`).
fn transform(m: &str, v: V, out: &mut Vec<V>) -> Result<bool, String> {
    match m {
        "contains" | "startswith" | "endswith" => {
            out.push(place(m, v)?);
            return Ok(true);
        }
        "windash" => {
            for w in windash(&v.toks()?)? {
                out.push(V::Toks(w));
            }
        }
        "utf16le" | "wide" | "utf16be" | "utf16" | "base64" | "base64offset" => encode(m, v, out)?,
        _ => out.push(v),
    }
    Ok(false)
}

/// The placements: `contains`, `startswith`, `endswith` open the value with wildcards at the
/// free ends.
fn place(m: &str, v: V) -> Result<V, String> {
    let mut t = v.toks()?;
    if m != "endswith" && t.last() != Some(&Tok::Star) {
        t.push(Tok::Star);
    }
    if m != "startswith" && t.first() != Some(&Tok::Star) {
        t.insert(0, Tok::Star);
    }
    Ok(V::Toks(t))
}

/// The encodings: `utf16le`/`wide`, `utf16be`, `utf16` (with a byte order mark), `base64`,
/// and `base64offset` (three alternatives).
fn encode(m: &str, v: V, out: &mut Vec<V>) -> Result<(), String> {
    let b = v.bytes(m)?;
    match m {
        "base64" => out.push(V::Toks(b64(&b).chars().map(Tok::C).collect())),
        "base64offset" => {
            for s in base64_offsets(&b) {
                out.push(V::Toks(s.chars().map(Tok::C).collect()));
            }
        }
        _ => out.push(V::Bytes(utf16(&b, m != "utf16be", m == "utf16")?)),
    }
    Ok(())
}

/// The wildcard matcher of one final alternative; `anywhere` opens both ends (keywords).
fn wildcard_matcher(v: V, cased: bool, anywhere: bool) -> Result<Matcher, String> {
    let mut t = v.toks()?;
    if anywhere {
        // Keywords search anywhere in the event's strings.
        if t.last() != Some(&Tok::Star) {
            t.push(Tok::Star);
        }
        if t.first() != Some(&Tok::Star) {
            t.insert(0, Tok::Star);
        }
    }
    string_matcher(&t, cased)
}
