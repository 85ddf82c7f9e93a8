//! `sigma-rule`: the rules loaded, routed and compiled exactly as `pa-detect --rules … check`
//! does (`pa_detection::load_rules`, `load_bridge`, `Detector::build`, `check_report`: one code
//! path, so lint's non-executable set and reasons are `check`'s), plus YAML 1.1 plain scalars.
//!
//! * a file or document that does not load: `lint-core-parse-error` (YAML) or
//!   `lint-sigma-rule-invalid` (Sigma structure), error;
//! * an unknown modifier: `lint-sigma-rule-unknown-modifier`, error;
//! * modifiers that cannot be combined: `lint-sigma-rule-invalid-modifier-combination`, error;
//! * any other reason a rule cannot run under the bridge (unroutable logsource, unmapped field,
//!   unsupported regex, correlation...): `lint-sigma-rule-not-executable`, warning, with the
//!   reason code and the selection and field in `details`;
//! * YAML 1.1 plain scalars: `lint-sigma-rule-yaml11-scalar`, warning ([`crate::yaml11`]).
//!
//! Instance paths point into the rule's document: the detection item's key
//! (`/detection/<selection>[/<n>]/<field|modifiers>`), `/logsource` for routing reasons,
//! `/detection/condition` for condition reasons.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use pa_detection::detector::{Detector, FieldMode, RulePlan};
use pa_detection::{LoadIssueRow, RuleCheckRow};
use pa_yaml::outline::{Document, Mark, escape_pointer_token};
use serde_json::json;

use crate::files::PARSE_ERROR;
use crate::{Ctx, Finding, LintError, Severity, yaml11};

const UNKNOWN_MODIFIER: &str = "lint-sigma-rule-unknown-modifier";
const MODIFIER_COMBINATION: &str = "lint-sigma-rule-invalid-modifier-combination";
const NOT_EXECUTABLE: &str = "lint-sigma-rule-not-executable";
const INVALID: &str = "lint-sigma-rule-invalid";

/// The outline of each rule file (`Err`: its syntax error position).
type Outlines = HashMap<PathBuf, Result<Vec<Document>, Mark>>;

/// Lint the Sigma rules under `paths` as one rule set (as `pa-detect --rules P1 --rules P2`).
pub(crate) fn lint(ctx: &Ctx, paths: &[PathBuf]) -> Result<Vec<Finding>, LintError> {
    let set = pa_detection::load_rules(paths)?;
    let bridge = pa_detection::load_bridge(ctx.bridge.as_deref())?;
    let det = Detector::build(
        &set,
        Some(&bridge),
        FieldMode::Ocsf,
        &pa_sigma::CompileOptions::default(),
    )?;
    let check = pa_detection::check_report(&set, &det);
    let mut out = Vec::new();
    let mut outlines: Outlines = HashMap::new();
    let mut ignored = Vec::new();
    for file in pa_sigma::collect_files(paths, &mut ignored) {
        let shown = ctx.display(&file);
        let parsed = std::fs::read(&file)
            .ok()
            .map(|b| String::from_utf8_lossy(&pa_sigma::normalize_rule_bytes(&b)).into_owned())
            .map(|text| pa_yaml::outline(&file, &text));
        let entry = match parsed {
            Some(Ok(docs)) => {
                for d in &docs {
                    out.extend(yaml11::check(&shown, d));
                }
                Ok(docs)
            }
            Some(Err(e)) => Err(Mark {
                line: e.line,
                column: e.column,
            }),
            None => Err(Mark { line: 0, column: 0 }),
        };
        outlines.insert(file, entry);
    }
    for (row, plan) in check.rules.iter().zip(&det.plans) {
        if !row.executable {
            out.push(non_executable(ctx, row, plan, &outlines));
        }
    }
    for issue in &check.load_issues {
        out.push(load_issue(ctx, issue, &outlines));
    }
    Ok(out)
}

/// The document of a rule file that starts at `line`.
fn doc_at(outlines: &Outlines, file: &Path, line: u64) -> Option<Document> {
    let docs = outlines.get(file)?.as_ref().ok()?;
    docs.iter()
        .rfind(|d| d.nodes.first().is_some_and(|n| n.mark.line <= line.max(1)))
        .or(docs.first())
        .cloned()
}

/// Where a detection item is: the key `field|modifiers` (or the selection, for keywords)
/// under `/detection/<selection>`.
fn item_pointer(doc: &Document, item: &pa_sigma::ItemRef) -> String {
    let sel = format!("/detection/{}", escape_pointer_token(&item.selection));
    let Some(field) = &item.field else {
        return sel;
    };
    let written: String = std::iter::once(field.as_str())
        .chain(item.modifiers.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join("|");
    let under = format!("{sel}/");
    let key_of = |n: &&pa_yaml::outline::Node| n.key.as_ref().map(|k| k.text.clone());
    doc.nodes
        .iter()
        .filter(|n| n.pointer.starts_with(&under))
        .find(|n| key_of(n).as_deref() == Some(written.as_str()))
        .or_else(|| {
            doc.nodes
                .iter()
                .filter(|n| n.pointer.starts_with(&under))
                .find(|n| key_of(n).is_some_and(|k| k.split('|').next() == Some(field.as_str())))
        })
        .map_or(sel, |n| n.pointer.clone())
}

fn hint_for(reason: &str, item: Option<&pa_sigma::ItemRef>) -> Option<String> {
    Some(match reason {
        "unsupported_modifier" => "use a Sigma modifier: contains, startswith, endswith, all, base64, base64offset, utf16le, utf16be, utf16, wide, windash, re (i, m, s), cidr, exists, cased, fieldref, gt, gte, lt, lte, neq, expand, or a time part (minute ... year)".into(),
        "unroutable_logsource" => "route this logsource in the bridge (mappings/bridge/router.yaml), or check its product/category/service spelling".into(),
        "unmapped_field" => format!(
            "add an alias for {} to the bridge (mappings/bridge/aliases/), or use a field the routed classes map",
            item.and_then(|i| i.field.as_deref()).map_or("the field".to_string(), |f| format!("`{f}`"))
        ),
        "unsupported_regex" => "rewrite the pattern without look-around or backreferences (pa runs Rust regex: linear time)".into(),
        "correlation_rule_not_executable" => "make the referenced rule executable (its own reason is in the message), or reference another rule".into(),
        _ if item.is_some_and(|i| i.modifier_error) => "drop the modifiers that cannot be combined (see the Sigma modifier reference)".into(),
        _ => return None,
    })
}

fn non_executable(ctx: &Ctx, row: &RuleCheckRow, plan: &RulePlan, outlines: &Outlines) -> Finding {
    let path = PathBuf::from(&row.file);
    let reason = row.reason_code.as_deref().unwrap_or("");
    let item = plan.non_executable_item.as_ref();
    let doc = doc_at(outlines, &path, row.line);
    let pointer = match (item, &doc) {
        (Some(i), Some(d)) => item_pointer(d, i),
        (Some(i), None) => format!("/detection/{}", escape_pointer_token(&i.selection)),
        (None, _) if plan.correlation.is_some() => "/correlation".into(),
        (None, _) if !plan.routed => "/logsource".into(),
        (None, _) => "/detection/condition".into(),
    };
    let rule = match item {
        Some(i) if i.modifier_error && reason == "unsupported_modifier" => UNKNOWN_MODIFIER,
        Some(i) if i.modifier_error => MODIFIER_COMBINATION,
        _ => NOT_EXECUTABLE,
    };
    let severity = if rule == NOT_EXECUTABLE {
        Severity::Warning
    } else {
        Severity::Error
    };
    let mut details = json!({
        "reason_code": reason,
        "sigma_rule_id": row.rule_id,
    });
    if let Some(r) = &row.route_id {
        details["route_id"] = json!(r);
    }
    if let Some(i) = item {
        details["selection"] = json!(i.selection);
        if let Some(f) = &i.field {
            details["field"] = json!(f);
        }
        if !i.modifiers.is_empty() {
            details["modifiers"] = json!(i.modifiers);
        }
    }
    let mark = doc.as_ref().and_then(|d| d.locate(&pointer)).or(Some(Mark {
        line: row.line,
        column: 0,
    }));
    let mut f = Finding::new(
        ctx.display(&path),
        pointer,
        rule,
        severity,
        format!(
            "{} ({}): {}",
            row.title,
            reason,
            row.message.as_deref().unwrap_or("")
        ),
    )
    .details(details)
    .at_mark(mark);
    if let Some(h) = hint_for(reason, item) {
        f = f.hint(h);
    }
    f
}

fn load_issue(ctx: &Ctx, issue: &LoadIssueRow, outlines: &Outlines) -> Finding {
    let path = PathBuf::from(&issue.file);
    let syntax = match outlines.get(&path) {
        Some(Err(m)) if m.line > 0 => Some(*m),
        _ => None,
    };
    let yaml = syntax.is_some() || issue.message.starts_with("invalid YAML");
    let mark = syntax.unwrap_or(Mark {
        line: issue.line,
        column: 0,
    });
    Finding::new(
        ctx.display(&path),
        "",
        if yaml { PARSE_ERROR } else { INVALID },
        Severity::Error,
        issue.message.clone(),
    )
    .details(json!({"reason_code": issue.reason_code}))
    .at(mark.line, mark.column)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(root: &Path) -> Ctx {
        Ctx::for_test(root, true)
    }

    const HEAD: &str = "title: T\nid: 00000000-0000-0000-0000-00000000000{N}\nlogsource: {product: windows, category: process_creation}\n";

    fn rule(n: u32, detection: &str) -> String {
        format!(
            "{}detection:\n{detection}",
            HEAD.replace("{N}", &n.to_string())
        )
    }

    #[test]
    fn modifiers_fields_and_yaml11_scalars() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("rules");
        std::fs::create_dir_all(&dir).unwrap();
        let files = [
            (
                "a.yml",
                rule(
                    1,
                    "  sel:\n    Image|endswith: '\\\\x.exe'\n    CommandLine|bogus: x\n  condition: sel\n",
                ),
            ),
            (
                "b.yml",
                rule(
                    2,
                    "  sel:\n    - CommandLine|re|cidr: x\n  condition: sel\n",
                ),
            ),
            (
                "c.yml",
                rule(
                    3,
                    "  sel:\n    NoSuchFieldAnywhere: yes\n  condition: sel\n",
                ),
            ),
            ("d.yml", "title: [\n".to_string()),
            (
                "e.yml",
                rule(
                    5,
                    "  sel:\n    Image|endswith: '\\\\ok.exe'\n  condition: sel\n",
                ),
            ),
        ];
        for (n, t) in &files {
            std::fs::write(dir.join(n), t).unwrap();
        }
        let mut f = lint(&ctx(d.path()), &[dir]).unwrap();
        crate::sort_findings(&mut f);
        let got: Vec<(&str, &str, &str, Severity)> = f
            .iter()
            .map(|f| {
                (
                    f.file.as_str(),
                    f.instance_path.as_str(),
                    f.rule_id.as_str(),
                    f.severity,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "rules/a.yml",
                    "/detection/sel/CommandLine|bogus",
                    UNKNOWN_MODIFIER,
                    Severity::Error
                ),
                (
                    "rules/b.yml",
                    "/detection/sel/0/CommandLine|re|cidr",
                    MODIFIER_COMBINATION,
                    Severity::Error
                ),
                (
                    "rules/c.yml",
                    "/detection/sel/NoSuchFieldAnywhere",
                    NOT_EXECUTABLE,
                    Severity::Warning
                ),
                (
                    "rules/c.yml",
                    "/detection/sel/NoSuchFieldAnywhere",
                    yaml11::RULE,
                    Severity::Warning
                ),
                ("rules/d.yml", "", PARSE_ERROR, Severity::Error),
            ],
            "{f:#?}"
        );
        assert_eq!((f[0].line, f[0].column), (7, 5));
        assert_eq!(f[0].details.as_ref().unwrap()["field"], "CommandLine");
        assert_eq!(
            f[2].details.as_ref().unwrap()["reason_code"],
            "unmapped_field"
        );
        assert!(f[4].line >= 1 && f[4].column >= 1, "{:?}", f[4]);
    }
}
