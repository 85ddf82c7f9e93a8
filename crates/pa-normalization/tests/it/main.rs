//! The integration tests of `pa-normalization` as one test binary: one module per concern.

mod auditd_stream;
mod dropped_stream;
