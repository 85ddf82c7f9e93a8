//! Compiling one rule of a set: routed by its logsource (OCSF mode) and compiled once per
//! routed class with that class's field paths, or compiled against Sigma field names. Rules are
//! independent of each other, so [`super::Detector::build`] compiles them in parallel and
//! assembles the results in load order.

use super::{ExecRule, FieldMode, PlanField, RulePlan, rule_id_of};
use pa_bridge::{Bridge, ResolutionKind};
use pa_sigma::{CompileOptions, FieldResolver, Rule, Unresolved};
use std::cell::RefCell;

/// Resolves Sigma fields for one routed class: the class's own alias path (aliases may differ
/// per class, e.g. `TargetObject` → `reg_key.path` / `reg_value.path`).
struct ClassResolver<'a> {
    routed: pa_bridge::Routed<'a>,
    class_uid: u32,
    seen: RefCell<Vec<PlanField>>,
    unmapped: RefCell<Vec<String>>,
}

impl FieldResolver for ClassResolver<'_> {
    fn resolve(&self, sigma_field: &str) -> Result<String, Unresolved> {
        let r = match self.routed.resolve_by_class(sigma_field) {
            Ok(r) => r,
            Err(e) => {
                if let Some(f) = &e.field {
                    self.unmapped.borrow_mut().push(f.clone());
                }
                return Err(Unresolved {
                    reason_code: e.reason_code.as_str().to_string(),
                    message: e.explanation,
                });
            }
        };
        let Some(path) = r.paths.get(&self.class_uid).cloned() else {
            self.unmapped.borrow_mut().push(r.sigma_field.clone());
            return Err(Unresolved {
                reason_code: "unmapped_field".to_string(),
                message: format!(
                    "field {} has no path for OCSF class {} (route {})",
                    r.sigma_field,
                    self.class_uid,
                    self.routed.route().route_id
                ),
            });
        };
        let mut seen = self.seen.borrow_mut();
        if !seen.iter().any(|s| s.sigma_field == r.sigma_field) {
            seen.push(PlanField {
                sigma_field: r.sigma_field,
                path: path.clone(),
                kind: r.kind,
                class_uid: Some(self.class_uid),
            });
        }
        Ok(path)
    }
}

fn to_bridge_logsource(ls: &pa_sigma::LogSource) -> pa_bridge::LogSource {
    pa_bridge::LogSource::new(
        ls.product.as_deref(),
        ls.category.as_deref(),
        ls.service.as_deref(),
    )
}

/// Route and compile `r`: its plan (without `exec_indices`, which the caller assigns) and its
/// executable compilations (one per class compiled, in route order).
pub(super) fn compile_rule(
    r: &Rule,
    source: usize,
    corr_fields: &[String],
    bridge: Option<&Bridge>,
    mode: FieldMode,
    opts: &CompileOptions,
) -> Result<(RulePlan, Vec<ExecRule>), crate::DetectError> {
    let mut execs = Vec::new();
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
        non_executable_item: None,
        exec_indices: Vec::new(),
        condition: r.conditions.join(" or "),
        technique_ids: r.technique_ids.clone(),
        correlation: None,
    };
    match (mode, bridge) {
        (FieldMode::Sigma, _) => {
            plan.routed = true;
            match pa_sigma::compile(r, &pa_sigma::IdentityResolver, opts) {
                Ok(c) => {
                    execs.push(ExecRule {
                        rule_id: rule_id.clone(),
                        compiled: c,
                        route: None,
                        class_uid: None,
                        source,
                        corr_keys: corr_fields.iter().map(|f| Some(f.clone())).collect(),
                    });
                }
                Err(ne) => {
                    plan.non_executable_item = ne.item.map(|i| *i);
                    plan.non_executable = Some((ne.reason_code, ne.message));
                }
            }
        }
        (FieldMode::Ocsf, None) => {
            return Err(crate::DetectError::BridgeRequired);
        }
        (FieldMode::Ocsf, Some(b)) => {
            let ls = to_bridge_logsource(&r.logsource);
            let routed = match b.routed(&ls) {
                Err(e) => {
                    plan.non_executable = Some((e.reason_code.as_str().to_string(), e.explanation));
                    return Ok((plan, execs));
                }
                Ok(routed) => routed,
            };
            plan.routed = true;
            let route = routed.route();
            plan.route = Some(route.clone());
            let mut first_err = None;
            let mut unmapped = Vec::new();
            for &class_uid in &route.class_uids {
                let res = ClassResolver {
                    routed,
                    class_uid,
                    seen: RefCell::new(Vec::new()),
                    unmapped: RefCell::new(Vec::new()),
                };
                let c = pa_sigma::compile(r, &res, opts);
                unmapped.extend(res.unmapped.into_inner());
                match c {
                    Ok(c) => {
                        plan.field_resolution.extend(res.seen.into_inner());
                        // correlation fields resolve as the rule's own do (not recorded in the
                        // rule's field resolution)
                        let keys = ClassResolver {
                            routed,
                            class_uid,
                            seen: RefCell::new(Vec::new()),
                            unmapped: RefCell::new(Vec::new()),
                        };
                        execs.push(ExecRule {
                            rule_id: rule_id.clone(),
                            compiled: c,
                            route: Some(route.clone()),
                            class_uid: Some(class_uid),
                            source,
                            corr_keys: corr_fields.iter().map(|f| keys.resolve(f).ok()).collect(),
                        });
                    }
                    Err(ne) => {
                        first_err.get_or_insert((ne.reason_code, ne.message, ne.item.map(|i| *i)));
                    }
                }
            }
            plan.field_resolution
                .sort_by(|a, b| (&a.sigma_field, a.class_uid).cmp(&(&b.sigma_field, b.class_uid)));
            plan.fallback_used = plan
                .field_resolution
                .iter()
                .any(|s| s.kind == ResolutionKind::Fallback);
            unmapped.sort();
            unmapped.dedup();
            plan.unmapped_fields = unmapped;
            if execs.is_empty() {
                if let Some((code, message, item)) = first_err {
                    plan.non_executable = Some((code, message));
                    plan.non_executable_item = item;
                }
            }
        }
    }
    Ok((plan, execs))
}
