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
pub use model::{
    AttrDef, BaseType, ClassDef, Constraints, Deprecation, ExtensionDef, ObjectDef, Requirement,
};
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

/// The Purple Axiom OCSF extension shipped with the project:
/// `<workspace root>/mappings/ocsf-extension/purple_axiom` (see its `extension.json` and
/// `docs/adr/0004-ocsf-envelope-extension.md`).
pub fn project_extension_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../mappings/ocsf-extension/purple_axiom")
}

/// The name of the Purple Axiom extension (`metadata.extensions[].name` of every event the
/// normalizer emits).
pub const PROJECT_EXTENSION_NAME: &str = "purple_axiom";

/// The reference OCSF 1.7.0 schema plus the project's Purple Axiom extension
/// ([`project_extension_dir`]), loaded once per process: the schema the project's tests
/// validate normalized events against.
///
/// For tests. Panics with a message naming the directory if the reference data or the
/// extension is missing or cannot be loaded.
pub fn reference_with_project_extensions() -> &'static OcsfSchema {
    static SCHEMA: OnceLock<OcsfSchema> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let dir = reference_dir();
        if !dir.join("dictionary.json").is_file() {
            panic!(
                "reference data missing: {} has no dictionary.json (the OCSF 1.7.0 schema source is expected at ../shared/data/ocsf-1.7.0 beside the repository)",
                dir.display()
            );
        }
        let ext = project_extension_dir();
        if !ext.join("extension.json").is_file() {
            panic!(
                "project extension missing: {} has no extension.json",
                ext.display()
            );
        }
        match OcsfSchema::load_with_extensions(&dir, &[ext.as_path()]) {
            Ok(s) => s,
            Err(e) => panic!("cannot load the reference OCSF schema with the project extension: {e}"),
        }
    })
}
