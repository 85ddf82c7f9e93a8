//! Corrupt Parquet in the bundle: the normalized store (read by detection) and a raw dataset
//! (read by normalization), truncated and bit-flipped, plus a seeded sweep of random
//! corruptions through the cheapest readers.

use crate::{Case, rule, rules, stderr};

const STORE: &str = "normalized/ocsf_events/part-0000.parquet";
const RAW: &str = "raw_parquet/comsvcs-minidump/part-0000.parquet";

/// Ways to break a Parquet file; each certainly leaves it unreadable.
fn break_file(bytes: &[u8], how: &str) -> Vec<u8> {
    let mut b = bytes.to_vec();
    match how {
        "truncated" => b.truncate(b.len() / 2),
        // The footer length (the 4 bytes before the closing `PAR1`) no longer fits the file.
        "footer-length-flipped" => {
            let n = b.len();
            for x in &mut b[n - 8..n - 4] {
                *x ^= 0x5a;
            }
        }
        "emptied" => b.clear(),
        other => panic!("{other}"),
    }
    b
}

/// The rules of a quick detection run (the stage's work is reading the store).
fn one_rule(case: &Case) -> std::path::PathBuf {
    rules(
        case.path(),
        "one-rule",
        &[(
            "r.yml",
            rule(1, "  sel: {Image|endswith: '.exe'}\n  condition: sel"),
        )],
    )
}

#[test]
fn a_broken_normalized_store_fails_detection_naming_the_part() {
    for how in ["truncated", "footer-length-flipped", "emptied"] {
        let case = Case::new();
        let p = case.run().join(STORE);
        std::fs::write(&p, break_file(&std::fs::read(&p).expect("store"), how)).expect("write");
        let rules = one_rule(&case);
        let before = std::fs::read(case.run().join("detections/detections.jsonl")).expect("det");
        let out = case.stage("pa-detect", &["--rules", &rules.display().to_string()]);
        assert_eq!(out.status.code(), Some(20), "{how}: {}", stderr(&out));
        let (status, code, message) = case.outcome("detection");
        assert_eq!(
            (status.as_str(), code.as_str()),
            ("failed", "input_missing"),
            "{how}"
        );
        assert!(message.contains(STORE), "{how}: {message}");
        assert_eq!(
            std::fs::read(case.run().join("detections/detections.jsonl")).expect("det"),
            before,
            "{how}: the earlier detections were replaced"
        );
    }
}

#[test]
fn a_broken_raw_dataset_fails_normalization_naming_the_part() {
    for how in ["truncated", "footer-length-flipped", "emptied"] {
        let case = Case::new();
        let p = case.run().join(RAW);
        std::fs::write(&p, break_file(&std::fs::read(&p).expect("raw"), how)).expect("write");
        let out = case.stage("pa-normalize", &[]);
        assert_eq!(out.status.code(), Some(20), "{how}: {}", stderr(&out));
        let (status, code, message) = case.outcome("normalization");
        assert_eq!(status, "failed", "{how}");
        // An unreadable dataset file is `input_missing`; a dataset whose rows do not decode,
        // `normalized_store_incompatible` (the stage's code for raw rows it cannot take).
        assert!(
            code == "input_missing" || code == "normalized_store_incompatible",
            "{how}: {code}"
        );
        assert!(message.contains(RAW), "{how}: {message}");
    }
}

/// A small deterministic generator (the test needs no randomness crate).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) as usize) % n.max(1)
    }
}

/// Random corruptions (bytes overwritten anywhere, or the file cut anywhere): whatever the
/// reader makes of them, no panic, no hang, an exit code of the protocol, and a failure that
/// names the file. A flip inside a data page may decode to other values: Parquet as written
/// here carries no page checksums, so that is not detectable (the bundle's integrity is
/// pa-sign's), and such a run may succeed.
#[test]
fn random_corruptions_never_panic_or_hang() {
    let case = Case::new();
    let mut rng = Lcg(0x5eed);
    for (bin, stage, rel) in [
        ("pa-validate", "validation", STORE),
        ("pa-normalize", "normalization", RAW),
    ] {
        let p = case.run().join(rel);
        let orig = std::fs::read(&p).expect("part");
        for i in 0..24 {
            let mut b = orig.clone();
            if i % 4 == 3 {
                b.truncate(rng.next(b.len()));
            } else {
                let at = rng.next(b.len());
                let n = [1, 4, 64][i % 3];
                for x in b.iter_mut().skip(at).take(n) {
                    *x ^= 1 + rng.next(255) as u8;
                }
            }
            std::fs::write(&p, &b).expect("write");
            let out = case.stage(bin, &["-q"]);
            let what = format!("{bin} on {rel} corruption #{i}");
            let code = out.status.code();
            assert!(matches!(code, Some(0 | 10 | 20)), "{what}: {code:?}");
            let (status, _, message) = case.outcome(stage);
            if status == "failed" {
                assert!(message.contains(rel), "{what}: {message}");
            }
        }
        std::fs::write(&p, &orig).expect("restore");
    }
}
