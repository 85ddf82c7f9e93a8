//! Advisory findings: things an event may do and stay valid, but that a producer should know.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::model::{AttrDef, BaseType};
use crate::schema::OcsfSchema;
use crate::validate::{Violation, ViolationCode};

fn child(pointer: &str, key: &str) -> String {
    let mut s = String::with_capacity(pointer.len() + key.len() + 1);
    s.push_str(pointer);
    s.push('/');
    for c in key.chars() {
        match c {
            '~' => s.push_str("~0"),
            '/' => s.push_str("~1"),
            c => s.push(c),
        }
    }
    s
}

const MAX_DEPTH: usize = 64;

impl OcsfSchema {
    /// Advisory findings for one event, which [`Self::validate`] does not report because the
    /// event stays valid: use of a deprecated class, attribute, object or enumeration value
    /// (`deprecated`), and an enumeration caption sibling that disagrees with its `_id`
    /// (`sibling_mismatch`: e.g. `activity_name` is not the caption of `activity_id`, or it
    /// repeats the caption `Other` for value 99, where the source's own value belongs).
    /// Members that are not attributes are skipped here (`validate` reports them). Sorted
    /// by pointer, then code, then message.
    pub fn warnings(&self, event: &Value) -> Vec<Violation> {
        let mut out = Vec::new();
        let Some(obj) = event.as_object() else {
            return out;
        };
        let Some(class) = obj
            .get("class_uid")
            .and_then(Value::as_u64)
            .and_then(|u| u32::try_from(u).ok())
            .and_then(|u| self.class(u))
        else {
            return out;
        };
        if let Some(d) = &class.deprecated {
            out.push(Violation {
                pointer: String::new(),
                code: ViolationCode::Deprecated,
                message: format!(
                    "class {} ({}) is deprecated since {}: {}",
                    class.name, class.uid, d.since, d.message
                ),
            });
        }
        self.warn_object(&class.attributes, obj, "", 0, &mut out);
        out.sort();
        out.dedup();
        out
    }

    fn warn_object(
        &self,
        attrs: &BTreeMap<String, AttrDef>,
        obj: &Map<String, Value>,
        pointer: &str,
        depth: usize,
        out: &mut Vec<Violation>,
    ) {
        if depth > MAX_DEPTH {
            return;
        }
        for (k, v) in obj {
            let Some(a) = attrs.get(k) else { continue };
            let p = child(pointer, k);
            if let Some(d) = &a.deprecated {
                out.push(Violation {
                    pointer: p.clone(),
                    code: ViolationCode::Deprecated,
                    message: format!("{k} is deprecated since {}: {}", d.since, d.message),
                });
            }
            let items: Vec<(String, &Value)> = match (a.is_array, v) {
                (true, Value::Array(xs)) => xs
                    .iter()
                    .enumerate()
                    .map(|(i, x)| (format!("{p}/{i}"), x))
                    .collect(),
                _ => vec![(p.clone(), v)],
            };
            for (ip, item) in &items {
                if let Some(n) = item.as_i64() {
                    if let Some(d) = a.deprecated_enum_values.get(&n) {
                        out.push(Violation {
                            pointer: ip.clone(),
                            code: ViolationCode::Deprecated,
                            message: format!(
                                "{k} value {n} is deprecated since {}: {}",
                                d.since, d.message
                            ),
                        });
                    }
                }
                if let (BaseType::Object(name), Value::Object(m)) = (&a.base, item) {
                    if let Some(o) = self.object(name).filter(|_| !a.is_free_form()) {
                        if let Some(d) = &o.deprecated {
                            out.push(Violation {
                                pointer: ip.clone(),
                                code: ViolationCode::Deprecated,
                                message: format!(
                                    "object {name} is deprecated since {}: {}",
                                    d.since, d.message
                                ),
                            });
                        }
                        self.warn_object(&o.attributes, m, ip, depth + 1, out);
                    }
                }
            }
            // sibling caption (scalar enums only: array siblings pair by index)
            let (Some(sib), Some(e), false) = (&a.sibling, &a.enum_values, a.is_array) else {
                continue;
            };
            let (Some(n), Some(Value::String(given))) = (v.as_i64(), obj.get(sib)) else {
                continue;
            };
            let Some(caption) = e.get(&n) else { continue };
            let bad = if n == 99 {
                given == caption
            } else {
                given != caption
            };
            if bad {
                let why = if n == 99 {
                    format!(
                        "{sib} {given:?} repeats the caption of {k} 99; use the source's own value"
                    )
                } else {
                    format!("{sib} {given:?} is not the caption {caption:?} of {k} {n}")
                };
                out.push(Violation {
                    pointer: child(pointer, sib),
                    code: ViolationCode::SiblingMismatch,
                    message: why,
                });
            }
        }
    }
}
