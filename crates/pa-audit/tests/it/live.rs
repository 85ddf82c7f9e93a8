//! A live round trip against this machine's auditd: install a plan, run a process tagged with
//! an audit login uid, find its EXECVE in the log window, remove the rules. Skipped (with a
//! message) unless root with auditctl and a running auditd; `PA_REQUIRE_LIVE=1` makes
//! a missing precondition a failure.

use std::sync::Mutex;
use std::time::Duration;

use pa_audit::{
    Adjustment, Arch, AuditError, AuditHost, AuditSession, LocalHost, PlannedRule, RulePlan,
    RuleSpec, Syscall, WatchKind, find_execve_arg, list_rules, parse_stamp, read_window,
    ready_status, remove, rules_with_key,
};

/// Live tests share the host's audit configuration: one at a time.
static LIVE: Mutex<()> = Mutex::new(());

/// Not the runner's default (4242): other tests on this machine may use that.
const AUID: u32 = 4243;
const LOG: &str = "/var/log/audit/audit.log";

/// Whether the live test can run here; panics when it cannot but `PA_REQUIRE_LIVE=1`.
fn live_or_skip(test: &str) -> bool {
    let problem = match ready_status(&LocalHost) {
        Err(e) => Some(e.to_string()),
        Ok(_) if !std::path::Path::new(LOG).exists() => Some(format!("no audit log at {LOG}")),
        Ok(_) => None,
    };
    match problem {
        None => true,
        Some(p) => skip(test, &p),
    }
}

/// Skips a live test for `problem` (false), or panics when `PA_REQUIRE_LIVE=1`.
fn skip(test: &str, problem: &str) -> bool {
    if std::env::var("PA_REQUIRE_LIVE").is_ok_and(|v| v == "1") {
        panic!("PA_REQUIRE_LIVE=1 but live audit is not possible: {problem}");
    }
    eprintln!(
        "skipped {test}: needs root, auditctl, a running auditd and a settable \
         /proc/self/loginuid ({problem}); set PA_REQUIRE_LIVE=1 to make this a failure"
    );
    false
}

/// Milliseconds since the epoch.
fn now_ms() -> i64 {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    i64::try_from(d.as_millis()).unwrap()
}

/// A key no other test process uses: `pa-it-<pid>-<8 hex>`.
fn unique_key(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("pa-{tag}-{}-{nanos:08x}", std::process::id())
}

fn argv(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

#[test]
fn live_install_tagged_exec_window_and_remove() {
    let _guard = LIVE.lock().unwrap_or_else(|p| p.into_inner());
    if !live_or_skip("live_install_tagged_exec_window_and_remove") {
        return;
    }
    let host = LocalHost;
    let key = unique_key("it");
    let plan = RulePlan::new(&key, AUID).unwrap();
    let session = AuditSession::install(&host, &plan).unwrap();
    let inst = session.report().clone();
    for a in &inst.adjustments {
        eprintln!(
            "adjusted on this host: {} -> {:?} ({})",
            a.planned, a.adjustment, a.auditctl_said
        );
    }
    let loaded = list_rules(&host).unwrap();
    assert_eq!(
        rules_with_key(&loaded, &key).len(),
        inst.rules_installed.len()
    );
    // The exec rules are what the canary needs: installed as planned.
    let exec: Vec<String> = plan.argvs()[..2].iter().map(|a| a[1..].join(" ")).collect();
    for rule in &exec {
        assert!(inst.rules_installed.contains(rule), "{rule} not installed");
    }

    // Audit stamps come from the kernel's coarse clock at syscall entry: pad the window.
    let start_ms = now_ms() - 1000;
    let token = format!("pa-canary-{key}");
    let script = format!("echo {AUID} > /proc/self/loginuid || exit 97; exec /bin/echo {token}");
    let out = host.run(&argv(&["/bin/sh", "-c", &script])).unwrap();
    if out.code == Some(97) {
        // loginuid already set and immutable (`loginuid_immutable 1 locked`), or no
        // CAP_AUDIT_CONTROL: the session guard removes the rules.
        skip(
            "live_install_tagged_exec_window_and_remove",
            &format!("cannot write /proc/self/loginuid: {}", out.message()),
        );
        return;
    }
    assert_eq!(
        out.code,
        Some(0),
        "tagged process failed: {}",
        out.message()
    );
    assert_eq!(out.stdout.trim(), token);

    // auditd writes asynchronously: poll the log for the record.
    let mut found = None;
    let mut last = None;
    for _ in 0..100 {
        let end_ms = now_ms() + 1000;
        let slice = read_window(&host, LOG, start_ms, end_ms).unwrap();
        if let Some(t) = find_execve_arg(&slice.text, &token) {
            found = Some((t, slice));
            break;
        }
        last = Some(slice);
        std::thread::sleep(Duration::from_millis(100));
    }
    let Some((t, slice)) = found else {
        panic!(
            "the canary {token} did not reach {LOG}; last window: {:?}",
            last.map(|s| (s.records_kept, s.lines_outside_window, s.files))
        );
    };
    assert!(
        t >= start_ms,
        "canary stamp {t} before the window start {start_ms}"
    );
    assert_eq!(
        slice.lines_unparseable, 0,
        "{:?}",
        slice.unparseable_samples
    );
    // The event's SYSCALL record carries the tagged auid and the run's key.
    let syscall = slice
        .text
        .lines()
        .filter(|l| l.starts_with("type=SYSCALL "))
        .find(|l| parse_stamp(l).map(|s| s.ms()) == Some(t) && l.contains("syscall=59"))
        .unwrap_or_else(|| panic!("no execve SYSCALL record at {t}"));
    assert!(syscall.contains(&format!(" auid={AUID} ")), "{syscall}");
    assert!(syscall.contains(&format!("key=\"{key}\"")), "{syscall}");

    let report = session.remove().unwrap();
    assert_eq!(report.rules_removed, inst.rules_installed.len());
    assert!(report.lost_after >= report.lost_before);
    eprintln!(
        "live audit: {} rules, lost {} -> {}, backlog {} / {} / {}",
        report.rules_installed.len(),
        report.lost_before,
        report.lost_after,
        report.backlog_limit_before,
        report.backlog_limit_during,
        report.backlog_limit_after
    );
    assert!(rules_with_key(&list_rules(&host).unwrap(), &key).is_empty());
    let raw = host.run(&argv(&["auditctl", "-l"])).unwrap();
    assert!(!raw.stdout.contains(&key), "{}", raw.stdout);
    // Removing again is a no-op.
    assert_eq!(remove(&host, &key, None).unwrap().rules_removed, 0);
}

#[test]
fn live_adaptation_and_rollback_with_the_real_auditctl() {
    let _guard = LIVE.lock().unwrap_or_else(|p| p.into_inner());
    if !live_or_skip("live_adaptation_and_rollback_with_the_real_auditctl") {
        return;
    }
    let host = LocalHost;
    let key = unique_key("rb");
    let sys = |names: &[&str], filters: &[&str]| PlannedRule {
        purpose: "t".into(),
        spec: RuleSpec::Syscalls {
            arch: Arch::B64,
            syscalls: names
                .iter()
                .map(|n| Syscall {
                    name: (*n).into(),
                    number: None,
                })
                .collect(),
            filters: filters.iter().map(|f| (*f).into()).collect(),
        },
    };
    let watch = |path: &str| PlannedRule {
        purpose: "t".into(),
        spec: RuleSpec::Watch {
            path: path.into(),
            kind: WatchKind::Dir,
            perm: "wa".into(),
        },
    };
    // Unknown syscall names and a missing directory are adapted and reported.
    let plan = RulePlan::with_rules(
        &key,
        AUID,
        vec![
            sys(&["execve", "pa_no_such_syscall"], &[]),
            sys(&["pa_no_such_syscall"], &[]),
            watch("/pa-audit-no-such-dir/sub"),
        ],
    )
    .unwrap();
    let session = AuditSession::install(&host, &plan).unwrap();
    let inst = session.report().clone();
    assert_eq!(
        inst.rules_installed,
        [format!(
            "-a always,exit -F arch=b64 -S execve -F auid={AUID} -k {key}"
        )]
    );
    let changes: Vec<&Adjustment> = inst.adjustments.iter().map(|a| &a.adjustment).collect();
    assert_eq!(
        changes,
        [
            &Adjustment::SyscallDropped {
                syscall: "pa_no_such_syscall".into()
            },
            &Adjustment::SyscallDropped {
                syscall: "pa_no_such_syscall".into()
            },
            &Adjustment::RuleDropped,
            &Adjustment::DirWatchedAsPath {
                path: "/pa-audit-no-such-dir/sub".into()
            },
            &Adjustment::RuleDropped,
        ]
    );
    drop(session); // the guard removes the rules
    assert!(rules_with_key(&list_rules(&host).unwrap(), &key).is_empty());

    // Any other rejection rolls back what was added and names the rule.
    let plan = RulePlan::with_rules(
        &key,
        AUID,
        vec![
            sys(&["execve"], &[]),
            sys(&["openat"], &["pa_bogus_field=1"]),
        ],
    )
    .unwrap();
    let e = pa_audit::install(&host, &plan).unwrap_err();
    let AuditError::RuleAdd {
        rule,
        stderr,
        rollback,
        ..
    } = &e
    else {
        panic!("{e:?}")
    };
    assert!(rule.contains("pa_bogus_field=1"), "{rule}");
    assert!(stderr.contains("pa_bogus_field"), "{stderr}");
    assert_eq!(rollback, "the 1 rule(s) added before were removed");
    assert!(rules_with_key(&list_rules(&host).unwrap(), &key).is_empty());
}
