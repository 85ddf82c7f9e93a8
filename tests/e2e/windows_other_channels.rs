//! The Task Scheduler and WMI-Activity operational channels end to end at the bridge boundary:
//! event XML (the shapes of the channels' manifests, written here, plus SigmaHQ's recorded
//! regression EVTX) → the normalization stream (pa-sources readers and the shipped normalizer
//! profiles) → OCSF 1.7.0 (checked with `pa_ocsf_schema`) → the SigmaHQ `taskscheduler` and
//! `wmi` rules through this bridge, with the pa-detection detector.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use pa_bridge::Bridge;
use pa_bridge::event::values_at;
use pa_detection::detector::{Detector, FieldMode};
use serde_json::Value;

const TS: &str = "Microsoft-Windows-TaskScheduler";
const WMI: &str = "Microsoft-Windows-WMI-Activity";

/// One event document: `payload` is the EventData or UserData element.
fn event_xml(provider: &str, id: u32, record: u32, level: u32, payload: &str) -> String {
    format!(
        "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>\
         <Provider Name='{provider}' Guid='{{00000000-0000-0000-0000-000000000001}}'/>\
         <EventID>{id}</EventID><Version>0</Version><Level>{level}</Level><Task>0</Task>\
         <Opcode>0</Opcode><Keywords>0x8000000000000000</Keywords>\
         <TimeCreated SystemTime='2026-03-01T10:00:{:02}.000000Z'/>\
         <EventRecordID>{record}</EventRecordID><Execution ProcessID='1200' ThreadID='1300'/>\
         <Channel>{provider}/Operational</Channel><Computer>ws01.corp.example</Computer>\
         <Security UserID='S-1-5-18'/></System>{payload}</Event>",
        record % 60
    )
}

fn event_data(pairs: &[(&str, &str)]) -> String {
    let items: String = pairs
        .iter()
        .map(|(k, v)| format!("<Data Name='{k}'>{v}</Data>"))
        .collect();
    format!("<EventData>{items}</EventData>")
}

fn user_data(element: &str, pairs: &[(&str, &str)]) -> String {
    let items: String = pairs
        .iter()
        .map(|(k, v)| format!("<{k}>{v}</{k}>"))
        .collect();
    format!(
        "<UserData><{element} xmlns='http://manifests.microsoft.com/win/2006/windows/WMI'>{items}</{element}></UserData>"
    )
}

/// A synthetic case: the XML, the class and activity the profile must give, the members the
/// payload carries, and the rule ids that must (and only they) fire.
struct Case {
    name: &'static str,
    xml: String,
    class_uid: u64,
    activity_id: u64,
    members: Vec<(&'static str, &'static str)>,
    fires: &'static [&'static str],
}

const DELETE_OR_DISABLE: &str = "9e3cb244-bdb8-4632-8c90-6079c8f4f16d";
const SUSP_LOCATION: &str = "424273ea-7cf8-43a6-b712-375f925e481f";
const LOLBIN: &str = "f0767f15-0fb3-44b9-851e-e8d9a6d0005d";
const WMI_PERSISTENCE: &str = "0b7889b4-5577-4521-a60a-3376ee7f9f7b";
const WMI_CLEAR_LOG: &str = "d4f1a2b3-7c8e-4d5f-b6a9-1e0c2d3f4e5b";

fn ts(
    name: &'static str,
    id: u32,
    rec: u32,
    act: u64,
    m: Vec<(&'static str, &'static str)>,
    fires: &'static [&'static str],
) -> Case {
    Case {
        name,
        xml: event_xml(TS, id, rec, 4, &event_data(&m)),
        class_uid: 1006,
        activity_id: act,
        members: m,
        fires,
    }
}

/// A WMI-Activity case; 5858 (client failure) is logged at Level 2 (Error), the others at 0.
fn wmi(
    name: &'static str,
    id: u32,
    rec: u32,
    element: &str,
    act: u64,
    m: Vec<(&'static str, &'static str)>,
    fires: &'static [&'static str],
) -> Case {
    Case {
        name,
        xml: event_xml(
            WMI,
            id,
            rec,
            if id == 5858 { 2 } else { 0 },
            &user_data(element, &m),
        ),
        class_uid: 6003,
        activity_id: act,
        members: m,
        fires,
    }
}

fn cases() -> Vec<Case> {
    vec![
        ts(
            "106 registered",
            106,
            1,
            1,
            vec![("TaskName", "\\Updater"), ("UserContext", "CORP\\alice")],
            &[],
        ),
        ts(
            "140 updated",
            140,
            2,
            2,
            vec![("TaskName", "\\Updater"), ("UserName", "CORP\\alice")],
            &[],
        ),
        ts(
            "141 Defender task deleted by a user",
            141,
            3,
            3,
            vec![
                (
                    "TaskName",
                    "\\Microsoft\\Windows\\Windows Defender\\Windows Defender Scheduled Scan",
                ),
                ("UserName", "CORP\\mallory"),
            ],
            &[DELETE_OR_DISABLE],
        ),
        ts(
            "142 Defender task disabled by NT AUTHORITY (filtered)",
            142,
            4,
            5,
            vec![
                (
                    "TaskName",
                    "\\Microsoft\\Windows\\Windows Defender\\Windows Defender Cleanup",
                ),
                ("UserName", "NT AUTHORITY\\SYSTEM"),
            ],
            &[],
        ),
        ts(
            "129 task process from a user temp dir",
            129,
            5,
            6,
            vec![
                ("TaskName", "\\Updater"),
                ("Path", "C:\\Users\\alice\\AppData\\Local\\Temp\\upd.exe"),
                ("ProcessID", "4242"),
                ("Priority", "16384"),
            ],
            &[SUSP_LOCATION],
        ),
        ts(
            "129 task process mshta",
            129,
            6,
            6,
            vec![
                ("TaskName", "\\Updater"),
                ("Path", "C:\\Windows\\System32\\mshta.exe"),
                ("ProcessID", "4243"),
                ("Priority", "16384"),
            ],
            &[LOLBIN],
        ),
        ts(
            "200 action started",
            200,
            7,
            6,
            vec![
                ("TaskName", "\\Updater"),
                ("ActionName", "C:\\Windows\\System32\\cmd.exe"),
                ("TaskInstanceId", "{11111111-2222-3333-4444-555555555555}"),
                ("EnginePID", "900"),
            ],
            &[],
        ),
        ts(
            "201 action completed",
            201,
            8,
            99,
            vec![
                ("TaskName", "\\Updater"),
                ("TaskInstanceId", "{11111111-2222-3333-4444-555555555555}"),
                ("ActionName", "C:\\Windows\\System32\\cmd.exe"),
                ("ResultCode", "0"),
                ("EnginePID", "900"),
            ],
            &[],
        ),
        wmi(
            "5857 provider started",
            5857,
            9,
            "Operation_StartedOperational",
            99,
            vec![
                ("ProviderName", "CIMWin32"),
                ("Code", "0x0"),
                ("HostProcess", "wmiprvse.exe"),
                ("ProcessID", "3100"),
                ("ProviderPath", "%systemroot%\\system32\\wbem\\cimwin32.dll"),
            ],
            &[],
        ),
        wmi(
            "5858 failed ClearEventLog",
            5858,
            10,
            "Operation_ClientFailure",
            99,
            vec![
                ("Id", "{00000000-0000-0000-0000-000000000000}"),
                ("ClientMachine", "WS01"),
                ("User", "CORP\\mallory"),
                ("ClientProcessId", "5120"),
                ("Component", "Unknown"),
                (
                    "Operation",
                    "Start IWbemServices::ExecMethod - root\\cimv2 : Win32_NTEventlogFile.Name='Security'::ClearEventLog",
                ),
                ("ResultCode", "0x80041003"),
                ("PossibleCause", "Unknown"),
            ],
            &[WMI_CLEAR_LOG],
        ),
        wmi(
            "5858 other failure",
            5858,
            11,
            "Operation_ClientFailure",
            99,
            vec![
                ("Id", "{00000000-0000-0000-0000-000000000000}"),
                ("ClientMachine", "WS01"),
                ("User", "CORP\\alice"),
                ("ClientProcessId", "5121"),
                ("Component", "Unknown"),
                (
                    "Operation",
                    "Start IWbemServices::ExecQuery - root\\cimv2 : select * from Win32_Nope",
                ),
                ("ResultCode", "0x80041010"),
                ("PossibleCause", "Unknown"),
            ],
            &[],
        ),
        wmi(
            "5859 SCM event filter (filtered)",
            5859,
            12,
            "Operation_EssStarted",
            1,
            vec![
                ("NamespaceName", "//./root/CIMV2"),
                ("Query", "select * from MSFT_SCMEventLogEvent"),
                ("User", "S-1-5-32-544"),
                ("Processid", "1500"),
                ("Provider", "SCM Event Provider"),
                ("queryid", "0"),
                ("PossibleCause", "Permanent"),
            ],
            &[],
        ),
        wmi(
            "5859 other permanent filter",
            5859,
            13,
            "Operation_EssStarted",
            1,
            vec![
                ("NamespaceName", "//./root/subscription"),
                (
                    "Query",
                    "SELECT * FROM __InstanceModificationEvent WITHIN 60 WHERE TargetInstance ISA 'Win32_PerfFormattedData_PerfOS_System'",
                ),
                ("User", "S-1-5-21-1-2-3-1001"),
                ("Processid", "1500"),
                ("Provider", "WMI Kernel Trace Event Provider"),
                ("queryid", "1"),
                ("PossibleCause", "Permanent"),
            ],
            &[WMI_PERSISTENCE],
        ),
        wmi(
            "5860 temporary subscription",
            5860,
            14,
            "Operation_TemporaryEssStarted",
            1,
            vec![
                ("NamespaceName", "//./root/CIMV2"),
                ("Query", "SELECT * FROM Win32_ProcessStartTrace"),
                ("User", "CORP\\alice"),
                ("Processid", "6000"),
                ("PossibleCause", "Temporary"),
            ],
            &[],
        ),
        wmi(
            "5861 command line consumer binding",
            5861,
            15,
            "Operation_ESStoConsumerBinding",
            1,
            vec![
                ("Namespace", "//./root/subscription"),
                ("ESS", "Updater"),
                ("CONSUMER", "CommandLineEventConsumer=\"Updater\""),
                (
                    "PossibleCause",
                    "Binding EventFilter: instance of __EventFilter { Name = \"Updater\"; }; Perm. Consumer: instance of CommandLineEventConsumer { CommandLineTemplate = \"powershell.exe -nop\"; Name = \"Updater\"; };",
                ),
            ],
            &[WMI_PERSISTENCE],
        ),
        wmi(
            "5861 log file consumer binding",
            5861,
            16,
            "Operation_ESStoConsumerBinding",
            1,
            vec![
                ("Namespace", "//./root/subscription"),
                ("ESS", "Audit"),
                ("CONSUMER", "LogFileEventConsumer=\"Audit\""),
                (
                    "PossibleCause",
                    "Binding EventFilter: instance of __EventFilter { Name = \"Audit\"; }; Perm. Consumer: instance of LogFileEventConsumer { Name = \"Audit\"; };",
                ),
            ],
            &[],
        ),
    ]
}

fn mappings() -> PathBuf {
    pa_e2e::repo_root().join("mappings/normalizer/ocsf/1.7.0")
}

/// The OCSF events the normalization stream makes of one input file (`source`: its format).
fn normalize_file(source: &str, path: &Path) -> Vec<Value> {
    let mut out = Vec::new();
    let input = path
        .to_str()
        .unwrap_or_else(|| panic!("{}: not UTF-8", path.display()));
    pa_normalization::stream(source, input, Some(&mappings()), None, &mut out)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    String::from_utf8(out)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .collect()
}

/// The OCSF events of one event XML document.
fn normalize_xml(name: &str, xml: &str) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let path = dir.path().join("event.xml");
    std::fs::write(&path, xml).unwrap_or_else(|e| panic!("{name}: {e}"));
    normalize_file("win-xml", &path)
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Required attributes the source does not carry, by (event code, JSON pointer): left absent
/// rather than invented (see the profile comments of classes/api_activity_6003.yaml).
const ABSENT_REQUIRED: &[(&str, &str)] = &[
    ("5857", "/src_endpoint"),
    ("5859", "/src_endpoint"),
    ("5860", "/src_endpoint"),
    ("5861", "/src_endpoint"),
];

/// OCSF violations of an event outside the documented absent-required list. The envelope's
/// Purple Axiom extension members and their `metadata.extensions` declaration are written by
/// pa-ocsf, not by the profiles under test: that declaration is not checked here.
fn violations(ev: &Value) -> Vec<String> {
    let code = ev
        .pointer("/metadata/event_code")
        .and_then(Value::as_str)
        .unwrap_or_default();
    pa_ocsf_schema::reference_with_project_extensions()
        .validate(ev)
        .into_iter()
        .filter(|v| {
            !(v.code == pa_ocsf_schema::ViolationCode::MissingRequired
                && ABSENT_REQUIRED.contains(&(code, v.pointer.as_str())))
        })
        .filter(|v| {
            let declaration = v.pointer == "/metadata/extensions"
                || v.pointer.starts_with("/metadata/extensions/");
            let undeclared = v.code == pa_ocsf_schema::ViolationCode::UndeclaredExtension
                && v.pointer.starts_with("/metadata/");
            !(declaration || undeclared)
        })
        .map(|v| v.to_string())
        .collect()
}

fn detector(bridge: &Bridge) -> Detector {
    let dir = pa_e2e::shared_data().join("sigma/rules/windows/builtin");
    let set = pa_detection::load_rules(&[dir.join("taskscheduler"), dir.join("wmi")])
        .unwrap_or_else(|e| panic!("{e}"));
    let det = Detector::build(
        &set,
        Some(bridge),
        FieldMode::Ocsf,
        &pa_sigma::CompileOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        det.executable_count(),
        5,
        "the 3 taskscheduler and 2 wmi SigmaHQ rules must all compile"
    );
    det
}

fn fired(det: &Detector, ev: &Value) -> BTreeSet<String> {
    det.detect(ev)
        .into_iter()
        .map(|i| det.rules[i].rule_id.clone())
        .collect()
}

#[test]
fn channel_events_normalize_to_valid_ocsf_and_fire_exactly_their_rules() {
    let bridge =
        Bridge::load(pa_e2e::repo_root().join("mappings/bridge")).unwrap_or_else(|e| panic!("{e}"));
    let det = detector(&bridge);
    let mut problems = Vec::new();
    let all = cases();
    for case in &all {
        let mut evs = normalize_xml(case.name, &case.xml);
        assert_eq!(evs.len(), 1, "{}: one mapped event", case.name);
        let ev = evs.remove(0);
        let class = ev["class_uid"].as_u64().unwrap_or(0);
        let activity = ev["activity_id"].as_u64().unwrap_or(0);
        if (class, activity) != (case.class_uid, case.activity_id) {
            problems.push(format!(
                "{}: class/activity {class}/{activity}, want {}/{}",
                case.name, case.class_uid, case.activity_id
            ));
        }
        for v in violations(&ev) {
            problems.push(format!("{}: OCSF: {v}", case.name));
        }
        // every payload member is kept raw, and nothing else lands in unmapped
        let unmapped = ev.get("unmapped").and_then(Value::as_object);
        let kept: BTreeSet<&str> = unmapped
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default();
        let want: BTreeSet<&str> = case.members.iter().map(|(k, _)| *k).collect();
        if kept != want {
            problems.push(format!(
                "{}: unmapped members {kept:?}, want {want:?}",
                case.name
            ));
        }
        // each member is where the bridge reads it for this class
        let service = if class == 6003 {
            "wmi"
        } else {
            "taskscheduler"
        };
        let ls = pa_bridge::LogSource::new(Some("windows"), None, Some(service));
        let routed = bridge.routed(&ls).unwrap_or_else(|e| panic!("{e}"));
        if !routed.route().in_scope(&ev) {
            problems.push(format!("{}: not in scope of its route", case.name));
        }
        for (k, v) in &case.members {
            let res = routed
                .resolve_by_class(k)
                .unwrap_or_else(|e| panic!("{}: {k}: {e}", case.name));
            let Some(path) = res.paths.get(&(class as u32)) else {
                problems.push(format!("{}: {k}: no path for class {class}", case.name));
                continue;
            };
            let got: Vec<String> = values_at(&ev, path).into_iter().filter_map(text).collect();
            if !got.iter().any(|g| g == v) {
                problems.push(format!("{}: {k}={v:?} -> {path} holds {got:?}", case.name));
            }
        }
        let want_fired: BTreeSet<String> = case.fires.iter().map(|s| s.to_string()).collect();
        let got_fired = fired(&det, &ev);
        if got_fired != want_fired {
            problems.push(format!(
                "{}: fired {got_fired:?}, want {want_fired:?}",
                case.name
            ));
        }
    }
    // every rule is exercised by some positive case
    let positives: BTreeSet<&str> = all.iter().flat_map(|c| c.fires.iter().copied()).collect();
    assert_eq!(positives.len(), 5, "{positives:?}");
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn sigma_regression_recordings_of_both_channels_fire_their_rule() {
    let bridge =
        Bridge::load(pa_e2e::repo_root().join("mappings/bridge")).unwrap_or_else(|e| panic!("{e}"));
    let det = detector(&bridge);
    let root = pa_e2e::shared_data().join("sigma-regression/rules/windows/builtin");
    let mut seen = 0;
    for sub in ["taskscheduler", "wmi"] {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(root.join(sub))
            .unwrap_or_else(|e| panic!("{}: {e}", root.join(sub).display()))
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir())
            .collect();
        dirs.sort();
        for d in dirs {
            let Some(evtx) = std::fs::read_dir(&d)
                .unwrap_or_else(|e| panic!("{}: {e}", d.display()))
                .filter_map(|e| e.ok().map(|e| e.path()))
                .find(|p| p.extension().is_some_and(|x| x == "evtx"))
            else {
                continue;
            };
            let rule_id = evtx
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_string();
            let evs = normalize_file("evtx", &evtx);
            assert!(!evs.is_empty(), "{}: no mapped event", evtx.display());
            let mut any = false;
            for ev in evs {
                let v = violations(&ev);
                assert!(v.is_empty(), "{}: {v:#?}", evtx.display());
                any |= fired(&det, &ev).contains(&rule_id);
            }
            assert!(any, "{}: rule {rule_id} did not fire", evtx.display());
            seen += 1;
        }
    }
    assert!(seen >= 2, "only {seen} recordings");
}

/// Every record of EVTX-ATTACK-SAMPLES, whatever its channel or event id, becomes an event
/// (the records no route names are Base Events, class 0), and the SigmaHQ Windows rules whose
/// data only such events carry fire on them: rules on Security 4661/4662/5136, Sysmon 16 and
/// 19-21, and the Application log were unroutable or had nothing to match before. (4661, 4662,
/// 5136 and Sysmon 16 have specific classes since ADR-0018: Entity Management 3004 and Device
/// Config State Change 5019; the rules fire on them there.)
#[test]
fn no_record_of_the_corpus_is_invisible_and_rules_on_base_events_fire() {
    let files = pa_e2e::evtx_files(&pa_e2e::shared_data().join("evtx/EVTX-ATTACK-SAMPLES"));
    assert!(files.len() > 200, "only {} EVTX files", files.len());
    let mut records = 0usize;
    let mut events = Vec::new();
    for f in &files {
        records += pa_sources::open_auto(f)
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()))
            .filter(Result::is_ok)
            .count();
        events.extend(normalize_file("evtx", f));
    }
    // mapped + fallback = read: no drop on this corpus
    assert_eq!(events.len(), records, "records read vs events");
    let base = events.iter().filter(|e| e["class_uid"] == 0).count();
    assert!(base > 3000, "only {base} Base Events");

    let bridge =
        Bridge::load(pa_e2e::repo_root().join("mappings/bridge")).unwrap_or_else(|e| panic!("{e}"));
    let set = pa_detection::load_rules(&[pa_e2e::shared_data().join("sigma/rules/windows")])
        .unwrap_or_else(|e| panic!("{e}"));
    let det = Detector::build(
        &set,
        Some(&bridge),
        FieldMode::Ocsf,
        &pa_sigma::CompileOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    // every SigmaHQ Windows rule is routable and executable (the product-only keyword search
    // runs over every Windows class: mappings/bridge/router.yaml, `windows.keywords`)
    let not_executable: Vec<(&str, &str)> = det
        .plans
        .iter()
        .filter_map(|p| Some((p.rule_id.as_str(), p.non_executable.as_ref()?.0.as_str())))
        .collect();
    assert_eq!(
        not_executable,
        Vec::<(&str, &str)>::new(),
        "non-executable rules"
    );
    let titles: std::collections::BTreeMap<&str, &str> = set
        .rules
        .iter()
        .filter_map(|r| Some((r.id.as_deref()?, r.title.as_str())))
        .collect();
    let mut on_base: BTreeSet<(String, String, String)> = BTreeSet::new();
    let was_base = |e: &&Value| [0, 3004, 5019].contains(&e["class_uid"].as_u64().unwrap_or(1));
    for ev in events.iter().filter(was_base) {
        for i in det.detect(ev) {
            let at = |p: &str| {
                ev.pointer(p)
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string()
            };
            on_base.insert((
                titles
                    .get(det.rules[i].rule_id.as_str())
                    .map_or_else(|| det.rules[i].rule_id.clone(), |t| (*t).to_string()),
                at("/metadata/log_name"),
                at("/metadata/event_code"),
            ));
        }
    }
    let sysmon = "Microsoft-Windows-Sysmon/Operational";
    for (title, channel, code) in [
        ("Password Policy Enumerated", "Security", "4661"),
        (
            "Active Directory Replication from Non Machine Account - DcSync Indicator",
            "Security",
            "4662",
        ),
        (
            "Powerview Add-DomainObjectAcl DCSync AD Extend Right",
            "Security",
            "5136",
        ),
        ("Sysmon Configuration Change", sysmon, "16"),
        ("WMI Event Subscription", sysmon, "19"),
        ("WMI Event Subscription", sysmon, "20"),
        ("WMI Event Subscription", sysmon, "21"),
        ("MSSQL Server Failed Logon", "Application", "18456"),
        ("Ntdsutil Abuse", "Application", "325"),
    ] {
        assert!(
            on_base.contains(&(title.to_string(), channel.to_string(), code.to_string())),
            "{title} did not fire on {channel} {code}; fired on Base Events: {on_base:#?}"
        );
    }
}

/// The field-name convention (docs/adr/0013-field-names-without-spaces.md): a Defender event's
/// `Source Name` is SigmaHQ's `SourceName`, in OCSF mode (the normalizer keeps it as
/// `unmapped.SourceName`) and in Sigma mode (raw event JSON, flat or in the evtx-JSON shape).
#[test]
fn source_field_names_with_spaces_are_sigma_names_without_them() {
    let defender = "Microsoft-Windows-Windows Defender";
    let data = event_data(&[
        ("Product Name", "Microsoft Defender Antivirus"),
        ("Detection ID", "{11111111-2222-3333-4444-555555555555}"),
        ("Detection Time", "2026-03-01T10:00:05.000Z"),
        ("Threat Name", "Trojan:PowerShell/Mimikatz.A"),
        ("Severity ID", "5"),
        ("Source Name", "AMSI"),
        (
            "Process Name",
            "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
        ),
    ]);
    let xml = event_xml(defender, 1116, 7, 3, &data);
    let mut evs = normalize_xml("defender-1116", &xml);
    assert_eq!(evs.len(), 1);
    let ev = evs.remove(0);
    assert_eq!(ev["class_uid"], 2004, "Detection Finding");
    assert_eq!(ev["unmapped"]["SourceName"], "AMSI");
    assert_eq!(ev["unmapped"]["ThreatName"], "Trojan:PowerShell/Mimikatz.A");
    assert!(
        ev["unmapped"].get("Source Name").is_none(),
        "names keep no spaces: {}",
        ev["unmapped"]
    );
    let rule = pa_e2e::shared_data().join(
        "sigma/rules/windows/builtin/windefend/win_defender_malware_detected_amsi_source.yml",
    );
    let set = pa_detection::load_rules(&[rule]).unwrap_or_else(|e| panic!("{e}"));
    let bridge =
        Bridge::load(pa_e2e::repo_root().join("mappings/bridge")).unwrap_or_else(|e| panic!("{e}"));
    let ocsf = Detector::build(
        &set,
        Some(&bridge),
        FieldMode::Ocsf,
        &pa_sigma::CompileOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ocsf.detect(&ev).len(), 1, "OCSF mode: the AMSI rule fires");
    let sigma = Detector::build(&set, None, FieldMode::Sigma, &Default::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let flat = serde_json::json!({"EventID": 1116, "Channel": format!("{defender}/Operational"),
        "Source Name": "AMSI", "Threat Name": "Trojan:PowerShell/Mimikatz.A"});
    assert_eq!(sigma.detect(&flat).len(), 1, "Sigma mode, flat event");
    let nested = serde_json::json!({"Event": {
    "System": {"EventID": 1116, "Channel": format!("{defender}/Operational")},
    "EventData": {"Data": [
        {"#attributes": {"Name": "Source Name"}, "#text": "AMSI"},
        {"#attributes": {"Name": "Threat Name"}, "#text": "Trojan:PowerShell/Mimikatz.A"}
    ]}}});
    assert_eq!(
        sigma.detect(&nested).len(),
        1,
        "Sigma mode, evtx-JSON event"
    );
    let other = serde_json::json!({"EventID": 1116, "Source Name": "Real-Time Protection"});
    assert!(
        sigma.detect(&other).is_empty(),
        "another source does not fire"
    );
}

/// The whole class, not the samples: for every Windows route of the bridge that reaches Base
/// Events by channel (every event-log service of the Sigma taxonomy, the Sysmon categories
/// pinned to event ids), a record of that channel with an event id no normalizer route names — or the
/// pinned id — becomes a valid OCSF event in the route's scope, its fields (one with a space in
/// its name, one in UserData) are where the route resolves them, and a Sigma rule on that
/// logsource fires on it, together with exactly the other routes whose scope holds it.
#[test]
fn every_channel_the_router_names_reaches_its_rules() {
    let bridge =
        Bridge::load(pa_e2e::repo_root().join("mappings/bridge")).unwrap_or_else(|e| panic!("{e}"));
    let text_of = |v: &Value| -> Vec<String> {
        match v {
            Value::Array(a) => a.iter().filter_map(text).collect(),
            other => text(other).into_iter().collect(),
        }
    };
    // (route, channel, event id) probes, and one rule per route
    let rules = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut probes: Vec<(String, String, String)> = Vec::new();
    for (i, r) in bridge.routes().iter().enumerate() {
        // the routes that reach Base Events (the categories pinned to a specific class, such
        // as ps_script, read a closed field set: their own tests cover them)
        if r.logsource.product.as_deref() != Some("windows") || !r.class_uids.contains(&0) {
            continue;
        }
        let Some(channels) = r
            .filters
            .iter()
            .find(|f| f.path == "metadata.log_name")
            .map(|f| text_of(&f.value))
        else {
            continue;
        };
        let ids = r
            .filters
            .iter()
            .find(|f| f.path == "metadata.event_code")
            .map(|f| text_of(&f.value))
            .unwrap_or_else(|| vec!["65000".to_string()]);
        for c in &channels {
            probes.push((r.route_id.clone(), c.clone(), ids[0].clone()));
        }
        let ls = &r.logsource;
        let key = |k: &str, v: &Option<String>| {
            v.as_ref()
                .map(|v| format!("    {k}: {v}\n"))
                .unwrap_or_default()
        };
        let rule = format!(
            "title: probe {id}\nid: 00000000-0000-4000-8000-{i:012}\nlogsource:\n{}{}{}detection:\n  selection:\n    PaProbe: probe-value\n    PaProbeTwo: two\n    PaUser: from-user-data\n  condition: selection\n",
            key("product", &ls.product),
            key("category", &ls.category),
            key("service", &ls.service),
            id = r.route_id
        );
        std::fs::write(rules.path().join(format!("{}.yml", r.route_id)), rule)
            .unwrap_or_else(|e| panic!("{e}"));
    }
    assert!(probes.len() > 50, "only {} channel probes", probes.len());
    let set =
        pa_detection::load_rules(&[rules.path().to_path_buf()]).unwrap_or_else(|e| panic!("{e}"));
    let det = Detector::build(
        &set,
        Some(&bridge),
        FieldMode::Ocsf,
        &pa_sigma::CompileOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let not_run: Vec<String> = det
        .plans
        .iter()
        .filter_map(|p| Some(format!("{}: {:?}", p.title, p.non_executable.as_ref()?)))
        .collect();
    assert!(
        not_run.is_empty(),
        "probe rules not executable: {not_run:#?}"
    );
    let titles: std::collections::BTreeMap<String, String> = set
        .rules
        .iter()
        .filter_map(|r| {
            Some((
                r.id.clone()?,
                r.title.trim_start_matches("probe ").to_string(),
            ))
        })
        .collect();

    let mut problems = Vec::new();
    for (n, (route_id, channel, id)) in probes.iter().enumerate() {
        let provider = channel.split('/').next().unwrap_or(channel);
        let xml = format!(
            "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>\
             <Provider Name='{provider}'/><EventID>{id}</EventID><Level>4</Level>\
             <TimeCreated SystemTime='2026-03-01T10:00:00.000000Z'/>\
             <EventRecordID>{}</EventRecordID><Channel>{channel}</Channel>\
             <Computer>ws01.corp.example</Computer></System>\
             <EventData><Data Name='PaProbe'>probe-value</Data><Data Name='Pa Probe Two'>two</Data></EventData>\
             <UserData><PaElement xmlns='urn:pa'><PaUser>from-user-data</PaUser></PaElement></UserData></Event>",
            n + 1
        );
        let label = format!("{route_id} ({channel} {id})");
        let mut evs = normalize_xml(&label, &xml);
        if evs.len() != 1 {
            problems.push(format!("{label}: {} events", evs.len()));
            continue;
        }
        let ev = evs.remove(0);
        for v in violations(&ev) {
            problems.push(format!("{label}: OCSF: {v}"));
        }
        let route = bridge
            .routes()
            .iter()
            .find(|r| r.route_id == *route_id)
            .unwrap_or_else(|| panic!("{route_id}"));
        let routed = bridge
            .routed(&route.logsource)
            .unwrap_or_else(|e| panic!("{route_id}: {e}"));
        if !routed.route().in_scope(&ev) {
            problems.push(format!("{label}: class {} not in scope", ev["class_uid"]));
            continue;
        }
        let class = ev["class_uid"].as_u64().unwrap_or(0) as u32;
        for (field, want) in [
            ("PaProbe", "probe-value"),
            ("PaProbeTwo", "two"),
            ("PaUser", "from-user-data"),
            ("EventID", id.as_str()),
            ("Channel", channel.as_str()),
        ] {
            let path = routed
                .resolve_by_class(field)
                .ok()
                .and_then(|r| r.paths.get(&class).cloned());
            let got: Vec<String> = path
                .as_deref()
                .map(|p| values_at(&ev, p).into_iter().filter_map(text).collect())
                .unwrap_or_default();
            if !got.iter().any(|g| g == want) {
                problems.push(format!("{label}: {field} -> {path:?} holds {got:?}"));
            }
        }
        // exactly the routes whose scope holds the event fire
        let fired: BTreeSet<String> = det
            .detect(&ev)
            .into_iter()
            .filter_map(|i| titles.get(&det.rules[i].rule_id).cloned())
            .collect();
        let expected: BTreeSet<String> = bridge
            .routes()
            .iter()
            .filter(|r| titles.values().any(|t| t == &r.route_id))
            .filter(|r| {
                bridge
                    .routed(&r.logsource)
                    .is_ok_and(|x| x.route().in_scope(&ev))
            })
            .map(|r| r.route_id.clone())
            .collect();
        if !fired.contains(route_id) || fired != expected {
            problems.push(format!("{label}: fired {fired:?}, expected {expected:?}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Every Windows logsource of the Sigma taxonomy appendix has a route, and a service's route
/// takes every channel the appendix names for it (read from the specification itself, so a
/// service added there without a route fails here).
#[test]
fn every_windows_logsource_of_the_taxonomy_is_routed_with_its_channels() {
    let spec = std::fs::read_to_string(
        pa_e2e::shared_data().join("sigma-specification/specification/sigma-appendix-taxonomy.md"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let bridge =
        Bridge::load(pa_e2e::repo_root().join("mappings/bridge")).unwrap_or_else(|e| panic!("{e}"));
    let mut problems = Vec::new();
    let (mut rows, mut channels) = (0, 0);
    for line in spec.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() < 4 || cells[1] != "windows" {
            continue;
        }
        rows += 1;
        let ls = cells[2];
        let key = |k: &str| {
            ls.split("<br>")
                .find_map(|p| p.trim().strip_prefix(k))
                .map(|v| v.trim().to_string())
        };
        let (category, service) = (key("category:"), key("service:"));
        let logsource =
            pa_bridge::LogSource::new(Some("windows"), category.as_deref(), service.as_deref());
        let routed = match bridge.routed(&logsource) {
            Ok(r) => r,
            Err(e) => {
                problems.push(format!("{ls}: {e}"));
                continue;
            }
        };
        if service.is_none() {
            continue;
        }
        // the channels of the description: `Channel: X` or `Channel:<br> - X<br> - Y`
        let desc = cells[3];
        let Some(list) = desc.split_once("Channel:").map(|(_, c)| c) else {
            continue;
        };
        let want: Vec<String> = list
            .split("<br>")
            .map(|c| c.trim().trim_start_matches("- ").trim())
            .map(|c| c.trim_start_matches("WinEventLog:").to_ascii_lowercase())
            .filter(|c| !c.is_empty())
            .collect();
        let have: Vec<String> = routed
            .route()
            .filters
            .iter()
            .filter(|f| f.path == "metadata.log_name")
            .flat_map(|f| match &f.value {
                Value::Array(a) => a.iter().filter_map(text).collect::<Vec<_>>(),
                v => text(v).into_iter().collect(),
            })
            .map(|c| c.to_ascii_lowercase())
            .collect();
        for c in &want {
            channels += 1;
            if !have.contains(c) {
                problems.push(format!(
                    "{ls}: channel {c:?} not taken (route takes {have:?})"
                ));
            }
        }
    }
    assert!(rows > 60, "only {rows} Windows rows read from the taxonomy");
    assert!(
        channels > 50,
        "only {channels} service channels read from the taxonomy"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// One event document in any channel, with the Security channel's audit keywords.
fn channel_event_xml(provider: &str, channel: &str, id: u32, record: u32, payload: &str) -> String {
    format!(
        "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>\
         <Provider Name='{provider}' Guid='{{00000000-0000-0000-0000-000000000002}}'/>\
         <EventID>{id}</EventID><Version>0</Version><Level>0</Level><Task>0</Task>\
         <Opcode>0</Opcode><Keywords>0x8020000000000000</Keywords>\
         <TimeCreated SystemTime='2026-03-01T11:00:{:02}.000000Z'/>\
         <EventRecordID>{record}</EventRecordID><Execution ProcessID='640' ThreadID='700'/>\
         <Channel>{channel}</Channel><Computer>dc01.corp.example</Computer>\
         <Security UserID='S-1-5-18'/></System>{payload}</Event>",
        record % 60
    )
}

/// A manifest-shaped record: (name, provider, channel, event id, EventData members, the OCSF
/// class and activity it must become).
type Synthetic<'a> = (
    &'a str,
    &'a str,
    String,
    u32,
    Vec<(&'a str, &'a str)>,
    u64,
    u64,
);

/// The source records of one XML document or EVTX file, with their normalized events.
fn records_and_events(path: &Path) -> Vec<(pa_sources::SourceRecord, Value)> {
    let normalizer = pa_ocsf::Normalizer::load(&mappings()).unwrap_or_else(|e| panic!("{e}"));
    let ctx = pa_ocsf::EventContext {
        run_id: "0f1e2d3c-0000-4000-8000-000000000018",
        scenario_id: "specific-classes",
        raw_ref: None,
        normalizer_version: "0.1.0-test",
        collector_version: None,
        host: None,
    };
    pa_sources::open_auto(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .map(|r| {
            let rec = r.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let ev = normalizer
                .normalize(&rec, &ctx)
                .into_event()
                .unwrap_or_else(|| panic!("{}: a record without event", path.display()));
            (rec, ev)
        })
        .collect()
}

/// Issue 13 item 5 (docs/adr/0018): the event types SigmaHQ Windows rules select on have
/// specific OCSF 1.7.0 classes where one fits — on the real records of EVTX-ATTACK-SAMPLES
/// (Security 4661/4662/4719/5136, Sysmon 16) and, for the types no reference collection holds,
/// on event XML with the members their manifests define (Security 5447, System 7000/7009,
/// Defender 1119/5001/5007, Sysmon 255). Each event is valid OCSF 1.7.0, and every member of
/// its EventData is reachable for Sigma: the bridge resolves the member's name, on the
/// channel's service route, to a path of the event's class that holds a value. 4673/4674 have
/// no fitting class and stay Base Events.
#[test]
fn event_types_rules_select_on_have_specific_classes_and_keep_every_field() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let sec = "Microsoft-Windows-Security-Auditing";
    let scm = "Service Control Manager";
    let defender = "Microsoft-Windows-Windows Defender";
    let sysmon = "Microsoft-Windows-Sysmon";
    let subject = [
        ("SubjectUserSid", "S-1-5-21-1-2-3-1104"),
        ("SubjectUserName", "alice"),
        ("SubjectDomainName", "CORP"),
        ("SubjectLogonId", "0x3e7a1"),
    ];
    let with_subject = |more: &[(&'static str, &'static str)]| {
        let mut v = subject.to_vec();
        v.extend_from_slice(more);
        v
    };
    let synthetic: Vec<Synthetic<'_>> = vec![
        (
            "5447 WFP filter changed",
            sec,
            "Security".into(),
            5447,
            vec![
                ("ProcessId", "1544"),
                ("UserSid", "S-1-5-19"),
                ("UserName", "NT AUTHORITY\\LOCAL SERVICE"),
                ("ProviderKey", "{4b153735-1049-4480-aab4-d1b9bdc03710}"),
                ("ProviderName", "Microsoft Corporation"),
                ("ChangeType", "%%16385"),
                ("FilterKey", "{0f5b6ab6-5c3b-4c1f-9a5d-111111111111}"),
                ("FilterName", "Block Outbound 445"),
                ("FilterType", "%%16387"),
                ("FilterId", "70215"),
                ("LayerKey", "{c38d57d1-05a7-4c33-904f-7fbceee60e82}"),
                ("LayerName", "ALE Connect v4 Layer"),
                ("LayerId", "48"),
                ("Weight", "0"),
                ("Conditions", "Remote Port: 445"),
                ("Action", "%%16389"),
            ],
            3004,
            3,
        ),
        (
            "4719 audit policy changed",
            sec,
            "Security".into(),
            4719,
            with_subject(&[
                ("CategoryId", "%%8274"),
                ("SubcategoryId", "%%12801"),
                ("SubcategoryGuid", "{0cce921d-69ae-11d9-bed3-505054503030}"),
                ("AuditPolicyChanges", "%%8448"),
            ]),
            3004,
            3,
        ),
        (
            "4673 privileged service",
            sec,
            "Security".into(),
            4673,
            with_subject(&[
                ("ObjectServer", "Security"),
                ("Service", "-"),
                ("PrivilegeList", "SeLoadDriverPrivilege"),
                ("ProcessId", "0x1f4"),
                ("ProcessName", "C:\\Tools\\loader.exe"),
            ]),
            0,
            99,
        ),
        (
            "7000 start failed",
            scm,
            "System".into(),
            7000,
            vec![("param1", "Updater Service"), ("param2", "%%2")],
            201004,
            3,
        ),
        (
            "7009 start timeout",
            scm,
            "System".into(),
            7009,
            vec![("param1", "30000"), ("param2", "Updater Service")],
            201004,
            3,
        ),
        (
            "1119 action failed",
            defender,
            format!("{defender}/Operational"),
            1119,
            vec![
                ("Product Name", "Microsoft Defender Antivirus"),
                ("Detection ID", "{8B5C3A2E-1D4F-4E6A-9B7C-0A1B2C3D4E5F}"),
                ("Detection Time", "2026-03-01T11:00:05.000Z"),
                ("Threat ID", "2147735503"),
                ("Threat Name", "HackTool:Win32/Mimikatz"),
                ("Severity ID", "5"),
                ("Severity Name", "Severe"),
                ("Path", "file:_C:\\Users\\alice\\mimikatz.exe"),
                ("Action ID", "2"),
                ("Action Name", "Quarantine"),
                ("Error Code", "0x80508023"),
                (
                    "Error Description",
                    "The program could not find the malware.",
                ),
            ],
            2004,
            2,
        ),
        (
            "5001 RTP disabled",
            defender,
            format!("{defender}/Operational"),
            5001,
            vec![
                ("Product Name", "Microsoft Defender Antivirus"),
                ("Product Version", "4.18.2303.8"),
            ],
            5019,
            1,
        ),
        (
            "5007 config changed",
            defender,
            format!("{defender}/Operational"),
            5007,
            vec![
                ("Product Name", "Microsoft Defender Antivirus"),
                ("Product Version", "4.18.2303.8"),
                ("Old Value", ""),
                (
                    "New Value",
                    "HKLM\\SOFTWARE\\Microsoft\\Windows Defender\\Exclusions\\Paths\\C:\\Temp = 0x0",
                ),
            ],
            5019,
            1,
        ),
        (
            "255 sysmon error",
            sysmon,
            format!("{sysmon}/Operational"),
            255,
            vec![
                ("UtcTime", "2026-03-01 11:00:09.000"),
                ("ID", "DriverCommunication"),
                (
                    "Description",
                    "Failed to open service configuration with error 1060",
                ),
            ],
            6008,
            1,
        ),
    ];
    let mut cases: Vec<(String, pa_sources::SourceRecord, Value, u64, u64)> = Vec::new();
    for (i, (name, provider, channel, id, members, class, activity)) in synthetic.iter().enumerate()
    {
        let xml = channel_event_xml(provider, channel, *id, 100 + i as u32, &event_data(members));
        let p = dir.path().join(format!("{i}.xml"));
        std::fs::write(&p, xml).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut got = records_and_events(&p);
        assert_eq!(got.len(), 1, "{name}");
        let (rec, ev) = got.remove(0);
        cases.push(((*name).to_string(), rec, ev, *class, *activity));
    }
    // Real records: the first of each event type in EVTX-ATTACK-SAMPLES.
    let mut want: Vec<(&str, &str, u64)> = vec![
        ("Security", "4661", 3004),
        ("Security", "4662", 3004),
        ("Security", "4719", 3004),
        ("Security", "5136", 3004),
        ("Microsoft-Windows-Sysmon/Operational", "16", 5019),
    ];
    let files = pa_e2e::evtx_files(&pa_e2e::shared_data().join("evtx/EVTX-ATTACK-SAMPLES"));
    for f in &files {
        if want.is_empty() {
            break;
        }
        for (rec, ev) in records_and_events(f) {
            let code = ev["metadata"]["event_code"]
                .as_str()
                .unwrap_or("")
                .to_string();
            let log = ev["metadata"]["log_name"]
                .as_str()
                .unwrap_or("")
                .to_string();
            if let Some(pos) = want.iter().position(|(c, i, _)| *c == log && *i == code) {
                let (_, _, class) = want.remove(pos);
                let activity = ev["activity_id"].as_u64().unwrap_or(0);
                cases.push((
                    format!("{} {log} {code}", f.display()),
                    rec,
                    ev,
                    class,
                    activity,
                ));
            }
        }
    }
    assert!(
        want.is_empty(),
        "no record in EVTX-ATTACK-SAMPLES for {want:?}"
    );

    let bridge =
        Bridge::load(pa_e2e::repo_root().join("mappings/bridge")).unwrap_or_else(|e| panic!("{e}"));
    let mut problems = Vec::new();
    for (name, rec, ev, class, activity) in &cases {
        let got = (
            ev["class_uid"].as_u64().unwrap_or(u64::MAX),
            ev["activity_id"].as_u64().unwrap_or(0),
        );
        if got != (*class, *activity) {
            problems.push(format!(
                "{name}: class/activity {got:?}, want ({class}, {activity})"
            ));
        }
        for v in violations(ev) {
            problems.push(format!("{name}: {v}"));
        }
        let service = match ev["metadata"]["log_name"].as_str() {
            Some("Security") => "security",
            Some("System") => "system",
            Some(l) if l.contains("Defender") => "windefend",
            _ => "sysmon",
        };
        let ls = pa_bridge::LogSource::new(Some("windows"), None, Some(service));
        let routed = bridge.routed(&ls).unwrap_or_else(|e| panic!("{name}: {e}"));
        let Some(Value::Object(data)) = rec.fields.get("EventData") else {
            problems.push(format!("{name}: no EventData"));
            continue;
        };
        for (member, raw) in data {
            let field: String = member.chars().filter(|c| *c != ' ').collect();
            let path = routed
                .resolve_by_class(&field)
                .ok()
                .and_then(|r| r.paths.get(&(*class as u32)).cloned());
            let Some(path) = path else {
                problems.push(format!(
                    "{name}: {field} resolves to no path in class {class}"
                ));
                continue;
            };
            let have: Vec<String> = values_at(ev, &path).into_iter().filter_map(text).collect();
            let raw = text(raw).unwrap_or_default();
            if have.is_empty() && !raw.is_empty() {
                problems.push(format!("{name}: {field}={raw:?} -> {path} holds nothing"));
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}
