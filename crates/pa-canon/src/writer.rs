//! RFC 8785 canonical JSON written straight from `serde::Serialize`, without building a
//! `serde_json::Value` first.
//!
//! The output is the bytes [`crate::jcs_value`] gives for `serde_json::to_value(v)`: members of
//! every object sorted by the UTF-16 code units of their names, numbers in ECMAScript form,
//! strings with the minimal JSON escaping. Objects are written as their members arrive and
//! sorted in place when they end (a struct whose fields are declared in order, or a `BTreeMap`
//! with ASCII keys, is never moved).
//!
//! Anything this writer does not decide the same way as the value path — an integer beyond
//! ±(2^53 − 1), a non-finite float, a duplicate member name, a map key that is not a string or
//! an integer, an error raised by the value's own `Serialize` — stops it with [`Fallback`], and
//! [`crate::jcs`] then takes the value path, which gives that case's result and error.

use serde::Serialize;
use serde::ser::{self, Impossible};
use std::cmp::Ordering;
use std::fmt::Display;

use crate::MAX_SAFE_INTEGER;

/// Why the writer stopped: the value path decides this value.
#[derive(Debug)]
pub(crate) struct Fallback;

impl Display for Fallback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("not canonicalizable directly")
    }
}

impl std::error::Error for Fallback {}

impl ser::Error for Fallback {
    fn custom<T: Display>(_msg: T) -> Self {
        Fallback
    }
}

/// A member name: a field name of a struct, or a map key kept in the key arena.
#[derive(Clone, Copy)]
enum Name {
    Static(&'static str),
    Arena(usize, usize),
}

/// One member of an object being written: its name and the byte span of `"name":value`.
#[derive(Clone, Copy)]
struct Member {
    name: Name,
    start: usize,
    end: usize,
}

/// An object being written.
struct Frame {
    /// Offset of the first member (just after `{`).
    body: usize,
    /// Where the key arena stood when the object began.
    arena: usize,
    members: Vec<Member>,
    /// The member whose value is being written (map entries: the key came first).
    pending: Option<(Name, usize)>,
}

/// The canonical writer.
pub(crate) struct Writer {
    pub(crate) out: Vec<u8>,
    frames: Vec<Frame>,
    /// Member vectors of ended objects, reused.
    pool: Vec<Vec<Member>>,
    /// Map keys of the objects being written.
    arena: String,
    scratch: Vec<u8>,
}

impl Writer {
    pub(crate) fn new() -> Self {
        Writer {
            out: Vec::with_capacity(256),
            frames: Vec::new(),
            pool: Vec::new(),
            arena: String::new(),
            scratch: Vec::new(),
        }
    }

    fn name<'a>(&'a self, n: &Name) -> &'a str {
        match *n {
            Name::Static(s) => s,
            Name::Arena(a, b) => &self.arena[a..b],
        }
    }

    fn begin_object(&mut self) {
        self.out.push(b'{');
        let members = self.pool.pop().unwrap_or_default();
        self.frames.push(Frame {
            body: self.out.len(),
            arena: self.arena.len(),
            members,
            pending: None,
        });
    }

    /// Starts a member: comma, name, colon; the value follows.
    fn begin_member(&mut self, name: Name) {
        let first = self.frames.last().is_none_or(|f| f.members.is_empty());
        if !first {
            self.out.push(b',');
        }
        let start = self.out.len();
        let text = match name {
            Name::Static(s) => s,
            Name::Arena(a, b) => &self.arena[a..b],
        };
        write_str(&mut self.out, text);
        self.out.push(b':');
        if let Some(f) = self.frames.last_mut() {
            f.pending = Some((name, start));
        }
    }

    fn end_member(&mut self) {
        let end = self.out.len();
        if let Some(f) = self.frames.last_mut() {
            if let Some((name, start)) = f.pending.take() {
                f.members.push(Member { name, start, end });
            }
        }
    }

    /// Ends an object: members sorted by the UTF-16 units of their names (moved only when
    /// out of order), a duplicate name refused.
    fn end_object(&mut self) -> Result<(), Fallback> {
        let frame = self.frames.pop().ok_or(Fallback)?;
        let mut members = frame.members;
        let mut in_order = true;
        for w in members.windows(2) {
            match cmp_names(self.name(&w[0].name), self.name(&w[1].name)) {
                Ordering::Less => {}
                Ordering::Equal => return Err(Fallback),
                Ordering::Greater => in_order = false,
            }
        }
        if !in_order {
            let arena = &self.arena;
            let name = |n: &Name| match *n {
                Name::Static(s) => s,
                Name::Arena(a, b) => &arena[a..b],
            };
            members.sort_by(|a, b| cmp_names(name(&a.name), name(&b.name)));
            if members
                .windows(2)
                .any(|w| cmp_names(name(&w[0].name), name(&w[1].name)) == Ordering::Equal)
            {
                return Err(Fallback);
            }
            self.scratch.clear();
            self.scratch.extend_from_slice(&self.out[frame.body..]);
            self.out.truncate(frame.body);
            for (i, m) in members.iter().enumerate() {
                if i > 0 {
                    self.out.push(b',');
                }
                self.out
                    .extend_from_slice(&self.scratch[m.start - frame.body..m.end - frame.body]);
            }
        }
        self.out.push(b'}');
        self.arena.truncate(frame.arena);
        members.clear();
        self.pool.push(members);
        Ok(())
    }

    fn int(&mut self, negative: bool, magnitude: u128) -> Result<(), Fallback> {
        if magnitude > u128::from(MAX_SAFE_INTEGER) {
            return Err(Fallback);
        }
        // |n| <= 2^53 - 1: fits in i64 either way.
        let n = magnitude as i64;
        let mut buf = itoa::Buffer::new();
        self.out
            .extend_from_slice(buf.format(if negative { -n } else { n }).as_bytes());
        Ok(())
    }

    fn float(&mut self, v: f64) -> Result<(), Fallback> {
        if !v.is_finite() {
            return Err(Fallback);
        }
        let mut buf = ryu_js::Buffer::new();
        self.out.extend_from_slice(buf.format_finite(v).as_bytes());
        Ok(())
    }
}

/// The canonical bytes of a JSON value, written from the value itself: each object's members
/// sorted before they are written (nothing written is moved), the same bytes the `Serialize`
/// path gives. An integer beyond ±(2^53 − 1) stops it with [`Fallback`] (the value path
/// decides it). Numbers are read as `serde_json` holds them without its `arbitrary_precision`
/// feature (no crate of the workspace enables it).
pub(crate) fn write_value(out: &mut Vec<u8>, v: &serde_json::Value) -> Result<(), Fallback> {
    use serde_json::Value;
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" as &[u8] } else { b"false" }),
        Value::Number(n) => {
            // As `Number` serializes: u64, else i64, else f64.
            let (negative, magnitude) = if let Some(u) = n.as_u64() {
                (false, u)
            } else if let Some(i) = n.as_i64() {
                (i < 0, i.unsigned_abs())
            } else {
                let f = n.as_f64().ok_or(Fallback)?;
                if !f.is_finite() {
                    return Err(Fallback);
                }
                let mut buf = ryu_js::Buffer::new();
                out.extend_from_slice(buf.format_finite(f).as_bytes());
                return Ok(());
            };
            if magnitude > MAX_SAFE_INTEGER {
                return Err(Fallback);
            }
            if negative {
                out.push(b'-');
            }
            let mut buf = itoa::Buffer::new();
            out.extend_from_slice(buf.format(magnitude).as_bytes());
        }
        Value::String(s) => write_str(out, s),
        Value::Array(items) => {
            out.push(b'[');
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, x)?;
            }
            out.push(b']');
        }
        Value::Object(m) => {
            let mut members: Vec<(&String, &Value)> = m.iter().collect();
            if members
                .windows(2)
                .any(|w| cmp_names(w[0].0, w[1].0) != Ordering::Less)
            {
                members.sort_unstable_by(|a, b| cmp_names(a.0, b.0));
            }
            out.push(b'{');
            for (i, (k, x)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_str(out, k);
                out.push(b':');
                write_value(out, x)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

/// JCS member order: the UTF-16 code units of the names (bytewise when both are ASCII).
fn cmp_names(a: &str, b: &str) -> Ordering {
    if a.is_ascii() && b.is_ascii() {
        a.as_bytes().cmp(b.as_bytes())
    } else {
        a.encode_utf16().cmp(b.encode_utf16())
    }
}

/// A JSON string: quotes, `\"` `\\`, `\b \f \n \r \t`, other controls as `\u00xx`; nothing else
/// escaped (RFC 8785 §3.2.2.2).
pub(crate) fn write_str(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut from = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            0x0c => b"\\f",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x00..=0x1f => &[],
            _ => continue,
        };
        out.extend_from_slice(&bytes[from..i]);
        if esc.is_empty() {
            out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 0xf)],
            ]);
        } else {
            out.extend_from_slice(esc);
        }
        from = i + 1;
    }
    out.extend_from_slice(&bytes[from..]);
    out.push(b'"');
}

/// The state of an array or object being written.
pub(crate) struct Compound<'a> {
    w: &'a mut Writer,
    first: bool,
    /// Closing bytes after the compound itself (variants wrap their content in `{"Name":…}`).
    close_variant: bool,
}

impl<'a> ser::Serializer for &'a mut Writer {
    type Ok = ();
    type Error = Fallback;
    type SerializeSeq = Compound<'a>;
    type SerializeTuple = Compound<'a>;
    type SerializeTupleStruct = Compound<'a>;
    type SerializeTupleVariant = Compound<'a>;
    type SerializeMap = Compound<'a>;
    type SerializeStruct = Compound<'a>;
    type SerializeStructVariant = Compound<'a>;

    fn serialize_bool(self, v: bool) -> Result<(), Fallback> {
        self.out
            .extend_from_slice(if v { b"true" as &[u8] } else { b"false" });
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result<(), Fallback> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i16(self, v: i16) -> Result<(), Fallback> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i32(self, v: i32) -> Result<(), Fallback> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i64(self, v: i64) -> Result<(), Fallback> {
        self.int(v < 0, u128::from(v.unsigned_abs()))
    }
    fn serialize_i128(self, v: i128) -> Result<(), Fallback> {
        self.int(v < 0, v.unsigned_abs())
    }
    fn serialize_u8(self, v: u8) -> Result<(), Fallback> {
        self.serialize_u64(u64::from(v))
    }
    fn serialize_u16(self, v: u16) -> Result<(), Fallback> {
        self.serialize_u64(u64::from(v))
    }
    fn serialize_u32(self, v: u32) -> Result<(), Fallback> {
        self.serialize_u64(u64::from(v))
    }
    fn serialize_u64(self, v: u64) -> Result<(), Fallback> {
        self.int(false, u128::from(v))
    }
    fn serialize_u128(self, v: u128) -> Result<(), Fallback> {
        self.int(false, v)
    }
    fn serialize_f32(self, v: f32) -> Result<(), Fallback> {
        self.float(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result<(), Fallback> {
        self.float(v)
    }
    fn serialize_char(self, v: char) -> Result<(), Fallback> {
        write_str(&mut self.out, v.encode_utf8(&mut [0; 4]));
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result<(), Fallback> {
        write_str(&mut self.out, v);
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Fallback> {
        use ser::SerializeSeq;
        let mut seq = self.serialize_seq(Some(v.len()))?;
        for b in v {
            seq.serialize_element(b)?;
        }
        seq.end()
    }
    fn serialize_none(self) -> Result<(), Fallback> {
        self.serialize_unit()
    }
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<(), Fallback> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Fallback> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Fallback> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Fallback> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Fallback> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Fallback> {
        // One member: nothing to sort.
        self.out.push(b'{');
        write_str(&mut self.out, variant);
        self.out.push(b':');
        value.serialize(&mut *self)?;
        self.out.push(b'}');
        Ok(())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Compound<'a>, Fallback> {
        self.out.push(b'[');
        Ok(Compound {
            w: self,
            first: true,
            close_variant: false,
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<Compound<'a>, Fallback> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<Compound<'a>, Fallback> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'a>, Fallback> {
        self.out.push(b'{');
        write_str(&mut self.out, variant);
        self.out.extend_from_slice(b":[");
        Ok(Compound {
            w: self,
            first: true,
            close_variant: true,
        })
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Compound<'a>, Fallback> {
        self.begin_object();
        Ok(Compound {
            w: self,
            first: true,
            close_variant: false,
        })
    }
    fn serialize_struct(self, _name: &'static str, len: usize) -> Result<Compound<'a>, Fallback> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'a>, Fallback> {
        self.out.push(b'{');
        write_str(&mut self.out, variant);
        self.out.push(b':');
        self.begin_object();
        Ok(Compound {
            w: self,
            first: true,
            close_variant: true,
        })
    }
}

impl Compound<'_> {
    fn element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Fallback> {
        if !self.first {
            self.w.out.push(b',');
        }
        self.first = false;
        value.serialize(&mut *self.w)
    }

    fn end_array(self) -> Result<(), Fallback> {
        self.w.out.push(b']');
        if self.close_variant {
            self.w.out.push(b'}');
        }
        Ok(())
    }

    fn field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Fallback> {
        self.w.begin_member(Name::Static(key));
        value.serialize(&mut *self.w)?;
        self.w.end_member();
        Ok(())
    }

    fn end_fields(self) -> Result<(), Fallback> {
        self.w.end_object()?;
        if self.close_variant {
            self.w.out.push(b'}');
        }
        Ok(())
    }
}

impl ser::SerializeSeq for Compound<'_> {
    type Ok = ();
    type Error = Fallback;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Fallback> {
        self.element(value)
    }
    fn end(self) -> Result<(), Fallback> {
        self.end_array()
    }
}

impl ser::SerializeTuple for Compound<'_> {
    type Ok = ();
    type Error = Fallback;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Fallback> {
        self.element(value)
    }
    fn end(self) -> Result<(), Fallback> {
        self.end_array()
    }
}

impl ser::SerializeTupleStruct for Compound<'_> {
    type Ok = ();
    type Error = Fallback;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Fallback> {
        self.element(value)
    }
    fn end(self) -> Result<(), Fallback> {
        self.end_array()
    }
}

impl ser::SerializeTupleVariant for Compound<'_> {
    type Ok = ();
    type Error = Fallback;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Fallback> {
        self.element(value)
    }
    fn end(self) -> Result<(), Fallback> {
        self.end_array()
    }
}

impl ser::SerializeMap for Compound<'_> {
    type Ok = ();
    type Error = Fallback;
    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result<(), Fallback> {
        let start = self.w.arena.len();
        key.serialize(KeyWriter(&mut self.w.arena))?;
        let end = self.w.arena.len();
        self.w.begin_member(Name::Arena(start, end));
        Ok(())
    }
    fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Fallback> {
        value.serialize(&mut *self.w)?;
        self.w.end_member();
        Ok(())
    }
    fn end(self) -> Result<(), Fallback> {
        self.end_fields()
    }
}

impl ser::SerializeStruct for Compound<'_> {
    type Ok = ();
    type Error = Fallback;
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Fallback> {
        self.field(key, value)
    }
    fn end(self) -> Result<(), Fallback> {
        self.end_fields()
    }
}

impl ser::SerializeStructVariant for Compound<'_> {
    type Ok = ();
    type Error = Fallback;
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Fallback> {
        self.field(key, value)
    }
    fn end(self) -> Result<(), Fallback> {
        self.end_fields()
    }
}

/// A map key, appended to the key arena as text: strings, chars, integers (in decimal) and
/// unit variants, as `serde_json` turns them into member names. Anything else: [`Fallback`].
struct KeyWriter<'a>(&'a mut String);

impl KeyWriter<'_> {
    fn int(self, v: impl itoa::Integer) -> Result<(), Fallback> {
        self.0.push_str(itoa::Buffer::new().format(v));
        Ok(())
    }
}

impl ser::Serializer for KeyWriter<'_> {
    type Ok = ();
    type Error = Fallback;
    type SerializeSeq = Impossible<(), Fallback>;
    type SerializeTuple = Impossible<(), Fallback>;
    type SerializeTupleStruct = Impossible<(), Fallback>;
    type SerializeTupleVariant = Impossible<(), Fallback>;
    type SerializeMap = Impossible<(), Fallback>;
    type SerializeStruct = Impossible<(), Fallback>;
    type SerializeStructVariant = Impossible<(), Fallback>;

    fn serialize_str(self, v: &str) -> Result<(), Fallback> {
        self.0.push_str(v);
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<(), Fallback> {
        self.0.push(v);
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result<(), Fallback> {
        self.int(v)
    }
    fn serialize_i16(self, v: i16) -> Result<(), Fallback> {
        self.int(v)
    }
    fn serialize_i32(self, v: i32) -> Result<(), Fallback> {
        self.int(v)
    }
    fn serialize_i64(self, v: i64) -> Result<(), Fallback> {
        self.int(v)
    }
    fn serialize_u8(self, v: u8) -> Result<(), Fallback> {
        self.int(v)
    }
    fn serialize_u16(self, v: u16) -> Result<(), Fallback> {
        self.int(v)
    }
    fn serialize_u32(self, v: u32) -> Result<(), Fallback> {
        self.int(v)
    }
    fn serialize_u64(self, v: u64) -> Result<(), Fallback> {
        self.int(v)
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Fallback> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Fallback> {
        value.serialize(self)
    }

    fn serialize_bool(self, _v: bool) -> Result<(), Fallback> {
        Err(Fallback)
    }
    fn serialize_f32(self, _v: f32) -> Result<(), Fallback> {
        Err(Fallback)
    }
    fn serialize_f64(self, _v: f64) -> Result<(), Fallback> {
        Err(Fallback)
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<(), Fallback> {
        Err(Fallback)
    }
    fn serialize_none(self) -> Result<(), Fallback> {
        Err(Fallback)
    }
    fn serialize_some<T: ?Sized + Serialize>(self, _value: &T) -> Result<(), Fallback> {
        Err(Fallback)
    }
    fn serialize_unit(self) -> Result<(), Fallback> {
        Err(Fallback)
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Fallback> {
        Err(Fallback)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<(), Fallback> {
        Err(Fallback)
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, Fallback> {
        Err(Fallback)
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, Fallback> {
        Err(Fallback)
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, Fallback> {
        Err(Fallback)
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Fallback> {
        Err(Fallback)
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, Fallback> {
        Err(Fallback)
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, Fallback> {
        Err(Fallback)
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Fallback> {
        Err(Fallback)
    }
}

/// The canonical bytes of `v`, or [`Fallback`] when the value path must decide.
pub(crate) fn to_vec<T: Serialize + ?Sized>(v: &T) -> Result<Vec<u8>, Fallback> {
    let mut w = Writer::new();
    v.serialize(&mut w)?;
    Ok(w.out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};
    use std::collections::BTreeMap;

    /// The reference: `serde_json::to_value`, then the JCS of that value.
    fn reference<T: Serialize + ?Sized>(v: &T) -> Result<Vec<u8>, String> {
        crate::jcs_via_value(v).map_err(|e| e.to_string())
    }

    /// The writer gives the reference's bytes, or falls back, and `jcs` equals the reference.
    fn check<T: Serialize + ?Sized>(v: &T) -> bool {
        let fast = to_vec(v);
        let expected = reference(v);
        if let Ok(bytes) = &fast {
            assert_eq!(
                Ok(String::from_utf8_lossy(bytes).into_owned()),
                expected
                    .clone()
                    .map(|b| String::from_utf8_lossy(&b).into_owned()),
            );
        }
        assert_eq!(crate::jcs(v).map_err(|e| e.to_string()), expected);
        fast.is_ok()
    }

    /// xorshift64*: a fixed sequence, so a failure reproduces.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
            &items[(self.next() % items.len() as u64) as usize]
        }
    }

    const NAMES: &[&str] = &[
        "",
        "a",
        "b",
        "B",
        "aa",
        "a\u{0}",
        "é",
        "\u{e000}",
        "\u{ffff}",
        "😀",
        "\u{10ffff}",
        "\"",
        "\\",
        "\n\t",
        "\u{1f}",
        "\u{7f}",
        "z",
        "10",
        "9",
        "ö",
        "€",
    ];

    fn value(r: &mut Rng, depth: u32) -> Value {
        let kind = if depth >= 4 {
            r.next() % 4
        } else {
            r.next() % 7
        };
        match kind {
            0 => Value::Null,
            1 => Value::Bool(r.next().is_multiple_of(2)),
            2 => {
                let ints = [
                    0i64,
                    1,
                    -1,
                    42,
                    9_007_199_254_740_991,
                    -9_007_199_254_740_991,
                    1 << 40,
                ];
                let floats = [
                    0.1,
                    -0.0,
                    1e21,
                    1e20,
                    1e-7,
                    1e-6,
                    5e-324,
                    123.456,
                    -2.5e-300,
                    1.7976931348623157e308,
                    4.35,
                    333_333_333.333_333_3,
                ];
                if r.next().is_multiple_of(2) {
                    json!(*r.pick(&ints))
                } else {
                    json!(*r.pick(&floats))
                }
            }
            3 => Value::String(format!("{}{}", r.pick(NAMES), r.pick(NAMES))),
            4 | 5 => {
                let n = r.next() % 6;
                let mut m = serde_json::Map::new();
                for _ in 0..n {
                    m.insert(r.pick(NAMES).to_string(), value(r, depth + 1));
                }
                Value::Object(m)
            }
            _ => Value::Array((0..r.next() % 5).map(|_| value(r, depth + 1)).collect()),
        }
    }

    #[test]
    fn random_values_give_the_reference_bytes() {
        let mut r = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..5_000 {
            let v = value(&mut r, 0);
            assert!(check(&v), "fell back on {v}");
        }
    }

    #[derive(Serialize)]
    #[allow(dead_code)]
    enum Kind {
        Unit,
        Newtype(u32),
        Tuple(u8, String),
        Struct { z: bool, a: Option<f64> },
    }

    #[derive(Serialize)]
    struct Unsorted {
        zeta: u64,
        alpha: Vec<Kind>,
        #[serde(skip_serializing_if = "Option::is_none")]
        skipped: Option<u8>,
        middle: BTreeMap<u32, &'static str>,
        nested: Inner,
        tuple: (i8, char, ()),
        bytes: &'static [u8],
    }

    #[derive(Serialize)]
    struct Inner {
        y: &'static str,
        x: i32,
        #[serde(rename = "\u{e000}")]
        private_use: u8,
        #[serde(rename = "😀")]
        emoji: u8,
    }

    #[test]
    fn structs_enums_and_maps_are_sorted_like_their_values() {
        let v = Unsorted {
            zeta: 7,
            alpha: vec![
                Kind::Unit,
                Kind::Newtype(3),
                Kind::Tuple(1, "t".into()),
                Kind::Struct { z: true, a: None },
                Kind::Struct {
                    z: false,
                    a: Some(0.5),
                },
            ],
            skipped: None,
            middle: BTreeMap::from([(10, "ten"), (9, "nine"), (100, "hundred")]),
            nested: Inner {
                y: "why",
                x: -3,
                private_use: 1,
                emoji: 2,
            },
            tuple: (-8, 'c', ()),
            bytes: b"\x00\xff",
        };
        assert!(check(&v));
        // The UTF-16 order puts the surrogate pair of 😀 before U+E000 (UTF-8 would not).
        let text = String::from_utf8(crate::jcs(&v.nested).unwrap()).unwrap();
        assert_eq!(text, "{\"x\":-3,\"y\":\"why\",\"😀\":2,\"\u{e000}\":1}");
    }

    #[derive(Serialize)]
    struct Flattened {
        a: u8,
        #[serde(flatten)]
        rest: BTreeMap<String, u8>,
    }

    #[test]
    fn what_the_writer_leaves_to_the_value_path_still_gets_the_reference_result() {
        // Integers beyond 2^53 - 1: the value path's error, with its pointer.
        assert!(!check(&json!({"a": [1, 9_007_199_254_740_992u64]})));
        assert!(!check(&json!({"a": -9_007_199_254_740_992i64})));
        assert!(!check(&u128::MAX));
        // Non-finite floats.
        assert!(!check(&[f64::NAN]));
        assert!(!check(&f32::INFINITY));
        // A duplicate member name (flatten): the value keeps the last.
        let dup = Flattened {
            a: 1,
            rest: BTreeMap::from([("a".to_string(), 2), ("b".to_string(), 3)]),
        };
        assert!(!check(&dup));
        assert_eq!(crate::jcs_string(&dup).unwrap(), r#"{"a":2,"b":3}"#);
        // Keys that are not strings or integers.
        assert!(!check(&BTreeMap::from([(true, 1)])));
        assert!(!check(&BTreeMap::from([((1, 2), 1)])));
    }

    #[test]
    fn strings_escape_only_what_rfc_8785_escapes() {
        let s = "q\" b\\ \u{8}\u{c}\n\r\t \u{0}\u{1f}\u{7f} / é 😀 \u{2028}";
        assert!(check(s));
        assert_eq!(
            String::from_utf8(to_vec(s).unwrap()).unwrap(),
            "\"q\\\" b\\\\ \\b\\f\\n\\r\\t \\u0000\\u001f\u{7f} / é 😀 \u{2028}\""
        );
    }

    #[test]
    fn numbers_take_their_ecmascript_form() {
        for f in [1e21, 1e-7, 0.000001, -0.0, 5e-324, 2f64.powi(53), 0.1 + 0.2] {
            assert!(check(&f));
        }
        for i in [i64::from(i32::MIN), -9_007_199_254_740_991, 0] {
            assert!(check(&i));
        }
        assert_eq!(to_vec(&1e21).unwrap(), b"1e+21");
        assert_eq!(to_vec(&-0.0).unwrap(), b"0");
        assert_eq!(to_vec(&0.1f32).unwrap(), b"0.10000000149011612");
    }
}
