//! Loading Sigma documents: rules, collections, filters and correlations. The `detection`
//! section itself is parsed in [`detection`].

mod detection;

use crate::yaml::{Yaml, parse_documents};
use detection::parse_detection;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Reason code for anything that prevents a document from joining the rule set.
pub const REASON_LOAD_FAILED: &str = "sigma_ruleset_load_failed";

/// A problem found while loading; the rest of the set still loads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadIssue {
    /// File the problem is in.
    pub file: PathBuf,
    /// 1-based line of the document (0 when the whole file could not be read or decoded).
    pub line: u64,
    /// Stable reason code (`sigma_ruleset_load_failed`, …).
    pub reason_code: String,
    /// What is wrong, for a person.
    pub message: String,
}

/// The `logsource` of a rule: the original values and trimmed, lowercased copies for routing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogSource {
    /// `category` as written.
    pub category: Option<String>,
    /// `product` as written.
    pub product: Option<String>,
    /// `service` as written.
    pub service: Option<String>,
    /// `category`, trimmed and lowercased.
    pub category_norm: Option<String>,
    /// `product`, trimmed and lowercased.
    pub product_norm: Option<String>,
    /// `service`, trimmed and lowercased.
    pub service_norm: Option<String>,
}

impl LogSource {
    fn from_yaml(y: Option<&Yaml>) -> LogSource {
        let pick = |k: &str| y.and_then(|m| m.get(k)).and_then(Yaml::scalar_text);
        let norm = |v: &Option<String>| v.as_ref().map(|s| s.trim().to_lowercase());
        let category = pick("category");
        let product = pick("product");
        let service = pick("service");
        LogSource {
            category_norm: norm(&category),
            product_norm: norm(&product),
            service_norm: norm(&service),
            category,
            product,
            service,
        }
    }

    /// True when every field `self` names is equal (normalized) in `other`.
    pub fn is_subset_of(&self, other: &LogSource) -> bool {
        let ok = |a: &Option<String>, b: &Option<String>| a.is_none() || a == b;
        ok(&self.category_norm, &other.category_norm)
            && ok(&self.product_norm, &other.product_norm)
            && ok(&self.service_norm, &other.service_norm)
    }
}

/// A scalar value of a detection item, as written in the rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum RuleValue {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string (wildcards and escapes not yet interpreted).
    Str(String),
}

impl RuleValue {
    fn from_yaml(y: &Yaml) -> Option<RuleValue> {
        Some(match y {
            Yaml::Null => RuleValue::Null,
            Yaml::Bool(b) => RuleValue::Bool(*b),
            Yaml::Int(i) => RuleValue::Int(*i),
            Yaml::Float(f) => RuleValue::Float(*f),
            Yaml::Str(s) => RuleValue::Str(s.clone()),
            Yaml::Seq(_) | Yaml::Map(_) => return None,
        })
    }

    /// The value as rule text (numbers and booleans rendered).
    pub fn text(&self) -> Option<String> {
        match self {
            RuleValue::Null => None,
            RuleValue::Bool(b) => Some(b.to_string()),
            RuleValue::Int(i) => Some(i.to_string()),
            RuleValue::Float(f) => Some(crate::yaml::float_text(*f)),
            RuleValue::Str(s) => Some(s.clone()),
        }
    }
}

/// One `field|mod|mod: values` entry of a selection, or a keyword entry when `field` is `None`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetectionItem {
    /// The Sigma field name; `None` for keyword (unbound) searches.
    pub field: Option<String>,
    /// Modifiers in the order written.
    pub modifiers: Vec<String>,
    /// The values (a single value is a one-element list).
    pub values: Vec<RuleValue>,
}

/// A search identifier: OR over branches, each branch an AND over items.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Selection {
    /// The alternatives (a map is one branch, a list of maps is one branch per map).
    pub branches: Vec<Vec<DetectionItem>>,
}

/// A filter document applied to a rule (`rule_condition and not filter_condition`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppliedFilter {
    /// The filter's id, or its title when it has none.
    pub filter_ref: String,
    /// Where the filter was defined.
    pub file: PathBuf,
    /// Line of the filter document.
    pub line: u64,
    /// The filter's own search identifiers.
    pub selections: BTreeMap<String, Selection>,
    /// The filter's condition(s).
    pub conditions: Vec<String>,
}

/// A reason a loaded rule cannot be executed that is known at load time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadTimeBlock {
    /// Reason code.
    pub reason_code: String,
    /// Explanation.
    pub message: String,
}

/// A Sigma detection rule, as loaded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    /// `id` (may be absent in hand-written rules).
    pub id: Option<String>,
    /// `name` (used by correlations and filters to refer to a rule).
    pub name: Option<String>,
    /// `title`.
    pub title: String,
    /// `level`.
    pub level: Option<String>,
    /// `status`.
    pub status: Option<String>,
    /// `tags` as written.
    pub tags: Vec<String>,
    /// ATT&CK technique ids from `attack.tNNNN[.NNN]` tags, uppercased, sorted, deduplicated.
    pub technique_ids: Vec<String>,
    /// `logsource`.
    pub logsource: LogSource,
    /// Source file.
    pub file: PathBuf,
    /// 1-based line of the document in `file`.
    pub line: u64,
    /// `"sha256:" + hex(sha256(file bytes without BOM, CRLF/CR → LF))`.
    pub rule_sha256: String,
    /// Search identifiers by name.
    pub selections: BTreeMap<String, Selection>,
    /// Condition(s); several are OR-ed.
    pub conditions: Vec<String>,
    /// `detection.timeframe`, ignored by single-event matching.
    pub timeframe: Option<String>,
    /// Filters applied to this rule, in load order.
    pub filters: Vec<AppliedFilter>,
    /// Set when the rule can be loaded but never executed (e.g. a malformed detection item).
    pub blocked: Option<LoadTimeBlock>,
}

/// A correlation rule, as loaded (its references are checked by [`crate::compile_correlations`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CorrelationRule {
    /// `id`.
    pub id: Option<String>,
    /// `name`.
    pub name: Option<String>,
    /// `title`.
    pub title: String,
    /// `level`.
    pub level: Option<String>,
    /// ATT&CK technique ids of its `tags`.
    pub technique_ids: Vec<String>,
    /// `correlation.type` (`event_count`, `value_count`, `temporal`, `temporal_ordered`,
    /// `value_sum`, `value_avg`, `value_percentile`).
    pub correlation_type: String,
    /// Referenced rules (ids or names of detection or correlation rules).
    pub rules: Vec<String>,
    /// `group-by` fields (or alias names).
    pub group_by: Vec<String>,
    /// `timespan` as written (`5m`, `1h`, …).
    pub timespan: Option<String>,
    /// Condition as `operator → number text` (e.g. `gte → 100`).
    pub condition: BTreeMap<String, String>,
    /// `condition.field` (value_* types), one or several field names.
    pub condition_fields: Vec<String>,
    /// `aliases`: alias → (referenced rule name → field name).
    pub aliases: BTreeMap<String, BTreeMap<String, String>>,
    /// `generate` (`None` when absent: the referenced rules do not generate detections).
    pub generate: Option<bool>,
    /// Source file.
    pub file: PathBuf,
    /// Line of the document.
    pub line: u64,
    /// Digest of the file, as for rules.
    pub rule_sha256: String,
}

/// Everything loaded from a set of paths.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RuleSet {
    /// Detection rules in load order (files sorted by path bytes, documents in file order).
    pub rules: Vec<Rule>,
    /// Correlation rules in load order.
    pub correlations: Vec<CorrelationRule>,
    /// Problems found (the first occurrence of a duplicated id wins).
    pub issues: Vec<LoadIssue>,
    /// Number of filter documents that were read.
    pub filter_documents: usize,
}

/// Normalize rule text for hashing: drop a UTF-8 BOM, turn CRLF and lone CR into LF.
pub fn normalize_rule_bytes(bytes: &[u8]) -> Vec<u8> {
    let b = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\r' {
            out.push(b'\n');
            if b.get(i + 1) == Some(&b'\n') {
                i += 1;
            }
        } else {
            out.push(b[i]);
        }
        i += 1;
    }
    out
}

/// `"sha256:" + hex(sha256(normalized bytes))`.
pub fn rule_sha256(bytes: &[u8]) -> String {
    let digest = Sha256::digest(normalize_rule_bytes(bytes));
    format!("sha256:{}", hex::encode(digest))
}

/// ATT&CK technique ids from tags (`attack.t1059.001` → `T1059.001`), sorted and deduplicated.
pub fn technique_ids(tags: &[String]) -> Vec<String> {
    let mut out = BTreeSet::new();
    for t in tags {
        let t = t.trim().to_ascii_lowercase();
        let Some(rest) = t.strip_prefix("attack.t") else {
            continue;
        };
        let (main, sub) = match rest.split_once('.') {
            Some((m, s)) => (m, Some(s)),
            None => (rest, None),
        };
        let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|c| c.is_ascii_digit());
        if !digits(main, 4) || sub.is_some_and(|s| !digits(s, 3)) {
            continue;
        }
        out.insert(match sub {
            Some(s) => format!("T{main}.{s}"),
            None => format!("T{main}"),
        });
    }
    out.into_iter().collect()
}

/// Collect the rule files under `paths`: files as given, directories recursively
/// (`*.yml`, `*.yaml`), all sorted by path bytes and deduplicated.
pub fn collect_files(paths: &[PathBuf], issues: &mut Vec<LoadIssue>) -> Vec<PathBuf> {
    let mut files = BTreeSet::new();
    for p in paths {
        match std::fs::metadata(p) {
            Ok(m) if m.is_dir() => walk(p, &mut files, issues),
            Ok(_) => {
                files.insert(p.clone());
            }
            Err(e) => issues.push(LoadIssue {
                file: p.clone(),
                line: 0,
                reason_code: REASON_LOAD_FAILED.into(),
                message: format!("cannot read rule path: {e}"),
            }),
        }
    }
    let mut v: Vec<PathBuf> = files.into_iter().collect();
    v.sort_by(|a, b| {
        a.as_os_str()
            .as_encoded_bytes()
            .cmp(b.as_os_str().as_encoded_bytes())
    });
    v
}

fn walk(dir: &Path, out: &mut BTreeSet<PathBuf>, issues: &mut Vec<LoadIssue>) {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) => {
            issues.push(LoadIssue {
                file: dir.to_path_buf(),
                line: 0,
                reason_code: REASON_LOAD_FAILED.into(),
                message: format!("cannot list directory: {e}"),
            });
            return;
        }
    };
    for entry in rd.flatten() {
        let path = entry.path();
        let Ok(ft) = entry.file_type() else { continue };
        if ft.is_dir() {
            walk(&path, out, issues);
        } else if ft.is_file() || ft.is_symlink() {
            let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
            if ext.eq_ignore_ascii_case("yml") || ext.eq_ignore_ascii_case("yaml") {
                out.insert(path);
            }
        }
    }
}

/// Recursive merge of `update` into `base` (maps merged key by key, anything else replaced).
fn deep_update(base: &mut Yaml, update: &Yaml) {
    match (base, update) {
        (Yaml::Map(b), Yaml::Map(u)) => {
            for (k, v) in u {
                if let Some((_, bv)) = b.iter_mut().find(|(bk, _)| bk == k) {
                    deep_update(bv, v);
                } else {
                    b.push((k.clone(), v.clone()));
                }
            }
        }
        (b, u) => *b = u.clone(),
    }
}

/// One document after collection (`action:`) processing.
struct Doc {
    line: u64,
    body: Yaml,
}

/// Apply `action: global|reset|repeat` of a multi-document file.
fn resolve_collection(
    file: &Path,
    docs: Vec<(u64, Yaml)>,
    issues: &mut Vec<LoadIssue>,
) -> Vec<Doc> {
    let mut out = Vec::new();
    let mut global: Option<Yaml> = None;
    let mut prev: Option<Yaml> = None;
    for (line, mut doc) in docs {
        let Yaml::Map(entries) = &mut doc else {
            issues.push(issue(
                file,
                line,
                format!("document is a {}, expected a mapping", doc.kind()),
            ));
            continue;
        };
        let action = entries
            .iter()
            .position(|(k, _)| k == "action")
            .map(|i| entries.remove(i).1);
        match action {
            None => {
                let mut rule = global.clone().unwrap_or(Yaml::Map(Vec::new()));
                deep_update(&mut rule, &doc);
                prev = Some(rule.clone());
                out.push(Doc { line, body: rule });
            }
            Some(Yaml::Str(a)) if a == "global" => global = Some(doc),
            Some(Yaml::Str(a)) if a == "reset" => global = None,
            Some(Yaml::Str(a)) if a == "repeat" => match &prev {
                Some(p) => {
                    let mut rule = p.clone();
                    deep_update(&mut rule, &doc);
                    prev = Some(rule.clone());
                    out.push(Doc { line, body: rule });
                }
                None => issues.push(issue(
                    file,
                    line,
                    "`action: repeat` without a previous rule in the file".into(),
                )),
            },
            Some(other) => issues.push(issue(
                file,
                line,
                format!(
                    "unknown collection action {:?} (expected global, reset or repeat)",
                    other.scalar_text().unwrap_or_else(|| other.kind().into())
                ),
            )),
        }
    }
    out
}

fn issue(file: &Path, line: u64, message: String) -> LoadIssue {
    LoadIssue {
        file: file.to_path_buf(),
        line,
        reason_code: REASON_LOAD_FAILED.into(),
        message,
    }
}

fn str_field(doc: &Yaml, key: &str) -> Option<String> {
    doc.get(key).and_then(Yaml::scalar_text)
}

fn str_list(doc: Option<&Yaml>) -> Vec<String> {
    match doc {
        Some(Yaml::Seq(items)) => items.iter().filter_map(Yaml::scalar_text).collect(),
        Some(y) => y.scalar_text().into_iter().collect(),
        None => Vec::new(),
    }
}

struct PendingFilter {
    targets: Vec<String>,
    logsource: LogSource,
    applied: AppliedFilter,
}

/// Load every rule, filter and correlation document under `paths`.
///
/// Never fails as a whole: unreadable files and broken documents become [`LoadIssue`]s.
pub fn load_paths(paths: &[PathBuf]) -> RuleSet {
    let mut issues = Vec::new();
    let files = collect_files(paths, &mut issues);
    let read = files
        .into_iter()
        .map(|f| {
            let bytes = std::fs::read(&f);
            (f, bytes)
        })
        .collect();
    load_read_files(read, issues)
}

/// Load files already read, in the given order (as [`collect_files`] lists them): each file
/// with its bytes or the error reading it gave; `issues` are those met while collecting. The
/// same result as [`load_paths`] over the same files, for callers that need the bytes too
/// (a cache keyed by them).
pub fn load_read_files(
    files: Vec<(PathBuf, std::io::Result<Vec<u8>>)>,
    issues: Vec<LoadIssue>,
) -> RuleSet {
    let mut set = RuleSet {
        issues,
        ..RuleSet::default()
    };
    let mut filters = Vec::new();
    for (file, bytes) in files {
        let bytes = match bytes {
            Ok(b) => b,
            Err(e) => {
                set.issues
                    .push(issue(&file, 0, format!("cannot read file: {e}")));
                continue;
            }
        };
        load_bytes(&file, &bytes, &mut set, &mut filters);
    }
    dedupe_ids(&mut set);
    apply_filters(&mut set, filters);
    crate::correlation::drop_unresolved(&mut set);
    set
}

/// Load documents from in-memory text as if read from `file` (handy for tests and editors).
pub fn load_str(file: &Path, text: &str) -> RuleSet {
    let mut set = RuleSet::default();
    let mut filters = Vec::new();
    load_bytes(file, text.as_bytes(), &mut set, &mut filters);
    dedupe_ids(&mut set);
    apply_filters(&mut set, filters);
    crate::correlation::drop_unresolved(&mut set);
    set
}

fn load_bytes(file: &Path, bytes: &[u8], set: &mut RuleSet, filters: &mut Vec<PendingFilter>) {
    let sha = rule_sha256(bytes);
    let normalized = normalize_rule_bytes(bytes);
    let text = match std::str::from_utf8(&normalized) {
        Ok(t) => t,
        Err(e) => {
            set.issues
                .push(issue(file, 0, format!("file is not valid UTF-8: {e}")));
            return;
        }
    };
    let docs = match parse_documents(file, text) {
        Ok(d) => d,
        Err(e) => {
            set.issues.push(issue(
                file,
                e.line,
                format!("invalid YAML: {}", e.message.trim()),
            ));
            return;
        }
    };
    for doc in resolve_collection(file, docs, &mut set.issues) {
        load_document(file, &sha, doc, set, filters);
    }
}

fn load_document(
    file: &Path,
    sha: &str,
    doc: Doc,
    set: &mut RuleSet,
    filters: &mut Vec<PendingFilter>,
) {
    let Doc { line, body } = doc;
    let has_det = body.get("detection").is_some();
    let has_corr = body.get("correlation").is_some();
    let has_filter = body.get("filter").is_some();
    let title = str_field(&body, "title");
    if [has_det, has_corr, has_filter]
        .iter()
        .filter(|b| **b)
        .count()
        > 1
    {
        set.issues.push(LoadIssue {
            file: file.to_path_buf(),
            line,
            reason_code: "backend_compile_error".into(),
            message: "document has more than one of `detection`, `correlation`, `filter`".into(),
        });
        return;
    }
    let Some(title) = title else {
        set.issues
            .push(issue(file, line, "document has no `title`".into()));
        return;
    };
    if has_corr {
        match crate::correlation::parse_correlation(&body) {
            Ok(mut c) => {
                c.title = title;
                c.file = file.to_path_buf();
                c.line = line;
                c.rule_sha256 = sha.to_owned();
                set.correlations.push(c);
            }
            Err(e) => set
                .issues
                .push(issue(file, line, format!("correlation `{title}`: {e}"))),
        }
        return;
    }
    if has_filter {
        set.filter_documents += 1;
        match parse_filter(&body) {
            Ok((targets, selections, conditions)) => filters.push(PendingFilter {
                targets,
                logsource: LogSource::from_yaml(body.get("logsource")),
                applied: AppliedFilter {
                    filter_ref: str_field(&body, "id").unwrap_or_else(|| title.clone()),
                    file: file.to_path_buf(),
                    line,
                    selections,
                    conditions,
                },
            }),
            Err(e) => set
                .issues
                .push(issue(file, line, format!("filter `{title}`: {e}"))),
        }
        return;
    }
    let Some(det) = body.get("detection") else {
        set.issues.push(issue(
            file,
            line,
            format!("`{title}` has no `detection`, `correlation` or `filter`"),
        ));
        return;
    };
    let (selections, conditions, timeframe) = match parse_detection(det) {
        Ok(d) => d,
        Err(e) => {
            set.issues
                .push(issue(file, line, format!("rule `{title}`: {e}")));
            return;
        }
    };
    let tags = str_list(body.get("tags"));
    set.rules.push(Rule {
        id: str_field(&body, "id"),
        name: str_field(&body, "name"),
        level: str_field(&body, "level"),
        status: str_field(&body, "status"),
        technique_ids: technique_ids(&tags),
        tags,
        logsource: LogSource::from_yaml(body.get("logsource")),
        file: file.to_path_buf(),
        line,
        rule_sha256: sha.to_owned(),
        selections,
        conditions,
        timeframe,
        filters: Vec::new(),
        blocked: None,
        title,
    });
}

#[allow(clippy::type_complexity)]
fn parse_filter(
    body: &Yaml,
) -> Result<(Vec<String>, BTreeMap<String, Selection>, Vec<String>), String> {
    let f = body.get("filter").ok_or("missing `filter`")?;
    let targets = str_list(f.get("rules"));
    if targets.is_empty() {
        return Err("`filter.rules` names no rule".into());
    }
    let Yaml::Map(entries) = f else {
        return Err(format!("`filter` is a {}, expected a mapping", f.kind()));
    };
    let det = Yaml::Map(
        entries
            .iter()
            .filter(|(k, _)| k != "rules")
            .cloned()
            .collect(),
    );
    let (selections, conditions, _) = parse_detection(&det)?;
    Ok((targets, selections, conditions))
}

fn dedupe_ids(set: &mut RuleSet) {
    let mut seen: BTreeMap<String, (PathBuf, u64)> = BTreeMap::new();
    let mut keep = Vec::with_capacity(set.rules.len());
    for r in std::mem::take(&mut set.rules) {
        if let Some(id) = &r.id {
            if let Some((f, l)) = seen.get(id) {
                set.issues.push(issue(
                    &r.file,
                    r.line,
                    format!(
                        "duplicate rule id {id} (first defined at {}:{l}); this one is ignored",
                        f.display()
                    ),
                ));
                continue;
            }
            seen.insert(id.clone(), (r.file.clone(), r.line));
        }
        keep.push(r);
    }
    set.rules = keep;
    let mut corr_keep = Vec::new();
    for c in std::mem::take(&mut set.correlations) {
        if let Some(id) = &c.id {
            if let Some((f, l)) = seen.get(id) {
                set.issues.push(issue(
                    &c.file,
                    c.line,
                    format!(
                        "duplicate rule id {id} (first defined at {}:{l}); this one is ignored",
                        f.display()
                    ),
                ));
                continue;
            }
            seen.insert(id.clone(), (c.file.clone(), c.line));
        }
        corr_keep.push(c);
    }
    set.correlations = corr_keep;
}

fn apply_filters(set: &mut RuleSet, filters: Vec<PendingFilter>) {
    for f in filters {
        for target in &f.targets {
            let hits: Vec<usize> = set
                .rules
                .iter()
                .enumerate()
                .filter(|(_, r)| {
                    r.id.as_deref() == Some(target.as_str())
                        || r.name.as_deref() == Some(target.as_str())
                        || r.title == *target
                })
                .map(|(i, _)| i)
                .collect();
            if hits.is_empty() {
                set.issues.push(issue(
                    &f.applied.file,
                    f.applied.line,
                    format!(
                        "filter {} names rule `{target}`, which is not in the set",
                        f.applied.filter_ref
                    ),
                ));
            }
            for i in hits {
                let rule = &mut set.rules[i];
                if !f.logsource.is_subset_of(&rule.logsource) {
                    set.issues.push(issue(
                        &f.applied.file,
                        f.applied.line,
                        format!(
                            "filter {} not applied to `{target}`: its logsource does not match the rule's",
                            f.applied.filter_ref
                        ),
                    ));
                    continue;
                }
                rule.filters.push(f.applied.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashing_normalizes_bom_and_line_ends() {
        let a = rule_sha256(b"a: 1\nb: 2\n");
        assert_eq!(a, rule_sha256(b"\xEF\xBB\xBFa: 1\r\nb: 2\r"));
        assert_ne!(a, rule_sha256(b"a: 1\nb: 3\n"));
        assert!(a.starts_with("sha256:") && a.len() == 7 + 64);
    }

    #[test]
    fn techniques_from_tags() {
        let tags: Vec<String> = [
            "attack.t1059.001",
            "attack.execution",
            "attack.T1003",
            "attack.t1059.001",
            "attack.t12",
            "cve.2021-1",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(technique_ids(&tags), vec!["T1003", "T1059.001"]);
    }

    #[test]
    fn collection_global_and_repeat() {
        let text = "action: global\ntitle: base\nlogsource:\n  product: windows\ndetection:\n  condition: sel\n---\nid: a\ndetection:\n  sel:\n    A: 1\n---\naction: repeat\nid: b\ntitle: second\n---\naction: reset\n---\ntitle: plain\nid: c\ndetection:\n  s:\n    B: 2\n  condition: s\n";
        let set = load_str(Path::new("c.yml"), text);
        assert!(set.issues.is_empty(), "{:?}", set.issues);
        assert_eq!(set.rules.len(), 3);
        assert_eq!(set.rules[0].title, "base");
        assert_eq!(set.rules[0].logsource.product.as_deref(), Some("windows"));
        assert_eq!(set.rules[0].conditions, vec!["sel"]);
        assert_eq!(set.rules[1].id.as_deref(), Some("b"));
        assert_eq!(set.rules[1].title, "second");
        assert!(set.rules[1].selections.contains_key("sel"));
        assert_eq!(set.rules[2].logsource.product, None);
        assert_eq!(set.rules[1].line, 13);
    }

    #[test]
    fn broken_documents_are_reported_not_fatal() {
        let text = "title: ok\nid: x\ndetection:\n  s:\n    A: 1\n  condition: s\n---\ntitle: bad\ndetection:\n  s: [[1]]\n  condition: s\n---\nfoo: bar\n";
        let set = load_str(Path::new("b.yml"), text);
        assert_eq!(set.rules.len(), 1);
        assert_eq!(set.issues.len(), 2);
        assert_eq!(set.issues[0].line, 8);
        assert!(set.issues[0].message.contains("bad"), "{:?}", set.issues);
    }

    #[test]
    fn duplicate_ids_first_wins() {
        let text = "title: one\nid: x\ndetection:\n  s:\n    A: 1\n  condition: s\n---\ntitle: two\nid: x\ndetection:\n  s:\n    A: 1\n  condition: s\n";
        let set = load_str(Path::new("d.yml"), text);
        assert_eq!(set.rules.len(), 1);
        assert_eq!(set.rules[0].title, "one");
        assert_eq!(set.issues[0].reason_code, REASON_LOAD_FAILED);
        assert!(set.issues[0].message.contains("duplicate rule id x"));
    }

    #[test]
    fn correlation_parsed() {
        let text = "title: r\nid: r1\ndetection:\n  s:\n    A: 1\n  condition: s\n---\ntitle: brute\nid: c1\ncorrelation:\n  type: event_count\n  rules:\n    - r1\n  group-by:\n    - User\n  timespan: 5m\n  condition:\n    gte: 10\n";
        let set = load_str(Path::new("corr.yml"), text);
        assert_eq!(set.correlations.len(), 1);
        let c = &set.correlations[0];
        assert_eq!(c.correlation_type, "event_count");
        assert_eq!(c.group_by, vec!["User"]);
        assert_eq!(c.timespan.as_deref(), Some("5m"));
        assert_eq!(c.condition.get("gte").map(String::as_str), Some("10"));
    }
}
