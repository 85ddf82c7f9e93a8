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

/// Write a file without syncing it (for staging files: the publish gate syncs what was staged
/// once, with [`sync_tree`], before anything is renamed into place).
pub fn write_plain(path: &Path, bytes: &[u8]) -> Result<(), BundleError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| BundleError::io(dir, e))?;
    }
    std::fs::write(path, bytes).map_err(|e| BundleError::io(path, e))
}

/// fsync every file and directory under `dir` (what a stage staged), on a few threads: exactly
/// what the stage wrote reaches the disk, so a publish does not wait for other processes' writes
/// the way a whole-filesystem `syncfs(2)` did.
pub fn sync_tree(dir: &Path) -> Result<(), BundleError> {
    let mut paths = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let rd = std::fs::read_dir(&d).map_err(|e| BundleError::io(&d, e))?;
        for e in rd {
            let e = e.map_err(|e| BundleError::io(&d, e))?;
            let ft = e
                .file_type()
                .map_err(|err| BundleError::io(&e.path(), err))?;
            if ft.is_dir() {
                stack.push(e.path());
            } else if ft.is_file() {
                paths.push(e.path());
            }
        }
        paths.push(d);
    }
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 4);
    let chunk = paths.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = paths
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || -> Result<(), BundleError> {
                    for p in part {
                        let f = std::fs::File::open(p).map_err(|e| BundleError::io(p, e))?;
                        f.sync_all().map_err(|e| BundleError::io(p, e))?;
                    }
                    Ok(())
                })
            })
            .collect();
        for h in handles {
            h.join().map_err(|_| {
                BundleError::io(dir, std::io::Error::other("an fsync worker panicked"))
            })??;
        }
        Ok(())
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_tree_syncs_nested_files_and_names_a_missing_dir() {
        let d = tempfile::tempdir().unwrap();
        for rel in ["a.json", "x/b.json", "x/y/c.parquet"] {
            write_plain(&d.path().join(rel), b"{}").unwrap();
        }
        sync_tree(d.path()).unwrap();
        let missing = d.path().join("nope");
        let e = sync_tree(&missing).unwrap_err().to_string();
        assert!(e.contains("nope"), "{e}");
    }
}
