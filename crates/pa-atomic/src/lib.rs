//! `pa-atomic`: the Atomic Red Team model: technique files, test selection, input resolution
//! and action identity (SPEC §3 steps 1 and 3–8). It runs nothing; executors take a
//! [`ResolvedTest`] and run its commands.
//!
//! ```text
//! AtomicsRoot::load("T1059.004")          atomics/<T>/<T>.yaml, decoded strictly (pa-yaml)
//!   → Technique::select(Guid(..))          one test: by auto_generated_guid, number or name
//!   → resolve(&sel, &input_args, root)     inputs to a fixed point, commands substituted,
//!                                          `PathToAtomicsFolder` → real root / `$ATOMICS_ROOT`
//!   → ResolvedTest::identity_inputs()      (+ principal alias, requirements, redaction)
//!       .sha256()                          resolved_inputs_sha256
//!   → ActionKeyBasis::new(..).action_key() action_key
//! ```
//!
//! Modules: [`model`] (the file format and selection), [`template`] (`pa.template_atomic.v1`
//! placeholders), [`resolve`] (input resolution), [`identity`] (requirements, digests) and
//! [`error`] (one error enum with the SPEC reason code of each case).

pub mod error;
pub mod identity;
pub mod model;
pub mod resolve;
pub mod template;

pub use error::{AtomicError, TestRef};
pub use identity::{
    ActionKeyBasis, CommandMaterial, IdentityInputs, PRINCIPAL_ALIAS_KEY, Privilege,
    REQUIREMENTS_KEY, Requirements, RequirementsOverride, action_key, resolved_inputs_sha256,
};
pub use model::{
    AtomicTest, AtomicsRoot, Commands, Dependency, Executor, ExecutorName, InputArgument,
    SelectedTest, Technique, TestSelector,
};
pub use resolve::{
    ATOMICS_ROOT_TOKEN, CommandForms, MAX_RESOLUTION_PASSES, ResolvedDependency, ResolvedTest,
    replace_atomics_root, resolve,
};
