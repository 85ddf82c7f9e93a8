//! The integration tests of `pa-validation` as one test binary (`[[test]] it` in Cargo.toml): one
//! link step instead of one per file. Each module is one topic; helpers live in `common`.

mod common;

mod cases;
mod linux_lab;
mod packs;
mod stage;
