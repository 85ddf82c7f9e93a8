//! Every record type auditd can write (the libaudit record table: `lib/msg_typetab.h` and
//! `audit-records.h`, kernel and user-space ranges) goes through pa-sources and the
//! linux-auditd profile into an OCSF class whose required members are all present: no record
//! fails (`missing_core_field` or any other reason), every event is valid OCSF 1.7.0, and each
//! type lands in the class the profile documents. Records are realistic lines in the auditd text
//! format, in the raw and the ENRICHED form (interpreted fields after the 0x1d separator), read
//! with a host (as the normalization stage always has one: the asset's) and without (stream
//! mode over a log without node=, where no record may fail either). A type outside the table is
//! counted as an unknown event type of the coverage document, the declared non-failure bucket.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};

use pa_ocsf::{Coverage, EventContext, Normalized};
use serde_json::Value;

/// Record types and the class their event is normalized to when the record is written on its
/// own (user-space messages always are; a kernel record alone is an event whose syscall was not
/// audited or whose SYSCALL record is missing). EOE is not listed: it ends an event and is
/// never a record of it. Syscall events are [`syscall_cases`].
const TABLE: &[(u32, &[&str])] = &[
    (
        3002,
        &[
            "USER_AUTH",
            "USER_ACCT",
            "USER_LOGIN",
            "USER_LOGOUT",
            "USER_START",
            "USER_END",
            "USER_ERR",
            "CRED_ACQ",
            "CRED_REFR",
            "CRED_DISP",
            "GRP_AUTH",
            "LOGIN",
        ],
    ),
    (
        3001,
        &[
            "ADD_USER",
            "DEL_USER",
            "USER_MGMT",
            "USER_CHAUTHTOK",
            "CHUSER_ID",
            "ACCT_LOCK",
            "ACCT_UNLOCK",
            "RESP_ACCT_LOCK",
            "RESP_ACCT_LOCK_TIMED",
            "RESP_ACCT_UNLOCK_TIMED",
        ],
    ),
    (
        3006,
        &[
            "ADD_GROUP",
            "DEL_GROUP",
            "GRP_MGMT",
            "GRP_CHAUTHTOK",
            "CHGRP_ID",
        ],
    ),
    (
        1008,
        &[
            "DAEMON_START",
            "DAEMON_END",
            "DAEMON_ABORT",
            "DAEMON_CONFIG",
            "DAEMON_RECONFIG",
            "DAEMON_ROTATE",
            "DAEMON_RESUME",
            "DAEMON_ACCEPT",
            "DAEMON_CLOSE",
            "DAEMON_ERR",
            "CONFIG_CHANGE",
            "FEATURE_CHANGE",
            "EVENT_LISTENER",
            "REPLACE",
        ],
    ),
    (6002, &["SERVICE_START", "SERVICE_STOP", "SOFTWARE_UPDATE"]),
    (4001, &["NETFILTER_PKT"]),
    (
        0,
        &[
            // user-space messages
            "USER",
            "USER_AVC",
            "USYS_CONFIG",
            "DAC_CHECK",
            "TEST",
            "TRUSTED_APP",
            "USER_SELINUX_ERR",
            "USER_CMD",
            "USER_TTY",
            "SYSTEM_BOOT",
            "SYSTEM_SHUTDOWN",
            "SYSTEM_RUNLEVEL",
            "MAC_CHECK",
            "USER_DEVICE",
            // kernel event records (auxiliary ones alone: an event whose SYSCALL is missing;
            // KERN_MODULE with its syscall is Kernel Extension Activity, see syscall_cases)
            "KERN_MODULE",
            "KERNEL",
            "SYSCALL",
            "PATH",
            "IPC",
            "SOCKETCALL",
            "SOCKADDR",
            "CWD",
            "EXECVE",
            "IPC_SET_PERM",
            "MQ_OPEN",
            "MQ_SENDRECV",
            "MQ_NOTIFY",
            "MQ_GETSETATTR",
            "KERNEL_OTHER",
            "FD_PAIR",
            "OBJ_PID",
            "TTY",
            "BPRM_FCAPS",
            "CAPSET",
            "MMAP",
            "NETFILTER_CFG",
            "SECCOMP",
            "PROCTITLE",
            "FANOTIFY",
            "TIME_INJOFFSET",
            "TIME_ADJNTPVAL",
            "BPF",
            "URINGOP",
            "OPENAT2",
            "DM_CTRL",
            "DM_EVENT",
            // SELinux, other LSMs
            "AVC",
            "SELINUX_ERR",
            "AVC_PATH",
            "MAC_POLICY_LOAD",
            "MAC_STATUS",
            "MAC_CONFIG_CHANGE",
            "MAC_UNLBL_ALLOW",
            "MAC_CIPSOV4_ADD",
            "MAC_CIPSOV4_DEL",
            "MAC_MAP_ADD",
            "MAC_MAP_DEL",
            "MAC_IPSEC_ADDSA",
            "MAC_IPSEC_DELSA",
            "MAC_IPSEC_ADDSPD",
            "MAC_IPSEC_DELSPD",
            "MAC_IPSEC_EVENT",
            "MAC_UNLBL_STCADD",
            "MAC_UNLBL_STCDEL",
            "MAC_CALIPSO_ADD",
            "MAC_CALIPSO_DEL",
            "IPE_ACCESS",
            "IPE_CONFIG_CHANGE",
            "IPE_POLICY_LOAD",
            "LANDLOCK_ACCESS",
            "LANDLOCK_DOMAIN",
            "MAC_TASK_CONTEXTS",
            "MAC_OBJ_CONTEXTS",
            "APPARMOR",
            "APPARMOR_AUDIT",
            "APPARMOR_ALLOWED",
            "APPARMOR_DENIED",
            "APPARMOR_HINT",
            "APPARMOR_STATUS",
            "APPARMOR_ERROR",
            "APPARMOR_KILL",
            // kernel anomalies, integrity
            "ANOM_PROMISCUOUS",
            "ANOM_ABEND",
            "ANOM_LINK",
            "ANOM_CREAT",
            "INTEGRITY_DATA",
            "INTEGRITY_METADATA",
            "INTEGRITY_STATUS",
            "INTEGRITY_HASH",
            "INTEGRITY_PCR",
            "INTEGRITY_RULE",
            "INTEGRITY_EVM_XATTR",
            "INTEGRITY_POLICY_RULE",
            // user-space anomalies and responses
            "ANOM_LOGIN_FAILURES",
            "ANOM_LOGIN_TIME",
            "ANOM_LOGIN_SESSIONS",
            "ANOM_LOGIN_ACCT",
            "ANOM_LOGIN_LOCATION",
            "ANOM_MAX_DAC",
            "ANOM_MAX_MAC",
            "ANOM_AMTU_FAIL",
            "ANOM_RBAC_FAIL",
            "ANOM_RBAC_INTEGRITY_FAIL",
            "ANOM_CRYPTO_FAIL",
            "ANOM_ACCESS_FS",
            "ANOM_EXEC",
            "ANOM_MK_EXEC",
            "ANOM_ADD_ACCT",
            "ANOM_DEL_ACCT",
            "ANOM_MOD_ACCT",
            "ANOM_ROOT_TRANS",
            "ANOM_LOGIN_SERVICE",
            "ANOM_LOGIN_ROOT",
            "ANOM_ORIGIN_FAILURES",
            "ANOM_SESSION",
            "RESP_ANOMALY",
            "RESP_ALERT",
            "RESP_KILL_PROC",
            "RESP_TERM_ACCESS",
            "RESP_ACCT_REMOTE",
            "RESP_TERM_LOCK",
            "RESP_SEBOOL",
            "RESP_EXEC",
            "RESP_SINGLE",
            "RESP_HALT",
            "RESP_ORIGIN_BLOCK",
            "RESP_ORIGIN_BLOCK_TIMED",
            "RESP_ORIGIN_UNBLOCK_TIMED",
            // LSPP, crypto, virtualization
            "USER_ROLE_CHANGE",
            "ROLE_ASSIGN",
            "ROLE_REMOVE",
            "LABEL_OVERRIDE",
            "LABEL_LEVEL_CHANGE",
            "USER_LABELED_EXPORT",
            "USER_UNLABELED_EXPORT",
            "DEV_ALLOC",
            "DEV_DEALLOC",
            "FS_RELABEL",
            "USER_MAC_POLICY_LOAD",
            "ROLE_MODIFY",
            "USER_MAC_CONFIG_CHANGE",
            "USER_MAC_STATUS",
            "CRYPTO_TEST_USER",
            "CRYPTO_PARAM_CHANGE_USER",
            "CRYPTO_LOGIN",
            "CRYPTO_LOGOUT",
            "CRYPTO_KEY_USER",
            "CRYPTO_FAILURE_USER",
            "CRYPTO_REPLAY_USER",
            "CRYPTO_SESSION",
            "CRYPTO_IKE_SA",
            "CRYPTO_IPSEC_SA",
            "VIRT_CONTROL",
            "VIRT_RESOURCE",
            "VIRT_MACHINE_ID",
            "VIRT_INTEGRITY_CHECK",
            "VIRT_CREATE",
            "VIRT_DESTROY",
            "VIRT_MIGRATE_IN",
            "VIRT_MIGRATE_OUT",
        ],
    ),
];

/// ENRICHED interpretations of the uid fields most records carry.
const ENRICH_IDS: &str = "UID=\"root\" AUID=\"alice\"";
/// The process context of a user-space message (libaudit's `audit_log_user_message`).
const USER_CTX: &str =
    "pid=4321 uid=0 auid=1000 ses=7 subj=unconfined_u:unconfined_r:unconfined_t:s0";
/// The task context of a kernel record (`audit_log_task_info`-like).
const TASK_CTX: &str = "pid=2222 uid=0 auid=1000 ses=7 subj=unconfined_u:unconfined_r:unconfined_t:s0 comm=\"tool\" exe=\"/usr/bin/tool\"";

/// The body (after `msg=audit(...):`) and the ENRICHED part of a record of type `t` written
/// on its own.
fn body(t: &str) -> (String, &'static str) {
    let user = |payload: &str| (format!("{USER_CTX} msg='{payload}'"), ENRICH_IDS);
    let pam = |op: &str| {
        user(&format!(
            "op=PAM:{op} grantors=pam_unix acct=\"alice\" exe=\"/usr/sbin/sshd\" hostname=10.0.0.5 addr=10.0.0.5 terminal=ssh res=success"
        ))
    };
    let shadow = |op: &str, who: &str, exe: &str| {
        user(&format!(
            "op={op} {who} exe=\"{exe}\" hostname=? addr=? terminal=pts/0 res=success"
        ))
    };
    let generic_user = || {
        user(
            "op=test acct=\"alice\" exe=\"/usr/bin/tool\" hostname=? addr=? terminal=pts/0 res=success",
        )
    };
    let daemon = |op: &str, res: &str| {
        (
            format!(
                "op={op} auid=4294967295 pid=512 uid=0 ses=4294967295 subj=unconfined res={res}"
            ),
            "AUID=\"unset\" UID=\"root\"",
        )
    };
    let kernel = |fields: &str| (format!("{TASK_CTX} {fields}"), ENRICH_IDS);
    let lone = |fields: &str| (fields.to_string(), "");
    match t {
        "USER_AUTH" => pam("authentication"),
        "USER_ACCT" => pam("accounting"),
        "USER_START" => pam("session_open"),
        "USER_END" => pam("session_close"),
        "CRED_ACQ" | "CRED_REFR" | "CRED_DISP" => pam("setcred"),
        "USER_ERR" => pam("bad_ident"),
        "GRP_AUTH" => user("op=authentication new-gid=1002 acct=\"alice\" exe=\"/usr/bin/newgrp\" hostname=? addr=? terminal=pts/0 res=success"),
        "USER_LOGIN" => (
            format!("{USER_CTX} msg='op=login id=1000 exe=\"/usr/sbin/sshd\" hostname=10.0.0.5 addr=10.0.0.5 terminal=/dev/pts/1 res=success'"),
            "UID=\"root\" AUID=\"alice\" ID=\"alice\"",
        ),
        "USER_LOGOUT" => (
            format!("{USER_CTX} msg='op=login id=1000 exe=\"/usr/sbin/sshd\" hostname=10.0.0.5 addr=10.0.0.5 terminal=/dev/pts/1 res=success'"),
            "UID=\"root\" AUID=\"alice\" ID=\"alice\"",
        ),
        "LOGIN" => (
            "pid=900 uid=0 subj=unconfined old-auid=4294967295 auid=1000 tty=(none) old-ses=4294967295 ses=7 res=1".into(),
            "UID=\"root\" OLD-AUID=\"unset\" AUID=\"alice\"",
        ),
        "ADD_USER" => shadow("adding user", "id=1001", "/usr/sbin/useradd"),
        "DEL_USER" => shadow("deleting user entries", "id=1001", "/usr/sbin/userdel"),
        "USER_MGMT" => shadow("changing-shell", "acct=\"bob\"", "/usr/bin/chsh"),
        "USER_CHAUTHTOK" => shadow("PAM:chauthtok grantors=pam_unix", "acct=\"bob\"", "/usr/bin/passwd"),
        "CHUSER_ID" => shadow("changing-uid", "acct=\"bob\"", "/usr/sbin/usermod"),
        "ACCT_LOCK" => shadow("locking-account", "acct=\"bob\"", "/usr/sbin/usermod"),
        "ACCT_UNLOCK" => shadow("unlocking-account", "acct=\"bob\"", "/usr/sbin/usermod"),
        "RESP_ACCT_LOCK" | "RESP_ACCT_LOCK_TIMED" | "RESP_ACCT_UNLOCK_TIMED" => {
            user("op=pam_faillock suid=1001 exe=\"/usr/sbin/sshd\" hostname=10.0.0.5 addr=10.0.0.5 terminal=ssh res=success")
        }
        "ADD_GROUP" => shadow("add-group", "acct=\"devs\" id=1002", "/usr/sbin/groupadd"),
        "DEL_GROUP" => shadow("delete-group", "acct=\"devs\" id=1002", "/usr/sbin/groupdel"),
        "GRP_MGMT" => shadow("add-user-to-group", "grp=\"devs\" acct=\"bob\"", "/usr/sbin/usermod"),
        "GRP_CHAUTHTOK" => shadow("changing group password", "acct=\"devs\"", "/usr/bin/gpasswd"),
        "CHGRP_ID" => shadow("modify-group", "acct=\"devs\" id=1003", "/usr/sbin/groupmod"),
        "SERVICE_START" | "SERVICE_STOP" => (
            "pid=1 uid=0 auid=4294967295 ses=4294967295 subj=system_u:system_r:init_t:s0 msg='unit=ufw comm=\"systemd\" exe=\"/usr/lib/systemd/systemd\" hostname=? addr=? terminal=? res=success'".into(),
            "UID=\"root\" AUID=\"unset\"",
        ),
        "SOFTWARE_UPDATE" => user("op=install sw=\"bash-5.2.15-2.x86_64\" sw_type=rpm key_enforce=0 gpg_res=1 root_dir=\"/\" comm=\"dnf\" exe=\"/usr/bin/python3.11\" hostname=h1 addr=? terminal=pts/0 res=success"),
        "USER_CMD" => user("cwd=\"/home/alice\" cmd=636174202F6574632F736861646F77 exe=\"/usr/bin/sudo\" terminal=pts/0 res=success"),
        "USER_AVC" => user("avc:  denied  { start } for auid=1000 uid=0 gid=0 path=\"/usr/lib/systemd/system/x.service\" scontext=system_u:system_r:init_t:s0 tcontext=system_u:object_r:systemd_unit_file_t:s0 tclass=service permissive=0 exe=\"/usr/lib/systemd/systemd\" sauid=0 hostname=? addr=? terminal=?"),
        "CRYPTO_KEY_USER" => user("op=destroy kind=server fp=SHA256:ab:cd direction=? spid=2000 suid=0 exe=\"/usr/sbin/sshd\" hostname=? addr=10.0.0.5 terminal=? res=success"),
        "VIRT_CONTROL" => user("virt=kvm op=start reason=booted vm=\"guest1\" uuid=5c8a vm-pid=4000 exe=\"/usr/sbin/libvirtd\" hostname=? addr=? terminal=? res=success"),
        t if t.starts_with("DAEMON_") => {
            let res = if t == "DAEMON_ABORT" || t == "DAEMON_ERR" { "failed" } else { "success" };
            daemon(&t["DAEMON_".len()..].to_lowercase(), res)
        }
        "CONFIG_CHANGE" => (
            "auid=1000 ses=7 subj=unconfined op=add_rule key=\"identity\" list=4 res=1".into(),
            "AUID=\"alice\"",
        ),
        "FEATURE_CHANGE" => kernel("feature=loginuid_immutable old=0 new=1 old_lock=0 new_lock=1 res=1"),
        "EVENT_LISTENER" => kernel("nl-mcgrp=1 op=connect res=1"),
        "REPLACE" => (
            "pid=512 uid=0 auid=4294967295 ses=4294967295 subj=unconfined res=1".into(),
            "UID=\"root\" AUID=\"unset\"",
        ),
        "KERNEL" => lone("state=initialized audit_enabled=1 res=1"),
        "NETFILTER_PKT" => lone("mark=0x0 saddr=10.0.0.5 daddr=10.0.0.1 proto=6 sport=51000 dport=22"),
        "NETFILTER_CFG" => lone("table=filter family=2 entries=4 op=xt_replace pid=700 subj=unconfined comm=\"iptables-restor\""),
        "AVC" => lone("avc:  denied  { read write } for  pid=3456 comm=\"httpd\" name=\"index.html\" dev=\"dm-0\" ino=1234 scontext=system_u:system_r:httpd_t:s0 tcontext=unconfined_u:object_r:user_home_t:s0 tclass=file permissive=0"),
        "SELINUX_ERR" => lone("op=security_compute_av reason=bounds scontext=system_u:system_r:x_t:s0 tcontext=system_u:object_r:y_t:s0 tclass=file perms=read"),
        "TTY" => lone("tty pid=2601 uid=0 auid=1000 ses=7 major=136 minor=0 comm=\"bash\" data=6C730D"),
        "MAC_STATUS" => lone("enforcing=0 old_enforcing=1 auid=1000 ses=7 enabled=1 old-enabled=1 lsm=selinux res=1"),
        "MAC_POLICY_LOAD" | "MAC_CONFIG_CHANGE" => lone("auid=1000 ses=7 lsm=selinux res=1"),
        "ANOM_PROMISCUOUS" => lone("dev=eth0 prom=256 old_prom=0 auid=1000 uid=0 gid=0 ses=7"),
        "ANOM_ABEND" => kernel("sig=11 res=1"),
        "SECCOMP" => kernel("sig=0 arch=c000003e syscall=273 compat=0 ip=0x7f1234 code=0x50000"),
        "BPF" => lone("prog-id=75 op=LOAD"),
        "KERN_MODULE" => lone("name=\"nf_tables\""),
        "TIME_INJOFFSET" => lone("sec=0 nsec=1000"),
        "TIME_ADJNTPVAL" => lone("op=offset old=0 new=1000"),
        "DM_EVENT" => lone("module=integrity op=integrity-checksum dev=254:2 sector=77 res=0"),
        "FANOTIFY" => lone("resp=2 fan_type=0 fan_info=0 subj_trust=2 obj_trust=2"),
        "APPARMOR" | "APPARMOR_AUDIT" | "APPARMOR_ALLOWED" | "APPARMOR_DENIED" | "APPARMOR_HINT"
        | "APPARMOR_STATUS" | "APPARMOR_ERROR" | "APPARMOR_KILL" => lone("apparmor=\"DENIED\" operation=\"open\" profile=\"/usr/sbin/cupsd\" name=\"/etc/shadow\" pid=900 comm=\"cupsd\" requested_mask=\"r\" denied_mask=\"r\" fsuid=0 ouid=0"),
        "SYSCALL" => (
            "arch=c000003e syscall=101 success=yes exit=0 a0=10 a1=7b2 a2=0 a3=0 items=0 ppid=100 pid=200 auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=7 comm=\"strace\" exe=\"/usr/bin/strace\" key=(null)".into(),
            "ARCH=x86_64 SYSCALL=ptrace AUID=\"alice\" UID=\"root\" GID=\"root\" EUID=\"root\" SUID=\"root\" FSUID=\"root\" EGID=\"root\" SGID=\"root\" FSGID=\"root\"",
        ),
        "PATH" => (
            "item=0 name=\"/etc/shadow\" inode=3 dev=fe:00 mode=0100640 ouid=0 ogid=42 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0".into(),
            "OUID=\"root\" OGID=\"shadow\"",
        ),
        "CWD" => lone("cwd=\"/root\""),
        "EXECVE" => lone("argc=2 a0=\"cat\" a1=\"/etc/shadow\""),
        "PROCTITLE" => lone("proctitle=636174002F6574632F736861646F77"),
        "SOCKADDR" => lone("saddr=020001BB5DB8D8220000000000000000"),
        "BPRM_FCAPS" => lone("fver=0 fp=0 fi=0 fe=0 old_pp=0 old_pi=0 old_pe=0 old_pa=0 pp=0 pi=0 pe=0 pa=0"),
        "CAPSET" => lone("pid=2222 cap_pi=0 cap_pp=0 cap_pe=0 cap_pa=0"),
        "MMAP" => lone("fd=3 flags=0x2"),
        "FD_PAIR" => lone("fd0=3 fd1=4"),
        "OBJ_PID" => lone("opid=2223 oauid=1000 ouid=0 oses=7 obj=unconfined ocomm=\"sleep\""),
        "OPENAT2" => lone("oflag=0100 mode=0644 resolve=0x8"),
        "URINGOP" => lone("uring_op=18 success=yes exit=0 items=0 ppid=1 pid=2222 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 subj=unconfined key=(null)"),
        t if t.starts_with("MQ_") || t.starts_with("IPC") || t == "SOCKETCALL" || t == "AVC_PATH" => {
            lone("nargs=3 a0=2 a1=1 a2=0 path=\"/run/x\"")
        }
        t if t.starts_with("INTEGRITY_") => kernel("op=appraise_data cause=invalid-hash name=\"/usr/bin/x\" dev=\"sda1\" ino=123 res=0 errno=0"),
        t if t.starts_with("ANOM_LINK") || t.starts_with("ANOM_CREAT") => kernel("op=linkat res=0"),
        t if t.starts_with("MAC_") || t.starts_with("IPE_") || t.starts_with("LANDLOCK_") => {
            lone("auid=1000 ses=7 subj=unconfined op=test res=1")
        }
        t if t.starts_with("DM_") || t == "KERNEL_OTHER" => kernel("op=ctr res=1"),
        _ => generic_user(),
    }
}

/// One line: `type=T msg=audit(TS:SERIAL): BODY` plus `\x1d` and the ENRICHED part.
fn line(t: &str, serial: u32, body: &str, enriched: &str, enriched_form: bool) -> String {
    let mut l = format!(
        "type={t} msg=audit(1800000100.{:03}:{serial}): {body}",
        serial % 1000
    );
    if enriched_form && !enriched.is_empty() {
        l.push('\x1d');
        l.push_str(enriched);
    }
    l.push('\n');
    l
}

/// Multi-record syscall events: (name, expected class, records (type, body, enriched)).
type SyscallCase = (&'static str, u32, Vec<(&'static str, String, String)>);

/// A SYSCALL record body and its ENRICHED part.
fn syscall(
    nr: u32,
    name: &str,
    success: &str,
    a0: &str,
    items: u32,
    exe: &str,
) -> (String, String) {
    let body = format!(
        "arch=c000003e syscall={nr} success={success} exit=0 a0={a0} a1=7ffd a2=1ed a3=0 items={items} ppid=100 pid=200 auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=7 comm=\"{}\" exe=\"{exe}\" key=\"k\"",
        exe.rsplit('/').next().unwrap_or(exe)
    );
    let enriched = format!("ARCH=x86_64 SYSCALL={name} AUID=\"alice\" UID=\"root\" GID=\"root\"");
    (body, enriched)
}

/// The SYSCALL record of a case.
fn sys(
    nr: u32,
    name: &str,
    success: &str,
    a0: &str,
    items: u32,
    exe: &str,
) -> (&'static str, String, String) {
    let (b, e) = syscall(nr, name, success, a0, items, exe);
    ("SYSCALL", b, e)
}

fn path(item: u32, name: &str, mode: &str, nametype: &str) -> String {
    format!(
        "item={item} name={name} inode=829680 dev=fe:00 mode={mode} ouid=0 ogid=0 rdev=00:00 nametype={nametype} cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0"
    )
}

fn syscall_cases() -> Vec<SyscallCase> {
    let proctitle = || ("PROCTITLE", "proctitle=746F6F6C".to_string(), String::new());
    let cwd = || ("CWD", "cwd=\"/root\"".to_string(), String::new());
    vec![
        (
            "execve",
            1007,
            vec![
                sys(59, "execve", "yes", "55d0", 2, "/usr/bin/cat"),
                ("EXECVE", "argc=2 a0=\"cat\" a1=\"/etc/shadow\"".into(), String::new()),
                cwd(),
                ("PATH", path(0, "\"/usr/bin/cat\"", "0100755", "NORMAL"), String::new()),
                proctitle(),
            ],
        ),
        (
            "openat O_CREAT",
            1001,
            vec![
                sys(257, "openat", "yes", "ffffff9c", 2, "/usr/bin/touch"),
                cwd(),
                ("PATH", path(0, "\"/tmp/\"", "041777", "PARENT"), String::new()),
                ("PATH", path(1, "\"/tmp/new\"", "0100644", "CREATE"), String::new()),
                proctitle(),
            ],
        ),
        (
            "fchmodat relative to a directory fd (path_unresolved)",
            1001,
            vec![
                sys(268, "fchmodat", "yes", "5", 1, "/usr/bin/chmod"),
                cwd(),
                ("PATH", path(0, "\"victim\"", "0100644", "NORMAL"), String::new()),
                proctitle(),
            ],
        ),
        (
            "fchmod on an fd: no name",
            0,
            vec![
                sys(91, "fchmod", "yes", "4", 1, "/usr/bin/crontab"),
                cwd(),
                ("PATH", path(0, "(null)", "0100600", "NORMAL"), String::new()),
                proctitle(),
            ],
        ),
        (
            "fchown on an fd: no name",
            0,
            vec![
                sys(93, "fchown", "yes", "9", 1, "/usr/sbin/useradd"),
                cwd(),
                ("PATH", path(0, "(null)", "0100644", "NORMAL"), String::new()),
                proctitle(),
            ],
        ),
        (
            "failed mkdir: only the parent",
            0,
            vec![
                sys(83, "mkdir", "no", "7ffc", 1, "/usr/bin/mkdir"),
                cwd(),
                ("PATH", path(0, "\"/\"", "040755", "PARENT"), String::new()),
                proctitle(),
            ],
        ),
        (
            "ftruncate: no PATH item",
            0,
            vec![
                sys(77, "ftruncate", "yes", "3", 0, "/usr/bin/truncate"),
                proctitle(),
            ],
        ),
        (
            "write",
            0,
            vec![
                sys(1, "write", "yes", "1", 0, "/usr/bin/bash"),
                proctitle(),
            ],
        ),
        (
            "close",
            0,
            vec![
                sys(3, "close", "yes", "3", 0, "/usr/bin/bash"),
                proctitle(),
            ],
        ),
        (
            "vfork",
            0,
            vec![
                sys(58, "vfork", "yes", "0", 0, "/usr/bin/bash"),
                proctitle(),
            ],
        ),
        (
            "connect",
            4001,
            vec![
                sys(42, "connect", "yes", "3", 0, "/usr/bin/curl"),
                ("SOCKADDR", "saddr=020001BB5DB8D8220000000000000000".into(), String::new()),
                proctitle(),
            ],
        ),
        (
            "finit_module with KERN_MODULE",
            1002,
            vec![
                sys(313, "finit_module", "yes", "3", 0, "/usr/bin/kmod"),
                ("KERN_MODULE", "name=\"nf_tables\"".into(), String::new()),
                proctitle(),
            ],
        ),
        (
            "delete_module, KERN_MODULE without a name",
            0,
            vec![
                sys(176, "delete_module", "yes", "55d0", 0, "/usr/bin/kmod"),
                ("KERN_MODULE", "name=(null)".into(), String::new()),
                proctitle(),
            ],
        ),
        (
            "auditctl -a: CONFIG_CHANGE with its sendto",
            1008,
            vec![
                ("CONFIG_CHANGE", "auid=1000 ses=7 subj=unconfined op=add_rule key=\"identity\" list=4 res=1".into(), "AUID=\"alice\"".to_string()),
                sys(44, "sendto", "yes", "4", 0, "/usr/sbin/auditctl"),
                ("SOCKADDR", "saddr=100000000000000000000000".into(), String::new()),
                proctitle(),
            ],
        ),
        (
            "auditctl -e 0: audit disabled",
            1008,
            vec![
                ("CONFIG_CHANGE", "op=set audit_enabled=0 old=1 auid=1000 ses=7 subj=unconfined res=1".into(), "AUID=\"alice\"".to_string()),
                sys(44, "sendto", "yes", "4", 0, "/usr/sbin/auditctl"),
                proctitle(),
            ],
        ),
        (
            "a runner sets its login uid: LOGIN with its write",
            3002,
            vec![
                ("LOGIN", "pid=200 uid=0 old-auid=4294967295 auid=4242 tty=(none) old-ses=4294967295 ses=2 res=1".into(), "UID=\"root\" OLD-AUID=\"unset\" AUID=\"unknown(4242)\"".to_string()),
                sys(1, "write", "yes", "1", 0, "/usr/bin/bash"),
                proctitle(),
            ],
        ),
        (
            "ptrace denied by SELinux: AVC with its syscall",
            0,
            vec![
                ("AVC", "avc:  denied  { ptrace } for  pid=200 comm=\"strace\" scontext=a tcontext=b tclass=process permissive=0".into(), String::new()),
                sys(101, "ptrace", "no", "10", 0, "/usr/bin/strace"),
                proctitle(),
            ],
        ),
    ]
}

/// A log of every case, in the raw or the ENRICHED form, with its expected classes in order.
fn log(enriched_form: bool) -> (String, Vec<(String, u32)>) {
    let mut text = String::new();
    let mut expected = Vec::new();
    let mut serial = 1000;
    for (class, types) in TABLE {
        for t in *types {
            serial += 1;
            let (b, e) = body(t);
            text.push_str(&line(t, serial, &b, e, enriched_form));
            expected.push(((*t).to_string(), *class));
        }
    }
    for (name, class, records) in syscall_cases() {
        serial += 1;
        for (t, b, e) in &records {
            text.push_str(&line(t, serial, b, e, enriched_form));
        }
        text.push_str(&format!(
            "type=EOE msg=audit(1800000100.{:03}:{serial}):\n",
            serial % 1000
        ));
        expected.push((name.to_string(), class));
    }
    // a type outside the table (auditd writes UNKNOWN[n] for a number it cannot name)
    serial += 1;
    text.push_str(&line(
        "UNKNOWN[1999]",
        serial,
        "pid=1 uid=0 res=1",
        "",
        enriched_form,
    ));
    (text, expected)
}

fn read(text: &str) -> Vec<pa_sources::SourceRecord> {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("audit.log");
    std::fs::write(&p, text).expect("write");
    let reader = pa_sources::open(&p, pa_sources::SourceFormat::Auditd).expect("open");
    let mut recs = Vec::new();
    let mut r = reader;
    for x in r.by_ref() {
        recs.push(x.expect("record"));
    }
    let c = r.counters();
    assert_eq!(c.dropped_total(), 0, "the reader dropped lines: {c:?}");
    recs
}

#[test]
fn every_audit_record_type_normalizes_to_a_class_with_its_required_members() {
    let n = common::normalizer();
    let schema = pa_ocsf_schema::reference_with_project_extensions();
    let with_host = EventContext {
        host: Some("lab-host"),
        ..common::ctx()
    };
    let without_host = common::ctx();
    let mut checked = 0;
    for enriched_form in [false, true] {
        let (text, expected) = log(enriched_form);
        let recs = read(&text);
        assert_eq!(recs.len(), expected.len() + 1, "one event per case");
        for (ctx, host) in [(&with_host, true), (&without_host, false)] {
            let mut cov = Coverage::new(&n);
            let mut problems = Vec::new();
            for (i, rec) in recs.iter().enumerate() {
                let out = n.normalize(rec, ctx);
                cov.add(rec, &out);
                let Some((what, class)) = expected.get(i) else {
                    // the last record: the type outside the table
                    assert_eq!(
                        out,
                        Normalized::Unmapped {
                            event_type: "linux-auditd:UNKNOWN[1999]".into()
                        }
                    );
                    continue;
                };
                let ev = match out {
                    Normalized::Mapped(ev) => ev,
                    other => {
                        problems.push(format!("{what}: {other:?}"));
                        continue;
                    }
                };
                // Authentication needs the host as its destination: without one it is a
                // Base Event (the route's fallback), never a failure
                let want = if *class == 3002 && !host { 0 } else { *class };
                if ev["class_uid"] != want {
                    problems.push(format!(
                        "{what} (enriched {enriched_form}, host {host}): class {} instead of {want}",
                        ev["class_uid"]
                    ));
                }
                // validated as the corpus is (ocsf_valid): with the host the stage always
                // has; without one, OCSF system classes lack their required `device`
                if host {
                    for v in schema.validate(&ev) {
                        problems.push(format!("{what} (enriched {enriched_form}): {v}"));
                    }
                }
                checked += 1;
            }
            assert!(problems.is_empty(), "{}", problems.join("\n"));
            let doc = pa_canon::to_value(&cov.document("x")).expect("coverage");
            assert_eq!(doc["events_failed"], 0);
            assert_eq!(doc["events_unmapped"], 1);
            assert_eq!(
                doc["unknown_event_types"],
                serde_json::json!([{"source_type": "linux-auditd",
                    "event_type": "linux-auditd:UNKNOWN[1999]", "count": 1}])
            );
            assert_eq!(doc["source_types"][0]["failures"], serde_json::json!([]));
        }
    }
    assert!(checked > 4 * 200, "only {checked} events checked");
}

/// What the classes carry for the records a plain host writes (sshd logins, sudo, cron,
/// auditctl, a runner setting its login uid), ENRICHED.
#[test]
fn pam_login_and_audit_records_carry_their_fields() {
    let n = common::normalizer();
    let ctx = EventContext {
        host: Some("lab-host"),
        ..common::ctx()
    };
    let (text, expected) = log(true);
    let recs = read(&text);
    let by: BTreeMap<&str, Value> = expected
        .iter()
        .zip(&recs)
        .map(|((what, _), rec)| {
            (
                what.as_str(),
                common::mapped(&n.normalize(rec, &ctx)).clone(),
            )
        })
        .collect();
    let at = |what: &str, p: &str| common::at(&by[what], p).cloned();
    let s = |v: &str| Some(Value::from(v));
    let i = |v: i64| Some(Value::from(v));

    assert_eq!(at("USER_AUTH", "activity_id"), i(1));
    assert_eq!(at("USER_AUTH", "status_id"), i(1));
    assert_eq!(at("USER_AUTH", "user.name"), s("alice"));
    assert_eq!(at("USER_AUTH", "src_endpoint.ip"), s("10.0.0.5"));
    assert_eq!(at("USER_AUTH", "dst_endpoint.hostname"), s("lab-host"));
    assert_eq!(at("USER_AUTH", "session.terminal"), s("ssh"));
    assert_eq!(
        at("USER_AUTH", "actor.process.file.path"),
        s("/usr/sbin/sshd")
    );
    assert_eq!(at("USER_AUTH", "actor.process.auid"), i(1000));
    assert_eq!(at("USER_AUTH", "metadata.event_code"), s("USER_AUTH"));
    assert_eq!(at("USER_LOGIN", "user.uid"), s("1000"));
    assert_eq!(at("USER_END", "activity_id"), i(2));
    assert_eq!(at("CRED_ACQ", "activity_id"), i(99));
    assert_eq!(at("USER_ACCT", "activity_id"), i(99));
    // LOGIN: the new login uid and session; the actor had none
    assert_eq!(at("LOGIN", "activity_id"), i(1));
    assert_eq!(at("LOGIN", "user.uid"), s("1000"));
    assert_eq!(at("LOGIN", "session.uid"), s("7"));
    assert_eq!(at("LOGIN", "actor.process.auid"), None);
    let runner = "a runner sets its login uid: LOGIN with its write";
    assert_eq!(at(runner, "class_uid"), i(3002));
    assert_eq!(at(runner, "user.uid"), s("4242"));
    assert_eq!(at(runner, "actor.process.file.path"), s("/usr/bin/bash"));
    assert_eq!(at(runner, "status_id"), i(1));

    assert_eq!(at("ADD_USER", "user.uid"), s("1001"));
    assert_eq!(
        at("ADD_USER", "actor.process.file.path"),
        s("/usr/sbin/useradd")
    );
    assert_eq!(at("RESP_ACCT_LOCK", "activity_id"), i(9));
    assert_eq!(at("RESP_ACCT_LOCK", "user.uid"), s("1001"));
    assert_eq!(at("ADD_GROUP", "group.name"), s("devs"));
    assert_eq!(at("GRP_MGMT", "group.name"), s("devs"));
    assert_eq!(at("SERVICE_STOP", "activity_id"), i(4));
    assert_eq!(at("SERVICE_STOP", "app.name"), s("ufw"));
    assert_eq!(at("SOFTWARE_UPDATE", "activity_id"), i(1));
    assert_eq!(at("DAEMON_START", "activity_id"), i(6));
    assert_eq!(at("DAEMON_ABORT", "status_id"), i(2));
    assert_eq!(at("DAEMON_START", "log_provider"), s("auditd"));
    // CONFIG_CHANGE without its syscall: the login session is the actor, no process
    assert_eq!(at("CONFIG_CHANGE", "actor.session.uid"), s("7"));
    assert_eq!(at("CONFIG_CHANGE", "actor.process"), None);
    assert_eq!(
        at(
            "auditctl -a: CONFIG_CHANGE with its sendto",
            "actor.process.file.path"
        ),
        s("/usr/sbin/auditctl")
    );
    assert_eq!(at("auditctl -e 0: audit disabled", "activity_id"), i(10));
    assert_eq!(
        at("finit_module with KERN_MODULE", "driver.file.name"),
        s("nf_tables")
    );
    assert_eq!(at("finit_module with KERN_MODULE", "activity_id"), i(1));
    assert_eq!(at("NETFILTER_PKT", "activity_id"), i(6));
    assert_eq!(at("NETFILTER_PKT", "dst_endpoint.port"), i(22));
    // a file call naming no file: a Base Event with the actor, the status and the raw fields
    let fd = "fchmod on an fd: no name";
    assert_eq!(at(fd, "activity_id"), i(99));
    assert_eq!(at(fd, "actor.process.file.path"), s("/usr/bin/crontab"));
    assert_eq!(at(fd, "status_id"), i(1));
    assert_eq!(at(fd, "unmapped.a0"), s("4"));
    assert_eq!(at(fd, "unmapped.inode"), s("829680"));
    assert_eq!(at("failed mkdir: only the parent", "status_id"), i(2));
    assert_eq!(at("AVC", "unmapped.seresult"), s("denied"));
    assert_eq!(at("AVC", "unmapped.seperms"), s("read write"));
    assert_eq!(at("AVC", "actor.process.pid"), i(3456));
    assert_eq!(at("USER_CMD", "unmapped.cmd"), s("cat /etc/shadow"));
    // no process for a record that names no pid (OCSF: a process has a pid)
    assert_eq!(at("ANOM_PROMISCUOUS", "actor.process"), None);
    assert_eq!(at("ANOM_PROMISCUOUS", "actor.user.uid"), s("0"));
}

/// The table above and routing.yaml name the same record types.
#[test]
fn the_table_is_the_routed_set() {
    let p = common::mappings_dir().join("linux-auditd/routing.yaml");
    let text = std::fs::read_to_string(&p).expect("routing.yaml");
    let doc: Value = serde_saphyr::from_str(&text).expect("yaml");
    let mut routed = BTreeSet::new();
    for r in doc["routes"].as_array().expect("routes") {
        if let Some(types) = r["match"]["record_types"].as_array() {
            routed.extend(types.iter().filter_map(Value::as_str).map(str::to_string));
        }
    }
    let table: BTreeSet<String> = TABLE
        .iter()
        .flat_map(|(_, t)| t.iter().map(|s| (*s).to_string()))
        .collect();
    assert_eq!(routed, table);
}
