//! ATT&CK facts the report needs: the tactics in matrix order and a technique → tactics and
//! name table (`data/attack_techniques.tsv`, derived from the reference data by
//! `cargo xtask attack-table`; nothing in it is typed in by hand).

use std::collections::BTreeMap;
use std::sync::OnceLock;

/// The embedded table.
const TABLE: &str = include_str!("../data/attack_techniques.tsv");

/// The tactic column of a technique the table does not know.
pub const UNKNOWN_TACTIC: &str = "unknown";

/// ATT&CK Enterprise tactics (short name, display name) in matrix order. v18 splits defense
/// evasion into stealth and defense impairment; older rule sets still say defense-evasion.
pub const TACTICS: &[(&str, &str)] = &[
    ("reconnaissance", "Reconnaissance"),
    ("resource-development", "Resource Development"),
    ("initial-access", "Initial Access"),
    ("execution", "Execution"),
    ("persistence", "Persistence"),
    ("privilege-escalation", "Privilege Escalation"),
    ("defense-evasion", "Defense Evasion"),
    ("stealth", "Stealth"),
    ("defense-impairment", "Defense Impairment"),
    ("credential-access", "Credential Access"),
    ("discovery", "Discovery"),
    ("lateral-movement", "Lateral Movement"),
    ("collection", "Collection"),
    ("command-and-control", "Command and Control"),
    ("exfiltration", "Exfiltration"),
    ("impact", "Impact"),
    (UNKNOWN_TACTIC, "Tactic unknown"),
];

/// What the table says about one technique.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TechniqueInfo {
    /// Tactic short names in matrix order; [`UNKNOWN_TACTIC`] alone when unknown.
    pub tactics: Vec<&'static str>,
    /// The technique's name ("" when unknown); a sub-technique without its own entry has its
    /// parent's.
    pub name: String,
}

fn table() -> &'static BTreeMap<&'static str, (Vec<&'static str>, &'static str)> {
    static T: OnceLock<BTreeMap<&'static str, (Vec<&'static str>, &'static str)>> = OnceLock::new();
    T.get_or_init(|| {
        let mut m = BTreeMap::new();
        for line in TABLE.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let mut cols = line.split('\t');
            let (Some(id), tactics, name) = (cols.next(), cols.next(), cols.next()) else {
                continue;
            };
            let tactics: Vec<&'static str> = tactics
                .unwrap_or("")
                .split(',')
                .filter_map(|t| TACTICS.iter().find(|(s, _)| *s == t).map(|(s, _)| *s))
                .collect();
            m.insert(id, (tactics, name.unwrap_or("")));
        }
        m
    })
}

/// The tactics and name of a technique: its own entry, else its parent's (sub-techniques share
/// their parent's tactics), else unknown.
pub fn technique(id: &str) -> TechniqueInfo {
    let t = table();
    let own = t.get(id);
    let parent = id.split_once('.').and_then(|(p, _)| t.get(p));
    let tactics = [own, parent]
        .into_iter()
        .flatten()
        .find(|(tac, _)| !tac.is_empty())
        .map(|(tac, _)| tac.clone())
        .unwrap_or_else(|| vec![UNKNOWN_TACTIC]);
    let name = [own, parent]
        .into_iter()
        .flatten()
        .find(|(_, n)| !n.is_empty())
        .map(|(_, n)| n.to_string())
        .unwrap_or_default();
    TechniqueInfo { tactics, name }
}

/// The display name of a tactic short name.
pub fn tactic_name(short: &str) -> &'static str {
    TACTICS
        .iter()
        .find(|(s, _)| *s == short)
        .map(|(_, n)| *n)
        .unwrap_or("Tactic unknown")
}

/// The matrix position of a tactic.
pub fn tactic_ordinal(short: &str) -> usize {
    TACTICS
        .iter()
        .position(|(s, _)| *s == short)
        .unwrap_or(TACTICS.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_well_formed_and_sorted() {
        let mut last = "";
        for line in TABLE.lines().filter(|l| !l.starts_with('#')) {
            let cols: Vec<&str> = line.split('\t').collect();
            assert_eq!(cols.len(), 3, "{line:?}");
            assert!(cols[0] > last, "{line:?} not sorted");
            last = cols[0];
            for t in cols[1].split(',').filter(|t| !t.is_empty()) {
                assert!(TACTICS.iter().any(|(s, _)| *s == t), "{line:?}: tactic {t}");
            }
        }
        assert!(table().len() > 300);
    }

    #[test]
    fn lookups_fall_back_to_the_parent() {
        let t = technique("T1053.005");
        assert_eq!(
            t.tactics,
            ["execution", "persistence", "privilege-escalation"]
        );
        assert_eq!(t.name, "Scheduled Task/Job: Scheduled Task");
        let sub = technique("T1070.001");
        assert_eq!(sub.tactics, ["stealth"]);
        assert_eq!(sub.name, "Indicator Removal on Host");
        assert_eq!(technique("T9999").tactics, [UNKNOWN_TACTIC]);
        assert!(tactic_ordinal("execution") < tactic_ordinal("impact"));
    }
}
