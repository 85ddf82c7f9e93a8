//! Input resolution (SPEC §3 steps 3–5): scenario `input_args` over defaults, `#{name}`
//! substitution to a fixed point, then the commands after substitution, each in two forms:
//! with the real atomics folder (what the executor runs) and with `$ATOMICS_ROOT` (identity
//! material: resolved inputs hash, `command_post_merge`).
//!
//! Rules, in the order they are checked:
//! 1. The executor's command is present and no command entry is blank (`empty_command`;
//!    a `manual` test needs `steps` instead).
//! 2. Reserved identity keys are not input names (`reserved_input_key_collision`); every
//!    `input_args` name is declared by the test (`undeclared_input`); every declared input has
//!    a value, from `input_args` or its default (`missing_required_input`).
//! 3. Fixed point: each pass substitutes every value using the values of the previous pass
//!    (a snapshot; keys in bytewise order); resolution ends at the first pass that changes
//!    nothing, after at most [`MAX_RESOLUTION_PASSES`] passes. A placeholder that does not parse
//!    or names no input fails (`unresolved_placeholder`). Values still changing after the last
//!    pass, or still holding placeholders at the fixed point (`a: "#{b}"`, `b: "#{a}"` settles
//!    as two self-references), fail with the cycle named (`input_resolution_cycle_or_growth`).
//! 4. Commands (executor, cleanup, dependency check and get commands, manual steps) are
//!    substituted once with the resolved values; unknown names fail as in 3. Dependency
//!    descriptions are prose: substituted when they parse, else kept as written.
//! 5. `$PathToAtomicsFolder` and `PathToAtomicsFolder` (ASCII case-insensitive, as
//!    Invoke-AtomicRedTeam's `-replace` matches them) are replaced, after substitution, by the
//!    real atomics folder or by `$ATOMICS_ROOT`.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::{AtomicError, TestRef};
use crate::identity::{
    IdentityInputs, PRINCIPAL_ALIAS_KEY, REQUIREMENTS_KEY, Requirements, RequirementsOverride,
};
use crate::model::{Commands, ExecutorName, SelectedTest};
use crate::template::{self, SubstError};

/// The most substitution passes of the input fixed point (SPEC §3 step 4).
pub const MAX_RESOLUTION_PASSES: usize = 8;

/// The literal that stands for the atomics folder in identity-bearing material.
pub const ATOMICS_ROOT_TOKEN: &str = "$ATOMICS_ROOT";

const ROOT_WORD: &[u8] = b"pathtoatomicsfolder";

/// Replace `$PathToAtomicsFolder` and `PathToAtomicsFolder` (ASCII case-insensitive) by
/// `root`, in one left-to-right scan (the replacement is never scanned again).
pub fn replace_atomics_root(text: &str, root: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    while i + ROOT_WORD.len() <= bytes.len() {
        if bytes[i..i + ROOT_WORD.len()].eq_ignore_ascii_case(ROOT_WORD) {
            let start = if i > copied && bytes[i - 1] == b'$' {
                i - 1
            } else {
                i
            };
            // Only ASCII bytes were matched, so both cut points are char boundaries.
            out.push_str(&text[copied..start]);
            out.push_str(root);
            i += ROOT_WORD.len();
            copied = i;
        } else {
            i += 1;
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// A list of commands in both forms.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommandForms {
    /// With the real atomics folder: what the executor runs.
    pub actual: Vec<String>,
    /// With `$ATOMICS_ROOT`: the canonical expanded command (`command_post_merge`).
    pub canonical: Vec<String>,
}

impl CommandForms {
    /// Whether there is no command.
    pub fn is_empty(&self) -> bool {
        self.actual.is_empty()
    }
}

/// One prerequisite after substitution.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResolvedDependency {
    /// The description (with the real atomics folder), when present.
    pub description: Option<String>,
    /// The check commands.
    pub prereq_command: CommandForms,
    /// The commands that try to satisfy it.
    pub get_prereq_command: CommandForms,
}

/// A selected test with its inputs resolved and its commands substituted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedTest {
    /// The technique id.
    pub technique_id: String,
    /// The test's `auto_generated_guid`.
    pub engine_test_id: String,
    /// The 1-based test number.
    pub test_number: usize,
    /// The test's name.
    pub name: String,
    /// The executor of the commands.
    pub executor: ExecutorName,
    /// Whether the commands need an elevated principal.
    pub elevation_required: bool,
    /// The executor of the dependency commands.
    pub dependency_executor: ExecutorName,
    /// Resolved inputs with `$ATOMICS_ROOT`: the identity-bearing map.
    pub inputs: BTreeMap<String, String>,
    /// Resolved inputs with the real atomics folder.
    pub inputs_actual: BTreeMap<String, String>,
    /// The executor's commands (empty for `manual`).
    pub command: CommandForms,
    /// The cleanup commands (empty when the test has none).
    pub cleanup_command: CommandForms,
    /// Manual steps, for a `manual` test.
    pub steps: Option<CommandForms>,
    /// Prerequisites in file order.
    pub dependencies: Vec<ResolvedDependency>,
    /// Requirements derived from the test (platforms, executor tool).
    pub derived_requirements: Requirements,
    /// Substitution passes made, the last one changing nothing.
    pub passes: usize,
}

impl ResolvedTest {
    /// The identity-bearing resolved inputs alone (no principal alias, no requirements).
    pub fn identity_inputs(&self) -> Result<IdentityInputs, AtomicError> {
        IdentityInputs::new(&self.inputs)
    }

    /// The identity-bearing map of an action (ADR-0009): the resolved inputs, plus
    /// `__pa_principal_alias_v1` when the scenario names a principal alias, plus
    /// `__pa_action_requirements_v1` (the scenario's requirements over the derived ones) when
    /// the scenario declares requirements. Redaction is applied by the caller before hashing.
    pub fn identity(
        &self,
        principal_alias: Option<&str>,
        requirements: Option<&RequirementsOverride>,
    ) -> Result<IdentityInputs, AtomicError> {
        let mut map = self.identity_inputs()?;
        if let Some(alias) = principal_alias {
            map = map.with_principal_alias(alias);
        }
        if requirements.is_some() {
            let effective = self.derived_requirements.clone().overridden(requirements)?;
            map = map.with_requirements(&effective);
        }
        Ok(map)
    }
}

struct Ctx<'a> {
    sel: &'a SelectedTest<'a>,
    root_actual: &'a str,
}

impl Ctx<'_> {
    fn test(&self) -> Box<TestRef> {
        self.sel.test_ref()
    }

    fn declared(&self) -> Vec<String> {
        self.sel.test().input_arguments.keys().cloned().collect()
    }

    fn subst_error(&self, field: String, e: SubstError) -> AtomicError {
        match e {
            SubstError::Syntax(error) => AtomicError::PlaceholderSyntax {
                test: self.test(),
                field,
                error,
            },
            SubstError::Unknown(name) => AtomicError::UnresolvedPlaceholder {
                test: self.test(),
                field,
                name,
                declared: self.declared(),
            },
        }
    }

    fn check_commands(&self, field: &str, c: &Commands, required: bool) -> Result<(), AtomicError> {
        let empty = |field: String| AtomicError::EmptyCommand {
            test: self.test(),
            field,
        };
        if required && c.is_empty() {
            return Err(empty(field.to_string()));
        }
        match c.as_slice().iter().position(|s| s.trim().is_empty()) {
            Some(i) => Err(empty(format!("{field}[{i}]"))),
            None => Ok(()),
        }
    }

    fn forms(
        &self,
        field: &str,
        c: &[String],
        values: &BTreeMap<String, String>,
    ) -> Result<CommandForms, AtomicError> {
        let mut forms = CommandForms::default();
        for (i, text) in c.iter().enumerate() {
            let merged = template::substitute(text, |n| values.get(n).map(String::as_str))
                .map_err(|e| self.subst_error(format!("{field}[{i}]"), e))?;
            forms
                .actual
                .push(replace_atomics_root(&merged, self.root_actual));
            forms
                .canonical
                .push(replace_atomics_root(&merged, ATOMICS_ROOT_TOKEN));
        }
        Ok(forms)
    }
}

/// Resolve a selected test's inputs and commands. `input_args` are the scenario's values
/// (`plan.input_args`); `atomics_root_actual` is the atomics folder as the executor sees it
/// (on the target host for remote execution).
pub fn resolve(
    sel: &SelectedTest<'_>,
    input_args: &BTreeMap<String, String>,
    atomics_root_actual: &str,
) -> Result<ResolvedTest, AtomicError> {
    let ctx = Ctx {
        sel,
        root_actual: atomics_root_actual,
    };
    let test = sel.test();
    let engine_test_id = sel.engine_test_id()?;
    let ex = &test.executor;

    // 1. Command shapes.
    let manual = ex.name == ExecutorName::Manual;
    if manual && ex.steps.as_deref().is_none_or(|s| s.trim().is_empty()) {
        return Err(AtomicError::EmptyCommand {
            test: ctx.test(),
            field: "executor.steps".into(),
        });
    }
    ctx.check_commands("executor.command", &ex.command, !manual)?;
    ctx.check_commands("executor.cleanup_command", &ex.cleanup_command, false)?;
    for (i, d) in test.dependencies.iter().enumerate() {
        ctx.check_commands(
            &format!("dependencies[{i}].prereq_command"),
            &d.prereq_command,
            false,
        )?;
        ctx.check_commands(
            &format!("dependencies[{i}].get_prereq_command"),
            &d.get_prereq_command,
            false,
        )?;
    }

    // 2. Merge.
    let (merged, from_args) = merge(&ctx, input_args)?;

    // 3. Fixed point.
    let (values, passes) = fixed_point(&ctx, merged, &from_args)?;

    // 4–5. Commands and both forms of the inputs.
    let command = ctx.forms("executor.command", ex.command.as_slice(), &values)?;
    let cleanup_command = ctx.forms(
        "executor.cleanup_command",
        ex.cleanup_command.as_slice(),
        &values,
    )?;
    let steps = match (&ex.steps, manual) {
        (Some(s), true) => Some(ctx.forms("executor.steps", std::slice::from_ref(s), &values)?),
        _ => None,
    };
    let mut dependencies = Vec::new();
    for (i, d) in test.dependencies.iter().enumerate() {
        let description = d.description.as_ref().map(|text| {
            let merged = template::substitute(text, |n| values.get(n).map(String::as_str))
                .unwrap_or_else(|_| text.clone());
            replace_atomics_root(&merged, atomics_root_actual)
        });
        dependencies.push(ResolvedDependency {
            description,
            prereq_command: ctx.forms(
                &format!("dependencies[{i}].prereq_command"),
                d.prereq_command.as_slice(),
                &values,
            )?,
            get_prereq_command: ctx.forms(
                &format!("dependencies[{i}].get_prereq_command"),
                d.get_prereq_command.as_slice(),
                &values,
            )?,
        });
    }
    let inputs = values
        .iter()
        .map(|(k, v)| (k.clone(), replace_atomics_root(v, ATOMICS_ROOT_TOKEN)))
        .collect();
    let inputs_actual = values
        .iter()
        .map(|(k, v)| (k.clone(), replace_atomics_root(v, atomics_root_actual)))
        .collect();
    Ok(ResolvedTest {
        technique_id: sel.technique.technique_id.clone(),
        engine_test_id: engine_test_id.to_string(),
        test_number: sel.number(),
        name: test.name.clone(),
        executor: ex.name.clone(),
        elevation_required: ex.elevation_required,
        dependency_executor: test
            .dependency_executor_name
            .clone()
            .unwrap_or_else(|| ex.name.clone()),
        inputs,
        inputs_actual,
        command,
        cleanup_command,
        steps,
        dependencies,
        derived_requirements: Requirements::derived(test),
        passes,
    })
}

/// `input_args` over defaults; returns the merged map and the names whose value came from
/// `input_args`.
fn merge(
    ctx: &Ctx<'_>,
    input_args: &BTreeMap<String, String>,
) -> Result<(BTreeMap<String, String>, BTreeSet<String>), AtomicError> {
    let declared = &ctx.sel.test().input_arguments;
    for (field, key) in input_args
        .keys()
        .map(|k| ("input_args", k))
        .chain(declared.keys().map(|k| ("input_arguments", k)))
    {
        if key == PRINCIPAL_ALIAS_KEY || key == REQUIREMENTS_KEY {
            return Err(AtomicError::ReservedInputKey {
                test: ctx.test(),
                field: field.into(),
                key: key.clone(),
            });
        }
    }
    let undeclared: Vec<String> = input_args
        .keys()
        .filter(|k| !declared.contains_key(*k))
        .cloned()
        .collect();
    if !undeclared.is_empty() {
        return Err(AtomicError::UndeclaredInput {
            test: ctx.test(),
            names: undeclared,
            declared: ctx.declared(),
        });
    }
    let mut merged = BTreeMap::new();
    let mut missing = Vec::new();
    for (name, arg) in declared {
        match input_args.get(name).or(arg.default.as_ref()) {
            Some(v) => {
                merged.insert(name.clone(), v.clone());
            }
            None => missing.push(name.clone()),
        }
    }
    if !missing.is_empty() {
        return Err(AtomicError::MissingRequiredInput {
            test: ctx.test(),
            names: missing,
        });
    }
    let from_args = input_args.keys().cloned().collect();
    Ok((merged, from_args))
}

fn fixed_point(
    ctx: &Ctx<'_>,
    merged: BTreeMap<String, String>,
    from_args: &BTreeSet<String>,
) -> Result<(BTreeMap<String, String>, usize), AtomicError> {
    let field = |k: &str| {
        if from_args.contains(k) {
            format!("input_args.{k}")
        } else {
            format!("input_arguments.{k}.default")
        }
    };
    let mut current = merged.clone();
    for pass in 1..=MAX_RESOLUTION_PASSES {
        let mut next = BTreeMap::new();
        for (k, v) in &current {
            let s = template::substitute(v, |n| current.get(n).map(String::as_str))
                .map_err(|e| ctx.subst_error(field(k), e))?;
            next.insert(k.clone(), s);
        }
        if next == current {
            // Settled: a value still holding a placeholder refers to itself through a cycle.
            if current
                .values()
                .any(|v| template::placeholders(v).is_ok_and(|p| !p.is_empty()))
            {
                return Err(cycle_error(ctx, &merged, pass));
            }
            return Ok((current, pass));
        }
        current = next;
    }
    Err(cycle_error(ctx, &merged, MAX_RESOLUTION_PASSES))
}

fn cycle_error(ctx: &Ctx<'_>, merged: &BTreeMap<String, String>, passes: usize) -> AtomicError {
    AtomicError::InputCycle {
        test: ctx.test(),
        cycle: find_cycle(merged),
        passes,
    }
}

/// The first cycle of the "value of a references b" graph, searched from the keys in bytewise
/// order, as `a → … → a`; empty when there is none.
pub(crate) fn find_cycle(values: &BTreeMap<String, String>) -> Vec<String> {
    let edges: BTreeMap<&str, BTreeSet<&str>> = values
        .iter()
        .map(|(k, v)| {
            let refs = template::placeholders(v)
                .unwrap_or_default()
                .into_iter()
                .filter(|n| values.contains_key(*n))
                .collect();
            (k.as_str(), refs)
        })
        .collect();
    // Iterative DFS with colours: 0 unvisited, 1 on the stack, 2 done.
    let mut colour: BTreeMap<&str, u8> = BTreeMap::new();
    for &start in edges.keys() {
        if colour.get(start).copied().unwrap_or(0) != 0 {
            continue;
        }
        let mut stack: Vec<(&str, Vec<&str>)> =
            vec![(start, edges[start].iter().copied().collect())];
        colour.insert(start, 1);
        while let Some((node, pending)) = stack.last_mut() {
            let node = *node;
            if pending.is_empty() {
                colour.insert(node, 2);
                stack.pop();
                continue;
            }
            let next = pending.remove(0);
            match colour.get(next).copied().unwrap_or(0) {
                1 => {
                    let from = stack.iter().position(|(n, _)| *n == next).unwrap_or(0);
                    let mut cycle: Vec<String> =
                        stack[from..].iter().map(|(n, _)| n.to_string()).collect();
                    cycle.push(next.to_string());
                    return cycle;
                }
                0 => {
                    colour.insert(next, 1);
                    stack.push((next, edges[next].iter().copied().collect()));
                }
                _ => {}
            }
        }
    }
    Vec::new()
}

#[cfg(test)]
mod tests;
