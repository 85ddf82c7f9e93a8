//! Keyword scans for callers that find candidate strings themselves: the literals a keyword
//! atom needs ([`Engine::keyword_literals`]) let a columnar caller search whole column buffers
//! at once and scan with the keyword index ([`Engine::keyword_atoms`]) only the strings that
//! hold one, instead of every string of every event.

use super::Engine;

/// What a caller must look for before a string can fire a keyword atom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeywordLiterals {
    /// The engine has no indexed keyword matcher.
    None,
    /// A string fires a keyword atom only if it contains one of these needles: compared
    /// case-sensitively when `cased`, else against the string case-folded the way the engine
    /// folds (so an ASCII string may be searched ASCII-case-insensitively; a string with
    /// non-ASCII characters must be scanned, its folding is not ASCII's).
    Needles(Vec<(String, bool)>),
    /// Some keyword atom can fire without any literal: every string must be scanned.
    Every,
}

impl Engine {
    /// The literals the engine's keyword atoms need (see [`KeywordLiterals`]).
    pub fn keyword_literals(&self) -> KeywordLiterals {
        match &self.keywords {
            None => KeywordLiterals::None,
            Some(kw) => match kw.literals() {
                Some(l) => KeywordLiterals::Needles(
                    l.into_iter().map(|(n, c)| (n.to_string(), c)).collect(),
                ),
                None => KeywordLiterals::Every,
            },
        }
    }

    /// The keyword atoms `text` fires (appended to `out`), for
    /// [`Engine::matches_with_fired`] with `keywords_scanned`.
    pub fn keyword_atoms(&self, text: &str, out: &mut Vec<u32>) {
        if let Some(kw) = &self.keywords {
            self.index_atoms(kw, text, out);
        }
    }
}
