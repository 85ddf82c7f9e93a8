//! The loaded bridge: router table + alias sets + fallback policy, with `route` and
//! `resolve_field`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use pa_yaml::line_of;
use serde::Serialize;

use crate::error::{BridgeError, ReasonCode};
use crate::logsource::LogSource;
use crate::model::{FallbackMode, Filter, PackFile, RouterFile};
use pa_yaml::{FileError, YamlOptions};

/// The OCSF version every bridge data file must declare.
pub const OCSF_VERSION: &str = "1.7.0";

/// One route of the router table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteDef {
    /// Unique route id.
    pub route_id: String,
    /// The logsource keys the route names (normalized; absent = wildcard for product/service,
    /// unless `exact`).
    pub logsource: LogSource,
    /// When true, the rule's logsource must equal `logsource` on all three keys.
    pub exact: bool,
    /// OCSF classes in scope (sorted, unique, non-empty).
    pub class_uids: Vec<u32>,
    /// Extra event filters (e.g. `metadata.log_name`).
    pub filters: Vec<Filter>,
    /// The alias set used to resolve fields of rules taking this route.
    pub alias_set: String,
    /// Classes of the scope that resolve fields with their own alias set (class 0, the Base
    /// Event: every source field is under `unmapped`).
    pub alias_sets_by_class: BTreeMap<u32, String>,
    /// Free-text notes.
    pub notes: Option<String>,
}

/// The answer of [`Bridge::route`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Route {
    /// The route taken.
    pub route_id: String,
    /// OCSF classes in scope (sorted).
    pub class_uids: Vec<u32>,
    /// Extra filters every event must satisfy.
    pub filters: Vec<Filter>,
    /// The alias set the rule's fields are resolved with.
    pub alias_set: String,
}

/// One alias of a set: a path for all routed classes and/or per-class paths.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alias {
    /// Path used for every class without a `by_class` entry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Per-class paths (class_uid → path).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub by_class: BTreeMap<u32, String>,
    /// Why this mapping (not part of the digest-relevant snapshot).
    #[serde(skip)]
    pub note: Option<String>,
}

impl Alias {
    /// The path this alias gives for `class_uid`, if any.
    pub fn path_for(&self, class_uid: u32) -> Option<&str> {
        self.by_class
            .get(&class_uid)
            .map(String::as_str)
            .or(self.path.as_deref())
    }
}

/// The fallback rule of one alias set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fallback {
    /// Which fields may fall back.
    pub mode: FallbackMode,
    /// Path prefix; the fallback path is `<prefix>.<SigmaField>`.
    pub prefix: String,
    /// Fields allowed in `listed` mode (sorted).
    pub fields: BTreeSet<String>,
}

/// A named alias set, with `extends` already merged in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AliasSet {
    /// The set's name.
    pub name: String,
    /// What the set is for.
    pub description: Option<String>,
    /// Sets merged into this one (own entries win).
    pub extends: Vec<String>,
    /// Effective aliases (own + inherited).
    pub fields: BTreeMap<String, Alias>,
    /// Effective fallback (own, else the first inherited one, else none).
    pub fallback: Fallback,
}

/// How a field was resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResolutionKind {
    /// Through an alias of the set.
    Alias,
    /// Through the fallback policy (`unmapped.<Field>`): counted as `fallback_used`.
    Fallback,
}

/// The answer of [`Bridge::resolve_field`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldResolution {
    /// The Sigma field name (modifiers stripped).
    pub sigma_field: String,
    /// The OCSF path (dotted) to read.
    pub path: String,
    /// Alias or fallback.
    pub kind: ResolutionKind,
}

/// The answer of [`Routed::resolve_by_class`]: the path per routed class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClassResolution {
    /// The Sigma field name (modifiers stripped).
    pub sigma_field: String,
    /// class_uid → OCSF path, for every routed class that has one (never empty).
    pub paths: BTreeMap<u32, String>,
    /// `Alias` when some class reads an alias path, else `Fallback`.
    pub kind: ResolutionKind,
    /// The classes whose path is the fallback `<prefix>.<Field>` (every class when `kind` is
    /// `Fallback`; with a per-class alias, the routed classes it names no path for).
    pub fallback_classes: BTreeSet<u32>,
}

/// Pack identity and fallback switch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackInfo {
    /// `mapping_pack_id`.
    pub mapping_pack_id: String,
    /// `mapping_pack_version`.
    pub mapping_pack_version: String,
    /// Global switch: when false no field ever falls back.
    pub fallback_enabled: bool,
    /// Prefix used by sets that do not name their own.
    pub default_prefix: String,
}

/// Router table identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouterInfo {
    /// `router_table_id`.
    pub router_table_id: String,
    /// `router_table_version`.
    pub router_table_version: String,
}

/// The Sigma→OCSF bridge: router table, alias sets and fallback policy.
#[derive(Debug, Clone)]
pub struct Bridge {
    pub(crate) pack: PackInfo,
    pub(crate) router: RouterInfo,
    pub(crate) routes: Vec<RouteDef>,
    pub(crate) alias_sets: BTreeMap<String, AliasSet>,
}

/// A logsource that has been routed: resolves fields without routing again.
#[derive(Debug, Clone, Copy)]
pub struct Routed<'a> {
    bridge: &'a Bridge,
    logsource: &'a LogSource,
    route: &'a RouteDef,
    set: &'a AliasSet,
}

/// A dotted OCSF attribute path: segments of ASCII letters, digits and `_`.
pub(crate) fn valid_path(p: &str) -> bool {
    !p.is_empty()
        && p.split('.').all(|seg| {
            !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        })
}

/// Strip Sigma modifiers (`Field|contains|all` → `Field`) and surrounding whitespace.
pub fn strip_modifiers(sigma_field: &str) -> &str {
    sigma_field.split('|').next().unwrap_or("").trim()
}

impl Bridge {
    /// Load and validate `dir` (`pack.yaml`, `router.yaml`, `aliases/*.yaml`).
    pub fn load(dir: impl AsRef<Path>) -> Result<Bridge, FileError> {
        let dir = dir.as_ref();
        let pack_path = dir.join("pack.yaml");
        let pack: PackFile = pa_yaml::read_yaml_strict(&pack_path, &YamlOptions::default())?;
        let router_path = dir.join("router.yaml");
        let router: RouterFile = pa_yaml::read_yaml_strict(&router_path, &YamlOptions::default())?;

        for (p, v) in [
            (&pack_path, &pack.ocsf_version),
            (&router_path, &router.ocsf_version),
        ] {
            if v.value != OCSF_VERSION {
                return Err(FileError::invalid(
                    p,
                    line_of(v),
                    format!(
                        "ocsf_version {:?} is not {OCSF_VERSION} (bridge_mapping_pack_invalid)",
                        v.value
                    ),
                ));
            }
        }
        for (p, v) in [
            (&pack_path, &pack.mapping_pack_id),
            (&pack_path, &pack.mapping_pack_version),
            (&router_path, &router.router_table_id),
            (&router_path, &router.router_table_version),
        ] {
            if v.value.trim().is_empty() {
                return Err(FileError::invalid(
                    p,
                    line_of(v),
                    "identifier must not be empty",
                ));
            }
        }
        let default_prefix = pack.fallback_policy.default_prefix.value.clone();
        if !valid_path(&default_prefix) {
            return Err(FileError::invalid(
                &pack_path,
                line_of(&pack.fallback_policy.default_prefix),
                format!("default_prefix {default_prefix:?} is not a dotted path"),
            ));
        }

        let raw_sets = crate::load::load_alias_files(dir, &default_prefix)?;
        let alias_sets = crate::load::flatten_sets(&raw_sets, &default_prefix)?;
        let routes = crate::load::build_routes(&router_path, router.routes, &alias_sets)?;

        Ok(Bridge {
            pack: PackInfo {
                mapping_pack_id: pack.mapping_pack_id.value,
                mapping_pack_version: pack.mapping_pack_version.value,
                fallback_enabled: pack.fallback_policy.enabled,
                default_prefix,
            },
            router: RouterInfo {
                router_table_id: router.router_table_id.value,
                router_table_version: router.router_table_version.value,
            },
            routes,
            alias_sets,
        })
    }

    /// The same bridge with the global fallback switched on or off (e.g. for conformance tests
    /// that require fallback to be disabled).
    pub fn with_fallback_enabled(mut self, enabled: bool) -> Bridge {
        self.pack.fallback_enabled = enabled;
        self
    }

    /// Pack identity and fallback switch.
    pub fn pack(&self) -> &PackInfo {
        &self.pack
    }

    /// Router table identity.
    pub fn router_info(&self) -> &RouterInfo {
        &self.router
    }

    /// All routes, sorted by `route_id`.
    pub fn routes(&self) -> &[RouteDef] {
        &self.routes
    }

    /// All alias sets (effective, `extends` merged), by name.
    pub fn alias_sets(&self) -> &BTreeMap<String, AliasSet> {
        &self.alias_sets
    }

    /// Route a logsource: the most specific matching route, or `unroutable_logsource`.
    pub fn route(&self, logsource: &LogSource) -> Result<Route, BridgeError> {
        let ls = logsource.normalized();
        let def = self.route_def(&ls)?;
        Ok(Route {
            route_id: def.route_id.clone(),
            class_uids: def.class_uids.clone(),
            filters: def.filters.clone(),
            alias_set: def.alias_set.clone(),
        })
    }

    /// Route once and get a resolver for the rule's fields. `logsource` must be normalized
    /// (see [`LogSource::normalized`]); it is borrowed by the result.
    pub fn routed<'a>(&'a self, logsource: &'a LogSource) -> Result<Routed<'a>, BridgeError> {
        let route = self.route_def(logsource)?;
        let set = self
            .alias_sets
            .get(&route.alias_set)
            .ok_or_else(|| BridgeError {
                reason_code: ReasonCode::UnroutableLogsource,
                explanation: format!(
                    "route {} names alias set {} which is not loaded",
                    route.route_id, route.alias_set
                ),
                logsource: Box::new(logsource.clone()),
                field: None,
                candidates: vec![route.route_id.clone()],
            })?;
        Ok(Routed {
            bridge: self,
            logsource,
            route,
            set,
        })
    }

    /// Resolve one Sigma field (modifiers after `|` are ignored) for a logsource.
    pub fn resolve_field(
        &self,
        logsource: &LogSource,
        sigma_field: &str,
    ) -> Result<FieldResolution, BridgeError> {
        let ls = logsource.normalized();
        self.routed(&ls)?.resolve(sigma_field)
    }

    fn route_def(&self, ls: &LogSource) -> Result<&RouteDef, BridgeError> {
        let matches = |want: &Option<String>, have: &Option<String>| {
            want.as_ref().is_none_or(|w| have.as_ref() == Some(w))
        };
        let candidates: Vec<&RouteDef> = self
            .routes
            .iter()
            .filter(|r| {
                if r.exact {
                    r.logsource == *ls
                } else {
                    r.logsource.category == ls.category
                        && matches(&r.logsource.product, &ls.product)
                        && matches(&r.logsource.service, &ls.service)
                }
            })
            .collect();
        let specificity = |r: &RouteDef| {
            usize::from(r.logsource.product.is_some()) + usize::from(r.logsource.service.is_some())
        };
        let Some(best) = candidates.iter().map(|r| specificity(r)).max() else {
            return Err(BridgeError {
                reason_code: ReasonCode::UnroutableLogsource,
                explanation: format!("no route for logsource {}", ls.key()),
                logsource: Box::new(ls.clone()),
                field: None,
                candidates: Vec::new(),
            });
        };
        let top: Vec<&RouteDef> = candidates
            .into_iter()
            .filter(|r| specificity(r) == best)
            .collect();
        match top.as_slice() {
            [one] => Ok(one),
            many => Err(BridgeError {
                reason_code: ReasonCode::UnroutableLogsource,
                explanation: format!(
                    "{} equally specific routes tie for logsource {}",
                    many.len(),
                    ls.key()
                ),
                logsource: Box::new(ls.clone()),
                field: None,
                candidates: many.iter().map(|r| r.route_id.clone()).collect(),
            }),
        }
    }
}

impl<'a> Routed<'a> {
    /// The route's classes that resolve fields with its main set (`alias_set`).
    fn main_classes(&self) -> Vec<u32> {
        self.route
            .class_uids
            .iter()
            .copied()
            .filter(|c| !self.route.alias_sets_by_class.contains_key(c))
            .collect()
    }

    /// The route taken.
    pub fn route(&self) -> Route {
        Route {
            route_id: self.route.route_id.clone(),
            class_uids: self.route.class_uids.clone(),
            filters: self.route.filters.clone(),
            alias_set: self.route.alias_set.clone(),
        }
    }

    /// Resolve one Sigma field (modifiers after `|` are ignored).
    pub fn resolve(&self, sigma_field: &str) -> Result<FieldResolution, BridgeError> {
        let name = strip_modifiers(sigma_field);
        let err = |reason_code, explanation: String, candidates: Vec<String>| BridgeError {
            reason_code,
            explanation,
            logsource: Box::new(self.logsource.clone()),
            field: Some(name.to_string()),
            candidates,
        };
        if name.is_empty() {
            return Err(err(
                ReasonCode::UnmappedField,
                "an empty field name (keyword search) has no OCSF path".to_string(),
                Vec::new(),
            ));
        }
        if let Some(alias) = lookup(self.set, name) {
            let main = self.main_classes();
            let paths: BTreeSet<&str> = main.iter().filter_map(|c| alias.path_for(*c)).collect();
            let mut it = paths.iter();
            return match (it.next(), it.next()) {
                (Some(p), None) => Ok(FieldResolution {
                    sigma_field: name.to_string(),
                    path: (*p).to_string(),
                    kind: ResolutionKind::Alias,
                }),
                (None, _) => Err(err(
                    ReasonCode::UnmappedField,
                    format!(
                        "alias set {} maps {name} for none of the routed classes {:?}",
                        self.set.name, main
                    ),
                    Vec::new(),
                )),
                (Some(_), Some(_)) => Err(err(
                    ReasonCode::AmbiguousFieldAlias,
                    format!(
                        "alias set {} maps {name} to different paths across classes {:?}",
                        self.set.name, main
                    ),
                    paths.iter().map(|p| (*p).to_string()).collect(),
                )),
            };
        }
        if let Some(path) = self.fallback_path(self.set, name) {
            return Ok(FieldResolution {
                sigma_field: name.to_string(),
                path,
                kind: ResolutionKind::Fallback,
            });
        }
        Err(err(
            ReasonCode::UnmappedField,
            format!(
                "field {name} has no alias in set {} and no allowed fallback (route {})",
                self.set.name, self.route.route_id
            ),
            Vec::new(),
        ))
    }

    /// Resolve one Sigma field per routed class, for a class-aware evaluator: unlike
    /// [`Routed::resolve`], per-class aliases that differ are not an error (each class keeps its
    /// own path). A routed class for which the field's alias gives no path (a `by_class` alias
    /// without a default `path`) reads the set's fallback `<prefix>.<Field>` when the policy
    /// allows the field to fall back (the normalizer keeps source fields without an OCSF home
    /// of that class there), and has no path otherwise. Fails with `unmapped_field` only.
    pub fn resolve_by_class(&self, sigma_field: &str) -> Result<ClassResolution, BridgeError> {
        let name = strip_modifiers(sigma_field);
        let mut res = self.resolve_main(sigma_field, name);
        if name.is_empty() {
            // a keyword search reads no field
            return res;
        }
        // Classes with their own alias set: an alias of that set, else its fallback.
        for (class, set_name) in &self.route.alias_sets_by_class {
            let Some(set) = self.bridge.alias_sets.get(set_name) else {
                continue;
            };
            let own = (!name.is_empty())
                .then(|| lookup(set, name))
                .flatten()
                .and_then(|a| a.path_for(*class))
                .map(|p| (p.to_string(), false))
                .or_else(|| self.fallback_path(set, name).map(|p| (p, true)));
            let Some((path, fell_back)) = own else {
                continue;
            };
            // The main classes may have no path for the field: these classes still do.
            if res.is_err() {
                res = Ok(ClassResolution {
                    sigma_field: name.to_string(),
                    paths: BTreeMap::new(),
                    kind: ResolutionKind::Fallback,
                    fallback_classes: BTreeSet::new(),
                });
            }
            if let Ok(r) = &mut res {
                r.paths.insert(*class, path);
                if fell_back {
                    r.fallback_classes.insert(*class);
                } else {
                    r.kind = ResolutionKind::Alias;
                }
            }
        }
        res
    }

    /// [`Routed::resolve_by_class`] over the classes that resolve with the route's main set.
    fn resolve_main(&self, sigma_field: &str, name: &str) -> Result<ClassResolution, BridgeError> {
        let main = self.main_classes();
        if let Some(alias) = (!name.is_empty()).then(|| lookup(self.set, name)).flatten() {
            let mut paths: BTreeMap<u32, String> = main
                .iter()
                .filter_map(|c| alias.path_for(*c).map(|p| (*c, p.to_string())))
                .collect();
            if !paths.is_empty() {
                let mut fallback_classes = BTreeSet::new();
                if let Some(fb) = self.fallback_path(self.set, name) {
                    for c in &main {
                        if !paths.contains_key(c) {
                            paths.insert(*c, fb.clone());
                            fallback_classes.insert(*c);
                        }
                    }
                }
                return Ok(ClassResolution {
                    sigma_field: name.to_string(),
                    paths,
                    kind: ResolutionKind::Alias,
                    fallback_classes,
                });
            }
        }
        match self.resolve(sigma_field) {
            Ok(r) => Ok(ClassResolution {
                sigma_field: r.sigma_field,
                paths: main.iter().map(|c| (*c, r.path.clone())).collect(),
                fallback_classes: if r.kind == ResolutionKind::Fallback {
                    main.iter().copied().collect()
                } else {
                    BTreeSet::new()
                },
                kind: r.kind,
            }),
            Err(e) => Err(e),
        }
    }

    /// The fallback path of a field (`<prefix>.<Field>`) when the pack's policy and the set's
    /// mode allow it.
    fn fallback_path(&self, set: &AliasSet, name: &str) -> Option<String> {
        let fb = &set.fallback;
        let allowed = self.bridge.pack.fallback_enabled
            && match fb.mode {
                FallbackMode::None => false,
                FallbackMode::Any => true,
                FallbackMode::Listed => fb.fields.contains(name),
            };
        allowed.then(|| format!("{}.{name}", fb.prefix))
    }
}

/// An alias of `set`: exact name first, then a unique ASCII-case-insensitive match.
fn lookup<'s>(set: &'s AliasSet, name: &str) -> Option<&'s Alias> {
    if let Some(a) = set.fields.get(name) {
        return Some(a);
    }
    let mut found = set
        .fields
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(name));
    match (found.next(), found.next()) {
        (Some((_, a)), None) => Some(a),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    /// A small bridge written to a temp dir.
    fn tiny(router_extra: &str) -> Result<Bridge, FileError> {
        let tmp =
            tempfile::tempdir().map_err(|source| FileError::io(std::env::temp_dir(), &source))?;
        let dir = tmp.path().to_path_buf();
        fs::create_dir_all(dir.join("aliases"))
            .map_err(|source| FileError::io(dir.clone(), &source))?;
        let w = |rel: &str, text: &str| {
            fs::write(dir.join(rel), text).map_err(|source| FileError::io(dir.join(rel), &source))
        };
        w(
            "pack.yaml",
            "mapping_pack_id: p\nmapping_pack_version: '1'\nocsf_version: '1.7.0'\nfallback_policy: {enabled: true, default_prefix: unmapped}\n",
        )?;
        w(
            "router.yaml",
            &format!(
                "router_table_id: r\nrouter_table_version: '1'\nocsf_version: '1.7.0'\nroutes:\n  \
                 - {{route_id: generic, sigma_logsource: {{category: pc}}, ocsf_scope: {{class_uids: [1007]}}, alias_set: s}}\n  \
                 - {{route_id: win, sigma_logsource: {{category: pc, product: windows}}, ocsf_scope: {{class_uids: [1007]}}, alias_set: s}}\n  \
                 - {{route_id: reg, sigma_logsource: {{category: reg, product: windows}}, ocsf_scope: {{class_uids: [201002, 201001]}}, alias_set: r}}\n  \
                 - {{route_id: svc, sigma_logsource: {{product: windows, service: security}}, ocsf_scope: {{class_uids: [3002]}}, alias_set: s}}\n  \
                 - {{route_id: lin, sigma_logsource: {{exact: true, product: linux}}, ocsf_scope: {{class_uids: [1007]}}, alias_set: s}}\n{router_extra}"
            ),
        )?;
        w(
            "aliases/s.yaml",
            "alias_set: s\nfallback: {mode: listed, fields: [Hashes]}\nfields:\n  Image: process.file.path\n",
        )?;
        w(
            "aliases/r.yaml",
            "alias_set: r\nextends: [s]\nfields:\n  TargetObject: {by_class: {201001: reg_key.path, 201002: reg_value.path}}\n  Details: {by_class: {201002: reg_value.data}}\n  Only: {by_class: {3002: user.name}}\n",
        )?;
        w(
            "aliases/a.yaml",
            "alias_set: a\nfallback: {mode: any}\nfields:\n  TargetUserName: {by_class: {1007: process.user.name, 3002: user.name}}\n  IpAddress: {by_class: {3002: src_endpoint.ip}}\n",
        )?;
        Bridge::load(&dir)
    }

    fn ls(p: Option<&str>, c: Option<&str>, s: Option<&str>) -> LogSource {
        LogSource::new(p, c, s)
    }

    #[test]
    fn most_specific_route_wins_and_case_is_ignored() {
        let b = tiny("").expect("load");
        assert_eq!(
            b.route(&ls(Some(" WINDOWS"), Some("PC"), None))
                .expect("route")
                .route_id,
            "win"
        );
        assert_eq!(
            b.route(&ls(Some("linux"), Some("pc"), None))
                .expect("route")
                .route_id,
            "generic"
        );
        assert_eq!(
            b.route(&ls(None, Some("pc"), None))
                .expect("route")
                .route_id,
            "generic"
        );
        // a service the route does not name does not prevent a match
        assert_eq!(
            b.route(&ls(Some("windows"), Some("pc"), Some("sysmon")))
                .expect("route")
                .route_id,
            "win"
        );
        // service-only: category must be absent on both sides
        assert_eq!(
            b.route(&ls(Some("windows"), None, Some("security")))
                .expect("route")
                .route_id,
            "svc"
        );
        let e = b
            .route(&ls(Some("windows"), Some("x"), None))
            .expect_err("none");
        assert_eq!(e.reason_code, ReasonCode::UnroutableLogsource);
        let e = b
            .route(&ls(Some("linux"), None, Some("security")))
            .expect_err("product differs");
        assert_eq!(e.reason_code, ReasonCode::UnroutableLogsource);
        // class uids are sorted
        assert_eq!(
            b.route(&ls(Some("windows"), Some("reg"), None))
                .expect("r")
                .class_uids,
            [201001, 201002]
        );
    }

    #[test]
    fn exact_routes_need_every_key_equal() {
        let b = tiny("").expect("load");
        assert_eq!(
            b.route(&ls(Some("Linux"), None, None))
                .expect("route")
                .route_id,
            "lin"
        );
        let e = b
            .route(&ls(Some("linux"), None, Some("syslog")))
            .expect_err("service named");
        assert_eq!(e.reason_code, ReasonCode::UnroutableLogsource);
        let e = tiny(
            "  - {route_id: bare, sigma_logsource: {product: macos}, ocsf_scope: {class_uids: [1007]}, alias_set: s}\n",
        )
        .expect_err("product-only without exact");
        assert!(
            e.to_string().contains("needs a category or a service"),
            "{e}"
        );
    }

    #[test]
    fn equally_specific_routes_tie() {
        let b = tiny(
            "  - {route_id: by-service, sigma_logsource: {category: pc, service: sysmon}, ocsf_scope: {class_uids: [1007]}, alias_set: s}\n",
        )
        .expect("load");
        let e = b
            .route(&ls(Some("windows"), Some("pc"), Some("sysmon")))
            .expect_err("tie");
        assert_eq!(e.reason_code, ReasonCode::UnroutableLogsource);
        assert_eq!(e.candidates, ["by-service", "win"]);
    }

    #[test]
    fn alias_fallback_unmapped_and_ambiguous() {
        let b = tiny("").expect("load");
        let w = ls(Some("windows"), Some("pc"), None);
        let r = b.resolve_field(&w, "Image|endswith").expect("alias");
        assert_eq!(
            (r.path.as_str(), r.kind),
            ("process.file.path", ResolutionKind::Alias)
        );
        assert_eq!(r.sigma_field, "Image");
        assert_eq!(
            b.resolve_field(&w, "image").expect("case-insensitive").path,
            "process.file.path"
        );
        let r = b.resolve_field(&w, "Hashes|contains").expect("fallback");
        assert_eq!(
            (r.path.as_str(), r.kind),
            ("unmapped.Hashes", ResolutionKind::Fallback)
        );
        assert_eq!(
            b.resolve_field(&w, "Nope").expect_err("x").reason_code,
            ReasonCode::UnmappedField
        );
        assert_eq!(
            b.resolve_field(&w, "|contains").expect_err("x").reason_code,
            ReasonCode::UnmappedField
        );
        let off = b.clone().with_fallback_enabled(false);
        assert_eq!(
            off.resolve_field(&w, "Hashes").expect_err("x").reason_code,
            ReasonCode::UnmappedField
        );

        let reg = ls(Some("windows"), Some("reg"), None);
        let e = b
            .resolve_field(&reg, "TargetObject")
            .expect_err("ambiguous");
        assert_eq!(e.reason_code, ReasonCode::AmbiguousFieldAlias);
        assert_eq!(e.candidates, ["reg_key.path", "reg_value.path"]);
        // a by_class alias that covers one routed class is not ambiguous
        assert_eq!(
            b.resolve_field(&reg, "Details").expect("one class").path,
            "reg_value.data"
        );
        // an alias for none of the routed classes is unmapped
        assert_eq!(
            b.resolve_field(&reg, "Only").expect_err("x").reason_code,
            ReasonCode::UnmappedField
        );
        // inherited alias and fallback
        assert_eq!(
            b.resolve_field(&reg, "Image").expect("inherited").path,
            "process.file.path"
        );
        assert_eq!(
            b.resolve_field(&reg, "Hashes").expect("inherited").kind,
            ResolutionKind::Fallback
        );

        let routed = b.routed(&reg).expect("routed");
        let by = routed.resolve_by_class("TargetObject").expect("per class");
        assert_eq!(
            by.paths.get(&201001).map(String::as_str),
            Some("reg_key.path")
        );
        assert_eq!(
            by.paths.get(&201002).map(String::as_str),
            Some("reg_value.path")
        );
        let by = routed
            .resolve_by_class("Hashes")
            .expect("fallback per class");
        assert_eq!(by.paths.len(), 2);
        assert_eq!(by.kind, ResolutionKind::Fallback);
        assert!(routed.resolve_by_class("Nope").is_err());
    }

    #[test]
    fn per_class_alias_gaps_read_the_fallback_when_the_policy_allows() {
        let extra = "  - {route_id: sec, sigma_logsource: {product: windows, service: sec}, ocsf_scope: {class_uids: [1001, 1007, 3002]}, alias_set: a}\n";
        let b = tiny(extra).expect("load");
        let sec = ls(Some("windows"), None, Some("sec"));
        let routed = b.routed(&sec).expect("routed");
        // differing per-class aliases: one path per class, no error
        let by = routed
            .resolve_by_class("TargetUserName|contains")
            .expect("per class");
        assert_eq!(by.kind, ResolutionKind::Alias);
        assert_eq!(
            by.paths,
            BTreeMap::from([
                (1001, "unmapped.TargetUserName".to_string()),
                (1007, "process.user.name".to_string()),
                (3002, "user.name".to_string()),
            ])
        );
        assert_eq!(by.fallback_classes, BTreeSet::from([1001]));
        // the single-path resolution still calls that ambiguous
        assert_eq!(
            routed.resolve("TargetUserName").expect_err("x").reason_code,
            ReasonCode::AmbiguousFieldAlias
        );
        let by = routed.resolve_by_class("IpAddress").expect("per class");
        assert_eq!(by.paths.len(), 3);
        assert_eq!(by.fallback_classes, BTreeSet::from([1001, 1007]));
        // a plain fallback field: every class, all fallback
        let by = routed.resolve_by_class("ShareName").expect("fallback");
        assert_eq!(by.kind, ResolutionKind::Fallback);
        assert_eq!(by.fallback_classes.len(), 3);
        // with the policy off, the gaps stay without a path
        let off = b.clone().with_fallback_enabled(false);
        let routed_off = off.routed(&sec).expect("routed");
        let by = routed_off
            .resolve_by_class("IpAddress")
            .expect("alias class");
        assert_eq!(
            by.paths,
            BTreeMap::from([(3002, "src_endpoint.ip".to_string())])
        );
        assert!(by.fallback_classes.is_empty());
        // a listed fallback that does not list the field leaves the gap too
        let reg_ls = ls(Some("windows"), Some("reg"), None);
        let reg = b.routed(&reg_ls).expect("routed");
        let by = reg.resolve_by_class("Details").expect("one class");
        assert_eq!(
            by.paths,
            BTreeMap::from([(201002, "reg_value.data".to_string())])
        );
    }

    #[test]
    fn strip_modifiers_keeps_the_field() {
        assert_eq!(strip_modifiers("CommandLine|contains|all"), "CommandLine");
        assert_eq!(strip_modifiers(" Image "), "Image");
        assert_eq!(strip_modifiers("|re"), "");
        assert!(valid_path("a.b_c.d1"));
        assert!(!valid_path("a..b"));
        assert!(!valid_path("a.b-c"));
    }
}
