//! The run bundle: workspace layout, run ids, the manifest and stage outcomes with their
//! closed reason-code catalog, status derivation, the run lock, staging and the publish
//! gate, and the embedded contracts.
//!
//! Dependency rule: this crate depends only on `pa-canon` among project crates; every stage
//! crate depends on it, never the other way round.

pub mod contracts;
pub mod error;
pub mod fsutil;
pub mod gaps;
pub mod glob;
pub mod layout;
pub mod lock;
pub mod manifest;
pub mod publish;
pub mod reason;
pub mod relpath;
pub mod results;
pub mod stage;

pub use error::BundleError;
pub use layout::{RunDir, Workspace, new_run_id, validate_run_id};
pub use lock::RunLock;
pub use manifest::{CONTRACT_VERSION, Manifest, OCSF_VERSION, StageOutcome, derive_status};
pub use publish::{PublishReport, StagedFile, Staging};
pub use reason::ReasonCode;
pub use stage::{FailMode, OutcomeStatus, RunStatus, Stage};
