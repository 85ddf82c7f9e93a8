//! `pa.yaml_decode.v1`: the one place YAML is decoded, and the one error a file loader reports.
//!
//! Every project file in YAML (range and scenario configuration, mapping profiles, bridge data,
//! Sigma rules) goes through [`decode_yaml_strict`] or [`decode_yaml_documents_strict`]:
//! YAML 1.2 typing (only `true`/`false` are booleans), duplicate keys rejected, unknown tags
//! rejected, merge keys rejected unless the caller allows them, parse budgets on (alias bombs
//! stop early). Errors are a [`FileError`] naming the file, the 1-based line and column, and
//! what is wrong; loaders use the same type for their own semantic checks
//! ([`FileError::invalid`]) and for I/O ([`FileError::io`]), so a user sees one error shape for
//! every file the project reads.
//!
//! [`outline`] reads where each node of a document is (JSON pointer → line and column), how
//! each scalar was written and where anchors are, without building a value: for static checks
//! (`pa-lint`) that point at lines and look at the text as written.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

pub mod outline;
pub use outline::{Document as OutlineDocument, outline};

/// A value with the position it was decoded from (line and column, 1-based).
pub use serde_saphyr::Spanned;

/// What kind of failure a [`FileError`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileErrorKind {
    /// The file or directory could not be read.
    Io,
    /// The text is not valid YAML for its format (syntax, unknown key, wrong type, duplicate
    /// key, unknown tag).
    Decode,
    /// The file decodes but breaks a rule of its format (dangling reference, duplicate id...).
    Invalid,
}

/// A file that could not be used: which file, where in it, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct FileError {
    /// The file (or directory).
    pub path: PathBuf,
    /// 1-based line (0 when not tied to a line).
    pub line: u64,
    /// 1-based column (0 when unknown).
    pub column: u64,
    /// The kind of failure.
    pub kind: FileErrorKind,
    /// What is wrong, for a person.
    pub message: String,
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.display();
        match (self.kind, self.line, self.column) {
            (FileErrorKind::Io, _, _) => write!(f, "{path}: cannot read: {}", self.message),
            (_, 0, _) => write!(f, "{path}: {}", self.message),
            (_, line, 0) => write!(f, "{path}:{line}: {}", self.message),
            (_, line, column) => write!(f, "{path}:{line}:{column}: {}", self.message),
        }
    }
}

impl FileError {
    /// An I/O failure on `path`.
    pub fn io(path: impl Into<PathBuf>, err: &std::io::Error) -> Self {
        FileError {
            path: path.into(),
            line: 0,
            column: 0,
            kind: FileErrorKind::Io,
            message: err.to_string(),
        }
    }

    /// A decoded file whose content breaks a rule of its format, at `line` (0: not tied to one).
    pub fn invalid(path: impl Into<PathBuf>, line: u64, message: impl fmt::Display) -> Self {
        FileError {
            path: path.into(),
            line,
            column: 0,
            kind: FileErrorKind::Invalid,
            message: message.to_string(),
        }
    }

    /// The file the error is about.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// How strict a decode is beyond the fixed rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct YamlOptions {
    /// Plain scalars spelled as integers with redundant leading zeros (`0755`, `00000429`)
    /// decode as the text written instead of the number.
    pub leading_zero_numbers_as_strings: bool,
    /// Whether `<<` merge keys are accepted (rejected by default).
    pub allow_merge_keys: bool,
    /// The most documents one stream may hold (a `---` storm stops here).
    pub max_documents: usize,
}

impl Default for YamlOptions {
    fn default() -> Self {
        YamlOptions {
            leading_zero_numbers_as_strings: false,
            allow_merge_keys: false,
            max_documents: 1_024,
        }
    }
}

fn saphyr_options(opts: &YamlOptions) -> serde_saphyr::Options {
    let mut o = serde_saphyr::Options::default();
    o.strict_booleans = true;
    o.leading_zero_numbers_as_strings = opts.leading_zero_numbers_as_strings;
    o.duplicate_keys = serde_saphyr::DuplicateKeyPolicy::Error;
    if !opts.allow_merge_keys {
        o.merge_keys = serde_saphyr::MergeKeyPolicy::Error;
    }
    o.reject_unsupported_tags = true;
    o.with_snippet = false;
    let mut b = serde_saphyr::Budget::default();
    b.max_documents = opts.max_documents.max(1);
    o.budget = Some(b);
    o
}

fn decode_error(path: &Path, e: &serde_saphyr::Error) -> FileError {
    let (line, column) = e
        .location()
        .map(|l| (l.line(), l.column()))
        .unwrap_or((0, 0));
    FileError {
        path: path.to_path_buf(),
        line,
        column,
        kind: FileErrorKind::Decode,
        message: e.to_string().trim().to_owned(),
    }
}

/// Decode one YAML document strictly into `T`. `path` names the file in errors.
pub fn decode_yaml_strict<T: DeserializeOwned>(
    path: &Path,
    text: &str,
    opts: &YamlOptions,
) -> Result<T, FileError> {
    serde_saphyr::from_str_with_options(text, saphyr_options(opts))
        .map_err(|e| decode_error(path, &e))
}

/// Decode every non-empty document of a YAML stream strictly, each with the 1-based line it
/// starts on.
pub fn decode_yaml_documents_strict<T: DeserializeOwned>(
    path: &Path,
    text: &str,
    opts: &YamlOptions,
) -> Result<Vec<(u64, T)>, FileError> {
    let docs: Vec<Spanned<T>> =
        serde_saphyr::from_multiple_with_options(text, saphyr_options(opts))
            .map_err(|e| decode_error(path, &e))?;
    Ok(docs
        .into_iter()
        .map(|s| (line_of(&s).max(1), s.value))
        .collect())
}

/// Read a file as UTF-8 text; the error names the file.
pub fn read_text(path: &Path) -> Result<String, FileError> {
    std::fs::read_to_string(path).map_err(|e| FileError::io(path, &e))
}

/// The 1-based line a decoded value starts on.
pub fn line_of<T>(s: &Spanned<T>) -> u64 {
    s.referenced.line()
}

/// Read a file and decode it as one YAML document strictly into `T`.
pub fn read_yaml_strict<T: DeserializeOwned>(
    path: &Path,
    opts: &YamlOptions,
) -> Result<T, FileError> {
    decode_yaml_strict(path, &read_text(path)?, opts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    type Map = BTreeMap<String, serde_saphyr_value::V>;

    mod serde_saphyr_value {
        /// A tiny untyped value for the tests.
        #[derive(Debug, PartialEq, serde::Deserialize)]
        #[serde(untagged)]
        pub enum V {
            B(bool),
            I(i64),
            S(String),
            L(Vec<V>),
        }
    }
    use serde_saphyr_value::V;

    fn p() -> &'static Path {
        Path::new("f.yaml")
    }

    #[test]
    fn yaml_1_2_booleans_only() {
        let m: Map = decode_yaml_strict(p(), "a: yes\nb: true\n", &YamlOptions::default()).unwrap();
        assert_eq!(m["a"], V::S("yes".into()));
        assert_eq!(m["b"], V::B(true));
    }

    #[test]
    fn duplicate_keys_name_file_and_line() {
        let e =
            decode_yaml_strict::<Map>(p(), "a: 1\na: 2\n", &YamlOptions::default()).unwrap_err();
        assert_eq!(e.kind, FileErrorKind::Decode);
        assert_eq!(e.line, 2);
        assert!(e.to_string().starts_with("f.yaml:2:"), "{e}");
    }

    #[test]
    fn merge_keys_and_unknown_tags_are_rejected_unless_allowed() {
        let text = "base: &b {x: 1}\nd:\n  <<: *b\n";
        type Nested = BTreeMap<String, BTreeMap<String, i64>>;
        assert!(decode_yaml_strict::<Nested>(p(), text, &YamlOptions::default()).is_err());
        let allow = YamlOptions {
            allow_merge_keys: true,
            ..YamlOptions::default()
        };
        let m: Nested = decode_yaml_strict(p(), text, &allow).unwrap();
        assert_eq!(m["d"]["x"], 1);
        assert!(decode_yaml_strict::<Map>(p(), "a: !weird 1\n", &YamlOptions::default()).is_err());
    }

    #[test]
    fn leading_zero_numbers_as_text_when_asked() {
        let text = "a: [0755, 12]\n";
        let o = YamlOptions {
            leading_zero_numbers_as_strings: true,
            ..YamlOptions::default()
        };
        let m: Map = decode_yaml_strict(p(), text, &o).unwrap();
        assert_eq!(m["a"], V::L(vec![V::S("0755".into()), V::I(12)]));
    }

    #[test]
    fn documents_carry_their_start_lines_and_are_budgeted() {
        let text = "a: 1\n---\nb: 2\n";
        let o = YamlOptions {
            max_documents: 10,
            ..YamlOptions::default()
        };
        let docs: Vec<(u64, Map)> = decode_yaml_documents_strict(p(), text, &o).unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[1].0, 3);
        let one = YamlOptions {
            max_documents: 1,
            ..YamlOptions::default()
        };
        assert!(decode_yaml_documents_strict::<Map>(p(), text, &one).is_err());
    }

    #[test]
    fn alias_bombs_stop_early() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let prev = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"
            ));
        }
        let e = decode_yaml_strict::<BTreeMap<String, serde::de::IgnoredAny>>(
            p(),
            &text,
            &YamlOptions::default(),
        );
        assert!(e.is_err());
    }

    #[test]
    fn display_forms() {
        let io = FileError::io(
            "x.yaml",
            &std::io::Error::from(std::io::ErrorKind::NotFound),
        );
        assert!(io.to_string().starts_with("x.yaml: cannot read: "), "{io}");
        assert_eq!(
            FileError::invalid("x.yaml", 0, "bad").to_string(),
            "x.yaml: bad"
        );
        assert_eq!(
            FileError::invalid("x.yaml", 4, "bad").to_string(),
            "x.yaml:4: bad"
        );
        assert!(read_text(Path::new("/nonexistent/pa-yaml")).is_err());
    }
}
