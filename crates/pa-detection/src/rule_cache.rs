//! The rule-set cache: the parsed Sigma rule set of a list of rule paths, kept in the user's
//! cache directory (`$XDG_CACHE_HOME/purple-axiom/rules/`, else `~/.cache/purple-axiom/rules/`)
//! so that a run does not parse the same 2,400 YAML files again.
//!
//! **Key.** SHA-256 over the cache format, the engine build (the BLAKE3 digest of the running
//! executable: any change to the code gives another key) and, for every rule file in load order,
//! its path and the SHA-256 of its bytes. So a one-byte change to any rule, a file added,
//! removed or renamed, or another build of the program misses the cache. The bridge is not part
//! of the key: the cache holds the rule set as loaded (documents, selections, filters applied,
//! load issues), which does not depend on the bridge; routing and field resolution are redone
//! on every run (they take a fraction of the parse and run in parallel).
//!
//! **Entry.** `<key>.json`: one header line (`{"format", "key", "sha256"}`, the last the digest
//! of the rest) and the rule set as JSON. An entry is used only when its header names the key
//! and its payload has that digest and decodes; otherwise it is reported as corrupt (a warning
//! naming the file), removed and rebuilt. An entry is written only when its payload decodes back
//! to exactly the rule set it was made from, through a temporary file and a rename (concurrent
//! runs never see half an entry). The directory keeps the [`KEEP_ENTRIES`] most recently used
//! entries.
//!
//! A rule path that cannot be read bypasses the cache (the load reports it as before).

use crate::DetectError;
use pa_sigma::RuleSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The cache format; part of the key.
const FORMAT: &str = "pa-rule-cache/1";
/// Entries kept in the directory (the least recently used beyond these are removed).
pub const KEEP_ENTRIES: usize = 8;

/// Where rule sets are cached.
#[derive(Debug, Clone)]
pub struct RuleCache {
    dir: PathBuf,
}

/// What [`RuleCache::load`] did, for logs and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    /// The rule set came from the cache.
    Hit,
    /// No entry: parsed and stored.
    Miss,
    /// The entry was corrupt: parsed and stored again.
    Rebuilt,
    /// Not cacheable (a file could not be read) or not stored (see the log).
    Bypassed,
}

impl RuleCache {
    /// A cache in `dir` (created when first written).
    pub fn in_dir(dir: impl Into<PathBuf>) -> RuleCache {
        RuleCache { dir: dir.into() }
    }

    /// The user's cache: `$XDG_CACHE_HOME/purple-axiom/rules`, else
    /// `$HOME/.cache/purple-axiom/rules`; `None` when neither variable is set (or
    /// `PA_NO_RULE_CACHE` is set to anything but `0` or empty).
    pub fn user() -> Option<RuleCache> {
        if std::env::var_os("PA_NO_RULE_CACHE").is_some_and(|v| !v.is_empty() && v != "0") {
            return None;
        }
        let base = std::env::var_os("XDG_CACHE_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME")
                    .filter(|v| !v.is_empty())
                    .map(|h| PathBuf::from(h).join(".cache"))
            })?;
        Some(RuleCache::in_dir(base.join("purple-axiom").join("rules")))
    }

    /// The directory of the entries.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Load the rules under `paths` through the cache (every path must exist, as for
    /// [`crate::load_rules`]).
    pub fn load(&self, paths: &[PathBuf]) -> Result<(RuleSet, CacheOutcome), DetectError> {
        crate::check_rule_paths(paths)?;
        let mut issues = Vec::new();
        let files = pa_sigma::collect_files(paths, &mut issues);
        let read: Vec<(PathBuf, std::io::Result<Vec<u8>>)> = files
            .into_iter()
            .map(|f| {
                let b = std::fs::read(&f);
                (f, b)
            })
            .collect();
        let key = match (issues.is_empty(), engine_digest()) {
            (true, Some(engine)) if read.iter().all(|(_, b)| b.is_ok()) => {
                Some(cache_key(engine, &read))
            }
            _ => None,
        };
        let Some(key) = key else {
            tracing::debug!("rule cache bypassed: a rule path could not be read");
            return Ok((
                pa_sigma::load_read_files(read, issues),
                CacheOutcome::Bypassed,
            ));
        };
        let entry = self.dir.join(format!("{key}.json"));
        let mut outcome = CacheOutcome::Miss;
        match std::fs::read(&entry) {
            Ok(bytes) => match decode(&bytes, &key) {
                Ok(set) => {
                    touch(&entry);
                    tracing::debug!(entry = %entry.display(), "rule cache hit");
                    return Ok((set, CacheOutcome::Hit));
                }
                Err(why) => {
                    tracing::warn!(
                        "rule cache entry {} is corrupt ({why}); rebuilding it",
                        entry.display()
                    );
                    let _ = std::fs::remove_file(&entry);
                    outcome = CacheOutcome::Rebuilt;
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!(
                "rule cache entry {} cannot be read ({e}); rebuilding it",
                entry.display()
            ),
        }
        let set = pa_sigma::load_read_files(read, issues);
        match self.store(&entry, &key, &set) {
            Ok(()) => {
                tracing::debug!(entry = %entry.display(), "rule cache entry written");
                self.prune();
            }
            Err(why) => {
                tracing::warn!("rule cache entry {} not written: {why}", entry.display());
                outcome = CacheOutcome::Bypassed;
            }
        }
        Ok((set, outcome))
    }

    fn store(&self, entry: &Path, key: &str, set: &RuleSet) -> Result<(), String> {
        let payload = serde_json::to_vec(set).map_err(|e| e.to_string())?;
        // Only what decodes back to the same rule set is kept (numbers, for one, must survive
        // the text form).
        let back: RuleSet = serde_json::from_slice(&payload).map_err(|e| e.to_string())?;
        if back != *set {
            return Err("the rule set does not survive its JSON form".into());
        }
        let header = serde_json::json!({
            "format": FORMAT,
            "key": key,
            "sha256": pa_canon::sha256_hex(&payload),
        });
        std::fs::create_dir_all(&self.dir).map_err(|e| format!("{}: {e}", self.dir.display()))?;
        // A private temporary name in the same directory, renamed over the entry.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let tmp = self
            .dir
            .join(format!(".{key}.{}.{nanos}.tmp", std::process::id()));
        let write = || -> std::io::Result<()> {
            let mut w = std::io::BufWriter::new(std::fs::File::create_new(&tmp)?);
            serde_json::to_writer(&mut w, &header)?;
            w.write_all(b"\n")?;
            w.write_all(&payload)?;
            w.flush()?;
            std::fs::rename(&tmp, entry)
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            format!("{}: {e}", tmp.display())
        })
    }

    /// Keep the [`KEEP_ENTRIES`] most recently used entries.
    fn prune(&self) {
        let Ok(rd) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let mut entries: Vec<(std::time::SystemTime, PathBuf)> = rd
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .filter_map(|p| Some((std::fs::metadata(&p).ok()?.modified().ok()?, p)))
            .collect();
        entries.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        for (_, p) in entries.into_iter().skip(KEEP_ENTRIES) {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Mark an entry as just used (for pruning).
fn touch(entry: &Path) {
    if let Ok(f) = std::fs::File::options().append(true).open(entry) {
        let _ = f.set_modified(std::time::SystemTime::now());
    }
}

/// The entry's rule set, if its header names `key` and its payload is intact.
fn decode(bytes: &[u8], key: &str) -> Result<RuleSet, String> {
    let nl = bytes
        .iter()
        .position(|&b| b == b'\n')
        .ok_or("no header line")?;
    let (head, payload) = (&bytes[..nl], &bytes[nl + 1..]);
    let header: serde_json::Value =
        serde_json::from_slice(head).map_err(|e| format!("header: {e}"))?;
    if header["format"] != FORMAT {
        return Err(format!("format {} is not {FORMAT}", header["format"]));
    }
    if header["key"] != key {
        return Err("the header names another key".into());
    }
    let digest = pa_canon::sha256_hex(payload);
    if header["sha256"] != digest.as_str() {
        return Err(format!(
            "payload digest {digest} is not the recorded {}",
            header["sha256"]
        ));
    }
    serde_json::from_slice(payload).map_err(|e| format!("payload: {e}"))
}

/// BLAKE3 of the running executable (once per process); `None` when it cannot be read.
fn engine_digest() -> Option<&'static str> {
    static DIGEST: OnceLock<Option<String>> = OnceLock::new();
    DIGEST
        .get_or_init(|| {
            let exe = std::env::current_exe().ok()?;
            let bytes = std::fs::read(exe).ok()?;
            Some(pa_canon::blake3_hex(&bytes))
        })
        .as_deref()
}

fn cache_key(engine: &str, files: &[(PathBuf, std::io::Result<Vec<u8>>)]) -> String {
    let mut basis = Vec::with_capacity(64 + files.len() * 160);
    basis.extend_from_slice(FORMAT.as_bytes());
    basis.push(b'\n');
    basis.extend_from_slice(engine.as_bytes());
    basis.push(b'\n');
    for (path, bytes) in files {
        basis.extend_from_slice(path.as_os_str().as_encoded_bytes());
        basis.push(0);
        if let Ok(b) = bytes {
            basis.extend_from_slice(pa_canon::sha256_hex(b).as_bytes());
        }
        basis.push(b'\n');
    }
    pa_canon::sha256_hex(&basis)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/data/sigma/rules/windows/process_creation")
    }

    #[test]
    fn a_hit_gives_the_parsed_rule_set_and_a_one_byte_change_misses() {
        let cache_dir = tempfile::tempdir().expect("tempdir");
        let cache = RuleCache::in_dir(cache_dir.path());
        let rules = tempfile::tempdir().expect("tempdir");
        // a copy of a few real rules we can change
        let mut names: Vec<PathBuf> = std::fs::read_dir(rules_dir())
            .expect("SigmaHQ rules beside the repository")
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "yml"))
            .collect();
        names.sort();
        for p in names.iter().take(20) {
            std::fs::copy(p, rules.path().join(p.file_name().expect("name"))).expect("copy");
        }
        let paths = vec![rules.path().to_path_buf()];
        let plain = pa_sigma::load_paths(&paths);
        let (first, o1) = cache.load(&paths).expect("load");
        assert_eq!(o1, CacheOutcome::Miss);
        assert_eq!(first, plain);
        let (second, o2) = cache.load(&paths).expect("load");
        assert_eq!(o2, CacheOutcome::Hit);
        assert_eq!(second, plain);

        // One byte of one rule: `level: high` → `level: higH`… any byte will do; take the
        // first rule file's last byte before its final newline.
        let victim = std::fs::read_dir(rules.path())
            .expect("dir")
            .flatten()
            .map(|e| e.path())
            .min()
            .expect("a rule");
        let mut bytes = std::fs::read(&victim).expect("read");
        let at = bytes
            .iter()
            .rposition(|&b| b.is_ascii_alphabetic())
            .expect("a letter");
        bytes[at] ^= 0x20; // flip its case
        std::fs::write(&victim, &bytes).expect("write");
        let changed = pa_sigma::load_paths(&paths);
        let (third, o3) = cache.load(&paths).expect("load");
        assert_eq!(o3, CacheOutcome::Miss);
        assert_eq!(third, changed);
        assert_ne!(third, plain);
    }

    #[test]
    fn a_corrupt_entry_is_rebuilt() {
        let cache_dir = tempfile::tempdir().expect("tempdir");
        let cache = RuleCache::in_dir(cache_dir.path());
        let paths = vec![rules_dir().join("proc_creation_win_whoami_all_execution.yml")];
        let (set, _) = cache.load(&paths).expect("load");
        let entry = std::fs::read_dir(cache_dir.path())
            .expect("dir")
            .flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|x| x == "json"))
            .expect("an entry");
        for corrupt in [
            |b: &mut Vec<u8>| {
                let n = b.len();
                b[n - 10] ^= 0x01;
            },
            |b: &mut Vec<u8>| b.truncate(b.len() / 2),
            |b: &mut Vec<u8>| *b = b"not a cache entry".to_vec(),
        ] {
            let mut bytes = std::fs::read(&entry).expect("read");
            corrupt(&mut bytes);
            std::fs::write(&entry, &bytes).expect("write");
            let (again, o) = cache.load(&paths).expect("load");
            assert_eq!(o, CacheOutcome::Rebuilt);
            assert_eq!(again, set);
            let (_, o) = cache.load(&paths).expect("load");
            assert_eq!(o, CacheOutcome::Hit, "the rebuilt entry is used");
        }
    }

    #[test]
    fn unreadable_paths_bypass_the_cache_and_old_entries_are_pruned() {
        let cache_dir = tempfile::tempdir().expect("tempdir");
        let cache = RuleCache::in_dir(cache_dir.path());
        let missing = vec![PathBuf::from("/nonexistent/rules")];
        assert!(cache.load(&missing).is_err(), "a missing path is an error");
        let rules = tempfile::tempdir().expect("tempdir");
        let rule = rules.path().join("r.yml");
        for i in 0..KEEP_ENTRIES + 3 {
            std::fs::write(
                &rule,
                format!(
                    "title: t{i}\nid: r{i}\nlogsource: {{product: windows}}\ndetection:\n  s: {{Image: x}}\n  condition: s\n"
                ),
            )
            .expect("write");
            let (_, o) = cache.load(std::slice::from_ref(&rule)).expect("load");
            assert_eq!(o, CacheOutcome::Miss);
        }
        let n = std::fs::read_dir(cache_dir.path()).expect("dir").count();
        assert_eq!(n, KEEP_ENTRIES);
    }
}
