//! The detection stage: Sigma rules over the normalized OCSF store.
//!
//! One code path, three uses:
//! * bundle mode ([`run`]): `normalized/ocsf_events/` → `detections/detections.jsonl` (one
//!   instance per matched event, sorted) and `bridge/{router_table,mapping_pack_snapshot,
//!   coverage}.json` + `bridge/compiled_plans.jsonl` (one plan per rule, ADR-0015);
//! * stream mode ([`stream`]): OCSF (or Sigma-named) JSONL in, detection JSONL out;
//! * [`check_report`] and [`explain`]: compile reports and per-event explanations for people.
//!
//! Rules are loaded and compiled once ([`detector::Detector`]); events are matched in parallel
//! batches whose results are put back in event order, so the output does not depend on thread
//! scheduling.

pub mod columnar;
pub mod compiled_plan;
pub mod correlate;
pub mod detector;
mod error;
pub mod instance;
pub mod report;
pub mod rule_cache;
mod sorted_instances;
mod stream;
pub use stream::{MAX_EVENT_LINE_BYTES, StreamTally, stream};
pub mod sql_engine;

use detector::{Detector, FieldMode};
pub use error::DetectError;
pub use instance::{
    BridgeProvenance, CorrelatedEvent, CorrelationDetails, DetectionInstance, GroupValue,
    InstanceExtensions, SigmaProvenance,
};
use pa_bridge::{Bridge, CoverageAccumulator, RuleOutcome};
use pa_bundle::reason::{CommonReason, DetectionReason};
use pa_sigma::{CompileOptions, RuleSet};
use pa_stage::{StageContext, StageFailure, StageSuccess};
use rayon::prelude::*;
pub use report::{
    CheckTotals, ExplainReport, LoadIssueRow, ResolvedField, RouteRef, RuleCheckRow, RuleSetCheck,
};
pub use rule_cache::RuleCache;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The shipped bridge data, relative to the project's data root.
pub const BRIDGE_REL: &str = "mappings/bridge";
/// How many unmapped fields `bridge/coverage.json` lists.
pub const TOP_UNMAPPED: usize = 25;
/// The compiled plans of a run's rule set: one JCS line per rule, sorted by rule id.
pub const COMPILED_PLANS: &str = "bridge/compiled_plans.jsonl";

fn fail(code: DetectionReason, msg: impl Into<String>) -> StageFailure {
    StageFailure::new(code, msg)
}

/// Load the shipped bridge (or the one in `dir`).
pub fn load_bridge(dir: Option<&Path>) -> Result<Bridge, DetectError> {
    let d = match dir {
        Some(d) => d.to_path_buf(),
        None => pa_stage::shipped_dir(BRIDGE_REL)?,
    };
    Ok(Bridge::load(&d)?)
}

/// Load rules from files/directories; every path must exist.
pub fn load_rules(paths: &[PathBuf]) -> Result<RuleSet, DetectError> {
    check_rule_paths(paths)?;
    Ok(pa_sigma::load_paths(paths))
}

/// Load rules through `cache` when there is one ([`rule_cache`]), else as [`load_rules`].
pub fn load_rules_with(
    paths: &[PathBuf],
    cache: Option<&RuleCache>,
) -> Result<RuleSet, DetectError> {
    match cache {
        Some(c) => Ok(c.load(paths)?.0),
        None => load_rules(paths),
    }
}

/// Some paths given, and every one exists.
fn check_rule_paths(paths: &[PathBuf]) -> Result<(), DetectError> {
    if paths.is_empty() {
        return Err(DetectError::NoRulePaths);
    }
    if let Some(p) = paths.iter().find(|p| !p.exists()) {
        return Err(DetectError::RulePathMissing(p.clone()));
    }
    Ok(())
}

/// `sha256:` over the canonical list of (rule id, rule digest) pairs, sorted.
pub fn rule_set_sha256(det: &Detector) -> String {
    let mut pairs: Vec<(String, String)> = det
        .plans
        .iter()
        .map(|p| (p.rule_id.clone(), p.rule_sha256.clone()))
        .collect();
    pairs.sort();
    let v: Vec<Value> = pairs.into_iter().map(|(a, b)| json!([a, b])).collect();
    pa_canon::jcs(&v)
        .map(|b| pa_canon::sha256_prefixed(&b))
        .unwrap_or_default()
}

fn event_uid(ev: &Value) -> Option<String> {
    ev.get("metadata")
        .and_then(|m| m.get("uid"))
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// Where a detection's event is: its time (ms), class and reference.
#[derive(Debug, Clone)]
pub struct EventRef {
    pub time_ms: Option<i64>,
    pub class_uid: Option<i64>,
    pub id: String,
}

impl EventRef {
    /// The reference of a JSON event (`metadata.uid`, else `fallback`).
    pub fn of_value(ev: &Value, fallback: impl FnOnce() -> String) -> EventRef {
        EventRef {
            time_ms: ev.get("time").and_then(Value::as_i64),
            class_uid: ev.get("class_uid").and_then(Value::as_i64),
            id: event_uid(ev).unwrap_or_else(fallback),
        }
    }
}

/// One detection instance (SPEC §8 fields).
pub fn instance(
    det: &Detector,
    rule: usize,
    ev: &EventRef,
    run_id: Option<&str>,
    scenario_id: Option<&str>,
) -> DetectionInstance {
    let r = &det.rules[rule];
    let t = ev.time_ms.map(pa_canon::format_utc_millis);
    DetectionInstance {
        rule_id: r.rule_id.clone(),
        rule_title: r.compiled.title.clone(),
        rule_source: "sigma".to_owned(),
        rule_level: r.compiled.level.clone(),
        technique_ids: r.compiled.technique_ids.clone(),
        matched_event_ids: vec![ev.id.clone()],
        first_seen_utc: t.clone(),
        last_seen_utc: t,
        run_id: run_id.map(str::to_owned),
        scenario_id: scenario_id.map(str::to_owned),
        correlation: None,
        extensions: InstanceExtensions {
            sigma: SigmaProvenance {
                rule_file: r.compiled.file.display().to_string(),
                rule_line: r.compiled.line,
                rule_sha256: r.compiled.rule_sha256.clone(),
            },
            bridge: r.route.as_ref().map(|route| BridgeProvenance {
                route_id: route.route_id.clone(),
                class_uid: ev.class_uid,
            }),
        },
    }
}

/// Match a batch of events in parallel; results in event order.
pub fn detect_batch(det: &Detector, events: &[Value]) -> Vec<Vec<usize>> {
    events.par_iter().map(|e| det.detect(e)).collect()
}

/// The stage function: load the rules and the bridge, match the normalized store, write the
/// detections and the bridge documents. `rules_override` replaces the range's
/// `detection.sigma.rule_paths`.
pub fn run(
    ctx: &mut StageContext<'_>,
    rules_override: Option<Vec<PathBuf>>,
    cache: Option<&RuleCache>,
) -> Result<StageSuccess, StageFailure> {
    run_with(ctx, rules_override, cache, (None, None), EngineKind::Native)
}

/// The engine that matches the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineKind {
    /// The in-process indexed engine (the reference).
    Native,
    /// The DuckDB CLI on `PATH`, running the rules compiled to SQL (`pa-sigma-sql`); rules the
    /// dialect refuses are reported as not executable (`unsupported_in_dialect`).
    DuckDb,
    /// The results of the Spark job (`examples/scale-out/detect.py`) in this directory, which
    /// ran these rules' Spark script over this store (checked): imported, not run.
    SparkResults(PathBuf),
}

/// [`run`] with the state bounds of correlation evaluation (max groups, max window) given on
/// the command line (each one not given comes from the range's `detection.sigma`, else the
/// default) and the engine chosen. Whatever the engine, the outputs have the same contracts;
/// a failed engine run publishes nothing.
pub fn run_with(
    ctx: &mut StageContext<'_>,
    rules_override: Option<Vec<PathBuf>>,
    cache: Option<&RuleCache>,
    limits: (Option<u64>, Option<u64>),
    engine: EngineKind,
) -> Result<StageSuccess, StageFailure> {
    let t = std::time::Instant::now();
    let mut loaded = load_stage_inputs(ctx, rules_override, cache)?;
    tracing::debug!(
        ms = t.elapsed().as_millis() as u64,
        rules = loaded.set.rules.len(),
        "phase: rules loaded and compiled"
    );
    let sigma = &ctx.range()?.detection.sigma;
    let pick = |cli: Option<u64>, range: Option<u64>, key: &str| match cli.or(range) {
        Some(0) => Err(fail(
            DetectionReason::SigmaRulesetLoadFailed,
            format!("detection.sigma.{key} must be at least 1"),
        )),
        v => Ok(v.map(|v| usize::try_from(v).unwrap_or(usize::MAX))),
    };
    loaded.det.correlation_limits = correlate::limits(
        pick(
            limits.0,
            sigma.correlation_max_groups,
            "correlation_max_groups",
        )?,
        pick(
            limits.1,
            sigma.correlation_max_window,
            "correlation_max_window",
        )?,
    );
    let t = std::time::Instant::now();
    let matched = match engine {
        EngineKind::Native => match_store(ctx, &loaded.det)?,
        EngineKind::DuckDb => match_store_sql(ctx, &mut loaded.det, None)?,
        EngineKind::SparkResults(dir) => match_store_sql(ctx, &mut loaded.det, Some(&dir))?,
    };
    tracing::debug!(
        ms = t.elapsed().as_millis() as u64,
        events = matched.events_total,
        "phase: store matched"
    );
    let t = std::time::Instant::now();
    let out = write_outputs(ctx, &loaded, matched);
    tracing::debug!(ms = t.elapsed().as_millis() as u64, "phase: outputs staged");
    // The compiled rule set is about a million allocations; freeing them took ~25 ms of every
    // run before the publish could start. They are freed beside it instead (a process that
    // exits first just ends the thread).
    // If no thread can be started, the closure (and so the rule set) is dropped right here.
    let _ = std::thread::Builder::new()
        .name("pa-detect-free".into())
        .spawn(move || drop(loaded));
    out
}

/// Match the store through the DuckDB CLI, or take the matches from the results of the Spark
/// job in `spark_results`.
fn match_store_sql(
    ctx: &mut StageContext<'_>,
    det: &mut Detector,
    spark_results: Option<&Path>,
) -> Result<Matched, StageFailure> {
    let schema = ctx.input("normalized/ocsf_events/_schema.json")?;
    let store = sql_engine::store(&schema)?;
    let dialect = match spark_results {
        Some(_) => pa_sigma_sql::Dialect::Spark,
        None => pa_sigma_sql::Dialect::DuckDb,
    };
    let script = sql_engine::script(
        det,
        &pa_sigma_sql::Columns::Store(store.columns.clone()),
        dialect,
    );
    for (id, r) in &script.refused {
        tracing::info!(rule_id = %id, reason = %r.reason_code, "{}", r.message);
    }
    let (hits, events_total) = match spark_results {
        Some(dir) => {
            let store_dir = schema.parent().unwrap_or(Path::new("."));
            let rows = pa_store::events::row_count(store_dir).map_err(|e| {
                StageFailure::new(DetectionReason::SqlStoreIncompatible, e.to_string())
            })?;
            sql_engine::read_spark_hits(&script, dir, rows)?
        }
        None => sql_engine::run_duckdb(&script, &store)?,
    };
    sql_engine::apply_refusals(det, &script);
    let run_id = ctx.run.run_id().to_string();
    let scenario_id = ctx.manifest.scenario.scenario_id.clone();
    let (mut instances, rule_matched) =
        sql_engine::instances(det, &hits, Some(&run_id), Some(&scenario_id))?;
    // Correlation rules read the field values of the matched events, which the SQL engine does
    // not return: in this engine they are not executable (reported with the reason). Their base
    // rules' own detections are written or not exactly as the native engine writes them
    // (`generate`).
    let silent: std::collections::BTreeSet<&str> = det
        .rules
        .iter()
        .filter(|r| det.correlations.silent_rules.contains(&r.source))
        .map(|r| r.rule_id.as_str())
        .collect();
    instances.retain(|i| !silent.contains(i.rule_id.as_str()));
    let mut sorted = sorted_instances::SortedInstances::new(
        &ctx.run.staging_root(),
        sorted_instances::SORT_BUDGET_BYTES,
    );
    for i in instances {
        sorted.push(&i)?;
    }
    for plan in &mut det.plans {
        if plan.correlation.is_some() && plan.non_executable.is_none() {
            plan.non_executable = Some((
                "unsupported_in_dialect".into(),
                format!(
                    "{}: correlation rules are evaluated by the native engine only (they read the matched events' field values)",
                    dialect.name()
                ),
            ));
        }
    }
    Ok(Matched {
        instances: sorted,
        rule_matched,
        corr_fired: std::collections::BTreeSet::new(),
        corr_warnings: Vec::new(),
        events_total,
        backend: compiled_plan::Backend::sql(dialect),
    })
}

/// What the stage loads before it reads any event.
struct Loaded {
    set: RuleSet,
    bridge: Bridge,
    det: Detector,
}

/// What matching the store gave.
struct Matched {
    /// What `detections.jsonl` will hold, in its order.
    instances: sorted_instances::SortedInstances,
    /// Per compiled rule, whether it matched anything.
    rule_matched: Vec<bool>,
    /// Correlation rules (set index) that fired.
    corr_fired: std::collections::BTreeSet<usize>,
    /// What correlation state bounds left out.
    corr_warnings: Vec<String>,
    events_total: u64,
    /// The backend that matched (named in the compiled plans).
    backend: compiled_plan::Backend,
}

fn load_stage_inputs(
    ctx: &mut StageContext<'_>,
    rules_override: Option<Vec<PathBuf>>,
    cache: Option<&RuleCache>,
) -> Result<Loaded, StageFailure> {
    let range = ctx.range()?;
    let base = ctx.range_base_dir();
    let paths: Vec<PathBuf> = match rules_override {
        Some(p) => p,
        None => range
            .detection
            .sigma
            .rule_paths
            .iter()
            .map(|p| base.join(p))
            .collect(),
    };
    let t = std::time::Instant::now();
    let set = load_rules_with(&paths, cache)?;
    tracing::debug!(
        ms = t.elapsed().as_millis() as u64,
        "phase: rule files parsed"
    );
    if set.rules.is_empty() && set.correlations.is_empty() {
        return Err(fail(
            DetectionReason::SigmaRulesetLoadFailed,
            format!(
                "no Sigma rule could be loaded from {:?} ({} problem(s); first: {})",
                paths,
                set.issues.len(),
                set.issues
                    .first()
                    .map(|i| format!("{}:{}: {}", i.file.display(), i.line, i.message))
                    .unwrap_or_else(|| "no rule files".into())
            ),
        ));
    }
    let bridge = load_bridge(None)?;
    let opts = CompileOptions {
        placeholders: range.detection.sigma.placeholders.clone(),
    };
    let det = Detector::build(&set, Some(&bridge), FieldMode::Ocsf, &opts)?;
    Ok(Loaded { set, bridge, det })
}

/// Match every event of the normalized store, batch by batch (each batch planned column by
/// column, its rows matched in parallel, results kept in event order).
fn match_store(ctx: &mut StageContext<'_>, det: &Detector) -> Result<Matched, StageFailure> {
    let input_missing =
        |e: pa_store::StoreError| StageFailure::new(CommonReason::InputMissing, e.to_string());
    let store = ctx.input("normalized/ocsf_events/_schema.json")?;
    let store_dir = store.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut reader = pa_store::events::EventReader::open(&store_dir).map_err(input_missing)?;
    let run_id = ctx.run.run_id().to_string();
    let scenario_id = ctx.manifest.scenario.scenario_id.clone();
    let mut instances = sorted_instances::SortedInstances::new(
        &ctx.run.staging_root(),
        sorted_instances::SORT_BUDGET_BYTES,
    );
    let mut rule_matched = vec![false; det.rules.len()];
    let mut events_total = 0u64;
    let mut corr = correlate::Correlator::new(det);
    while let Some((batch, info)) = reader.next_batch().map_err(input_missing)? {
        let view = columnar::BatchView::new(&batch, &info);
        events_total += view.len() as u64;
        // Every engine key resolved to its column once per batch; rows then ask by index.
        det.prepare_classes(&det.classes_of(&view))
            .map_err(StageFailure::from)?;
        let plan = det.plan(&view);
        let hits: Vec<Vec<usize>> = (0..view.len())
            .into_par_iter()
            .map(|row| det.detect_row(&plan, row))
            .collect();
        for (row, hits) in hits.into_iter().enumerate() {
            if hits.is_empty() {
                continue;
            }
            let er = EventRef {
                time_ms: view.int("time", row),
                class_uid: view.int("class_uid", row),
                id: view
                    .str("metadata.uid", row)
                    .unwrap_or_default()
                    .to_string(),
            };
            for &r in &hits {
                rule_matched[r] = true;
                if corr.generates(r) {
                    instances.push(&instance(det, r, &er, Some(&run_id), Some(&scenario_id)))?;
                }
            }
            let ev = view.row(row);
            for &r in &hits {
                for i in corr.feed(r, &er, &ev, Some(&run_id), Some(&scenario_id)) {
                    instances.push(&i)?;
                }
            }
        }
    }
    Ok(Matched {
        instances,
        rule_matched,
        corr_warnings: corr.warnings(),
        corr_fired: corr.fired,
        events_total,
        backend: compiled_plan::Backend::native(),
    })
}

/// Stage `detections/detections.jsonl`, the bridge documents, one compiled plan per rule and
/// `bridge/coverage.json`; the summary and version pins for the manifest.
fn write_outputs(
    ctx: &mut StageContext<'_>,
    loaded: &Loaded,
    matched: Matched,
) -> Result<StageSuccess, StageFailure> {
    let Loaded { set, bridge, det } = loaded;
    let mut out = ctx.staging.create("detections/detections.jsonl")?;
    let detections_total = matched.instances.finish(&mut out).map_err(|e| match e {
        DetectError::Output(io) => StageFailure::from(pa_bundle::BundleError::io(out.path(), io)),
        other => other.into(),
    })?;
    out.finish()?;

    let doc_err = |e: pa_bridge::DocumentError| {
        fail(DetectionReason::BridgeMappingPackInvalid, e.to_string())
    };
    let rt = bridge.router_table_document().map_err(doc_err)?;
    ctx.staging.write("bridge/router_table.json", &rt.bytes)?;
    let mp = bridge.mapping_pack_snapshot_document().map_err(doc_err)?;
    ctx.staging
        .write("bridge/mapping_pack_snapshot.json", &mp.bytes)?;
    let mut acc = CoverageAccumulator::new();
    // One document of plans, one JCS line per rule sorted by rule id (ADR-0015). Duplicate
    // ids are reported by the loader; the first plan of an id is the one written.
    let mut plan_lines: BTreeMap<&str, String> = BTreeMap::new();
    for p in &det.plans {
        let outcome = match &p.non_executable {
            None if p.correlation.is_some() => RuleOutcome::executable(
                p.correlation
                    .is_some_and(|c| matched.corr_fired.contains(&c)),
                false,
            ),
            None if !p.exec_indices.is_empty() => RuleOutcome::executable(
                p.exec_indices.iter().any(|&i| matched.rule_matched[i]),
                p.fallback_used,
            ),
            Some((code, _)) => RuleOutcome::non_executable(p.routed, code.clone())
                .with_fallback_used(p.fallback_used)
                .with_unmapped_fields(p.unmapped_fields.clone()),
            None => RuleOutcome::non_executable(p.routed, "backend_compile_error"),
        };
        acc.add(&outcome);
        if !plan_lines.contains_key(p.rule_id.as_str()) {
            let mut doc = det.plan_document(p, &mp.sha256);
            doc.backend = matched.backend.clone();
            let line = pa_canon::to_jsonl_line(&doc)
                .map_err(|e| StageFailure::new(CommonReason::StageProcessFailed, e.to_string()))?;
            plan_lines.insert(&p.rule_id, line);
        }
    }
    let plans_doc: String = plan_lines.into_values().collect();
    ctx.staging.write(COMPILED_PLANS, plans_doc.as_bytes())?;
    let mut cov = acc.finish(TOP_UNMAPPED);
    cov.load_issues = Some(
        set.issues
            .iter()
            .map(|i| pa_bridge::CoverageLoadIssue {
                file: i.file.display().to_string(),
                line: i.line,
                reason_code: i.reason_code.clone(),
                message: i.message.clone(),
            })
            .collect(),
    );
    cov.events_evaluated = Some(matched.events_total);
    cov.detections_total = Some(detections_total);
    ctx.staging.write_json("bridge/coverage.json", &cov)?;

    let mut versions = BTreeMap::new();
    versions.insert("rule_set_sha256".into(), json!(rule_set_sha256(det)));
    versions.insert("mapping_pack_sha256".into(), json!(mp.sha256));
    versions.insert(
        "mapping_pack_id".into(),
        json!(bridge.pack().mapping_pack_id),
    );
    versions.insert(
        "mapping_pack_version".into(),
        json!(bridge.pack().mapping_pack_version),
    );
    versions.insert(
        "evaluator_version".into(),
        json!(concat!("pa-detect/", env!("CARGO_PKG_VERSION"))),
    );
    let mut summary = format!(
        "{} detection(s) from {} of {} executable rule(s) over {} event(s); {} rule(s) not executable",
        detections_total,
        cov.matched_rules,
        cov.executable_rules,
        matched.events_total,
        cov.non_executable_rules
    );
    if !matched.corr_warnings.is_empty() {
        summary.push_str(&format!(
            "; {} correlation rule(s) hit state bounds (results may be missing): {}",
            matched.corr_warnings.len(),
            matched.corr_warnings.join("; ")
        ));
    }
    Ok(StageSuccess {
        summary,
        versions,
        ..Default::default()
    })
}

/// `pa-detect check`: per rule executable or its reason, plus totals.
pub fn check_report(set: &RuleSet, det: &Detector) -> RuleSetCheck {
    let mut reasons: BTreeMap<String, u64> = BTreeMap::new();
    let rules: Vec<RuleCheckRow> = det
        .plans
        .iter()
        .map(|p| {
            if let Some((code, _)) = &p.non_executable {
                *reasons.entry(code.clone()).or_default() += 1;
            }
            RuleCheckRow {
                executable: p.non_executable.is_none(),
                file: p.file.clone(),
                line: p.line,
                message: p.non_executable.as_ref().map(|(_, m)| m.clone()),
                reason_code: p.non_executable.as_ref().map(|(c, _)| c.clone()),
                route_id: p.route.as_ref().map(|r| r.route_id.clone()),
                rule_id: p.rule_id.clone(),
                title: p.title.clone(),
            }
        })
        .collect();
    let load_issues: Vec<LoadIssueRow> = set
        .issues
        .iter()
        .map(|i| LoadIssueRow {
            file: i.file.display().to_string(),
            line: i.line,
            message: i.message.clone(),
            reason_code: i.reason_code.clone(),
        })
        .collect();
    RuleSetCheck {
        totals: CheckTotals {
            executable: det.executable_count(),
            load_issues: load_issues.len(),
            non_executable: det.plans.len() - det.executable_count(),
            reasons,
            rules: det.plans.len(),
        },
        rules,
        load_issues,
    }
}

/// `pa-detect explain`: the explanation of rule `rule_id` on `event`, or why there is none.
pub fn explain(det: &Detector, rule_id: &str, event: &Value) -> Result<ExplainReport, DetectError> {
    let Some(plan) = det.plans.iter().find(|p| p.rule_id == rule_id) else {
        return Err(DetectError::UnknownRule(rule_id.to_owned()));
    };
    if plan.correlation.is_some() && plan.non_executable.is_none() {
        return Err(DetectError::CorrelationNotExplainable {
            rule_id: rule_id.to_owned(),
            references: plan.condition.clone(),
        });
    }
    if plan.exec_indices.is_empty() {
        let (reason_code, message) = plan.non_executable.clone().unwrap_or_default();
        return Err(DetectError::NotExecutable {
            rule_id: rule_id.to_owned(),
            reason_code,
            message,
        });
    }
    // The compilation for the event's class (OCSF mode), else the first.
    let class = event.get("class_uid").and_then(Value::as_u64);
    let i = plan
        .exec_indices
        .iter()
        .copied()
        .find(|&i| det.rules[i].class_uid.map(u64::from) == class)
        .unwrap_or(plan.exec_indices[0]);
    let r = &det.rules[i];
    let in_scope = match (&r.route, det.mode) {
        (Some(route), FieldMode::Ocsf) => route.in_scope(event),
        _ => true,
    };
    let explanation = match det.mode {
        FieldMode::Ocsf => pa_sigma::explain(&r.compiled, &pa_sigma::JsonEvent::new(event.clone())),
        FieldMode::Sigma => {
            pa_sigma::explain(&r.compiled, &pa_sigma::SigmaJsonEvent::new(event.clone()))
        }
    };
    let fires = in_scope && det.detect(event).contains(&i);
    Ok(ExplainReport {
        event_in_route_scope: in_scope,
        explanation,
        field_resolution: plan
            .field_resolution
            .iter()
            .filter(|f| f.class_uid.is_none_or(|c| Some(u64::from(c)) == class))
            .map(|f| ResolvedField {
                path: f.path.clone(),
                sigma_field: f.sigma_field.clone(),
            })
            .collect(),
        fires,
        route: r.route.as_ref().map(|x| RouteRef {
            class_uids: x.class_uids.clone(),
            route_id: x.route_id.clone(),
        }),
        rule_id: rule_id.to_owned(),
        title: r.compiled.title.clone(),
    })
}
