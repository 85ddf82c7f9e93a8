//! The Atomic Red Team technique file (`atomics/<T>/<T>.yaml`), loaded strictly through
//! `pa-yaml`, and the selection of one of its tests.
//!
//! Strict: unknown keys are errors at every level, types are YAML 1.2, duplicate keys are
//! rejected, `attack_technique` must match the file's technique id. Tolerant of upstream's
//! real shape: `description`, `supported_platforms`, `input_arguments`, `dependencies` and
//! `cleanup_command` may be absent or null; an input `default` is kept as the text written
//! (`755`, `16.0`, `0755` stay what they say) and a null default means "required"; commands
//! may be a string or a list of strings (a blank string is no command); an executor name outside
//! the five upstream ones is kept (its tool token is `unknown_executor`).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use pa_yaml::{FileError, Spanned, YamlOptions};
use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};

use crate::error::{AtomicError, TestRef};

/// An executor name (`executor.name`, `dependency_executor_name`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ExecutorName {
    /// `sh`
    Sh,
    /// `bash`
    Bash,
    /// `powershell`
    Powershell,
    /// `command_prompt`
    CommandPrompt,
    /// `manual`: steps for a person, nothing to run.
    Manual,
    /// Any other name, as written.
    Other(String),
}

impl ExecutorName {
    /// Parse a name as written in a technique file.
    pub fn parse(name: &str) -> Self {
        match name {
            "sh" => ExecutorName::Sh,
            "bash" => ExecutorName::Bash,
            "powershell" => ExecutorName::Powershell,
            "command_prompt" => ExecutorName::CommandPrompt,
            "manual" => ExecutorName::Manual,
            other => ExecutorName::Other(other.to_string()),
        }
    }

    /// The name as written.
    pub fn as_str(&self) -> &str {
        match self {
            ExecutorName::Sh => "sh",
            ExecutorName::Bash => "bash",
            ExecutorName::Powershell => "powershell",
            ExecutorName::CommandPrompt => "command_prompt",
            ExecutorName::Manual => "manual",
            ExecutorName::Other(s) => s,
        }
    }

    /// The requirement tool token of SPEC §3 step 6: `powershell`, `cmd`, `sh`, `bash`,
    /// `python`, else `unknown_executor` (`manual` included: nothing runs it).
    pub fn tool_token(&self) -> &'static str {
        match self {
            ExecutorName::Sh => "sh",
            ExecutorName::Bash => "bash",
            ExecutorName::Powershell => "powershell",
            ExecutorName::CommandPrompt => "cmd",
            ExecutorName::Other(s) if s == "python" => "python",
            ExecutorName::Manual | ExecutorName::Other(_) => "unknown_executor",
        }
    }

    /// Whether this is a POSIX shell executor (`sh` or `bash`).
    pub fn is_posix_shell(&self) -> bool {
        matches!(self, ExecutorName::Sh | ExecutorName::Bash)
    }
}

impl fmt::Display for ExecutorName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ExecutorName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(ExecutorName::parse(&s))
    }
}

/// A command field: a string or a list of strings, normalized to a list in order (SPEC §3
/// step 1). A blank string is no command (an empty list); blank entries of a list are kept so
/// that [`crate::resolve`] can refuse them with `empty_command`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Commands(pub Vec<String>);

impl Commands {
    /// The commands in order.
    pub fn as_slice(&self) -> &[String] {
        &self.0
    }

    /// Whether there is no command.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'de> Deserialize<'de> for Commands {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Commands;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a command string or a list of command strings")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Commands, E> {
                Ok(Commands(if s.trim().is_empty() {
                    Vec::new()
                } else {
                    vec![s.to_string()]
                }))
            }
            // A plain scalar such as `true` or `0` is a command too (the shell builtins).
            fn visit_bool<E: de::Error>(self, b: bool) -> Result<Commands, E> {
                Ok(Commands(vec![b.to_string()]))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Commands, E> {
                Ok(Commands(vec![n.to_string()]))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Commands, E> {
                Ok(Commands(vec![n.to_string()]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Commands, A::Error> {
                let mut out = Vec::new();
                while let Some(s) = seq.next_element::<String>()? {
                    out.push(s);
                }
                Ok(Commands(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// A null (or absent) value as the type's default.
fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// One `input_arguments` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputArgument {
    /// What the input is for.
    #[serde(default)]
    pub description: Option<String>,
    /// The declared type (`string`, `path`, `url`, `integer`, `float`..., any case), informative.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// The default as the text written; `None` (absent or null) makes the input required.
    #[serde(default)]
    pub default: Option<String>,
}

/// One `dependencies` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dependency {
    /// What the prerequisite is.
    #[serde(default)]
    pub description: Option<String>,
    /// Checks the prerequisite (exit 0: met).
    #[serde(default, deserialize_with = "nullable")]
    pub prereq_command: Commands,
    /// Tries to satisfy the prerequisite.
    #[serde(default, deserialize_with = "nullable")]
    pub get_prereq_command: Commands,
}

/// The `executor` block.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Executor {
    /// Which executor runs the commands.
    pub name: ExecutorName,
    /// Whether the commands need an elevated principal.
    #[serde(default, deserialize_with = "nullable")]
    pub elevation_required: bool,
    /// What to run.
    #[serde(default, deserialize_with = "nullable")]
    pub command: Commands,
    /// What undoes it.
    #[serde(default, deserialize_with = "nullable")]
    pub cleanup_command: Commands,
    /// Instructions for a person (`manual` executor).
    #[serde(default)]
    pub steps: Option<String>,
}

/// One entry of `atomic_tests`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AtomicTest {
    /// The test's name.
    pub name: String,
    /// The test's GUID: the action's `engine_test_id`.
    #[serde(default)]
    pub auto_generated_guid: Option<String>,
    /// What the test does.
    #[serde(default)]
    pub description: Option<String>,
    /// OS families / platforms (`windows`, `linux`, `macos`, `iaas:aws`...).
    #[serde(default, deserialize_with = "nullable")]
    pub supported_platforms: Vec<String>,
    /// Declared inputs by name (bytewise order).
    #[serde(default, deserialize_with = "nullable")]
    pub input_arguments: BTreeMap<String, InputArgument>,
    /// The executor of the dependency commands (default: the test's executor).
    #[serde(default)]
    pub dependency_executor_name: Option<ExecutorName>,
    /// Prerequisites, in file order.
    #[serde(default, deserialize_with = "nullable")]
    pub dependencies: Vec<Dependency>,
    /// How the test runs.
    pub executor: Executor,
    /// The line the test starts on (set by the loader).
    #[serde(skip)]
    pub line: u64,
}

impl AtomicTest {
    /// The non-empty `auto_generated_guid`, if any.
    pub fn guid(&self) -> Option<&str> {
        self.auto_generated_guid
            .as_deref()
            .map(str::trim)
            .filter(|g| !g.is_empty())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTechnique {
    attack_technique: Spanned<String>,
    display_name: String,
    #[serde(default, deserialize_with = "nullable")]
    atomic_tests: Vec<Spanned<AtomicTest>>,
}

/// A loaded technique file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Technique {
    /// `attack_technique`.
    pub technique_id: String,
    /// `display_name`.
    pub display_name: String,
    /// The tests in file order (test number = index + 1).
    pub tests: Vec<AtomicTest>,
    /// The file it was read from.
    pub path: PathBuf,
}

impl Technique {
    /// Decode a technique file's text; `path` names it in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Technique, FileError> {
        let raw: RawTechnique = pa_yaml::decode_yaml_strict(path, text, &YamlOptions::default())?;
        let tests = raw
            .atomic_tests
            .into_iter()
            .map(|s| {
                let line = pa_yaml::line_of(&s);
                AtomicTest { line, ..s.value }
            })
            .collect();
        Ok(Technique {
            technique_id: raw.attack_technique.value,
            display_name: raw.display_name,
            tests,
            path: path.to_path_buf(),
        })
    }

    /// Read and decode a technique file.
    pub fn read(path: &Path) -> Result<Technique, FileError> {
        Technique::parse(path, &pa_yaml::read_text(path)?)
    }

    /// Select one test.
    pub fn select(&self, selector: TestSelector<'_>) -> Result<SelectedTest<'_>, AtomicError> {
        let hits: Vec<usize> = match selector {
            TestSelector::Guid(g) => {
                let g = g.trim();
                self.indices(|t| t.guid().is_some_and(|tg| tg.eq_ignore_ascii_case(g)))
            }
            TestSelector::Number(n) if (1..=self.tests.len()).contains(&n) => vec![n - 1],
            TestSelector::Number(_) => Vec::new(),
            TestSelector::Name(name) => self.indices(|t| t.name == name),
        };
        match hits.as_slice() {
            [i] => Ok(SelectedTest {
                technique: self,
                index: *i,
            }),
            [] => Err(AtomicError::UnknownTest {
                path: self.path.clone(),
                technique_id: self.technique_id.clone(),
                wanted: selector.to_string(),
                available: self.describe(0..self.tests.len()),
            }),
            many => Err(AtomicError::AmbiguousTest {
                path: self.path.clone(),
                technique_id: self.technique_id.clone(),
                wanted: selector.to_string(),
                matches: self.describe(many.iter().copied()),
            }),
        }
    }

    fn indices(&self, pred: impl Fn(&AtomicTest) -> bool) -> Vec<usize> {
        (0..self.tests.len())
            .filter(|&i| pred(&self.tests[i]))
            .collect()
    }

    fn describe(&self, which: impl Iterator<Item = usize>) -> String {
        let items: Vec<String> = which
            .map(|i| format!("#{} {}", i + 1, self.tests[i].guid().unwrap_or("(no guid)")))
            .collect();
        if items.is_empty() {
            "none".into()
        } else {
            items.join(", ")
        }
    }
}

/// How a test is chosen within its technique file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestSelector<'a> {
    /// By `auto_generated_guid` (ASCII case-insensitive): the scenario's `engine_test_id`.
    Guid(&'a str),
    /// By 1-based position in the file.
    Number(usize),
    /// By exact name (refused when several tests share it).
    Name(&'a str),
}

impl fmt::Display for TestSelector<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TestSelector::Guid(g) => write!(f, "auto_generated_guid {g}"),
            TestSelector::Number(n) => write!(f, "number {n}"),
            TestSelector::Name(n) => write!(f, "name {n:?}"),
        }
    }
}

/// One test of a loaded technique.
#[derive(Debug, Clone, Copy)]
pub struct SelectedTest<'a> {
    /// The technique.
    pub technique: &'a Technique,
    /// The test's index in `technique.tests`.
    pub index: usize,
}

impl<'a> SelectedTest<'a> {
    /// The test.
    pub fn test(&self) -> &'a AtomicTest {
        &self.technique.tests[self.index]
    }

    /// The 1-based test number.
    pub fn number(&self) -> usize {
        self.index + 1
    }

    /// The test, for error messages.
    pub fn test_ref(&self) -> Box<TestRef> {
        let t = self.test();
        Box::new(TestRef {
            path: self.technique.path.clone(),
            line: t.line,
            technique_id: self.technique.technique_id.clone(),
            number: self.number(),
            name: t.name.clone(),
            guid: t.guid().map(str::to_string),
        })
    }

    /// The test's `auto_generated_guid`: the action's `engine_test_id`.
    pub fn engine_test_id(&self) -> Result<&'a str, AtomicError> {
        self.test()
            .guid()
            .ok_or_else(|| AtomicError::MissingEngineTestId {
                test: self.test_ref(),
            })
    }
}

/// Whether `id` is an ATT&CK technique id: `T` + 4 digits, optionally `.` + 3 digits.
pub fn is_technique_id(id: &str) -> bool {
    let b = id.as_bytes();
    let digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
    match b.len() {
        5 => b[0] == b'T' && digits(&b[1..]),
        9 => b[0] == b'T' && digits(&b[1..5]) && b[5] == b'.' && digits(&b[6..]),
        _ => false,
    }
}

/// An atomics folder in the upstream layout: `<root>/<T>/<T>.yaml` (payloads under
/// `<root>/<T>/src|bin`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AtomicsRoot {
    path: PathBuf,
}

impl AtomicsRoot {
    /// The atomics folder at `path` (not read until a technique is loaded).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        AtomicsRoot { path: path.into() }
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where the technique file of `technique_id` is.
    pub fn technique_path(&self, technique_id: &str) -> Result<PathBuf, AtomicError> {
        if !is_technique_id(technique_id) {
            return Err(AtomicError::InvalidTechniqueId {
                technique_id: technique_id.to_string(),
            });
        }
        Ok(self
            .path
            .join(technique_id)
            .join(format!("{technique_id}.yaml")))
    }

    /// Load the technique file of `technique_id` (SPEC §3 step 1): `atomic_yaml_not_found`
    /// when it does not exist, and its `attack_technique` must be `technique_id`.
    pub fn load(&self, technique_id: &str) -> Result<Technique, AtomicError> {
        let path = self.technique_path(technique_id)?;
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(AtomicError::TechniqueNotFound {
                    technique_id: technique_id.to_string(),
                    path,
                });
            }
            Err(e) => return Err(FileError::io(&path, &e).into()),
        };
        let technique = Technique::parse(&path, &text)?;
        if technique.technique_id != technique_id {
            return Err(FileError::invalid(
                &path,
                1,
                format!(
                    "attack_technique is {:?} but the file is the technique file of {technique_id}",
                    technique.technique_id
                ),
            )
            .into());
        }
        Ok(technique)
    }

    /// The technique ids that have a technique file, in bytewise order (other entries of the
    /// folder, such as upstream's `Indexes/`, are skipped).
    pub fn technique_ids(&self) -> Result<Vec<String>, FileError> {
        let entries = std::fs::read_dir(&self.path).map_err(|e| FileError::io(&self.path, &e))?;
        let mut ids = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| FileError::io(&self.path, &e))?;
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            if is_technique_id(&name) && entry.path().join(format!("{name}.yaml")).is_file() {
                ids.push(name);
            }
        }
        pa_canon::sort_bytewise(&mut ids);
        Ok(ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "\
attack_technique: T0001
display_name: Test technique
atomic_tests:
- name: first
  auto_generated_guid: 0a0a0a0a-0000-0000-0000-000000000001
  description: one
  supported_platforms: [linux]
  input_arguments:
    mode:
      description: a mode
      type: integer
      default: 0755
    ratio:
      type: float
      default: 16.0
    who:
      description: required
      type: string
      default:
  executor:
    name: sh
    elevation_required: false
    command: |
      chmod #{mode} x
    cleanup_command:
- name: twin
  auto_generated_guid: 0A0A0A0A-0000-0000-0000-000000000002
  dependencies:
  - description: needs x
    prereq_command: test -f x
    get_prereq_command: ''
  executor:
    name: bash
    command: [a, b]
- name: twin
  auto_generated_guid: ''
  executor:
    name: manual
    steps: do it by hand
";

    fn technique() -> Technique {
        Technique::parse(Path::new("T0001.yaml"), FILE).unwrap()
    }

    #[test]
    fn upstream_shapes_decode() {
        let t = technique();
        assert_eq!(t.tests.len(), 3);
        let first = &t.tests[0];
        assert_eq!(first.line, 4);
        assert_eq!(t.tests[1].line, 26);
        let ia = &first.input_arguments;
        assert_eq!(ia["mode"].default.as_deref(), Some("0755"));
        assert_eq!(ia["ratio"].default.as_deref(), Some("16.0"));
        assert_eq!(ia["who"].default, None);
        assert_eq!(first.executor.command.0, vec!["chmod #{mode} x\n"]);
        assert!(first.executor.cleanup_command.is_empty());
        let twin = &t.tests[1];
        assert_eq!(twin.executor.command.0, vec!["a", "b"]);
        assert!(twin.dependencies[0].get_prereq_command.is_empty());
        assert!(twin.supported_platforms.is_empty() && twin.description.is_none());
        assert_eq!(t.tests[2].executor.name, ExecutorName::Manual);
        assert_eq!(t.tests[2].guid(), None);
    }

    #[test]
    fn unknown_keys_and_wrong_types_are_refused_with_the_line() {
        let bad = FILE.replace("    elevation_required: false", "    elevation: false");
        let e = Technique::parse(Path::new("T0001.yaml"), &bad).unwrap_err();
        assert_eq!(e.line, 22, "{e}");
        assert!(e.to_string().contains("elevation"), "{e}");
        let bad = FILE.replace("command: [a, b]", "command: {a: b}");
        assert!(Technique::parse(Path::new("T0001.yaml"), &bad).is_err());
    }

    #[test]
    fn selection_by_guid_number_and_name() {
        let t = technique();
        let by_guid = t
            .select(TestSelector::Guid("0a0a0a0a-0000-0000-0000-000000000002"))
            .unwrap();
        assert_eq!(by_guid.number(), 2);
        assert_eq!(t.select(TestSelector::Number(1)).unwrap().index, 0);
        assert_eq!(
            t.select(TestSelector::Name("first")).unwrap().test().name,
            "first"
        );
        let e = t.select(TestSelector::Name("twin")).unwrap_err();
        assert!(matches!(e, AtomicError::AmbiguousTest { .. }), "{e}");
        assert!(e.to_string().contains("#2 0A0A0A0A") && e.to_string().contains("#3 (no guid)"));
        let e = t.select(TestSelector::Guid("nope")).unwrap_err();
        assert_eq!(e.reason_code(), "missing_engine_test_id");
        assert!(
            e.to_string()
                .starts_with("T0001.yaml: T0001 has no test with auto_generated_guid nope"),
            "{e}"
        );
        assert!(t.select(TestSelector::Number(0)).is_err());
        assert!(t.select(TestSelector::Number(4)).is_err());
        let manual = t.select(TestSelector::Number(3)).unwrap();
        let e = manual.engine_test_id().unwrap_err();
        assert!(
            e.to_string()
                .starts_with("T0001.yaml:35: T0001 test #3 \"twin\""),
            "{e}"
        );
    }

    #[test]
    fn technique_ids_are_checked_and_listed() {
        assert!(is_technique_id("T1059") && is_technique_id("T1059.001"));
        for bad in [
            "t1059",
            "T105",
            "T1059.01",
            "../T1059",
            "T1059/001",
            "T1059.0011",
        ] {
            assert!(!is_technique_id(bad), "{bad}");
        }
        let dir = tempfile::tempdir().unwrap();
        let root = AtomicsRoot::new(dir.path());
        assert_eq!(
            root.load("../x").unwrap_err().reason_code(),
            "config_schema_invalid"
        );
        let e = root.load("T0001").unwrap_err();
        assert_eq!(e.reason_code(), "atomic_yaml_not_found");
        std::fs::create_dir_all(dir.path().join("T0001")).unwrap();
        std::fs::create_dir_all(dir.path().join("Indexes")).unwrap();
        std::fs::create_dir_all(dir.path().join("T0002")).unwrap();
        std::fs::write(dir.path().join("T0001/T0001.yaml"), FILE).unwrap();
        std::fs::write(dir.path().join("T0002/T0002.yaml"), FILE).unwrap();
        assert_eq!(root.technique_ids().unwrap(), vec!["T0001", "T0002"]);
        assert_eq!(root.load("T0001").unwrap().tests.len(), 3);
        let e = root.load("T0002").unwrap_err();
        assert!(
            e.to_string().contains("attack_technique is \"T0001\""),
            "{e}"
        );
        assert_eq!(e.reason_code(), "config_schema_invalid");
    }
}
