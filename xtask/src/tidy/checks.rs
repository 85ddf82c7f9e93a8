//! Checks 2 to 6, over the text of the workspace's `.rs` files.

use super::source::*;
use super::{ALLOWLIST, Files, MAX_LINES, Violation};
use std::collections::{BTreeMap, BTreeSet};

// 2. ignore

/// Ignore attributes (plain, with a reason, or under `cfg_attr`) in any file.
pub fn check_ignore(files: &Files) -> Vec<Violation> {
    let mut out = Vec::new();
    for (path, text) in files {
        let code = blank(text, true);
        let toks = tokens(&code);
        for i in 0..toks.len() {
            let Some((attr, _)) = attribute(&toks, i) else {
                continue;
            };
            if attr.starts_with("ignore")
                || (attr.starts_with("cfg_attr(") && has_word(&attr, "ignore"))
            {
                // spelled in pieces so that a plain text search for the attribute finds none here
                let msg = concat!(
                    "`#[",
                    "ignore]`d test: make it run (fast enough, or behind a feature) or delete it"
                );
                out.push(Violation::new(
                    "ignore",
                    format!("{path}:{}", toks[i].line),
                    msg,
                ));
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// 3. wall-clock

const ASSERTS: [&str; 6] = [
    "assert",
    "assert_eq",
    "assert_ne",
    "debug_assert",
    "debug_assert_eq",
    "debug_assert_ne",
];

/// Wall-clock assertions in files under a `tests/` directory.
pub fn check_wall_clock(files: &Files) -> Vec<Violation> {
    let under_tests = |p: &str| p.split('/').rev().skip(1).any(|d| d == "tests");
    files
        .iter()
        .filter(|(p, _)| under_tests(p))
        .flat_map(|(p, t)| wall_clock_in(p, t))
        .collect()
}

/// Whether `expr` reads a clock or mentions a variable in `timed` (not as a field).
fn reads_clock(expr: &[Tok], timed: &BTreeSet<String>) -> bool {
    (0..expr.len()).any(|i| {
        let at = |k: usize| tok(expr, i + k);
        (at(0) == "elapsed" && at(1) == "(")
            || (matches!(at(0), "Instant" | "SystemTime") && at(1) == ":" && at(3) == "now")
            || at(0) == "duration_since"
            || (timed.contains(at(0)) && (i == 0 || expr[i - 1].s != "."))
    })
}

/// Whether `expr` compares (`<`, `>`, `<=`, `>=`) something involving a `Duration`.
fn compares_duration(expr: &[Tok]) -> bool {
    let comparison = (1..expr.len()).any(|i| {
        matches!(expr[i].s, "<" | ">") && !matches!(expr[i - 1].s, ":" | "-" | "=" | "<" | ">")
    });
    let duration = expr.iter().any(|t| {
        t.s == "Duration"
            || ["as_secs", "as_millis", "as_micros", "as_nanos"]
                .iter()
                .any(|m| t.s.starts_with(m))
    });
    comparison && duration
}

/// Wall-clock assertions of one test file (heuristic in the module doc).
pub fn wall_clock_in(path: &str, text: &str) -> Vec<Violation> {
    let code = blank(text, true);
    let toks = tokens(&code);
    let raw: Vec<&str> = text.lines().collect();
    let mut timed: BTreeSet<String> = BTreeSet::new();
    let mut out = Vec::new();
    for i in 0..toks.len() {
        let t = toks[i].s;
        if t == "fn" && is_ident(tok(&toks, i + 1)) {
            timed.clear();
        } else if t == "let" {
            // `let [mut] name[: T] = rhs;`: `name` is timed iff `rhs` reads a clock.
            let j = if tok(&toks, i + 1) == "mut" {
                i + 2
            } else {
                i + 1
            };
            let name = tok(&toks, j);
            if !is_ident(name) || !matches!(tok(&toks, j + 1), "=" | ":") {
                continue;
            }
            let eq = (j + 1..toks.len()).find(|&k| toks[k].s == "=" || toks[k].s == ";");
            let Some(eq) = eq.filter(|&k| toks[k].s == "=") else {
                timed.remove(name); // `let name: T;`
                continue;
            };
            let mut depth = 0i32;
            let end = (eq + 1..toks.len())
                .find(|&k| {
                    match toks[k].s {
                        "(" | "[" | "{" => depth += 1,
                        ")" | "]" | "}" => depth -= 1,
                        _ => {}
                    }
                    depth < 0 || (depth == 0 && toks[k].s == ";")
                })
                .unwrap_or(toks.len());
            if reads_clock(&toks[eq + 1..end], &timed) {
                timed.insert(name.to_string());
            } else {
                timed.remove(name);
            }
        } else if ASSERTS.contains(&t) && tok(&toks, i + 1) == "!" && tok(&toks, i + 2) == "(" {
            let close = closing(&toks, i + 2);
            let mut args: Vec<&[Tok]> = Vec::new();
            let (mut depth, mut start) = (0i32, i + 3);
            for k in i + 3..close {
                match toks[k].s {
                    "(" | "[" | "{" => depth += 1,
                    ")" | "]" | "}" => depth -= 1,
                    "," if depth == 0 => {
                        args.push(&toks[start..k]);
                        start = k + 1;
                    }
                    _ => {}
                }
            }
            args.push(&toks[start..close.max(start)]);
            let conditions = if t.ends_with("assert") { 1 } else { 2 };
            if args
                .iter()
                .take(conditions)
                .any(|a| reads_clock(a, &timed) || compares_duration(a))
            {
                let line = toks[i].line;
                // The assertion's text, on one line, shortened.
                let text = raw[line - 1..toks[close].line.min(raw.len())].join(" ");
                let mut snippet = text.split_whitespace().collect::<Vec<_>>().join(" ");
                snippet = snippet.replace("( ", "(").replace(" )", ")");
                if snippet.chars().count() > 90 {
                    snippet = snippet.chars().take(87).collect::<String>() + "...";
                }
                let msg = format!(
                    "`{snippet}` asserts on wall-clock time: it fails on a slow or busy machine; \
                     measure it in a benchmark instead"
                );
                out.push(Violation::new("wall-clock", format!("{path}:{line}"), msg));
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// 4. print

const PRINTS: [&str; 5] = ["println", "eprintln", "print", "eprint", "dbg"];

/// Printing macros in library crates (`crates/*/src`, not `src/bin/`, not test code).
pub fn check_prints(files: &Files) -> Vec<Violation> {
    let mut out = Vec::new();
    for (path, text) in files {
        let (parts, src) = src_root(path);
        if parts[0] != "crates" || src.is_none() || parts[3] == "bin" || is_test_file(files, path) {
            continue;
        }
        let mask = test_mask(text);
        let code = blank(text, true);
        let toks = tokens(&code);
        for i in 0..toks.len() {
            let (t, line) = (toks[i].s, toks[i].line);
            if PRINTS.contains(&t)
                && tok(&toks, i + 1) == "!"
                && !mask.get(line).copied().unwrap_or(false)
            {
                let msg = format!(
                    "`{t}!` in a library crate: return the text (or log through `tracing`) and let the binary print it"
                );
                out.push(Violation::new("print", format!("{path}:{line}"), msg));
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// 5. failpoint

/// Ungated `FAILPOINT` lines in non-test files under `crates/*/src` and `bins/*/src`.
pub fn check_failpoints(files: &Files) -> Vec<Violation> {
    let mut out = Vec::new();
    for (path, text) in files {
        let (parts, src) = src_root(path);
        if !matches!(parts[0], "crates" | "bins") || src.is_none() {
            continue;
        }
        let nocomments = blank(text, false);
        if !nocomments.contains("FAILPOINT")
            || is_test_file(files, path)
            || module_gated(files, path, cfg_test_or_failpoints)
        {
            continue;
        }
        let lines: Vec<&str> = nocomments.lines().collect();
        // The lines of the `{` enclosing each line (0-based), from a scan of the code.
        let code = blank(text, true);
        let mut enclosing: Vec<Vec<usize>> = vec![Vec::new()];
        let mut stack: Vec<usize> = Vec::new();
        for ch in code.chars() {
            match ch {
                '{' => stack.push(enclosing.len() - 1),
                '}' => {
                    stack.pop();
                }
                '\n' => enclosing.push(stack.clone()),
                _ => {}
            }
        }
        let gated_near = |at: usize| {
            lines[at.saturating_sub(3)..=at]
                .iter()
                .any(|l| cfg_test_or_failpoints(l))
        };
        for (i, line) in lines.iter().enumerate() {
            if !line.contains("FAILPOINT") {
                continue;
            }
            if gated_near(i) || enclosing[i].iter().any(|&o| gated_near(o)) {
                continue;
            }
            let msg = "test-only fault injection (`FAILPOINT`) reachable in a release build: gate it \
                       with `#[cfg(test)]` or `#[cfg(feature = \"failpoints\")]`";
            out.push(Violation::new(
                "failpoint",
                format!("{path}:{}", i + 1),
                msg,
            ));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// 6. file-size

/// Lines of `text`, not counting test items.
pub fn counted_lines(text: &str) -> usize {
    let total = text.lines().count();
    let test = test_mask(text)
        .iter()
        .skip(1)
        .take(total)
        .filter(|m| **m)
        .count();
    total - test
}

/// Oversized source files and stale entries of the allow-list (`allowlist` is its text).
pub fn check_file_sizes(files: &Files, allowlist: &str) -> Vec<Violation> {
    let mut out = Vec::new();
    let mut allowed: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (i, line) in allowlist.lines().enumerate() {
        let at = format!("{ALLOWLIST}:{}", i + 1);
        let text = line.split('#').next().unwrap_or("").trim();
        if text.is_empty() {
            continue;
        }
        match text.split_whitespace().collect::<Vec<_>>().as_slice() {
            [path, max] if max.parse::<usize>().is_ok() => {
                if allowed
                    .insert(path, (i + 1, max.parse().unwrap_or(0)))
                    .is_some()
                {
                    out.push(Violation::new(
                        "file-size",
                        at,
                        format!("{path} is listed twice"),
                    ));
                }
            }
            _ => out.push(Violation::new(
                "file-size",
                at,
                format!("`{text}`: expected `path max_lines`"),
            )),
        }
    }
    let sizes: BTreeMap<&str, usize> = files
        .iter()
        .filter(|(p, _)| src_root(p).1.is_some() && !is_test_file(files, p))
        .map(|(p, t)| (p.as_str(), counted_lines(t)))
        .collect();
    for (path, &n) in &sizes {
        match allowed.get(path) {
            None if n > MAX_LINES => {
                let msg = format!(
                    "{n} lines (not counting #[cfg(test)] items), over the limit of {MAX_LINES}: split it"
                );
                out.push(Violation::new("file-size", *path, msg));
            }
            Some(&(line, _)) if n <= MAX_LINES => {
                let msg = format!(
                    "{path} has {n} lines now (at most {MAX_LINES}): remove it from the list"
                );
                out.push(Violation::new(
                    "file-size",
                    format!("{ALLOWLIST}:{line}"),
                    msg,
                ));
            }
            Some(&(_, max)) if n > max => {
                let msg = format!(
                    "{n} lines, more than its recorded maximum of {max} in {ALLOWLIST}: it grew; split it"
                );
                out.push(Violation::new("file-size", *path, msg));
            }
            _ => {}
        }
    }
    for (path, (line, _)) in &allowed {
        if !sizes.contains_key(path) {
            let msg = format!(
                "{path} no longer exists (or is no longer a checked source file): remove it from the list"
            );
            out.push(Violation::new(
                "file-size",
                format!("{ALLOWLIST}:{line}"),
                msg,
            ));
        }
    }
    out
}
