//! Selecting the criteria entry of an action (SPEC §7).

use crate::model::{Entry, Pack};

/// What selection knows about an action: its join keys and its selector context (from the
/// ground truth's `resolved_target` and the Atomic executor).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActionContext {
    /// `atomic` or `recorded`.
    pub engine: String,
    pub technique_id: String,
    pub engine_test_id: String,
    /// The target's OS, when known.
    pub os: Option<String>,
    /// The target's roles (a ground truth target has one).
    pub roles: Vec<String>,
    /// The Atomic executor (`sh`, `bash`, ...), when known.
    pub executor: Option<String>,
}

impl ActionContext {
    fn satisfies(&self, e: &Entry) -> bool {
        let Some(s) = &e.selectors else {
            return true;
        };
        let eq = |want: &Option<String>, have: &Option<String>| match (want, have) {
            (None, _) => true,
            (Some(w), Some(h)) => *w == h.to_lowercase(),
            // A selector the context cannot answer is not satisfied.
            (Some(_), None) => false,
        };
        let roles_ok = s.roles.as_ref().is_none_or(|want| {
            let have: Vec<String> = self.roles.iter().map(|r| r.to_lowercase()).collect();
            want.iter().all(|r| have.contains(r))
        });
        eq(&s.os, &self.os) && eq(&s.executor, &self.executor) && roles_ok
    }
}

/// The entry of an action, or `None` (`criteria_unavailable`): among the entries of every
/// pack whose join keys (`engine`, `technique_id`, `engine_test_id`) equal the action's, those
/// whose selectors the action satisfies (lowercase comparison; every listed role must be the
/// target's; a selector the context cannot answer excludes the entry); then the one with the
/// most selector keys; then the smallest `entry_id` (bytewise); then the first pack given.
pub fn select<'p>(packs: &'p [Pack], action: &ActionContext) -> Option<(&'p Pack, &'p Entry)> {
    let mut best: Option<(&Pack, &Entry)> = None;
    for p in packs {
        for e in &p.entries {
            let keys = e.engine.as_str() == action.engine
                && e.technique_id == action.technique_id
                && e.engine_test_id == action.engine_test_id;
            if !keys || !action.satisfies(e) {
                continue;
            }
            let better = match best {
                None => true,
                Some((_, b)) => {
                    let spec = |x: &Entry| x.selectors.as_ref().map_or(0, |s| s.count());
                    (spec(e), std::cmp::Reverse(e.entry_id.as_bytes()))
                        > (spec(b), std::cmp::Reverse(b.entry_id.as_bytes()))
                }
            };
            if better {
                best = Some((p, e));
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_pack;
    use std::path::Path;

    fn entry(id: &str, selectors: &str) -> String {
        format!(
            "  - entry_id: {id}\n    engine: atomic\n    technique_id: T1082\n    engine_test_id: g1\n{selectors}    expected_signals:\n      - signal_id: s\n        predicate: {{class_uid: 1007}}\n"
        )
    }

    fn pack(id: &str, entries: &[String]) -> Pack {
        let text = format!(
            "pack_id: {id}\npack_version: 1.0.0\nentries:\n{}",
            entries.concat()
        );
        parse_pack(Path::new("p.yaml"), text.as_bytes()).unwrap()
    }

    fn ctx() -> ActionContext {
        ActionContext {
            engine: "atomic".into(),
            technique_id: "T1082".into(),
            engine_test_id: "g1".into(),
            os: Some("Linux".into()),
            roles: vec!["Workstation".into()],
            executor: Some("sh".into()),
        }
    }

    fn picked(packs: &[Pack], c: &ActionContext) -> Option<String> {
        select(packs, c).map(|(p, e)| format!("{}/{}", p.pack_id, e.entry_id))
    }

    #[test]
    fn join_keys_must_all_match() {
        let packs = [pack("p", &[entry("e1", "")])];
        assert_eq!(picked(&packs, &ctx()).as_deref(), Some("p/e1"));
        for change in [
            |c: &mut ActionContext| c.engine = "recorded".into(),
            |c: &mut ActionContext| c.technique_id = "T1083".into(),
            |c: &mut ActionContext| c.engine_test_id = "G1".into(),
        ] {
            let mut c = ctx();
            change(&mut c);
            assert_eq!(picked(&packs, &c), None);
        }
    }

    #[test]
    fn selectors_filter_then_most_selectors_wins() {
        let packs = [pack(
            "p",
            &[
                entry("a-any", ""),
                entry("b-os", "    selectors: {os: linux}\n"),
                entry(
                    "c-os-role",
                    "    selectors: {os: linux, roles: [workstation]}\n",
                ),
                entry(
                    "d-windows",
                    "    selectors: {os: windows, roles: [workstation], executor: sh}\n",
                ),
                entry(
                    "e-two-roles",
                    "    selectors: {os: linux, roles: [workstation, server], executor: sh}\n",
                ),
            ],
        )];
        // d is excluded (os), e is excluded (roles ⊆ target roles fails): c has the most.
        assert_eq!(picked(&packs, &ctx()).as_deref(), Some("p/c-os-role"));
        let mut c = ctx();
        c.roles = vec!["server".into(), "workstation".into()];
        assert_eq!(picked(&packs, &c).as_deref(), Some("p/e-two-roles"));
        // A selector the context cannot answer excludes the entry.
        let mut c = ctx();
        c.roles.clear();
        c.os = None;
        assert_eq!(picked(&packs, &c).as_deref(), Some("p/a-any"));
        // executor compares lowercase.
        let packs = [pack(
            "p",
            &[entry("x", "    selectors: {executor: Bash}\n")],
        )];
        let mut c = ctx();
        c.executor = Some("BASH".into());
        assert_eq!(picked(&packs, &c).as_deref(), Some("p/x"));
        c.executor = None;
        assert_eq!(picked(&packs, &c), None);
    }

    #[test]
    fn ties_go_to_the_smallest_entry_id_bytewise_then_the_first_pack() {
        let sel = "    selectors: {os: linux}\n";
        let packs = [pack(
            "p",
            &[entry("b", sel), entry("a", sel), entry("B", sel)],
        )];
        assert_eq!(
            picked(&packs, &ctx()).as_deref(),
            Some("p/B"),
            "uppercase sorts first"
        );
        let packs = [
            pack("second", &[entry("same", sel)]),
            pack("first", &[entry("same", sel)]),
        ];
        assert_eq!(picked(&packs, &ctx()).as_deref(), Some("second/same"));
    }
}
