//! `normalized/mapping_profile_snapshot.json` (SPEC §6).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::profile::Tree;

fn material(files: &[(String, String)]) -> Value {
    Value::Array(
        files
            .iter()
            .map(|(p, h)| json!({"path": p, "sha256": h}))
            .collect(),
    )
}

fn material_sha256(files: &[(String, String)]) -> String {
    // Files are kept sorted by path; JCS of [{path, sha256}...] cannot fail (strings only).
    pa_canon::jcs_value(&material(files))
        .map(|b| pa_canon::sha256_hex(&b))
        .unwrap_or_default()
}

/// `hex(sha256(JCS({ocsf_version, mapping_profile_id, mapping_profile_version,
/// source_profiles[{source_type, profile, mapping_material_sha256}]})))`.
pub(crate) fn mapping_profile_sha256(tree: &Tree) -> String {
    let sps: Vec<Value> = tree
        .profiles
        .values()
        .map(|p| {
            json!({
                "source_type": p.source_type,
                "profile": p.profile_id,
                "mapping_material_sha256": material_sha256(&p.files),
            })
        })
        .collect();
    let basis = json!({
        "ocsf_version": tree.ocsf_version,
        "mapping_profile_id": tree.mapping_profile_id,
        "mapping_profile_version": tree.mapping_profile_version,
        "source_profiles": sps,
    });
    pa_canon::jcs_value(&basis)
        .map(|b| pa_canon::sha256_hex(&b))
        .unwrap_or_default()
}

/// `normalized/mapping_profile_snapshot.json`: which mapping profiles produced the events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileSnapshot {
    /// The mapping pack id.
    pub mapping_profile_id: String,
    /// The mapping pack version.
    pub mapping_profile_version: String,
    /// The OCSF version the profiles target.
    pub ocsf_version: String,
    /// One entry per source type, sorted by source type.
    pub source_profiles: Vec<SourceProfileEntry>,
    /// Hex SHA-256 over the canonical basis (SPEC §6).
    pub mapping_profile_sha256: String,
}

/// One source profile of a [`ProfileSnapshot`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceProfileEntry {
    /// The source type the profile maps.
    pub source_type: String,
    /// The profile id.
    pub profile: String,
    /// The profile version.
    pub profile_version: String,
    /// Every file of the profile with its digest, sorted by path.
    pub mapping_files: Vec<MappingFile>,
    /// Hex SHA-256 over the canonical `mapping_files`.
    pub mapping_material_sha256: String,
}

/// One mapping file of a [`SourceProfileEntry`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingFile {
    /// Path relative to the mapping pack.
    pub path: String,
    /// Hex SHA-256 of the file's bytes.
    pub sha256: String,
}

pub(crate) fn snapshot_document(tree: &Tree) -> ProfileSnapshot {
    ProfileSnapshot {
        mapping_profile_id: tree.mapping_profile_id.clone(),
        mapping_profile_version: tree.mapping_profile_version.clone(),
        ocsf_version: tree.ocsf_version.clone(),
        source_profiles: tree
            .profiles
            .values()
            .map(|p| SourceProfileEntry {
                source_type: p.source_type.clone(),
                profile: p.profile_id.clone(),
                profile_version: p.profile_version.clone(),
                mapping_files: p
                    .files
                    .iter()
                    .map(|(path, sha256)| MappingFile {
                        path: path.clone(),
                        sha256: sha256.clone(),
                    })
                    .collect(),
                mapping_material_sha256: material_sha256(&p.files),
            })
            .collect(),
        mapping_profile_sha256: mapping_profile_sha256(tree),
    }
}
