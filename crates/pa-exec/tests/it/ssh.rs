//! The SSH executor against a real OpenSSH server on loopback
//! (`tests/fixtures/ssh/start-loopback-sshd`, which `.ci/run` starts): the same command
//! semantics as locally, a refused connection as an error, a timeout killing the remote group.

use pa_exec::{Cancel, CommandSpec, Executor, Interpreter, SshExecutor, SshTarget};
use std::time::Duration;

/// The loopback target, or `None` (with a note) when no test server is configured; with
/// `PA_REQUIRE_LIVE=1` (CI) a missing server fails the test instead.
fn loopback() -> Option<SshExecutor> {
    match std::env::var("PA_TEST_SSH_CONFIG") {
        Ok(cfg) if !cfg.is_empty() => {
            let mut t = SshTarget::new("pa-loopback");
            t.config_file = Some(cfg.into());
            Some(SshExecutor::new(t))
        }
        _ => {
            assert!(
                std::env::var("PA_REQUIRE_LIVE").as_deref() != Ok("1"),
                "PA_REQUIRE_LIVE=1 but PA_TEST_SSH_CONFIG is not set: start tests/fixtures/ssh/start-loopback-sshd"
            );
            eprintln!(
                "skipped: PA_TEST_SSH_CONFIG is not set (tests/fixtures/ssh/start-loopback-sshd)"
            );
            None
        }
    }
}

fn spec(script: &str) -> CommandSpec {
    CommandSpec {
        interpreter: Interpreter::Sh,
        script: script.into(),
        env: vec![("PA_MARKER".into(), "pa:synth:v1:x:y:execute".into())],
        timeout: Duration::from_secs(60),
        audit_login_uid: None,
        output_limit: 1 << 20,
        workdir: None,
    }
}

#[test]
fn a_command_runs_remotely_with_its_environment_and_exit_code() {
    let Some(ex) = loopback() else { return };
    let r = ex
        .run(
            &spec("echo \"$PA_MARKER\"; echo 'it'\"'\"'s' >&2; exit 4"),
            &Cancel::new(),
        )
        .unwrap();
    assert_eq!(r.exit_code, Some(4), "{r:?}");
    assert_eq!(r.stdout.text(), "pa:synth:v1:x:y:execute\n");
    assert_eq!(r.stderr.text(), "it's\n", "the wrapper's line is removed");
    assert!(ex.is_root().unwrap());
}

#[test]
fn tagging_works_over_ssh() {
    let Some(ex) = loopback() else { return };
    let mut s = spec("cat /proc/self/loginuid; echo \" $$\"");
    s.audit_login_uid = Some(4298);
    let r = ex.run(&s, &Cancel::new()).unwrap();
    assert!(r.succeeded(), "{r:?}");
    let pid = r.tagged_pid.expect("the tagged pid is reported");
    assert_eq!(r.stdout.text(), format!("4298 {pid}\n"));
    assert_eq!(r.stderr.text(), "");
}

#[test]
fn a_remote_timeout_kills_the_remote_process_group() {
    let Some(ex) = loopback() else { return };
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("bg.pid");
    let mut s = spec(&format!(
        "sleep 300 & echo $! > {}; sleep 300",
        pidfile.display()
    ));
    s.timeout = Duration::from_secs(1);
    let r = ex.run(&s, &Cancel::new()).unwrap();
    assert!(r.timed_out, "{r:?}");
    let pid: u32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let mut alive = true;
    for _ in 0..100 {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let state = stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .to_string();
        if stat.is_empty() || state.starts_with('Z') {
            alive = false;
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!alive, "the remote background sleep {pid} survived");
}

#[test]
fn a_cancellation_kills_the_remote_command() {
    let Some(ex) = loopback() else { return };
    let cancel = Cancel::new();
    let c = cancel.clone();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(500));
        c.cancel();
    });
    let r = ex.run(&spec("sleep 300"), &cancel).unwrap();
    t.join().unwrap();
    assert!(r.cancelled, "{r:?}");
}

#[test]
fn a_refused_connection_is_an_error_that_says_so() {
    let mut t = SshTarget::new("127.0.0.1");
    t.port = Some(1); // nothing listens on port 1
    t.connect_timeout_secs = 5;
    let ex = SshExecutor::new(t);
    let e = ex
        .run(&spec("true"), &Cancel::new())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("ssh connection failed") && e.contains("127.0.0.1"),
        "{e}"
    );
    let e = ex
        .run_argv(&["true".into()], Duration::from_secs(20))
        .unwrap_err()
        .to_string();
    assert!(e.contains("refused") || e.contains("connect"), "{e}");
}

#[test]
fn remote_files_and_directories() {
    let Some(ex) = loopback() else { return };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("f 1"), "one").unwrap();
    std::fs::write(dir.path().join("a"), "").unwrap();
    let d = dir.path().to_str().unwrap();
    assert_eq!(ex.list_dir(d).unwrap(), ["a", "f 1"]);
    assert_eq!(ex.read_file(&format!("{d}/f 1")).unwrap(), b"one");
    assert!(ex.read_file(&format!("{d}/nope")).is_err());
}
