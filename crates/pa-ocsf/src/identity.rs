//! Event identity: `metadata.event_id = "pa:eid:v1:" + hex(sha256(JCS(basis)))[..32]`.

use serde_json::Value;

use crate::error::EventIdError;

/// The identity prefix of version 1.
pub const EVENT_ID_PREFIX: &str = "pa:eid:v1:";

/// `"pa:eid:v1:" + hex(sha256(JCS(basis)))[..32]` (SPEC §6). Fails only when the basis cannot
/// be canonicalized (an integer beyond ±(2^53−1)).
pub fn event_id(basis: &Value) -> Result<String, EventIdError> {
    let hex = basis_sha256_hex(basis)?;
    Ok(format!("{EVENT_ID_PREFIX}{}", &hex[..32]))
}

/// [`event_id`] of a basis whose JCS bytes are already known.
pub(crate) fn event_id_of_jcs(jcs: &[u8]) -> String {
    let hex = pa_canon::sha256_hex(jcs);
    let mut id = String::with_capacity(EVENT_ID_PREFIX.len() + 32);
    id.push_str(EVENT_ID_PREFIX);
    id.push_str(hex.get(..32).unwrap_or(&hex));
    id
}

/// The full hex SHA-256 of the basis's JCS bytes (the untruncated digest).
pub fn basis_sha256_hex(basis: &Value) -> Result<String, EventIdError> {
    Ok(pa_canon::sha256_hex(&pa_canon::jcs_value(basis)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn windows_reference_basis() {
        // Basis of the reference 4624 golden (recomputed from its inputs).
        let b = json!({"source_type": "windows_eventlog", "origin": {"host": "win10-lab",
            "channel": "security", "provider": "microsoft-windows-security-auditing",
            "record_id": 123456, "event_id": 4624}});
        assert_eq!(
            event_id(&b).unwrap(),
            "pa:eid:v1:0ecaf2a7ed583ab2338e32b14eecb9d0"
        );
        // Key order does not matter; a value change does.
        let c = json!({"origin": {"event_id": 4624, "record_id": 123456, "host": "win10-lab",
            "provider": "microsoft-windows-security-auditing", "channel": "security"},
            "source_type": "windows_eventlog"});
        assert_eq!(event_id(&b).unwrap(), event_id(&c).unwrap());
        let d = json!({"source_type": "windows_eventlog", "origin": {"host": "win10-lab"}});
        assert_ne!(event_id(&b).unwrap(), event_id(&d).unwrap());
    }

    #[test]
    fn unsafe_integer_fails() {
        assert!(event_id(&json!({"n": 9_007_199_254_740_993_u64})).is_err());
    }
}
