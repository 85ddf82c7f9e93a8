//! Integration tests over the reference data in `../shared/data` (relative to the repository
//! root): the Purple Axiom runner golden and parser vectors, and the whole Atomic Red Team corpus.

mod common;
mod corpus;
mod golden;
