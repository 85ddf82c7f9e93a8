//! Minimal path globs for the contract registry: `*` matches within one segment,
//! `**` matches any number of segments.

/// Whether `path` (with `/` separators) matches `pattern`.
pub fn matches(pattern: &str, path: &str) -> bool {
    let pat: Vec<&str> = pattern.split('/').collect();
    let segs: Vec<&str> = path.split('/').collect();
    match_segs(&pat, &segs)
}

fn match_segs(pat: &[&str], segs: &[&str]) -> bool {
    match pat.first() {
        None => segs.is_empty(),
        Some(&"**") => (0..=segs.len()).any(|i| match_segs(&pat[1..], &segs[i..])),
        Some(p) => match segs.first() {
            Some(s) if match_one(p.as_bytes(), s.as_bytes()) => match_segs(&pat[1..], &segs[1..]),
            _ => false,
        },
    }
}

fn match_one(p: &[u8], s: &[u8]) -> bool {
    // Iterative wildcard match with backtracking on the last '*'.
    let (mut pi, mut si) = (0usize, 0usize);
    let (mut star, mut mark) = (None::<usize>, 0usize);
    while si < s.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some(pi);
            mark = si;
            pi += 1;
        } else if pi < p.len() && p[pi] == s[si] {
            pi += 1;
            si += 1;
        } else if let Some(st) = star {
            pi = st + 1;
            mark += 1;
            si = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == b'*' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn globs() {
        assert!(matches("manifest.json", "manifest.json"));
        assert!(!matches("manifest.json", "x/manifest.json"));
        assert!(matches(
            "logs/contract_validation/*.json",
            "logs/contract_validation/detection.json"
        ));
        assert!(!matches(
            "logs/contract_validation/*.json",
            "logs/contract_validation/a/b.json"
        ));
        assert!(matches(
            "raw_parquet/**/part-*.parquet",
            "raw_parquet/windows_eventlog/part-0000.parquet"
        ));
        assert!(matches(
            "raw_parquet/**/part-*.parquet",
            "raw_parquet/unix/auditd/part-0001.parquet"
        ));
        assert!(matches(
            "bridge/compiled_plans/*.plan.json",
            "bridge/compiled_plans/abc.plan.json"
        ));
        assert!(!matches(
            "bridge/compiled_plans/*.plan.json",
            "bridge/compiled_plans/abc.json"
        ));
    }
}
