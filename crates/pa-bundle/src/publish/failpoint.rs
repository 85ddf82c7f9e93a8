//! Test-only fault injection into staging and publishing (compiled only with the `failpoints`
//! feature; see the parent module's documentation for the points and their environment).

/// Environment variable naming the fault to inject.
pub const FAILPOINT_ENV: &str = "PA_FAILPOINT";
/// Environment variable restricting the fault to the staging of one owner (a stage id such as
/// `detection`, or `orchestrator`); unset, every owner's staging fires.
pub const FAILPOINT_STAGE_ENV: &str = "PA_FAILPOINT_STAGE";

/// Whether fault `name` is armed for `owner`'s staging in this process.
fn armed(name: &str, owner: &str) -> bool {
    selects(
        std::env::var(FAILPOINT_ENV).ok().as_deref(),
        std::env::var(FAILPOINT_STAGE_ENV).ok().as_deref(),
        name,
        owner,
    )
}

/// Whether the environment's `fault` (and `only`, the owner it is restricted to) selects fault
/// `name` in `owner`'s staging.
fn selects(fault: Option<&str>, only: Option<&str>, name: &str, owner: &str) -> bool {
    fault == Some(name) && only.is_none_or(|o| o == owner)
}

/// The injected error of an `…:enospc`-style fault, when armed.
pub(super) fn error(name: &str, owner: &str) -> Option<std::io::Error> {
    armed(name, owner).then(|| {
        std::io::Error::new(
            std::io::ErrorKind::StorageFull,
            "No space left on device (injected)",
        )
    })
}

/// Die on the spot, as `kill -9` would kill the process, when fault `name` is armed: no
/// destructor, no flush, no outcome recorded.
pub(super) fn crash(name: &str, owner: &str) {
    if armed(name, owner) {
        let _ =
            rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::KILL);
        std::process::abort();
    }
}

#[cfg(test)]
mod tests {
    use super::selects;

    #[test]
    fn a_fault_fires_by_name_and_only_for_its_owner_when_restricted() {
        assert!(selects(
            Some("abort:mid_apply"),
            None,
            "abort:mid_apply",
            "detection"
        ));
        assert!(selects(
            Some("abort:mid_apply"),
            Some("detection"),
            "abort:mid_apply",
            "detection"
        ));
        assert!(!selects(
            Some("abort:mid_apply"),
            Some("detection"),
            "abort:mid_apply",
            "orchestrator"
        ));
        assert!(!selects(
            Some("abort:after_journal"),
            None,
            "abort:mid_apply",
            "x"
        ));
        assert!(!selects(None, Some("x"), "abort:mid_apply", "x"));
    }
}
