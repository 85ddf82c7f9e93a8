//! Reading source text: blanking comments and literals, tokens, test items, module declarations.

use super::Files;

/// `text` with comments replaced by spaces, and the contents of string and char literals too
/// when `strings` (the quotes stay); newlines are kept, so line numbers survive.
pub fn blank(text: &str, strings: bool) -> String {
    let c: Vec<char> = text.chars().collect();
    let n = c.len();
    let mut out = c.clone();
    let wipe = |out: &mut Vec<char>, from: usize, to: usize| {
        for ch in &mut out[from.min(n)..to.min(n)] {
            if *ch != '\n' {
                *ch = ' ';
            }
        }
    };
    let ident = |ch: char| ch.is_alphanumeric() || ch == '_';
    let mut i = 0;
    while i < n {
        let next = c.get(i + 1).copied();
        match c[i] {
            '/' if next == Some('/') => {
                let end = (i..n).find(|&j| c[j] == '\n').unwrap_or(n);
                wipe(&mut out, i, end);
                i = end;
            }
            '/' if next == Some('*') => {
                let (mut j, mut depth) = (i + 2, 1);
                while j < n && depth > 0 {
                    match (c[j], c.get(j + 1)) {
                        ('/', Some('*')) => (depth, j) = (depth + 1, j + 2),
                        ('*', Some('/')) => (depth, j) = (depth - 1, j + 2),
                        _ => j += 1,
                    }
                }
                wipe(&mut out, i, j);
                i = j;
            }
            '"' => {
                let mut j = i + 1;
                while j < n && c[j] != '"' {
                    j += if c[j] == '\\' { 2 } else { 1 };
                }
                if strings {
                    wipe(&mut out, i + 1, j);
                }
                i = j + 1;
            }
            'r' if i == 0
                || !ident(c[i - 1])
                || (matches!(c[i - 1], 'b' | 'c') && (i < 2 || !ident(c[i - 2]))) =>
            {
                let mut j = i + 1;
                while j < n && c[j] == '#' {
                    j += 1;
                }
                if j < n && c[j] == '"' {
                    let hashes = j - i - 1;
                    let closes =
                        |k: usize| c[k] == '"' && (1..=hashes).all(|h| c.get(k + h) == Some(&'#'));
                    let end = (j + 1..n).find(|&k| closes(k)).unwrap_or(n);
                    if strings {
                        wipe(&mut out, j + 1, end);
                    }
                    i = end + 1 + hashes;
                } else {
                    i += 1;
                }
            }
            '\'' if next == Some('\\') => match (i + 3..n.min(i + 12)).find(|&j| c[j] == '\'') {
                Some(end) => {
                    if strings {
                        wipe(&mut out, i + 1, end);
                    }
                    i = end + 1;
                }
                None => i += 1,
            },
            '\'' if c.get(i + 2) == Some(&'\'') => {
                if strings {
                    wipe(&mut out, i + 1, i + 2);
                }
                i += 3;
            }
            _ => i += 1,
        }
    }
    out.into_iter().collect()
}

/// A token of blanked source: an identifier or number, or one punctuation character.
#[derive(Debug, Clone, Copy)]
pub(super) struct Tok<'a> {
    pub(super) s: &'a str,
    /// 1-based.
    pub(super) line: usize,
}

pub(super) fn is_ident(s: &str) -> bool {
    s.chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
}

pub(super) fn tokens(code: &str) -> Vec<Tok<'_>> {
    let mut out = Vec::new();
    let mut line = 1;
    let mut it = code.char_indices().peekable();
    while let Some((i, ch)) = it.next() {
        if ch == '\n' {
            line += 1;
        } else if ch.is_alphanumeric() || ch == '_' {
            let mut end = i + ch.len_utf8();
            while let Some(&(j, c)) = it.peek().filter(|(_, c)| c.is_alphanumeric() || *c == '_') {
                end = j + c.len_utf8();
                it.next();
            }
            out.push(Tok {
                s: &code[i..end],
                line,
            });
        } else if !ch.is_whitespace() {
            out.push(Tok {
                s: &code[i..i + ch.len_utf8()],
                line,
            });
        }
    }
    out
}

pub(super) fn tok<'a>(toks: &[Tok<'a>], i: usize) -> &'a str {
    toks.get(i).map_or("", |t| t.s)
}

/// Index of the token closing the bracket opened at `open` (the last token if unclosed).
pub(super) fn closing(toks: &[Tok], open: usize) -> usize {
    let mut depth = 0i32;
    for (j, t) in toks.iter().enumerate().skip(open) {
        match t.s {
            "(" | "[" | "{" => depth += 1,
            ")" | "]" | "}" => {
                depth -= 1;
                if depth == 0 {
                    return j;
                }
            }
            _ => {}
        }
    }
    toks.len().saturating_sub(1)
}

/// The outer attribute `#[...]` starting at `i`: its inner tokens joined, and its last index.
pub(super) fn attribute(toks: &[Tok], i: usize) -> Option<(String, usize)> {
    if tok(toks, i) != "#" || tok(toks, i + 1) != "[" {
        return None;
    }
    let end = closing(toks, i + 1);
    Some((toks[i + 2..end].iter().map(|t| t.s).collect(), end))
}

pub(super) fn has_word(s: &str, word: &str) -> bool {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    s.match_indices(word).any(|(i, _)| {
        !s[..i].chars().next_back().is_some_and(ident)
            && !s[i + word.len()..].chars().next().is_some_and(ident)
    })
}

/// A `cfg` that compiles the item in test builds only: `cfg(test)`, `cfg(all(test, ..))`.
pub(super) fn cfg_test(attr: &str) -> bool {
    attr.contains("cfg(")
        && has_word(attr, "test")
        && !attr.contains("not(")
        && !attr.contains("any(")
}

/// A `cfg` (attribute or `cfg!`) mentioning `test` or `failpoints`, not negated.
pub(super) fn cfg_test_or_failpoints(line: &str) -> bool {
    (line.contains("cfg(") || line.contains("cfg!("))
        && !line.contains("not(")
        && (has_word(line, "test") || line.contains("failpoints"))
}

/// For each 1-based line of `text` (index 0 unused), whether it belongs to a test item.
pub(super) fn test_mask(text: &str) -> Vec<bool> {
    let code = blank(text, true);
    let toks = tokens(&code);
    let mut mask = vec![false; text.lines().count() + 2];
    let mut i = 0;
    while i < toks.len() {
        let Some((attr, end)) = attribute(&toks, i) else {
            i += 1;
            continue;
        };
        if !cfg_test(&attr) {
            i = end + 1;
            continue;
        }
        // The item ends at its first `;` or at the `}` closing its first `{`, outside () and [].
        let mut depth = 0i32;
        let mut last = toks.len().saturating_sub(1);
        for j in end + 1..toks.len() {
            match toks[j].s {
                "(" | "[" => depth += 1,
                ")" | "]" => depth -= 1,
                ";" if depth == 0 => {
                    last = j;
                    break;
                }
                "{" if depth == 0 => {
                    last = closing(&toks, j);
                    break;
                }
                _ => {}
            }
        }
        let (from, to) = (toks[i].line, toks[last].line.min(mask.len() - 1));
        mask[from..=to].iter_mut().for_each(|m| *m = true);
        i = last + 1;
    }
    mask
}

/// Whether `line` (blanked) declares the out-of-line module `name`: `[pub[(..)]] mod name;`.
pub(super) fn declares_mod(line: &str, name: &str) -> bool {
    let mut t = line.trim();
    if let Some(rest) = t.strip_prefix("pub(") {
        t = rest.split_once(')').map_or("", |(_, r)| r.trim_start());
    } else if let Some(rest) = t.strip_prefix("pub ") {
        t = rest.trim_start();
    }
    t.strip_prefix("mod ")
        .and_then(|r| r.trim().strip_suffix(';'))
        .is_some_and(|r| r.trim() == name)
}

/// The file declaring the module in `path` and the 0-based line of its `mod` declaration.
pub(super) fn declaration(files: &Files, path: &str) -> Option<(String, usize)> {
    let (dir, file) = path.rsplit_once('/')?;
    let (mod_dir, name) = match file {
        "mod.rs" => dir.rsplit_once('/')?,
        _ => (dir, file.strip_suffix(".rs")?),
    };
    let candidates = if mod_dir.ends_with("/src") || mod_dir == "src" {
        vec![format!("{mod_dir}/lib.rs"), format!("{mod_dir}/main.rs")]
    } else {
        vec![
            format!("{mod_dir}.rs"),
            format!("{mod_dir}/mod.rs"),
            format!("{mod_dir}/main.rs"),
        ]
    };
    candidates.into_iter().find_map(|parent| {
        let code = blank(files.get(&parent)?, true);
        let line = code.lines().position(|l| declares_mod(l, name))?;
        Some((parent, line))
    })
}

/// Whether the module in `path` is compiled only under a `cfg` satisfying `gate`: an inner
/// `#![cfg(..)]`, or a `mod` declaration (of it or of a parent) under such an attribute.
pub(super) fn module_gated(files: &Files, path: &str, gate: fn(&str) -> bool) -> bool {
    let mut path = path.to_string();
    for _ in 0..64 {
        let Some(text) = files.get(&path) else {
            return false;
        };
        let inner = |l: &str| l.trim_start().starts_with("#![") && gate(l);
        if blank(text, false).lines().any(inner) {
            return true;
        }
        let Some((parent, at)) = declaration(files, &path) else {
            return false;
        };
        let parent_text = blank(&files[&parent], false);
        let lines: Vec<&str> = parent_text.lines().collect();
        let attrs = lines[..at]
            .iter()
            .rev()
            .take_while(|l| l.trim().is_empty() || l.trim_start().starts_with("#["));
        if gate(lines[at]) || attrs.into_iter().any(|l| gate(l)) {
            return true;
        }
        path = parent;
    }
    false
}

/// Path components, and the index of the `src` directory of a `crates/*`, `bins/*`, `xtask` or
/// `tests` package when the file is under it.
pub(super) fn src_root(path: &str) -> (Vec<&str>, Option<usize>) {
    let parts: Vec<&str> = path.split('/').collect();
    let src = match parts.as_slice() {
        ["crates" | "bins", _, "src", _, ..] => Some(2),
        ["xtask" | "tests", "src", _, ..] => Some(1),
        _ => None,
    };
    (parts, src)
}

/// A test file (see the module doc), for a file under a package's `src/`.
pub(super) fn is_test_file(files: &Files, path: &str) -> bool {
    let (parts, src) = src_root(path);
    let name = parts.last().copied().unwrap_or("");
    let dirs = &parts[src.map_or(0, |s| s + 1)..parts.len() - 1];
    name == "tests.rs"
        || name.ends_with("_tests.rs")
        || dirs.contains(&"tests")
        || module_gated(files, path, cfg_test)
}
