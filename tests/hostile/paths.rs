//! Bundle-relative inputs that lead outside the run directory: symlinks (to a file or a
//! directory outside, or a symlinked staging area) are refused by every stage (`input_missing`,
//! naming the link) and by `pa-orchestrate --from`, before anything is read through them; ids
//! that would name a directory outside the bundle are configuration errors.

use crate::{Case, RUN_ID, run, stderr, tool};
use pa_e2e::{file_tree, repo_root};

/// (stage, its executable, the bundle path replaced by a symlink to a copy outside).
const LINKS: [(&str, &str, &str); 9] = [
    ("scoring", "pa-score", "ground_truth.jsonl"),
    ("validation", "pa-validate", "ground_truth.jsonl"),
    ("detection", "pa-detect", "normalized"),
    (
        "detection",
        "pa-detect",
        "normalized/ocsf_events/part-0000.parquet",
    ),
    (
        "normalization",
        "pa-normalize",
        "raw_parquet/comsvcs-minidump",
    ),
    (
        "normalization",
        "pa-normalize",
        "raw_parquet/comsvcs-minidump/part-0000.parquet",
    ),
    ("runner", "pa-runner", "inputs/scenario.yaml"),
    ("reporting", "pa-report", "scoring/summary.json"),
    ("scoring", "pa-score", ".staging"),
];

#[test]
fn a_symlink_in_the_bundle_is_refused_by_the_stage_and_the_driver() {
    for (stage, bin, rel) in LINKS {
        let what = format!("{bin} with {rel} a symlink");
        let case = Case::new();
        let inside = case.run().join(rel);
        let outside = case.outside("target");
        if !inside.exists() {
            std::fs::create_dir_all(&inside).expect("mkdir");
        }
        std::fs::rename(&inside, &outside).expect("move out");
        std::os::unix::fs::symlink(&outside, &inside).expect("symlink");

        // The driver refuses the bundle and changes nothing.
        let before = file_tree(&case.path().join("ws"), &["runs/.locks"]);
        let out = run(
            tool("pa-orchestrate")
                .args(["-q", "run", "--from", stage, "--run-dir"])
                .arg(case.run()),
            &what,
        );
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(20), "{what}: {err}");
        assert!(
            err.contains(&format!("{}: is a symlink", inside.display()))
                && err.contains("[input_missing]"),
            "{what}: {err}"
        );
        assert_eq!(
            file_tree(&case.path().join("ws"), &["runs/.locks"]),
            before,
            "{what}: pa-orchestrate changed the bundle"
        );

        // The stage records why it did not run.
        let out = case.stage(bin, &["-q"]);
        let expected = if stage == "validation" { 10 } else { 20 };
        assert_eq!(
            out.status.code(),
            Some(expected),
            "{what}: {}",
            stderr(&out)
        );
        let (status, code, message) = case.outcome(stage);
        assert_eq!(
            (status.as_str(), code.as_str()),
            ("failed", "input_missing"),
            "{what}"
        );
        assert!(
            message.contains(&format!("{}: is a symlink", inside.display())),
            "{what}: {message}"
        );
    }
}

#[test]
fn a_symlinked_manifest_is_not_read() {
    let case = Case::new();
    let inside = case.run().join("manifest.json");
    let outside = case.outside("manifest.json");
    std::fs::rename(&inside, &outside).expect("move out");
    std::os::unix::fs::symlink(&outside, &inside).expect("symlink");
    for mut cmd in [tool("pa-score"), {
        let mut c = tool("pa-orchestrate");
        c.args(["run", "--from", "scoring"]);
        c
    }] {
        let out = run(cmd.arg("--run-dir").arg(case.run()), "manifest symlink");
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(20), "{err}");
        assert!(
            err.contains(&format!("{}: is a symlink", inside.display())),
            "{err}"
        );
    }
    assert!(
        std::fs::symlink_metadata(&inside)
            .expect("link")
            .file_type()
            .is_symlink()
    );
}

/// A `source_id` or `action_id` becomes a directory of the bundle: one that would leave it is a
/// configuration error naming the key; nothing is created, inside or outside.
#[test]
fn ids_that_would_leave_the_bundle_are_config_errors() {
    let ex = repo_root().join("examples/replay-evtx");
    for (file, from, bad) in [
        (
            "range.yaml",
            "source_id: comsvcs-minidump",
            "source_id: \"../../../../escaped\"",
        ),
        (
            "range.yaml",
            "source_id: comsvcs-minidump",
            "source_id: /tmp/escaped",
        ),
        ("scenario.yaml", "action_id: s1", "action_id: ../../escaped"),
    ] {
        let t = tempfile::tempdir().expect("tempdir");
        let (range, scenario) = pa_e2e::replay_example_variant(t.path(), "");
        let p = if file == "range.yaml" {
            &range
        } else {
            &scenario
        };
        let text = std::fs::read_to_string(p).expect("read");
        assert!(text.contains(from), "{from}");
        std::fs::write(p, text.replacen(from, bad, 1)).expect("write");
        let before = file_tree(t.path(), &[]);
        let out = run(
            tool("pa-orchestrate")
                .args(["run", "--run-id", RUN_ID, "--workspace"])
                .arg(t.path().join("ws"))
                .arg("--range")
                .arg(&range)
                .arg("--scenario")
                .arg(&scenario),
            bad,
        );
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(20), "{bad}: {err}");
        let key = bad.split(':').next().expect("key");
        assert!(
            err.contains("config_schema_invalid") && err.contains(file) && err.contains(key),
            "{bad}: {err}"
        );
        assert!(!t.path().join("ws/runs").join(RUN_ID).exists());
        let after = file_tree(t.path(), &["ws"]);
        assert_eq!(after, before, "{bad}: files written");
        assert!(!ex.join("escaped").exists() && !std::path::Path::new("/tmp/escaped").exists());
    }
}
