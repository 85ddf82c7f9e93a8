//! Flatten EVTX files into the flat JSON lines other Sigma engines read, for the end-to-end
//! benchmark's rsigma leg (`cargo xtask bench e2e`): `evtx_flatten <dir-or-file>... > out.jsonl`.
//!
//! One line per record, in file order (files sorted): the scalar members of `System` at the
//! top level (`EventID`, `Channel`, `Computer`, …; `Provider` as `Provider_Name` and
//! `Provider_Guid`; the attributes of `TimeCreated`, `Execution`, `Security` and `Correlation`
//! under their own names), then every `EventData` member and every leaf of `UserData` at the
//! top level, keys with their spaces removed (the Windows convention SigmaHQ rules use). For
//! rsigma's `--logsource-routing` each line also carries `product: windows` and, for the
//! channels the Sigma taxonomy names, `service` (security, system, sysmon, powershell, …).
//! Records are read with the project's own EVTX reader (`pa-sources`), so both engines see
//! the same records.

use pa_sources::SourceFormat;
use serde_json::{Map, Value};
use std::io::Write;
use std::path::PathBuf;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() {
        eprintln!("usage: evtx_flatten <dir-or-file>... > out.jsonl");
        std::process::exit(2);
    }
    let mut files = Vec::new();
    for a in &args {
        let p = PathBuf::from(a);
        if p.is_dir() {
            files.extend(pa_e2e::evtx_files(&p));
        } else {
            files.push(p);
        }
    }
    files.sort();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 20, stdout.lock());
    let mut line = Vec::with_capacity(4096);
    let mut n = 0u64;
    for f in &files {
        let reader = match pa_sources::open(f, SourceFormat::Evtx) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("{}: {e}", f.display());
                continue;
            }
        };
        for rec in reader.flatten() {
            line.clear();
            serde_json::to_writer(&mut line, &flatten(&rec.fields)).expect("JSON");
            line.push(b'\n');
            out.write_all(&line).expect("write");
            n += 1;
        }
    }
    out.flush().expect("flush");
    eprintln!("evtx_flatten: {n} record(s) from {} file(s)", files.len());
}

fn key(k: &str) -> String {
    k.chars().filter(|c| *c != ' ').collect()
}

fn flatten(fields: &Value) -> Value {
    let mut m = Map::new();
    if let Some(sys) = fields.get("System").and_then(Value::as_object) {
        for (k, v) in sys {
            match v {
                Value::Object(inner) if k == "Provider" => {
                    for (ik, iv) in inner {
                        m.insert(format!("Provider_{ik}"), iv.clone());
                    }
                }
                Value::Object(inner) => {
                    for (ik, iv) in inner {
                        m.insert(key(ik), iv.clone());
                    }
                }
                _ => {
                    m.insert(key(k), v.clone());
                }
            }
        }
    }
    if let Some(data) = fields.get("EventData").and_then(Value::as_object) {
        for (k, v) in data {
            m.insert(key(k), v.clone());
        }
    }
    if let Some(user) = fields.get("UserData") {
        leaves(user, &mut m);
    }
    let channel = m
        .get("Channel")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_ascii_lowercase();
    let service = match channel.as_str() {
        "security" => Some("security"),
        "system" => Some("system"),
        "application" => Some("application"),
        "microsoft-windows-sysmon/operational" => Some("sysmon"),
        "windows powershell" => Some("powershell-classic"),
        "microsoft-windows-powershell/operational" => Some("powershell"),
        "microsoft-windows-taskscheduler/operational" => Some("taskscheduler"),
        "microsoft-windows-windows defender/operational" => Some("windefend"),
        "microsoft-windows-wmi-activity/operational" => Some("wmi"),
        "microsoft-windows-bits-client/operational" => Some("bits-client"),
        "microsoft-windows-dns-client/operational" => Some("dns-client"),
        "microsoft-windows-codeintegrity/operational" => Some("codeintegrity-operational"),
        "microsoft-windows-ntlm/operational" => Some("ntlm"),
        "microsoft-windows-terminalservices-localsessionmanager/operational" => {
            Some("terminalservices-localsessionmanager")
        }
        _ => None,
    };
    m.insert("product".into(), Value::String("windows".into()));
    if let Some(s) = service {
        m.insert("service".into(), Value::String(s.into()));
    }
    Value::Object(m)
}

fn leaves(v: &Value, m: &mut Map<String, Value>) {
    if let Value::Object(o) = v {
        for (k, v) in o {
            match v {
                Value::Object(_) => leaves(v, m),
                _ => {
                    m.insert(key(k), v.clone());
                }
            }
        }
    }
}
