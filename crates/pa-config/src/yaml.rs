//! `pa.yaml_decode.v1`: the one place YAML is decoded for configuration.
//!
//! YAML 1.2 typing (only `true`/`false` are booleans), duplicate keys rejected, merge keys
//! rejected, unknown tags rejected, parse budgets on (alias bombs stop early).

use serde::de::DeserializeOwned;

/// Decode one YAML document strictly into `T`. The error text carries line and column.
pub fn from_str_strict<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    let mut o = serde_saphyr::Options::default();
    o.strict_booleans = true;
    o.duplicate_keys = serde_saphyr::DuplicateKeyPolicy::Error;
    o.merge_keys = serde_saphyr::MergeKeyPolicy::Error;
    o.reject_unsupported_tags = true;
    o.with_snippet = false;
    serde_saphyr::from_str_with_options(text, o).map_err(|e| e.to_string())
}
