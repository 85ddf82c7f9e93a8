//! Named value transforms (`canonicalization.yaml`): compilation from `op` + `args`, and their
//! application to one value.
//!
//! A transform turns a present value into a value, into *absent* (the input is a placeholder or
//! a deliberate non-value), or *rejects* it (the input is not what the transform accepts: the
//! target is then left absent, and a core field fails the event). Scalar transforms applied to
//! an array apply element-wise (absent elements are dropped); `join`, `first`, `unique` and
//! `count` take the array itself.
//!
//! * [`compile`]: `op` + `args` → [`Transform`].
//! * [`apply`]: one evaluator of a transform on a value read in place, and the array handling
//!   around it ([`Transform::apply_cow`]).
//! * [`text`]: the text helpers the evaluator uses (scalar text, integers, times, key=value
//!   lists, sockaddrs, hashes).

mod apply;
mod compile;
mod text;

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

pub(crate) use compile::CompileEnv;
pub(crate) use text::scalar_text;

/// The owned outcome of one transform step (what [`Transform::apply`] gives: the tests' view
/// of a [`CowStep`]).
#[cfg(test)]
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Step {
    Value(Value),
    Absent,
    Rejected(String),
}

/// The outcome of one transform step on a value that may still be borrowed from the record
/// (the interpreter's hot path: a value is copied only when a transform changes it, or when
/// it is finally emitted).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum CowStep<'a> {
    Value(Cow<'a, Value>),
    Absent,
    Rejected(String),
}

#[cfg(test)]
impl CowStep<'_> {
    /// The owned [`Step`] (the value copied out of the record if still borrowed).
    pub(crate) fn into_step(self) -> Step {
        match self {
            CowStep::Value(v) => Step::Value(v.into_owned()),
            CowStep::Absent => Step::Absent,
            CowStep::Rejected(r) => Step::Rejected(r),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    First,
    Second,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimeFormat {
    Rfc3339,
    SpaceUtc,
    EpochSeconds,
    EpochMillis,
}

/// A compiled transform.
#[derive(Debug, Clone)]
pub(crate) enum Transform {
    Trim,
    Lowercase,
    Uppercase,
    ToString,
    ParseInt {
        hex: bool,
        octal: bool,
        min: Option<i64>,
        max: Option<i64>,
    },
    ParseTime {
        formats: Vec<TimeFormat>,
    },
    AbsentIfInSet {
        set: BTreeSet<String>,
        ignore_case: bool,
        /// The byte length of the longest member: a longer text is not in the set.
        max_len: usize,
    },
    SplitDomainUser {
        part: Part,
    },
    ParseHashes {
        ids: BTreeMap<String, i64>,
        other_id: i64,
    },
    SplitHostPort {
        part: Part,
    },
    Map {
        table: BTreeMap<String, Value>,
        ignore_case: bool,
        default: Option<Value>,
        passthrough: bool,
    },
    KvGet {
        key: String,
    },
    /// The value of `key=` on one line of a multi-line `key=value` text (the rest of the
    /// line, trimmed).
    LineKvGet {
        key: String,
    },
    /// Text split into its non-empty parts (on `sep`, or on whitespace).
    Split {
        sep: Option<String>,
    },
    /// Integer AND `mask`.
    BitAnd {
        mask: i64,
    },
    /// Decode an audit `saddr` hex sockaddr (AF_INET / AF_INET6): `part` ip or port.
    Sockaddr {
        port: bool,
    },
    /// The last path component; with `ignore_trailing`, trailing separators do not end it
    /// (`/var/tmp/dir/` → `dir`), else such a path has no name.
    Basename {
        ignore_trailing: bool,
        /// A path ending in a separator names an empty last component: `""`, not absent.
        keep_empty: bool,
    },
    Dirname,
    Join {
        sep: String,
    },
    First,
    Unique,
    Format {
        before: String,
        after: String,
    },
    Ip,
    StripPrefix {
        prefix: String,
    },
    TrimChars {
        chars: Vec<char>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn t(op: &str, args: Value) -> Transform {
        let sets = BTreeMap::from([("ph".to_string(), vec!["-".to_string(), String::new()])]);
        let tables = BTreeMap::from([(
            "proto".to_string(),
            BTreeMap::from([("tcp".to_string(), json!(6))]),
        )]);
        let env = CompileEnv {
            sets: &sets,
            tables: &tables,
        };
        let args: BTreeMap<String, Value> = serde_json::from_value(args).unwrap();
        Transform::compile(op, &args, &env).unwrap()
    }

    #[test]
    fn ints_times_and_placeholders() {
        let hex = t("parse_int", json!({"hex": true}));
        assert_eq!(hex.apply(json!("0x3f0")), Step::Value(json!(1008)));
        assert_eq!(hex.apply(json!("42")), Step::Value(json!(42)));
        assert!(matches!(hex.apply(json!("x1")), Step::Rejected(_)));
        let port = t("parse_int", json!({"min": 0, "max": 65535}));
        assert!(matches!(port.apply(json!("70000")), Step::Rejected(_)));
        let time = t(
            "parse_time",
            json!({"formats": ["rfc3339", "space_utc", "epoch_s"]}),
        );
        assert_eq!(
            time.apply(json!("2019-07-19T14:42:51.4462809Z")),
            Step::Value(json!(1563547371446_i64))
        );
        assert_eq!(
            time.apply(json!("2019-07-19 14:42:51.257")),
            Step::Value(json!(1563547371257_i64))
        );
        assert_eq!(
            time.apply(json!("1795343951.263")),
            Step::Value(json!(1795343951263_i64))
        );
        assert!(matches!(time.apply(json!("yesterday")), Step::Rejected(_)));
        let ph = t("absent_if_in_set", json!({"set": "ph"}));
        assert_eq!(ph.apply(json!("-")), Step::Absent);
        assert_eq!(ph.apply(json!("x")), Step::Value(json!("x")));
        assert_eq!(ph.apply(json!(["-", "a"])), Step::Value(json!(["a"])));
    }

    #[test]
    fn octal_masks_lines_and_splits() {
        // audit PATH mode=0100644 → S_IFREG (0o100000)
        let oct = t("parse_int", json!({"octal": true}));
        assert_eq!(oct.apply(json!("0100644")), Step::Value(json!(0o100644)));
        assert!(matches!(oct.apply(json!("0109")), Step::Rejected(_)));
        let fmt = t("bit_and", json!({"mask": 0o170000}));
        assert_eq!(fmt.apply(json!(0o100644)), Step::Value(json!(0o100000)));
        assert_eq!(fmt.apply(json!(0o40755)), Step::Value(json!(0o40000)));
        assert!(matches!(fmt.apply(json!("x")), Step::Rejected(_)));
        let line = t("line_kv_get", json!({"key": "UserId"}));
        let ctx = "\tDetailSequence=1\n\tUserId=HOST\\Clippy\n\tCommandLine=a = b\n\tScriptName=";
        assert_eq!(line.apply(json!(ctx)), Step::Value(json!("HOST\\Clippy")));
        let cl = t("line_kv_get", json!({"key": "CommandLine"}));
        assert_eq!(cl.apply(json!(ctx)), Step::Value(json!("a = b")));
        let empty = t("line_kv_get", json!({"key": "ScriptName"}));
        assert_eq!(empty.apply(json!(ctx)), Step::Absent);
        assert_eq!(
            t("line_kv_get", json!({"key": "Nope"})).apply(json!(ctx)),
            Step::Absent
        );
        let ws = t("split", json!({}));
        assert_eq!(
            ws.apply(json!("SeDebugPrivilege\n\t\t\tSeBackupPrivilege")),
            Step::Value(json!(["SeDebugPrivilege", "SeBackupPrivilege"]))
        );
        assert_eq!(ws.apply(json!("  ")), Step::Absent);
        let comma = t("split", json!({"sep": ","}));
        assert_eq!(comma.apply(json!("a, b,,")), Step::Value(json!(["a", "b"])));
    }

    #[test]
    fn users_hashes_endpoints() {
        let user = t("split_domain_user", json!({"part": "user"}));
        let dom = t("split_domain_user", json!({"part": "domain"}));
        assert_eq!(
            user.apply(json!("NT AUTHORITY\\SYSTEM")),
            Step::Value(json!("SYSTEM"))
        );
        assert_eq!(
            dom.apply(json!("NT AUTHORITY\\SYSTEM")),
            Step::Value(json!("NT AUTHORITY"))
        );
        assert_eq!(user.apply(json!("bob")), Step::Value(json!("bob")));
        assert_eq!(dom.apply(json!("bob")), Step::Absent);
        let h = t(
            "parse_hashes",
            json!({"algorithms": {"MD5": 1, "SHA1": 2, "SHA256": 3}}),
        );
        assert_eq!(
            h.apply(json!("SHA256=bbb,SHA256=bbb,MD5=aaa,IMPHash=ccc")),
            Step::Value(json!([
                {"algorithm_id": 1, "value": "aaa"},
                {"algorithm_id": 3, "value": "bbb"},
                {"algorithm": "IMPHash", "algorithm_id": 99, "value": "ccc"}
            ]))
        );
        assert!(matches!(h.apply(json!("garbage")), Step::Rejected(_)));
        let host = t("split_host_port", json!({"part": "host"}));
        let port = t("split_host_port", json!({"part": "port"}));
        assert_eq!(host.apply(json!("[::1]:443")), Step::Value(json!("::1")));
        assert_eq!(port.apply(json!("10.0.0.1:80")), Step::Value(json!("80")));
        assert!(matches!(port.apply(json!("::1")), Step::Rejected(_)));
        let ip = t("ip", json!({}));
        assert!(matches!(ip.apply(json!("nope")), Step::Rejected(_)));
        assert_eq!(
            ip.apply(json!("::ffff:10.0.0.1")),
            Step::Value(json!("::ffff:10.0.0.1"))
        );
    }

    #[test]
    fn maps_paths_arrays() {
        let m = t("map", json!({"table": "proto", "ignore_case": true}));
        assert_eq!(m.apply(json!("TCP")), Step::Value(json!(6)));
        assert_eq!(m.apply(json!("udp")), Step::Absent);
        let m = t("map", json!({"entries": {"a": 1}, "default": 99}));
        assert_eq!(m.apply(json!("b")), Step::Value(json!(99)));
        assert_eq!(
            t("basename", json!({})).apply(json!("C:\\a\\b.exe")),
            Step::Value(json!("b.exe"))
        );
        // a registry path ending in \ names no value
        assert_eq!(
            t("basename", json!({})).apply(json!("HKLM\\Run\\")),
            Step::Absent
        );
        let base = t("basename", json!({"ignore_trailing": true}));
        assert_eq!(
            base.apply(json!("/var/tmp/.hidden-directory/")),
            Step::Value(json!(".hidden-directory"))
        );
        assert_eq!(
            base.apply(json!("victim-files/")),
            Step::Value(json!("victim-files"))
        );
        assert_eq!(base.apply(json!("/")), Step::Absent);
        assert_eq!(base.apply(json!("\\")), Step::Absent);
        assert_eq!(
            t("dirname", json!({})).apply(json!("/etc/ssh/x")),
            Step::Value(json!("/etc/ssh"))
        );
        assert_eq!(
            t("dirname", json!({})).apply(json!("/x")),
            Step::Value(json!("/"))
        );
        assert_eq!(
            t("join", json!({})).apply(json!(["id", "-u"])),
            Step::Value(json!("id -u"))
        );
        assert_eq!(
            t("first", json!({})).apply(json!(["a", "b"])),
            Step::Value(json!("a"))
        );
        assert_eq!(
            t("format", json!({"template": "audit({})"})).apply(json!("1.2:3")),
            Step::Value(json!("audit(1.2:3)"))
        );
        let pass = t(
            "map",
            json!({"entries": {"59": "execve"}, "passthrough": true}),
        );
        assert_eq!(pass.apply(json!("59")), Step::Value(json!("execve")));
        assert_eq!(pass.apply(json!("openat")), Step::Value(json!("openat")));
        let msg = "op=adding user id=999 exe=\"/usr/sbin/useradd\" hostname=? res=success";
        let kv = t("kv_get", json!({"key": "id"}));
        assert_eq!(kv.apply(json!(msg)), Step::Value(json!("999")));
        let kv = t("kv_get", json!({"key": "exe"}));
        assert_eq!(
            kv.apply(json!(msg)),
            Step::Value(json!("/usr/sbin/useradd"))
        );
        let kv = t("kv_get", json!({"key": "acct"}));
        assert_eq!(kv.apply(json!(msg)), Step::Absent);
        assert_eq!(
            kv.apply(json!("acct=\"John Smith\" res=failed")),
            Step::Value(json!("John Smith"))
        );
        let ip = t("sockaddr", json!({"part": "ip"}));
        let port = t("sockaddr", json!({"part": "port"}));
        assert_eq!(
            ip.apply(json!("020001BB5DB8D8220000000000000000")),
            Step::Value(json!("93.184.216.34"))
        );
        assert_eq!(
            port.apply(json!("020001BB5DB8D8220000000000000000")),
            Step::Value(json!(443))
        );
        let v6 = "0A000050000000000000000000000000000000000000000100000000";
        assert_eq!(ip.apply(json!(v6)), Step::Value(json!("::1")));
        assert_eq!(port.apply(json!(v6)), Step::Value(json!(80)));
        assert_eq!(ip.apply(json!("01002F746D70")), Step::Absent);
        assert_eq!(ip.apply(json!("zz")), Step::Absent);
        let tc = t("trim_chars", json!({"chars": "{}"}));
        assert_eq!(tc.apply(json!("{AB-cd}")), Step::Value(json!("AB-cd")));
        let wrap = t("format", json!({"template": "{{}}"}));
        assert_eq!(wrap.apply(json!("ab")), Step::Value(json!("{ab}")));
    }

    /// The borrowed fast path gives exactly what the owned path gives, for every transform
    /// kind over inputs that exercise each branch (unchanged, changed, absent, rejected).
    #[test]
    fn borrowed_path_equals_owned_path() {
        let specs = [
            ("trim", json!({})),
            ("lowercase", json!({})),
            ("uppercase", json!({})),
            ("to_string", json!({})),
            ("parse_int", json!({})),
            ("parse_int", json!({"hex": true, "min": 0, "max": 65535})),
            ("parse_int", json!({"octal": true})),
            (
                "parse_time",
                json!({"formats": ["rfc3339", "space_utc", "epoch_s", "epoch_ms"]}),
            ),
            ("absent_if_in_set", json!({"set": "ph"})),
            (
                "absent_if_in_set",
                json!({"set": "ph", "ignore_case": true}),
            ),
            ("split_domain_user", json!({"part": "domain"})),
            ("split_domain_user", json!({"part": "user"})),
            ("map", json!({"table": "proto"})),
            ("map", json!({"table": "proto", "ignore_case": true})),
            (
                "map",
                json!({"entries": {"a": null, "b": 2}, "default": 99}),
            ),
            (
                "map",
                json!({"entries": {"59": "execve"}, "passthrough": true}),
            ),
            ("basename", json!({})),
            ("basename", json!({"ignore_trailing": true})),
            ("dirname", json!({})),
            ("trim_chars", json!({"chars": "{}"})),
            ("strip_prefix", json!({"prefix": "0x"})),
            ("format", json!({"template": "<{}>"})),
            ("kv_get", json!({"key": "a"})),
            ("split", json!({})),
            ("ip", json!({})),
            ("join", json!({})),
            ("first", json!({})),
        ];
        let inputs = [
            json!(""),
            json!(" "),
            json!("-"),
            json!("abc"),
            json!("  Mixed Case\t"),
            json!("TCP"),
            json!("tcp"),
            json!("Ünïcode-TCP"),
            json!("NT AUTHORITY\\SYSTEM"),
            json!("\\user"),
            json!("domain\\"),
            json!("C:\\Windows\\System32\\cmd.exe"),
            json!("/var/tmp/dir/"),
            json!("/"),
            json!("file"),
            json!("{AB-cd}"),
            json!("0x3f0"),
            json!("0100644"),
            json!("70000"),
            json!("-5"),
            json!("59"),
            json!("a"),
            json!("b"),
            json!("2019-07-19T14:42:51.4462809Z"),
            json!("2019-07-19 14:42:51.257"),
            json!("1795343951.263"),
            json!("a=1 b=2"),
            json!("10.0.0.1"),
            json!(42),
            json!(true),
            json!(["a", "-", "TCP"]),
            json!(null),
        ];
        for (op, args) in &specs {
            let tr = t(op, args.clone());
            for v in &inputs {
                let owned = tr.apply(v.clone());
                let borrowed = tr.apply_cow(Cow::Borrowed(v)).into_step();
                assert_eq!(borrowed, owned, "{op} {args} on {v}");
                let owned_in = tr.apply_cow(Cow::Owned(v.clone())).into_step();
                assert_eq!(owned_in, owned, "{op} {args} on owned {v}");
            }
        }
    }

    /// An input a transform leaves unchanged comes back still borrowed from the record (the
    /// hot path copies a value only when a transform changes it).
    #[test]
    fn unchanged_input_stays_borrowed() {
        let cases = [
            ("trim", json!({}), json!("abc")),
            ("lowercase", json!({}), json!("abc")),
            ("uppercase", json!({}), json!("ABC")),
            ("to_string", json!({}), json!("abc")),
            ("absent_if_in_set", json!({"set": "ph"}), json!("x")),
            ("absent_if_in_set", json!({"set": "ph"}), json!(42)),
            ("split_domain_user", json!({"part": "user"}), json!("bob")),
            (
                "map",
                json!({"entries": {}, "passthrough": true}),
                json!(59),
            ),
            ("basename", json!({}), json!("file")),
            ("trim_chars", json!({"chars": "{}"}), json!("AB")),
            ("strip_prefix", json!({"prefix": "0x"}), json!("abc")),
            ("first", json!({}), json!("a")),
        ];
        for (op, args, v) in &cases {
            let step = t(op, args.clone()).apply_cow(Cow::Borrowed(v));
            assert!(
                matches!(&step, CowStep::Value(Cow::Borrowed(x)) if *x == v),
                "{op} on {v}: {step:?}"
            );
        }
    }

    #[test]
    fn compile_errors() {
        let env = CompileEnv {
            sets: &BTreeMap::new(),
            tables: &BTreeMap::new(),
        };
        let none = BTreeMap::new();
        assert!(Transform::compile("nope", &none, &env).is_err());
        assert!(Transform::compile("absent_if_in_set", &none, &env).is_err());
        let bad: BTreeMap<String, Value> = BTreeMap::from([("bogus".into(), json!(1))]);
        assert!(Transform::compile("trim", &bad, &env).is_err());
    }
}
