//! Action identity (SPEC §3): `resolved_inputs_sha256` and `action_key` (computed by
//! `pa-atomic`, here as stage failures), the synthetic correlation marker and its digest.

use base64::Engine;
use pa_bundle::reason::CommonReason;
use pa_stage::StageFailure;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

fn identity_err(e: pa_atomic::AtomicError) -> StageFailure {
    let reason = match e {
        pa_atomic::AtomicError::Canon(_) => CommonReason::StorageIoError,
        _ => CommonReason::ConfigSchemaInvalid,
    };
    StageFailure::new(reason, e.to_string())
}

/// `hex(sha256(JCS(inputs)))`: [`pa_atomic::resolved_inputs_sha256`].
pub fn resolved_inputs_sha256(inputs: &BTreeMap<String, String>) -> Result<String, StageFailure> {
    pa_atomic::resolved_inputs_sha256(inputs).map_err(identity_err)
}

/// `hex(sha256(JCS({"v":1, engine, technique_id, engine_test_id, "parameters":
/// {resolved_inputs_sha256}, target_asset_id})))`: [`pa_atomic::action_key`].
pub fn action_key(
    engine: &str,
    technique_id: &str,
    engine_test_id: &str,
    resolved_inputs_sha256: &str,
    target_asset_id: &str,
) -> Result<String, StageFailure> {
    pa_atomic::action_key(
        engine,
        technique_id,
        engine_test_id,
        resolved_inputs_sha256,
        target_asset_id,
    )
    .map_err(identity_err)
}

/// `pa:synth:v1:<run_id>:<action_id>:execute`.
pub fn marker(run_id: &str, action_id: &str) -> String {
    format!("pa:synth:v1:{run_id}:{action_id}:execute")
}

/// `base64url-nopad(sha256(marker))[0:22]`.
pub fn marker_digest(marker: &str) -> String {
    let d = Sha256::digest(marker.as_bytes());
    let s = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(d);
    s[..22].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_key_reproduces_the_reference_basis() {
        // fixtures/hash_basis/action_key_basis_v1.json without target_asset_id is covered in
        // pa-canon; here the full formula must give a 64-hex key and be order-independent.
        let k = action_key(
            "atomic",
            "T1059.001",
            "123e4567-e89b-12d3-a456-426614174000",
            &"0".repeat(64),
            "win-01",
        )
        .unwrap();
        assert_eq!(k.len(), 64);
        let k2 = action_key(
            "atomic",
            "T1059.001",
            "123e4567-e89b-12d3-a456-426614174000",
            &"0".repeat(64),
            "win-02",
        )
        .unwrap();
        assert_ne!(k, k2);
    }

    #[test]
    fn marker_digest_is_22_url_safe_chars() {
        let m = marker("123e4567-e89b-42d3-a456-426614174000", "s1");
        assert_eq!(
            m,
            "pa:synth:v1:123e4567-e89b-42d3-a456-426614174000:s1:execute"
        );
        let d = marker_digest(&m);
        assert_eq!(d.len(), 22);
        assert!(
            d.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
    }
}
