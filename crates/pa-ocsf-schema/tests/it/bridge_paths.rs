//! The OCSF paths the Sigma bridge's alias sets route fields to (`mappings/bridge/aliases/*.yaml`
//! in this repository; pa-bridge checks them with its own narrower reader) all exist for this
//! checker too: class-specific ones (`by_class: {201002: reg_value.path}`) in their class, the
//! others in at least one class. This is the evidence that `has_path` can stand in for
//! pa-bridge's `OcsfSchema::check_path`.
//!
//! The YAML is scanned line by line (no YAML parser in this crate): inside a top-level
//! `fields:` block, every `key: value` line whose value is a dotted lower-case identifier
//! path is an OCSF path; a numeric key is a class uid.

use std::path::PathBuf;

use pa_ocsf_schema::reference;

fn is_path(v: &str) -> bool {
    !v.is_empty()
        && v.split('.').all(|s| {
            !s.is_empty()
                && s.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
                && s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        })
}

#[test]
fn every_bridge_alias_path_exists() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../mappings/bridge/aliases");
    let rd = std::fs::read_dir(&dir).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (the bridge alias sets of this repository)",
            dir.display()
        )
    });
    let mut files: Vec<PathBuf> = rd
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    let s = reference();
    let mut checked = 0usize;
    let mut problems = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let mut in_fields = false;
        for (n, line) in text.lines().enumerate() {
            if !line.starts_with(' ') && !line.trim().is_empty() {
                in_fields = line.trim_end() == "fields:";
                continue;
            }
            if !in_fields {
                continue;
            }
            let Some((key, value)) = line.trim().split_once(": ") else {
                continue;
            };
            let value = value.trim();
            // Keys are Sigma field names (no spaces); a line of a folded `note: >-` block
            // that happens to contain ": " is prose, not an alias.
            if key == "note" || key.contains(' ') || !is_path(value) {
                continue;
            }
            checked += 1;
            let ok = match key.parse::<u32>() {
                Ok(class) => s.has_path(class, value),
                Err(_) => s.classes().any(|c| s.has_path(c.uid, value)),
            };
            if !ok {
                problems.push(format!("{}:{}: {key}: {value}", f.display(), n + 1));
            }
            // and the checker is not permissive: a bogus child exists only below free-form
            // attributes (unmapped, json_t)
            let bogus = format!("{value}.zz_bogus");
            for c in s.classes() {
                if s.has_path(c.uid, &bogus) {
                    let free = s.attribute(c.uid, value).is_none_or(|a| a.is_free_form());
                    if !free {
                        problems.push(format!("{}: {bogus} accepted in {}", f.display(), c.uid));
                    }
                }
            }
        }
    }
    assert!(files.len() >= 20, "only {} alias files", files.len());
    // Fewer than the alias count: fields whose OCSF home transforms the value read unmapped.*.
    assert!(checked >= 100, "only {checked} paths found");
    assert!(
        problems.is_empty(),
        "paths not in OCSF 1.7.0:\n{}",
        problems.join("\n")
    );
    eprintln!("{checked} bridge alias paths exist in OCSF 1.7.0");
}
