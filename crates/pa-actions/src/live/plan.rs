//! The plan of a live run: every action resolved (target, Atomic test, inputs, secrets,
//! identity) before anything runs, so that a bad scenario fails with every problem named and
//! nothing executed.

use crate::identity;
use crate::live::redact::Redactor;
use pa_atomic::{AtomicsRoot, ExecutorName, ResolvedTest, TestSelector};
use pa_config::{Action, Asset, LabProvider, RangeConfig, ScenarioConfig};
use pa_exec::Interpreter;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Default per-action timeout.
pub const DEFAULT_TIMEOUT_SECS: u64 = 300;
/// Default bytes kept of each output stream.
pub const DEFAULT_OUTPUT_LIMIT: u64 = 1 << 20;

/// One action, ready to run.
#[derive(Debug, Clone)]
pub struct PlannedAction {
    /// The scenario's action.
    pub action: Action,
    /// The target asset.
    pub asset: Asset,
    /// The Atomic test with resolved inputs and commands (secrets in the clear: only the
    /// executor sees this).
    pub test: ResolvedTest,
    /// The interpreter of the test's commands, `None` when no executor of this version runs it.
    pub interpreter: Option<Interpreter>,
    /// The interpreter of the dependency commands.
    pub dependency_interpreter: Option<Interpreter>,
    /// Replaces secret values in everything written.
    pub redactor: Redactor,
    /// The resolved inputs (`$ATOMICS_ROOT` form) as published: secrets and whatever the
    /// redaction policy matches redacted.
    pub inputs_redacted: BTreeMap<String, String>,
    /// `resolved_inputs_sha256` (over the inputs with the secret values redacted).
    pub resolved_inputs_sha256: String,
    /// The action key.
    pub action_key: String,
    /// `command_sha256` of the execute command's material (SPEC §3 step 9; bare hex).
    pub command_sha256: String,
    /// The per-action timeout.
    pub timeout: Duration,
}

/// The whole plan.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Actions in scenario order.
    pub actions: Vec<PlannedAction>,
    /// The atomics folder as the executors see it.
    pub atomics_root_actual: String,
    /// Bytes kept of each output stream.
    pub output_limit: usize,
    /// Whether `get_prereq_command` may run.
    pub get_prereqs: bool,
    /// Whether cleanup runs at all (`runner.atomic.cleanup.invoke`).
    pub cleanup_invoke: bool,
}

/// Where secret references are resolved (the process environment in real use).
pub trait SecretSource {
    /// The value of environment variable `name`, if set.
    fn env(&self, name: &str) -> Option<String>;
}

/// The process environment.
pub struct ProcessEnv;

impl SecretSource for ProcessEnv {
    fn env(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

/// Why a plan cannot be run: every problem, each naming its action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanProblems {
    /// `(reason code, message)`, in scenario order.
    pub problems: Vec<(String, String)>,
}

impl std::fmt::Display for PlanProblems {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.problems.len();
        write!(f, "{n} action(s) cannot run: ")?;
        for (i, (code, msg)) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{msg} ({code})")?;
        }
        Ok(())
    }
}

/// The atomics folder a range names, resolved against the range's directory.
pub fn atomics_root(range: &RangeConfig, base: &Path) -> Option<PathBuf> {
    range
        .runner
        .atomic
        .atomics_root
        .as_ref()
        .map(|r| base.join(r))
}

fn interpreter(e: &ExecutorName) -> Option<Interpreter> {
    match e {
        ExecutorName::Sh => Some(Interpreter::Sh),
        ExecutorName::Bash => Some(Interpreter::Bash),
        ExecutorName::Powershell => Some(Interpreter::PowerShell),
        ExecutorName::CommandPrompt => Some(Interpreter::CommandPrompt),
        ExecutorName::Manual | ExecutorName::Other(_) => None,
    }
}

/// Choose the one asset an action targets (SPEC §3: all selector fields must match; several
/// matches → the smallest asset id).
pub fn select_target<'a>(action: &Action, assets: &'a [Asset]) -> Result<&'a Asset, String> {
    let sel = &action.target;
    let mut hits: Vec<&Asset> = assets
        .iter()
        .filter(|a| sel.asset_ids.is_empty() || sel.asset_ids.contains(&a.asset_id))
        .filter(|a| sel.roles.is_empty() || sel.roles.contains(&a.role))
        .filter(|a| sel.os.is_empty() || sel.os.contains(&a.os))
        .filter(|a| sel.tags.iter().all(|t| a.tags.contains(t)))
        .collect();
    hits.sort_by(|x, y| x.asset_id.cmp(&y.asset_id));
    match hits.first() {
        Some(a) => Ok(a),
        None if !sel.asset_ids.is_empty() => Err(format!(
            "target {:?} is not in the lab inventory (assets: {})",
            sel.asset_ids,
            assets
                .iter()
                .map(|a| a.asset_id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
        None => Err("no lab asset matches the action's target selector".to_string()),
    }
}

/// The working directory token of the command material (the real directory varies per run).
pub const WORKDIR_TOKEN: &str = "$PA_RUNNER_WORKDIR";

/// The environment the runner sets for every command, by name.
pub const ENV_REFS: [&str; 3] = ["PA_ACTION_ID", "PA_MARKER", "PA_RUN_ID"];

/// `command_material_v1` of a test's execute command: the interpreter and its `-c` text
/// (canonical form: `$ATOMICS_ROOT`, secrets redacted), run in the runner's work directory.
pub fn command_material(test: &ResolvedTest, redactor: &Redactor) -> pa_atomic::CommandMaterial {
    let (executable, flag) = interpreter(&test.executor)
        .and_then(Interpreter::posix_program)
        .unwrap_or(("", ""));
    let mut argv = Vec::new();
    if !flag.is_empty() {
        argv.push(flag.to_string());
    }
    argv.push(redactor.text(&test.command.canonical.join("\n")));
    pa_atomic::CommandMaterial {
        v: 1,
        executor: test.executor.as_str().to_string(),
        executable: executable.to_string(),
        argv_redacted: argv,
        cwd: WORKDIR_TOKEN.to_string(),
        stdin_present: false,
        env_refs: ENV_REFS.iter().map(|s| s.to_string()).collect(),
    }
}

/// Resolve every action of the scenario. `base` is the range file's directory.
pub fn build(
    run_id: &str,
    range: &RangeConfig,
    scenario: &ScenarioConfig,
    base: &Path,
    secrets: &dyn SecretSource,
) -> Result<Plan, PlanProblems> {
    let mut problems: Vec<(String, String)> = Vec::new();
    let mut push = |code: &str, msg: String| problems.push((code.to_string(), msg));
    let Some(root) = atomics_root(range, base) else {
        push(
            "atomic_yaml_not_found",
            "inputs/range.yaml: runner.atomic.atomics_root is not set: name your Atomic Red Team atomics folder".into(),
        );
        return Err(PlanProblems { problems });
    };
    let root_actual = match range.lab.provider {
        // On ssh targets the folder is at the same path on the host.
        LabProvider::Ssh => range.runner.atomic.atomics_root.clone().unwrap_or_default(),
        _ => std::path::absolute(&root)
            .unwrap_or_else(|_| root.clone())
            .display()
            .to_string(),
    };
    let atomics = AtomicsRoot::new(&root);
    let redaction = match crate::live::redact::policy(&range.security.redaction, base) {
        Ok(p) => p,
        Err(e) => {
            push("redaction_policy_error", e);
            return Err(PlanProblems { problems });
        }
    };
    let default_timeout = range
        .runner
        .atomic
        .timeout_seconds
        .unwrap_or(DEFAULT_TIMEOUT_SECS);
    let mut actions = Vec::new();
    let mut keys = BTreeSet::new();
    let _ = run_id;
    for a in &scenario.actions {
        let at = |m: String| format!("inputs/scenario.yaml: actions[{}]: {m}", a.action_id);
        if a.engine != "atomic" {
            push(
                "plan_type_reserved",
                at(format!("engine {:?}: only atomic actions run", a.engine)),
            );
            continue;
        }
        let asset = match select_target(a, &range.lab.assets) {
            Ok(x) => x.clone(),
            Err(m) => {
                push("target_not_in_inventory", at(m));
                continue;
            }
        };
        if range.lab.provider == LabProvider::Ssh && asset.address().is_none() {
            push(
                "target_connection_address_missing",
                at(format!(
                    "asset {} has neither ip nor hostname",
                    asset.asset_id
                )),
            );
            continue;
        }
        // Secrets: by reference, resolved now, redacted everywhere they would be written.
        let mut inputs = a.input_args.clone();
        let mut secret_values = Vec::new();
        let mut missing = false;
        for (k, r) in &a.secret_input_args {
            let name = r.strip_prefix("env:").unwrap_or(r);
            match secrets.env(name) {
                Some(v) if !v.is_empty() => {
                    secret_values.push(v.clone());
                    inputs.insert(k.clone(), v);
                }
                _ => {
                    push(
                        "integration_credentials_missing",
                        at(format!(
                            "secret input {k}: environment variable {name} is not set"
                        )),
                    );
                    missing = true;
                }
            }
        }
        if missing {
            continue;
        }
        let technique = match atomics.load(&a.technique_id) {
            Ok(t) => t,
            Err(e) => {
                push(e.reason_code(), at(e.to_string()));
                continue;
            }
        };
        let selector = match (&a.engine_test_id, a.test_number, &a.test_name) {
            (Some(g), _, _) => TestSelector::Guid(g),
            (None, Some(n), _) => TestSelector::Number(n),
            (None, None, Some(n)) => TestSelector::Name(n),
            (None, None, None) => {
                push(
                    "missing_engine_test_id",
                    at("no engine_test_id (the test's auto_generated_guid), test_number or test_name".into()),
                );
                continue;
            }
        };
        let resolved = technique
            .select(selector)
            .and_then(|sel| pa_atomic::resolve(&sel, &inputs, &root_actual));
        let test = match resolved {
            Ok(t) => t,
            Err(e) => {
                push(e.reason_code(), at(e.to_string()));
                continue;
            }
        };
        // Identities hash the inputs and commands with only the secret values replaced, so
        // they do not change with the redaction policy; what is published goes through the
        // whole policy.
        let identity_redactor =
            Redactor::with_policy(pa_redact::Policy::secrets_only(), secret_values.clone())
                .expect("the secrets-only policy compiles");
        let redactor = match Redactor::with_policy(redaction.clone(), secret_values) {
            Ok(r) => r,
            Err(e) => {
                push("redaction_policy_error", at(e.to_string()));
                continue;
            }
        };
        let ident = test
            .identity_inputs()
            .map(|m| m.redact(|_, v| identity_redactor.text(v)));
        let (inputs_redacted, digest) =
            match ident.and_then(|m| Ok((m.inputs().clone(), m.sha256()?))) {
                Ok((inputs, d)) => (
                    inputs
                        .into_iter()
                        .map(|(k, v)| {
                            let v = redactor.text(&v);
                            (k, v)
                        })
                        .collect(),
                    d,
                ),
                Err(e) => {
                    push(e.reason_code(), at(e.to_string()));
                    continue;
                }
            };
        let key = match identity::action_key(
            "atomic",
            &a.technique_id,
            &test.engine_test_id,
            &digest,
            &asset.asset_id,
        ) {
            Ok(k) => k,
            Err(e) => {
                push("action_key_collision", at(e.message));
                continue;
            }
        };
        if !keys.insert(key.clone()) {
            push(
                "action_key_collision",
                at(
                    "the same test with the same inputs on the same target as an earlier action"
                        .into(),
                ),
            );
            continue;
        }
        let command_sha256 = match command_material(&test, &identity_redactor).sha256() {
            Ok(h) => h,
            Err(e) => {
                push(e.reason_code(), at(e.to_string()));
                continue;
            }
        };
        actions.push(PlannedAction {
            action: a.clone(),
            asset,
            interpreter: interpreter(&test.executor),
            dependency_interpreter: interpreter(&test.dependency_executor),
            redactor,
            inputs_redacted,
            resolved_inputs_sha256: digest,
            action_key: key,
            command_sha256,
            timeout: Duration::from_secs(a.timeout_seconds.unwrap_or(default_timeout).max(1)),
            test,
        });
    }
    if !problems.is_empty() {
        return Err(PlanProblems { problems });
    }
    let allow_get = range.runner.get_prereqs() && scenario.safety.allow_get_prereqs;
    Ok(Plan {
        actions,
        atomics_root_actual: root_actual,
        output_limit: range
            .runner
            .output_limit_bytes
            .unwrap_or(DEFAULT_OUTPUT_LIMIT)
            .min(64 << 20) as usize,
        get_prereqs: allow_get,
        cleanup_invoke: range.runner.atomic.cleanup.invoke.unwrap_or(true),
    })
}

/// The plan as text for `pa-runner --dry-run`: each action's target, test and resolved
/// commands (secrets redacted).
pub fn describe(plan: &Plan) -> String {
    let mut s = String::new();
    for p in &plan.actions {
        let t = &p.test;
        s.push_str(&format!(
            "# {} — {} #{} {:?} ({}) on {} [{}]\n",
            p.action.action_id,
            t.technique_id,
            t.test_number,
            t.name,
            t.engine_test_id,
            p.asset.asset_id,
            t.executor
        ));
        if p.interpreter.is_none_or(|i| i.posix_program().is_none()) {
            s.push_str(&format!(
                "#   skipped: the {} executor is not supported by this version\n\n",
                t.executor
            ));
            continue;
        }
        if t.elevation_required {
            s.push_str("#   elevation required\n");
        }
        for (i, d) in t.dependencies.iter().enumerate() {
            s.push_str(&format!("## prerequisite {}\n", i + 1));
            for c in &d.prereq_command.actual {
                s.push_str(&p.redactor.text(c));
                s.push('\n');
            }
        }
        s.push_str("## execute\n");
        for c in &t.command.actual {
            s.push_str(&p.redactor.text(c));
            s.push('\n');
        }
        if !t.cleanup_command.is_empty() {
            s.push_str("## cleanup\n");
            for c in &t.cleanup_command.actual {
                s.push_str(&p.redactor.text(c));
                s.push('\n');
            }
        }
        s.push('\n');
    }
    s
}
