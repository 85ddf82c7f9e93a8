//! The error of event identity. Loading the mapping profiles reports `pa_yaml::FileError`.

/// `event_id` could not be computed from a basis.
#[derive(Debug, thiserror::Error)]
#[error("cannot compute event_id: {0}")]
pub struct EventIdError(#[from] pub pa_canon::CanonError);
