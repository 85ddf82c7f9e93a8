//! Durable file-system helpers: atomic writes and directory fsync.

use crate::error::BundleError;
use std::io::Write;
use std::path::Path;

/// fsync a directory so a rename inside it is durable.
pub fn sync_dir(dir: &Path) -> Result<(), BundleError> {
    let f = std::fs::File::open(dir).map_err(|e| BundleError::io(dir, e))?;
    f.sync_all().map_err(|e| BundleError::io(dir, e))
}

/// Write `bytes` to `path` atomically: a temp file in the same directory, fsync, rename, fsync dir.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), BundleError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| BundleError::io(dir, e))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .tempfile_in(dir)
        .map_err(|e| BundleError::io(dir, e))?;
    tmp.write_all(bytes).map_err(|e| BundleError::io(path, e))?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| BundleError::io(path, e))?;
    tmp.persist(path)
        .map_err(|e| BundleError::io(path, e.error))?;
    sync_dir(dir)
}

/// Write a file without syncing it (for staging files: the publish gate syncs the whole
/// filesystem once, with [`sync_filesystem`], before anything is renamed into place).
pub fn write_plain(path: &Path, bytes: &[u8]) -> Result<(), BundleError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| BundleError::io(dir, e))?;
    }
    std::fs::write(path, bytes).map_err(|e| BundleError::io(path, e))
}

/// Flush every dirty file of the filesystem holding `dir` (`syncfs(2)`): one call instead of
/// one fsync per staged file, which matters for stages that stage thousands of small files.
pub fn sync_filesystem(dir: &Path) -> Result<(), BundleError> {
    let f = std::fs::File::open(dir).map_err(|e| BundleError::io(dir, e))?;
    rustix::fs::syncfs(&f).map_err(|e| BundleError::io(dir, std::io::Error::from(e)))
}

/// Write a file and fsync it (not atomic).
pub fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), BundleError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| BundleError::io(dir, e))?;
    }
    let mut f = std::fs::File::create(path).map_err(|e| BundleError::io(path, e))?;
    f.write_all(bytes).map_err(|e| BundleError::io(path, e))?;
    f.sync_all().map_err(|e| BundleError::io(path, e))
}
