//! The integration tests of `pa-detection` as one test binary (`[[test]] it` in Cargo.toml): one link
//! step instead of one per file. Each module is one topic, its tests named `<module>::<test>`;
//! helpers that several modules use live in `common`.

mod common;

mod bridge_fixtures;
mod columnar_paths;
mod correlation;
