//! Extension directories: those under the source tree's `extensions/` and those given to
//! [`super::load_with_extensions`].

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{Loader, as_u32};
use crate::error::SchemaError;
use crate::json::{kind, read_object};

/// An extension directory.
#[derive(Debug, Clone)]
pub(super) struct Extension {
    /// `name` from `extension.json` (e.g. `win`).
    pub(super) name: String,
    /// `uid` from `extension.json` (e.g. 2).
    pub(super) uid: u32,
    /// `version` from `extension.json` (e.g. `1.7.0`).
    pub(super) version: Option<String>,
    /// `caption` from `extension.json` (e.g. `Windows`).
    pub(super) caption: Option<String>,
    /// The directory (e.g. `.../extensions/windows`).
    pub(super) dir: PathBuf,
    /// True for a directory given to [`super::load_with_extensions`] rather than found under the
    /// source tree's `extensions/`.
    pub(super) extra: bool,
}

impl Loader {
    pub(super) fn read_extensions(&mut self) -> Result<(), SchemaError> {
        let dir = self.root.join("extensions");
        if !dir.is_dir() {
            return Ok(());
        }
        let rd = std::fs::read_dir(&dir).map_err(|source| SchemaError::Io {
            path: dir.clone(),
            source,
        })?;
        let mut dirs = Vec::new();
        for e in rd {
            let e = e.map_err(|source| SchemaError::Io {
                path: dir.clone(),
                source,
            })?;
            if e.path().is_dir() {
                dirs.push(e.path());
            }
        }
        dirs.sort();
        for d in dirs {
            self.add_extension(&d, false)?;
        }
        Ok(())
    }

    /// Register the extension in directory `d` (its `extension.json`).
    pub(super) fn add_extension(&mut self, d: &Path, extra: bool) -> Result<(), SchemaError> {
        if !d.is_dir() {
            return Err(SchemaError::format(d, "extension directory does not exist"));
        }
        let file = d.join("extension.json");
        if !file.is_file() {
            return Err(SchemaError::format(
                d,
                "extension directory has no extension.json",
            ));
        }
        let ext = read_object(&file)?;
        let name = match ext.get("name") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            _ => {
                return Err(SchemaError::format(
                    &file,
                    "member \"name\" must be a non-empty string",
                ));
            }
        };
        let uid = as_u32(ext.get("uid"), &file, "member \"uid\"")?
            .ok_or_else(|| SchemaError::format(&file, "member \"uid\" is missing"))?;
        if let Some(prev) = self
            .extensions
            .iter()
            .find(|x| x.name == name || x.uid == uid)
        {
            return Err(SchemaError::format(
                &file,
                format!(
                    "extension {name:?} (uid {uid}) collides with {:?} (uid {}) in {}",
                    prev.name,
                    prev.uid,
                    prev.dir.display()
                ),
            ));
        }
        let text = |key: &str| -> Result<Option<String>, SchemaError> {
            match ext.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(other) => Err(SchemaError::format(
                    &file,
                    format!("member {key:?} must be a string, found {}", kind(other)),
                )),
            }
        };
        let version = text("version")?;
        let caption = text("caption")?;
        self.extensions.push(Extension {
            name,
            uid,
            version,
            caption,
            dir: d.to_path_buf(),
            extra,
        });
        Ok(())
    }

    /// The extension index a path belongs to (the innermost, should one extension
    /// directory lie inside another).
    pub(super) fn extension_of(&self, path: &Path) -> Option<usize> {
        self.extensions
            .iter()
            .enumerate()
            .filter(|(_, e)| path.starts_with(&e.dir))
            .max_by_key(|(_, e)| e.dir.components().count())
            .map(|(i, _)| i)
    }
}
