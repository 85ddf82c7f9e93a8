//! The detector: a Sigma rule set compiled once against the bridge (or against Sigma field
//! names), one indexed [`pa_sigma::Engine`] per OCSF class, and the per-rule compiled plans.

use crate::columnar::{BatchView, KeyIds, KeyTable, Resolved};
use pa_bridge::{Bridge, ResolutionKind, Route};
use pa_sigma::{CompileOptions, CompiledRule, Engine, Event, RuleSet, SigmaJsonEvent};
use rayon::prelude::*;

mod build;
mod keywords;
use serde_json::Value;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasherDefault;
use std::sync::OnceLock;

/// How rule fields are resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldMode {
    /// Events are OCSF: rules are routed by logsource and fields resolved through the bridge.
    Ocsf,
    /// Events already use Sigma field names (flat or `Event.EventData` JSON): no bridge.
    Sigma,
}

/// An executable rule.
#[derive(Debug, Clone)]
pub struct ExecRule {
    /// The rule id (the Sigma `id`, else its `name`, else `sha256:<rule digest prefix>`).
    pub rule_id: String,
    pub compiled: CompiledRule,
    /// The route (OCSF mode).
    pub route: Option<Route>,
    /// The OCSF class this compilation is for (OCSF mode: a rule is compiled once per routed
    /// class, with that class's field paths).
    pub class_uid: Option<u32>,
    /// Index of the rule in the loaded [`RuleSet::rules`].
    pub source: usize,
    /// The event key of each field correlations read on this rule's matches
    /// (`CorrelationSet::rule_fields`), resolved as the rule's own fields are; `None` when the
    /// field has no path for this compilation.
    pub corr_keys: Vec<Option<String>>,
}

/// One resolved field of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanField {
    pub sigma_field: String,
    pub path: String,
    pub kind: ResolutionKind,
    /// The class the path is for (OCSF mode).
    pub class_uid: Option<u32>,
}

/// What compiling one rule gave, for `bridge/compiled_plans.jsonl` and coverage.
#[derive(Debug, Clone)]
pub struct RulePlan {
    pub rule_id: String,
    pub title: String,
    pub rule_sha256: String,
    pub file: String,
    pub line: u64,
    pub routed: bool,
    pub route: Option<Route>,
    pub field_resolution: Vec<PlanField>,
    pub fallback_used: bool,
    pub unmapped_fields: Vec<String>,
    /// `None` when executable.
    pub non_executable: Option<(String, String)>,
    /// The detection item the non-executable reason is about, when it is about one.
    pub non_executable_item: Option<pa_sigma::ItemRef>,
    /// Indices into [`Detector::rules`] (one per compiled class) when executable.
    pub exec_indices: Vec<usize>,
    pub condition: String,
    /// ATT&CK technique ids of the rule's tags (`attack.t1059.004` → `T1059.004`).
    pub technique_ids: Vec<String>,
    /// For a correlation rule: its index in [`RuleSet::correlations`].
    pub correlation: Option<usize>,
}

/// The compiled rule set.
pub struct Detector {
    pub mode: FieldMode,
    pub rules: Vec<ExecRule>,
    pub plans: Vec<RulePlan>,
    /// The correlation rules of the set, tied to its rules.
    pub correlations: pa_sigma::CorrelationSet,
    /// State bounds of correlation evaluation.
    pub correlation_limits: pa_sigma::CorrelationLimits,
    /// class_uid → its rules (indices into `rules`) and its engine, built when the class is
    /// first met ([`Detector::prepare_classes`]): a run over a few classes does not pay for the
    /// automata of the others. OCSF mode.
    by_class: BTreeMap<u32, ClassEngine>,
    /// Sigma mode: one engine over every rule.
    all: Option<Engine>,
    /// Keyword prefilters built for batch plans, by the classes whose needles they hold.
    keyword_prefilters: std::sync::Mutex<Vec<(Vec<u32>, std::sync::Arc<keywords::Prefilter>)>>,
}

/// A class, its engine and, per engine rule, its index into [`Detector::rules`].
pub type ClassEngineRef<'d> = (u32, &'d Engine, &'d [usize]);

/// One class's rules and, once built, its engine with the key strings its rules and the route
/// filters query, numbered once (see [`KeyIds`]: they are strings this detector owns).
struct ClassEngine {
    idx: Vec<usize>,
    built: OnceLock<Result<(Engine, KeyIds), String>>,
}

impl ClassEngine {
    fn get(&self, rules: &[ExecRule]) -> Result<(&Engine, &[usize], &KeyIds), &str> {
        match self.built.get_or_init(|| {
            let engine = Engine::new(
                self.idx
                    .iter()
                    .map(|&i| rules[i].compiled.clone())
                    .collect(),
            )
            .map_err(|e| e.0)?;
            let ids = KeyIds::new(queried_keys(&engine, &self.idx, rules));
            Ok((engine, ids))
        }) {
            Ok((e, ids)) => Ok((e, &self.idx, ids)),
            Err(e) => Err(e),
        }
    }
}

/// The key strings an engine's evaluation of `idx` queries: its own keys, its rules' item keys
/// and field references (the engine evaluates its own copies of the rules), the route filters.
fn queried_keys<'d>(engine: &'d Engine, idx: &[usize], rules: &'d [ExecRule]) -> Vec<&'d str> {
    let mut queried: Vec<&'d str> = engine.keys().collect();
    for rule in engine.rules() {
        for sel in &rule.selections {
            for it in sel.branches.iter().flatten() {
                queried.extend(it.key.as_deref());
                for (_, m) in it.groups.iter().flatten() {
                    if let pa_sigma::Matcher::FieldRef { key, .. } = m {
                        queried.push(key);
                    }
                }
            }
        }
    }
    for &i in idx {
        if let Some(route) = rules.get(i).and_then(|r| r.route.as_ref()) {
            queried.extend(route.filters.iter().map(|f| f.path.as_str()));
        }
    }
    queried
}

/// Every class engine's keys resolved against one columnar batch ([`Detector::plan`]), so that
/// a row is asked only about the keys its batch has, by column index.
pub struct BatchPlan<'v, 'd> {
    view: &'v BatchView<'v>,
    classes: BTreeMap<u32, ClassPlan<'v, 'd>>,
    /// The engines' memo scope for this batch ([`Engine::matches_among`]).
    scope: u64,
    /// Row → (its class, its slot in that class plan's presence table); `NO_CLASS` when the row
    /// has no planned class.
    row_at: Vec<(u32, u32)>,
    /// The string cells to scan for keywords, per row of the classes whose keyword searches
    /// are planned ([`ClassPlan::keywords_planned`]).
    keyword_cells: Option<keywords::Candidates>,
}

/// One class engine's keys against the batch.
struct ClassPlan<'v, 'd> {
    /// (engine key index, where the key is in the batch), absent keys left out.
    keys: Vec<(usize, Resolved<'v, 'd>)>,
    /// Every key the class's rules and route filters query, for [`BatchView::row_with`].
    table: KeyTable<'v, 'd>,
    /// Which of `keys` have a value, per row of the class: `words` bits per row slot, computed
    /// column by column when the batch is planned (one pass over each key's column, instead of
    /// every row visiting every key's column: in profiles those scattered null-bitmap reads
    /// were a tenth of the first-level cache misses).
    presence: Vec<u64>,
    words: usize,
    /// Keys scanned column by column at plan time (plain string columns): per (row slot, key)
    /// the distinct value's index into `atoms_at`, or `NOT_PRESCANNED`.
    value_of: Vec<u32>,
    /// Distinct value `d` fires `atoms[atoms_at[d]..atoms_at[d + 1]]`.
    atoms_at: Vec<u32>,
    atoms: Vec<u32>,
    /// The class engine's keyword searches are done through the plan's column search
    /// (`BatchPlan::keyword_cells`), not by walking every string of a row.
    keywords_planned: bool,
}

const NOT_PRESCANNED: u32 = u32::MAX;
const NO_CLASS: (u32, u32) = (u32::MAX, u32::MAX);

thread_local! {
    /// [`Detector::detect_row`]'s per-row buffers (fired atoms, keys left to scan), reused.
    static ROW_SCRATCH: RefCell<(Vec<u32>, Vec<usize>)> = const { RefCell::new((Vec::new(), Vec::new())) };
}

/// One key's column against the rows of its class ([`Detector::plan`]).
#[derive(Default)]
struct KeyColumn {
    /// Other than plain string columns: bit `slot` set when the key has a value on that row.
    present: Vec<u64>,
    /// Plain string columns: each distinct value scanned once (non-null = present).
    scan: Option<KeyScan>,
}

/// The indices of the set bits of a bitmap, ascending.
fn set_bits(words: &[u64]) -> impl Iterator<Item = usize> + '_ {
    words.iter().enumerate().flat_map(|(wi, &w)| {
        let mut w = w;
        std::iter::from_fn(move || {
            (w != 0).then(|| {
                let b = w.trailing_zeros() as usize;
                w &= w - 1;
                wi * 64 + b
            })
        })
    })
}

/// Per row slot the distinct value's index (or `NOT_PRESCANNED` for null); distinct value `d`
/// fires `atoms[atoms_at[d]..atoms_at[d + 1]]`.
struct KeyScan {
    ids: Vec<u32>,
    atoms_at: Vec<u32>,
    atoms: Vec<u32>,
}

fn key_column(
    view: &BatchView<'_>,
    engine: &Engine,
    key: usize,
    res: &Resolved<'_, '_>,
    rows: &[usize],
) -> KeyColumn {
    if !view.is_str_column(res) {
        let mut present = vec![0u64; rows.len().div_ceil(64)];
        for (slot, &r) in rows.iter().enumerate() {
            if view.row(r).may_have(res) {
                present[slot / 64] |= 1 << (slot % 64);
            }
        }
        return KeyColumn {
            present,
            scan: None,
        };
    }
    let mut scan = KeyScan {
        ids: vec![NOT_PRESCANNED; rows.len()],
        atoms_at: vec![0],
        atoms: Vec::new(),
    };
    let mut distinct: HashMap<&str, u32, BuildHasherDefault<pa_sigma::WordHash>> =
        HashMap::default();
    for (slot, &r) in rows.iter().enumerate() {
        let Some(text) = view.str_cell(res, r) else {
            continue;
        };
        scan.ids[slot] = *distinct.entry(text).or_insert_with(|| {
            let d = u32::try_from(scan.atoms_at.len() - 1).unwrap_or(u32::MAX);
            engine.key_atoms(key, text, &mut scan.atoms);
            scan.atoms_at
                .push(u32::try_from(scan.atoms.len()).unwrap_or(u32::MAX));
            d
        });
    }
    KeyColumn {
        present: Vec::new(),
        scan: Some(scan),
    }
}

impl BatchPlan<'_, '_> {
    /// Rows of the planned batch.
    pub fn len(&self) -> usize {
        self.view.len()
    }

    /// Whether the planned batch has no rows.
    pub fn is_empty(&self) -> bool {
        self.view.is_empty()
    }
}

/// A stable, file-name-safe id for a rule.
pub fn rule_id_of(id: Option<&str>, name: Option<&str>, rule_sha256: &str) -> String {
    let hex = rule_sha256.trim_start_matches("sha256:");
    let raw = id
        .or(name)
        .map(str::to_string)
        .unwrap_or_else(|| format!("sha256-{}", &hex[..hex.len().min(16)]));
    raw.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Whether every filter of a route holds on an event: some value at the filter's path equals
/// the filter's value (`eq`) or one of its values (`in`), as text, case-insensitively; a
/// missing path fails; `not_in` holds when no value is among its values (a missing path holds). (The same rule as `pa_bridge::Route::in_scope`, over any [`Event`].)
pub fn filters_hold(route: &Route, ev: &dyn Event) -> bool {
    let text = |v: &Value| match v {
        Value::String(s) => Some(s.to_lowercase()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    route.filters.iter().all(|f| {
        let mut have = Vec::new();
        ev.values(&f.path, &mut have);
        let want: Vec<String> = match f.op {
            pa_bridge::FilterOp::Eq => text(&f.value).into_iter().collect(),
            pa_bridge::FilterOp::In | pa_bridge::FilterOp::NotIn => f
                .value
                .as_array()
                .map(|a| a.iter().filter_map(text).collect())
                .unwrap_or_default(),
        };
        let hit = have.iter().any(|h| {
            h.text()
                .is_some_and(|t| want.iter().any(|w| *w == t.to_lowercase()))
        });
        if f.op == pa_bridge::FilterOp::NotIn {
            !hit
        } else {
            hit
        }
    })
}

impl Detector {
    /// Compile `set`. In OCSF mode `bridge` must be given.
    pub fn build(
        set: &RuleSet,
        bridge: Option<&Bridge>,
        mode: FieldMode,
        opts: &CompileOptions,
    ) -> Result<Detector, crate::DetectError> {
        let t0 = std::time::Instant::now();
        let mut rules = Vec::new();
        let mut plans = Vec::new();
        let (correlations, _) = pa_sigma::compile_correlations(set);
        let no_fields = Vec::new();
        // Every rule routed and compiled on its own (in parallel); assembled in load order.
        let compiled: Vec<Result<(RulePlan, Vec<ExecRule>), crate::DetectError>> = set
            .rules
            .par_iter()
            .enumerate()
            .map(|(source, r)| {
                let corr_fields = correlations.rule_fields.get(&source).unwrap_or(&no_fields);
                build::compile_rule(r, source, corr_fields, bridge, mode, opts)
            })
            .collect();
        for c in compiled {
            let (mut plan, execs) = c?;
            plan.exec_indices = (rules.len()..rules.len() + execs.len()).collect();
            rules.extend(execs);
            plans.push(plan);
        }
        for (i, c) in set.correlations.iter().enumerate() {
            plans.push(crate::correlate::correlation_plan(
                i,
                c,
                &correlations,
                &plans,
                &rules,
            ));
        }
        tracing::debug!(
            ms = t0.elapsed().as_millis() as u64,
            "phase: rules routed and compiled"
        );
        let t0 = std::time::Instant::now();
        let mut by_class: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
        let mut all = None;
        match mode {
            FieldMode::Ocsf => {
                for (i, r) in rules.iter().enumerate() {
                    if let Some(c) = r.class_uid {
                        by_class.entry(c).or_default().push(i);
                    }
                }
            }
            FieldMode::Sigma => {
                all = Some(Engine::new(
                    rules.iter().map(|r| r.compiled.clone()).collect(),
                )?);
            }
        }
        let engines = by_class
            .into_iter()
            .map(|(class, idx)| {
                (
                    class,
                    ClassEngine {
                        idx,
                        built: OnceLock::new(),
                    },
                )
            })
            .collect();
        tracing::debug!(ms = t0.elapsed().as_millis() as u64, "phase: engines built");
        Ok(Detector {
            mode,
            rules,
            plans,
            correlations,
            correlation_limits: pa_sigma::CorrelationLimits::default(),
            by_class: engines,
            all,
            keyword_prefilters: Default::default(),
        })
    }

    /// OCSF mode: build the engines of `classes` that are not built yet (in parallel). The
    /// matching functions build a class's engine on first use anyway; calling this first
    /// reports a failure to build one as an error instead of a class that matches nothing.
    pub fn prepare_classes(&self, classes: &[u32]) -> Result<(), crate::DetectError> {
        let wanted: Vec<&ClassEngine> = classes
            .iter()
            .filter_map(|c| self.by_class.get(c))
            .filter(|ce| ce.built.get().is_none())
            .collect();
        let failed: Vec<String> = wanted
            .par_iter()
            .filter_map(|ce| ce.get(&self.rules).err().map(str::to_string))
            .collect();
        match failed.into_iter().next() {
            Some(e) => Err(pa_sigma::EngineError(e).into()),
            None => Ok(()),
        }
    }

    /// OCSF mode: the engine of each class (ascending class_uid, every engine built) and, per
    /// engine rule, its index into [`Detector::rules`].
    pub fn class_engines(&self) -> Result<Vec<ClassEngineRef<'_>>, crate::DetectError> {
        let all: Vec<u32> = self.by_class.keys().copied().collect();
        self.prepare_classes(&all)?;
        Ok(self
            .by_class
            .iter()
            .filter_map(|(&c, ce)| ce.get(&self.rules).ok().map(|(e, idx, _)| (c, e, idx)))
            .collect())
    }

    /// The engine of `class` (built on first use); `None` when the class has no rule, or its
    /// engine could not be built (logged; [`Detector::prepare_classes`] reports it as an error).
    fn engine(&self, class: u32) -> Option<(&Engine, &[usize], &KeyIds)> {
        match self.by_class.get(&class)?.get(&self.rules) {
            Ok(e) => Some(e),
            Err(e) => {
                tracing::error!(
                    class_uid = class,
                    "the class engine could not be built: {e}"
                );
                None
            }
        }
    }

    /// Rules (plans) that compiled for at least one class.
    pub fn executable_count(&self) -> usize {
        self.plans
            .iter()
            .filter(|p| p.non_executable.is_none())
            .count()
    }

    /// Indices (into [`Detector::rules`], ascending) of the rules that match a JSON event.
    pub fn detect(&self, event: &Value) -> Vec<usize> {
        match self.mode {
            FieldMode::Sigma => {
                let ev = SigmaJsonEvent::new(event.clone());
                self.all
                    .as_ref()
                    .map(|e| e.matches(&ev))
                    .unwrap_or_default()
            }
            FieldMode::Ocsf => self.detect_event(
                event.get("class_uid").and_then(Value::as_u64),
                &crate::columnar::HintedValueEvent::new(event),
            ),
        }
    }

    /// OCSF mode: the rules of class `class_uid` that match `ev` (route filters included).
    pub fn detect_event(&self, class_uid: Option<u64>, ev: &dyn Event) -> Vec<usize> {
        let Some((engine, idx, _)) = class_uid
            .and_then(|c| u32::try_from(c).ok())
            .and_then(|c| self.engine(c))
        else {
            return Vec::new();
        };
        self.finish(engine.matches(ev), idx, ev)
    }

    /// The classes (ascending) of a batch's rows that have rules.
    pub fn classes_of(&self, view: &BatchView<'_>) -> Vec<u32> {
        let mut present: Vec<u32> = (0..view.len())
            .filter_map(|r| view.int("class_uid", r).and_then(|c| u32::try_from(c).ok()))
            .filter(|c| self.by_class.contains_key(c))
            .collect();
        present.sort_unstable();
        present.dedup();
        present
    }

    /// OCSF mode: resolve every class engine's keys against a batch once, for
    /// [`Detector::detect_row`]. The plan also scopes the engines' scan memo: a value repeated
    /// within the batch is scanned once per thread.
    pub fn plan<'v, 'd>(&'d self, view: &'v BatchView<'v>) -> BatchPlan<'v, 'd> {
        // The classes of the batch's rows that have rules (their engines built if need be).
        let classes = self
            .classes_of(view)
            .iter()
            .filter_map(|&class| self.engine(class).map(|e| (class, e)))
            .map(|(class, (engine, _, ids))| {
                let table = view.key_table(ids);
                let keys = engine
                    .keys()
                    .enumerate()
                    .map(|(i, k)| (i, table.get(k).unwrap_or_else(|| view.resolve(k))))
                    .filter(|(_, r)| *r != Resolved::Absent)
                    .collect();
                (
                    class,
                    ClassPlan {
                        keys,
                        table,
                        presence: Vec::new(),
                        words: 0,
                        value_of: Vec::new(),
                        atoms_at: vec![0],
                        atoms: Vec::new(),
                        keywords_planned: matches!(
                            engine.keyword_literals(),
                            pa_sigma::KeywordLiterals::Needles(_)
                        ),
                    },
                )
            })
            .collect();
        let mut classes: BTreeMap<u32, ClassPlan<'v, 'd>> = classes;
        // rows of each planned class, ascending, and each row's slot among them
        let mut rows_of: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
        let mut row_at = vec![NO_CLASS; view.len()];
        for (r, at) in row_at.iter_mut().enumerate() {
            let Some(c) = view.int("class_uid", r).and_then(|c| u32::try_from(c).ok()) else {
                continue;
            };
            if classes.contains_key(&c) {
                let rows = rows_of.entry(c).or_default();
                *at = (c, u32::try_from(rows.len()).unwrap_or(u32::MAX));
                rows.push(r);
            }
        }
        // Column-at-a-time work, one task per (class, key), in parallel: which rows of the
        // class have the key, and (plain string columns) each distinct value's atoms. Merged in
        // key order, so the plan is the same whatever the thread count.
        let tasks: Vec<(u32, usize)> = rows_of
            .keys()
            .filter_map(|c| classes.get(c).map(|cp| (*c, cp.keys.len())))
            .flat_map(|(c, n)| (0..n).map(move |ki| (c, ki)))
            .collect();
        let columns: Vec<KeyColumn> = tasks
            .par_iter()
            .map(|&(c, ki)| {
                let (Some(cp), Some(rows), Some((engine, _, _))) =
                    (classes.get(&c), rows_of.get(&c), self.engine(c))
                else {
                    return KeyColumn::default();
                };
                let (ei, res) = &cp.keys[ki];
                key_column(view, engine, *ei, res, rows)
            })
            .collect();
        let mut columns = columns.into_iter();
        for (c, rows) in &rows_of {
            let Some(cp) = classes.get_mut(c) else {
                continue;
            };
            let nk = cp.keys.len();
            let words = nk.div_ceil(64).max(1);
            let mut presence = vec![0u64; rows.len() * words];
            let mut value_of = vec![NOT_PRESCANNED; rows.len() * nk];
            for ki in 0..nk {
                let Some(col) = columns.next() else { break };
                let (word, bit) = (ki / 64, 1u64 << (ki % 64));
                let Some(scan) = col.scan else {
                    for slot in set_bits(&col.present) {
                        presence[slot * words + word] |= bit;
                    }
                    continue;
                };
                let base_d = u32::try_from(cp.atoms_at.len() - 1).unwrap_or(u32::MAX);
                let base_a = u32::try_from(cp.atoms.len()).unwrap_or(u32::MAX);
                cp.atoms.extend_from_slice(&scan.atoms);
                cp.atoms_at
                    .extend(scan.atoms_at[1..].iter().map(|&a| a + base_a));
                // a string cell has a value exactly when it is not null
                for (slot, &d) in scan.ids.iter().enumerate() {
                    if d != NOT_PRESCANNED {
                        value_of[slot * nk + ki] = d + base_d;
                        presence[slot * words + word] |= bit;
                    }
                }
            }
            cp.presence = presence;
            cp.words = words;
            cp.value_of = value_of;
        }
        let keyword_cells = self.keyword_cells(view, &mut classes, &row_at);
        BatchPlan {
            view,
            classes,
            scope: Engine::new_scope(),
            row_at,
            keyword_cells,
        }
    }

    /// OCSF mode: the rules that match row `row` of the planned batch (its `class_uid` column
    /// picks the engine), exactly as [`Detector::detect_event`] on that row, but looking up only
    /// the keys that have a value on the row.
    pub fn detect_row(&self, plan: &BatchPlan<'_, '_>, row: usize) -> Vec<usize> {
        let view = plan.view;
        let Some(&(class, slot)) = plan.row_at.get(row).filter(|at| **at != NO_CLASS) else {
            return Vec::new();
        };
        let (Some((engine, idx, _)), Some(cp)) = (self.engine(class), plan.classes.get(&class))
        else {
            return Vec::new();
        };
        let ev = view.row_with(row, &cp.table);
        let slot = slot as usize;
        let bits = cp
            .presence
            .get(slot * cp.words..(slot + 1) * cp.words)
            .unwrap_or(&[]);
        let present = set_bits(bits);
        // keys scanned at plan time contribute their atoms; the rest are scanned here
        let nk = cp.keys.len();
        let hits = ROW_SCRATCH.with(|cell| {
            let mut scratch = cell.borrow_mut();
            let (fired, rest) = &mut *scratch;
            fired.clear();
            rest.clear();
            for ki in present {
                let d = cp
                    .value_of
                    .get(slot * nk + ki)
                    .copied()
                    .unwrap_or(NOT_PRESCANNED);
                if d == NOT_PRESCANNED {
                    rest.push(cp.keys[ki].0);
                    continue;
                }
                let (lo, hi) = (cp.atoms_at[d as usize], cp.atoms_at[d as usize + 1]);
                fired.extend_from_slice(&cp.atoms[lo as usize..hi as usize]);
            }
            let cells = plan.keyword_cells.as_ref().filter(|_| cp.keywords_planned);
            if let Some(cells) = cells {
                for &c in cells.of(row) {
                    view.cell_strings(c as usize, row, &mut |t| engine.keyword_atoms(t, fired));
                }
            }
            engine.matches_with_fired(
                &ev,
                &mut rest.iter().copied(),
                fired,
                Some(plan.scope),
                cells.is_some(),
            )
        });
        self.finish(hits, idx, &ev)
    }

    /// Engine hits → rule indices (ascending), route filters applied.
    fn finish(&self, hits: Vec<usize>, idx: &[usize], ev: &dyn Event) -> Vec<usize> {
        let mut out: Vec<usize> = hits
            .into_iter()
            .map(|k| idx[k])
            .filter(|&i| {
                self.rules[i]
                    .route
                    .as_ref()
                    .is_none_or(|r| filters_hold(r, ev))
            })
            .collect();
        out.sort_unstable();
        out
    }
}
