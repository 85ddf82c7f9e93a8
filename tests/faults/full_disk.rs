//! A full disk under each real stage's staging writes (`PA_FAILPOINT=staging_write:enospc`): the
//! stage fails with the storage reason code and a message naming the file and the cause,
//! nothing is published, and every earlier output is intact.

use crate::{Case, STAGES, owner, tree};

/// The reason code a stage records when a staged write fails: the stage's own write-failure
/// code where the catalog has one for its artifact, else the cross-cutting `storage_io_error`.
fn expected_reason(stage: &str) -> &'static str {
    match stage {
        "scoring" => "summary_write_failed",
        "reporting" => "report_write_failed",
        _ => "storage_io_error",
    }
}

#[test]
fn a_full_disk_under_any_stage_publishes_nothing_and_keeps_earlier_outputs() {
    for stage in STAGES {
        let what = format!("{stage} on a full disk");
        let case = Case::new();
        let old = case.age_outputs(stage);
        let before = tree(&case.run());
        let out = case.rerun_from(
            stage,
            &[
                ("PA_FAILPOINT", "staging_write:enospc"),
                ("PA_FAILPOINT_STAGE", stage),
            ],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(20), "{what}: {stderr}");
        assert!(!stderr.contains("panicked"), "{what}: {stderr}");
        let (status, code, message) = case.outcome(stage);
        assert_eq!(
            (status.as_str(), code.as_deref()),
            ("failed", Some(expected_reason(stage))),
            "{what}: {message}"
        );
        assert!(
            message.contains(".staging/") && message.contains("No space left on device"),
            "{what}: the message names neither the file nor the cause: {message}"
        );
        case.assert_staging_empty();
        let now = tree(&case.run());
        for (rel, bytes) in &before {
            if owner(rel) != "orchestrator" {
                assert!(now.get(rel) == Some(bytes), "{what}: {rel} changed");
            }
        }
        for rel in now.keys() {
            assert!(
                before.contains_key(rel) || owner(rel) == "orchestrator",
                "{what}: {rel} was published"
            );
        }
        assert_eq!(old.len(), crate::owned(&now, stage).len());
    }
}
