//! Telemetry source readers: each format is a streaming iterator of [`record::SourceRecord`].

pub mod record;

pub use record::{Provenance, SourceRecord, SourceType};
