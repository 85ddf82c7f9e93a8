//! The integration tests of `pa-sigma` as one test binary (`[[test]] it` in Cargo.toml): one link
//! step instead of one per file. Each module is one topic, its tests named `<module>::<test>`;
//! helpers that several modules use live in `common`.

mod common;

mod corpus;
mod differential;
mod engine_reference;
mod loading;
mod pysigma_lab;
mod regression;
