//! Staging and the publish gate.
//!
//! A stage writes into `runs/<id>/.staging/<stage>/`. On publish every staged file is
//! validated against its contract (from the registry); if any fails, a report is written to
//! `logs/contract_validation/<stage>.json` and nothing is published. Otherwise a journal
//! (`.staging/<stage>.journal.json`) lists the renames and the deletions of the stage's
//! previous outputs, and is applied; a crash mid-apply is rolled forward on the next open,
//! so a stage's outputs are never half-published.
//!
//! # Fault points (test-only)
//!
//! Builds with the `failpoints` feature (the end-to-end tests enable it; a release build has no
//! fault hook) read `PA_FAILPOINT` and inject one fault into the staging and publishing of this
//! process:
//!
//! | `PA_FAILPOINT` | where | what |
//! |---|---|---|
//! | `staging_write:enospc` | [`Staging::write`], [`Staging::create`] | the write fails with "No space left on device (injected)" |
//! | `publish:after_journal` | [`Staging::publish`] | publish returns an I/O error once its journal is durable |
//! | `abort:staging_write` | [`Staging::write`], [`StagedFile::finish`], [`Staging::path_for`] | the process dies once its first staged file is written (at the end of the first `write` or `finish`, or when a second file is declared) |
//! | `abort:after_journal` | [`Staging::publish`] | the process dies once the journal is durable, before any rename |
//! | `abort:mid_apply` | [`Staging::publish`] | the process dies after the first rename of the journal's apply |
//!
//! "Dies" is `kill -9` semantics: the process sends itself `SIGKILL` (no destructor, no outcome
//! recorded). `PA_FAILPOINT_STAGE=<owner>` restricts the fault to the staging of one owner (a
//! stage id, or `orchestrator`), so `pa-orchestrate` and the other stages of a pipeline run
//! are left alone; unset, every owner fires. Recovery ([`recover`]) never fires a fault: the
//! process that rolls a journal forward completes it.

use crate::contracts::{self, ContractError};
use crate::error::BundleError;
use crate::fsutil;
use crate::layout::RunDir;
use crate::manifest::CONTRACT_VERSION;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

#[cfg(feature = "failpoints")]
mod failpoint;
#[cfg(feature = "failpoints")]
pub use failpoint::{FAILPOINT_ENV, FAILPOINT_STAGE_ENV};

/// Without the `failpoints` feature every fault point is a no-op.
#[cfg(not(feature = "failpoints"))]
mod failpoint {
    pub(super) fn error(_name: &str, _owner: &str) -> Option<std::io::Error> {
        None
    }
    pub(super) fn crash(_name: &str, _owner: &str) {}
}

#[derive(Debug, Serialize, Deserialize)]
struct Journal {
    owner: String,
    renames: Vec<String>,
    deletes: Vec<String>,
}

/// The files a stage is writing, not yet visible in the bundle.
#[derive(Debug)]
pub struct Staging {
    run: RunDir,
    owner: String,
    dir: PathBuf,
    files: BTreeSet<String>,
}

/// A staged file being written as a stream (from [`Staging::create`]). Call
/// [`StagedFile::finish`]: dropped without it, the buffer's last flush ignores errors and the
/// file may be short (the publish gate still validates it as any staged file).
#[derive(Debug)]
#[must_use = "a staged file is complete only once `finish` has flushed it"]
pub struct StagedFile {
    w: std::io::BufWriter<std::fs::File>,
    path: PathBuf,
    owner: String,
}

impl StagedFile {
    /// Where the file is staged (for error messages).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Flush what is buffered: the file is complete.
    pub fn finish(mut self) -> Result<(), BundleError> {
        use std::io::Write;
        self.w.flush().map_err(|e| BundleError::io(&self.path, e))?;
        failpoint::crash("abort:staging_write", &self.owner);
        Ok(())
    }
}

impl std::io::Write for StagedFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.w.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.w.write_all(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.w.flush()
    }
}

/// What a publish did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PublishReport {
    pub published: Vec<String>,
    pub removed: Vec<String>,
}

fn journal_path(run: &RunDir, owner: &str) -> PathBuf {
    run.staging_root().join(format!("{owner}.journal.json"))
}

/// Roll forward any interrupted publish of any owner in this run (idempotent).
pub fn recover(run: &RunDir) -> Result<Vec<String>, BundleError> {
    let root = run.staging_root();
    let rd = match std::fs::read_dir(&root) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(BundleError::io(&root, e)),
    };
    let mut recovered = Vec::new();
    let mut journals: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".journal.json"))
        .collect();
    journals.sort();
    for j in journals {
        let bytes = std::fs::read(&j).map_err(|e| BundleError::io(&j, e))?;
        match serde_json::from_slice::<Journal>(&bytes) {
            Ok(journal) => {
                apply(run, &journal, false)?;
                recovered.push(journal.owner.clone());
            }
            Err(_) => {
                // A torn journal write means the apply never started: nothing was published.
            }
        }
        std::fs::remove_file(&j).map_err(|e| BundleError::io(&j, e))?;
    }
    Ok(recovered)
}

/// Apply a journal: rename every staged file over its target, delete the stale outputs, sync
/// the touched directories, drop the staging directory. `publishing` is true in the process
/// that wrote the journal (the only one where the `abort:mid_apply` fault point fires).
fn apply(run: &RunDir, j: &Journal, publishing: bool) -> Result<(), BundleError> {
    let staged_root = run.staging_root().join(&j.owner);
    let mut dirs = BTreeSet::new();
    let mut renamed = 0usize;
    for rel in &j.renames {
        let src = staged_root.join(rel);
        let dst = run.resolve(rel)?;
        if src.exists() {
            if let Some(parent) = dst.parent() {
                std::fs::create_dir_all(parent).map_err(|e| BundleError::io(parent, e))?;
                dirs.insert(parent.to_path_buf());
            }
            std::fs::rename(&src, &dst).map_err(|e| BundleError::io(&dst, e))?;
            renamed += 1;
            if publishing && renamed == 1 {
                failpoint::crash("abort:mid_apply", &j.owner);
            }
        }
    }
    for rel in &j.deletes {
        let p = run.resolve(rel)?;
        match std::fs::remove_file(&p) {
            Ok(()) => {
                if let Some(parent) = p.parent() {
                    dirs.insert(parent.to_path_buf());
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(BundleError::io(&p, e)),
        }
    }
    for d in dirs {
        if d.exists() {
            fsutil::sync_dir(&d)?;
        }
    }
    if staged_root.exists() {
        std::fs::remove_dir_all(&staged_root).map_err(|e| BundleError::io(&staged_root, e))?;
    }
    Ok(())
}

/// Every file under `dir` as bundle-relative paths (`/` separators), skipping `.staging`.
fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) -> Result<(), BundleError> {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(BundleError::io(dir, e)),
    };
    for entry in rd {
        let entry = entry.map_err(|e| BundleError::io(dir, e))?;
        let p = entry.path();
        let ft = entry.file_type().map_err(|e| BundleError::io(&p, e))?;
        let rel = p
            .strip_prefix(root)
            .map(|r| r.to_string_lossy().replace('\\', "/"))
            .unwrap_or_default();
        if rel == crate::layout::STAGING_DIR {
            continue;
        }
        if ft.is_dir() {
            walk(root, &p, out)?;
        } else if ft.is_file() {
            out.push(rel);
        }
    }
    Ok(())
}

/// Remove the spill directories (`.staging/.spill-*`) of stages that were killed while sorting:
/// a stage that ends removes its own, and the run lock lets one stage at a time work.
fn remove_stale_spills(run: &RunDir) -> Result<(), BundleError> {
    let root = run.staging_root();
    let rd = match std::fs::read_dir(&root) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(BundleError::io(&root, e)),
    };
    for entry in rd {
        let entry = entry.map_err(|e| BundleError::io(&root, e))?;
        let p = entry.path();
        if entry.file_name().to_string_lossy().starts_with(".spill-")
            && entry.file_type().is_ok_and(|t| t.is_dir())
        {
            std::fs::remove_dir_all(&p).map_err(|e| BundleError::io(&p, e))?;
        }
    }
    Ok(())
}

impl Staging {
    /// Start staging for `owner` (a stage id or `orchestrator`): finish any interrupted
    /// publish, then start from an empty `.staging/<owner>/`.
    pub fn begin(run: &RunDir, owner: &str) -> Result<Staging, BundleError> {
        recover(run)?;
        remove_stale_spills(run)?;
        let dir = run.staging_root().join(owner);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|e| BundleError::io(&dir, e))?;
        }
        std::fs::create_dir_all(&dir).map_err(|e| BundleError::io(&dir, e))?;
        Ok(Staging {
            run: run.clone(),
            owner: owner.to_string(),
            dir,
            files: BTreeSet::new(),
        })
    }

    /// The run directory this staging belongs to.
    pub fn run(&self) -> &RunDir {
        &self.run
    }

    /// The owner (stage id).
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// Declare a staged output and return where to write it (parents created). The path must
    /// be a valid bundle-relative path that the registry assigns to this owner.
    pub fn path_for(&mut self, rel: &str) -> Result<PathBuf, BundleError> {
        crate::relpath::check(rel).map_err(|reason| BundleError::BadPath {
            path: rel.into(),
            reason,
        })?;
        if !self.files.is_empty() && !self.files.contains(rel) {
            failpoint::crash("abort:staging_write", &self.owner);
        }
        let entry = contracts::entry_for(rel)?.ok_or_else(|| BundleError::UndeclaredOutput {
            path: rel.into(),
            stage: self.owner.clone(),
        })?;
        if entry.stage != self.owner && entry.stage != "*" {
            return Err(BundleError::UndeclaredOutput {
                path: rel.into(),
                stage: self.owner.clone(),
            });
        }
        let p = self.dir.join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).map_err(|e| BundleError::io(parent, e))?;
        }
        self.files.insert(rel.to_string());
        Ok(p)
    }

    /// Stage a whole file.
    pub fn write(&mut self, rel: &str, bytes: &[u8]) -> Result<(), BundleError> {
        let p = self.path_for(rel)?;
        if let Some(e) = failpoint::error("staging_write:enospc", &self.owner) {
            return Err(BundleError::io(&p, e));
        }
        fsutil::write_plain(&p, bytes)?;
        failpoint::crash("abort:staging_write", &self.owner);
        Ok(())
    }

    /// Stage a file written as a stream: the returned writer is buffered, and
    /// [`StagedFile::finish`] flushes it. Fault points as for [`Staging::write`]: the injected
    /// write error comes from here, the crash from `finish`.
    pub fn create(&mut self, rel: &str) -> Result<StagedFile, BundleError> {
        let p = self.path_for(rel)?;
        if let Some(e) = failpoint::error("staging_write:enospc", &self.owner) {
            return Err(BundleError::io(&p, e));
        }
        let f = std::fs::File::create(&p).map_err(|e| BundleError::io(&p, e))?;
        Ok(StagedFile {
            w: std::io::BufWriter::with_capacity(1 << 16, f),
            path: p,
            owner: self.owner.clone(),
        })
    }

    /// Stage a JSON artifact in canonical form (RFC 8785, no trailing newline).
    pub fn write_json<T: Serialize + ?Sized>(
        &mut self,
        rel: &str,
        v: &T,
    ) -> Result<(), BundleError> {
        let bytes = pa_canon::jcs(v)?;
        self.write(rel, &bytes)
    }

    /// Staged paths so far.
    pub fn files(&self) -> impl Iterator<Item = &str> {
        self.files.iter().map(String::as_str)
    }

    /// Drop everything staged.
    pub fn abandon(self) -> Result<(), BundleError> {
        if self.dir.exists() {
            std::fs::remove_dir_all(&self.dir).map_err(|e| BundleError::io(&self.dir, e))?;
        }
        Ok(())
    }

    /// Validate every staged file; publish all of them, or none.
    pub fn publish(self) -> Result<PublishReport, BundleError> {
        // 1. Gate.
        let t = std::time::Instant::now();
        let mut failures: Vec<serde_json::Value> = Vec::new();
        let mut failed = 0usize;
        for rel in &self.files {
            let p = self.dir.join(rel);
            let entry =
                contracts::entry_for(rel)?.ok_or_else(|| BundleError::UndeclaredOutput {
                    path: rel.clone(),
                    stage: self.owner.clone(),
                })?;
            let (errors, total): (Vec<ContractError>, usize) = contracts::validate_file(entry, &p)?;
            if total > 0 {
                failed += 1;
                failures.push(serde_json::json!({
                    "artifact_path": rel,
                    "contract_id": entry.contract_id,
                    "error_count": total,
                    "errors": errors,
                }));
            }
        }
        let report_rel = format!("logs/contract_validation/{}.json", self.owner);
        if failed > 0 {
            let report = serde_json::json!({
                "contract_version": CONTRACT_VERSION,
                "run_id": self.run.run_id(),
                "stage": self.owner,
                "artifacts": failures,
            });
            let report_path = self.run.resolve(&report_rel)?;
            // The report itself must pass its contract; if the owner is not a stage id
            // (orchestrator), write it anyway: it is evidence, not an artifact.
            let bytes = pa_canon::jcs_value(&report)?;
            fsutil::write_atomic(&report_path, &bytes)?;
            let stage = self.owner.clone();
            self.abandon()?;
            return Err(BundleError::GateFailed {
                stage,
                count: failed,
                report: report_path,
            });
        }

        // Durability before anything moves: every staged byte and directory entry reaches the
        // disk (only what this stage wrote).
        let validated_ms = t.elapsed().as_millis() as u64;
        let t = std::time::Instant::now();
        fsutil::sync_tree(&self.dir)?;
        tracing::debug!(
            owner = %self.owner,
            files = self.files.len(),
            validated_ms,
            synced_ms = t.elapsed().as_millis() as u64,
            "publish: staged files validated and synced"
        );

        // 2. Journal: new files, and the owner's previous outputs that are not re-published.
        let mut existing = Vec::new();
        walk(self.run.path(), self.run.path(), &mut existing)?;
        let mut deletes = Vec::new();
        for rel in existing {
            if self.files.contains(&rel) {
                continue;
            }
            if rel == report_rel {
                deletes.push(rel);
                continue;
            }
            if let Some(entry) = contracts::entry_for(&rel)? {
                if entry.stage == self.owner {
                    deletes.push(rel);
                }
            }
        }
        deletes.sort();
        let journal = Journal {
            owner: self.owner.clone(),
            renames: self.files.iter().cloned().collect(),
            deletes,
        };
        let jp = journal_path(&self.run, &self.owner);
        let jbytes = serde_json::to_vec(&journal).map_err(|e| BundleError::Contract {
            contract: "journal".into(),
            reason: e.to_string(),
        })?;
        fsutil::write_atomic(&jp, &jbytes)?;
        failpoint::crash("abort:after_journal", &self.owner);
        if let Some(e) = failpoint::error("publish:after_journal", &self.owner) {
            return Err(BundleError::io(&jp, e));
        }

        // 3. Apply and forget the journal.
        apply(&self.run, &journal, true)?;
        std::fs::remove_file(&jp).map_err(|e| BundleError::io(&jp, e))?;
        Ok(PublishReport {
            published: journal.renames,
            removed: journal.deletes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_killed_stages_spill_directories_go_at_the_next_begin() {
        let t = tempfile::tempdir().unwrap();
        let run = RunDir::new_unchecked(t.path().to_path_buf(), "x".into());
        let root = run.staging_root();
        std::fs::create_dir_all(root.join(".spill-detections-abc")).unwrap();
        std::fs::write(root.join(".spill-detections-abc/run-000000"), b"x").unwrap();
        std::fs::create_dir_all(root.join(".spill-xyz")).unwrap();
        // Not a spill directory: left alone.
        std::fs::write(root.join(".spill-note"), b"kept").unwrap();
        let mut s = Staging::begin(&run, "detection").unwrap();
        assert!(!root.join(".spill-detections-abc").exists());
        assert!(!root.join(".spill-xyz").exists());
        assert!(root.join(".spill-note").is_file());

        // A streamed staged file holds what was written once finished.
        use std::io::Write;
        let mut f = s.create("detections/detections.jsonl").unwrap();
        f.write_all(b"{}\n").unwrap();
        assert!(f.path().ends_with("detection/detections/detections.jsonl"));
        f.finish().unwrap();
        assert_eq!(
            std::fs::read(root.join("detection/detections/detections.jsonl")).unwrap(),
            b"{}\n"
        );
        assert!(s.create("normalized/ocsf_events/_schema.json").is_err());
    }
}
