//! Evaluating selected entries over a stream of events (SPEC §7): each action's signals count
//! the events of their class inside `[t0 − before, t0 + after]` that satisfy every constraint.

use crate::model::Entry;
use crate::predicate::Event;
use crate::{CriteriaError, MAX_SAMPLE_EVENT_IDS};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Window sides used when neither the signal nor the entry gives one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Defaults {
    /// Seconds before the action's time (default 5).
    pub before_seconds: u64,
    /// Seconds after the action's time (default 120).
    pub after_seconds: u64,
}

impl Default for Defaults {
    fn default() -> Self {
        Defaults {
            before_seconds: 5,
            after_seconds: 120,
        }
    }
}

/// The window an action was evaluated over: `[start_ms, end_ms]`, both inclusive. `after` is
/// the widest after side of its signals (a signal's `within_seconds` may narrow its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start_ms: i64,
    pub end_ms: i64,
    pub before_seconds: u64,
    pub after_seconds: u64,
}

/// The verdict of one expected signal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignalResult {
    pub signal_id: String,
    pub class_uid: i64,
    /// Events that matched.
    pub count: u64,
    pub min_count: u64,
    pub max_count: Option<u64>,
    /// `min_count <= count <= max_count`.
    pub pass: bool,
    /// Up to [`MAX_SAMPLE_EVENT_IDS`] `metadata.uid`s of matched events, sorted bytewise.
    pub sample_event_ids: Vec<String>,
}

/// The verdict of one action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionVerdict {
    /// Every signal passed.
    pub pass: bool,
    /// In the entry's `signal_id` order.
    pub signals: Vec<SignalResult>,
    pub window: Window,
}

struct SignalState {
    lo: i64,
    hi: i64,
    count: u64,
    ids: BTreeSet<String>,
}

struct ActionState<'p> {
    entry: &'p Entry,
    window: Window,
    signals: Vec<SignalState>,
}

/// Evaluates any number of (entry, action time) pairs in one pass over the events.
pub struct Evaluator<'p> {
    defaults: Defaults,
    actions: Vec<ActionState<'p>>,
    /// class_uid → (action, signal) indices.
    by_class: BTreeMap<i64, Vec<(usize, usize)>>,
}

/// The calendar range timestamps are formatted in (years 1 to 9999).
const MIN_MS: i64 = -62_135_596_800_000;
const MAX_MS: i64 = 253_402_300_799_999;

fn offset(action_id: &str, t0: i64, seconds: u64, sign: i64) -> Result<i64, CriteriaError> {
    i64::try_from(seconds)
        .ok()
        .and_then(|s| s.checked_mul(1000))
        .and_then(|d| t0.checked_add(sign * d))
        .filter(|t| (MIN_MS..=MAX_MS).contains(t))
        .ok_or_else(|| CriteriaError::TimeWindow {
            action_id: action_id.to_owned(),
            message: format!(
                "the window {}{seconds} s around {t0} ms is outside the calendar",
                if sign < 0 { "-" } else { "+" }
            ),
        })
}

impl<'p> Evaluator<'p> {
    /// An evaluator with the configured default window sides.
    pub fn new(defaults: Defaults) -> Self {
        Evaluator {
            defaults,
            actions: Vec::new(),
            by_class: BTreeMap::new(),
        }
    }

    /// Add an action (`t0_ms`: its time) evaluated with `entry`; returns its index in
    /// [`Evaluator::finish`]'s result. Before = the entry's `before_seconds` ?? the default;
    /// after (per signal) = `within_seconds` ?? the entry's `after_seconds` ?? the default.
    pub fn add(
        &mut self,
        action_id: &str,
        entry: &'p Entry,
        t0_ms: i64,
    ) -> Result<usize, CriteriaError> {
        let tw = entry.time_window.unwrap_or_default();
        let before = tw.before_seconds.unwrap_or(self.defaults.before_seconds);
        let entry_after = tw.after_seconds.unwrap_or(self.defaults.after_seconds);
        let lo = offset(action_id, t0_ms, before, -1)?;
        let idx = self.actions.len();
        let mut signals = Vec::new();
        let mut widest = 0;
        for (si, s) in entry.expected_signals.iter().enumerate() {
            let after = s.within_seconds.unwrap_or(entry_after);
            widest = widest.max(after);
            signals.push(SignalState {
                lo,
                hi: offset(action_id, t0_ms, after, 1)?,
                count: 0,
                ids: BTreeSet::new(),
            });
            self.by_class
                .entry(s.predicate.class_uid)
                .or_default()
                .push((idx, si));
        }
        self.actions.push(ActionState {
            entry,
            window: Window {
                start_ms: lo,
                end_ms: offset(action_id, t0_ms, widest, 1)?,
                before_seconds: before,
                after_seconds: widest,
            },
            signals,
        });
        Ok(idx)
    }

    /// The window of action `idx`.
    pub fn window(&self, idx: usize) -> Option<Window> {
        self.actions.get(idx).map(|a| a.window)
    }

    /// Whether an event of this class and time could count for any signal (a cheap filter
    /// before the caller builds the event).
    pub fn wants(&self, class_uid: i64, time_ms: i64) -> bool {
        self.by_class.get(&class_uid).is_some_and(|v| {
            v.iter().any(|&(a, s)| {
                let st = &self.actions[a].signals[s];
                (st.lo..=st.hi).contains(&time_ms)
            })
        })
    }

    /// Count one event for every signal it satisfies.
    pub fn observe<E: Event + ?Sized>(&mut self, ev: &E) {
        let (Some(class), Some(time)) = (ev.class_uid(), ev.time_ms()) else {
            return;
        };
        let Some(targets) = self.by_class.get(&class) else {
            return;
        };
        for &(a, s) in targets {
            let action = &mut self.actions[a];
            let st = &mut action.signals[s];
            if !(st.lo..=st.hi).contains(&time) {
                continue;
            }
            let sig = &action.entry.expected_signals[s];
            if !sig
                .predicate
                .constraints
                .iter()
                .all(|c| c.matches(ev.field(&c.path)))
            {
                continue;
            }
            st.count += 1;
            if let Some(uid) = ev.event_uid() {
                let keep = st.ids.len() < MAX_SAMPLE_EVENT_IDS
                    || st.ids.last().is_some_and(|l| uid.as_bytes() < l.as_bytes());
                if keep && st.ids.insert(uid.to_owned()) && st.ids.len() > MAX_SAMPLE_EVENT_IDS {
                    st.ids.pop_last();
                }
            }
        }
    }

    /// The verdicts, in the order actions were added.
    pub fn finish(self) -> Vec<ActionVerdict> {
        self.actions
            .into_iter()
            .map(|a| {
                let signals: Vec<SignalResult> = a
                    .entry
                    .expected_signals
                    .iter()
                    .zip(a.signals)
                    .map(|(sig, st)| SignalResult {
                        signal_id: sig.signal_id.clone(),
                        class_uid: sig.predicate.class_uid,
                        count: st.count,
                        min_count: sig.min_count,
                        max_count: sig.max_count,
                        pass: st.count >= sig.min_count
                            && sig.max_count.is_none_or(|m| st.count <= m),
                        sample_event_ids: st.ids.into_iter().collect(),
                    })
                    .collect();
                ActionVerdict {
                    pass: signals.iter().all(|s| s.pass),
                    signals,
                    window: a.window,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Pack, parse_pack};
    use serde_json::{Value, json};
    use std::path::Path;

    const PACK: &str = "\
pack_id: p
pack_version: 1.0.0
entries:
  - entry_id: e
    engine: atomic
    technique_id: T1082
    engine_test_id: g
    expected_signals:
      - signal_id: exec
        predicate:
          class_uid: 1007
          constraints:
            - {field: process.cmd_line, op: contains, value: uname}
      - signal_id: file
        predicate: {class_uid: 1001, constraints: [{field: file.path, op: equals, value: /tmp/x}]}
        min_count: 2
        max_count: 3
        within_seconds: 10
  - entry_id: windowed
    engine: atomic
    technique_id: T1082
    engine_test_id: w
    time_window: {before_seconds: 0, after_seconds: 1}
    expected_signals:
      - signal_id: exec
        predicate: {class_uid: 1007}
  - entry_id: never
    engine: atomic
    technique_id: T1082
    engine_test_id: n
    expected_signals:
      - signal_id: no-rm
        predicate: {class_uid: 1007, constraints: [{field: process.name, op: equals, value: rm}]}
        min_count: 0
        max_count: 0
";

    fn pack() -> Pack {
        parse_pack(Path::new("p.yaml"), PACK.as_bytes()).unwrap()
    }

    fn exec(uid: &str, t: i64, cmd: &str) -> Value {
        json!({"class_uid": 1007, "time": t, "metadata": {"uid": uid},
               "process": {"cmd_line": cmd, "name": cmd.split(' ').next().unwrap()}})
    }

    fn file(uid: &str, t: i64, path: &str) -> Value {
        json!({"class_uid": 1001, "time": t, "metadata": {"uid": uid}, "file": {"path": path}})
    }

    const T0: i64 = 1_000_000;

    #[test]
    fn windows_are_inclusive_and_per_signal() {
        let p = pack();
        let mut ev = Evaluator::new(Defaults::default());
        ev.add("a1", &p.entries[0], T0).unwrap();
        let w = ev.window(0).unwrap();
        assert_eq!((w.before_seconds, w.after_seconds), (5, 120));
        assert_eq!((w.start_ms, w.end_ms), (T0 - 5_000, T0 + 120_000));
        assert!(ev.wants(1007, T0 - 5_000) && ev.wants(1007, T0 + 120_000));
        assert!(!ev.wants(1007, T0 - 5_001) && !ev.wants(1007, T0 + 120_001));
        assert!(ev.wants(1001, T0 + 10_000) && !ev.wants(1001, T0 + 10_001));
        assert!(!ev.wants(4001, T0));
        for e in [
            exec("x1", T0 - 5_000, "uname -a"),
            exec("x2", T0 + 120_000, "uname -r"),
            exec("x0", T0 - 5_001, "uname -a"),
            exec("x3", T0 + 120_001, "uname -a"),
            exec("x4", T0, "id"),
            file("f1", T0 + 10_000, "/tmp/x"),
            file("f2", T0 + 10_001, "/tmp/x"),
        ] {
            ev.observe(&e);
        }
        let v = ev.finish();
        assert_eq!(v[0].signals[0].count, 2);
        assert_eq!(v[0].signals[0].sample_event_ids, ["x1", "x2"]);
        assert_eq!(
            v[0].signals[1].count, 1,
            "within_seconds narrows the file signal"
        );
        assert!(!v[0].signals[1].pass && !v[0].pass);
    }

    #[test]
    fn counts_must_lie_between_min_and_max() {
        let p = pack();
        for (n, pass) in [(1, false), (2, true), (3, true), (4, false)] {
            let mut ev = Evaluator::new(Defaults::default());
            ev.add("a", &p.entries[0], T0).unwrap();
            ev.observe(&exec("x", T0, "uname"));
            for i in 0..n {
                ev.observe(&file(&format!("f{i}"), T0 + i, "/tmp/x"));
            }
            let v = ev.finish();
            assert_eq!(v[0].signals[1].pass, pass, "{n} file events");
            assert_eq!(v[0].pass, pass);
        }
        // min 0, max 0: the signal passes only when nothing matched.
        let mut ev = Evaluator::new(Defaults::default());
        ev.add("a", &p.entries[1], T0).unwrap();
        ev.observe(&exec("x", T0, "id"));
        assert!(ev.finish()[0].pass);
        let mut ev = Evaluator::new(Defaults::default());
        ev.add("a", &p.entries[1], T0).unwrap();
        ev.observe(&exec("x", T0, "rm -f /tmp/x"));
        let v = ev.finish();
        assert!(!v[0].pass);
        assert_eq!(v[0].signals[0].max_count, Some(0));
    }

    #[test]
    fn entry_windows_and_defaults_apply_in_order() {
        let p = pack();
        let windowed = p.entries.iter().find(|e| e.entry_id == "windowed").unwrap();
        let mut ev = Evaluator::new(Defaults {
            before_seconds: 30,
            after_seconds: 600,
        });
        ev.add("w", windowed, T0).unwrap();
        ev.add("d", &p.entries[0], T0).unwrap();
        assert_eq!(ev.window(0).unwrap().start_ms, T0);
        assert_eq!(ev.window(0).unwrap().end_ms, T0 + 1_000);
        let d = ev.window(1).unwrap();
        assert_eq!((d.before_seconds, d.after_seconds), (30, 600));
        ev.observe(&exec("late", T0 + 1_001, "uname"));
        ev.observe(&exec("early", T0 - 1, "uname"));
        let v = ev.finish();
        assert!(!v[0].pass);
        assert_eq!(v[1].signals[0].count, 2);
        let bad = Evaluator::new(Defaults::default()).add("far", &p.entries[0], i64::MAX - 10);
        let e = bad.unwrap_err();
        assert_eq!(e.reason(), "time_window_error");
        assert!(e.to_string().contains("action far"), "{e}");
    }

    #[test]
    fn samples_are_the_twenty_smallest_distinct_ids() {
        let p = pack();
        let mut ev = Evaluator::new(Defaults::default());
        ev.add("a", &p.entries[0], T0).unwrap();
        for i in (0..50).rev() {
            ev.observe(&exec(&format!("id-{i:02}"), T0, "uname"));
        }
        ev.observe(&exec("id-00", T0, "uname"));
        let mut no_uid = exec("x", T0, "uname");
        no_uid["metadata"] = json!({});
        ev.observe(&no_uid);
        let v = ev.finish();
        let s = &v[0].signals[0];
        assert_eq!(s.count, 52, "duplicates and events without uid still count");
        assert_eq!(s.sample_event_ids.len(), MAX_SAMPLE_EVENT_IDS);
        assert_eq!(s.sample_event_ids[0], "id-00");
        assert_eq!(s.sample_event_ids[19], "id-19");
    }
}
