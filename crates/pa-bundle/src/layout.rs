//! Workspace layout (`runs/`, `runs/.locks/`, `cache/`, `exports/`), run ids and run directories.

use crate::error::BundleError;
use crate::manifest::Manifest;
use std::path::{Path, PathBuf};

/// The name of the manifest file in a run directory.
pub const MANIFEST: &str = "manifest.json";
/// The staging area of a run directory.
pub const STAGING_DIR: &str = ".staging";

/// A workspace: the directory holding `runs/`, `cache/` and `exports/`. Unknown files are ignored.
#[derive(Debug, Clone)]
pub struct Workspace {
    root: PathBuf,
}

impl Workspace {
    /// A workspace rooted at `root` (not created).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Workspace { root: root.into() }
    }

    /// The workspace holding a run directory (`<ws>/runs/<id>` → `<ws>`).
    pub fn of_run_dir(run_dir: &Path) -> Result<Self, BundleError> {
        let runs = run_dir.parent().ok_or_else(|| BundleError::NotARun {
            path: run_dir.to_path_buf(),
            reason: "it has no parent directory".into(),
        })?;
        let root = runs.parent().unwrap_or(Path::new("."));
        Ok(Workspace::new(if root.as_os_str().is_empty() {
            Path::new(".")
        } else {
            root
        }))
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
    pub fn runs_dir(&self) -> PathBuf {
        self.root.join("runs")
    }
    pub fn locks_dir(&self) -> PathBuf {
        self.runs_dir().join(".locks")
    }
    pub fn cache_dir(&self) -> PathBuf {
        self.root.join("cache")
    }
    pub fn exports_dir(&self) -> PathBuf {
        self.root.join("exports")
    }
    pub fn run_dir(&self, run_id: &str) -> PathBuf {
        self.runs_dir().join(run_id)
    }

    /// Create `runs/`, `runs/.locks/`, `cache/`, `exports/` if missing.
    pub fn ensure(&self) -> Result<(), BundleError> {
        for d in [
            self.runs_dir(),
            self.locks_dir(),
            self.cache_dir(),
            self.exports_dir(),
        ] {
            std::fs::create_dir_all(&d).map_err(|e| BundleError::io(&d, e))?;
        }
        Ok(())
    }

    /// Run directories (named by a valid run id and holding a manifest), unsorted.
    pub fn list_runs(&self) -> Result<Vec<PathBuf>, BundleError> {
        let dir = self.runs_dir();
        let rd = match std::fs::read_dir(&dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(BundleError::io(&dir, e)),
        };
        let mut out = Vec::new();
        for entry in rd {
            let entry = entry.map_err(|e| BundleError::io(&dir, e))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if validate_run_id(name).is_ok() && entry.path().join(MANIFEST).is_file() {
                out.push(entry.path());
            }
        }
        Ok(out)
    }
}

/// Why a string is not a run id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunIdError {
    /// Not 36 characters long.
    #[error("run id {0:?} is not a 36-character UUID")]
    Length(String),
    /// A character that a lowercase hyphenated UUID does not have at that position.
    #[error("run id {id:?} is not a lowercase UUID (bad character at position {position})")]
    BadCharacter {
        /// The rejected id.
        id: String,
        /// 0-based byte position of the first bad character.
        position: usize,
    },
}

/// A run id is a lowercase hyphenated UUID (36 characters).
pub fn validate_run_id(id: &str) -> Result<(), RunIdError> {
    let b = id.as_bytes();
    if b.len() != 36 {
        return Err(RunIdError::Length(id.to_owned()));
    }
    for (i, c) in b.iter().enumerate() {
        let ok = match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_digit() || (b'a'..=b'f').contains(c),
        };
        if !ok {
            return Err(RunIdError::BadCharacter {
                id: id.to_owned(),
                position: i,
            });
        }
    }
    Ok(())
}

/// A new random run id (lowercase UUIDv4).
pub fn new_run_id() -> String {
    uuid::Uuid::new_v4().hyphenated().to_string()
}

/// An existing run directory whose manifest has been read and checked.
#[derive(Debug, Clone)]
pub struct RunDir {
    path: PathBuf,
    run_id: String,
}

impl RunDir {
    /// Open a run directory: it must exist, be named by a valid run id and hold a manifest
    /// that parses, passes its contract and names the same run id.
    pub fn open(path: &Path) -> Result<(RunDir, Manifest), BundleError> {
        let meta = std::fs::symlink_metadata(path).map_err(|e| BundleError::NotARun {
            path: path.to_path_buf(),
            reason: format!("cannot read it: {e}"),
        })?;
        if !meta.is_dir() {
            return Err(BundleError::NotARun {
                path: path.to_path_buf(),
                reason: "it is not a directory".into(),
            });
        }
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| BundleError::NotARun {
                path: path.to_path_buf(),
                reason: "its name is not UTF-8".into(),
            })?
            .to_string();
        validate_run_id(&name).map_err(|e| BundleError::NotARun {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        let rd = RunDir {
            path: path.to_path_buf(),
            run_id: name,
        };
        let manifest = rd.read_manifest()?;
        Ok((rd, manifest))
    }

    /// A run directory that is being created (no manifest yet).
    pub fn new_unchecked(path: PathBuf, run_id: String) -> RunDir {
        RunDir { path, run_id }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
    pub fn run_id(&self) -> &str {
        &self.run_id
    }
    pub fn workspace(&self) -> Result<Workspace, BundleError> {
        Workspace::of_run_dir(&self.path)
    }
    pub fn manifest_path(&self) -> PathBuf {
        self.path.join(MANIFEST)
    }
    pub fn staging_root(&self) -> PathBuf {
        self.path.join(STAGING_DIR)
    }

    /// Resolve a bundle-relative path, rejecting anything that would leave the bundle.
    pub fn resolve(&self, rel: &str) -> Result<PathBuf, BundleError> {
        crate::relpath::check(rel).map_err(|reason| BundleError::BadPath {
            path: rel.to_string(),
            reason,
        })?;
        Ok(self.path.join(rel))
    }

    /// The first symlink inside the run directory (`.staging` included), as a path under it, in
    /// name order; `None` when there is none. A bundle holds regular files and directories only
    /// (SPEC §13): a symlinked input (`ground_truth.jsonl`, `normalized/`, a Parquet part) would
    /// be read from outside the bundle, a symlinked `.staging` written outside it.
    pub fn find_symlink(&self) -> Result<Option<PathBuf>, BundleError> {
        fn walk(dir: &Path) -> Result<Option<PathBuf>, BundleError> {
            let rd = std::fs::read_dir(dir).map_err(|e| BundleError::io(dir, e))?;
            let mut entries = Vec::new();
            for entry in rd {
                let entry = entry.map_err(|e| BundleError::io(dir, e))?;
                let ft = entry
                    .file_type()
                    .map_err(|e| BundleError::io(&entry.path(), e))?;
                entries.push((entry.path(), ft));
            }
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            for (p, ft) in entries {
                if ft.is_symlink() {
                    return Ok(Some(p));
                }
                if ft.is_dir() {
                    if let Some(found) = walk(&p)? {
                        return Ok(Some(found));
                    }
                }
            }
            Ok(None)
        }
        walk(&self.path)
    }

    /// Read and check the manifest.
    pub fn read_manifest(&self) -> Result<Manifest, BundleError> {
        let p = self.manifest_path();
        if std::fs::symlink_metadata(&p).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(BundleError::Symlink { path: p });
        }
        let bytes = std::fs::read(&p).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                BundleError::NotARun {
                    path: self.path.clone(),
                    reason: "it has no manifest.json".into(),
                }
            } else {
                BundleError::io(&p, e)
            }
        })?;
        let value: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| BundleError::BadManifest {
                path: p.clone(),
                reason: format!("not JSON: {e}"),
            })?;
        let errors = crate::contracts::validate_value("manifest", &value)?;
        if let Some(first) = errors.first() {
            return Err(BundleError::BadManifest {
                path: p.clone(),
                reason: format!(
                    "fails its contract ({} error(s)); first: {} {}",
                    errors.len(),
                    first.instance_path,
                    first.message
                ),
            });
        }
        let m: Manifest = serde_json::from_value(value).map_err(|e| BundleError::BadManifest {
            path: p.clone(),
            reason: e.to_string(),
        })?;
        if m.run_id != self.run_id {
            return Err(BundleError::BadManifest {
                path: p,
                reason: format!(
                    "its run_id {:?} differs from the directory name {:?}",
                    m.run_id, self.run_id
                ),
            });
        }
        Ok(m)
    }

    /// Validate and write the manifest atomically (temp file + fsync + rename + dir fsync).
    pub fn write_manifest(&self, m: &Manifest) -> Result<(), BundleError> {
        let value = serde_json::to_value(m).map_err(|e| BundleError::BadManifest {
            path: self.manifest_path(),
            reason: e.to_string(),
        })?;
        let errors = crate::contracts::validate_value("manifest", &value)?;
        if let Some(first) = errors.first() {
            return Err(BundleError::BadManifest {
                path: self.manifest_path(),
                reason: format!(
                    "refusing to write a manifest that fails its contract: {} {}",
                    first.instance_path, first.message
                ),
            });
        }
        let bytes = pa_canon::jcs_value(&value)?;
        crate::fsutil::write_atomic(&self.manifest_path(), &bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids() {
        assert!(validate_run_id("123e4567-e89b-42d3-a456-426614174000").is_ok());
        assert!(validate_run_id("123E4567-e89b-42d3-a456-426614174000").is_err());
        assert!(validate_run_id("123e4567e89b42d3a456426614174000").is_err());
        assert!(validate_run_id("../../etc/passwd").is_err());
        let id = new_run_id();
        assert!(validate_run_id(&id).is_ok(), "{id}");
    }

    #[test]
    fn symlinks_anywhere_in_a_bundle_are_found() {
        let t = tempfile::tempdir().unwrap();
        let run = RunDir::new_unchecked(t.path().to_path_buf(), "x".into());
        std::fs::create_dir_all(t.path().join("normalized/ocsf_events")).unwrap();
        std::fs::write(t.path().join("normalized/ocsf_events/_schema.json"), "{}").unwrap();
        assert_eq!(run.find_symlink().unwrap(), None);
        let link = t.path().join("normalized/ocsf_events/part-0000.parquet");
        std::os::unix::fs::symlink("/etc/passwd", &link).unwrap();
        assert_eq!(run.find_symlink().unwrap(), Some(link));
        std::os::unix::fs::symlink("/etc", t.path().join("manifest.json")).unwrap();
        let e = run.read_manifest().unwrap_err();
        assert!(e.to_string().contains("is a symlink"), "{e}");
        assert_eq!(e.reason_code().as_str(), "input_missing");
    }
}
