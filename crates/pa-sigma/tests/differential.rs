//! Differential test against an independent Sigma implementation: the `rsigma` crates
//! (`rsigma-parser` + `rsigma-eval` 0.23, dev-dependencies only).
//!
//! Both implementations load every SigmaHQ rule file of the positive corpus directories
//! (pa-sigma with [`IdentityResolver`]) and evaluate every rule both can run on the same flat,
//! Sigma-named events:
//!
//! - (a) every event of every SigmaHQ regression sample (the `.json` beside each `.evtx`),
//!   flattened the way [`SigmaJsonEvent`] reads it (checked below);
//! - (b) every derived row of the Linux audit lab (process creations, also with `Image` taken
//!   from `ImageInvoked` as the lab's second pySigma run did; audit records; file events);
//! - (c) synthetic events built from every rule's own patterns and mutated
//!   (`common::synth`): these reach the corners of the modifiers that real samples rarely do.
//!
//! The sets of (rule id, event) hits must be equal except for the disagreements listed in
//! [`KNOWN`], each with the specification text that shows rsigma is wrong. The list is exact:
//! an unlisted disagreement fails the test, and so does a listed one that no longer occurs. Run
//! with `PA_SIGMA_DIFF_EXPLAIN=1` and `--nocapture` to print both implementations' explanation of
//! every disagreement.

mod common;

use common::synth::labelled_synthetic_events;
use pa_sigma::{
    CompileOptions, Engine, IdentityResolver, JsonEvent, SigmaJsonEvent, compile_ruleset, explain,
    load_paths,
};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Which implementation fires where the other does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Side {
    /// pa-sigma fires, rsigma does not.
    OursOnly,
    /// rsigma fires, pa-sigma does not.
    RsigmaOnly,
}

/// rsigma 0.23 compiles a `'|all':` keyword list as one field-less item whose values must all
/// *equal* a single string of the event, so such a selection never fires.
/// Specification, sigma-rules-specification.md § Keywords search: "To have a **and** operator ,
/// we use the `'|all':` modifier" — `'|all': ['OabVirtualDirectory', ' -ExternalUrl ']` "Give :
/// "OabVirtualDirectory" **and** " -ExternalUrl "", and keywords are "searching for keywords
/// across an entire event" (each keyword anywhere in the event, as pa-sigma does).
const KEYWORDS_ALL: &str = "rsigma: '|all' keyword list never fires";

/// rsigma 0.23 expands only `-` for `windash` (to `-` `–` `—` `―`), never `/`, so a value
/// written with `/` (`/node:`, ` /Y`, `/disable`) misses its `-` and dash spellings.
/// Specification, sigma-appendix-modifiers.md § String Modifiers: "`windash`: Creates all
/// possible permutations of the `-`, `/`, `–` (en dash), `—` (em dash), and `―` (horizontal bar)
/// characters ... converts the aforementioned characters interchangeably".
const WINDASH_SLASH: &str = "rsigma: windash does not permute '/'";

/// rsigma 0.23 compiles `endswith` over a value that holds a wildcard as a regex anchored at the
/// *start* (`password*.txt` → `(?i)^password.*\.txt`), so it needs the value at the beginning
/// of the field. Specification, sigma-appendix-modifiers.md § Generic Modifiers: "`endswith`: The
/// value is expected at the end of the field's content (replaces e.g. '\*\\cmd.exe')", i.e.
/// `endswith: 'password*.txt'` is `*password*.txt`.
const ENDSWITH_WILDCARD: &str = "rsigma: endswith with a wildcard anchored at the start";

/// rsigma 0.23 keeps the last base64 character of each `base64offset` variant, which depends
/// on the byte that follows the value in the encoded text (it only strips `=`), so an encoded
/// value followed by anything but the bits it assumed is missed. Specification,
/// sigma-appendix-modifiers.md § Encoding: "`base64offset`: ... There are three variants for
/// shifts by zero to two bytes and except the first and last byte the encoded values have a
/// static part in the middle that can be recognized" — only that static part may be searched.
const BASE64OFFSET_TAIL: &str = "rsigma: base64offset keeps the neighbour-dependent last char";

/// Every disagreement between pa-sigma and rsigma 0.23 on the test events:
/// (rule id, who fires, cause, events).
const KNOWN: &[(&str, Side, &str, &[&str])] = &[
    // rules-emerging-threats/2021/Exploits/CVE-2021-4034/lnx_auth_exploit_cve_2021_4034_pwnkit_lpe.yml
    (
        "0506a799-698b-43b4-85a1-ac4c84c720e9",
        Side::OursOnly,
        KEYWORDS_ALL,
        &[
            "syn:0506a799-698b-43b4-85a1-ac4c84c720e9:merged",
            "syn:0506a799-698b-43b4-85a1-ac4c84c720e9:plain",
            "syn:60c0a111-787a-4e8a-9262-ee485f3ef9d5:merged",
        ],
    ),
    // rules/windows/builtin/msexchange/win_exchange_proxyshell_remove_mailbox_export.yml
    (
        "09570ae5-889e-43ea-aac0-0e1221fb3d95",
        Side::OursOnly,
        KEYWORDS_ALL,
        &[
            "syn:09570ae5-889e-43ea-aac0-0e1221fb3d95:merged",
            "syn:09570ae5-889e-43ea-aac0-0e1221fb3d95:plain",
        ],
    ),
    // rules/windows/builtin/msexchange/win_exchange_proxyshell_mailbox_export.yml
    (
        "516376b4-05cd-4122-bae0-ad7641c38d48",
        Side::OursOnly,
        KEYWORDS_ALL,
        &[
            "syn:516376b4-05cd-4122-bae0-ad7641c38d48:merged",
            "syn:516376b4-05cd-4122-bae0-ad7641c38d48:mutated",
            "syn:516376b4-05cd-4122-bae0-ad7641c38d48:plain",
        ],
    ),
    // rules/network/cisco/bgp/cisco_bgp_md5_auth_failed.yml
    (
        "56fa3cd6-f8d6-4520-a8c7-607292971886",
        Side::OursOnly,
        KEYWORDS_ALL,
        &[
            "syn:56fa3cd6-f8d6-4520-a8c7-607292971886:merged",
            "syn:56fa3cd6-f8d6-4520-a8c7-607292971886:plain",
        ],
    ),
    // rules-emerging-threats/2022/Exploits/CVE-2022-29799/lnx_exploit_cve_2022_27999_cve_2022_27800.yml
    (
        "7ba05b43-adad-4c02-b5e9-c8c35cdf9fa8",
        Side::OursOnly,
        KEYWORDS_ALL,
        &[
            "syn:2d9403d5-7927-46b7-8216-37ab7c9ec5e3:merged",
            "syn:7ba05b43-adad-4c02-b5e9-c8c35cdf9fa8:merged",
            "syn:7ba05b43-adad-4c02-b5e9-c8c35cdf9fa8:plain",
        ],
    ),
    // rules/linux/builtin/lnx_susp_jexboss.yml
    (
        "8ec2c8b4-557a-4121-b87c-5dfb3a602fae",
        Side::OursOnly,
        KEYWORDS_ALL,
        &[
            "syn:8ec2c8b4-557a-4121-b87c-5dfb3a602fae:merged",
            "syn:8ec2c8b4-557a-4121-b87c-5dfb3a602fae:plain",
        ],
    ),
    // rules/windows/builtin/msexchange/win_exchange_set_oabvirtualdirectory_externalurl.yml
    (
        "9db37458-4df2-46a5-95ab-307e7f29e675",
        Side::OursOnly,
        KEYWORDS_ALL,
        &[
            "syn:9db37458-4df2-46a5-95ab-307e7f29e675:merged",
            "syn:9db37458-4df2-46a5-95ab-307e7f29e675:plain",
        ],
    ),
    // rules/network/huawei/bgp/huawei_bgp_auth_failed.yml
    (
        "a557ffe6-ac54-43d2-ae69-158027082350",
        Side::OursOnly,
        KEYWORDS_ALL,
        &[
            "syn:a557ffe6-ac54-43d2-ae69-158027082350:merged",
            "syn:a557ffe6-ac54-43d2-ae69-158027082350:mutated",
            "syn:a557ffe6-ac54-43d2-ae69-158027082350:plain",
        ],
    ),
    // rules/network/juniper/bgp/juniper_bgp_missing_md5.yml
    (
        "a7c0ae48-8df8-42bf-91bd-2ea57e2f9d43",
        Side::OursOnly,
        KEYWORDS_ALL,
        &[
            "syn:a7c0ae48-8df8-42bf-91bd-2ea57e2f9d43:merged",
            "syn:a7c0ae48-8df8-42bf-91bd-2ea57e2f9d43:plain",
            "syn:b640c0b8-87f8-4daa-aef8-95a24261dd1d:merged",
        ],
    ),
    // rules/linux/auditd/execve/lnx_auditd_binary_padding.yml
    (
        "c52a914f-3d8b-4b2a-bb75-b3991e75f8ba",
        Side::OursOnly,
        KEYWORDS_ALL,
        &[
            "syn:37222991-11e9-4b6d-8bdf-60fbe48f753e:merged",
            "syn:37222991-11e9-4b6d-8bdf-60fbe48f753e:mutated",
            "syn:37222991-11e9-4b6d-8bdf-60fbe48f753e:plain",
            "syn:c52a914f-3d8b-4b2a-bb75-b3991e75f8ba:merged",
            "syn:c52a914f-3d8b-4b2a-bb75-b3991e75f8ba:mutated",
            "syn:c52a914f-3d8b-4b2a-bb75-b3991e75f8ba:plain",
        ],
    ),
    // rules/linux/auditd/execve/lnx_auditd_find_cred_in_files.yml
    (
        "df3fcaea-2715-4214-99c5-0056ea59eb35",
        Side::OursOnly,
        KEYWORDS_ALL,
        &[
            "syn:d08722cd-3d09-449a-80b4-83ea2d9d4616:merged",
            "syn:df3fcaea-2715-4214-99c5-0056ea59eb35:merged",
            "syn:df3fcaea-2715-4214-99c5-0056ea59eb35:mutated",
            "syn:df3fcaea-2715-4214-99c5-0056ea59eb35:plain",
        ],
    ),
    // rules/application/jvm/java_local_file_read.yml
    (
        "e032f5bc-4563-4096-ae3b-064bab588685",
        Side::OursOnly,
        KEYWORDS_ALL,
        &[
            "syn:e032f5bc-4563-4096-ae3b-064bab588685:merged",
            "syn:e032f5bc-4563-4096-ae3b-064bab588685:plain",
        ],
    ),
    // rules-emerging-threats/2023/Exploits/CVE-2023-46747/web_cve_2023_46747_f5_remote_code_execution.yml
    (
        "e9928831-ba14-42ea-a4bc-33d352b9929a",
        Side::OursOnly,
        KEYWORDS_ALL,
        &[
            "syn:e9928831-ba14-42ea-a4bc-33d352b9929a:merged",
            "syn:e9928831-ba14-42ea-a4bc-33d352b9929a:plain",
        ],
    ),
    // rules-emerging-threats/2021/Exploits/CVE-2021-26858/web_cve_2021_26858_iis_rce.yml
    (
        "effee1f6-a932-4297-a81f-acb44064fa3a",
        Side::OursOnly,
        KEYWORDS_ALL,
        &["syn:0bbcd74b-0596-41a4-94a0-4e88a76ffdb3:merged"],
    ),
    // rules-emerging-threats/2023/Exploits/CVE-2023-46747/proxy_cve_2023_46747_f5_remote_code_execution.yml
    (
        "f195b2ff-e542-41bf-8d91-864fb81e5c20",
        Side::OursOnly,
        KEYWORDS_ALL,
        &[
            "syn:e9928831-ba14-42ea-a4bc-33d352b9929a:merged",
            "syn:f195b2ff-e542-41bf-8d91-864fb81e5c20:merged",
            "syn:f195b2ff-e542-41bf-8d91-864fb81e5c20:plain",
        ],
    ),
    // rules/windows/process_creation/proc_creation_win_msiexec_execute_dll.yml
    (
        "6f4191bb-912b-48a8-9ce7-682769541e6d",
        Side::OursOnly,
        WINDASH_SLASH,
        &[
            "syn:6f4191bb-912b-48a8-9ce7-682769541e6d:merged",
            "syn:6f4191bb-912b-48a8-9ce7-682769541e6d:plain",
        ],
    ),
    // rules/windows/process_creation/proc_creation_win_wmic_remote_execution.yml
    (
        "7773b877-5abb-4a3e-b9c9-fd0369b59b00",
        Side::OursOnly,
        WINDASH_SLASH,
        &[
            "syn:7773b877-5abb-4a3e-b9c9-fd0369b59b00:merged",
            "syn:7773b877-5abb-4a3e-b9c9-fd0369b59b00:plain",
        ],
    ),
    // rules/windows/process_creation/proc_creation_win_reagentc_disable_windows_recovery_environment.yml
    (
        "db1c21e4-cd66-4b4e-85ca-590f0780529c",
        Side::OursOnly,
        WINDASH_SLASH,
        &[
            "syn:db1c21e4-cd66-4b4e-85ca-590f0780529c:merged",
            "syn:db1c21e4-cd66-4b4e-85ca-590f0780529c:plain",
        ],
    ),
    // rules/windows/process_creation/proc_creation_win_notepad_local_passwd_discovery.yml
    (
        "3b4e950b-a3ea-44d3-877e-432071990709",
        Side::OursOnly,
        ENDSWITH_WILDCARD,
        &[
            "syn:3b4e950b-a3ea-44d3-877e-432071990709:merged",
            "syn:3b4e950b-a3ea-44d3-877e-432071990709:plain",
        ],
    ),
    // rules-emerging-threats/2024/Exploits/CVE-2024-1708/file_event_win_exploit_cve_2024_1708_screenconnect.yml
    (
        "44d7af7e-88e6-4490-be11-55f7ff4d9fc1",
        Side::OursOnly,
        ENDSWITH_WILDCARD,
        &[
            "syn:44d7af7e-88e6-4490-be11-55f7ff4d9fc1:merged",
            "syn:44d7af7e-88e6-4490-be11-55f7ff4d9fc1:mutated",
            "syn:44d7af7e-88e6-4490-be11-55f7ff4d9fc1:plain",
            "syn:4c198a60-7d05-4daf-8bf7-4136fb6f5c62:merged",
        ],
    ),
    // rules-emerging-threats/2024/Exploits/CVE-2024-1708/win_security_exploit_cve_2024_1708_screenconnect.yml
    (
        "4c198a60-7d05-4daf-8bf7-4136fb6f5c62",
        Side::OursOnly,
        ENDSWITH_WILDCARD,
        &[
            "syn:1a821580-588b-4323-9422-660f7e131020:merged",
            "syn:4c198a60-7d05-4daf-8bf7-4136fb6f5c62:merged",
            "syn:4c198a60-7d05-4daf-8bf7-4136fb6f5c62:mutated",
            "syn:4c198a60-7d05-4daf-8bf7-4136fb6f5c62:plain",
        ],
    ),
    // rules/windows/builtin/security/win_security_ad_user_enumeration.yml
    (
        "ab6bffca-beff-4baa-af11-6733f296d57a",
        Side::OursOnly,
        ENDSWITH_WILDCARD,
        &[
            "syn:ab6bffca-beff-4baa-af11-6733f296d57a:merged",
            "syn:ab6bffca-beff-4baa-af11-6733f296d57a:plain",
        ],
    ),
    // rules/windows/file/file_event/file_event_win_powershell_module_susp_creation.yml
    (
        "e8a52bbd-bced-459f-bd93-64db45ce7657",
        Side::OursOnly,
        ENDSWITH_WILDCARD,
        &[
            "syn:e8a52bbd-bced-459f-bd93-64db45ce7657:merged",
            "syn:e8a52bbd-bced-459f-bd93-64db45ce7657:plain",
        ],
    ),
    // rules/windows/process_creation/proc_creation_win_powershell_defender_disable_feature.yml
    (
        "1ec65a5f-9473-4f12-97da-622044d6df21",
        Side::OursOnly,
        BASE64OFFSET_TAIL,
        &[
            "syn:1ec65a5f-9473-4f12-97da-622044d6df21:merged",
            "syn:1ec65a5f-9473-4f12-97da-622044d6df21:plain",
        ],
    ),
    // rules/windows/builtin/system/service_control_manager/win_system_cobaltstrike_service_installs.yml
    (
        "5a105d34-05fc-401e-8553-272b45c1522d",
        Side::OursOnly,
        BASE64OFFSET_TAIL,
        &[
            "syn:5a105d34-05fc-401e-8553-272b45c1522d:merged",
            "syn:5a105d34-05fc-401e-8553-272b45c1522d:plain",
        ],
    ),
    // rules/windows/wmi_event/sysmon_wmi_susp_encoded_scripts.yml
    (
        "83844185-1c5b-45bc-bcf3-b5bf3084ca5b",
        Side::OursOnly,
        BASE64OFFSET_TAIL,
        &[
            "syn:83844185-1c5b-45bc-bcf3-b5bf3084ca5b:merged",
            "syn:83844185-1c5b-45bc-bcf3-b5bf3084ca5b:mutated",
            "syn:83844185-1c5b-45bc-bcf3-b5bf3084ca5b:plain",
        ],
    ),
    // rules/windows/builtin/security/win_security_cobaltstrike_service_installs.yml
    (
        "d7a95147-145f-4678-b85d-d1ff4a3bb3f6",
        Side::OursOnly,
        BASE64OFFSET_TAIL,
        &[
            "syn:d7a95147-145f-4678-b85d-d1ff4a3bb3f6:merged",
            "syn:d7a95147-145f-4678-b85d-d1ff4a3bb3f6:plain",
        ],
    ),
];

/// Where a test event comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Source {
    /// (a) SigmaHQ regression samples.
    Regression,
    /// (b) Linux audit lab rows.
    Lab,
    /// (c) synthetic events.
    Synthetic,
}

/// One event both implementations see: a label for messages and the flat JSON object.
struct Ev {
    source: Source,
    label: String,
    flat: Value,
}

fn files(dir: &Path, exts: &[&str], out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files(&p, exts, out);
        } else if p
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| exts.contains(&e))
        {
            out.push(p);
        }
    }
}

fn scalar_or_text(v: &Value) -> &Value {
    match v {
        Value::Object(m) => m.get("#text").unwrap_or(v),
        _ => v,
    }
}

/// Flatten an evtx-JSON event (`{"Event": {"System", "EventData", "UserData"}}`) into one object
/// of Sigma field names, with the precedence [`SigmaJsonEvent`] documents: `EventData` fields,
/// then named `Data` elements, then `UserData` element fields, then `System` fields (their
/// `#text`), then `System` attributes as `Element_Attribute`.
fn flatten(v: &Value) -> Value {
    let Some(ev) = v.get("Event") else {
        return v.clone();
    };
    let mut out = Map::new();
    let mut put = |k: &str, v: &Value| {
        if !out.contains_key(k) {
            out.insert(k.to_owned(), v.clone());
        }
    };
    if let Some(Value::Object(data)) = ev.get("EventData") {
        for (k, v) in data {
            if k != "#attributes" && k != "Data" {
                put(k, scalar_or_text(v));
            }
        }
        let items: &[Value] = match data.get("Data") {
            Some(Value::Array(a)) => a,
            Some(v @ Value::Object(_)) => std::slice::from_ref(v),
            _ => &[],
        };
        for d in items {
            if let Some(name) = d
                .get("#attributes")
                .and_then(|a| a.get("Name"))
                .and_then(Value::as_str)
            {
                put(name, d.get("#text").unwrap_or(&Value::Null));
            }
        }
    }
    if let Some(Value::Object(user)) = ev.get("UserData") {
        for elem in user.values() {
            if let Value::Object(fields) = elem {
                for (k, v) in fields {
                    put(k, scalar_or_text(v));
                }
            }
        }
    }
    if let Some(Value::Object(sys)) = ev.get("System") {
        for (k, v) in sys {
            put(k, scalar_or_text(v));
        }
        for (k, v) in sys {
            if let Some(Value::Object(attrs)) = v.get("#attributes") {
                for (a, av) in attrs {
                    put(&format!("{k}_{a}"), av);
                }
            }
        }
    }
    Value::Object(out)
}

/// Every event of every regression sample (the `.json` beside each `.evtx`), flattened.
fn regression_events(data: &Path) -> Vec<(Ev, SigmaJsonEvent)> {
    let reg = data.join("sigma-regression");
    let mut paths = Vec::new();
    files(&reg, &["json"], &mut paths);
    assert!(
        paths.len() >= 130,
        "{}: expected the SigmaHQ regression samples, found {} .json files",
        reg.display(),
        paths.len()
    );
    let mut out = Vec::new();
    for p in paths {
        let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        let events = SigmaJsonEvent::read_all(&text)
            .unwrap_or_else(|e| panic!("{}: invalid JSON: {e}", p.display()));
        let rel = p.strip_prefix(&reg).unwrap_or(&p).display().to_string();
        for (i, e) in events.into_iter().enumerate() {
            out.push((
                Ev {
                    source: Source::Regression,
                    label: format!("reg:{rel}#{i}"),
                    flat: flatten(&e.value),
                },
                e,
            ));
        }
    }
    out
}

/// Every derived row of the Linux audit lab (already flat, with Sigma field names); the process
/// creations a second time with `Image` replaced by `ImageInvoked` (the path as passed to execve,
/// before symlink resolution) where the row has one.
fn lab_events(data: &Path) -> Vec<Ev> {
    let lab = data.join("linux-audit-lab/derived");
    let mut out = Vec::new();
    for (table, file) in [
        ("process_creation", "process_creation.jsonl"),
        ("auditd", "auditd_records.jsonl"),
        ("file_event", "file_event.jsonl"),
    ] {
        let p = lab.join(file);
        let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        let mut invoked = Vec::new();
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let flat: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{}:{}: invalid JSON: {e}", p.display(), n + 1));
            if let Some(inv) = flat.get("ImageInvoked").filter(|v| v.is_string()) {
                let mut row = flat.clone();
                row["Image"] = inv.clone();
                invoked.push(Ev {
                    source: Source::Lab,
                    label: format!("lab:{table}_invoked:{}", n + 1),
                    flat: row,
                });
            }
            out.push(Ev {
                source: Source::Lab,
                label: format!("lab:{table}:{}", n + 1),
                flat,
            });
        }
        assert!(!out.is_empty(), "{}: no rows", p.display());
        out.extend(invoked);
    }
    out
}

/// rsigma's side: its engine over every detection rule it parses and compiles (first occurrence
/// of an id, as pa-sigma keeps), the ids it compiled, and what it refused.
struct Oracle {
    engine: rsigma_eval::Engine,
    ids: BTreeSet<String>,
    parse_failures: Vec<String>,
    compile_failures: Vec<String>,
}

fn oracle(dirs: &[PathBuf]) -> Oracle {
    let mut paths = Vec::new();
    for d in dirs {
        files(d, &["yml", "yaml"], &mut paths);
    }
    let mut parse_failures = Vec::new();
    let mut compile_failures = Vec::new();
    let mut rules = Vec::new();
    let mut seen = BTreeSet::new();
    for p in &paths {
        let text = std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        match rsigma_parser::parse_sigma_yaml(&text) {
            Ok(c) => {
                for e in &c.errors {
                    parse_failures.push(format!("{}: {e}", p.display()));
                }
                assert!(
                    c.filters.is_empty(),
                    "{}: filter documents in the corpus need global application",
                    p.display()
                );
                for r in c.rules {
                    if r.id.as_deref().is_some_and(|id| seen.insert(id.to_owned())) {
                        rules.push(r);
                    }
                }
            }
            Err(e) => parse_failures.push(format!("{}: {e}", p.display())),
        }
    }
    let mut engine = rsigma_eval::Engine::new();
    let errors = engine.add_rules(rules.iter());
    for (i, e) in &errors {
        compile_failures.push(format!("{:?}: {e}", rules[*i].id));
    }
    let ids = engine.rules().iter().filter_map(|r| r.id.clone()).collect();
    Oracle {
        engine,
        ids,
        parse_failures,
        compile_failures,
    }
}

/// The disagreements found, by (rule id, event label, side).
type Found = BTreeSet<(String, String, Side)>;

#[test]
fn pa_sigma_agrees_with_rsigma() {
    let t0 = Instant::now();
    let data = common::data_dir();
    let dirs = common::positive_rule_dirs();
    let set = load_paths(&dirs);
    assert_eq!(
        set.filter_documents, 0,
        "filter documents in the corpus: rsigma would need them applied across files"
    );
    let compiled = compile_ruleset(&set, &IdentityResolver, &CompileOptions::default());
    let orc = oracle(&dirs);
    let ours_ids: BTreeSet<String> = compiled.rules.iter().filter_map(|r| r.id.clone()).collect();
    let both: BTreeSet<&String> = ours_ids.intersection(&orc.ids).collect();
    let rules: Vec<_> = compiled
        .rules
        .iter()
        .filter(|r| r.id.as_ref().is_some_and(|id| both.contains(id)))
        .cloned()
        .collect();
    let ours = Engine::new(rules.clone()).expect("engine");

    // The scope of the comparison: rsigma parses and compiles every rule; the rules it runs and
    // we do not are exactly those whose placeholders (`%name%`) have no value here (pa-sigma
    // refuses them as unsupported_placeholder; rsigma matches the placeholder text literally).
    for f in orc.parse_failures.iter().chain(&orc.compile_failures) {
        println!("  rsigma refuses {f}");
    }
    assert!(
        orc.parse_failures.is_empty() && orc.compile_failures.is_empty(),
        "rsigma refused rules (listed above): the comparison scope changed"
    );
    let only_ours: Vec<_> = ours_ids.difference(&orc.ids).collect();
    assert!(
        only_ours.is_empty(),
        "rules only pa-sigma runs: {only_ours:?}"
    );
    let mut placeholder_only = 0;
    for id in orc.ids.difference(&ours_ids) {
        let reason = compiled
            .non_executable
            .iter()
            .find(|n| n.rule_id.as_deref() == Some(id.as_str()));
        assert!(
            reason.is_some_and(|n| n.reason_code == "unsupported_placeholder"),
            "rule {id} runs in rsigma only, and not because of a placeholder: {reason:?}"
        );
        placeholder_only += 1;
    }
    assert!(both.len() > 3500, "only {} rules compared", both.len());

    let reg = regression_events(&data);
    // The flattening must show pa-sigma the event it sees in the evtx-JSON shape.
    for (ev, nested) in &reg {
        assert_eq!(
            ours.matches(nested),
            ours.matches(&JsonEvent::new(ev.flat.clone())),
            "{}: the flattened event is not what pa-sigma sees nested",
            ev.label
        );
    }
    let mut events: Vec<Ev> = reg.into_iter().map(|(e, _)| e).collect();
    events.extend(lab_events(&data));
    for (label, flat) in labelled_synthetic_events(&rules, 1) {
        events.push(Ev {
            source: Source::Synthetic,
            label,
            flat,
        });
    }

    let mut agreed: BTreeMap<Source, usize> = BTreeMap::new();
    let mut count: BTreeMap<Source, usize> = BTreeMap::new();
    let mut found: Found = BTreeSet::new();
    let mut found_by_source: BTreeMap<Source, usize> = BTreeMap::new();
    for ev in &events {
        *count.entry(ev.source).or_default() += 1;
        let mine: BTreeSet<String> = ours
            .matches(&JsonEvent::new(ev.flat.clone()))
            .into_iter()
            .filter_map(|i| rules[i].id.clone())
            .collect();
        let theirs: BTreeSet<String> = orc
            .engine
            .evaluate(&rsigma_eval::JsonEvent::borrow(&ev.flat))
            .into_iter()
            .filter_map(|r| r.header.rule_id)
            .filter(|id| both.contains(id))
            .collect();
        *agreed.entry(ev.source).or_default() += mine.intersection(&theirs).count();
        for (id, side) in mine
            .difference(&theirs)
            .map(|id| (id, Side::OursOnly))
            .chain(theirs.difference(&mine).map(|id| (id, Side::RsigmaOnly)))
        {
            found.insert((id.clone(), ev.label.clone(), side));
            *found_by_source.entry(ev.source).or_default() += 1;
        }
    }

    println!(
        "rules: {} compared (pa-sigma runs {}, rsigma {}; {placeholder_only} placeholder rules \
         only rsigma runs)",
        both.len(),
        ours_ids.len(),
        orc.ids.len()
    );
    for (source, n) in &count {
        println!(
            "{source:?}: {n} events, {} hits agreed, {} disagreements",
            agreed.get(source).copied().unwrap_or_default(),
            found_by_source.get(source).copied().unwrap_or_default()
        );
    }
    let mut by_cause: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut known: Found = BTreeSet::new();
    for (id, side, cause, labels) in KNOWN {
        let e = by_cause.entry(cause).or_default();
        e.0 += 1;
        e.1 += labels.len();
        for l in *labels {
            assert!(
                known.insert(((*id).to_owned(), (*l).to_owned(), *side)),
                "{id} {l} listed twice"
            );
        }
    }
    for (cause, (r, n)) in &by_cause {
        println!("  {cause}: {r} rules, {n} (rule, event) pairs");
    }
    println!("{:.1?} in all", t0.elapsed());

    let unlisted: Found = found.difference(&known).cloned().collect();
    let gone: Found = known.difference(&found).cloned().collect();
    if !unlisted.is_empty() {
        report(&unlisted, &rules, &orc, &events);
    }
    assert!(
        unlisted.is_empty() && gone.is_empty(),
        "{} unlisted disagreements (printed above, grouped by rule); listed but no longer seen: \
         {gone:#?}",
        unlisted.len()
    );
}

/// Print unlisted disagreements grouped by rule, and with `PA_SIGMA_DIFF_EXPLAIN` set both
/// implementations' explanation of each.
fn report(unlisted: &Found, rules: &[pa_sigma::CompiledRule], orc: &Oracle, events: &[Ev]) {
    let by_label: BTreeMap<&str, &Value> =
        events.iter().map(|e| (e.label.as_str(), &e.flat)).collect();
    let mut grouped: BTreeMap<(&str, Side), Vec<&str>> = BTreeMap::new();
    for (id, label, side) in unlisted {
        grouped
            .entry((id.as_str(), *side))
            .or_default()
            .push(label.as_str());
    }
    let explain_all = std::env::var_os("PA_SIGMA_DIFF_EXPLAIN").is_some();
    for ((id, side), labels) in &grouped {
        let ours = rules.iter().find(|r| r.id.as_deref() == Some(*id));
        let file = ours.map_or_else(String::new, |r| r.file.display().to_string());
        println!("    (\"{id}\", Side::{side:?}, CAUSE, &{labels:?}), // {file}");
        if !explain_all {
            continue;
        }
        let theirs = orc
            .engine
            .rules()
            .iter()
            .find(|t| t.id.as_deref() == Some(*id));
        for l in labels {
            let ev = by_label.get(l).copied().cloned().unwrap_or_default();
            println!("      event {l} {ev}");
            if let Some(r) = ours {
                let why = explain(r, &JsonEvent::new(ev.clone()));
                println!(
                    "      pa-sigma {}",
                    serde_json::to_string(&why).unwrap_or_default()
                );
            }
            if let Some(t) = theirs {
                let why = rsigma_eval::explain_rule(t, &rsigma_eval::JsonEvent::borrow(&ev));
                println!(
                    "      rsigma {}",
                    serde_json::to_string(&why).unwrap_or_default()
                );
            }
        }
    }
}
