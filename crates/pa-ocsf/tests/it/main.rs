//! The integration tests of `pa-ocsf` as one test binary (`[[test]] it` in Cargo.toml): one link
//! step instead of one per file. Each module is one topic, its tests named `<module>::<test>`;
//! helpers that several modules use live in `common`.

mod common;

mod auditd_lab;
mod auditd_record_types;
mod completion;
mod evtx_corpus;
mod golden;
mod identity_vectors;
mod load_strict;
mod ocsf_schema;
mod ocsf_valid;
mod output_digest;
mod robustness;
mod sigma_regression;
mod snapshot_coverage;
