//! `cargo xtask tidy`: architecture and hygiene checks over the workspace, run by CI.
//!
//! Each check is a pure function from parsed input (the dependency map and the `cargo metadata`
//! edges, or the set of `.rs` files with their text) to a list of [`Violation`]s, unit-tested on
//! small samples in `tidy/tests.rs` (`deps.rs`: check 1; `checks.rs`: checks 2 to 6; `source.rs`:
//! the source reading they share). The output is one line per violation,
//! `tidy: <check>: <location>: <what is wrong>`, then a summary, and a non-zero exit status; or
//! `tidy: ok (N checks)`.
//!
//! The checks read source text through [`source::blank`], which replaces comments (and, for most checks,
//! the contents of string and char literals) by spaces while keeping every newline: a `println!`
//! in a doc comment or an ignore attribute inside a string is not code, and line numbers survive.
//! A *test item* is an item under `#[cfg(test)]` or `#[cfg(all(test, ..))]`, from the attribute
//! to the item's closing `}` or `;` (typically the trailing `mod tests { .. }`). A *test file* is
//! a file named `tests.rs` or `*_tests.rs`, a file under a `tests/` directory below `src/`, or a
//! module declared (`mod x;`, directly or through its parents) under such a `cfg` or carrying an
//! inner `#![cfg(test)]`; `#[path]` attributes are not followed.
//!
//! 1. `deps`: `ARCHITECTURE.md` carries, after the code map table, a line
//!    `<!-- tidy:allowed-deps ... -->` followed by a fenced block with one line per workspace
//!    package: `package: dep, dep, ...` (nothing after the colon for a package with no project
//!    dependency; `#` starts a comment). It lists the project packages each package MAY depend on;
//!    normal, build and dev dependencies count alike. The actual edges are the dependencies of
//!    each workspace member on other workspace members, read from
//!    `cargo metadata --format-version 1 --no-deps`. Fails on every edge the map does not allow,
//!    every workspace package without an entry, every entry naming no workspace package, and
//!    every allowed dependency that has no entry of its own.
//! 2. `ignore`: no ignore attribute (plain, with a reason, or under `cfg_attr`) in any `.rs` file outside
//!    `target/` and hidden directories: a test runs, or it is deleted.
//! 3. `wall-clock`: in files under a `tests/` directory (including the top-level `tests/`
//!    package), no assertion on elapsed time: such tests fail on a slow or busy machine, and
//!    timing belongs in a benchmark. Heuristic, per `assert!`/`assert_eq!`/`assert_ne!` (and the
//!    `debug_` forms), on its condition arguments only (not the message): it fails when they
//!    (a) read a clock: `elapsed(`, `Instant::now`, `SystemTime::now`, `duration_since(`;
//!    (b) mention a variable bound by `let` earlier in the same `fn` to an expression that reads a
//!    clock or mentions such a variable (`let t = Instant::now(); let took = t.elapsed();
//!    let rate = n / took.as_secs_f64(); assert!(rate > 1000.0)`); or
//!    (c) compare (`<`, `>`, `<=`, `>=`) something involving `Duration` or `.as_secs*`,
//!    `.as_millis`, `.as_micros`, `.as_nanos`. Printing a duration or polling in a loop
//!    (`while t.elapsed() < limit`) is not an assertion and passes.
//! 4. `print`: no `println!`, `eprintln!`, `print!`, `eprint!`, `dbg!` in library crates: files
//!    under `crates/*/src/` except `src/bin/` and test files, outside test items. A library
//!    returns its text (or logs through `tracing`); the binary prints.
//! 5. `failpoint`: test-only hooks are not reachable in release builds. In non-test files under
//!    `crates/*/src` and `bins/*/src`, a code line mentioning `FAILPOINT` (the fault-injection
//!    environment variable, its name constant or its reader) must be gated. Heuristic: the line is
//!    accepted when it, one of the 3 lines above it, or one of the 3 lines above any `{` that
//!    encloses it (the attributes of the enclosing items) mentions `cfg(` or `cfg!(` with `test`
//!    or `failpoints` (and no `not(`), or when the file's module is declared under such a `cfg`.
//! 6. `file-size`: a non-test source file under `crates/*/src`, `bins/*/src`, `xtask/src` or
//!    `tests/src` has at most 800 lines, not counting test items. Larger files are listed in
//!    `xtask/tidy-allowlist.txt` (`path max_lines` per line, `#` comments), and the list only
//!    shrinks: a listed file must still exist, still be over 800 lines (else "remove it from the
//!    list") and not be over its recorded maximum (else "it grew; split it").

use anyhow::{Context, Result, bail};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

mod checks;
mod deps;
mod source;
#[cfg(test)]
mod tests;

pub use checks::*;
pub use deps::*;

/// How many checks [`run`] performs.
pub const CHECKS: usize = 6;
/// The most lines a non-test source file may have without an allow-list entry.
pub const MAX_LINES: usize = 800;
/// The document carrying the allowed dependency map, relative to the workspace root.
pub const ARCHITECTURE: &str = "ARCHITECTURE.md";
/// The allow-list of oversized files, relative to the workspace root.
pub const ALLOWLIST: &str = "xtask/tidy-allowlist.txt";
/// The start of the comment line introducing the map in [`ARCHITECTURE`].
pub const MAP_MARKER: &str = "<!-- tidy:allowed-deps";

/// One finding: printed as `tidy: <check>: <location>: <message>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub check: &'static str,
    pub location: String,
    pub message: String,
}

impl Violation {
    fn new(check: &'static str, location: impl Into<String>, message: impl Into<String>) -> Self {
        Violation {
            check,
            location: location.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "tidy: {}: {}: {}",
            self.check, self.location, self.message
        )
    }
}

/// The `.rs` files of the workspace: path relative to the root (`/`-separated) → text.
pub type Files = BTreeMap<String, String>;

/// Run every check on the workspace at `root`, print the findings; `Ok(false)` when any.
pub fn run(root: &Path) -> Result<bool> {
    let root = root
        .canonicalize()
        .with_context(|| format!("{}", root.display()))?;
    let read = |rel: &str| {
        std::fs::read_to_string(root.join(rel)).with_context(|| format!("reading {rel}"))
    };
    let mut found = Vec::new();
    let (map, errors) = parse_allowed_deps(&read(ARCHITECTURE)?);
    found.extend(errors);
    found.extend(check_deps(&map, &parse_metadata(&cargo_metadata(&root)?)?));
    let files = collect_rs(&root)?;
    found.extend(check_ignore(&files));
    found.extend(check_wall_clock(&files));
    found.extend(check_prints(&files));
    found.extend(check_failpoints(&files));
    found.extend(check_file_sizes(&files, &read(ALLOWLIST)?));
    if found.is_empty() {
        println!("tidy: ok ({CHECKS} checks)");
        return Ok(true);
    }
    for v in &found {
        eprintln!("{v}");
    }
    let failed: BTreeSet<&str> = found.iter().map(|v| v.check).collect();
    eprintln!(
        "tidy: {} violation(s) in {} of {CHECKS} checks ({})",
        found.len(),
        failed.len(),
        failed.into_iter().collect::<Vec<_>>().join(", ")
    );
    Ok(false)
}

fn cargo_metadata(root: &Path) -> Result<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(&cargo)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(root)
        .output()
        .with_context(|| format!("running {cargo} metadata"))?;
    if !out.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    String::from_utf8(out.stdout).context("cargo metadata output is not UTF-8")
}

/// Every `.rs` file under `root`, skipping `target/`, `$CARGO_TARGET_DIR` and hidden directories.
fn collect_rs(root: &Path) -> Result<Files> {
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .and_then(|p| p.canonicalize().ok());
    let mut files = Files::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let entries = std::fs::read_dir(&dir).with_context(|| format!("{}", dir.display()))?;
        for entry in entries {
            let entry = entry.with_context(|| format!("{}", dir.display()))?;
            let (path, kind) = (entry.path(), entry.file_type()?);
            let name = entry.file_name().to_string_lossy().into_owned();
            if kind.is_dir() {
                if name != "target" && !name.starts_with('.') && target_dir.as_ref() != Some(&path)
                {
                    dirs.push(path);
                }
            } else if kind.is_file() && name.ends_with(".rs") {
                let rel = path.strip_prefix(root)?;
                let rel: Vec<_> = rel.iter().map(|c| c.to_string_lossy()).collect();
                let bytes = std::fs::read(&path).with_context(|| format!("{}", path.display()))?;
                files.insert(rel.join("/"), String::from_utf8_lossy(&bytes).into_owned());
            }
        }
    }
    Ok(files)
}
