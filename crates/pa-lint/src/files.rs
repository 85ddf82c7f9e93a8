//! Checks shared by every YAML target (read, decode with positions, no anchors) and the
//! targets whose checks are their loader's: range configs (`pa-config`), criteria packs
//! (`pa-criteria`), mapping profiles (`pa-ocsf`, `pa-bridge`).

use std::path::Path;

use pa_yaml::outline::{Document, Mark};
use pa_yaml::{FileError, FileErrorKind};
use serde_json::json;

use crate::{Ctx, Finding, Severity};

/// YAML that does not decode (syntax, types, unknown or duplicate keys, anchors).
pub const PARSE_ERROR: &str = "lint-core-parse-error";
/// A file that cannot be read.
pub const READ_ERROR: &str = "lint-core-read-error";
/// The message of a file refused for anchors or aliases (the reference fixtures').
pub const ANCHORS_MESSAGE: &str = "YAML decode failed (anchors/aliases are not permitted)";

/// A file's text and outline, or the findings that stop its checks.
pub(crate) struct Parsed {
    pub text: String,
    pub docs: Vec<Document>,
}

impl Parsed {
    /// The first document (an empty one for an empty file).
    pub fn doc(&self) -> Document {
        self.docs.first().cloned().unwrap_or_default()
    }
}

/// Read and outline `path`: an unreadable file, a syntax error, or (when `no_anchors`) an
/// anchor or alias is a finding instead (`pa.yaml_decode.v1` refuses anchors).
pub(crate) fn parse(ctx: &Ctx, path: &Path, no_anchors: bool) -> Result<Parsed, Box<Finding>> {
    let file = ctx.display(path);
    let text = std::fs::read_to_string(path).map_err(|e| {
        Box::new(Finding::new(
            &file,
            "",
            READ_ERROR,
            Severity::Error,
            format!("cannot read: {e}"),
        ))
    })?;
    let docs =
        pa_yaml::outline(path, &text).map_err(|e| Box::new(file_error(ctx, &e, None, "")))?;
    if no_anchors {
        if let Some(d) = docs.iter().find(|d| d.has_anchors()) {
            return Err(Box::new(
                Finding::new(&file, "", PARSE_ERROR, Severity::Error, ANCHORS_MESSAGE)
                    .at_mark(d.first_anchor())
                    .hint("repeat the value instead of using an anchor (&name) or alias (*name)"),
            ));
        }
    }
    Ok(Parsed { text, docs })
}

/// A loader's error as a finding: decode errors are `lint-core-parse-error`, rule violations
/// `invalid_rule`, unreadable files `lint-core-read-error`. The instance path is the node written
/// at the error's position when the outline `doc` has one.
pub(crate) fn file_error(
    ctx: &Ctx,
    e: &FileError,
    doc: Option<&Document>,
    invalid_rule: &str,
) -> Finding {
    let file = ctx.display(&e.path);
    let mark = Mark {
        line: e.line,
        column: e.column,
    };
    let pointer = doc
        .filter(|_| e.line > 0 && e.column > 0)
        .and_then(|d| d.pointer_at(mark))
        .unwrap_or("")
        .to_string();
    let f = match e.kind {
        FileErrorKind::Io => Finding::new(
            file,
            "",
            READ_ERROR,
            Severity::Error,
            format!("cannot read: {}", e.message),
        ),
        FileErrorKind::Decode => Finding::new(
            file,
            pointer,
            PARSE_ERROR,
            Severity::Error,
            format!("YAML decode failed: {}", e.message),
        ),
        FileErrorKind::Invalid => Finding::new(
            file,
            pointer,
            invalid_rule,
            Severity::Error,
            e.message.clone(),
        ),
    };
    f.at(e.line, e.column)
}

/// A file that does not parse and whose kind cannot be told: its parse error.
pub(crate) fn unclassified(ctx: &Ctx, path: &Path) -> Vec<Finding> {
    match parse(ctx, path, false) {
        Err(f) => vec![*f],
        Ok(_) => Vec::new(),
    }
}

/// A redaction policy that decodes but cannot be used (a pattern that does not compile, an
/// unsupported JSONPath, another format).
pub const REDACTION_POLICY_INVALID: &str = "lint-redaction-policy-invalid";

/// `redaction-policy`: `pa-redact`'s decode (JSON, unknown keys refused) and compilation, the
/// check the runner makes before anything runs.
pub(crate) fn redaction_policy(ctx: &Ctx, path: &Path) -> Vec<Finding> {
    let p = match parse(ctx, path, true) {
        Ok(p) => p,
        Err(f) => return vec![*f],
    };
    let file = ctx.display(path);
    let policy: pa_redact::Policy = match serde_json::from_str(&p.text) {
        Ok(x) => x,
        Err(e) => {
            return vec![
                Finding::new(
                    &file,
                    "",
                    PARSE_ERROR,
                    Severity::Error,
                    format!("not a pa.redaction_policy.v1 JSON document: {e}"),
                )
                .at(e.line() as u64, e.column() as u64),
            ];
        }
    };
    match pa_redact::Redactor::new(policy, Vec::new()) {
        Ok(_) => Vec::new(),
        Err(e) => {
            let doc = p.doc();
            let mut f = Finding::new(
                &file,
                e.instance_path.clone(),
                REDACTION_POLICY_INVALID,
                Severity::Error,
                e.message.clone(),
            )
            .at_mark(doc.locate(&e.instance_path));
            if let Some(jp) = &e.jsonpath {
                f = f.details(json!({"error_code": jp.error_code, "byte_offset": jp.byte_offset}));
            }
            vec![f]
        }
    }
}

/// `range-config`: `pa-config`'s decode and checks.
pub(crate) fn range_config(ctx: &Ctx, path: &Path) -> Vec<Finding> {
    let p = match parse(ctx, path, true) {
        Ok(p) => p,
        Err(f) => return vec![*f],
    };
    match pa_config::RangeConfig::parse(&p.text, path) {
        Ok(_) => Vec::new(),
        Err(e) => vec![file_error(
            ctx,
            &e,
            Some(&p.doc()),
            "lint-range-config-invalid",
        )],
    }
}

/// `criteria-pack`: `pa-criteria`'s decode and checks.
pub(crate) fn criteria_pack(ctx: &Ctx, path: &Path) -> Vec<Finding> {
    let p = match parse(ctx, path, true) {
        Ok(p) => p,
        Err(f) => return vec![*f],
    };
    match pa_criteria::parse_pack(path, p.text.as_bytes()) {
        Ok(_) => Vec::new(),
        Err(pa_criteria::CriteriaError::Pack(e)) => {
            vec![file_error(
                ctx,
                &e,
                Some(&p.doc()),
                "lint-criteria-pack-invalid",
            )]
        }
        Err(e) => vec![Finding::new(
            ctx.display(path),
            "",
            "lint-criteria-pack-invalid",
            Severity::Error,
            e.to_string(),
        )],
    }
}

/// `mapping-profile`: every YAML file of the tree decodes without anchors, then the tree loads
/// as the pipeline loads it (`pa_ocsf::Normalizer::load` for a normalizer profile tree,
/// `pa_bridge::Bridge::load` for the bridge pack); a loader stops at its first error.
pub(crate) fn mapping_profile(ctx: &Ctx, path: &Path) -> Vec<Finding> {
    let dir = if path.is_dir() {
        path.to_path_buf()
    } else {
        path.parent().unwrap_or(Path::new(".")).to_path_buf()
    };
    let mut files = Vec::new();
    collect_yaml(&dir, &mut files);
    let mut findings = Vec::new();
    for f in &files {
        if let Err(x) = parse(ctx, f, true) {
            findings.push(*x);
        }
    }
    if !findings.is_empty() {
        return findings;
    }
    let pack = dir.join("pack.yaml");
    let keys = parse(ctx, &pack, true)
        .map(|p| {
            p.doc()
                .top_level_keys()
                .iter()
                .map(|k| k.to_string())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let loaded = if keys.iter().any(|k| k == "mapping_pack_id") {
        pa_bridge::Bridge::load(&dir).map(|_| ())
    } else if keys.iter().any(|k| k == "mapping_profile_id") {
        pa_ocsf::Normalizer::load(&dir).map(|_| ())
    } else {
        return vec![
            Finding::new(
                ctx.display(&pack),
                "",
                "lint-mapping-profile-invalid",
                Severity::Error,
                "not a mapping profile tree: pack.yaml names neither mapping_profile_id (normalizer profiles) nor mapping_pack_id (Sigma → OCSF bridge)",
            )
            .hint("lint the folder that holds pack.yaml"),
        ];
    };
    match loaded {
        Ok(()) => Vec::new(),
        Err(e) => {
            let doc = std::fs::read_to_string(&e.path)
                .ok()
                .and_then(|t| pa_yaml::outline(&e.path, &t).ok())
                .and_then(|d| d.into_iter().next());
            let mut f = file_error(ctx, &e, doc.as_ref(), "lint-mapping-profile-invalid");
            if f.details.is_none() {
                f = f.details(json!({"tree": ctx.display(&dir)}));
            }
            vec![f]
        }
    }
}

/// Every `.yml`/`.yaml` file under `dir`, in path order.
pub(crate) fn collect_yaml(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = rd.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect_yaml(&p, out);
        } else if p
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e == "yml" || e == "yaml")
        {
            out.push(p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn ctx(root: &Path) -> Ctx {
        Ctx::for_test(root, false)
    }

    #[test]
    fn range_configs_report_decode_and_semantic_errors_with_positions() {
        let d = tempfile::tempdir().unwrap();
        let c = ctx(d.path());
        let p = d.path().join("range.yaml");
        std::fs::write(&p, "lab:\n  provider: replay\n  bogus: 1\n").unwrap();
        let f = range_config(&c, &p);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].rule_id, PARSE_ERROR);
        assert_eq!(f[0].file, "range.yaml");
        assert_eq!(f[0].line, 3, "{f:?}");
        assert_eq!(f[0].instance_path, "/lab/bogus", "{f:?}");
        assert!(f[0].message.contains("bogus"), "{f:?}");
        std::fs::write(&p, "lab:\n  provider: replay\n").unwrap();
        let f = range_config(&c, &p);
        assert_eq!(f[0].rule_id, "lint-range-config-invalid", "{f:?}");
        assert!(f[0].message.contains("replay"), "{f:?}");
        std::fs::write(&p, "lab: &a\n  provider: replay\nx: *a\n").unwrap();
        let f = range_config(&c, &p);
        assert_eq!(f[0].message, ANCHORS_MESSAGE);
        assert_eq!((f[0].line, f[0].column), (1, 6));
    }

    #[test]
    fn shipped_mapping_trees_and_criteria_packs_are_clean() {
        let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
        let c = ctx(&repo);
        let tree = repo.join("mappings/normalizer/ocsf/1.7.0");
        assert_eq!(mapping_profile(&c, &tree), vec![]);
        assert_eq!(mapping_profile(&c, &repo.join("mappings/bridge")), vec![]);
        for p in ["linux-atomics.yaml", "replay-evtx.yaml"] {
            assert_eq!(
                criteria_pack(&c, &repo.join("mappings/criteria").join(p)),
                vec![]
            );
        }
    }

    #[test]
    fn a_broken_mapping_tree_names_the_file() {
        let d = tempfile::tempdir().unwrap();
        let c = ctx(d.path());
        let tree = d.path().join("tree");
        std::fs::create_dir_all(tree.join("src")).unwrap();
        std::fs::write(
            tree.join("pack.yaml"),
            "mapping_profile_id: x\nmapping_profile_version: 0.1.0\nocsf_version: \"1.7.0\"\n",
        )
        .unwrap();
        let f = mapping_profile(&c, &tree);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].rule_id, "lint-mapping-profile-invalid");
        assert_eq!(f[0].file, "tree/src");
    }

    #[test]
    fn redaction_policies_are_decoded_and_compiled() {
        let d = tempfile::tempdir().unwrap();
        let c = ctx(d.path());
        let write = |name: &str, text: &str| {
            let p = d.path().join(name);
            std::fs::write(&p, text).unwrap();
            p
        };
        let ok = write(
            "ok.json",
            r#"{"policy_format":"pa.redaction_policy.v1","policy_id":"p","policy_version":"1.0.0"}"#,
        );
        assert!(redaction_policy(&c, &ok).is_empty());
        let bad = write(
            "bad.json",
            "{\"policy_format\":\"pa.redaction_policy.v1\",\"policy_id\":\"p\",\"policy_version\":\"1\",\n \"structured\":{\"target_paths\":[\"$..a\"]}}",
        );
        let f = redaction_policy(&c, &bad);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].rule_id, REDACTION_POLICY_INVALID);
        assert_eq!(f[0].instance_path, "/structured/target_paths/0");
        assert_eq!(f[0].line, 2, "{f:?}");
        let unknown = write(
            "unknown.json",
            r#"{"policy_format":"pa.redaction_policy.v1","policy_id":"p","policy_version":"1","extra":1}"#,
        );
        assert_eq!(redaction_policy(&c, &unknown)[0].rule_id, PARSE_ERROR);
        let regex = write(
            "regex.json",
            r#"{"policy_format":"pa.redaction_policy.v1","policy_id":"p","policy_version":"1","regex_redactions":[{"rule_id":"x","pattern":"(","replacement":"y"}]}"#,
        );
        assert_eq!(
            redaction_policy(&c, &regex)[0].instance_path,
            "/regex_redactions/0/pattern"
        );
    }
}
