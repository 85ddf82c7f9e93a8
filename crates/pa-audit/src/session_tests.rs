//! Install/remove against the fake auditctl of `testhost`.

use super::*;
use crate::plan::{Arch, Syscall, WATCHES};
use crate::testhost::{FakeHost, FakeState};

const KEY: &str = "pa-0123abcd";

fn plan() -> RulePlan {
    RulePlan::new(KEY, 4243).unwrap()
}

#[test]
fn installs_every_rule_and_removes_exactly_them() {
    let host = FakeHost::with(|s| {
        s.rules
            .push("-w /etc/passwd -p wa -k someone-elses".to_owned());
        s.lost = 3;
    });
    let inst = install(&host, &plan()).unwrap();
    assert_eq!(inst.rules_installed.len(), plan().rules().len());
    assert!(inst.adjustments.is_empty(), "{:?}", inst.adjustments);
    assert_eq!(inst.lost_before, 3);
    assert_eq!(inst.backlog_limit_set, None);
    assert_eq!(host.rules().len(), 1 + plan().rules().len());
    let planned: Vec<String> = plan().argvs().iter().map(|a| a[1..].join(" ")).collect();
    assert_eq!(inst.rules_installed, planned);

    host.state.borrow_mut().lost = 5;
    let rem = remove(&host, KEY, inst.backlog_restore()).unwrap();
    assert_eq!(rem.rules_removed, plan().rules().len());
    assert_eq!(host.rules(), vec!["-w /etc/passwd -p wa -k someone-elses"]);
    let report = AuditReport::new(&inst, &rem);
    assert_eq!(
        (report.lost_before, report.lost_after, report.lost_during),
        (3, 5, 2)
    );
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["rules_removed"], plan().rules().len());

    // Idempotent: nothing left to remove is fine, and runs no delete.
    let before = host.log().len();
    let again = remove(&host, KEY, None).unwrap();
    assert_eq!(again.rules_removed, 0);
    assert!(host.log()[before..].iter().all(|c| !c.contains("-D")));
}

#[test]
fn raises_a_low_backlog_and_puts_it_back() {
    let host = FakeHost::with(|s| s.backlog_limit = 320);
    let inst = install(&host, &plan()).unwrap();
    assert_eq!(inst.backlog_limit_before, 320);
    assert_eq!(inst.backlog_limit_set, Some(MIN_BACKLOG_LIMIT));
    assert_eq!(host.state.borrow().backlog_limit, MIN_BACKLOG_LIMIT);
    let rem = remove(&host, KEY, inst.backlog_restore()).unwrap();
    assert_eq!(rem.backlog_limit_after, 320);
    assert_eq!(rem.backlog_note, None);
    assert_eq!(host.state.borrow().backlog_limit, 320);
    let report = AuditReport::new(&inst, &rem);
    assert_eq!(
        (
            report.backlog_limit_before,
            report.backlog_limit_during,
            report.backlog_limit_after
        ),
        (320, MIN_BACKLOG_LIMIT, 320)
    );
}

#[test]
fn a_backlog_changed_by_someone_else_is_left_alone() {
    let host = FakeHost::with(|s| s.backlog_limit = 320);
    let inst = install(&host, &plan()).unwrap();
    host.state.borrow_mut().backlog_limit = 65536;
    let rem = remove(&host, KEY, inst.backlog_restore()).unwrap();
    assert_eq!(rem.backlog_limit_after, 65536);
    assert!(rem.backlog_note.unwrap().contains("changed since"));
}

#[test]
fn unknown_syscalls_are_numbered_or_dropped_and_reported() {
    // An arm64-like auditctl: no legacy syscalls, no clone3 name.
    let host = FakeHost::with(|s| {
        for gone in ["open", "creat", "mkdir", "fork", "vfork", "clone3"] {
            s.known_syscalls.remove(gone);
        }
    });
    let inst = install(&host, &plan()).unwrap();
    let changes: Vec<&Adjustment> = inst.adjustments.iter().map(|a| &a.adjustment).collect();
    assert!(changes.contains(&&Adjustment::SyscallDropped {
        syscall: "open".into()
    }));
    // The `open` rule had no other syscall: dropped.
    assert!(changes.contains(&&Adjustment::RuleDropped));
    assert!(changes.contains(&&Adjustment::SyscallByNumber {
        syscall: "clone3".into(),
        number: 435
    }));
    assert!(
        inst.rules_installed.contains(&format!(
            "-a always,exit -F arch=b64 -S clone,435 -F auid=4243 -k {KEY}"
        )),
        "{:?}",
        inst.rules_installed
    );
    assert!(inst.rules_installed.contains(&format!(
        "-a always,exit -F arch=b64 -S mkdirat,link,linkat,symlink,symlinkat -F auid=4243 -k {KEY}"
    )));
    assert_eq!(inst.rules_installed.len(), plan().rules().len() - 1);
    let dropped = inst
        .adjustments
        .iter()
        .find(|a| a.adjustment == Adjustment::RuleDropped)
        .unwrap();
    assert!(dropped.planned.contains("-S open -F a1&0x40"));
    assert_eq!(dropped.auditctl_said, "Syscall name unknown: open");
    remove(&host, KEY, None).unwrap();
    assert!(host.rules().is_empty());
}

#[test]
fn missing_directories_are_watched_as_paths_or_dropped() {
    let host = FakeHost::with(|s| {
        s.missing.insert("/etc/sudoers.d".into());
        s.missing.insert("/var/spool/cron".into());
        s.missing.insert("/var/spool".into());
    });
    let inst = install(&host, &plan()).unwrap();
    assert!(inst.rules_installed.contains(&format!(
        "-a always,exit -F path=/etc/sudoers.d -F perm=wa -F auid=4243 -k {KEY}"
    )));
    let spool: Vec<&Adjustment> = inst
        .adjustments
        .iter()
        .filter(|a| a.planned.contains("/var/spool/cron"))
        .map(|a| &a.adjustment)
        .collect();
    assert_eq!(
        spool,
        vec![
            &Adjustment::DirWatchedAsPath {
                path: "/var/spool/cron".into()
            },
            &Adjustment::RuleDropped
        ]
    );
    assert_eq!(inst.rules_installed.len(), 9 + WATCHES.len() - 1);
}

#[test]
fn any_other_failure_rolls_back_and_names_the_rule() {
    let host = FakeHost::with(|s| {
        s.backlog_limit = 100;
        s.reject = Some("-S connect".into());
    });
    let e = install(&host, &plan()).unwrap_err();
    let AuditError::RuleAdd {
        rule,
        stderr,
        rollback,
        ..
    } = &e
    else {
        panic!("{e:?}")
    };
    assert_eq!(
        rule,
        &format!("-a always,exit -F arch=b64 -S connect -F auid=4243 -k {KEY}")
    );
    assert_eq!(
        stderr,
        "Error sending add rule data request (Invalid argument)"
    );
    assert_eq!(rollback, "the 7 rule(s) added before were removed");
    assert!(e.to_string().contains("-S connect"), "{e}");
    assert!(host.rules().is_empty());
    assert_eq!(host.state.borrow().backlog_limit, 100);
}

#[test]
fn refuses_when_the_key_is_already_loaded() {
    let host = FakeHost::new();
    install(&host, &plan()).unwrap();
    let e = install(&host, &plan()).unwrap_err();
    assert!(matches!(&e, AuditError::KeyInUse { count, .. } if *count == plan().rules().len()));
    assert!(e.to_string().contains("auditctl -D -k pa-0123abcd"), "{e}");
}

#[test]
fn status_problems_stop_the_install_before_any_change() {
    type Setup = fn(&mut FakeState);
    let cases: [(Setup, &str); 5] = [
        (
            |s| s.pid = 0,
            "auditd is not running on fake host: start it (auditd, or systemctl start auditd)",
        ),
        (|s| s.enabled = 0, "enable it with auditctl -e 1"),
        (|s| s.enabled = 2, "locked"),
        (|s| s.not_root = true, "must run as root"),
        (
            |s| s.no_auditctl = true,
            "auditctl not found on fake host: install auditd (apt-get install auditd)",
        ),
    ];
    for (setup, want) in cases {
        let host = FakeHost::with(setup);
        let e = install(&host, &plan()).unwrap_err().to_string();
        assert!(e.contains(want), "{e}");
        assert!(host.rules().is_empty());
        assert!(host.log().iter().all(|c| !c.contains(" -a ")));
    }
}

#[test]
fn remaining_rules_after_removal_are_an_error() {
    let host = FakeHost::new();
    install(&host, &plan()).unwrap();
    host.state.borrow_mut().delete_is_noop = true;
    let e = remove(&host, KEY, None).unwrap_err();
    assert!(
        matches!(&e, AuditError::RulesRemain { remaining, .. } if remaining.len() == plan().rules().len()),
        "{e:?}"
    );
}

#[test]
fn the_session_guard_removes_on_drop() {
    let host = FakeHost::with(|s| s.backlog_limit = 1024);
    {
        let session = AuditSession::install(&host, &plan()).unwrap();
        assert_eq!(session.key(), KEY);
        assert!(!host.rules().is_empty());
    }
    assert!(host.rules().is_empty());
    assert_eq!(host.state.borrow().backlog_limit, 1024);

    let session = AuditSession::install(&host, &plan()).unwrap();
    let report = session.remove().unwrap();
    assert_eq!(report.rules_removed, plan().rules().len());
    assert!(host.rules().is_empty());
}

#[test]
fn a_numbered_syscall_the_kernel_rejects_is_not_retried_forever() {
    let rules = vec![crate::plan::PlannedRule {
        purpose: "t".into(),
        spec: RuleSpec::Syscalls {
            arch: Arch::B64,
            syscalls: vec![Syscall {
                name: "newcall".into(),
                number: Some(999),
            }],
            filters: vec![],
        },
    }];
    let host = FakeHost::with(|s| s.reject = Some("999".into()));
    let p = RulePlan::with_rules(KEY, 4243, rules).unwrap();
    let e = install(&host, &p).unwrap_err();
    assert!(
        matches!(&e, AuditError::RuleAdd { rule, .. } if rule.contains("-S 999")),
        "{e}"
    );
}
