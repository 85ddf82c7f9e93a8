//! The local executor against real processes: exit codes, environment, bounded output, a
//! timeout or a cancellation killing the whole process group, strays killed, audit tagging.

mod ssh;

use pa_exec::{Cancel, CommandSpec, Executor, Interpreter, LocalExecutor};
use std::time::Duration;

fn spec(script: &str) -> CommandSpec {
    CommandSpec {
        interpreter: Interpreter::Sh,
        script: script.into(),
        env: vec![],
        timeout: Duration::from_secs(60),
        audit_login_uid: None,
        output_limit: 1 << 20,
        workdir: None,
    }
}

/// Whether a process is gone (absent, or a zombie nobody reaped yet), waiting for it a while.
fn gone(pid: u32) -> bool {
    for _ in 0..100 {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => return true,
            Ok(s) => {
                let state = s.rsplit(')').next().unwrap_or("").trim_start();
                if state.starts_with('Z') || state.starts_with('X') {
                    return true;
                }
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

fn read_pid(path: &std::path::Path) -> u32 {
    for _ in 0..100 {
        if let Ok(s) = std::fs::read_to_string(path) {
            if let Ok(p) = s.trim().parse() {
                return p;
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("{}: no pid written", path.display());
}

#[test]
fn exit_code_output_and_environment() {
    let mut s = spec("echo out; echo err >&2; echo \"$PA_MARKER\"; exit 3");
    s.env = vec![("PA_MARKER".into(), "pa:synth:v1:r:a:execute".into())];
    let r = LocalExecutor::new().run(&s, &Cancel::new()).unwrap();
    assert_eq!(r.exit_code, Some(3));
    assert!(!r.succeeded());
    assert_eq!(r.stdout.text(), "out\npa:synth:v1:r:a:execute\n");
    assert_eq!(r.stderr.text(), "err\n");
    assert!(!r.timed_out && !r.cancelled);
    assert!(r.ended_ms >= r.started_ms);
}

#[test]
fn bash_runs_bash() {
    let mut s = spec("echo ${BASH_VERSION:+bash}");
    s.interpreter = Interpreter::Bash;
    let r = LocalExecutor::new().run(&s, &Cancel::new()).unwrap();
    assert!(r.succeeded());
    assert_eq!(r.stdout.text(), "bash\n");
}

#[test]
fn output_is_bounded_and_counted() {
    let mut s = spec("head -c 100000 /dev/zero; head -c 5000 /dev/zero >&2");
    s.output_limit = 1000;
    let r = LocalExecutor::new().run(&s, &Cancel::new()).unwrap();
    assert!(r.succeeded());
    assert_eq!(r.stdout.bytes.len(), 1000);
    assert_eq!(r.stdout.total, 100_000);
    assert!(r.stdout.truncated());
    assert_eq!(r.stderr.total, 5000);
}

#[test]
fn a_timeout_kills_the_whole_process_group() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("bg.pid");
    let mut s = spec(&format!(
        "sleep 300 & echo $! > {}; sleep 300",
        pidfile.display()
    ));
    s.timeout = Duration::from_millis(300);
    let r = LocalExecutor::new().run(&s, &Cancel::new()).unwrap();
    assert!(r.timed_out, "{r:?}");
    assert!(!r.succeeded());
    assert_eq!(r.signal, Some(9), "{r:?}");
    let bg = read_pid(&pidfile);
    assert!(gone(bg), "the background sleep {bg} survived the timeout");
}

#[test]
fn processes_left_behind_are_killed_when_the_command_ends() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("bg.pid");
    // The stray's output is redirected, so the pipes close when the shell exits.
    let s = spec(&format!(
        "sleep 300 >/dev/null 2>&1 & echo $! > {}; exit 0",
        pidfile.display()
    ));
    let r = LocalExecutor::new().run(&s, &Cancel::new()).unwrap();
    assert!(r.succeeded());
    assert!(r.strays_killed);
    assert!(gone(read_pid(&pidfile)));
}

#[test]
fn a_cancellation_kills_the_command() {
    let cancel = Cancel::new();
    let c = cancel.clone();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        c.cancel();
    });
    let r = LocalExecutor::new()
        .run(&spec("sleep 300"), &cancel)
        .unwrap();
    t.join().unwrap();
    assert!(r.cancelled && !r.timed_out, "{r:?}");
    assert!(!r.succeeded());
}

#[test]
fn unsupported_interpreters_are_refused_not_run() {
    let mut s = spec("Get-Process");
    s.interpreter = Interpreter::PowerShell;
    let ex = LocalExecutor::new();
    assert!(!ex.supports(Interpreter::PowerShell));
    let e = ex.run(&s, &Cancel::new()).unwrap_err().to_string();
    assert!(e.contains("powershell"), "{e}");
}

#[test]
fn a_missing_program_is_an_error_naming_it() {
    let e = LocalExecutor::new()
        .run_argv(&["/nonexistent/prog".into()], Duration::from_secs(5))
        .unwrap_err()
        .to_string();
    assert!(e.contains("/nonexistent/prog"), "{e}");
}

#[test]
fn probes_files_and_directories() {
    let ex = LocalExecutor::new();
    let out = ex
        .run_argv(
            &["printf".into(), "%s".into(), "a b".into()],
            Duration::from_secs(5),
        )
        .unwrap();
    assert!(out.ok());
    assert_eq!(out.stdout_text(), "a b");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("b"), "2").unwrap();
    std::fs::write(dir.path().join("a"), "1").unwrap();
    let d = dir.path().to_str().unwrap();
    assert_eq!(ex.list_dir(d).unwrap(), ["a", "b"]);
    assert_eq!(ex.read_file(&format!("{d}/b")).unwrap(), b"2");
    assert!(
        ex.read_file(&format!("{d}/c"))
            .unwrap_err()
            .to_string()
            .contains("/c")
    );
}

#[test]
fn tagging_sets_the_audit_login_uid_or_fails_loudly() {
    let mut s = spec("cat /proc/self/loginuid; echo \" $$\"");
    s.audit_login_uid = Some(4299);
    let r = LocalExecutor::new().run(&s, &Cancel::new()).unwrap();
    let root = LocalExecutor::new().is_root().unwrap();
    let immutable = std::fs::read_to_string("/proc/self/loginuid").is_err();
    if root && !immutable && r.exit_code != Some(pa_exec::TAG_FAILED_EXIT) {
        assert!(r.succeeded(), "{r:?}");
        // The interpreter is the tagged process itself (exec keeps the pid).
        let pid = r.tagged_pid.expect("the tagged pid is reported");
        assert_eq!(r.stdout.text(), format!("4299 {pid}\n"));
        assert_eq!(
            r.stderr.text(),
            "",
            "the pid line is not part of the output"
        );
    } else {
        // Not allowed here: the wrapper refuses to run the command untagged.
        assert_eq!(r.exit_code, Some(pa_exec::TAG_FAILED_EXIT), "{r:?}");
        assert!(r.stderr.text().contains("audit login uid"));
    }
}
