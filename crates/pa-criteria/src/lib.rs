//! Validation criteria packs (SPEC §7): the expected telemetry of each executed action.
//!
//! A pack is YAML data ([`load_pack`], decoded strictly through `pa-yaml`: unknown and
//! duplicate keys are errors naming the file and line) holding one entry per test: join keys
//! (`engine`, `technique_id`, `engine_test_id`), optional selectors and time window, and the
//! expected signals, each a predicate over normalized OCSF events with a count range.
//!
//! * [`select`]: the entry of an action (key match → selector filter → most selectors →
//!   smallest `entry_id`);
//! * [`Evaluator`]: counts, per action and signal, the events of the signal's class inside the
//!   action's window that satisfy every constraint; events come from the caller through the
//!   [`Event`] trait, so this crate knows nothing of Parquet or of the run bundle.
//!
//! Nothing here prints; every failure is a [`CriteriaError`] with its reason code.

mod eval;
mod model;
mod predicate;
mod select;

pub use eval::{ActionVerdict, Defaults, Evaluator, SignalResult, Window};
pub use model::{
    Constraint, Engine, Entry, MAX_WINDOW_SECONDS, Op, Pack, Predicate, Selectors, Signal,
    TimeWindow, load_pack, parse_pack,
};
pub use predicate::{Event, FieldPath, fold_case, lookup};
pub use select::{ActionContext, select};

/// The most sample event ids a signal result lists.
pub const MAX_SAMPLE_EVENT_IDS: usize = 20;

/// What went wrong with criteria. Each message names the file (and line) or the action.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CriteriaError {
    /// A pack file cannot be read, does not decode, or breaks a rule of the format.
    #[error(transparent)]
    Pack(#[from] pa_yaml::FileError),
    /// An action's evaluation window cannot be computed (time out of range).
    #[error("action {action_id}: {message}")]
    TimeWindow {
        /// The action.
        action_id: String,
        /// Why.
        message: String,
    },
}

impl CriteriaError {
    /// The validation stage reason code of this error (SPEC §2).
    pub fn reason(&self) -> &'static str {
        match self {
            CriteriaError::Pack(_) => "criteria_pack_error",
            CriteriaError::TimeWindow { .. } => "time_window_error",
        }
    }
}
