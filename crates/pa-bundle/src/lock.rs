//! The run lock: `runs/.locks/<run_id>.lock`, created with create-new and held with an OS
//! file lock (flock), so a crashed holder never blocks a run forever.

use crate::error::BundleError;
use crate::layout::Workspace;
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// A break-glass event recorded in `manifest.extensions.orchestrator.run_lock.break_glass_events[]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BreakGlassEvent {
    pub seq: u32,
    pub stale_lock_filename: String,
    pub stale_lock_sha256: String,
    pub policy: String,
}

/// A held run lock. Dropping it releases the lock and removes the lock file.
#[derive(Debug)]
pub struct RunLock {
    path: PathBuf,
    file: Option<File>,
    /// The previous holder died without releasing (its file was reused).
    pub recovered_stale: bool,
    /// Set when `--force-run-lock` moved an existing lock aside.
    pub break_glass: Option<BreakGlassEvent>,
}

/// The lock file path of a run.
pub fn lock_path(ws: &Workspace, run_id: &str) -> PathBuf {
    ws.locks_dir().join(format!("{run_id}.lock"))
}

fn holder_of(path: &Path) -> String {
    let mut s = String::new();
    if let Ok(mut f) = File::open(path) {
        let _ = f.read_to_string(&mut s);
    }
    let s = s.trim();
    if s.is_empty() {
        String::new()
    } else {
        format!(" ({s})")
    }
}

fn stamp(file: &mut File, path: &Path) -> Result<(), BundleError> {
    file.set_len(0).map_err(|e| BundleError::io(path, e))?;
    file.seek(SeekFrom::Start(0))
        .map_err(|e| BundleError::io(path, e))?;
    write!(file, "pid={}", std::process::id()).map_err(|e| BundleError::io(path, e))?;
    file.sync_all().map_err(|e| BundleError::io(path, e))
}

impl RunLock {
    /// Take the run lock, or fail with [`BundleError::LockHeld`] without changing anything.
    ///
    /// With `force`, an existing lock file is renamed to `<run_id>.lock.stale.<nnnn>` (lowest
    /// free number) and the lock is taken anew; the event is returned for the manifest.
    pub fn acquire(ws: &Workspace, run_id: &str, force: bool) -> Result<RunLock, BundleError> {
        let dir = ws.locks_dir();
        std::fs::create_dir_all(&dir).map_err(|e| BundleError::io(&dir, e))?;
        let path = lock_path(ws, run_id);
        let mut break_glass = None;
        if force && path.exists() {
            let bytes = std::fs::read(&path).map_err(|e| BundleError::io(&path, e))?;
            let mut seq = 1u32;
            let stale = loop {
                let name = format!("{run_id}.lock.stale.{seq:04}");
                if !dir.join(&name).exists() {
                    break name;
                }
                seq += 1;
            };
            std::fs::rename(&path, dir.join(&stale)).map_err(|e| BundleError::io(&path, e))?;
            break_glass = Some(BreakGlassEvent {
                seq,
                stale_lock_filename: stale,
                stale_lock_sha256: pa_canon::sha256_prefixed(&bytes),
                policy: "manual_break_glass_v1".into(),
            });
        }
        match OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(mut file) => {
                match file.try_lock() {
                    Ok(()) => {}
                    Err(TryLockError::WouldBlock) => {
                        return Err(BundleError::LockHeld {
                            path: path.clone(),
                            holder: holder_of(&path),
                        });
                    }
                    Err(TryLockError::Error(e)) => return Err(BundleError::io(&path, e)),
                }
                stamp(&mut file, &path)?;
                Ok(RunLock {
                    path,
                    file: Some(file),
                    recovered_stale: false,
                    break_glass,
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                // Someone created it. If nobody holds its OS lock, the holder died.
                let mut file = OpenOptions::new()
                    .read(true)
                    .write(true)
                    .open(&path)
                    .map_err(|e| BundleError::io(&path, e))?;
                match file.try_lock() {
                    Ok(()) => {
                        stamp(&mut file, &path)?;
                        Ok(RunLock {
                            path,
                            file: Some(file),
                            recovered_stale: true,
                            break_glass,
                        })
                    }
                    Err(TryLockError::WouldBlock) => Err(BundleError::LockHeld {
                        path: path.clone(),
                        holder: holder_of(&path),
                    }),
                    Err(TryLockError::Error(e)) => Err(BundleError::io(&path, e)),
                }
            }
            Err(e) => Err(BundleError::io(&path, e)),
        }
    }

    /// Check that the run lock is currently held by someone else (the parent orchestrator),
    /// as `--lock-held` claims.
    pub fn verify_held_elsewhere(ws: &Workspace, run_id: &str) -> Result<(), BundleError> {
        let path = lock_path(ws, run_id);
        let file = File::open(&path).map_err(|e| BundleError::LockFailed {
            path: path.clone(),
            reason: format!("--lock-held was given but the lock file cannot be opened: {e}"),
        })?;
        match file.try_lock() {
            Err(TryLockError::WouldBlock) => Ok(()),
            Ok(()) => {
                let _ = file.unlock();
                Err(BundleError::LockFailed {
                    path,
                    reason: "--lock-held was given but no process holds the lock".into(),
                })
            }
            Err(TryLockError::Error(e)) => Err(BundleError::io(&path, e)),
        }
    }

    /// The lock file path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        if let Some(f) = self.file.take() {
            // Remove while still holding the OS lock, then release.
            let _ = std::fs::remove_file(&self.path);
            let _ = f.unlock();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "123e4567-e89b-42d3-a456-426614174000";

    #[test]
    fn second_acquire_is_refused_and_release_frees() {
        let t = tempfile::tempdir().unwrap();
        let ws = Workspace::new(t.path());
        let l1 = RunLock::acquire(&ws, ID, false).unwrap();
        assert!(!l1.recovered_stale);
        let e = RunLock::acquire(&ws, ID, false).unwrap_err();
        assert!(matches!(e, BundleError::LockHeld { .. }), "{e}");
        RunLock::verify_held_elsewhere(&ws, ID).unwrap();
        drop(l1);
        assert!(!lock_path(&ws, ID).exists());
        assert!(RunLock::verify_held_elsewhere(&ws, ID).is_err());
        let _l2 = RunLock::acquire(&ws, ID, false).unwrap();
    }

    #[test]
    fn a_dead_holders_lock_file_is_reused() {
        let t = tempfile::tempdir().unwrap();
        let ws = Workspace::new(t.path());
        std::fs::create_dir_all(ws.locks_dir()).unwrap();
        std::fs::write(lock_path(&ws, ID), "pid=999999").unwrap();
        let l = RunLock::acquire(&ws, ID, false).unwrap();
        assert!(l.recovered_stale);
    }

    #[test]
    fn force_moves_a_held_lock_aside() {
        let t = tempfile::tempdir().unwrap();
        let ws = Workspace::new(t.path());
        let held = RunLock::acquire(&ws, ID, false).unwrap();
        let forced = RunLock::acquire(&ws, ID, true).unwrap();
        let ev = forced.break_glass.clone().unwrap();
        assert_eq!(ev.seq, 1);
        assert_eq!(ev.stale_lock_filename, format!("{ID}.lock.stale.0001"));
        assert!(ev.stale_lock_sha256.starts_with("sha256:"));
        assert!(ws.locks_dir().join(&ev.stale_lock_filename).exists());
        drop(forced);
        drop(held);
    }
}
