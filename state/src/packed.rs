//! Packed JSON: the binary form the state keeps JSON in (snapshot records, what a link
//! pushed, audit details). A record's field names are the same in every row, and many of its
//! values repeat the row's key columns or one another, so:
//!
//! - an object key is the id of its name in the `names` table ([`crate::names`]);
//! - a string already met in the same value, or given by the row (a person's key, a
//!   source), is the index of its first appearance;
//! - a canonical UUID (an account id a reference points to) is its 16 bytes;
//! - an integer is a varint, a float its 8 bytes.
//!
//! One value is one of:
//!
//! | bytes | value |
//! |---|---|
//! | `00` / `01` / `02` | null / false / true |
//! | `03` zigzag varint | an integer (i64) |
//! | `04` varint | an integer above `i64::MAX` |
//! | `05` 8 bytes | a float (f64 bits, little-endian) |
//! | `06` varint n, n bytes | a string of 128 bytes or more |
//! | `07` 16 bytes | a string that is a canonical UUID |
//! | `08` values `0A` | an array |
//! | `09` (varint name id ≥ 1, value)… varint 0 | an object, keys in their order |
//! | `40`–`7F` | the string at index 0–63 of the table |
//! | `80`–`FF` | a string of 0–127 bytes, which follow |
//!
//! The table of strings starts with the row's seeds; each string stored as itself (short,
//! long or UUID) is appended while the table holds fewer than [`TABLE_MAX`]. Decoding is in
//! [`crate::unpack`].

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use crate::error::StateError;
use crate::stored::uuid_bytes;

pub(crate) const NULL: u8 = 0x00;
pub(crate) const FALSE: u8 = 0x01;
pub(crate) const TRUE: u8 = 0x02;
pub(crate) const INT: u8 = 0x03;
pub(crate) const UINT: u8 = 0x04;
pub(crate) const FLOAT: u8 = 0x05;
pub(crate) const LONG_STR: u8 = 0x06;
pub(crate) const UUID: u8 = 0x07;
pub(crate) const ARRAY: u8 = 0x08;
pub(crate) const OBJECT: u8 = 0x09;
pub(crate) const ARRAY_END: u8 = 0x0A;
pub(crate) const REF: u8 = 0x40;
pub(crate) const SHORT_STR: u8 = 0x80;
/// Strings the table holds at most (the indexes a `REF` byte has room for).
pub(crate) const TABLE_MAX: usize = 64;
/// Longest string a `SHORT_STR` byte holds.
const SHORT_MAX: usize = 127;
/// Deepest nesting packed or unpacked: a damaged row must not exhaust the stack.
pub(crate) const DEPTH_MAX: usize = 128;

/// Gives the id of an object key's name, recording the name when it is new.
pub(crate) trait Intern {
    /// The id (≥ 1) of `name`.
    fn id(&mut self, name: &str) -> Result<u64, StateError>;
}

/// Appends `n` as a LEB128 varint.
pub(crate) fn put_varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// A string of the table: a seed, or where a string written as itself sits in the output.
enum Met<'s> {
    Seed(&'s str),
    Plain(std::ops::Range<usize>),
    /// The offset of a UUID's 16 bytes.
    Uuid(usize),
}

/// Writes one packed value, keeping the table of strings met so far.
pub(crate) struct Packer<'s, 'i, I: Intern> {
    out: Vec<u8>,
    table: Vec<Met<'s>>,
    names: &'i mut I,
    depth: usize,
}

impl<'s, 'i, I: Intern> Packer<'s, 'i, I> {
    /// A packer whose table starts with `seeds` (at most [`TABLE_MAX`] are used).
    pub(crate) fn new(seeds: &[&'s str], names: &'i mut I) -> Self {
        Packer {
            out: Vec::with_capacity(128),
            table: seeds.iter().take(TABLE_MAX).map(|s| Met::Seed(s)).collect(),
            names,
            depth: 0,
        }
    }

    /// The bytes written.
    pub(crate) fn finish(self) -> Vec<u8> {
        self.out
    }

    /// The index of `s` in the table (`uuid`: its bytes when it is a canonical UUID).
    fn find(&self, s: &str, uuid: Option<&[u8; 16]>) -> Option<usize> {
        self.table.iter().position(|m| match m {
            Met::Seed(t) => *t == s,
            Met::Plain(r) => &self.out[r.clone()] == s.as_bytes(),
            Met::Uuid(at) => uuid.is_some_and(|u| self.out[*at..*at + 16] == u[..]),
        })
    }

    /// Writes a string: its index when the table has it, else itself.
    pub(crate) fn string(&mut self, s: &str) {
        let uuid = uuid_bytes(s);
        if let Some(i) = self.find(s, uuid.as_ref()) {
            self.out.push(REF | i as u8);
            return;
        }
        let met = match uuid {
            Some(bytes) => {
                self.out.push(UUID);
                self.out.extend_from_slice(&bytes);
                Met::Uuid(self.out.len() - 16)
            }
            None => {
                if s.len() <= SHORT_MAX {
                    self.out.push(SHORT_STR | s.len() as u8);
                } else {
                    self.out.push(LONG_STR);
                    put_varint(&mut self.out, s.len() as u64);
                }
                self.out.extend_from_slice(s.as_bytes());
                Met::Plain(self.out.len() - s.len()..self.out.len())
            }
        };
        if self.table.len() < TABLE_MAX {
            self.table.push(met);
        }
    }

    fn i64(&mut self, n: i64) {
        self.out.push(INT);
        put_varint(&mut self.out, ((n << 1) ^ (n >> 63)) as u64);
    }

    fn u64(&mut self, n: u64) {
        match i64::try_from(n) {
            Ok(n) => self.i64(n),
            Err(_) => {
                self.out.push(UINT);
                put_varint(&mut self.out, n);
            }
        }
    }

    fn f64(&mut self, f: f64) {
        self.out.push(FLOAT);
        self.out.extend_from_slice(&f.to_bits().to_le_bytes());
    }

    fn open(&mut self, tag: u8) -> Result<(), StateError> {
        self.depth += 1;
        if self.depth > DEPTH_MAX {
            return Err(too_deep());
        }
        self.out.push(tag);
        Ok(())
    }

    /// Writes an object key.
    pub(crate) fn key(&mut self, name: &str) -> Result<(), StateError> {
        let id = self.names.id(name)?;
        put_varint(&mut self.out, id);
        Ok(())
    }

    /// Opens an object; [`Packer::close_object`] ends it.
    pub(crate) fn open_object(&mut self) -> Result<(), StateError> {
        self.open(OBJECT)
    }

    /// Ends an object.
    pub(crate) fn close_object(&mut self) {
        self.depth -= 1;
        self.out.push(0);
    }

    fn close_array(&mut self) {
        self.depth -= 1;
        self.out.push(ARRAY_END);
    }

    /// Writes a JSON value.
    pub(crate) fn value(&mut self, v: &Value) -> Result<(), StateError> {
        match v {
            Value::Null => self.out.push(NULL),
            Value::Bool(b) => self.out.push(if *b { TRUE } else { FALSE }),
            Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
                (Some(i), _, _) => self.i64(i),
                (None, Some(u), _) => self.u64(u),
                (None, None, Some(f)) => self.f64(f),
                (None, None, None) => return Err(bad_number(n)),
            },
            Value::String(s) => self.string(s),
            Value::Array(items) => {
                self.open(ARRAY)?;
                for item in items {
                    self.value(item)?;
                }
                self.close_array();
            }
            Value::Object(map) => {
                self.open_object()?;
                for (k, item) in map {
                    self.key(k)?;
                    self.value(item)?;
                }
                self.close_object();
            }
        }
        Ok(())
    }
}

fn too_deep() -> StateError {
    StateError::Packed {
        what: "a JSON value".to_owned(),
        why: format!("nested deeper than {DEPTH_MAX} levels"),
    }
}

fn bad_number(n: &serde_json::Number) -> StateError {
    StateError::Packed {
        what: "a JSON value".to_owned(),
        why: format!("number {n} is neither an integer nor a float"),
    }
}

/// Packs a JSON value.
pub(crate) fn pack_value<I: Intern>(
    v: &Value,
    seeds: &[&str],
    names: &mut I,
) -> Result<Vec<u8>, StateError> {
    let mut p = Packer::new(seeds, names);
    p.value(v)?;
    Ok(p.finish())
}

/// Packs JSON text as it is read (no JSON value is built). `Ok(None)` when the text is
/// not JSON; whether the packed form gives back the very same text is for the caller to
/// check ([`crate::unpack`]).
pub(crate) fn pack_text<I: Intern>(
    text: &str,
    seeds: &[&str],
    names: &mut I,
) -> Result<Option<Vec<u8>>, StateError> {
    let mut p = Packer::new(seeds, names);
    let mut failed = None;
    let mut de = serde_json::Deserializer::from_str(text);
    let read = Seed {
        p: &mut p,
        failed: &mut failed,
    }
    .deserialize(&mut de)
    .and_then(|()| de.end());
    match (read, failed) {
        // Interning a name failed: the database's error, not the text's.
        (_, Some(err)) => Err(err),
        (Ok(()), None) => Ok(Some(p.finish())),
        (Err(_), None) => Ok(None),
    }
}

/// Packs one value of the text being read.
struct Seed<'a, 's, 'i, I: Intern> {
    p: &'a mut Packer<'s, 'i, I>,
    /// The database error that stopped the read, if one did.
    failed: &'a mut Option<StateError>,
}

impl<'a, 's, 'i, I: Intern> Seed<'a, 's, 'i, I> {
    fn again(&mut self) -> Seed<'_, 's, 'i, I> {
        Seed {
            p: self.p,
            failed: self.failed,
        }
    }

    fn fail<E: de::Error>(&mut self, err: StateError) -> E {
        let msg = err.to_string();
        *self.failed = Some(err);
        E::custom(msg)
    }
}

impl<'de, I: Intern> DeserializeSeed<'de> for Seed<'_, '_, '_, I> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, I: Intern> Visitor<'de> for Seed<'_, '_, '_, I> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.p.out.push(NULL);
        Ok(())
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<(), E> {
        self.p.out.push(if b { TRUE } else { FALSE });
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<(), E> {
        self.p.i64(n);
        Ok(())
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<(), E> {
        self.p.u64(n);
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, f: f64) -> Result<(), E> {
        self.p.f64(f);
        Ok(())
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<(), E> {
        self.p.string(s);
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        if let Err(e) = self.p.open(ARRAY) {
            return Err(self.fail(e));
        }
        while seq.next_element_seed(self.again())?.is_some() {}
        self.p.close_array();
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        if let Err(e) = self.p.open_object() {
            return Err(self.fail(e));
        }
        while map.next_key_seed(Key(self.again()))?.is_some() {
            map.next_value_seed(self.again())?;
        }
        self.p.close_object();
        Ok(())
    }
}

/// Packs an object key as it is read, without copying it.
struct Key<'a, 's, 'i, I: Intern>(Seed<'a, 's, 'i, I>);

impl<'de, I: Intern> DeserializeSeed<'de> for Key<'_, '_, '_, I> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de, I: Intern> Visitor<'de> for Key<'_, '_, '_, I> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E: de::Error>(mut self, s: &str) -> Result<(), E> {
        match self.0.p.key(s) {
            Ok(()) => Ok(()),
            Err(e) => Err(self.0.fail(e)),
        }
    }
}
