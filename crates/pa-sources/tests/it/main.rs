//! The integration tests of `pa-sources` as one test binary (`[[test]] it` in Cargo.toml): one link
//! step instead of one per file. Each module is one topic, its tests named `<module>::<test>`;
//! helpers that several modules use live in `common`.

mod common;

mod auditd_lab;
mod auditd_vectors;
mod evtx_corpus;
mod formats;
mod hostile;
mod win_event_xml_fixtures;
