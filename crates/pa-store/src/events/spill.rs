//! The sorted runs the writer spills when its budget is full: a private, binary encoding of
//! buffered events, read back only by the merge of the same process.
//!
//! One item: `time` (i64), `uid` (length-prefixed UTF-8), the number of leaves (u32), then per
//! leaf its column id (u32), a tag byte and the value: `s` string, `i` i64, `u` u64, `f` f64
//! bits, `t`/`F` booleans, `j` JSON text (arrays and objects). All integers little-endian,
//! lengths u32. Numbers keep their exact `serde_json` form (an integer stays an integer).

use super::Item;
use crate::StoreError;
use serde_json::{Number, Value};
use std::io::{BufReader, Read, Write};
use std::path::Path;

fn put_len(w: &mut impl Write, n: usize) -> std::io::Result<()> {
    let n = u32::try_from(n).map_err(|_| std::io::Error::other("spilled value over 4 GiB"))?;
    w.write_all(&n.to_le_bytes())
}

fn put_str(w: &mut impl Write, s: &str) -> std::io::Result<()> {
    put_len(w, s.len())?;
    w.write_all(s.as_bytes())
}

/// Append one item.
pub(super) fn write_item(w: &mut impl Write, it: &Item) -> std::io::Result<()> {
    w.write_all(&it.time.to_le_bytes())?;
    put_str(w, &it.uid)?;
    put_len(w, it.leaves.len())?;
    for (id, v) in &it.leaves {
        w.write_all(&id.to_le_bytes())?;
        match v {
            Value::String(s) => {
                w.write_all(b"s")?;
                put_str(w, s)?;
            }
            Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    w.write_all(b"i")?;
                    w.write_all(&i.to_le_bytes())?;
                } else if let Some(u) = n.as_u64() {
                    w.write_all(b"u")?;
                    w.write_all(&u.to_le_bytes())?;
                } else {
                    w.write_all(b"f")?;
                    let f = n.as_f64().unwrap_or(0.0);
                    w.write_all(&f.to_bits().to_le_bytes())?;
                }
            }
            Value::Bool(true) => w.write_all(b"t")?,
            Value::Bool(false) => w.write_all(b"F")?,
            Value::Null => w.write_all(b"n")?,
            Value::Array(_) | Value::Object(_) => {
                w.write_all(b"j")?;
                put_str(w, &super::text(v))?;
            }
        }
    }
    Ok(())
}

struct In<'a> {
    path: &'a Path,
    r: &'a mut BufReader<std::fs::File>,
}

impl In<'_> {
    fn bad(&self, detail: impl Into<String>) -> StoreError {
        StoreError::Layout {
            path: self.path.to_path_buf(),
            dataset: "ocsf_events spill run",
            detail: detail.into(),
        }
    }
    fn bytes<const N: usize>(&mut self) -> Result<[u8; N], StoreError> {
        let mut b = [0u8; N];
        self.r
            .read_exact(&mut b)
            .map_err(|e| StoreError::io(self.path, e))?;
        Ok(b)
    }
    fn len(&mut self) -> Result<usize, StoreError> {
        Ok(u32::from_le_bytes(self.bytes()?) as usize)
    }
    fn string(&mut self) -> Result<String, StoreError> {
        let n = self.len()?;
        let mut b = vec![0u8; n];
        self.r
            .read_exact(&mut b)
            .map_err(|e| StoreError::io(self.path, e))?;
        String::from_utf8(b).map_err(|_| self.bad("a string is not UTF-8"))
    }
}

/// Read the next item, `None` at the end of the run.
pub(super) fn read_item(
    path: &Path,
    r: &mut BufReader<std::fs::File>,
) -> Result<Option<Item>, StoreError> {
    let mut first = [0u8; 8];
    let mut got = 0;
    while got < 8 {
        match r.read(&mut first[got..]) {
            Ok(0) if got == 0 => return Ok(None),
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(StoreError::io(path, e)),
        }
    }
    let mut i = In { path, r };
    if got < 8 {
        return Err(i.bad("truncated item"));
    }
    let time = i64::from_le_bytes(first);
    let uid = i.string()?;
    let n = i.len()?;
    let mut leaves = Vec::with_capacity(n.min(1 << 16));
    for _ in 0..n {
        let id = u32::from_le_bytes(i.bytes()?);
        let [tag] = i.bytes()?;
        let v = match tag {
            b's' => Value::String(i.string()?),
            b'i' => Value::from(i64::from_le_bytes(i.bytes()?)),
            b'u' => Value::from(u64::from_le_bytes(i.bytes()?)),
            b'f' => {
                let f = f64::from_bits(u64::from_le_bytes(i.bytes()?));
                Number::from_f64(f)
                    .map(Value::Number)
                    .ok_or_else(|| i.bad("a float is not finite"))?
            }
            b't' => Value::Bool(true),
            b'F' => Value::Bool(false),
            b'n' => Value::Null,
            b'j' => {
                let t = i.string()?;
                serde_json::from_str(&t).map_err(|e| i.bad(e.to_string()))?
            }
            other => return Err(i.bad(format!("unknown value tag {other}"))),
        };
        leaves.push((id, v));
    }
    Ok(Some(Item { time, uid, leaves }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn items_round_trip_exactly() {
        let items = vec![
            Item {
                time: -5,
                uid: "ü-1".into(),
                leaves: vec![
                    (0, json!("a\tb\nc")),
                    (1, json!(i64::MIN)),
                    (2, json!(u64::MAX)),
                    (3, json!(0.1)),
                    (4, json!(true)),
                    (5, json!(false)),
                    (6, json!([1, {"k": [2.5, null]}])),
                    (7, json!({})),
                    (8, Value::Null),
                ],
            },
            Item {
                time: 7,
                uid: String::new(),
                leaves: vec![],
            },
        ];
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("run");
        let mut w = std::io::BufWriter::new(std::fs::File::create(&p).unwrap());
        for it in &items {
            write_item(&mut w, it).unwrap();
        }
        drop(w);
        let mut r = BufReader::new(std::fs::File::open(&p).unwrap());
        let mut back = Vec::new();
        while let Some(it) = read_item(&p, &mut r).unwrap() {
            back.push(it);
        }
        assert_eq!(back.len(), 2);
        for (a, b) in items.iter().zip(&back) {
            assert_eq!((a.time, &a.uid, &a.leaves), (b.time, &b.uid, &b.leaves));
        }
        // The integer kinds survive: u64::MAX is not turned into a float.
        assert!(back[0].leaves[2].1.is_u64());
        assert!(back[0].leaves[1].1.is_i64());
    }

    #[test]
    fn a_truncated_run_is_an_error_naming_it() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("run");
        let mut buf = Vec::new();
        write_item(
            &mut buf,
            &Item {
                time: 1,
                uid: "u".into(),
                leaves: vec![(0, json!("value"))],
            },
        )
        .unwrap();
        std::fs::write(&p, &buf[..buf.len() - 2]).unwrap();
        let mut r = BufReader::new(std::fs::File::open(&p).unwrap());
        let e = read_item(&p, &mut r).unwrap_err().to_string();
        assert!(e.contains("run"), "{e}");
    }
}
