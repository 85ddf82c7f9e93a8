//! Building the program and arguments of a command: interpreter, tagging wrapper, quoting.

use crate::{CommandSpec, ExecError, TAG_FAILED_EXIT};

/// Quote a word for a POSIX shell (single quotes; a `'` inside becomes `'\''`). Words made only
/// of characters no shell treats specially are left as they are.
pub fn sh_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b));
    if plain {
        return word.to_string();
    }
    let mut out = String::with_capacity(word.len() + 2);
    out.push('\'');
    for c in word.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

/// The first stderr line of a tagged command: the pid whose audit login uid was set (its
/// `LOGIN` record carries that pid and the new session id, `ses=`, of every record the command
/// causes). Removed from the capture.
pub(crate) const TAGGED_PID_PREFIX: &str = "pa-tagged-pid:";

/// The `/bin/sh` text that sets the audit login uid of the shell, reports its pid, then
/// `exec`s its arguments (the pid stays: the command's first process is that pid).
pub(crate) fn tag_script(uid: u32) -> String {
    format!(
        "echo {uid} > /proc/self/loginuid 2>/dev/null || {{ echo 'pa-exec: cannot set the audit login uid to {uid} (needs root with CAP_AUDIT_CONTROL and loginuid not immutable)' >&2; exit {TAG_FAILED_EXIT}; }}; echo {TAGGED_PID_PREFIX}$$ >&2; exec \"$0\" \"$@\""
    )
}

/// The program and arguments that run `spec` (interpreter, possibly under the tagging wrapper).
pub(crate) fn command_argv(
    spec: &CommandSpec,
    executor: &'static str,
) -> Result<Vec<String>, ExecError> {
    let Some((program, flag)) = spec.interpreter.posix_program() else {
        return Err(ExecError::UnsupportedInterpreter {
            executor,
            interpreter: spec.interpreter.as_str(),
        });
    };
    let mut argv = Vec::with_capacity(6);
    if let Some(uid) = spec.audit_login_uid {
        argv.extend(["/bin/sh".to_string(), "-c".to_string(), tag_script(uid)]);
    }
    argv.extend([program.to_string(), flag.to_string(), spec.script.clone()]);
    Ok(argv)
}

/// Join words into one shell command line.
pub(crate) fn join_quoted(words: &[String]) -> String {
    words
        .iter()
        .map(|w| sh_quote(w))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Interpreter;
    use std::time::Duration;

    #[test]
    fn quoting_round_trips_through_a_real_shell() {
        let words = [
            "plain",
            "",
            "two words",
            "it's",
            "$HOME `id` \"q\" \\ ;|&<>*?[]{}~#!",
            "new\nline",
            "ünïcode",
        ];
        for w in words {
            let out = std::process::Command::new("/bin/sh")
                .arg("-c")
                .arg(format!("printf '%s' {}", sh_quote(w)))
                .output()
                .unwrap();
            assert_eq!(String::from_utf8(out.stdout).unwrap(), w, "{w:?}");
        }
    }

    #[test]
    fn the_wrapper_comes_first_only_when_tagging() {
        let mut spec = CommandSpec {
            interpreter: Interpreter::Bash,
            script: "echo hi".into(),
            env: vec![],
            timeout: Duration::from_secs(1),
            audit_login_uid: None,
            output_limit: 10,
            workdir: None,
        };
        assert_eq!(
            command_argv(&spec, "local").unwrap(),
            ["bash", "-c", "echo hi"]
        );
        spec.audit_login_uid = Some(4242);
        let argv = command_argv(&spec, "local").unwrap();
        assert_eq!(argv[0], "/bin/sh");
        assert!(argv[2].starts_with("echo 4242 > /proc/self/loginuid"));
        assert_eq!(&argv[3..], ["bash", "-c", "echo hi"]);
        spec.interpreter = Interpreter::PowerShell;
        assert!(matches!(
            command_argv(&spec, "local"),
            Err(ExecError::UnsupportedInterpreter { .. })
        ));
    }
}
