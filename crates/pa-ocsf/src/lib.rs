//! `pa-ocsf`: a data-driven OCSF 1.7.0 normalizer.
//!
//! [`Normalizer::load`] reads a mapping-profile tree (`mappings/normalizer/ocsf/1.7.0`: a
//! `pack.yaml` and one directory per source type with `profile.yaml`, `routing.yaml`,
//! `canonicalization.yaml` and `classes/<name>_<uid>.yaml`), decoded strictly. The interpreter
//! is generic: routing keys, routes, classes, activities, emitted fields, transforms and the
//! identity basis are all data; no Rust code is specific to an event type.
//!
//! * [`Normalizer::normalize`] turns one [`pa_sources::SourceRecord`] into a [`Normalized`]:
//!   one OCSF event, an unrouted event type, or a failure with a reason code.
//! * [`event_id`] computes `"pa:eid:v1:" + hex(sha256(JCS(basis)))[..32]`.
//! * [`Normalizer::snapshot_document`] gives `normalized/mapping_profile_snapshot.json`.
//! * [`Coverage`] accumulates `normalized/mapping_coverage.json`.

mod build;
mod coverage;
mod error;
mod extension;
mod identity;
mod model;
mod normalize;
mod path;
mod profile;
mod snapshot;
mod transform;

pub use coverage::{
    ClassCoverage, Coverage, FailureCount, MappingCoverage, SourceTypeCoverage, StoreCounts,
    TIER1_FIELDS, UnknownEventType, fraction_4dp, tier1_fields_present,
};
pub use error::EventIdError;
pub use extension::PROJECT_EXTENSION_FILE;
pub use identity::{EVENT_ID_PREFIX, basis_sha256_hex, event_id};
pub use normalize::{ClassTargets, EventContext, Normalized, Normalizer};
pub use pa_yaml::FileError;
pub use profile::OCSF_VERSION;
pub use snapshot::{MappingFile, ProfileSnapshot, SourceProfileEntry};
