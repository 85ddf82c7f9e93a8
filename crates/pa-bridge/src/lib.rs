//! pa-bridge: the Sigma → OCSF 1.7.0 bridge of Purple Axiom.
//!
//! It answers two questions for the detection stage:
//!
//! * which OCSF event classes (plus optional event filters) a Sigma rule's `logsource` applies
//!   to — [`Bridge::route`], failing with `unroutable_logsource`;
//! * which OCSF attribute path a Sigma field name means for that logsource —
//!   [`Bridge::resolve_field`], giving an alias or a policy-gated `unmapped.<Field>` fallback,
//!   or failing with `unmapped_field` / `ambiguous_field_alias`.
//!
//! The data lives in `mappings/bridge/` (see its README). The crate also builds the
//! `bridge/router_table.json` and `bridge/mapping_pack_snapshot.json` documents, accumulates
//! `bridge/coverage.json`. Its OCSF paths are checked against OCSF 1.7.0 by the tests, with the
//! project's one schema reader (`pa-ocsf-schema`).
//!
//! ```no_run
//! use pa_bridge::{Bridge, LogSource};
//! let bridge = Bridge::load("mappings/bridge")?;
//! let ls = LogSource::new(Some("windows"), Some("process_creation"), None);
//! let route = bridge.route(&ls)?;
//! let image = bridge.resolve_field(&ls, "Image|endswith")?;
//! assert_eq!(image.path, "process.file.path");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod bridge;
pub mod coverage;
pub mod documents;
mod error;
pub mod event;
mod load;
mod logsource;
mod model;

pub use bridge::{
    Alias, AliasSet, Bridge, ClassResolution, Fallback, FieldResolution, OCSF_VERSION, PackInfo,
    ResolutionKind, Route, RouteDef, Routed, RouterInfo, strip_modifiers,
};
pub use coverage::{
    BridgeCoverage, CoverageAccumulator, CoverageLoadIssue, RuleOutcome, UnmappedFieldCount,
};
pub use documents::Document;
pub use error::{BridgeError, DocumentError, ReasonCode};
pub use logsource::LogSource;
pub use model::{FallbackMode, Filter, FilterOp};
pub use pa_yaml::FileError;
