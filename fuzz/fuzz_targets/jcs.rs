//! The RFC 8785 writer: for any JSON document it either refuses (integers beyond 2^53) or
//! writes bytes that parse back to the same document and equal the reference (Value) path.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let Ok(bytes) = pa_canon::jcs(&v) else {
        return;
    };
    let back: serde_json::Value = serde_json::from_slice(&bytes).expect("JCS output parses");
    let again = pa_canon::jcs(&back).expect("canonical output canonicalizes");
    assert_eq!(bytes, again, "JCS is not idempotent");
    let via_value = pa_canon::jcs_value(&v).expect("the Value path agrees it is representable");
    assert_eq!(bytes, via_value, "the direct writer and the Value path differ");
});
