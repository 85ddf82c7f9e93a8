//! Differential test of the whole detection path against rsigma (issue 13, "Done when").
//!
//! Every record of EVTX-ATTACK-SAMPLES (all files) is read with the project's EVTX reader
//! (`pa-sources`) and goes two ways:
//!
//! - **ours**: the shipped normalizer profiles (`pa-ocsf`) → an OCSF 1.7.0 event (a specific
//!   class or the Base Event) → the SigmaHQ Windows rules through the bridge
//!   (`mappings/bridge`) with `pa-detection`'s detector in OCSF mode;
//! - **rsigma** (`rsigma-parser`/`rsigma-eval` 0.23, an independent engine): the same record
//!   flattened here ([`flatten`]: the `System` members and the `EventData`/`UserData` members at
//!   the top level, keys without spaces) and the same rule files. rsigma evaluates every rule
//!   on every event; its hits are kept where the record is inside the rule's logsource as the
//!   Sigma taxonomy appendix defines it (channel, and event ids where the appendix pins them;
//!   parsed from `sigma-appendix-taxonomy.md` by [`taxonomy`]).
//!
//! The (rule id, record) pairs of both sides are compared over the rules both can run. Every
//! pair only one side reports must be listed in `rsigma_diff_expected.tsv` (rule id, record,
//! side, reason category of [`REASONS`]); the test fails on an unlisted difference, on a listed
//! one that no longer occurs, and on any difference whose record was not normalized to an event.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use pa_bridge::Bridge;
use pa_detection::detector::{Detector, FieldMode};
use pa_ocsf::{EventContext, Normalized, Normalizer};
use pa_sources::SourceRecord;
use serde_json::{Map, Value};

/// The reason categories of the expectation file, with what each means.
const REASONS: &[(&str, &str)] = &[
    (
        "scope_process_creation_4688",
        "the bridge routes process_creation (and process_termination) rules to Security \
         4688/4689 too (Process Activity), while the taxonomy defines them as Sysmon 1/5 only: \
         we fire on the Security record, rsigma's taxonomy scope does not include it",
    ),
    (
        "rsigma_keywords_all",
        "rsigma 0.23 never fires a `'|all':` keyword list (pa-sigma's differential test, \
         KEYWORDS_ALL, quotes the specification)",
    ),
    (
        "rsigma_windash_slash",
        "rsigma 0.23 does not permute `/` for `windash` (pa-sigma's differential test, \
         WINDASH_SLASH)",
    ),
    (
        "rsigma_endswith_wildcard",
        "rsigma 0.23 anchors an `endswith` value holding a wildcard at the start \
         (pa-sigma's differential test, ENDSWITH_WILDCARD)",
    ),
    (
        "rsigma_base64offset_tail",
        "rsigma 0.23 keeps the neighbour-dependent last character of `base64offset` variants \
         (pa-sigma's differential test, BASE64OFFSET_TAIL)",
    ),
    (
        "scope_file_access_object_access",
        "the bridge routes file_access rules (Microsoft-Windows-Kernel-File ETW in the \
         taxonomy, a source the project does not read) to File System Activity, which holds \
         the Security object-access events 4656/4663: the rule's FileName reads the accessed \
         object's path there, while rsigma finds no FileName member in the raw record",
    ),
];

/// Which side reports a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Side {
    /// pa-detection reports it, rsigma does not.
    Ours,
    /// rsigma reports it, pa-detection does not.
    Rsigma,
}

impl Side {
    fn as_str(self) -> &'static str {
        match self {
            Side::Ours => "ours_only",
            Side::Rsigma => "rsigma_only",
        }
    }
    fn parse(s: &str) -> Option<Side> {
        match s {
            "ours_only" => Some(Side::Ours),
            "rsigma_only" => Some(Side::Rsigma),
            _ => None,
        }
    }
}

/// One record of the corpus, both ways.
struct Record {
    /// `<file relative to EVTX-ATTACK-SAMPLES>#<EventRecordID>`.
    id: String,
    channel: String,
    event_id: String,
    /// Flattened for rsigma.
    flat: Value,
    /// The normalizer's answer: an event, or why not.
    normalized: Result<Value, String>,
}

/// Where the Sigma taxonomy appendix puts a Windows logsource: its channels (lowercase) and
/// event ids (empty: any).
#[derive(Debug, Default, Clone)]
struct Scope {
    channels: BTreeSet<String>,
    event_ids: BTreeSet<String>,
}

/// The Windows category and service tables of the taxonomy appendix:
/// `("category" | "service", name)` → scope. Rows without a channel (ETW providers) are left
/// out: no record of the corpus is in them.
fn taxonomy(data: &Path) -> BTreeMap<(String, String), Scope> {
    let path = data.join("sigma-specification/specification/sigma-appendix-taxonomy.md");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = BTreeMap::new();
    let mut in_windows = false;
    for line in text.lines() {
        if line.starts_with("### ") {
            in_windows = line.trim() == "### Windows Folder";
            continue;
        }
        if !in_windows || !line.starts_with("| windows") {
            continue;
        }
        let cols: Vec<&str> = line.split('|').map(str::trim).collect();
        let (Some(ls), Some(desc)) = (cols.get(2), cols.get(3)) else {
            continue;
        };
        let Some(key) = ls.split("<br>").find_map(|p| {
            let (k, v) = p.split_once(':')?;
            let k = k.trim();
            (k == "category" || k == "service").then(|| (k.to_string(), v.trim().to_string()))
        }) else {
            continue;
        };
        let mut scope = Scope::default();
        let mut current = "";
        for part in desc.split("<br>") {
            let part = part.trim();
            let (k, v) = match part.split_once(':') {
                Some((k, v)) if !part.starts_with('-') => (k.trim(), v.trim()),
                _ => (current, part.trim_start_matches('-').trim()),
            };
            current = match k {
                "EventID" | "EventIDs" => "EventID",
                "Channel" => "Channel",
                _ => "",
            };
            if v.is_empty() {
                continue;
            }
            match current {
                "EventID" => {
                    scope.event_ids.insert(v.to_string());
                }
                "Channel" => {
                    scope.channels.insert(v.to_lowercase());
                }
                _ => {}
            }
        }
        if !scope.channels.is_empty() {
            out.insert(key, scope);
        }
    }
    out
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A record as a flat Sigma event: the members of `EventData` and of each `UserData` element
/// (first the record's own payload, as Windows tools show it), then the scalar `System`
/// members, `Provider_Name`, and `System` attributes as `<Element>_<Attribute>`; every key with
/// its spaces removed (the Windows convention SigmaHQ names fields by). A name met twice keeps
/// its first value.
fn flatten(rec: &SourceRecord) -> Value {
    let mut out = Map::new();
    let mut put = |k: &str, v: &Value| {
        let k: String = k.chars().filter(|c| *c != ' ').collect();
        if !k.is_empty() && !out.contains_key(&k) {
            out.insert(k, v.clone());
        }
    };
    let f = &rec.fields;
    if let Some(Value::Object(data)) = f.get("EventData") {
        for (k, v) in data {
            put(k, v);
        }
    }
    if let Some(Value::Object(user)) = f.get("UserData") {
        for elem in user.values() {
            match elem {
                Value::Object(members) => {
                    for (k, v) in members {
                        put(k, v);
                    }
                }
                other => put("UserData", other),
            }
        }
    }
    if let Some(Value::Object(sys)) = f.get("System") {
        for (k, v) in sys {
            match v {
                Value::Object(attrs) => {
                    for (a, av) in attrs {
                        put(&format!("{k}_{a}"), av);
                    }
                }
                other => put(k, other),
            }
        }
    }
    Value::Object(out)
}

fn records(data: &Path) -> Vec<Record> {
    let root = data.join("evtx/EVTX-ATTACK-SAMPLES");
    let files = pa_e2e::evtx_files(&root);
    assert!(files.len() > 200, "only {} EVTX files", files.len());
    let normalizer = Normalizer::load(&pa_e2e::repo_root().join("mappings/normalizer/ocsf/1.7.0"))
        .unwrap_or_else(|e| panic!("{e}"));
    let ctx = EventContext {
        run_id: "0f1e2d3c-0000-4000-8000-000000000013",
        scenario_id: "rsigma-diff",
        raw_ref: None,
        normalizer_version: "0.1.0-test",
        collector_version: None,
        host: None,
    };
    let mut out = Vec::new();
    let mut ids = BTreeSet::new();
    for f in &files {
        let rel = f
            .strip_prefix(&root)
            .unwrap_or(f)
            .to_string_lossy()
            .replace('\t', " ");
        let reader = pa_sources::open_auto(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        for rec in reader {
            let rec = rec.unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            let sys = |k: &str| {
                rec.fields
                    .pointer(&format!("/System/{k}"))
                    .and_then(scalar_text)
                    .unwrap_or_default()
            };
            let mut id = format!(
                "{rel}#{}",
                rec.provenance.record_id.map_or_else(
                    || format!("ordinal{}", rec.provenance.ordinal),
                    |r| r.to_string()
                )
            );
            if !ids.insert(id.clone()) {
                id = format!("{rel}#ordinal{}", rec.provenance.ordinal);
                assert!(ids.insert(id.clone()), "{id}: two records");
            }
            let normalized = match normalizer.normalize(&rec, &ctx) {
                Normalized::Mapped(ev) | Normalized::Fallback { event: ev, .. } => Ok(ev),
                other => Err(format!("{other:?}")),
            };
            out.push(Record {
                id,
                channel: sys("Channel"),
                event_id: sys("EventID"),
                flat: flatten(&rec),
                normalized,
            });
        }
    }
    out
}

/// rsigma's side: the engine over every rule file (first occurrence of an id), and the
/// logsource of each rule id.
struct Oracle {
    engine: rsigma_eval::Engine,
    logsource: BTreeMap<String, (Option<String>, Option<String>)>,
}

fn oracle(rules_dir: &Path) -> Oracle {
    let mut paths = Vec::new();
    let mut stack = vec![rules_dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let p = e.unwrap_or_else(|e| panic!("{e}")).path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "yml" || x == "yaml") {
                paths.push(p);
            }
        }
    }
    paths.sort();
    let mut rules = Vec::new();
    let mut seen = BTreeSet::new();
    for p in &paths {
        let text = std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        let c = rsigma_parser::parse_sigma_yaml(&text)
            .unwrap_or_else(|e| panic!("rsigma cannot parse {}: {e}", p.display()));
        for r in c.rules {
            if r.id.as_deref().is_some_and(|id| seen.insert(id.to_owned())) {
                rules.push(r);
            }
        }
    }
    let logsource = rules
        .iter()
        .filter_map(|r| {
            Some((
                r.id.clone()?,
                (
                    r.logsource.category.as_deref().map(str::to_lowercase),
                    r.logsource.service.as_deref().map(str::to_lowercase),
                ),
            ))
        })
        .collect();
    let mut engine = rsigma_eval::Engine::new();
    let errors = engine.add_rules(rules.iter());
    for (i, e) in &errors {
        println!("rsigma refuses {:?}: {e}", rules[*i].id);
    }
    Oracle { engine, logsource }
}

/// Whether a record is inside a rule's logsource, by the taxonomy. A logsource the taxonomy
/// does not name has no scope (every record).
fn in_scope(
    tax: &BTreeMap<(String, String), Scope>,
    ls: &(Option<String>, Option<String>),
    rec: &Record,
) -> bool {
    let key = match ls {
        (Some(c), _) => ("category".to_string(), c.clone()),
        (None, Some(s)) => ("service".to_string(), s.clone()),
        (None, None) => return true,
    };
    let Some(scope) = tax.get(&key) else {
        return true;
    };
    scope.channels.contains(&rec.channel.to_lowercase())
        && (scope.event_ids.is_empty() || scope.event_ids.contains(&rec.event_id))
}

/// (rule id, record id, side) → reason.
type Expected = BTreeMap<(String, String, Side), String>;

fn expected(path: &Path) -> Expected {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let reasons: BTreeSet<&str> = REASONS.iter().map(|(r, _)| *r).collect();
    let mut out = Expected::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        let [rule, record, side, reason] = cols[..] else {
            panic!(
                "{}:{}: want 4 tab-separated columns (rule id, record, side, reason), got {}",
                path.display(),
                n + 1,
                cols.len()
            );
        };
        let side = Side::parse(side).unwrap_or_else(|| {
            panic!(
                "{}:{}: side {side:?} is neither ours_only nor rsigma_only",
                path.display(),
                n + 1
            )
        });
        assert!(
            reasons.contains(reason),
            "{}:{}: unknown reason category {reason:?} (known: {reasons:?})",
            path.display(),
            n + 1
        );
        let dup = out.insert(
            (rule.to_string(), record.to_string(), side),
            reason.to_string(),
        );
        assert!(dup.is_none(), "{}:{}: listed twice", path.display(), n + 1);
    }
    out
}

#[test]
fn detections_on_evtx_attack_samples_agree_with_rsigma_or_are_explained() {
    let data = pa_e2e::shared_data();
    let rules_dir = data.join("sigma/rules/windows");
    let tax = taxonomy(&data);
    for k in [("category", "process_creation"), ("service", "security")] {
        assert!(
            tax.contains_key(&(k.0.to_string(), k.1.to_string())),
            "taxonomy appendix: no scope for {k:?} ({} rows read)",
            tax.len()
        );
    }
    let recs = records(&data);
    assert!(recs.len() > 7000, "only {} records", recs.len());

    let bridge =
        Bridge::load(pa_e2e::repo_root().join("mappings/bridge")).unwrap_or_else(|e| panic!("{e}"));
    let set = pa_detection::load_rules(std::slice::from_ref(&rules_dir))
        .unwrap_or_else(|e| panic!("{e}"));
    let det = Detector::build(
        &set,
        Some(&bridge),
        FieldMode::Ocsf,
        &pa_sigma::CompileOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let ours_ids: BTreeSet<&str> = det
        .plans
        .iter()
        .filter(|p| p.non_executable.is_none())
        .map(|p| p.rule_id.as_str())
        .collect();
    let orc = oracle(&rules_dir);
    let theirs_ids: BTreeSet<&str> = orc
        .engine
        .rules()
        .iter()
        .filter_map(|r| r.id.as_deref())
        .collect();
    let both: BTreeSet<&str> = ours_ids.intersection(&theirs_ids).copied().collect();
    println!(
        "rules: {} compared (ours {}, rsigma {})",
        both.len(),
        ours_ids.len(),
        theirs_ids.len()
    );
    assert!(both.len() > 2300, "only {} rules compared", both.len());

    let mut ours: BTreeSet<(String, String)> = BTreeSet::new();
    let mut theirs: BTreeSet<(String, String)> = BTreeSet::new();
    let mut not_normalized = 0usize;
    for rec in &recs {
        if let Ok(ev) = &rec.normalized {
            for i in det.detect(ev) {
                let id = &det.rules[i].rule_id;
                if both.contains(id.as_str()) {
                    ours.insert((id.clone(), rec.id.clone()));
                }
            }
        } else {
            not_normalized += 1;
        }
        for r in orc
            .engine
            .evaluate(&rsigma_eval::JsonEvent::borrow(&rec.flat))
        {
            let Some(id) = r.header.rule_id else { continue };
            if !both.contains(id.as_str()) {
                continue;
            }
            let ls = orc.logsource.get(&id).cloned().unwrap_or_default();
            if in_scope(&tax, &ls, rec) {
                theirs.insert((id, rec.id.clone()));
            }
        }
    }
    let agreed = ours.intersection(&theirs).count();
    println!(
        "{} records ({not_normalized} not normalized); detections: ours {}, rsigma {}, both {agreed}",
        recs.len(),
        ours.len(),
        theirs.len()
    );
    // Not vacuous: both engines fire widely on this corpus, and mostly agree.
    assert!(agreed > 1100, "only {agreed} agreed detections");

    let by_id: BTreeMap<&str, &Record> = recs.iter().map(|r| (r.id.as_str(), r)).collect();
    let mut found: BTreeMap<(String, String, Side), ()> = BTreeMap::new();
    for (id, rec) in ours.difference(&theirs) {
        found.insert((id.clone(), rec.clone(), Side::Ours), ());
    }
    for (id, rec) in theirs.difference(&ours) {
        found.insert((id.clone(), rec.clone(), Side::Rsigma), ());
    }
    let exp_path = pa_e2e::repo_root().join("tests/e2e/rsigma_diff_expected.tsv");
    let exp = expected(&exp_path);
    let mut by_reason: BTreeMap<&str, usize> = BTreeMap::new();
    let mut unexplained = Vec::new();
    let mut unnormalized = Vec::new();
    for key in found.keys() {
        let rec = by_id[key.1.as_str()];
        if let Err(why) = &rec.normalized {
            unnormalized.push(format!("{}\t{}\t{}: {why}", key.0, key.1, key.2.as_str()));
        }
        match exp.get(key) {
            Some(r) => *by_reason.entry(r.as_str()).or_default() += 1,
            None => unexplained.push(format!(
                "{}\t{}\t{}\t?\t# {} {} class {}",
                key.0,
                key.1,
                key.2.as_str(),
                rec.channel,
                rec.event_id,
                rec.normalized
                    .as_ref()
                    .map_or(Value::Null, |e| e["class_uid"].clone())
            )),
        }
    }
    let stale: Vec<_> = exp.keys().filter(|k| !found.contains_key(*k)).collect();
    println!("differences: {} ({by_reason:?})", found.len());
    for u in &unexplained {
        println!("UNEXPLAINED\t{u}");
    }
    // PA_RSIGMA_DIFF_SHOW=1 with --nocapture: both events of every unexplained difference.
    if std::env::var_os("PA_RSIGMA_DIFF_SHOW").is_some() {
        for key in found.keys().filter(|k| !exp.contains_key(*k)) {
            let rec = by_id[key.1.as_str()];
            println!(
                "== {} {}\nflat: {}\nocsf: {:?}",
                key.0, key.1, rec.flat, rec.normalized
            );
        }
    }
    assert!(
        unnormalized.is_empty(),
        "differences on records the normalizer did not make an event of: {unnormalized:#?}"
    );
    assert!(
        unexplained.is_empty() && stale.is_empty(),
        "{} differences not in {} (printed above as UNEXPLAINED lines), listed but gone: \
         {stale:#?}",
        unexplained.len(),
        exp_path.display()
    );
}

/// Placeholder values (issue 13 item 4, docs/adr/0018): the normalizer's OCSF homes leave out
/// `-`, the NULL SID `S-1-0-0` and empty values, and SigmaHQ rules compare against them. On
/// real records carrying them, the verbatim copy is in `unmapped` and the rules behave as on
/// the raw record: one fires because of the placeholder, one is filtered out by it.
#[test]
fn rules_comparing_placeholders_behave_as_on_raw_records() {
    let data = pa_e2e::shared_data();
    let recs = records(&data);
    let rec = |id: &str| -> &Value {
        let r = recs
            .iter()
            .find(|r| r.id == id)
            .unwrap_or_else(|| panic!("{id}: no such record"));
        r.normalized
            .as_ref()
            .unwrap_or_else(|e| panic!("{id}: not normalized: {e}"))
    };
    let rules = data.join("sigma/rules/windows");
    let set = pa_detection::load_rules(&[
        rules.join("builtin/security/account_management/win_security_susp_rottenpotato.yml"),
        rules.join(
            "builtin/security/account_management/win_security_successful_external_remote_smb_login.yml",
        ),
        rules.join("create_remote_thread/create_remote_thread_win_susp_password_dumper_lsass.yml"),
    ])
    .unwrap_or_else(|e| panic!("{e}"));
    let bridge =
        Bridge::load(pa_e2e::repo_root().join("mappings/bridge")).unwrap_or_else(|e| panic!("{e}"));
    let det = Detector::build(
        &set,
        Some(&bridge),
        FieldMode::Ocsf,
        &pa_sigma::CompileOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(det.executable_count(), 3);
    let fired = |ev: &Value| -> BTreeSet<String> {
        det.detect(ev)
            .into_iter()
            .map(|i| det.rules[i].rule_id.clone())
            .collect()
    };
    let rotten = "16f5d8ca-44bd-47c8-acbe-6fc95a16c12f";
    let smb = "78d5cab4-557e-454f-9fb9-a222bd0d5edc";
    let lsass_thread = "f239b326-2f41-4d6b-9dfa-c846a60ef505";

    // RottenPotato: an anonymous network logon from localhost with WorkstationName '-'.
    let ev = rec("Privilege Escalation/4624 LT3 AnonymousLogon Localhost - JuicyPotato.evtx#2");
    assert_eq!(ev["unmapped"]["WorkstationName"], "-", "{ev}");
    assert!(ev.pointer("/src_endpoint/hostname").is_none(), "{ev}");
    assert!(fired(ev).contains(rotten), "{rotten} did not fire: {ev}");

    // External SMB logon: a network logon whose IpAddress is '-' is filtered out, as on the
    // raw record (the OCSF src_endpoint.ip is absent; the rule's `IpAddress: '-'` filter reads
    // the verbatim value).
    let ev = rec("Command and Control/DE_RDP_Tunneling_4624.evtx#11");
    assert_eq!(ev["unmapped"]["IpAddress"], "-", "{ev}");
    assert!(ev.pointer("/src_endpoint/ip").is_none(), "{ev}");
    assert!(
        !fired(ev).contains(smb),
        "{smb} fired on a '-' address: {ev}"
    );

    // Password dumper: a remote thread into lsass that starts outside any module
    // (StartModule '', which module.file.path leaves out).
    let ev = rec("Credential Access/CA_sysmon_hashdump_cmd_meterpreter.evtx#3");
    assert_eq!(ev["unmapped"]["StartModule"], "", "{ev}");
    assert!(
        fired(ev).contains(lsass_thread),
        "{lsass_thread} did not fire: {ev}"
    );

    // The NULL SID: kept verbatim where actor.user.uid leaves it out, on every such record.
    let null_sid = recs
        .iter()
        .filter_map(|r| r.normalized.as_ref().ok())
        .filter(|ev| ev["unmapped"]["SubjectUserSid"] == "S-1-0-0")
        .inspect(|ev| assert!(ev.pointer("/actor/user/uid").is_none(), "{ev}"))
        .count();
    assert!(
        null_sid > 10,
        "only {null_sid} events with the NULL SID kept"
    );
}
