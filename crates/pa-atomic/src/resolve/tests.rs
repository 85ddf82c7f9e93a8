//! One test per resolution rule.

use super::*;
use crate::model::{Technique, TestSelector};
use std::path::Path;

const ROOT: &str = "/opt/atomics";

/// A technique with one `sh` test whose inputs and commands are given.
fn technique(inputs: &[(&str, Option<&str>)], command: &str, extra: &str) -> Technique {
    let mut y = String::from(
        "attack_technique: T0001\ndisplay_name: d\natomic_tests:\n- name: t\n  auto_generated_guid: 00000000-0000-0000-0000-000000000001\n",
    );
    if !inputs.is_empty() {
        y.push_str("  input_arguments:\n");
        for (name, default) in inputs {
            y.push_str(&format!("    {name}:\n      type: string\n"));
            if let Some(d) = default {
                y.push_str(&format!("      default: {}\n", serde_json::json!(d)));
            }
        }
    }
    y.push_str(&format!(
        "  executor:\n    name: sh\n    command: {}\n{extra}",
        serde_json::json!(command)
    ));
    Technique::parse(Path::new("T0001.yaml"), &y).unwrap()
}

fn run(t: &Technique, args: &[(&str, &str)]) -> Result<ResolvedTest, AtomicError> {
    let sel = t.select(TestSelector::Number(1)).unwrap();
    let args: BTreeMap<String, String> = args
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    resolve(&sel, &args, ROOT)
}

#[test]
fn inputs_reach_a_fixed_point_through_other_inputs() {
    let t = technique(
        &[
            ("dir", Some("/tmp/#{name}")),
            ("file", Some("#{dir}/#{name}.txt")),
            ("name", Some("x")),
        ],
        "touch #{file}",
        "",
    );
    let r = run(&t, &[]).unwrap();
    assert_eq!(r.inputs["file"], "/tmp/x/x.txt");
    assert_eq!(r.command.actual, vec!["touch /tmp/x/x.txt"]);
    // pass 1: dir, file partly; pass 2: file complete; pass 3: nothing changes.
    assert_eq!(r.passes, 3);
    // A pass substitutes from the previous snapshot, so each pass doubles how far a chain of
    // references has been followed: 127 references settle on the eighth pass, 128 do not.
    let chain = |n: usize| {
        let names: Vec<String> = (0..=n).map(|i| format!("v{i}")).collect();
        let mut inputs: Vec<(String, String)> = (0..n)
            .map(|i| (names[i].clone(), format!("#{{{}}}", names[i + 1])))
            .collect();
        inputs.push((names[n].clone(), "end".into()));
        inputs
    };
    for (depth, ok) in [(127, true), (128, false)] {
        let c = chain(depth);
        let refs: Vec<(&str, Option<&str>)> = c
            .iter()
            .map(|(k, v)| (k.as_str(), Some(v.as_str())))
            .collect();
        let r = run(&technique(&refs, "echo #{v0}", ""), &[]);
        assert_eq!(r.is_ok(), ok, "depth {depth}: {r:?}");
        if let Ok(r) = &r {
            assert_eq!(r.passes, MAX_RESOLUTION_PASSES);
        }
        if let Err(e) = r {
            assert_eq!(e.reason_code(), "input_resolution_cycle_or_growth");
            assert!(e.to_string().contains("nested too deep"), "{e}");
        }
    }
}

#[test]
fn cycles_are_named() {
    let t = technique(
        &[
            ("a", Some("#{b}")),
            ("b", Some("x#{c}")),
            ("c", Some("#{a}")),
            ("d", Some("1")),
        ],
        "echo #{a}",
        "",
    );
    let e = run(&t, &[]).unwrap_err();
    assert_eq!(e.reason_code(), "input_resolution_cycle_or_growth");
    assert!(e.to_string().contains("a → b → c → a"), "{e}");
    // A self-reference that grows, and a swap that settles as two self-references.
    let grow = run(&technique(&[("a", Some("x#{a}"))], "echo #{a}", ""), &[]).unwrap_err();
    assert!(
        grow.to_string()
            .contains("a → a (unresolved after 8 passes)"),
        "{grow}"
    );
    let swap = technique(&[("a", Some("#{b}")), ("b", Some("#{a}"))], "echo", "");
    let e = run(&swap, &[]).unwrap_err();
    assert!(
        e.to_string()
            .contains("a → b → a (unresolved after 2 passes)"),
        "{e}"
    );
    // An override breaks the cycle.
    assert_eq!(run(&swap, &[("b", "B")]).unwrap().inputs["a"], "B");
}

#[test]
fn scenario_values_beat_defaults_and_are_substituted_too() {
    let t = technique(
        &[("who", Some("root")), ("greeting", Some("hi #{who}"))],
        "echo #{greeting}",
        "",
    );
    assert_eq!(run(&t, &[]).unwrap().command.actual, vec!["echo hi root"]);
    let r = run(&t, &[("who", "alice")]).unwrap();
    assert_eq!(r.command.actual, vec!["echo hi alice"]);
    let r = run(&t, &[("greeting", "bye #{who}")]).unwrap();
    assert_eq!(r.inputs["greeting"], "bye root");
    // A required input (null default) needs a scenario value.
    let req = technique(&[("who", None), ("x", None)], "echo #{who}", "");
    let e = run(&req, &[]).unwrap_err();
    assert_eq!(e.reason_code(), "missing_required_input");
    assert!(e.to_string().contains("input who, x has no default"), "{e}");
    assert_eq!(
        run(&req, &[("who", "bob"), ("x", "")])
            .unwrap()
            .command
            .actual,
        vec!["echo bob"]
    );
}

#[test]
fn undeclared_and_reserved_inputs_are_refused() {
    let t = technique(&[("who", Some("root"))], "echo #{who}", "");
    let e = run(&t, &[("zz", "1"), ("who", "x"), ("aa", "2")]).unwrap_err();
    assert_eq!(e.reason_code(), "undeclared_input");
    assert!(
        e.to_string()
            .starts_with("T0001.yaml:4: T0001 test #1 \"t\"")
            && e.to_string()
                .contains("input_args aa, zz not declared by the test (declared: who)"),
        "{e}"
    );
    let e = run(&t, &[("__pa_principal_alias_v1", "admin")]).unwrap_err();
    assert_eq!(e.reason_code(), "reserved_input_key_collision");
    let declared = technique(&[("__pa_action_requirements_v1", Some("x"))], "echo", "");
    assert_eq!(
        run(&declared, &[]).unwrap_err().reason_code(),
        "reserved_input_key_collision"
    );
}

#[test]
fn unresolvable_placeholders_are_named_with_their_field() {
    let t = technique(&[("who", Some("root"))], "echo #{whom}", "");
    let e = run(&t, &[]).unwrap_err();
    assert_eq!(e.reason_code(), "unresolved_placeholder");
    assert!(
        e.to_string()
            .contains("executor.command[0]: placeholder #{whom} names no input (declared: who)"),
        "{e}"
    );
    let t = technique(&[("who", Some("#{nobody}"))], "echo", "");
    let e = run(&t, &[]).unwrap_err();
    assert!(
        e.to_string()
            .contains("input_arguments.who.default: placeholder #{nobody}"),
        "{e}"
    );
    let e = run(&t, &[("who", "#{1x}")]).unwrap_err();
    assert_eq!(e.reason_code(), "unresolved_placeholder");
    assert!(
        e.to_string().contains(
            "input_args.who: pa.template_atomic.v1: invalid_placeholder_name_start at byte 2"
        ),
        "{e}"
    );
    let cleanup = technique(&[], "echo", "    cleanup_command: 'rm #{gone}'\n");
    let e = run(&cleanup, &[]).unwrap_err();
    assert!(e.to_string().contains("executor.cleanup_command[0]"), "{e}");
    let dep = technique(
        &[],
        "echo",
        "  dependencies:\n  - description: 'needs #{x}'\n    prereq_command: 'test -f #{x}'\n",
    );
    let e = run(&dep, &[]).unwrap_err();
    assert!(
        e.to_string().contains("dependencies[0].prereq_command[0]"),
        "{e}"
    );
}

#[test]
fn path_to_atomics_folder_becomes_the_root_or_the_token() {
    let t = technique(
        &[("script", Some("PathToAtomicsFolder/T0001/src/a.sh"))],
        "sh #{script} $PathToAtomicsFolder/x $PathtoAtomicsFolder/y ${HOME}/PathToAtomicsFolderZ",
        "    cleanup_command: rm -f PathToAtomicsFolder/T0001/out\n  dependencies:\n  - description: 'PathToAtomicsFolder must hold #{script}'\n    prereq_command: 'test -f #{script}'\n    get_prereq_command: ''\n",
    );
    let r = run(&t, &[]).unwrap();
    assert_eq!(r.inputs["script"], "$ATOMICS_ROOT/T0001/src/a.sh");
    assert_eq!(r.inputs_actual["script"], "/opt/atomics/T0001/src/a.sh");
    assert_eq!(
        r.command.actual,
        vec!["sh /opt/atomics/T0001/src/a.sh /opt/atomics/x /opt/atomics/y ${HOME}//opt/atomicsZ"]
    );
    assert_eq!(
        r.command.canonical,
        vec![
            "sh $ATOMICS_ROOT/T0001/src/a.sh $ATOMICS_ROOT/x $ATOMICS_ROOT/y ${HOME}/$ATOMICS_ROOTZ"
        ]
    );
    assert_eq!(
        r.cleanup_command.canonical,
        vec!["rm -f $ATOMICS_ROOT/T0001/out"]
    );
    let d = &r.dependencies[0];
    assert_eq!(
        d.description.as_deref(),
        Some("/opt/atomics must hold /opt/atomics/T0001/src/a.sh")
    );
    assert_eq!(
        d.prereq_command.actual,
        vec!["test -f /opt/atomics/T0001/src/a.sh"]
    );
    assert!(d.get_prereq_command.is_empty());
    // A root that itself spells the word is not replaced again.
    assert_eq!(
        replace_atomics_root("PathToAtomicsFolder", "/x/PathToAtomicsFolder"),
        "/x/PathToAtomicsFolder"
    );
    assert_eq!(replace_atomics_root("é$pathtoatomicsfolderé", "R"), "éRé");
}

#[test]
fn empty_commands_are_refused() {
    let e = run(&technique(&[], "  ", ""), &[]).unwrap_err();
    assert_eq!(e.reason_code(), "empty_command");
    assert!(
        e.to_string().ends_with("executor.command: empty command"),
        "{e}"
    );
    let t = Technique::parse(
        Path::new("T0001.yaml"),
        "attack_technique: T0001\ndisplay_name: d\natomic_tests:\n- name: t\n  auto_generated_guid: g\n  executor:\n    name: bash\n    command: [ok, '']\n",
    )
    .unwrap();
    let e = run(&t, &[]).unwrap_err();
    assert!(
        e.to_string()
            .ends_with("executor.command[1]: empty command"),
        "{e}"
    );
    let t = Technique::parse(
        Path::new("T0001.yaml"),
        "attack_technique: T0001\ndisplay_name: d\natomic_tests:\n- name: t\n  auto_generated_guid: g\n  input_arguments:\n    x: {default: X}\n  executor:\n    name: manual\n    steps: 'Open #{x}'\n",
    )
    .unwrap();
    let r = run(&t, &[]).unwrap();
    assert_eq!(r.steps.unwrap().actual, vec!["Open X"]);
    assert!(r.command.is_empty());
}

#[test]
fn cycle_search_is_deterministic() {
    let m = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    assert!(find_cycle(&m(&[("a", "#{b}"), ("b", "x")])).is_empty());
    assert_eq!(
        find_cycle(&m(&[("z", "#{z}"), ("b", "#{a}"), ("a", "#{b}")])),
        vec!["a", "b", "a"]
    );
    assert_eq!(
        find_cycle(&m(&[("a", "#{c} #{b}"), ("b", "#{a}"), ("c", "c")])),
        vec!["a", "b", "a"]
    );
}
