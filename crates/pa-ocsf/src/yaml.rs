//! Strict YAML decoding of the profile files (one place, one set of options).

use std::path::Path;

use serde::de::DeserializeOwned;

use crate::error::ProfileError;

/// Decode one YAML document strictly: YAML 1.2 booleans, duplicate keys, merge keys and
/// unknown tags rejected. Errors name the file, line and column.
pub(crate) fn decode<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T, ProfileError> {
    let mut o = serde_saphyr::Options::default();
    o.strict_booleans = true;
    o.duplicate_keys = serde_saphyr::DuplicateKeyPolicy::Error;
    o.merge_keys = serde_saphyr::MergeKeyPolicy::Error;
    o.reject_unsupported_tags = true;
    o.with_snippet = false;
    serde_saphyr::from_str_with_options(text, o).map_err(|e| {
        let (line, column) = e
            .location()
            .map(|l| (l.line(), l.column()))
            .unwrap_or((0, 0));
        ProfileError::Decode {
            path: path.to_path_buf(),
            line,
            column,
            message: e.to_string(),
        }
    })
}

/// Read a file to a string.
pub(crate) fn read(path: &Path) -> Result<String, ProfileError> {
    std::fs::read_to_string(path).map_err(|source| ProfileError::Io {
        path: path.to_path_buf(),
        source,
    })
}
