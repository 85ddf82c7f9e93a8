//! The one error type of the crate and the SPEC §3 reason code of each case.

use std::fmt;
use std::path::PathBuf;

use crate::template::TemplateError;

/// Which test of which file an error is about, for the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestRef {
    /// The technique file.
    pub path: PathBuf,
    /// The line the test starts on (0: unknown).
    pub line: u64,
    /// The technique id.
    pub technique_id: String,
    /// 1-based test number in the file (Invoke-AtomicTest's `-TestNumbers`).
    pub number: usize,
    /// The test's name.
    pub name: String,
    /// The test's `auto_generated_guid`, when it has one.
    pub guid: Option<String>,
}

impl fmt::Display for TestRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if self.line > 0 {
            write!(f, ":{}", self.line)?;
        }
        write!(
            f,
            ": {} test #{} {:?}",
            self.technique_id, self.number, self.name
        )?;
        if let Some(g) = &self.guid {
            write!(f, " ({g})")?;
        }
        Ok(())
    }
}

/// Everything that can go wrong loading a technique, selecting a test, resolving its inputs or
/// computing its identity. Every message names the file (and test) it is about;
/// [`AtomicError::reason_code`] gives the SPEC §3 reason code.
#[derive(Debug, thiserror::Error)]
pub enum AtomicError {
    /// The technique file (or the atomics root) cannot be read, does not decode, or breaks a
    /// rule of the format.
    #[error(transparent)]
    File(#[from] pa_yaml::FileError),
    /// The technique id is not `T` + 4 digits (+ `.` + 3 digits).
    #[error("{technique_id:?} is not an ATT&CK technique id (T1234 or T1234.567)")]
    InvalidTechniqueId {
        /// The id as given.
        technique_id: String,
    },
    /// `atomics/<T>/<T>.yaml` does not exist.
    #[error("{}: no Atomic technique file for {technique_id}", .path.display())]
    TechniqueNotFound {
        /// The technique id.
        technique_id: String,
        /// Where the file was looked for.
        path: PathBuf,
    },
    /// No test of the file matches the selector.
    #[error("{}: {technique_id} has no test with {wanted} (tests: {available})", .path.display())]
    UnknownTest {
        /// The technique file.
        path: PathBuf,
        /// The technique id.
        technique_id: String,
        /// The selector, for the message (`auto_generated_guid X`, `number N`, `name "X"`).
        wanted: String,
        /// The file's tests, `#N guid` each.
        available: String,
    },
    /// More than one test matches the selector.
    #[error("{}: {technique_id} has more than one test with {wanted}: {matches}; select by auto_generated_guid or number", .path.display())]
    AmbiguousTest {
        /// The technique file.
        path: PathBuf,
        /// The technique id.
        technique_id: String,
        /// The selector, for the message.
        wanted: String,
        /// The matching tests, `#N guid` each.
        matches: String,
    },
    /// The selected test has no (or an empty) `auto_generated_guid`.
    #[error("{test}: auto_generated_guid (engine_test_id) must be a non-empty string")]
    MissingEngineTestId {
        /// The test.
        test: Box<TestRef>,
    },
    /// A command field is missing where one is required, or holds an empty command.
    #[error("{test}: {field}: empty command")]
    EmptyCommand {
        /// The test.
        test: Box<TestRef>,
        /// The field (`executor.command`, `dependencies[1].prereq_command[0]`...).
        field: String,
    },
    /// A reserved identity key is used as an input name.
    #[error("{test}: {field}: {key:?} is reserved for action identity and cannot be an input")]
    ReservedInputKey {
        /// The test.
        test: Box<TestRef>,
        /// Where the key was found (`input_args` or `input_arguments`).
        field: String,
        /// The reserved key.
        key: String,
    },
    /// A resolved inputs map given for hashing holds a reserved identity key.
    #[error("resolved inputs: {key:?} is reserved for action identity and cannot be an input")]
    ReservedIdentityKey {
        /// The reserved key.
        key: String,
    },
    /// Scenario `input_args` name inputs the test does not declare.
    #[error("{test}: input_args {} not declared by the test (declared: {})", .names.join(", "), list_or_none(.declared))]
    UndeclaredInput {
        /// The test.
        test: Box<TestRef>,
        /// The undeclared names (bytewise order).
        names: Vec<String>,
        /// The declared input names.
        declared: Vec<String>,
    },
    /// Inputs without a default that the scenario does not set.
    #[error("{test}: input {} has no default and no value in input_args", .names.join(", "))]
    MissingRequiredInput {
        /// The test.
        test: Box<TestRef>,
        /// The inputs (bytewise order).
        names: Vec<String>,
    },
    /// A text does not parse as `pa.template_atomic.v1`.
    #[error("{test}: {field}: {error}")]
    PlaceholderSyntax {
        /// The test.
        test: Box<TestRef>,
        /// The field holding the text.
        field: String,
        /// The parse error.
        error: TemplateError,
    },
    /// A placeholder names no input of the test.
    #[error("{test}: {field}: placeholder #{{{name}}} names no input (declared: {})", list_or_none(.declared))]
    UnresolvedPlaceholder {
        /// The test.
        test: Box<TestRef>,
        /// The field holding the placeholder.
        field: String,
        /// The placeholder's name.
        name: String,
        /// The declared input names.
        declared: Vec<String>,
    },
    /// Inputs that reference each other in a cycle, or keep growing.
    #[error("{test}: {}", cycle_message(.cycle, *.passes))]
    InputCycle {
        /// The test.
        test: Box<TestRef>,
        /// The inputs of one cycle, the first repeated at the end (`a → b → a`); empty when
        /// no cycle was found (references nested too deep for the pass budget).
        cycle: Vec<String>,
        /// The passes made.
        passes: usize,
    },
    /// A scenario requirement that is not in the closed vocabulary.
    #[error("requirements.privilege {value:?} is not one of user, admin, system")]
    InvalidPrivilege {
        /// The value given.
        value: String,
    },
    /// An identity basis that cannot be canonicalized (RFC 8785).
    #[error(transparent)]
    Canon(#[from] pa_canon::CanonError),
}

fn list_or_none(names: &[String]) -> String {
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

fn cycle_message(cycle: &[String], passes: usize) -> String {
    if cycle.is_empty() {
        format!(
            "input values did not reach a fixed point within {passes} passes (references nested too deep)"
        )
    } else {
        format!(
            "input values reference each other in a cycle: {} (unresolved after {passes} passes)",
            cycle.join(" → ")
        )
    }
}

impl AtomicError {
    /// The SPEC §3 reason code (`reason_domain` `ground_truth`) of the error.
    pub fn reason_code(&self) -> &'static str {
        match self {
            AtomicError::File(e) if e.kind == pa_yaml::FileErrorKind::Io => "storage_io_error",
            AtomicError::File(_) | AtomicError::InvalidTechniqueId { .. } => {
                "config_schema_invalid"
            }
            AtomicError::InvalidPrivilege { .. } => "config_schema_invalid",
            AtomicError::TechniqueNotFound { .. } => "atomic_yaml_not_found",
            AtomicError::UnknownTest { .. }
            | AtomicError::AmbiguousTest { .. }
            | AtomicError::MissingEngineTestId { .. } => "missing_engine_test_id",
            AtomicError::EmptyCommand { .. } => "empty_command",
            AtomicError::ReservedInputKey { .. } | AtomicError::ReservedIdentityKey { .. } => {
                "reserved_input_key_collision"
            }
            AtomicError::UndeclaredInput { .. } => "undeclared_input",
            AtomicError::MissingRequiredInput { .. } => "missing_required_input",
            AtomicError::PlaceholderSyntax { .. } | AtomicError::UnresolvedPlaceholder { .. } => {
                "unresolved_placeholder"
            }
            AtomicError::InputCycle { .. } => "input_resolution_cycle_or_growth",
            AtomicError::Canon(_) => "storage_io_error",
        }
    }
}
