//! `cargo xtask attack-table`: derive the technique → tactic table the report's ATT&CK matrix
//! uses (`crates/pa-reporting/data/attack_techniques.tsv`) from the reference data in
//! `../shared/data`, so that no tactic assignment is typed in by hand.
//!
//! * Tactics come from the `attack.<tactic>` tags of the SigmaHQ rules (`sigma/rules*`). Only
//!   rules naming exactly one technique count (a parent id is dropped when the rule also names
//!   one of its sub-techniques): such a rule's tactic tags are the tactics of that technique. A
//!   tactic is kept for a technique when at least a third of those rules carry it (one stray tag
//!   on a rule does not add a tactic).
//! * Names come from the `display_name` of the Atomic Red Team technique files
//!   (`atomics/<T>/<T>.yaml`).
//!
//! The report looks a sub-technique up, then its parent; a technique in neither is shown under
//! "tactic unknown". Re-run after updating the reference data; the output is sorted.

use anyhow::{Context, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The tactic short names the table may use, in matrix order (ATT&CK Enterprise; v18 splits
/// defense evasion into stealth and defense impairment, older corpora use defense-evasion).
pub const TACTICS: &[&str] = &[
    "reconnaissance",
    "resource-development",
    "initial-access",
    "execution",
    "persistence",
    "privilege-escalation",
    "defense-evasion",
    "stealth",
    "defense-impairment",
    "credential-access",
    "discovery",
    "lateral-movement",
    "collection",
    "command-and-control",
    "exfiltration",
    "impact",
];

const RULE_DIRS: &[&str] = &[
    "rules",
    "rules-emerging-threats",
    "rules-threat-hunting",
    "rules-dfir",
    "rules-placeholder",
    "rules-compliance",
];

/// Where the table is written, relative to the repository root.
pub const OUTPUT: &str = "crates/pa-reporting/data/attack_techniques.tsv";

fn technique_tag(tag: &str) -> Option<String> {
    let t = tag.strip_prefix('t')?;
    let (base, sub) = match t.split_once('.') {
        Some((b, s)) => (b, Some(s)),
        None => (t, None),
    };
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(base, 4) || !sub.is_none_or(|s| digits(s, 3)) {
        return None;
    }
    Some(format!("T{t}"))
}

/// (tactics, techniques) of one rule file, from its `- attack.<x>` tag lines.
fn rule_tags(text: &str) -> (BTreeSet<&'static str>, BTreeSet<String>) {
    let mut tactics = BTreeSet::new();
    let mut techniques = BTreeSet::new();
    for line in text.lines() {
        let Some(tag) = line.trim().strip_prefix("- attack.") else {
            continue;
        };
        let tag = tag.trim().trim_matches(|c| c == '\'' || c == '"');
        if let Some(t) = TACTICS.iter().find(|t| **t == tag) {
            tactics.insert(*t);
        } else if let Some(t) = technique_tag(tag) {
            techniques.insert(t);
        }
    }
    let subs: Vec<String> = techniques
        .iter()
        .filter(|t| t.contains('.'))
        .cloned()
        .collect();
    techniques.retain(|t| !subs.iter().any(|s| s.starts_with(&format!("{t}."))));
    (tactics, techniques)
}

fn yml_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for e in std::fs::read_dir(dir).with_context(|| format!("{}", dir.display()))? {
        let p = e?.path();
        if p.is_dir() {
            yml_files(&p, out)?;
        } else if p.extension().is_some_and(|x| x == "yml") {
            out.push(p);
        }
    }
    Ok(())
}

/// Unquote a one-line YAML scalar (plain, 'single' or "double" quoted).
fn yaml_scalar(s: &str) -> String {
    let s = s.trim();
    if let Some(inner) = s.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')) {
        inner.replace("''", "'")
    } else if let Some(inner) = s.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        inner.replace("\\\"", "\"").replace("\\\\", "\\")
    } else {
        s.to_string()
    }
}

/// The table rows: technique id → (tactics in matrix order, name).
pub fn derive(data: &Path) -> Result<BTreeMap<String, (Vec<&'static str>, String)>> {
    let mut files = Vec::new();
    for d in RULE_DIRS {
        let p = data.join("sigma").join(d);
        if p.is_dir() {
            yml_files(&p, &mut files)?;
        }
    }
    files.sort();
    let mut rules: BTreeMap<String, usize> = BTreeMap::new();
    let mut counts: BTreeMap<String, BTreeMap<&'static str, usize>> = BTreeMap::new();
    for f in &files {
        let text = String::from_utf8_lossy(&std::fs::read(f)?).into_owned();
        let (tactics, techniques) = rule_tags(&text);
        if techniques.len() != 1 || tactics.is_empty() {
            continue;
        }
        let t = techniques.into_iter().next().unwrap_or_default();
        *rules.entry(t.clone()).or_default() += 1;
        let c = counts.entry(t).or_default();
        for a in tactics {
            *c.entry(a).or_default() += 1;
        }
    }
    let mut table: BTreeMap<String, (Vec<&'static str>, String)> = BTreeMap::new();
    for (t, c) in &counts {
        let n = rules[t];
        let tactics: Vec<&'static str> = TACTICS
            .iter()
            .copied()
            .filter(|a| c.get(a).is_some_and(|k| k * 3 >= n))
            .collect();
        table.insert(t.clone(), (tactics, String::new()));
    }
    let atomics = data.join("atomics");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&atomics)
        .with_context(|| format!("{}", atomics.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for d in dirs {
        let id = d
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let Ok(text) = std::fs::read_to_string(d.join(format!("{id}.yaml"))) else {
            continue;
        };
        if let Some(name) = text
            .lines()
            .find_map(|l| l.strip_prefix("display_name:"))
            .map(yaml_scalar)
        {
            table.entry(id).or_default().1 = name;
        }
    }
    Ok(table)
}

/// Write the table to [`OUTPUT`].
pub fn attack_table(root: &Path) -> Result<()> {
    let data = root.join("../shared/data");
    let commit = |p: &str| {
        std::fs::read_to_string(data.join(p))
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| "unknown".into())
    };
    let table = derive(&data)?;
    let mut out = String::new();
    out.push_str("# ATT&CK technique -> tactics and name, derived by `cargo xtask attack-table` (xtask/src/attack_table.rs).\n");
    out.push_str(&format!(
        "# tactics: attack.<tactic> tags of SigmaHQ rules naming exactly one technique (sigma @ {});\n",
        commit("sigma/SOURCE_COMMIT")
    ));
    out.push_str(&format!(
        "# names: display_name of the Atomic Red Team technique files (atomics @ {}).\n",
        commit("atomics/SOURCE_COMMIT")
    ));
    out.push_str(
        "# technique_id<TAB>tactics (comma-separated, matrix order; empty = unknown)<TAB>name\n",
    );
    let mut with_tactics = 0usize;
    for (id, (tactics, name)) in &table {
        if !tactics.is_empty() {
            with_tactics += 1;
        }
        out.push_str(&format!(
            "{id}\t{}\t{}\n",
            tactics.join(","),
            name.replace('\t', " ")
        ));
    }
    let path = root.join(OUTPUT);
    std::fs::write(&path, out).with_context(|| format!("{}", path.display()))?;
    println!(
        "{}: {} techniques, {with_tactics} with tactics",
        OUTPUT,
        table.len()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_of_a_rule() {
        let (tactics, techniques) = rule_tags(
            "tags:\n    - attack.execution\n    - attack.t1059\n    - attack.t1059.001\n    - attack.s0002\n",
        );
        assert_eq!(tactics.into_iter().collect::<Vec<_>>(), ["execution"]);
        assert_eq!(techniques.into_iter().collect::<Vec<_>>(), ["T1059.001"]);
        assert_eq!(yaml_scalar("'It''s'"), "It's");
        assert_eq!(technique_tag("t1003.001").as_deref(), Some("T1003.001"));
        assert_eq!(technique_tag("t10"), None);
    }
}
