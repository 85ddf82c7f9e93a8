//! OCSF validity checker, built at run time from the OCSF schema **source** tree
//! (`dictionary.json`, `objects/`, `events/`, `profiles/`, `categories.json`,
//! `extensions/<dir>/...`, `version.json`), as published in the `ocsf-schema` repository.
//!
//! ```no_run
//! use pa_ocsf_schema::OcsfSchema;
//! let schema = OcsfSchema::load(std::path::Path::new("../shared/data/ocsf-1.7.0")).unwrap();
//! let event = serde_json::json!({"class_uid": 1007, "activity_id": 1, "type_uid": 100701});
//! for v in schema.validate(&event) {
//!     println!("{v}");
//! }
//! assert!(schema.has_path(1007, "process.file.path"));
//! ```
//!
//! How the source is resolved, and the decisions taken where it is silent, are described in
//! this crate's `README.md`; what is checked is described on [`OcsfSchema::validate`] and
//! [`OcsfSchema::warnings`].

#![warn(missing_docs)]

mod error;
mod format;
mod json;
mod load;
mod model;
mod schema;
mod validate;
mod warn;

use std::path::PathBuf;
use std::sync::OnceLock;

pub use error::SchemaError;
pub use model::{AttrDef, BaseType, ClassDef, Constraints, Deprecation, ObjectDef, Requirement};
pub use schema::{OcsfSchema, PathError};
pub use validate::{Violation, ViolationCode};

/// The reference schema source directory: `<workspace root>/../shared/data/ocsf-1.7.0`.
pub fn reference_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/ocsf-1.7.0")
}

/// The reference OCSF 1.7.0 schema, loaded once per process from [`reference_dir`].
///
/// For tests. Panics with a message naming the directory if the reference data is missing
/// or cannot be loaded.
pub fn reference() -> &'static OcsfSchema {
    static SCHEMA: OnceLock<OcsfSchema> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let dir = reference_dir();
        if !dir.join("dictionary.json").is_file() {
            panic!(
                "reference data missing: {} has no dictionary.json (the OCSF 1.7.0 schema source is expected at ../shared/data/ocsf-1.7.0 beside the repository)",
                dir.display()
            );
        }
        match OcsfSchema::load(&dir) {
            Ok(s) => s,
            Err(e) => panic!("cannot load the reference OCSF schema: {e}"),
        }
    })
}
