//! Reading the slice of the audit log that falls in a run's capture window, across rotated
//! files: [`read_window`].

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::{AuditError, AuditHost};

/// The identity of an audit event: `msg=audit(SECS.MSEC:SERIAL)`. Every record of one event
/// carries the same stamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AuditStamp {
    /// Seconds since the epoch.
    pub secs: i64,
    /// Milliseconds (0..=999).
    pub millis: u16,
    /// The kernel's event serial.
    pub serial: u64,
}

impl AuditStamp {
    /// The time in milliseconds since the epoch.
    pub fn ms(&self) -> i64 {
        self.secs
            .saturating_mul(1000)
            .saturating_add(i64::from(self.millis))
    }
}

/// The stamp of an audit log line: the first `msg=audit(SECS.MSEC:SERIAL)` in it (after
/// `type=...`, or `node=... type=...` with `name_format`). `None` when there is none. The
/// kernel always writes three digits of milliseconds; like the `pa-sources` auditd reader, a
/// fraction of another length is read as a decimal fraction (cut to ms) and may be absent.
pub fn parse_stamp(line: &str) -> Option<AuditStamp> {
    const OPEN: &str = "msg=audit(";
    let start = line.find(OPEN)? + OPEN.len();
    let rest = &line[start..];
    let close = rest.find(')')?;
    let (time, serial) = rest[..close].split_once(':')?;
    let (secs, frac) = time.split_once('.').unwrap_or((time, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if secs.is_empty() || !digits(secs) || !digits(frac) || serial.is_empty() || !digits(serial) {
        return None;
    }
    let millis = frac
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(3)
        .fold(0u16, |m, b| m * 10 + u16::from(b - b'0'));
    Some(AuditStamp {
        secs: secs.parse().ok()?,
        millis,
        serial: serial.parse().ok()?,
    })
}

/// A file read for a window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogFile {
    /// The file name (in the log's directory), as listed.
    pub name: String,
    /// Its size when read.
    pub bytes: u64,
}

/// The lines of the audit log in a capture window, and how every other line was accounted for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowSlice {
    /// The kept lines, oldest file first and in file order within a file, each ending in LF.
    pub text: String,
    /// The files read, oldest first.
    pub files: Vec<LogFile>,
    /// Lines kept (one audit record each).
    pub records_kept: u64,
    /// Distinct events among them.
    pub events_kept: u64,
    /// Lines with a stamp outside the window.
    pub lines_outside_window: u64,
    /// Lines without a parseable `msg=audit(...)` stamp (not kept).
    pub lines_unparseable: u64,
    /// Up to [`MAX_SAMPLES`] of them (each cut to 200 characters), for the report.
    pub unparseable_samples: Vec<String>,
    /// In-window lines seen again (identical text) and left out: a rotation while reading.
    pub lines_duplicate: u64,
    /// A last line without a newline (auditd was writing it), not kept.
    pub lines_incomplete: u64,
    /// The earliest kept stamp, ms since the epoch.
    pub first_ms: Option<i64>,
    /// The latest kept stamp.
    pub last_ms: Option<i64>,
}

/// How many unparseable lines a [`WindowSlice`] quotes.
pub const MAX_SAMPLES: usize = 5;

/// The log's directory and file name.
fn split_path(log_path: &str) -> (String, String) {
    match log_path.rsplit_once('/') {
        Some(("", name)) => ("/".to_owned(), name.to_owned()),
        Some((dir, name)) => (dir.to_owned(), name.to_owned()),
        None => (".".to_owned(), log_path.to_owned()),
    }
}

/// The rotation number of `name` as a file of the log `base`: `Some(0)` for `base` itself,
/// `Some(n)` for `base.<n>`, `None` for anything else.
pub fn rotation_index(base: &str, name: &str) -> Option<u64> {
    if name == base {
        return Some(0);
    }
    let n = name.strip_prefix(base)?.strip_prefix('.')?;
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    n.parse().ok().filter(|n| *n > 0)
}

/// The audit records of `[start_ms, end_ms]` (inclusive, ms since the epoch) from `log_path`
/// and its rotated files (`<log>.1` newer … `<log>.N` oldest).
///
/// The window is decided per line by its stamp, and all records of an event share one stamp,
/// so an event is kept or left out whole. Files are processed oldest first, so the text is in
/// the order auditd wrote it. They are *read* newest first: when auditd rotates between the
/// listing and the reads, each file read next then holds what the one just read held before
/// (or more), so nothing between them is missed; the records read twice are identical lines,
/// kept once. (Read oldest first, a rotation would skip a file.) A rotated file gone before it
/// is read is skipped. Kernel stamps are taken at syscall entry from the coarse clock, a few ms
/// behind the wall clock: pad a window taken from wall-clock times by a second on each side.
///
/// Fails with [`AuditError::NoLog`] when neither the log nor a rotated file of it exists.
pub fn read_window(
    host: &dyn AuditHost,
    log_path: &str,
    start_ms: i64,
    end_ms: i64,
) -> Result<WindowSlice, AuditError> {
    if start_ms > end_ms {
        return Err(AuditError::InvalidWindow { start_ms, end_ms });
    }
    let no_log = || AuditError::NoLog {
        host: host.label(),
        path: log_path.to_owned(),
    };
    let (dir, base) = split_path(log_path);
    let names = match host.list_dir(&dir) {
        Err(AuditError::NotFound { .. }) => return Err(no_log()),
        other => other?,
    };
    let mut files: Vec<(u64, String)> = names
        .into_iter()
        .filter_map(|n| rotation_index(&base, &n).map(|i| (i, n)))
        .collect();
    if files.is_empty() {
        return Err(no_log());
    }
    // Newest first for reading.
    files.sort();
    let mut read: Vec<(String, Vec<u8>)> = Vec::new();
    for (_, name) in files {
        let path = if dir == "/" {
            format!("/{name}")
        } else {
            format!("{dir}/{name}")
        };
        match host.read_file(&path) {
            Ok(bytes) => read.push((name, bytes)),
            Err(AuditError::NotFound { .. }) => {
                tracing::debug!(%path, "audit log file gone before it was read (rotation)");
            }
            Err(e) => return Err(e),
        }
    }
    if read.is_empty() {
        return Err(no_log());
    }
    read.reverse();
    let texts: Vec<(String, u64, String)> = read
        .into_iter()
        .map(|(name, bytes)| {
            let len = bytes.len() as u64;
            let text = match String::from_utf8(bytes) {
                Ok(t) => t,
                Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
            };
            (name, len, text)
        })
        .collect();
    Ok(slice_texts(
        texts.iter().map(|(n, l, t)| (n.as_str(), *l, t.as_str())),
        start_ms,
        end_ms,
    ))
}

/// The window of already-read file texts, oldest first: `(name, size, text)`.
pub fn slice_texts<'a>(
    files: impl IntoIterator<Item = (&'a str, u64, &'a str)>,
    start_ms: i64,
    end_ms: i64,
) -> WindowSlice {
    let mut out = WindowSlice::default();
    let mut seen: HashSet<&'a str> = HashSet::new();
    let mut events: HashSet<AuditStamp> = HashSet::new();
    for (name, bytes, text) in files {
        out.files.push(LogFile {
            name: name.to_owned(),
            bytes,
        });
        let mut lines = text.split('\n').peekable();
        while let Some(line) = lines.next() {
            if lines.peek().is_none() {
                // After the last LF: empty, or a line auditd is still writing.
                if !line.is_empty() {
                    out.lines_incomplete += 1;
                }
                break;
            }
            let Some(stamp) = parse_stamp(line) else {
                out.lines_unparseable += 1;
                if out.unparseable_samples.len() < MAX_SAMPLES {
                    out.unparseable_samples
                        .push(line.chars().take(200).collect());
                }
                continue;
            };
            let ms = stamp.ms();
            if ms < start_ms || ms > end_ms {
                out.lines_outside_window += 1;
                continue;
            }
            if !seen.insert(line) {
                out.lines_duplicate += 1;
                continue;
            }
            out.text.push_str(line);
            out.text.push('\n');
            out.records_kept += 1;
            events.insert(stamp);
            out.first_ms = Some(out.first_ms.map_or(ms, |f| f.min(ms)));
            out.last_ms = Some(out.last_ms.map_or(ms, |l| l.max(ms)));
        }
    }
    out.events_kept = events.len() as u64;
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LocalHost;

    const ENRICHED: &str = "type=SYSCALL msg=audit(1796540957.504:15): arch=c000003e syscall=59 \
        success=yes exit=0 auid=4242 key=\"pa_test\"\u{1d}ARCH=x86_64 SYSCALL=execve AUID=\"unknown(4242)\"";

    #[test]
    fn stamps() {
        let s = parse_stamp(ENRICHED).unwrap();
        assert_eq!(
            s,
            AuditStamp {
                secs: 1796540957,
                millis: 504,
                serial: 15
            }
        );
        assert_eq!(s.ms(), 1796540957504);
        let node = "node=lab1 type=EOE msg=audit(1795344161.007:6949): ";
        assert_eq!(parse_stamp(node).unwrap().ms(), 1795344161007);
        // A message inside a field does not come first.
        let user = "type=USER_CMD msg=audit(10.000:1): msg='cmd=x msg=audit(20.000:2)'";
        assert_eq!(parse_stamp(user).unwrap().secs, 10);
        // Fractions of another length, as the pa-sources reader reads them.
        assert_eq!(
            parse_stamp("type=X msg=audit(10.5:1):").unwrap().ms(),
            10_500
        );
        assert_eq!(
            parse_stamp("type=X msg=audit(10.0456:1):").unwrap().ms(),
            10_045
        );
        assert_eq!(parse_stamp("type=X msg=audit(10:1):").unwrap().ms(), 10_000);
        for bad in [
            "",
            "garbage",
            "type=X msg=audit(1.500):",
            "type=X msg=audit(x.500:1):",
            "type=X msg=audit(.500:1):",
            "type=X msg=audit(1.5x0:1):",
            "type=X msg=audit(1.500:):",
            "type=X msg=audit(1.500:1",
        ] {
            assert_eq!(parse_stamp(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn rotation_names() {
        assert_eq!(rotation_index("audit.log", "audit.log"), Some(0));
        assert_eq!(rotation_index("audit.log", "audit.log.1"), Some(1));
        assert_eq!(rotation_index("audit.log", "audit.log.12"), Some(12));
        for other in [
            "audit.log.",
            "audit.log.0",
            "audit.log.1.gz",
            "audit.logx",
            "x",
        ] {
            assert_eq!(rotation_index("audit.log", other), None, "{other}");
        }
        assert_eq!(split_path("/var/log/audit/audit.log").0, "/var/log/audit");
        assert_eq!(split_path("/audit.log"), ("/".into(), "audit.log".into()));
        assert_eq!(split_path("audit.log"), (".".into(), "audit.log".into()));
    }

    fn rec(secs: i64, ms: u16, serial: u64, ty: &str) -> String {
        format!("type={ty} msg=audit({secs}.{ms:03}:{serial}): x=1\n")
    }

    #[test]
    fn rotated_files_in_order_with_edges_dupes_and_junk() {
        let dir = tempfile::tempdir().unwrap();
        let p = |n: &str| dir.path().join(n);
        // audit.log.10 is older than audit.log.2 (numeric, not lexical, order).
        std::fs::write(
            p("audit.log.10"),
            rec(99, 999, 1, "SYSCALL") + &rec(100, 0, 2, "SYSCALL"),
        )
        .unwrap();
        std::fs::write(
            p("audit.log.2"),
            rec(100, 0, 2, "PATH") + "junk line\n" + &rec(100, 500, 3, "SYSCALL"),
        )
        .unwrap();
        // A record seen again after a rotation, then the live file with a partial last line.
        std::fs::write(
            p("audit.log.1"),
            rec(100, 500, 3, "SYSCALL") + &rec(100, 500, 3, "EOE") + &rec(101, 0, 4, "SYSCALL"),
        )
        .unwrap();
        std::fs::write(
            p("audit.log"),
            rec(101, 1, 5, "SYSCALL") + "type=SYSCALL msg=audit(101.002:6): par",
        )
        .unwrap();
        std::fs::write(p("audit.log.1.gz"), "not ours").unwrap();
        std::fs::write(p("other.log"), rec(100, 700, 9, "SYSCALL")).unwrap();

        let log = p("audit.log");
        let s = read_window(&LocalHost, log.to_str().unwrap(), 100_000, 101_000).unwrap();
        assert_eq!(
            s.text,
            rec(100, 0, 2, "SYSCALL")
                + &rec(100, 0, 2, "PATH")
                + &rec(100, 500, 3, "SYSCALL")
                + &rec(100, 500, 3, "EOE")
                + &rec(101, 0, 4, "SYSCALL")
        );
        let names: Vec<&str> = s.files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            ["audit.log.10", "audit.log.2", "audit.log.1", "audit.log"]
        );
        assert_eq!(s.files[3].bytes, std::fs::metadata(&log).unwrap().len());
        assert_eq!(s.records_kept, 5);
        assert_eq!(s.events_kept, 3);
        assert_eq!(s.lines_duplicate, 1);
        assert_eq!(s.lines_outside_window, 2);
        assert_eq!(s.lines_unparseable, 1);
        assert_eq!(s.unparseable_samples, ["junk line"]);
        assert_eq!(s.lines_incomplete, 1);
        assert_eq!((s.first_ms, s.last_ms), (Some(100_000), Some(101_000)));

        // A one-ms window on an edge.
        let s = read_window(&LocalHost, log.to_str().unwrap(), 101_001, 101_001).unwrap();
        assert_eq!(s.text, rec(101, 1, 5, "SYSCALL"));
        // Nothing in the window.
        let s = read_window(&LocalHost, log.to_str().unwrap(), 0, 10).unwrap();
        assert_eq!((s.text.as_str(), s.first_ms, s.records_kept), ("", None, 0));
    }

    #[test]
    fn missing_log_and_bad_window() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        let path = path.to_str().unwrap();
        let e = read_window(&LocalHost, path, 0, 1).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "no audit log at {path} on local host: is auditd writing logs (write_logs = yes)?"
            )
        );
        let e = read_window(&LocalHost, "/nonexistent-pa-audit/audit.log", 0, 1).unwrap_err();
        assert!(matches!(e, AuditError::NoLog { .. }), "{e}");
        let e = read_window(&LocalHost, path, 2, 1).unwrap_err();
        assert!(matches!(e, AuditError::InvalidWindow { .. }), "{e}");
    }

    #[test]
    fn only_rotated_files_left_are_read() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("audit.log.1"), rec(5, 0, 1, "EOE")).unwrap();
        let path = dir.path().join("audit.log");
        let s = read_window(&LocalHost, path.to_str().unwrap(), 0, i64::MAX).unwrap();
        assert_eq!(s.records_kept, 1);
    }
}
