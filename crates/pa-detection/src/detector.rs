//! The detector: a Sigma rule set compiled once against the bridge (or against Sigma field
//! names), one indexed [`pa_sigma::Engine`] per OCSF class, and the per-rule compiled plans.

use pa_bridge::{Bridge, FieldResolution, ResolutionKind, Route};
use pa_sigma::{
    CompileOptions, CompiledRule, Engine, Event, FieldResolver, JsonEvent, RuleSet, SigmaJsonEvent,
    Unresolved,
};
use serde_json::{Value, json};
use std::cell::RefCell;
use std::collections::BTreeMap;

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
}

/// What compiling one rule gave, for `bridge/compiled_plans/<rule_id>.plan.json` and coverage.
#[derive(Debug, Clone)]
pub struct RulePlan {
    pub rule_id: String,
    pub title: String,
    pub rule_sha256: String,
    pub file: String,
    pub line: u64,
    pub routed: bool,
    pub route: Option<Route>,
    pub field_resolution: Vec<FieldResolution>,
    pub fallback_used: bool,
    pub unmapped_fields: Vec<String>,
    /// `None` when executable.
    pub non_executable: Option<(String, String)>,
    /// Index into [`Detector::rules`] when executable.
    pub exec_index: Option<usize>,
    pub condition: String,
}

/// The compiled rule set.
pub struct Detector {
    pub mode: FieldMode,
    pub rules: Vec<ExecRule>,
    pub plans: Vec<RulePlan>,
    /// class_uid → (engine, index into `rules` per engine rule). OCSF mode.
    by_class: BTreeMap<u32, (Engine, Vec<usize>)>,
    /// Sigma mode: one engine over every rule.
    all: Option<Engine>,
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

struct BridgeResolver<'a> {
    routed: pa_bridge::Routed<'a>,
    seen: RefCell<Vec<FieldResolution>>,
    unmapped: RefCell<Vec<String>>,
}

impl FieldResolver for BridgeResolver<'_> {
    fn resolve(&self, sigma_field: &str) -> Result<String, Unresolved> {
        match self.routed.resolve(sigma_field) {
            Ok(r) => {
                let path = r.path.clone();
                let mut seen = self.seen.borrow_mut();
                if !seen.iter().any(|s| s.sigma_field == r.sigma_field) {
                    seen.push(r);
                }
                Ok(path)
            }
            Err(e) => {
                if let Some(f) = &e.field {
                    self.unmapped.borrow_mut().push(f.clone());
                }
                Err(Unresolved {
                    reason_code: e.reason_code.as_str().to_string(),
                    message: e.explanation,
                })
            }
        }
    }
}

fn to_bridge_logsource(ls: &pa_sigma::LogSource) -> pa_bridge::LogSource {
    pa_bridge::LogSource::new(
        ls.product.as_deref(),
        ls.category.as_deref(),
        ls.service.as_deref(),
    )
}

impl Detector {
    /// Compile `set`. In OCSF mode `bridge` must be given.
    pub fn build(
        set: &RuleSet,
        bridge: Option<&Bridge>,
        mode: FieldMode,
        opts: &CompileOptions,
    ) -> Result<Detector, String> {
        let mut rules = Vec::new();
        let mut plans = Vec::new();
        for r in &set.rules {
            let rule_id = rule_id_of(r.id.as_deref(), r.name.as_deref(), &r.rule_sha256);
            let mut plan = RulePlan {
                rule_id: rule_id.clone(),
                title: r.title.clone(),
                rule_sha256: r.rule_sha256.clone(),
                file: r.file.display().to_string(),
                line: r.line,
                routed: false,
                route: None,
                field_resolution: Vec::new(),
                fallback_used: false,
                unmapped_fields: Vec::new(),
                non_executable: None,
                exec_index: None,
                condition: r.conditions.join(" or "),
            };
            let compiled = match (mode, bridge) {
                (FieldMode::Sigma, _) => {
                    plan.routed = true;
                    pa_sigma::compile(r, &pa_sigma::IdentityResolver, opts)
                }
                (FieldMode::Ocsf, None) => {
                    return Err("OCSF mode needs the bridge".to_string());
                }
                (FieldMode::Ocsf, Some(b)) => {
                    let ls = to_bridge_logsource(&r.logsource);
                    match b.routed(&ls) {
                        Err(e) => {
                            plan.non_executable =
                                Some((e.reason_code.as_str().to_string(), e.explanation));
                            plans.push(plan);
                            continue;
                        }
                        Ok(routed) => {
                            plan.routed = true;
                            plan.route = Some(routed.route());
                            let res = BridgeResolver {
                                routed,
                                seen: RefCell::new(Vec::new()),
                                unmapped: RefCell::new(Vec::new()),
                            };
                            let c = pa_sigma::compile(r, &res, opts);
                            let mut seen = res.seen.into_inner();
                            seen.sort_by(|a, b| a.sigma_field.cmp(&b.sigma_field));
                            plan.fallback_used =
                                seen.iter().any(|s| s.kind == ResolutionKind::Fallback);
                            plan.field_resolution = seen;
                            let mut um = res.unmapped.into_inner();
                            um.sort();
                            um.dedup();
                            plan.unmapped_fields = um;
                            c
                        }
                    }
                }
            };
            match compiled {
                Ok(c) => {
                    plan.exec_index = Some(rules.len());
                    rules.push(ExecRule {
                        rule_id,
                        compiled: c,
                        route: plan.route.clone(),
                    });
                }
                Err(ne) => plan.non_executable = Some((ne.reason_code, ne.message)),
            }
            plans.push(plan);
        }
        for c in &set.correlations {
            let rule_id = rule_id_of(c.id.as_deref(), c.name.as_deref(), &c.rule_sha256);
            plans.push(RulePlan {
                rule_id,
                title: c.title.clone(),
                rule_sha256: c.rule_sha256.clone(),
                file: c.file.display().to_string(),
                line: c.line,
                routed: false,
                route: None,
                field_resolution: Vec::new(),
                fallback_used: false,
                unmapped_fields: Vec::new(),
                non_executable: Some((
                    "unsupported_correlation".to_string(),
                    format!(
                        "correlation rules ({}) are parsed but not evaluated in this version",
                        c.correlation_type
                    ),
                )),
                exec_index: None,
                condition: String::new(),
            });
        }
        let mut by_class: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
        let mut all = None;
        match mode {
            FieldMode::Ocsf => {
                for (i, r) in rules.iter().enumerate() {
                    if let Some(route) = &r.route {
                        for c in &route.class_uids {
                            by_class.entry(*c).or_default().push(i);
                        }
                    }
                }
            }
            FieldMode::Sigma => {
                all = Some(
                    Engine::new(rules.iter().map(|r| r.compiled.clone()).collect())
                        .map_err(|e| e.to_string())?,
                );
            }
        }
        let mut engines = BTreeMap::new();
        for (class, idx) in by_class {
            let engine = Engine::new(idx.iter().map(|&i| rules[i].compiled.clone()).collect())
                .map_err(|e| e.to_string())?;
            engines.insert(class, (engine, idx));
        }
        Ok(Detector {
            mode,
            rules,
            plans,
            by_class: engines,
            all,
        })
    }

    /// Indices (into [`Detector::rules`], ascending) of the rules that match `event`.
    pub fn detect(&self, event: &Value) -> Vec<usize> {
        match self.mode {
            FieldMode::Sigma => {
                let ev = SigmaJsonEvent::new(event.clone());
                self.all
                    .as_ref()
                    .map(|e| e.matches(&ev))
                    .unwrap_or_default()
            }
            FieldMode::Ocsf => {
                let Some(class) = event.get("class_uid").and_then(Value::as_u64) else {
                    return Vec::new();
                };
                let Some((engine, idx)) = u32::try_from(class)
                    .ok()
                    .and_then(|c| self.by_class.get(&c))
                else {
                    return Vec::new();
                };
                let ev = JsonEvent::new(event.clone());
                let mut out: Vec<usize> = engine
                    .matches(&ev as &dyn Event)
                    .into_iter()
                    .map(|k| idx[k])
                    .filter(|&i| {
                        self.rules[i]
                            .route
                            .as_ref()
                            .is_none_or(|r| r.filters.is_empty() || r.in_scope(event))
                    })
                    .collect();
                out.sort_unstable();
                out
            }
        }
    }

    /// The `bridge/compiled_plans/<rule_id>.plan.json` document of a plan.
    pub fn plan_document(&self, p: &RulePlan, mapping_pack_sha256: &str) -> Value {
        let mut doc = json!({
            "rule_id": p.rule_id,
            "rule_title": p.title,
            "rule_sha256": p.rule_sha256,
            "rule_file": p.file,
            "rule_line": p.line,
            "mapping_pack_sha256": mapping_pack_sha256,
            "backend": {"id": "pa_native", "version": env!("CARGO_PKG_VERSION"),
                        "settings": {"case": "insensitive_unless_cased", "regex": "rust_regex", "timezone": "UTC"}},
            "executable": p.non_executable.is_none(),
            "condition": p.condition,
            "compilation": {
                "routed_scope": p.route.as_ref().map(|r| json!({
                    "route_id": r.route_id, "class_uids": r.class_uids,
                    "filters": r.filters.iter().map(|f| serde_json::to_value(f).unwrap_or(Value::Null)).collect::<Vec<_>>(),
                })),
                "field_resolution": p.field_resolution.iter().map(|f| json!({
                    "sigma_field": f.sigma_field, "path": f.path,
                    "kind": serde_json::to_value(f.kind).unwrap_or(Value::Null),
                })).collect::<Vec<_>>(),
                "fallback_used": p.fallback_used,
            },
        });
        if let Some(i) = p.exec_index {
            doc["plan"] = json!({"kind": "pa_native_indexed", "selections": self.rules[i].compiled.selections.len(),
                                 "matchers": self.rules[i].compiled.matcher_count});
        }
        if let Some((code, msg)) = &p.non_executable {
            doc["non_executable_reason"] = json!({"reason_domain": "bridge_compiled_plan",
                                                  "reason_code": code, "explanation": msg});
        }
        doc
    }
}
