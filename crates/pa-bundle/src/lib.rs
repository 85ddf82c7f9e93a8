//! pa-bundle
