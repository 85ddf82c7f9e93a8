//! The lab captures: every line accounted for, rotation splits with overlaps, window edges,
//! and EXECVE decoding checked against the derived process-creation rows.

use std::collections::{BTreeMap, HashMap};

use pa_audit::{LocalHost, execve_events, find_execve_arg, parse_stamp, read_window};

use crate::common::{lab_audit, lab_dir, read, text};

fn ms_of(line: &str) -> i64 {
    parse_stamp(line)
        .unwrap_or_else(|| panic!("no stamp: {line}"))
        .ms()
}

#[test]
fn the_tagged_capture_reads_whole_with_every_line_accounted_for() {
    let path = lab_audit("audit_tagged.log");
    let original = read(&path);
    let lines: Vec<&str> = original.lines().collect();
    let s = read_window(&LocalHost, text(&path), 0, i64::MAX).unwrap();
    assert_eq!(s.text, original);
    assert_eq!(s.records_kept, lines.len() as u64);
    assert_eq!(
        (
            s.lines_unparseable,
            s.lines_duplicate,
            s.lines_incomplete,
            s.lines_outside_window
        ),
        (0, 0, 0, 0)
    );
    let names: Vec<&str> = s.files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["audit_tagged.log"]);
    let min = lines.iter().map(|l| ms_of(l)).min();
    let max = lines.iter().map(|l| ms_of(l)).max();
    assert_eq!((s.first_ms, s.last_ms), (min, max));
    // ENRICHED lines (raw fields, 0x1d, the interpreted fields) parse like the others.
    let enriched = lines.iter().filter(|l| l.contains('\u{1d}')).count();
    assert!(enriched > 2000, "{enriched} ENRICHED lines");
    let stamps: std::collections::BTreeSet<_> =
        lines.iter().filter_map(|l| parse_stamp(l)).collect();
    assert_eq!(s.events_kept as usize, stamps.len());
}

/// The tagged capture split over `audit.log.3` (oldest) … `audit.log`, each file starting with
/// the last 25 lines of the one before (records read twice across a rotation).
fn write_rotated(dir: &std::path::Path, lines: &[&str]) {
    let n = lines.len();
    let cuts = [0, n / 4, n / 2, 3 * n / 4, n];
    let names = ["audit.log.3", "audit.log.2", "audit.log.1", "audit.log"];
    for (i, name) in names.iter().enumerate() {
        let from = cuts[i].saturating_sub(if i == 0 { 0 } else { 25 });
        let body: String = lines[from..cuts[i + 1]]
            .iter()
            .map(|l| format!("{l}\n"))
            .collect();
        std::fs::write(dir.join(name), body).unwrap();
    }
}

#[test]
fn a_rotated_capture_reads_back_in_order_and_windows_keep_events_whole() {
    let original = read(&lab_audit("audit_tagged.log"));
    let lines: Vec<&str> = original.lines().collect();
    let dir = tempfile::tempdir().unwrap();
    write_rotated(dir.path(), &lines);
    let log = dir.path().join("audit.log");

    let s = read_window(&LocalHost, text(&log), 0, i64::MAX).unwrap();
    assert_eq!(s.text, original);
    assert_eq!(s.lines_duplicate, 3 * 25);
    let names: Vec<&str> = s.files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        ["audit.log.3", "audit.log.2", "audit.log.1", "audit.log"]
    );

    // Windows bounded by real stamps, including ones on the rotation boundaries.
    let n = lines.len();
    for (a, b) in [
        (1000, 4000),
        (n / 4, n / 2),
        (n / 4 - 3, n / 4 + 3),
        (0, 0),
        (n - 1, n - 1),
    ] {
        let (start, end) = (ms_of(lines[a]), ms_of(lines[b]));
        let s = read_window(&LocalHost, text(&log), start, end).unwrap();
        let want: String = lines
            .iter()
            .filter(|l| (start..=end).contains(&ms_of(l)))
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(s.text, want, "window [{start}, {end}]");
        assert_eq!((s.first_ms, s.last_ms), (Some(start), Some(end)));
        // Every record of a kept event is kept.
        let count = |t: &str| {
            let mut m: HashMap<String, usize> = HashMap::new();
            for l in t.lines() {
                *m.entry(format!("{:?}", parse_stamp(l).unwrap()))
                    .or_default() += 1;
            }
            m
        };
        let kept = count(&s.text);
        let all = count(&original);
        for (stamp, k) in &kept {
            assert_eq!(all[stamp], *k, "event {stamp} split by the window");
        }
        assert_eq!(
            s.records_kept + s.lines_outside_window + s.lines_duplicate,
            (n + 3 * 25) as u64
        );
        // One ms later at the start drops the first event.
        if start < end {
            let later = read_window(&LocalHost, text(&log), start + 1, end).unwrap();
            assert!(later.first_ms.unwrap() > start);
        }
    }
}

#[test]
fn execve_arguments_match_the_derived_process_creation_rows() {
    let original = read(&lab_audit("audit_tagged.log"));
    let events: BTreeMap<String, Vec<String>> = execve_events(&original)
        .into_iter()
        .map(|e| {
            let id = format!("{}.{:03}:{}", e.stamp.secs, e.stamp.millis, e.stamp.serial);
            let args = e
                .args
                .iter()
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            (id, args)
        })
        .collect();
    let rows = read(&lab_dir().join("derived/process_creation.jsonl"));
    let mut checked = 0;
    for row in rows.lines() {
        let v: serde_json::Value = serde_json::from_str(row).unwrap();
        let id = v["event_id"].as_str().unwrap();
        let argv: Vec<String> = v["argv"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_owned())
            .collect();
        assert_eq!(events.get(id), Some(&argv), "event {id}");
        checked += 1;
    }
    assert_eq!(checked, events.len());
    assert!(checked > 250, "{checked} rows");
}

#[test]
fn quirks_hex_split_and_multi_record_arguments() {
    let path = lab_audit("quirks_sample.log");
    let q = read(&path);
    // Hex-encoded (space, quote, non-ASCII).
    assert_eq!(find_execve_arg(&q, "has space"), Some(1795344161291));
    assert_eq!(find_execve_arg(&q, "has\"quote"), Some(1795344161291));
    assert_eq!(find_execve_arg(&q, "ümlaut"), Some(1795344161291));
    // One argument of 9000 bytes (`a1_len=18000` counts hex digits) split into hex chunks over
    // several records.
    let a9000 = "A".repeat(9000);
    assert_eq!(find_execve_arg(&q, &a9000), Some(1795344161299));
    assert_eq!(find_execve_arg(&q, &format!("{a9000}A")), None);
    // 2501 arguments over several records.
    assert_eq!(find_execve_arg(&q, "2499 2500"), Some(1795344161303));
    let big = execve_events(&q)
        .into_iter()
        .find(|e| e.stamp.serial == 6957)
        .unwrap();
    assert_eq!(big.args.len(), 2501);
    assert_eq!(big.args[2500], b"2500");
    // A file name with a space, as an argument and then as the program.
    assert_eq!(find_execve_arg(&q, "/tmp/q/odd name"), Some(1795344161323));
    assert_eq!(find_execve_arg(&q, "pa-no-such-token"), None);

    // The whole sample through a rotated-file directory: every line accounted for.
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(&path, dir.path().join("audit.log")).unwrap();
    let s = read_window(&LocalHost, text(&dir.path().join("audit.log")), 0, i64::MAX).unwrap();
    assert_eq!(s.text, q);
    assert_eq!(s.lines_unparseable, 0);
}
