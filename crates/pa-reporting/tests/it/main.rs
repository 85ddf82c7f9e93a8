//! The integration tests of `pa-reporting` as one test binary (`[[test]] it` in Cargo.toml). Each
//! module is one topic; helpers that several modules use live in `common`.

mod common;

mod outputs;
mod regression;
mod stage;
mod trend;
