//! Sigma condition expressions: tokenizer, parser (precedence parens > of > not > and > or)
//! and resolution of identifiers and `x of pattern` against a rule's search identifiers.

use serde::Serialize;

/// How many of a group of search identifiers must hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Quantifier {
    /// `all of …`.
    All,
    /// `N of …` (at least N; `1 of` is OR).
    AtLeast(usize),
}

/// A parsed condition, identifiers not yet resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum CondAst {
    /// A search identifier.
    Ref {
        /// Its name.
        name: String,
    },
    /// `x of pattern` / `x of them`.
    Of {
        /// `all` or a number.
        quantifier: Quantifier,
        /// The pattern (`them` for all non-`_` identifiers).
        pattern: String,
    },
    /// Logical negation.
    Not {
        /// Operand.
        arg: Box<CondAst>,
    },
    /// Conjunction.
    And {
        /// Operands.
        args: Vec<CondAst>,
    },
    /// Disjunction.
    Or {
        /// Operands.
        args: Vec<CondAst>,
    },
}

/// Why a condition cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CondError {
    /// `backend_compile_error` or `unsupported_aggregation`.
    pub reason_code: &'static str,
    /// Explanation.
    pub message: String,
}

fn err(msg: String) -> CondError {
    CondError {
        reason_code: "backend_compile_error",
        message: msg,
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    LParen,
    RParen,
    And,
    Or,
    Not,
    Of,
    All,
    Them,
    Num(usize),
    Ident(String),
}

fn tokenize(s: &str) -> Result<Vec<Tok>, CondError> {
    let has_near = s
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')')
        .any(|w| w.eq_ignore_ascii_case("near"));
    let lower = s.to_ascii_lowercase();
    let has_agg_fn = ["count(", "min(", "max(", "avg(", "sum("]
        .iter()
        .any(|f| lower.contains(f));
    if s.contains('|') || has_near || has_agg_fn {
        return Err(CondError {
            reason_code: "unsupported_aggregation",
            message: format!("aggregation or `near` in condition `{s}` (use a correlation rule)"),
        });
    }
    let mut out = Vec::new();
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        match c {
            '(' => {
                out.push(Tok::LParen);
                i += 1;
            }
            ')' => {
                out.push(Tok::RParen);
                i += 1;
            }
            _ if c.is_alphanumeric() || c == '_' || c == '*' || c == '-' || c == '.' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_alphanumeric() || matches!(chars[i], '_' | '*' | '-' | '.'))
                {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                let tok = match word.to_ascii_lowercase().as_str() {
                    "and" => Tok::And,
                    "or" => Tok::Or,
                    "not" => Tok::Not,
                    "of" => Tok::Of,
                    "all" => Tok::All,
                    "them" => Tok::Them,
                    _ if word.bytes().all(|b| b.is_ascii_digit()) => Tok::Num(
                        word.parse()
                            .map_err(|_| err(format!("number {word} too large")))?,
                    ),
                    _ => Tok::Ident(word),
                };
                out.push(tok);
            }
            _ => {
                return Err(err(format!(
                    "unexpected character {c:?} at position {i} in condition"
                )));
            }
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }
    fn or_expr(&mut self, depth: usize) -> Result<CondAst, CondError> {
        let mut args = vec![self.and_expr(depth)?];
        while self.peek() == Some(&Tok::Or) {
            self.pos += 1;
            args.push(self.and_expr(depth)?);
        }
        Ok(if args.len() == 1 {
            args.remove(0)
        } else {
            CondAst::Or { args }
        })
    }
    fn and_expr(&mut self, depth: usize) -> Result<CondAst, CondError> {
        let mut args = vec![self.not_expr(depth)?];
        while self.peek() == Some(&Tok::And) {
            self.pos += 1;
            args.push(self.not_expr(depth)?);
        }
        Ok(if args.len() == 1 {
            args.remove(0)
        } else {
            CondAst::And { args }
        })
    }
    fn not_expr(&mut self, depth: usize) -> Result<CondAst, CondError> {
        if depth > 64 {
            return Err(err("condition nested too deeply".into()));
        }
        if self.peek() == Some(&Tok::Not) {
            self.pos += 1;
            let arg = self.not_expr(depth + 1)?;
            return Ok(CondAst::Not { arg: Box::new(arg) });
        }
        self.primary(depth)
    }
    fn primary(&mut self, depth: usize) -> Result<CondAst, CondError> {
        match self.next() {
            Some(Tok::LParen) => {
                let e = self.or_expr(depth + 1)?;
                match self.next() {
                    Some(Tok::RParen) => Ok(e),
                    other => Err(err(format!("expected `)`, found {other:?}"))),
                }
            }
            Some(Tok::All) => self.of_tail(Quantifier::All),
            Some(Tok::Num(n)) => {
                if n == 0 {
                    return Err(err("`0 of` is not a valid quantifier".into()));
                }
                self.of_tail(Quantifier::AtLeast(n))
            }
            Some(Tok::Ident(name)) => {
                if name.contains('*') {
                    return Err(err(format!(
                        "wildcard identifier `{name}` outside of `x of`"
                    )));
                }
                Ok(CondAst::Ref { name })
            }
            other => Err(err(format!(
                "expected an identifier, `(`, `not` or `x of`, found {}",
                other.map_or_else(|| "end of condition".to_owned(), |t| format!("{t:?}"))
            ))),
        }
    }
    fn of_tail(&mut self, quantifier: Quantifier) -> Result<CondAst, CondError> {
        match self.next() {
            Some(Tok::Of) => {}
            other => return Err(err(format!("expected `of`, found {other:?}"))),
        }
        match self.next() {
            Some(Tok::Them) => Ok(CondAst::Of {
                quantifier,
                pattern: "them".into(),
            }),
            Some(Tok::Ident(p)) => Ok(CondAst::Of {
                quantifier,
                pattern: p,
            }),
            other => Err(err(format!(
                "expected a pattern or `them` after `of`, found {other:?}"
            ))),
        }
    }
}

/// Parse one condition string.
pub fn parse_condition(s: &str) -> Result<CondAst, CondError> {
    let toks = tokenize(s)?;
    if toks.is_empty() {
        return Err(err("empty condition".into()));
    }
    let mut p = Parser { toks, pos: 0 };
    let e = p.or_expr(0)?;
    if p.pos < p.toks.len() {
        return Err(err(format!(
            "unexpected {:?} after a complete condition in `{s}`",
            p.toks[p.pos]
        )));
    }
    Ok(e)
}

/// A condition over selection indices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Cond {
    /// Selection by index.
    Sel {
        /// Index into the compiled selections.
        index: usize,
    },
    /// At least `n` of the selections (n = len for `all of`).
    AtLeast {
        /// Required count.
        n: usize,
        /// Selection indices.
        of: Vec<usize>,
    },
    /// Negation.
    Not {
        /// Operand.
        arg: Box<Cond>,
    },
    /// Conjunction.
    And {
        /// Operands.
        args: Vec<Cond>,
    },
    /// Disjunction.
    Or {
        /// Operands.
        args: Vec<Cond>,
    },
}

/// Glob match of a selection name against an `x of` pattern (`*` = any run of characters).
pub fn name_matches(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0usize, 0usize);
    let (mut star, mut mark) = (None::<usize>, 0usize);
    while ni < n.len() {
        if pi < p.len() && p[pi] != '*' && p[pi] == n[ni] {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// Resolve identifiers against `names` (the selection names, index = position); `prefix`
/// is prepended to every name looked up (used to namespace filter selections).
pub fn resolve(ast: &CondAst, names: &[String], prefix: &str) -> Result<Cond, CondError> {
    Ok(match ast {
        CondAst::Ref { name } => {
            let full = format!("{prefix}{name}");
            let index = names.iter().position(|n| *n == full).ok_or_else(|| {
                err(format!(
                    "condition references unknown search identifier `{name}`"
                ))
            })?;
            Cond::Sel { index }
        }
        CondAst::Of {
            quantifier,
            pattern,
        } => {
            let of: Vec<usize> = names
                .iter()
                .enumerate()
                .filter_map(|(i, n)| {
                    let local = n.strip_prefix(prefix)?;
                    if !prefix.is_empty() && local.starts_with('#') {
                        return None;
                    }
                    if prefix.is_empty() && n.starts_with('#') {
                        return None;
                    }
                    let ok = if pattern == "them" {
                        !local.starts_with('_')
                    } else {
                        name_matches(pattern, local)
                    };
                    ok.then_some(i)
                })
                .collect();
            if of.is_empty() {
                return Err(err(format!(
                    "`{} of {pattern}` matches no search identifier",
                    match quantifier {
                        Quantifier::All => "all".to_owned(),
                        Quantifier::AtLeast(n) => n.to_string(),
                    }
                )));
            }
            let n = match quantifier {
                Quantifier::All => of.len(),
                Quantifier::AtLeast(n) => *n,
            };
            if n > of.len() {
                return Err(err(format!(
                    "`{n} of {pattern}` asks for more identifiers than the {} that match",
                    of.len()
                )));
            }
            Cond::AtLeast { n, of }
        }
        CondAst::Not { arg } => Cond::Not {
            arg: Box::new(resolve(arg, names, prefix)?),
        },
        CondAst::And { args } => Cond::And {
            args: args
                .iter()
                .map(|a| resolve(a, names, prefix))
                .collect::<Result<_, _>>()?,
        },
        CondAst::Or { args } => Cond::Or {
            args: args
                .iter()
                .map(|a| resolve(a, names, prefix))
                .collect::<Result<_, _>>()?,
        },
    })
}

impl Cond {
    /// Evaluate with a per-selection oracle.
    pub fn eval(&self, sel: &mut dyn FnMut(usize) -> bool) -> bool {
        match self {
            Cond::Sel { index } => sel(*index),
            Cond::AtLeast { n, of } => {
                let mut count = 0;
                for i in of {
                    if sel(*i) {
                        count += 1;
                        if count >= *n {
                            return true;
                        }
                    }
                }
                false
            }
            Cond::Not { arg } => !arg.eval(sel),
            Cond::And { args } => args.iter().all(|a| a.eval(sel)),
            Cond::Or { args } => args.iter().any(|a| a.eval(sel)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn eval_with(c: &str, ns: &[&str], truth: &[bool]) -> bool {
        let ast = parse_condition(c).expect("parses");
        let cond = resolve(&ast, &names(ns), "").expect("resolves");
        cond.eval(&mut |i| truth[i])
    }

    #[test]
    fn precedence_not_and_or() {
        // a or b and not c  ==  a or (b and (not c))
        let ns = ["a", "b", "c"];
        assert!(eval_with("a or b and not c", &ns, &[true, false, true]));
        assert!(!eval_with("a or b and not c", &ns, &[false, true, true]));
        assert!(eval_with("a or b and not c", &ns, &[false, true, false]));
        assert!(!eval_with("(a or b) and not c", &ns, &[true, false, true]));
        assert!(eval_with("not a and b", &ns, &[false, true, false]));
        assert!(!eval_with("not (a and b)", &ns, &[true, true, false]));
    }

    #[test]
    fn of_forms() {
        let ns = ["sel_a", "sel_b", "filter", "_hidden"];
        assert!(eval_with("1 of sel_*", &ns, &[false, true, false, false]));
        assert!(!eval_with(
            "all of sel_*",
            &ns,
            &[false, true, false, false]
        ));
        assert!(eval_with(
            "all of sel_* and not filter",
            &ns,
            &[true, true, false, false]
        ));
        // `them` excludes identifiers starting with `_`
        assert!(eval_with("all of them", &ns, &[true, true, true, false]));
        assert!(!eval_with("1 of them", &ns, &[false, false, false, true]));
        assert!(eval_with("2 of them", &ns, &[true, false, true, false]));
        assert!(!eval_with("2 of them", &ns, &[true, false, false, true]));
        // `of` binds tighter than `not`
        assert!(eval_with(
            "not 1 of sel_*",
            &ns,
            &[false, false, true, true]
        ));
    }

    #[test]
    fn errors() {
        let ns = names(&["a"]);
        let e = resolve(&parse_condition("a and b").expect("parses"), &ns, "").unwrap_err();
        assert_eq!(e.reason_code, "backend_compile_error");
        assert!(e.message.contains("`b`"));
        let e = resolve(&parse_condition("1 of x*").expect("parses"), &ns, "").unwrap_err();
        assert!(e.message.contains("matches no search identifier"));
        assert_eq!(
            parse_condition("a | count() by x > 5")
                .unwrap_err()
                .reason_code,
            "unsupported_aggregation"
        );
        assert_eq!(
            parse_condition("a near b").unwrap_err().reason_code,
            "unsupported_aggregation"
        );
        assert!(parse_condition("a and").is_err());
        assert!(parse_condition("(a").is_err());
        assert!(parse_condition("a b").is_err());
        assert!(parse_condition("").is_err());
        assert!(parse_condition("a = b").is_err());
    }

    #[test]
    fn glob_names() {
        assert!(name_matches("sel*", "selection"));
        assert!(name_matches("*ion", "selection"));
        assert!(name_matches("s*l*n", "selection"));
        assert!(!name_matches("filter*", "selection"));
        assert!(name_matches("*", ""));
    }
}
