//! `normalized/mapping_profile_snapshot.json` (SPEC §6).

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

pub(crate) fn snapshot_document(tree: &Tree) -> Value {
    let sps: Vec<Value> = tree
        .profiles
        .values()
        .map(|p| {
            json!({
                "source_type": p.source_type,
                "profile": p.profile_id,
                "profile_version": p.profile_version,
                "mapping_files": material(&p.files),
                "mapping_material_sha256": material_sha256(&p.files),
            })
        })
        .collect();
    json!({
        "mapping_profile_id": tree.mapping_profile_id,
        "mapping_profile_version": tree.mapping_profile_version,
        "ocsf_version": tree.ocsf_version,
        "source_profiles": sps,
        "mapping_profile_sha256": mapping_profile_sha256(tree),
    })
}
