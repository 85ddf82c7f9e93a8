//! Integration tests: the reference audit captures in `../shared/data/linux-audit-lab`
//! (relative to the repository root) read through [`pa_audit::LocalHost`], and a live round
//! trip against this machine's auditd (skipped unless root with auditd running, or required
//! with `PA_REQUIRE_LIVE=1`).

mod common;
mod corpus;
mod live;
