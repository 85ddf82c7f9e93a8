//! The loader on small synthetic schema trees (written to a temporary directory): the
//! resolution rules in isolation, and errors that name the file at fault.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use pa_ocsf_schema::{OcsfSchema, Requirement, SchemaError, ViolationCode};
use serde_json::{Value, json};

/// A fresh temporary directory holding a minimal but complete schema tree.
struct Tree {
    root: PathBuf,
}

impl Tree {
    fn new() -> Tree {
        static N: AtomicUsize = AtomicUsize::new(0);
        let root = std::env::temp_dir().join(format!(
            "pa-ocsf-schema-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&root);
        let t = Tree { root };
        t.json("version.json", &json!({"version": "9.9.9"}));
        t.json(
            "categories.json",
            &json!({"attributes": {"system": {"caption": "System", "uid": 1}}}),
        );
        t.json(
            "dictionary.json",
            &json!({
                "attributes": {
                    "class_uid": {"type": "integer_t"},
                    "category_uid": {"type": "integer_t"},
                    "activity_id": {"type": "integer_t", "enum": {"0": {"caption": "Unknown"}, "99": {"caption": "Other"}}},
                    "type_uid": {"type": "long_t"},
                    "time": {"type": "timestamp_t"},
                    "name": {"type": "string_t"},
                    "uid": {"type": "string_t"},
                    "thing": {"type": "thing"},
                    "port": {"type": "port_t"},
                    "extra": {"type": "string_t"},
                    "unmapped": {"type": "object"},
                },
                "types": {"attributes": {
                    "string_t": {}, "integer_t": {}, "long_t": {}, "float_t": {},
                    "boolean_t": {}, "json_t": {},
                    "timestamp_t": {"type": "long_t"},
                    "port_t": {"type": "integer_t", "range": [0, 65535], "observable": 11},
                }}
            }),
        );
        t.json(
            "objects/object.json",
            &json!({"name": "object", "attributes": {}}),
        );
        t.json(
            "objects/_entity.json",
            &json!({"name": "_entity", "extends": "object",
                    "attributes": {"name": {"requirement": "recommended"}, "uid": {"requirement": "recommended"}},
                    "constraints": {"at_least_one": ["name", "uid"]}}),
        );
        t.json(
            "objects/thing.json",
            &json!({"name": "thing", "extends": "_entity",
                    "attributes": {"port": {"requirement": "required"}}}),
        );
        t.json(
            "profiles/extra.json",
            &json!({"name": "extra", "meta": "profile", "attributes": {"extra": {"requirement": "required"}}}),
        );
        t.json(
            "events/base_event.json",
            &json!({"name": "base_event", "category": "other",
                    "attributes": {
                        "$include": ["profiles/extra.json"],
                        "class_uid": {"requirement": "required"},
                        "category_uid": {"requirement": "required"},
                        "activity_id": {"requirement": "required"},
                        "type_uid": {"requirement": "required"},
                        "time": {"requirement": "required"},
                        "unmapped": {"requirement": "optional"}}}),
        );
        t.json(
            "events/system/system.json",
            &json!({"name": "system", "category": "system", "extends": "base_event", "attributes": {}}),
        );
        t.json(
            "events/system/thing_activity.json",
            &json!({"name": "thing_activity", "uid": 5, "extends": "system",
                    "attributes": {"activity_id": {"enum": {"1": {"caption": "Poke"}}},
                                   "thing": {"requirement": "required"}}}),
        );
        t
    }

    fn json(&self, rel: &str, v: &Value) {
        self.text(rel, &serde_json::to_string_pretty(v).expect("json"));
    }

    fn text(&self, rel: &str, s: &str) {
        let p = self.root.join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, s).expect("write");
    }

    fn load(&self) -> Result<OcsfSchema, SchemaError> {
        OcsfSchema::load(&self.root)
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn err_text(t: &Tree) -> String {
    match t.load() {
        Ok(_) => panic!("expected a load error"),
        Err(e) => e.to_string(),
    }
}

fn ends_with(msg: &str, file: &str) -> bool {
    msg.contains(&Path::new(file).display().to_string())
}

#[test]
fn synthetic_tree_resolves() {
    let t = Tree::new();
    let s = t.load().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.version(), "9.9.9");
    let c = s.class(1005).expect("1005 = category 1 * 1000 + uid 5");
    assert_eq!(c.name, "thing_activity");
    assert_eq!(c.bases, ["system", "base_event"]);
    assert_eq!(
        c.activities().keys().copied().collect::<Vec<_>>(),
        [0, 1, 99]
    );
    assert_eq!(c.attributes["extra"].profile.as_deref(), Some("extra"));
    assert!(c.attributes.contains_key("time_dt"));
    assert!(s.class(0).is_some(), "base_event is concrete");
    assert!(s.class(1000).is_none(), "category class system is abstract");
    let thing = s.object("thing").expect("thing");
    assert_eq!(thing.attributes["port"].requirement, Requirement::Required);
    assert_eq!(thing.constraints.at_least_one, ["name", "uid"]);
    assert_eq!(thing.attributes["port"].observable, Some(11));
    let ok = json!({"class_uid": 1005, "category_uid": 1, "activity_id": 1, "type_uid": 100501,
                    "time": 1, "thing": {"port": 1, "name": "n"}});
    assert_eq!(s.validate(&ok), []);
    let bad = json!({"class_uid": 1005, "category_uid": 1, "activity_id": 1, "type_uid": 100501,
                     "time": 1, "thing": {"port": 70000}});
    let codes: Vec<_> = s
        .validate(&bad)
        .into_iter()
        .map(|v| (v.pointer, v.code))
        .collect();
    assert_eq!(
        codes,
        [
            ("/thing".to_string(), ViolationCode::ConstraintFailed),
            ("/thing/port".to_string(), ViolationCode::OutOfRange),
        ]
    );
}

#[test]
fn extension_patches_and_new_classes() {
    let t = Tree::new();
    t.json(
        "extensions/ext/extension.json",
        &json!({"name": "ext", "uid": 7, "version": "1.0.0"}),
    );
    t.json(
        "extensions/ext/dictionary.json",
        &json!({"attributes": {"flavour": {"type": "string_t"}, "name": {"type": "integer_t"}}}),
    );
    // unnamed: patches `thing` (adds flavour and replaces nothing: the core wins on `name`)
    t.json(
        "extensions/ext/objects/thing.json",
        &json!({"extends": "thing", "attributes": {"flavour": {"requirement": "optional"}}}),
    );
    t.json(
        "extensions/ext/events/ext_activity.json",
        &json!({"name": "ext_activity", "uid": 3, "extends": "system", "attributes": {}}),
    );
    // named like what it extends: a patch as well
    t.json(
        "extensions/ext/objects/entity_patch.json",
        &json!({"name": "_entity", "extends": "_entity", "attributes": {"extra": {}}}),
    );
    let s = t.load().unwrap_or_else(|e| panic!("{e}"));
    let thing = s.object("thing").expect("thing");
    assert!(thing.attributes.contains_key("flavour"));
    assert!(
        thing.attributes.contains_key("extra"),
        "inherited from the patched _entity"
    );
    assert_eq!(
        thing.attributes["name"].type_name, "string_t",
        "core dictionary wins"
    );
    let c = s.class(701_003).expect("7 * 100000 + 1 * 1000 + 3");
    assert_eq!(c.extension.as_deref(), Some("ext"));
}

#[test]
fn constraints_nearest_declaration_wins() {
    let t = Tree::new();
    t.json(
        "objects/thing.json",
        &json!({"name": "thing", "extends": "_entity", "constraints": {},
                "attributes": {"port": {"requirement": "required"}}}),
    );
    let s = t.load().unwrap_or_else(|e| panic!("{e}"));
    assert!(s.object("thing").expect("thing").constraints.is_empty());
}

#[test]
fn errors_name_the_file() {
    // missing tree
    let t = Tree::new();
    std::fs::remove_file(t.root.join("version.json")).expect("rm");
    let msg = err_text(&t);
    assert!(
        ends_with(&msg, "version.json") && msg.contains("cannot read"),
        "{msg}"
    );

    // invalid JSON, with line and column
    let t = Tree::new();
    t.text("objects/thing.json", "{\n  \"name\": \"thing\",\n  oops\n}");
    let e = t.load().expect_err("invalid json");
    match &e {
        SchemaError::Json { path, line, .. } => {
            assert!(path.ends_with("objects/thing.json"));
            assert_eq!(*line, 3);
        }
        other => panic!("unexpected {other}"),
    }

    // an attribute whose type is neither a dictionary type nor an object
    let t = Tree::new();
    t.json(
        "objects/thing.json",
        &json!({"name": "thing", "extends": "_entity", "attributes": {"port": {"type": "nonesuch_t"}}}),
    );
    let msg = err_text(&t);
    assert!(
        ends_with(&msg, "objects/thing.json") && msg.contains("nonesuch_t"),
        "{msg}"
    );

    // an attribute not in the dictionary and without a type
    let t = Tree::new();
    t.json(
        "objects/thing.json",
        &json!({"name": "thing", "extends": "_entity", "attributes": {"mystery": {}}}),
    );
    let msg = err_text(&t);
    assert!(
        ends_with(&msg, "objects/thing.json") && msg.contains("mystery"),
        "{msg}"
    );

    // extends an undefined definition
    let t = Tree::new();
    t.json(
        "events/system/thing_activity.json",
        &json!({"name": "thing_activity", "uid": 5, "extends": "nowhere", "attributes": {}}),
    );
    let msg = err_text(&t);
    assert!(
        ends_with(&msg, "thing_activity.json") && msg.contains("nowhere"),
        "{msg}"
    );

    // a missing $include
    let t = Tree::new();
    t.json(
        "objects/thing.json",
        &json!({"name": "thing", "attributes": {"$include": ["profiles/gone.json"]}}),
    );
    let msg = err_text(&t);
    assert!(
        ends_with(&msg, "objects/thing.json") && msg.contains("profiles/gone.json"),
        "{msg}"
    );

    // an extends loop
    let t = Tree::new();
    t.json(
        "objects/object.json",
        &json!({"name": "object", "extends": "thing", "attributes": {}}),
    );
    let msg = err_text(&t);
    assert!(msg.contains("loops"), "{msg}");

    // a class in an unknown category
    let t = Tree::new();
    t.json(
        "events/system/system.json",
        &json!({"name": "system", "category": "nowhere", "extends": "base_event", "attributes": {}}),
    );
    let msg = err_text(&t);
    assert!(
        ends_with(&msg, "thing_activity.json") && msg.contains("nowhere"),
        "{msg}"
    );

    // an enum key that is not an integer on an integer attribute
    let t = Tree::new();
    t.json(
        "events/system/thing_activity.json",
        &json!({"name": "thing_activity", "uid": 5, "extends": "system",
                "attributes": {"activity_id": {"enum": {"one": {"caption": "Poke"}}}}}),
    );
    let msg = err_text(&t);
    assert!(
        ends_with(&msg, "thing_activity.json") && msg.contains("\"one\""),
        "{msg}"
    );

    // an extension without extension.json
    let t = Tree::new();
    t.json(
        "extensions/broken/dictionary.json",
        &json!({"attributes": {}}),
    );
    let msg = err_text(&t);
    assert!(msg.contains("extension.json"), "{msg}");

    // a patch of an undefined object
    let t = Tree::new();
    t.json(
        "extensions/ext/extension.json",
        &json!({"name": "ext", "uid": 7}),
    );
    t.json(
        "extensions/ext/objects/ghost.json",
        &json!({"extends": "ghost", "attributes": {}}),
    );
    let msg = err_text(&t);
    assert!(
        ends_with(&msg, "ghost.json") && msg.contains("not defined"),
        "{msg}"
    );
}
