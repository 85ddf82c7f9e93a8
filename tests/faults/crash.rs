//! Each real stage killed (`kill -9` semantics) while staging, after its publish journal is
//! durable, and after the first rename of the journal's apply: no partial output is ever
//! visible, the manifest stays valid, and `--from <stage>` ends with the outputs of an
//! uninterrupted run.

use crate::{Case, LIMIT, STAGES, golden, owned, stable, stage_bin, tree};
use pa_e2e::output_within;
use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;

const FAULTS: [&str; 3] = [
    "abort:staging_write",
    "abort:after_journal",
    "abort:mid_apply",
];

/// Whether the published outputs of `stage` in `files` are exactly the golden run's (volatile
/// fields aside).
fn all_new(files: &BTreeMap<String, Vec<u8>>, stage: &str) -> bool {
    let now = owned(files, stage);
    let new = owned(&golden().files, stage);
    now.len() == new.len()
        && now.iter().all(|(rel, b)| {
            new.get(rel)
                .is_some_and(|g| stable(rel, b) == stable(rel, g))
        })
}

/// Whether the published outputs of `stage` in `files` are exactly the old ones.
fn all_old(
    files: &BTreeMap<String, Vec<u8>>,
    stage: &str,
    old: &BTreeMap<String, Vec<u8>>,
) -> bool {
    let now = owned(files, stage);
    now.len() == old.len()
        && now
            .iter()
            .all(|(rel, b)| old.get(*rel).is_some_and(|o| o.as_slice() == *b))
}

/// `pa-orchestrate --from <stage>` with the stage killed at `fault`, then again without a fault.
fn orchestrated(stage: &str, fault: &str) {
    let what = format!("{stage} killed at {fault}");
    let case = Case::new();
    let old = case.age_outputs(stage);
    let before = tree(&case.run());
    let out = case.rerun_from(
        stage,
        &[("PA_FAILPOINT", fault), ("PA_FAILPOINT_STAGE", stage)],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(20), "{what}: {stderr}");
    assert!(!stderr.contains("panicked"), "{what}: {stderr}");

    // The driver records the death; the rest of the pipeline is blocked.
    let (status, code, message) = case.outcome(stage);
    assert_eq!(
        (status.as_str(), code.as_deref()),
        ("failed", Some("stage_process_failed")),
        "{what}: {message}"
    );
    assert!(message.contains("signal 9"), "{what}: {message}");
    let rest = STAGES.iter().skip_while(|s| **s != stage).skip(1);
    for later in rest {
        assert_eq!(
            case.outcome(later).1.as_deref(),
            Some("blocked_by_upstream_failure"),
            "{what}: {later}"
        );
    }

    // Nothing staged or journaled is left; other stages' outputs are untouched; this stage's
    // are all old (died before its journal) or all new (the journal was rolled forward).
    case.assert_staging_empty();
    let now = tree(&case.run());
    for (rel, bytes) in &before {
        let o = crate::owner(rel);
        if o != stage && o != "orchestrator" {
            assert!(now.get(rel) == Some(bytes), "{what}: {rel} changed");
        }
    }
    if fault == "abort:staging_write" {
        assert!(all_old(&now, stage, &old), "{what}: old outputs not intact");
    } else {
        assert!(all_new(&now, stage), "{what}: journal not rolled forward");
    }

    // Re-running from the stage completes as an uninterrupted run did. After a kill mid-apply
    // the whole rest of the pipeline runs and every output is compared; after the other faults
    // the stage alone (`--until`) and its outputs (the standalone case below runs the rest).
    let whole = fault == "abort:mid_apply";
    let out = case.rerun(stage, (!whole).then_some(stage), &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    if whole {
        assert_eq!(
            out.status.code(),
            Some(10),
            "{what}, then --from {stage}: {err}"
        );
        case.assert_outputs_as_golden(&format!("{what}, then --from {stage}"));
    } else {
        assert!(
            matches!(out.status.code(), Some(0 | 10)),
            "{what}, then --from {stage} --until {stage}: {err}"
        );
        assert_eq!(case.outcome(stage).0, "success", "{what}");
        assert!(
            all_new(&tree(&case.run()), stage),
            "{what}, then --from {stage} --until {stage}: outputs differ from the uninterrupted run's"
        );
    }
    case.assert_staging_empty();
}

/// The stage run on its own and killed after the first rename of its apply: before anyone
/// recovers, each published file of the stage is whole (old or new, never half-written) and the
/// journal is there; `--from` then rolls it forward and re-runs.
fn standalone_mid_apply(stage: &str) {
    let what = format!(
        "{} killed after its first rename",
        stage_bin(stage).display()
    );
    let case = Case::new();
    let old = case.age_outputs(stage);
    let before = tree(&case.run());
    let out = output_within(
        std::process::Command::new(stage_bin(stage))
            .arg("--run-dir")
            .arg(case.run())
            .env("PA_FAILPOINT", "abort:mid_apply")
            .env("PA_FAILPOINT_STAGE", stage),
        LIMIT,
        &what,
    );
    assert_eq!(out.status.signal(), Some(9), "{what}: {:?}", out.status);
    case.manifest(); // still valid against its contract
    let journal = case.run().join(format!(".staging/{stage}.journal.json"));
    assert!(journal.is_file(), "{what}: no journal left");
    let now = tree(&case.run());
    let golden_files = &golden().files;
    let mut renamed = 0;
    for (rel, bytes) in owned(&now, stage) {
        let is_old = old.get(rel).is_some_and(|o| o.as_slice() == bytes);
        let is_new = golden_files
            .get(rel)
            .is_some_and(|g| stable(rel, g) == stable(rel, bytes));
        assert!(is_old || is_new, "{what}: {rel} is neither old nor new");
        renamed += usize::from(is_new && !is_old);
    }
    assert_eq!(renamed, 1, "{what}: one file published before the kill");
    for (rel, bytes) in &before {
        if crate::owner(rel) != stage {
            assert!(now.get(rel) == Some(bytes), "{what}: {rel} changed");
        }
    }
    let out = case.rerun_from(stage, &[]);
    assert_eq!(
        out.status.code(),
        Some(10),
        "{what}, then --from {stage}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!journal.exists());
    case.assert_outputs_as_golden(&format!("{what}, then --from {stage}"));
}

fn every_fault_point(stage: &str) {
    for fault in FAULTS {
        orchestrated(stage, fault);
    }
    standalone_mid_apply(stage);
}

#[test]
fn lab_provider_killed_while_publishing() {
    every_fault_point("lab_provider");
}

#[test]
fn runner_killed_while_publishing() {
    every_fault_point("runner");
}

#[test]
fn telemetry_killed_while_publishing() {
    every_fault_point("telemetry");
}

#[test]
fn normalization_killed_while_publishing() {
    every_fault_point("normalization");
}

#[test]
fn validation_killed_while_publishing() {
    every_fault_point("validation");
}

#[test]
fn detection_killed_while_publishing() {
    every_fault_point("detection");
}

#[test]
fn scoring_killed_while_publishing() {
    every_fault_point("scoring");
}

#[test]
fn reporting_killed_while_publishing() {
    every_fault_point("reporting");
}
