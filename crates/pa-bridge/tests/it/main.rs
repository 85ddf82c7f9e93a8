//! The integration tests of `pa-bridge` as one test binary (`[[test]] it` in Cargo.toml): one link
//! step instead of one per file. Each module is one topic, its tests named `<module>::<test>`;
//! helpers that several modules use live in `common`.

mod common;

mod load_and_documents;
mod ocsf_paths;
mod reference_fixtures;
mod reference_normalized;
mod regression_samples;
mod sigma_corpus;
