//! `pa-lint`: static checks of the content a detection engineer writes — Atomic Red Team
//! technique files, scenarios, range configurations, validation criteria packs, Sigma rules
//! and mapping profiles — into one `pa:lint-report:v1` document (SPEC §14).
//!
//! Offline and read-only. Every check reuses the loader the pipeline itself uses, so lint
//! says what a run would say, earlier:
//!
//! | kind | checks | loaders |
//! |---|---|---|
//! | `atomic-template` | technique file present, YAML decode (no anchors), `auto_generated_guid`, `#{input}` placeholder syntax and names, unused inputs | `pa-atomic` (`Technique::parse`, `template`) |
//! | `scenario` | decode and semantic checks, technique files present, test selection, input resolution | `pa-config`, `pa-atomic` |
//! | `range-config` | decode and semantic checks | `pa-config` |
//! | `criteria-pack` | decode and semantic checks | `pa-criteria` |
//! | `sigma-rule` | load issues, unknown modifiers, modifier combinations, rules that cannot run under the bridge (the set `pa-detect check` reports), YAML 1.1 plain scalars | `pa-detection` (`load_rules`, `Detector::build`, `check_report`) |
//! | `mapping-profile` | decode and semantic checks of a normalizer profile tree or the bridge pack | `pa-ocsf`, `pa-bridge` |
//!
//! Which kind a path is: see [`detect`]. Findings carry a line, a column and a fix hint
//! beside what `lint.json` holds ([`report`]).

pub mod detect;
pub mod report;

mod atomic;
mod files;
mod scenario;
mod sigma;
mod yaml11;

use std::path::{Path, PathBuf};

pub use detect::Unit;
pub use report::{Finding, Report, Severity, Status, Target, TargetKind, sort_findings};

/// Why linting could not run (as opposed to findings about the content).
#[derive(Debug, thiserror::Error)]
pub enum LintError {
    /// A path to lint does not exist.
    #[error("{}: no such file or directory", .0.display())]
    PathMissing(PathBuf),
    /// A file whose kind cannot be told from its name or content.
    #[error(
        "{}: cannot tell what kind of content this is; pass --target with one of: {}",
        .0.display(),
        detect::KIND_NAMES
    )]
    UnknownKind(PathBuf),
    /// A directory holding nothing pa-lint knows.
    #[error(
        "{}: no lintable content found (Atomic tests, scenario, range, criteria pack, Sigma rules or mapping profile); pass --target to say what it holds",
        .0.display()
    )]
    NothingToLint(PathBuf),
    /// A path that exists but cannot be read.
    #[error("{}: cannot read: {source}", .path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The detection side could not be set up (bridge data missing or invalid, engine limits).
    #[error(transparent)]
    Detect(#[from] pa_detection::DetectError),
    /// The report does not satisfy its own contract (a bug).
    #[error("lint report: {0}")]
    Contract(String),
}

/// What to lint and how.
#[derive(Debug, Clone)]
pub struct LintOptions {
    /// Files and folders to lint, relative to the current directory or absolute.
    pub paths: Vec<PathBuf>,
    /// Take every path as this kind instead of detecting it.
    pub target: Option<TargetKind>,
    /// The threshold of `summary.status` `fail`.
    pub fail_on: Severity,
    /// The Atomic Red Team `atomics` folder scenarios refer to (default `<root>/atomics`).
    pub atomics: Option<PathBuf>,
    /// The bridge data for Sigma rules (default: the shipped `mappings/bridge`).
    pub bridge: Option<PathBuf>,
    /// The root report paths are relative to: the current directory (relative paths are
    /// reported as written, absolute ones under the root relative to it).
    pub root: PathBuf,
}

impl LintOptions {
    /// Options for `paths` with the defaults: detected kinds, fail on errors, root = the
    /// current directory.
    pub fn new(paths: Vec<PathBuf>) -> LintOptions {
        LintOptions {
            paths,
            target: None,
            fail_on: Severity::Error,
            atomics: None,
            bridge: None,
            root: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
        }
    }
}

/// What every check needs: where report paths are relative to, and the shared settings.
pub(crate) struct Ctx {
    pub root: PathBuf,
    pub atomics: PathBuf,
    /// Whether `atomics` was given (`--atomics`) rather than defaulted.
    pub atomics_given: bool,
    pub bridge: Option<PathBuf>,
}

impl Ctx {
    /// A context for unit tests: `root/atomics`, not given; the shipped bridge when `bridge`.
    #[cfg(test)]
    pub(crate) fn for_test(root: &Path, bridge: bool) -> Ctx {
        Ctx {
            root: root.to_path_buf(),
            atomics: root.join("atomics"),
            atomics_given: false,
            bridge: bridge
                .then(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../mappings/bridge")),
        }
    }

    /// `p` as a report path: an absolute path under the root relative to it, a relative one
    /// (relative to the current directory, which is the root) as written; `/`-separated, `.`
    /// components dropped.
    pub fn display(&self, p: &Path) -> String {
        let rel = if p.is_absolute() {
            match normalize(p).strip_prefix(normalize(&self.root)) {
                Ok(r) => r.to_path_buf(),
                Err(_) => normalize(p),
            }
        } else {
            normalize(p)
        };
        let s = rel
            .components()
            .map(|c| match c {
                std::path::Component::RootDir => String::new(),
                c => c.as_os_str().to_string_lossy().into_owned(),
            })
            .collect::<Vec<_>>()
            .join("/");
        if s.is_empty() { ".".into() } else { s }
    }
}

/// Drop `.` components and fold `x/..` lexically (no filesystem access).
fn normalize(p: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                let last = out.components().next_back();
                if matches!(last, Some(Component::Normal(_))) {
                    out.pop();
                } else {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Lint `opts.paths`. `Err` when linting could not run (a path does not exist, a kind cannot
/// be told, the bridge does not load); findings about the content are in the report.
pub fn lint(opts: &LintOptions) -> Result<Report, LintError> {
    let ctx = Ctx {
        root: opts.root.clone(),
        atomics: opts
            .atomics
            .clone()
            .unwrap_or_else(|| opts.root.join("atomics")),
        atomics_given: opts.atomics.is_some(),
        bridge: opts.bridge.clone(),
    };
    let mut units = Vec::new();
    for p in &opts.paths {
        if std::fs::symlink_metadata(p).is_err() {
            return Err(LintError::PathMissing(p.clone()));
        }
        units.extend(detect::plan(p, opts.target)?);
    }
    let mut targets: Vec<Target> = units
        .iter()
        .filter_map(|u| {
            u.kind.map(|kind| Target {
                path: ctx.display(&u.given),
                kind,
            })
        })
        .collect();
    targets.sort();
    targets.dedup();
    let mut findings = Vec::new();
    let mut sigma_paths = Vec::new();
    for u in &units {
        tracing::debug!(path = %u.path.display(), kind = ?u.kind, "linting");
        match u.kind {
            Some(TargetKind::AtomicTemplate) => findings.extend(atomic::lint(&ctx, &u.path)),
            Some(TargetKind::Scenario) => findings.extend(scenario::lint(&ctx, &u.path)),
            Some(TargetKind::RangeConfig) => findings.extend(files::range_config(&ctx, &u.path)),
            Some(TargetKind::CriteriaPack) => findings.extend(files::criteria_pack(&ctx, &u.path)),
            Some(TargetKind::MappingProfile) => {
                findings.extend(files::mapping_profile(&ctx, &u.path))
            }
            Some(TargetKind::RedactionPolicy) => {
                findings.extend(files::redaction_policy(&ctx, &u.path))
            }
            Some(TargetKind::SigmaRule) => sigma_paths.push(u.path.clone()),
            None => findings.extend(files::unclassified(&ctx, &u.path)),
        }
    }
    if !sigma_paths.is_empty() {
        findings.extend(sigma::lint(&ctx, &sigma_paths)?);
    }
    sort_findings(&mut findings);
    tracing::debug!(
        targets = targets.len(),
        findings = findings.len(),
        "lint finished"
    );
    Ok(Report {
        targets,
        findings,
        fail_on: opts.fail_on,
        tool_error: false,
    })
}

/// The report of a lint that could not run: no target, no finding, status `tool_error`.
pub fn tool_error_report(fail_on: Severity) -> Report {
    Report {
        targets: Vec::new(),
        findings: Vec::new(),
        fail_on,
        tool_error: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_paths_are_relative_to_the_root() {
        let ctx = Ctx {
            root: PathBuf::from("/work/repo"),
            atomics: PathBuf::from("/work/repo/atomics"),
            atomics_given: false,
            bridge: None,
        };
        assert_eq!(ctx.display(Path::new("atomics")), "atomics");
        assert_eq!(ctx.display(Path::new("./a/./b.yaml")), "a/b.yaml");
        assert_eq!(ctx.display(Path::new("/work/repo/x/y.yml")), "x/y.yml");
        assert_eq!(
            ctx.display(Path::new("../shared/data/r.yml")),
            "../shared/data/r.yml"
        );
        assert_eq!(
            ctx.display(Path::new("/elsewhere/r.yml")),
            "/elsewhere/r.yml"
        );
        assert_eq!(ctx.display(Path::new(".")), ".");
        assert_eq!(ctx.display(Path::new("a/../b")), "b");
    }
}
