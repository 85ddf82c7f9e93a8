//! Sigma rule loading (YAML, collections, filters, correlations), condition parsing and
//! compilation of every rule: errors are load issues or non-executable reasons, never panics.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let set = pa_sigma::load_str(std::path::Path::new("fuzz.yml"), text);
    let opts = pa_sigma::CompileOptions::default();
    let _ = pa_sigma::compile_ruleset(&set, &pa_sigma::IdentityResolver, &opts);
    for line in text.lines().take(8) {
        let _ = pa_sigma::parse_condition(line);
    }
});
