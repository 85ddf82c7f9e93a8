//! The record model every source reader yields and the normalizer consumes.
//!
//! This module is the contract between `pa-sources` (readers) and `pa-ocsf`
//! (normalization). Change it only together with both sides.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Which kind of raw telemetry a record came from.
///
/// The string form (`as_str`) is the `source_type` used in file names,
/// mapping-profile directories and OCSF `metadata.source_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceType {
    /// Microsoft-Windows-Sysmon/Operational.
    WindowsSysmon,
    /// Security channel.
    WindowsSecurity,
    /// System channel.
    WindowsSystem,
    /// Windows PowerShell / Microsoft-Windows-PowerShell/Operational.
    WindowsPowershell,
    /// Any other Windows channel (Application, ...): read and kept raw, unmapped.
    WindowsOther,
    /// Linux audit (auditd), one record per aggregated audit event.
    LinuxAuditd,
    /// osquery differential results NDJSON.
    Osquery,
}

impl SourceType {
    /// The kebab-case name (`windows-sysmon`, `linux-auditd`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            SourceType::WindowsSysmon => "windows-sysmon",
            SourceType::WindowsSecurity => "windows-security",
            SourceType::WindowsSystem => "windows-system",
            SourceType::WindowsPowershell => "windows-powershell",
            SourceType::WindowsOther => "windows-other",
            SourceType::LinuxAuditd => "linux-auditd",
            SourceType::Osquery => "osquery",
        }
    }

    /// Classify a Windows event by its channel (case-insensitive).
    pub fn from_windows_channel(channel: &str) -> SourceType {
        let c = channel.to_ascii_lowercase();
        if c == "microsoft-windows-sysmon/operational" {
            SourceType::WindowsSysmon
        } else if c == "security" {
            SourceType::WindowsSecurity
        } else if c == "system" {
            SourceType::WindowsSystem
        } else if c == "windows powershell"
            || c == "microsoft-windows-powershell/operational"
            || c == "powershellcore/operational"
        {
            SourceType::WindowsPowershell
        } else {
            SourceType::WindowsOther
        }
    }
}

/// Where a record came from, precisely enough to find it again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// The input file path as given by the user (or "-" for stdin).
    pub file: String,
    /// Byte offset of the record in the file (text formats), if known.
    pub offset: Option<u64>,
    /// Ordinal of the record in the file (0-based), always set.
    pub ordinal: u64,
    /// Record id inside the container (EVTX EventRecordID), if any.
    pub record_id: Option<u64>,
}

/// One raw telemetry record, decoded into a uniform JSON shape.
///
/// `fields` shapes, per family (all leaf values are JSON strings unless noted):
///
/// * Windows (every `windows-*` source type, from EVTX, event XML, OTLP or flat JSON):
///   ```json
///   {"System": {"Provider": {"Name": "...", "Guid": "..."}, "EventID": "1",
///               "Version": "5", "Level": "4", "Task": "1", "Opcode": "0",
///               "Keywords": "0x8000000000000000",
///               "TimeCreated": {"SystemTime": "2019-03-19T23:34:24.9875406Z"},
///               "EventRecordID": "16094", "Correlation": {"ActivityID": "..."},
///               "Execution": {"ProcessID": "3208", "ThreadID": "1724"},
///               "Channel": "...", "Computer": "...", "Security": {"UserID": "S-1-5-18"}},
///    "EventData": {"Image": "C:\\...", "CommandLine": "..."},
///    "UserData": { ... nested element tree as objects ... }}
///   ```
///   Absent elements are absent keys. Unnamed `<Data>` items in `EventData` are
///   kept under `EventData` as `"Data"` (string, or array of strings when repeated).
///   A repeated named `Data` becomes an array of strings.
///
///   Additions made by the `pa-sources` readers (all optional, nothing above changed):
///   - `System.EventIDQualifiers` (string): `EventID/@Qualifiers`, when present.
///   - `System.Provider.Guid` is normalized by `pa.win_event_xml.v1`: lowercase, no braces.
///     `Provider` may carry `EventSourceName`; `Execution` may carry `ProcessorID`,
///     `KernelTime`, ... (every attribute is kept, as a string).
///   - `Provider`, `TimeCreated`, `Correlation`, `Execution`, `Security` are always objects
///     (possibly empty, e.g. `<Security/>` → `{}`); other `System` children are strings.
///   - Attributes of the `EventData` element itself are not data and are not kept; non-`Data`
///     children of `EventData` (e.g. `Binary`) are kept under their name.
///   - `UserData` and any other top-level element: element tree as objects (attributes and
///     children as keys, repeated children as arrays, mixed text under `#text`; a leaf
///     without attributes is its text).
///   - From flat JSON, `EventData` holds every non-System key, leaves as strings.
/// * `linux-auditd`: one aggregated audit event:
///   ```json
///   {"msg_id": "1700000000.123:456", "time_ms": 1700000000123 (number), "node": "host" (optional),
///    "records": [{"type": "SYSCALL", "fields": {"syscall": "59", "exe": "/usr/bin/id", ...}}, ...],
///    "execve_argv": ["id", "-u"] (decoded, only when an EXECVE record exists),
///    "paths": [{"name": "/usr/bin/id", "nametype": "NORMAL", ...}]}
///   ```
///   Field values are already decoded (hex-encoded values turned to text; `aN_len`/`aN[i]`
///   reassembled into `execve_argv`). Enriched-format uppercase fields are kept as their
///   own keys (`UID`, `AUID`, `SYSCALL`...).
///
///   Precisions from the `pa-sources` reader (additive): a key repeated inside one record
///   gives an array of strings; an ENRICHED key that would collide with a raw key is stored as
///   `enriched_<KEY>`; a user-space `msg='k=v ...'` payload is kept as `msg` and its pairs are
///   added as keys when free (`text`, `exe`, `res`, ...); `EOE` records are not listed;
///   `records` keep arrival order; `paths` are sorted by `item`; `PROCTITLE`'s `proctitle` is
///   decoded with NULs as spaces (untrusted, never the command line); `SYSCALL`'s `a0`..`a3`
///   stay hex numbers; decoded bytes that are not UTF-8 use U+FFFD. `time_ms` is absent only
///   if the timestamp cannot be parsed. `Provenance.record_id` is the audit serial.
/// * `osquery`: the result row as osquery wrote it (`name`, `hostIdentifier`,
///   `unixTime`, `action`, `columns`{...}, ...), values untouched. Batch (`diffResults`)
///   and snapshot lines are expanded to one row each: the line's other keys, plus
///   `action` (`added`/`removed`/`snapshot`) and `columns` (the row).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceRecord {
    /// The source family / channel class.
    pub source_type: SourceType,
    /// Where the record came from.
    pub provenance: Provenance,
    /// Event time in milliseconds since the Unix epoch (UTC), when the record carries one.
    pub time_ms: Option<i64>,
    /// Host name the record says it came from, when it carries one.
    pub host: Option<String>,
    /// The decoded record in the per-family shape documented above.
    pub fields: Value,
    /// The raw bytes as read (event XML for Windows, the log lines for auditd,
    /// the JSON line for osquery/flat JSON), UTF-8.
    pub raw: String,
}

#[cfg(test)]
mod tests {
    use super::SourceType;

    #[test]
    fn channels_choose_their_profile() {
        for (channel, st) in [
            (
                "Microsoft-Windows-Sysmon/Operational",
                SourceType::WindowsSysmon,
            ),
            ("SECURITY", SourceType::WindowsSecurity),
            ("System", SourceType::WindowsSystem),
            ("Windows PowerShell", SourceType::WindowsPowershell),
            (
                "Microsoft-Windows-PowerShell/Operational",
                SourceType::WindowsPowershell,
            ),
            // PowerShell 7's log has the same 4103/4104 events
            ("PowerShellCore/Operational", SourceType::WindowsPowershell),
            ("Application", SourceType::WindowsOther),
        ] {
            assert_eq!(SourceType::from_windows_channel(channel), st, "{channel}");
        }
    }
}
