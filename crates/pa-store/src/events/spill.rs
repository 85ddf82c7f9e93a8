//! The binary form of a buffered event: how the writer holds events in memory, and how it
//! spills them to sorted runs (read back only by the merge of the same process).
//!
//! An event's leaves are one byte string: per leaf its column id (u32), a tag byte and the
//! value: `s` string (length, UTF-8), `i` i64, `u` u64 (above `i64::MAX`), `f` f64 bits,
//! `t`/`F` booleans, `n` null, `j` JSON text (arrays and objects, length-prefixed). A run item
//! is `time` (i64), `uid` (length-prefixed UTF-8), the leaves' byte length, then the leaves.
//! All integers little-endian, lengths u32. Numbers keep their exact `serde_json` form (an
//! integer stays an integer), so a leaf reads back as the value it was built from.

use super::Item;
use crate::StoreError;
use serde_json::{Number, Value};
use std::io::{BufReader, Read, Write};
use std::path::Path;

/// A value over 4 GiB (its length does not fit the encoding).
#[derive(Debug)]
pub(super) struct TooLarge;

fn len_u32(n: usize) -> Result<[u8; 4], TooLarge> {
    u32::try_from(n).map(u32::to_le_bytes).map_err(|_| TooLarge)
}

/// Append one leaf to `buf`; returns the offset of its id (to patch it later).
pub(super) fn put_leaf(buf: &mut Vec<u8>, id: u32, v: &Value) -> Result<usize, TooLarge> {
    let at = buf.len();
    buf.extend_from_slice(&id.to_le_bytes());
    let text = |buf: &mut Vec<u8>, tag: u8, s: &str| -> Result<(), TooLarge> {
        buf.push(tag);
        buf.extend_from_slice(&len_u32(s.len())?);
        buf.extend_from_slice(s.as_bytes());
        Ok(())
    };
    match v {
        Value::String(s) => text(buf, b's', s)?,
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                buf.push(b'i');
                buf.extend_from_slice(&i.to_le_bytes());
            } else if let Some(u) = n.as_u64() {
                buf.push(b'u');
                buf.extend_from_slice(&u.to_le_bytes());
            } else {
                buf.push(b'f');
                let f = n.as_f64().unwrap_or(0.0);
                buf.extend_from_slice(&f.to_bits().to_le_bytes());
            }
        }
        Value::Bool(true) => buf.push(b't'),
        Value::Bool(false) => buf.push(b'F'),
        Value::Null => buf.push(b'n'),
        Value::Array(_) | Value::Object(_) => text(buf, b'j', &super::text(v))?,
    }
    Ok(at)
}

/// Overwrite the id of the leaf at `at` (an offset [`put_leaf`] returned).
pub(super) fn patch_id(buf: &mut [u8], at: usize, id: u32) {
    buf[at..at + 4].copy_from_slice(&id.to_le_bytes());
}

/// One leaf value, borrowed from the encoded leaves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Leaf<'a> {
    Str(&'a str),
    I64(i64),
    U64(u64),
    F64(f64),
    Bool(bool),
    Null,
    /// JSON text of an array or object.
    Json(&'a str),
}

impl Leaf<'_> {
    /// As [`Value::as_i64`] on the value it was built from.
    pub(super) fn as_i64(self) -> Option<i64> {
        match self {
            Leaf::I64(i) => Some(i),
            Leaf::U64(u) => i64::try_from(u).ok(),
            _ => None,
        }
    }
    /// As [`Value::as_f64`].
    pub(super) fn as_f64(self) -> Option<f64> {
        match self {
            Leaf::I64(i) => Some(i as f64),
            Leaf::U64(u) => Some(u as f64),
            Leaf::F64(f) => Some(f),
            _ => None,
        }
    }
    /// As [`Value::as_bool`].
    pub(super) fn as_bool(self) -> Option<bool> {
        match self {
            Leaf::Bool(b) => Some(b),
            _ => None,
        }
    }
    /// The value it was built from; `None` for JSON text nested deeper than `serde_json`
    /// parses (128 levels), which only a value built in code can reach.
    pub(super) fn to_value(self) -> Option<Value> {
        Some(match self {
            Leaf::Str(s) => Value::String(s.to_owned()),
            Leaf::I64(i) => Value::from(i),
            Leaf::U64(u) => Value::from(u),
            // Finite: `put_leaf` took it from a `Number`, `check` refuses the others.
            Leaf::F64(f) => Number::from_f64(f).map_or(Value::Null, Value::Number),
            Leaf::Bool(b) => Value::Bool(b),
            Leaf::Null => Value::Null,
            Leaf::Json(t) => return serde_json::from_str(t).ok(),
        })
    }
    /// The JSON text of the value (as [`super::text`] writes it).
    pub(super) fn json_text(self) -> String {
        match self {
            Leaf::Json(t) => t.to_owned(),
            // A scalar always converts.
            other => super::text(&other.to_value().unwrap_or(Value::Null)),
        }
    }
}

/// The leaves of an event, in the order they were put. The bytes come from [`put_leaf`] or
/// passed [`check`] (a spilled run), so they are well formed.
pub(super) struct Leaves<'a>(&'a [u8]);

pub(super) fn leaves(data: &[u8]) -> Leaves<'_> {
    Leaves(data)
}

/// The next leaf of `b` and the rest, or what is wrong with it.
fn next_leaf(b: &[u8]) -> Result<((u32, Leaf<'_>), &[u8]), &'static str> {
    fn take<const N: usize>(b: &[u8]) -> Result<([u8; N], &[u8]), &'static str> {
        if b.len() < N {
            return Err("truncated leaf");
        }
        let (h, t) = b.split_at(N);
        Ok((h.try_into().expect("split at N"), t))
    }
    fn text(b: &[u8]) -> Result<(&str, &[u8]), &'static str> {
        let (n, b) = take::<4>(b)?;
        let n = u32::from_le_bytes(n) as usize;
        if b.len() < n {
            return Err("truncated leaf");
        }
        let (s, t) = b.split_at(n);
        let s = std::str::from_utf8(s).map_err(|_| "a string is not UTF-8")?;
        Ok((s, t))
    }
    let (id, b) = take::<4>(b)?;
    let ([tag], b) = take::<1>(b)?;
    let (leaf, rest) = match tag {
        b's' => text(b).map(|(s, t)| (Leaf::Str(s), t))?,
        b'j' => text(b).map(|(s, t)| (Leaf::Json(s), t))?,
        b'i' => take::<8>(b).map(|(x, t)| (Leaf::I64(i64::from_le_bytes(x)), t))?,
        b'u' => take::<8>(b).map(|(x, t)| (Leaf::U64(u64::from_le_bytes(x)), t))?,
        b'f' => {
            let (x, t) = take::<8>(b)?;
            let f = f64::from_bits(u64::from_le_bytes(x));
            if !f.is_finite() {
                return Err("a float is not finite");
            }
            (Leaf::F64(f), t)
        }
        b't' => (Leaf::Bool(true), b),
        b'F' => (Leaf::Bool(false), b),
        b'n' => (Leaf::Null, b),
        _ => return Err("unknown value tag"),
    };
    Ok(((u32::from_le_bytes(id), leaf), rest))
}

impl<'a> Iterator for Leaves<'a> {
    type Item = (u32, Leaf<'a>);
    fn next(&mut self) -> Option<Self::Item> {
        if self.0.is_empty() {
            return None;
        }
        let (leaf, rest) = next_leaf(self.0).expect("leaves are well formed");
        self.0 = rest;
        Some(leaf)
    }
}

/// Whether `data` is well formed leaves (what is wrong if not).
fn check(mut data: &[u8]) -> Result<(), &'static str> {
    while !data.is_empty() {
        data = next_leaf(data)?.1;
    }
    Ok(())
}

/// Append one item.
pub(super) fn write_item(w: &mut impl Write, it: &Item) -> std::io::Result<()> {
    let big = |_| std::io::Error::other("spilled value over 4 GiB");
    w.write_all(&it.time.to_le_bytes())?;
    w.write_all(&len_u32(it.uid.len()).map_err(big)?)?;
    w.write_all(it.uid.as_bytes())?;
    w.write_all(&len_u32(it.data.len()).map_err(big)?)?;
    w.write_all(&it.data)
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
    fn vec(&mut self) -> Result<Vec<u8>, StoreError> {
        let n = u32::from_le_bytes(self.bytes()?) as usize;
        let mut b = vec![0u8; n];
        self.r
            .read_exact(&mut b)
            .map_err(|e| StoreError::io(self.path, e))?;
        Ok(b)
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
    let uid = String::from_utf8(i.vec()?).map_err(|_| i.bad("a uid is not UTF-8"))?;
    let data = i.vec()?;
    check(&data).map_err(|e| i.bad(e))?;
    Ok(Some(Item { time, uid, data }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn encode(leaves: &[(u32, Value)]) -> Vec<u8> {
        let mut b = Vec::new();
        for (id, v) in leaves {
            put_leaf(&mut b, *id, v).unwrap();
        }
        b
    }

    #[test]
    fn leaves_read_back_as_the_values_they_were_built_from() {
        let values = vec![
            (0, json!("a\tb\nc")),
            (1, json!(i64::MIN)),
            (2, json!(u64::MAX)),
            (3, json!(0.1)),
            (4, json!(true)),
            (5, json!(false)),
            (6, json!([1, {"k": [2.5, null]}])),
            (7, json!({})),
            (8, Value::Null),
            (9, json!(-0.0)),
        ];
        let data = encode(&values);
        check(&data).unwrap();
        let back: Vec<(u32, Value)> = leaves(&data)
            .map(|(id, l)| (id, l.to_value().unwrap()))
            .collect();
        assert_eq!(back, values);
        // The integer kinds survive: u64::MAX is not turned into a float.
        assert!(back[2].1.is_u64() && back[1].1.is_i64() && back[3].1.is_f64());
        // Accessors answer as `Value`'s do.
        for ((_, v), (_, l)) in values.iter().zip(leaves(&data)) {
            assert_eq!(l.as_i64(), v.as_i64(), "{v}");
            assert_eq!(l.as_f64(), v.as_f64(), "{v}");
            assert_eq!(l.as_bool(), v.as_bool(), "{v}");
            assert_eq!(l.json_text(), super::super::text(v), "{v}");
        }
        let mut patched = data.clone();
        patch_id(&mut patched, 0, 42);
        assert_eq!(leaves(&patched).next().unwrap().0, 42);
    }

    #[test]
    fn malformed_leaves_are_refused() {
        let ok = encode(&[(1, json!("abc")), (2, json!(1.5))]);
        check(&ok).unwrap();
        let mut tag = ok.clone();
        tag[4] = b'?';
        assert_eq!(check(&tag), Err("unknown value tag"));
        assert_eq!(check(&ok[..ok.len() - 1]), Err("truncated leaf"));
        assert_eq!(check(&ok[..6]), Err("truncated leaf"));
        let mut long = ok.clone();
        long[5] = 200; // the string's length runs past the data
        assert_eq!(check(&long), Err("truncated leaf"));
        let mut nan = encode(&[(0, json!(1.5))]);
        let n = nan.len();
        nan[n - 8..].copy_from_slice(&f64::NAN.to_bits().to_le_bytes());
        assert_eq!(check(&nan), Err("a float is not finite"));
    }

    #[test]
    fn items_round_trip_exactly() {
        let items = vec![
            Item {
                time: -5,
                uid: "ü-1".into(),
                data: encode(&[(0, json!("x")), (3, json!([1, 2]))]),
            },
            Item {
                time: 7,
                uid: String::new(),
                data: Vec::new(),
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
            assert_eq!((a.time, &a.uid, &a.data), (b.time, &b.uid, &b.data));
        }
    }

    #[test]
    fn a_truncated_or_corrupt_run_is_an_error_naming_it() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("run");
        let item = Item {
            time: 1,
            uid: "u".into(),
            data: encode(&[(0, json!("value"))]),
        };
        let mut buf = Vec::new();
        write_item(&mut buf, &item).unwrap();
        std::fs::write(&p, &buf[..buf.len() - 2]).unwrap();
        let mut r = BufReader::new(std::fs::File::open(&p).unwrap());
        let e = read_item(&p, &mut r).unwrap_err().to_string();
        assert!(e.contains("run"), "{e}");
        // A leaf whose string is not UTF-8.
        let n = buf.len();
        buf[n - 1] = 0xff;
        std::fs::write(&p, &buf).unwrap();
        let mut r = BufReader::new(std::fs::File::open(&p).unwrap());
        let e = read_item(&p, &mut r).unwrap_err().to_string();
        assert!(e.contains("run") && e.contains("UTF-8"), "{e}");
    }
}
