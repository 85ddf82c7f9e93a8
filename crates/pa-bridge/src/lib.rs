//! pa-bridge
