//! Print the resolved attributes of a class (by uid) or an object (by name):
//! `cargo run -p pa-ocsf-schema --example ocsf_dump -- <schema dir> <class uid|object name>...`.

use std::path::Path;
use std::process::ExitCode;

use pa_ocsf_schema::{AttrDef, OcsfSchema};

fn line(a: &AttrDef) -> String {
    let mut s = format!(
        "  {:<28} {:<22} {:?}",
        a.name,
        if a.is_array {
            format!("{}[]", a.type_name)
        } else {
            a.type_name.clone()
        },
        a.requirement
    );
    if let Some(p) = &a.profile {
        s.push_str(&format!(" profile={p}"));
    }
    if let Some(e) = &a.enum_values {
        let keys: Vec<String> = e.keys().map(i64::to_string).collect();
        s.push_str(&format!(" enum={}", keys.join(",")));
    }
    if a.deprecated.is_some() {
        s.push_str(" deprecated");
    }
    s
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((dir, names)) = args.split_first() else {
        eprintln!("usage: ocsf_dump <schema dir> <class uid|object name>...");
        return ExitCode::from(2);
    };
    let schema = match OcsfSchema::load(Path::new(dir)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    for n in names {
        if let Some(c) = n.parse::<u32>().ok().and_then(|u| schema.class(u)) {
            println!(
                "class {} {} (category {} {})",
                c.uid, c.name, c.category_uid, c.category
            );
            c.attributes.values().for_each(|a| println!("{}", line(a)));
        } else if let Some(o) = schema.object(n) {
            println!("object {} (bases {:?})", o.name, o.bases);
            o.attributes.values().for_each(|a| println!("{}", line(a)));
        } else {
            eprintln!("{n}: no such class or object");
            return ExitCode::from(1);
        }
    }
    ExitCode::SUCCESS
}
