//! `pa-sign`: a signed bundle verifies (with our verifier and with the standard `minisign`
//! CLI), and any alteration of any covered file, of the checksums or of the signature makes
//! verification fail.

use assert_cmd::Command;
use pa_e2e::{replay_example_variant, workspace_bin};
use pa_signing::checksums;
use pa_signing::verify::{Verdict, verify};
use std::path::{Path, PathBuf};

/// A key pair made by `pa-sign keygen` in `dir`.
fn keygen(dir: &Path, name: &str) -> PathBuf {
    let key = dir.join(name);
    Command::new(workspace_bin("pa-sign"))
        .args(["keygen", "--out"])
        .arg(&key)
        .assert()
        .success();
    key
}

/// The replay example with signing configured, run by the orchestrator; its run directory.
fn signed_replay_run(dir: &Path, key: &Path) -> PathBuf {
    let (range, scenario) = replay_example_variant(
        dir,
        &format!(
            "security:\n  signing:\n    key_ref: \"file:{}\"\n",
            key.display()
        ),
    );
    let out = Command::new(workspace_bin("pa-orchestrate"))
        .current_dir(dir)
        .args(["run", "--workspace", "ws", "--run-id"])
        .arg("5e1f0000-0000-4000-8000-000000000001")
        .arg("--range")
        .arg(&range)
        .arg("--scenario")
        .arg(&scenario)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // 10: the example's coverage threshold is not met (partial); signing itself succeeded.
    assert_eq!(out.status.code(), Some(10), "pa-orchestrate: {stderr}");
    dir.join("ws/runs/5e1f0000-0000-4000-8000-000000000001")
}

fn verify_cli(run: &Path, pubkey: Option<&Path>) -> (i32, String) {
    let mut c = Command::new(workspace_bin("pa-sign"));
    c.arg("verify").arg(run);
    if let Some(p) = pubkey {
        c.arg("--pubkey").arg(p);
    }
    let out = c.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn a_signed_run_verifies_everywhere_and_any_flipped_byte_breaks_it() {
    let dir = tempfile::tempdir().unwrap();
    let key = keygen(dir.path(), "sign.key");
    let run = signed_replay_run(dir.path(), &key);
    let pubkey = PathBuf::from(format!("{}.pub", key.display()));

    // The manifest records the signing outcome it covers, and the run's status.
    let m = pa_e2e::read_json(&run.join("manifest.json"));
    let signing = m["stage_outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["stage"] == "signing")
        .expect("signing outcome");
    assert_eq!(signing["status"], "success", "{signing}");
    assert_eq!(m["status"], "partial");
    assert!(m["ended_at_utc"].is_string());

    // Valid with the bundle's key and with the signer's key; the key never enters the bundle.
    let (code, text) = verify_cli(&run, None);
    assert_eq!(code, 0, "{text}");
    assert!(text.starts_with("VALID"), "{text}");
    assert_eq!(verify_cli(&run, Some(&pubkey)).0, 0);
    let secret = std::fs::read_to_string(&key).unwrap();
    let secret_line = secret.lines().nth(1).unwrap();
    for f in checksums::all_files(&run).unwrap() {
        let body = std::fs::read(run.join(&f)).unwrap();
        assert!(
            !String::from_utf8_lossy(&body).contains(secret_line),
            "secret key material in {f}"
        );
    }

    // The standard minisign CLI (Debian's `minisign`) verifies the signature.
    let mini = std::process::Command::new("minisign")
        .args(["-V", "-m"])
        .arg(run.join(checksums::CHECKSUMS))
        .arg("-x")
        .arg(run.join(checksums::SIGNATURE))
        .arg("-p")
        .arg(&pubkey)
        .output()
        .unwrap_or_else(|e| panic!("the minisign CLI is needed (apt-get install minisign): {e}"));
    let said =
        String::from_utf8_lossy(&mini.stdout).into_owned() + &String::from_utf8_lossy(&mini.stderr);
    assert!(mini.status.success(), "minisign -V: {said}");
    assert!(
        said.contains("Signature and comment signature verified")
            && said.contains("run_id:5e1f0000-0000-4000-8000-000000000001"),
        "{said}"
    );

    // Another key: invalid.
    let other = keygen(dir.path(), "other.key");
    let (code, text) = verify_cli(
        &run,
        Some(&PathBuf::from(format!("{}.pub", other.display()))),
    );
    assert_eq!(code, 20, "{text}");
    assert!(text.contains("key id"), "{text}");

    // Flip one byte of every covered file, of the checksums and of the signature in turn.
    let run_id = "5e1f0000-0000-4000-8000-000000000001";
    let mut targets: Vec<String> = checksums::all_files(&run)
        .unwrap()
        .into_iter()
        .filter(|p| checksums::is_covered(p))
        .collect();
    targets.push(checksums::CHECKSUMS.into());
    targets.push(checksums::SIGNATURE.into());
    assert!(targets.len() > 20, "{targets:?}");
    for rel in &targets {
        let p = run.join(rel);
        let orig = std::fs::read(&p).unwrap();
        if orig.is_empty() {
            // An empty covered file cannot have a byte flipped; appending one must fail too.
            std::fs::write(&p, b"x").unwrap();
        } else {
            let mut bad = orig.clone();
            let i = bad.len() / 2;
            bad[i] ^= 0x01;
            std::fs::write(&p, &bad).unwrap();
        }
        let r = verify(&run, Some(run_id), Some(&pubkey));
        assert_eq!(
            r.verdict,
            Verdict::Invalid,
            "flipping a byte of {rel} went unnoticed"
        );
        std::fs::write(&p, &orig).unwrap();
    }
    assert_eq!(
        verify(&run, Some(run_id), Some(&pubkey)).verdict,
        Verdict::Valid
    );

    // Added, removed and changed files are each named.
    std::fs::write(run.join("detections/extra.jsonl"), b"{}\n").unwrap();
    let gone = run.join("report/run_timeline.md");
    let kept = std::fs::read(&gone).unwrap();
    std::fs::remove_file(&gone).unwrap();
    let (code, text) = verify_cli(&run, Some(&pubkey));
    assert_eq!(code, 20);
    assert!(text.starts_with("INVALID"), "{text}");
    assert!(text.contains("added:   detections/extra.jsonl"), "{text}");
    assert!(text.contains("missing: report/run_timeline.md"), "{text}");
    std::fs::remove_file(run.join("detections/extra.jsonl")).unwrap();
    std::fs::write(&gone, kept).unwrap();
    // Raw Parquet and volatile logs are outside the signature (SPEC §11).
    std::fs::write(run.join("logs/debug.log"), b"volatile\n").unwrap();
    assert_eq!(verify_cli(&run, Some(&pubkey)).0, 0);

    // Re-running a suffix re-signs: the bundle verifies again.
    Command::new(workspace_bin("pa-orchestrate"))
        .current_dir(dir.path())
        .args(["run", "--run-dir"])
        .arg(&run)
        .args(["--from", "scoring"])
        .assert()
        .code(10);
    assert_eq!(verify_cli(&run, Some(&pubkey)).0, 0);
}

#[test]
fn signing_without_a_usable_key_fails_closed_and_leaves_no_signature() {
    let dir = tempfile::tempdir().unwrap();
    let key = keygen(dir.path(), "sign.key");
    let run = signed_replay_run(dir.path(), &key);
    assert!(run.join(checksums::SIGNATURE).is_file());

    // A key file that is not a key: exit 20, reason code, no security/ left behind, and
    // the manifest and derived files say so.
    let bogus = dir.path().join("bogus.key");
    std::fs::write(&bogus, "not a key\n").unwrap();
    let out = Command::new(workspace_bin("pa-sign"))
        .arg("--run-dir")
        .arg(&run)
        .arg("--key")
        .arg(&bogus)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(20), "{stdout}");
    assert!(stdout.contains("signing_key_unavailable"), "{stdout}");
    assert!(stdout.contains("bogus.key"), "{stdout}");
    assert!(!run.join("security").exists());
    let m = pa_e2e::read_json(&run.join("manifest.json"));
    assert_eq!(m["status"], "failed");
    let rr = pa_e2e::read_json(&run.join("run_results.json"));
    assert_eq!(rr["status"], "failed", "{rr}");
    let health = pa_e2e::read_json(&run.join("logs/health.json"));
    assert!(
        health.to_string().contains("signing_key_unavailable"),
        "{health}"
    );
    let (code, text) = verify_cli(&run, None);
    assert_eq!(code, 20);
    assert!(text.starts_with("INDETERMINATE"), "{text}");

    // An encrypted key without its password: named, no prompt.
    let enc = dir.path().join("enc.key");
    Command::new(workspace_bin("pa-sign"))
        .env("PA_TEST_PW", "s3cret")
        .args(["keygen", "--password-env", "PA_TEST_PW", "--out"])
        .arg(&enc)
        .assert()
        .success();
    let out = Command::new(workspace_bin("pa-sign"))
        .arg("--run-dir")
        .arg(&run)
        .arg("--key")
        .arg(&enc)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(20));
    assert!(String::from_utf8_lossy(&out.stdout).contains("is encrypted"));
    // With it: signed, valid.
    Command::new(workspace_bin("pa-sign"))
        .env("PA_TEST_PW", "s3cret")
        .arg("--run-dir")
        .arg(&run)
        .arg("--key")
        .arg(&enc)
        .args(["--password-env", "PA_TEST_PW"])
        .assert()
        .success();
    let (code, text) = verify_cli(&run, Some(&PathBuf::from(format!("{}.pub", enc.display()))));
    assert_eq!(code, 0, "{text}");
    let m = pa_e2e::read_json(&run.join("manifest.json"));
    assert_eq!(
        m["status"], "partial",
        "a successful re-sign restores the status"
    );
}
