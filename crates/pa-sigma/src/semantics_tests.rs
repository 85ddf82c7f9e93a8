//! Unit tests of detection semantics: every modifier and condition form, through loading,
//! compilation, the reference evaluator and the fast engine (which must agree).

use crate::*;
use base64::Engine as _;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;

fn load(detection: &str) -> RuleSet {
    let text = format!("title: t\nid: r1\nlogsource:\n  product: windows\ndetection:\n{detection}");
    let set = load_str(Path::new("t.yml"), &text);
    assert!(set.issues.is_empty(), "load issues: {:?}", set.issues);
    set
}

fn compiled_with(detection: &str, opts: &CompileOptions) -> Result<CompiledRule, NonExecutable> {
    let set = load(detection);
    compile(&set.rules[0], &IdentityResolver, opts)
}

fn compiled(detection: &str) -> CompiledRule {
    compiled_with(detection, &CompileOptions::default()).expect("compiles")
}

fn reason(detection: &str) -> String {
    compiled_with(detection, &CompileOptions::default())
        .expect_err("must not compile")
        .reason_code
}

/// Evaluate with both evaluators; they must agree.
fn hit(rule: &CompiledRule, ev: Value) -> bool {
    let e = JsonEvent::new(ev);
    let reference = rule.eval(&e);
    let engine = Engine::new(vec![rule.clone()]).expect("engine");
    let fast = !engine.matches(&e).is_empty();
    assert_eq!(
        reference, fast,
        "reference and fast engine disagree on {:?}",
        e.value
    );
    let ex = explain(rule, &e);
    assert_eq!(ex.matched, reference, "explanation disagrees");
    reference
}

#[test]
fn equality_case_insensitive_by_default_and_cased() {
    let r = compiled("  sel:\n    Image: 'C:\\Windows\\cmd.exe'\n  condition: sel\n");
    assert!(hit(&r, json!({"Image": "c:\\windows\\CMD.EXE"})));
    assert!(!hit(&r, json!({"Image": "c:\\windows\\cmd.exe2"})));
    // a single needle that both starts and ends the value is still not an exact match
    let r = compiled("  sel:\n    V: 'ab'\n  condition: sel\n");
    assert!(!hit(&r, json!({"V": "abab"})));
    assert!(hit(&r, json!({"V": "AB"})));
    let r = compiled(
        "  sel:\n    V|startswith: 'ab'\n  s2:\n    V|endswith: 'ab'\n  condition: sel and s2\n",
    );
    assert!(hit(&r, json!({"V": "abxab"})));
    assert!(!hit(&r, json!({"V": "abx"})));
    let r = compiled("  sel:\n    Image|cased: 'Cmd.exe'\n  condition: sel\n");
    assert!(hit(&r, json!({"Image": "Cmd.exe"})));
    assert!(!hit(&r, json!({"Image": "cmd.exe"})));
    let r = compiled("  sel:\n    Image|cased|contains: 'Cmd'\n  condition: sel\n");
    assert!(hit(&r, json!({"Image": "x Cmd y"})));
    assert!(!hit(&r, json!({"Image": "x cmd y"})));
}

#[test]
fn contains_startswith_endswith_all() {
    let r = compiled("  sel:\n    CommandLine|contains: 'whoami'\n  condition: sel\n");
    assert!(hit(&r, json!({"CommandLine": "cmd /c WHOAMI /all"})));
    assert!(!hit(&r, json!({"CommandLine": "cmd"})));
    let r = compiled("  sel:\n    Image|startswith: 'C:\\Temp'\n  condition: sel\n");
    assert!(hit(&r, json!({"Image": "c:\\temp\\x.exe"})));
    assert!(!hit(&r, json!({"Image": "d:\\c:\\temp"})));
    let r = compiled("  sel:\n    Image|endswith: '\\x.exe'\n  condition: sel\n");
    assert!(hit(&r, json!({"Image": "c:\\temp\\X.exe"})));
    assert!(!hit(&r, json!({"Image": "c:\\temp\\x.exe.bak"})));
    let r = compiled(
        "  sel:\n    CommandLine|contains|all:\n      - ' -a '\n      - ' -b '\n  condition: sel\n",
    );
    assert!(hit(&r, json!({"CommandLine": "x -b  -a y"})));
    assert!(!hit(&r, json!({"CommandLine": "x -a y"})));
    let r = compiled(
        "  sel:\n    CommandLine|contains:\n      - ' -a '\n      - ' -b '\n  condition: sel\n",
    );
    assert!(hit(&r, json!({"CommandLine": "x -a y"})));
}

#[test]
fn wildcards_and_escapes() {
    let r = compiled("  sel:\n    Image: 'C:\\\\*\\prog?.exe'\n  condition: sel\n");
    assert!(hit(&r, json!({"Image": "c:\\a\\b\\progA.exe"})));
    assert!(!hit(&r, json!({"Image": "c:\\a\\prog.exe"})));
    // escaped star is a literal star
    let r = compiled("  sel:\n    Value: 'a\\*b'\n  condition: sel\n");
    assert!(hit(&r, json!({"Value": "a*b"})));
    assert!(!hit(&r, json!({"Value": "axxb"})));
    // escaped backslash followed by a wildcard: a backslash then anything
    let r = compiled("  sel:\n    Value: 'a\\\\*'\n  condition: sel\n");
    assert!(hit(&r, json!({"Value": "a\\zzz"})));
    assert!(!hit(&r, json!({"Value": "azzz"})));
    // escaped question mark
    let r = compiled("  sel:\n    Value: 'why\\?'\n  condition: sel\n");
    assert!(hit(&r, json!({"Value": "why?"})));
    assert!(!hit(&r, json!({"Value": "whyX"})));
    // a lone `*` matches any value but not a missing field
    let r = compiled("  sel:\n    Value: '*'\n  condition: sel\n");
    assert!(hit(&r, json!({"Value": ""})));
    assert!(!hit(&r, json!({"Other": "x"})));
}

#[test]
fn keywords_lists_strings_and_all() {
    let r = compiled(
        "  keywords:\n    - 'EVILSERVICE'\n    - 'svchost.exe -n evil'\n  condition: keywords\n",
    );
    assert!(hit(&r, json!({"msg": "started evilservice now"})));
    assert!(hit(
        &r,
        json!({"a": {"b": ["x", "run svchost.exe -n evil"]}})
    ));
    assert!(!hit(&r, json!({"msg": "svchost.exe -n good"})));
    let r = compiled(
        "  keywords:\n    '|all':\n      - 'Oab'\n      - ' -ExternalUrl '\n  condition: keywords\n",
    );
    assert!(hit(&r, json!({"a": "set-oab", "b": "x -externalurl y"})));
    assert!(!hit(&r, json!({"a": "set-oab"})));
    let r = compiled("  kw: 'mimikatz'\n  condition: kw\n");
    assert!(hit(&r, json!({"x": "MIMIKATZ.exe"})));
}

/// The engine's quick keyword search (ASCII case ignored, on the raw text) agrees with the
/// reference on text that folds by Unicode rules: the Kelvin sign and `İ` fold to ASCII, other
/// non-ASCII letters do not, and a non-ASCII needle turns the quick search off for such text.
#[test]
fn keywords_over_unicode_text() {
    let r = compiled("  keywords:\n    - 'kernel'\n    - 'taxi'\n  condition: keywords\n");
    assert!(hit(&r, json!({"m": "\u{212A}ERNEL32"})));
    // `İ` folds to `i` and a combining dot
    assert!(hit(&r, json!({"m": "a TAX\u{130} b"})));
    assert!(hit(&r, json!({"m": "café KeRnEl"})));
    assert!(!hit(&r, json!({"m": "café kérnel"})));
    let r = compiled("  keywords:\n    - 'straße'\n    - '*wild*card*'\n  condition: keywords\n");
    assert!(hit(&r, json!({"m": "STRAẞE"})));
    assert!(hit(&r, json!({"m": "a WILD-CARD b"})));
    assert!(!hit(&r, json!({"m": "STRASSE wild"})));
    let r = compiled(
        "  keywords:\n    - 'mimikatz'\n  sel:\n    x: 1\n  condition: sel and not keywords\n",
    );
    assert!(hit(&r, json!({"x": 1, "m": "notepad"})));
    assert!(!hit(&r, json!({"x": 1, "m": "MIMI\u{212A}ATZ"})));
}

#[test]
fn null_empty_missing_and_exists() {
    let r = compiled("  sel:\n    A: 1\n  f:\n    B: null\n  condition: sel and f\n");
    assert!(hit(&r, json!({"A": 1})), "missing counts as null");
    assert!(hit(&r, json!({"A": 1, "B": null})), "explicit null");
    assert!(
        !hit(&r, json!({"A": 1, "B": ""})),
        "empty string is not null"
    );
    let r = compiled("  sel:\n    B: ''\n  condition: sel\n");
    assert!(hit(&r, json!({"B": ""})));
    assert!(!hit(&r, json!({})));
    assert!(!hit(&r, json!({"B": null})));
    let r = compiled("  sel:\n    A: 1\n  f:\n    B: null\n  condition: sel and not f\n");
    assert!(hit(&r, json!({"A": 1, "B": "x"})));
    assert!(!hit(&r, json!({"A": 1})));
    let r = compiled("  sel:\n    B|exists: true\n  condition: sel\n");
    assert!(hit(&r, json!({"B": null})), "exists only checks presence");
    assert!(hit(&r, json!({"B": ""})));
    assert!(!hit(&r, json!({"C": 1})));
    let r = compiled("  sel:\n    B|exists: false\n  condition: sel\n");
    assert!(hit(&r, json!({"C": 1})));
    assert!(!hit(&r, json!({"B": "x"})));
}

#[test]
fn numbers_booleans_and_comparisons() {
    let r = compiled("  sel:\n    EventID:\n      - 4688\n      - 1\n  condition: sel\n");
    assert!(hit(&r, json!({"EventID": 4688})));
    assert!(hit(&r, json!({"EventID": "1"})));
    assert!(!hit(&r, json!({"EventID": 46881})));
    let r = compiled("  sel:\n    Signed: true\n  condition: sel\n");
    assert!(hit(&r, json!({"Signed": true})));
    assert!(hit(&r, json!({"Signed": "True"})));
    assert!(!hit(&r, json!({"Signed": false})));
    let r = compiled("  sel:\n    Size|gt: 100\n  condition: sel\n");
    assert!(hit(&r, json!({"Size": 101})));
    assert!(hit(&r, json!({"Size": " 150 "})), "string-typed number");
    assert!(!hit(&r, json!({"Size": "100"})));
    assert!(!hit(&r, json!({"Size": "big"})));
    let r = compiled("  sel:\n    Size|gte: 100\n  condition: sel\n");
    assert!(hit(&r, json!({"Size": "100"})));
    let r = compiled("  sel:\n    Size|lt: 1.5\n  condition: sel\n");
    assert!(hit(&r, json!({"Size": "1.25"})));
    assert!(!hit(&r, json!({"Size": 2})));
    let r = compiled("  sel:\n    Size|lte: '10'\n  condition: sel\n");
    assert!(hit(&r, json!({"Size": 10})));
    assert!(!hit(&r, json!({"Size": 11})));
}

#[test]
fn leading_zero_values_are_text_as_written() {
    // registry_set_susp_keyboard_layout_load writes `- 00000429` unquoted: the layout id, not 429.
    let r = compiled("  sel:\n    Details|contains:\n      - 00000429\n  condition: sel\n");
    assert!(hit(&r, json!({"Details": "DWORD 00000429"})));
    assert!(!hit(&r, json!({"Details": "h 429 t"})));
    let r = compiled("  sel:\n    Mode: 0755\n  condition: sel\n");
    assert!(hit(&r, json!({"Mode": "0755"})));
    assert!(!hit(&r, json!({"Mode": 755})));
    // still a number for the numeric modifiers
    let r = compiled("  sel:\n    Size|gt: 0100\n  condition: sel\n");
    assert!(hit(&r, json!({"Size": 101})));
    assert!(!hit(&r, json!({"Size": 99})));
}

#[test]
fn time_modifiers() {
    let r = compiled("  sel:\n    UtcTime|hour|gte: 22\n  condition: sel\n");
    assert!(hit(&r, json!({"UtcTime": "2025-11-27 23:10:00.000"})));
    assert!(!hit(&r, json!({"UtcTime": "2025-11-27 07:10:00.000"})));
    assert!(!hit(&r, json!({"UtcTime": "not a date"})));
    let r = compiled("  sel:\n    UtcTime|month:\n      - 1\n      - 12\n  condition: sel\n");
    assert!(hit(&r, json!({"UtcTime": "2025-12-01T00:00:00Z"})));
    assert!(!hit(&r, json!({"UtcTime": "2025-11-01T00:00:00Z"})));
    assert_eq!(
        reason("  sel:\n    T|hour|contains: 3\n  condition: sel\n"),
        "backend_compile_error"
    );
    assert_eq!(
        reason("  sel:\n    T|hour: late\n  condition: sel\n"),
        "backend_compile_error"
    );
}

#[test]
fn neq_modifier() {
    let r = compiled(
        "  sel:\n    User|neq:\n      - SYSTEM\n      - LOCAL SERVICE\n  condition: sel\n",
    );
    assert!(hit(&r, json!({"User": "bob"})));
    assert!(!hit(&r, json!({"User": "system"})));
    assert!(!hit(&r, json!({"User": "local service"})));
    assert!(!hit(&r, json!({})), "missing field is not different");
}

#[test]
fn windash_all_five_dashes() {
    let r = compiled("  sel:\n    CommandLine|windash|contains: ' -enc '\n  condition: sel\n");
    for d in ["-", "/", "\u{2013}", "\u{2014}", "\u{2015}"] {
        assert!(
            hit(
                &r,
                json!({"CommandLine": format!("powershell {d}enc AAAA")})
            ),
            "dash {d:?}"
        );
    }
    assert!(!hit(&r, json!({"CommandLine": "powershell +enc AAAA"})));
    let r = compiled("  sel:\n    CommandLine|contains|windash: '/s'\n  condition: sel\n");
    assert!(hit(&r, json!({"CommandLine": "x -S y"})));
    assert!(hit(&r, json!({"CommandLine": "x \u{2014}s"})));
    assert!(!hit(&r, json!({"CommandLine": "x s"})));
}

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

#[test]
fn base64_plain_and_offsets() {
    let r = compiled("  sel:\n    Data|base64: 'cmd'\n  condition: sel\n");
    assert!(hit(&r, json!({"Data": "Y21k"})));
    assert!(!hit(&r, json!({"Data": "Y21kZA=="})));
    let r = compiled(
        "  sel:\n    CommandLine|base64offset|contains: 'Invoke-Mimikatz'\n  condition: sel\n",
    );
    for prefix in ["", "a", "ab", "abc", "abcd"] {
        let encoded = b64(format!("{prefix}Invoke-Mimikatz -DumpCreds").as_bytes());
        assert!(
            hit(
                &r,
                json!({"CommandLine": format!("powershell -enc {encoded}")})
            ),
            "offset {}",
            prefix.len() % 3
        );
    }
    let other = b64(b"Invoke-Something -DumpCreds");
    assert!(!hit(
        &r,
        json!({"CommandLine": format!("powershell -enc {other}")})
    ));
}

fn utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect()
}

fn utf16be(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(|u| u.to_be_bytes()).collect()
}

#[test]
fn utf16_with_base64offset() {
    for (m, enc) in [
        ("utf16le", utf16le as fn(&str) -> Vec<u8>),
        ("wide", utf16le),
        ("utf16be", utf16be),
    ] {
        let r = compiled(&format!(
            "  sel:\n    CommandLine|{m}|base64offset|contains: 'IEX ('\n  condition: sel\n"
        ));
        for prefix in ["", "x", "xy"] {
            let mut bytes = prefix.as_bytes().to_vec();
            bytes.extend(enc("$a = IEX (New-Object Net.WebClient)"));
            assert!(
                hit(&r, json!({"CommandLine": b64(&bytes)})),
                "{m} offset {}",
                prefix.len()
            );
        }
        let wrong = b64(&enc("$a = IEX New-Object"));
        assert!(!hit(&r, json!({"CommandLine": wrong})), "{m}");
    }
    // utf16 (with BOM) then base64
    let r = compiled("  sel:\n    Data|utf16|base64: 'ab'\n  condition: sel\n");
    assert!(hit(
        &r,
        json!({"Data": b64(&[0xFF, 0xFE, b'a', 0, b'b', 0])})
    ));
}

#[test]
fn cidr_v4_and_v6() {
    let r = compiled(
        "  sel:\n    DestinationIp|cidr:\n      - 10.0.0.0/8\n      - 'fd00::/8'\n  condition: sel\n",
    );
    assert!(hit(&r, json!({"DestinationIp": "10.20.30.40"})));
    assert!(hit(&r, json!({"DestinationIp": "fd12::1"})));
    assert!(!hit(&r, json!({"DestinationIp": "192.168.0.1"})));
    assert!(!hit(&r, json!({"DestinationIp": "fe80::1"})));
    assert_eq!(
        reason("  sel:\n    Ip|cidr: '10.0.0.0/99'\n  condition: sel\n"),
        "backend_compile_error"
    );
}

#[test]
fn regex_and_flags() {
    let r = compiled("  sel:\n    CommandLine|re: 'foo.*bar'\n  condition: sel\n");
    assert!(hit(&r, json!({"CommandLine": "xx foo and bar"})));
    assert!(
        !hit(&r, json!({"CommandLine": "FOO and BAR"})),
        "re is case-sensitive"
    );
    let r = compiled("  sel:\n    CommandLine|re|i: 'foo.*bar'\n  condition: sel\n");
    assert!(hit(&r, json!({"CommandLine": "FOO and BAR"})));
    let r = compiled("  sel:\n    CommandLine|re|m: '^bar$'\n  condition: sel\n");
    assert!(hit(&r, json!({"CommandLine": "foo\nbar\nbaz"})));
    let r = compiled("  sel:\n    CommandLine|re: '^bar$'\n  condition: sel\n");
    assert!(!hit(&r, json!({"CommandLine": "foo\nbar\nbaz"})));
    let r = compiled("  sel:\n    CommandLine|re|s: 'foo.bar'\n  condition: sel\n");
    assert!(hit(&r, json!({"CommandLine": "foo\nbar"})));
    let r = compiled("  sel:\n    CommandLine|re: 'foo.bar'\n  condition: sel\n");
    assert!(!hit(&r, json!({"CommandLine": "foo\nbar"})));
    let e = compiled_with(
        "  sel:\n    CommandLine|re: 'foo(?!bar)'\n  condition: sel\n",
        &CompileOptions::default(),
    )
    .expect_err("look-ahead");
    assert_eq!(e.reason_code, "unsupported_regex");
    assert!(e.message.contains("CommandLine") && e.file.ends_with("t.yml") && e.line == 1);
    assert_eq!(
        reason("  sel:\n    A|re: '(a)\\1'\n  condition: sel\n"),
        "unsupported_regex"
    );
}

#[test]
fn fieldref_modifier() {
    let r = compiled("  sel:\n    TargetUser|fieldref: SubjectUser\n  condition: sel\n");
    assert!(hit(&r, json!({"TargetUser": "Bob", "SubjectUser": "bob"})));
    assert!(!hit(
        &r,
        json!({"TargetUser": "Bob", "SubjectUser": "alice"})
    ));
    assert!(!hit(&r, json!({"TargetUser": "Bob"})));
    let r = compiled("  sel:\n    CommandLine|fieldref|contains: Image\n  condition: sel\n");
    assert!(hit(
        &r,
        json!({"CommandLine": "run C:\\x.exe now", "Image": "c:\\X.exe"})
    ));
    assert!(!hit(
        &r,
        json!({"CommandLine": "run y.exe", "Image": "x.exe"})
    ));
}

#[test]
fn expand_with_and_without_placeholders() {
    let det = "  sel:\n    User|expand: '%Admins%'\n  condition: sel\n";
    let e = compiled_with(det, &CompileOptions::default()).expect_err("unresolved");
    assert_eq!(e.reason_code, "unsupported_placeholder");
    assert!(e.message.contains("%Admins%"));
    let mut placeholders = BTreeMap::new();
    placeholders.insert(
        "Admins".to_owned(),
        vec!["root".to_owned(), "adm_*".to_owned()],
    );
    let opts = CompileOptions { placeholders };
    let r = compiled_with(det, &opts).expect("resolved");
    assert!(hit(&r, json!({"User": "ROOT"})));
    assert!(hit(&r, json!({"User": "adm_bob"})));
    assert!(!hit(&r, json!({"User": "bob"})));
    // without `expand`, percent signs are literal
    let r = compiled("  sel:\n    User: '%Admins%'\n  condition: sel\n");
    assert!(hit(&r, json!({"User": "%admins%"})));
}

#[test]
fn unsupported_modifiers_named() {
    let e = compiled_with(
        "  sel:\n    A|frobnicate: x\n  condition: sel\n",
        &CompileOptions::default(),
    )
    .expect_err("unknown");
    assert_eq!(e.reason_code, "unsupported_modifier");
    assert!(e.message.contains("frobnicate"));
    assert_eq!(
        reason("  sel:\n    A|i: x\n  condition: sel\n"),
        "backend_compile_error"
    );
    assert_eq!(
        reason("  sel:\n    A|re|cidr: x\n  condition: sel\n"),
        "backend_compile_error"
    );
    assert_eq!(
        reason("  sel:\n    A|base64: 'a*'\n  condition: sel\n"),
        "backend_compile_error"
    );
    assert_eq!(
        reason("  sel:\n    A|gt: abc\n  condition: sel\n"),
        "backend_compile_error"
    );
}

#[test]
fn condition_forms() {
    let det = "  selection_a:\n    A: 1\n  selection_b:\n    B: 1\n  filter_x:\n    X: 1\n  _meta:\n    M: 1\n";
    let r = compiled(&format!(
        "{det}  condition: 1 of selection_* and not filter_x\n"
    ));
    assert!(hit(&r, json!({"B": 1})));
    assert!(!hit(&r, json!({"B": 1, "X": 1})));
    let r = compiled(&format!("{det}  condition: all of selection_*\n"));
    assert!(!hit(&r, json!({"B": 1})));
    assert!(hit(&r, json!({"A": 1, "B": 1})));
    let r = compiled(&format!("{det}  condition: all of them\n"));
    assert!(
        hit(&r, json!({"A": 1, "B": 1, "X": 1})),
        "`_meta` is not part of them"
    );
    let r = compiled(&format!("{det}  condition: 1 of them\n"));
    assert!(!hit(&r, json!({"M": 1})), "`_meta` is not part of them");
    let r = compiled(&format!("{det}  condition: not selection_a\n"));
    assert!(hit(&r, json!({"Q": 1})));
    assert!(!hit(&r, json!({"A": 1})));
    let r = compiled(&format!(
        "{det}  condition:\n    - selection_a\n    - selection_b and filter_x\n"
    ));
    assert!(hit(&r, json!({"A": 1})));
    assert!(hit(&r, json!({"B": 1, "X": 1})));
    assert!(!hit(&r, json!({"B": 1})));
    let r = compiled(&format!(
        "{det}  condition: selection_a or (selection_b and not filter_x)\n"
    ));
    assert!(hit(&r, json!({"B": 1})));
    assert!(!hit(&r, json!({"B": 1, "X": 1})));
    assert_eq!(
        reason(&format!("{det}  condition: selection_a and missing\n")),
        "backend_compile_error"
    );
    assert_eq!(
        reason(&format!("{det}  condition: 1 of nomatch*\n")),
        "backend_compile_error"
    );
    assert_eq!(
        reason(&format!(
            "{det}  condition: selection_a | count() by A > 5\n"
        )),
        "unsupported_aggregation"
    );
}

#[test]
fn list_of_maps_is_or() {
    let r = compiled(
        "  sel:\n    - Image|endswith: '\\a.exe'\n    - Description|contains: 'test'\n  condition: sel\n",
    );
    assert!(hit(&r, json!({"Image": "c:\\a.exe"})));
    assert!(hit(&r, json!({"Description": "a TEST"})));
    assert!(!hit(&r, json!({"Image": "c:\\b.exe"})));
    let r = compiled("  sel:\n    A: 1\n    B: 2\n  condition: sel\n");
    assert!(!hit(&r, json!({"A": 1})));
    assert!(hit(&r, json!({"A": 1, "B": 2})));
}

#[test]
fn arrays_in_events_any_element() {
    let r = compiled("  sel:\n    tags|contains: 'evil'\n  condition: sel\n");
    assert!(hit(&r, json!({"tags": ["good", "very evil"]})));
    assert!(!hit(&r, json!({"tags": ["good"]})));
    let r = compiled("  sel:\n    process.file.name: 'sh'\n  condition: sel\n");
    assert!(hit(&r, json!({"process": {"file": {"name": "SH"}}})));
}

#[test]
fn resolver_refusal_makes_rule_non_executable() {
    struct Refuse;
    impl FieldResolver for Refuse {
        fn resolve(&self, f: &str) -> Result<String, Unresolved> {
            if f == "Image" {
                Ok("process.file.path".into())
            } else {
                Err(Unresolved {
                    reason_code: "unmapped_field".into(),
                    message: format!("no OCSF path for {f}"),
                })
            }
        }
    }
    let set = load("  sel:\n    Image: x\n  condition: sel\n");
    let c = compile(&set.rules[0], &Refuse, &CompileOptions::default()).expect("maps");
    assert!(hit(&c, json!({"process": {"file": {"path": "X"}}})));
    let set = load("  sel:\n    Image: x\n    Foo: y\n  condition: sel\n");
    let e = compile(&set.rules[0], &Refuse, &CompileOptions::default()).expect_err("refused");
    assert_eq!(e.reason_code, "unmapped_field");
    assert!(e.message.contains("Foo"));
}

#[test]
fn filters_apply_to_named_rules() {
    let text = "title: Rar use\nid: 6f3e2987-db24-4c78-a860-b4f4095a7095\nlogsource:\n  category: process_creation\n  product: windows\ndetection:\n  selection:\n    Image|endswith: '\\rar.exe'\n  condition: selection\n---\ntitle: Other\nid: other-1\nlogsource:\n  category: process_creation\n  product: windows\ndetection:\n  selection:\n    Image|endswith: '\\rar.exe'\n  condition: selection\n---\ntitle: Filter admins\nlogsource:\n  category: process_creation\n  product: windows\nfilter:\n  rules:\n    - 6f3e2987-db24-4c78-a860-b4f4095a7095\n  selection:\n    User|startswith: 'adm_'\n  condition: selection\n";
    let set = load_str(Path::new("f.yml"), text);
    assert!(set.issues.is_empty(), "{:?}", set.issues);
    assert_eq!(set.filter_documents, 1);
    assert_eq!(set.rules[0].filters.len(), 1);
    assert!(set.rules[1].filters.is_empty());
    let filtered =
        compile(&set.rules[0], &IdentityResolver, &CompileOptions::default()).expect("c");
    let plain = compile(&set.rules[1], &IdentityResolver, &CompileOptions::default()).expect("c");
    let admin = json!({"Image": "c:\\rar.exe", "User": "adm_joe"});
    let user = json!({"Image": "c:\\rar.exe", "User": "joe"});
    assert!(!hit(&filtered, admin.clone()));
    assert!(hit(&filtered, user.clone()));
    assert!(hit(&plain, admin));
    assert!(hit(&plain, user));
    // a filter whose logsource does not fit the rule is reported, not applied
    let text2 = text.replace(
        "title: Filter admins\nlogsource:\n  category: process_creation",
        "title: Filter admins\nlogsource:\n  category: network_connection",
    );
    let set2 = load_str(Path::new("f.yml"), &text2);
    assert!(set2.rules[0].filters.is_empty());
    assert_eq!(set2.issues.len(), 1);
    // a filter naming an unknown rule is reported
    let set3 = load_str(
        Path::new("f.yml"),
        &text.replace("- 6f3e2987", "- 00000000"),
    );
    assert!(set3.issues[0].message.contains("not in the set"));
}

#[test]
fn collection_global_rules_compile() {
    let text = "action: global\ntitle: Global\nlogsource:\n  product: windows\ndetection:\n  filter:\n    User: SYSTEM\n  condition: selection and not filter\n---\nid: g1\ndetection:\n  selection:\n    Image|endswith: '\\a.exe'\n---\nid: g2\ndetection:\n  selection:\n    Image|endswith: '\\b.exe'\n";
    let set = load_str(Path::new("g.yml"), text);
    assert!(set.issues.is_empty(), "{:?}", set.issues);
    assert_eq!(set.rules.len(), 2);
    let a = compile(&set.rules[0], &IdentityResolver, &CompileOptions::default()).expect("c");
    let b = compile(&set.rules[1], &IdentityResolver, &CompileOptions::default()).expect("c");
    assert!(hit(&a, json!({"Image": "x\\a.exe", "User": "bob"})));
    assert!(!hit(&a, json!({"Image": "x\\a.exe", "User": "system"})));
    assert!(!hit(&a, json!({"Image": "x\\b.exe", "User": "bob"})));
    assert!(hit(&b, json!({"Image": "x\\b.exe", "User": "bob"})));
}

#[test]
fn explanation_names_items_and_values() {
    let r = compiled("  sel:\n    Image|endswith: '\\a.exe'\n    User: bob\n  condition: sel\n");
    let ex = explain(
        &r,
        &JsonEvent::new(json!({"Image": "c:\\a.exe", "User": "alice"})),
    );
    assert!(!ex.matched);
    let items = &ex.selections[0].branches[0].items;
    assert_eq!(items[0].field.as_deref(), Some("Image"));
    assert_eq!(items[0].modifiers, vec!["endswith"]);
    assert!(items[0].matched);
    assert_eq!(items[0].matched_patterns, vec!["endswith \"\\\\a.exe\""]);
    assert!(!items[1].matched);
    assert_eq!(items[1].values_seen, vec!["alice"]);
    assert!(items[1].matched_patterns.is_empty());
    let text = serde_json::to_string(&ex).expect("serializes");
    assert!(text.contains("\"values_seen\""));
}

#[test]
fn engine_many_rules_indices_ascending() {
    let mut rules = Vec::new();
    for (i, det) in [
        "  s:\n    A|contains: 'foo'\n  condition: s\n",
        "  s:\n    A|startswith: 'foo'\n  condition: s\n",
        "  s:\n    A|endswith: 'foo'\n  condition: s\n",
        "  s:\n    A: 'foo'\n  condition: s\n",
        "  s:\n    A|contains: 'bar'\n  condition: not s\n",
        "  s:\n    B: null\n  condition: s\n",
    ]
    .iter()
    .enumerate()
    {
        let mut r = compiled(det);
        r.id = Some(format!("r{i}"));
        rules.push(r);
    }
    let engine = Engine::new(rules.clone()).expect("engine");
    let cases = [
        (json!({"A": "foo"}), vec![0, 1, 2, 3, 4, 5]),
        (json!({"A": "xfoo"}), vec![0, 2, 4, 5]),
        (json!({"A": "foox", "B": 1}), vec![0, 1, 4]),
        (json!({"A": "bar foo"}), vec![0, 2, 5]),
    ];
    for (ev, want) in cases {
        let e = JsonEvent::new(ev);
        assert_eq!(engine.matches(&e), want, "{:?}", e.value);
        let reference: Vec<usize> = (0..rules.len()).filter(|i| rules[*i].eval(&e)).collect();
        assert_eq!(reference, want);
    }
}

#[test]
fn engine_and_rules_are_send_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Engine>();
    assert_send_sync::<CompiledRule>();
    assert_send_sync::<RuleSet>();
}

#[test]
fn random_conditions_and_values_never_panic() {
    let pieces = [
        "sel", "sel*", "_x", "not", "and", "or", "(", ")", "1", "2", "0", "all", "of", "them", "|",
        "near", "count(", ">", "*", "filter", "\\", "%a%", "?", "-", "/", "'",
    ];
    let mut seed = 42u64;
    let mut next = || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) as usize
    };
    let mut compiled_ok = 0;
    for _ in 0..3000 {
        let n = 1 + next() % 8;
        let valid = [
            "sel",
            "sel and not filter",
            "1 of sel*",
            "all of them",
            "sel2 or (sel and _x)",
            "not 1 of filter*",
            "2 of them",
        ];
        let cond: Vec<&str> = if next() % 2 == 0 {
            vec![valid[next() % valid.len()]]
        } else {
            (0..n).map(|_| pieces[next() % pieces.len()]).collect()
        };
        let value: String = (0..next() % 6)
            .map(|_| pieces[next() % pieces.len()])
            .collect();
        let mods = [
            "",
            "|contains",
            "|windash",
            "|base64offset|contains",
            "|expand",
            "|re",
            "|cidr",
            "|gt",
            "|all",
        ];
        let m = mods[next() % mods.len()];
        let text = format!(
            "title: fuzz\ndetection:\n  sel:\n    A{m}: {value:?}\n  sel2:\n    - 'x'\n  _x:\n    B: null\n  filter:\n    C|exists: true\n  condition: {}\n",
            cond.join(" ")
        );
        let set = load_str(Path::new("fuzz.yml"), &text);
        for r in &set.rules {
            if let Ok(c) = compile(r, &IdentityResolver, &CompileOptions::default()) {
                compiled_ok += 1;
                let _ = hit(&c, json!({"A": value, "B": "b", "C": 1, "m": "x y"}));
            }
        }
    }
    assert!(
        compiled_ok > 100,
        "the generator produced too few valid rules: {compiled_ok}"
    );
}
