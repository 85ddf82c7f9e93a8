//! pa-stage
