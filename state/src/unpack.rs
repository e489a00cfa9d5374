//! Reading packed JSON back ([`crate::packed`] has the format): as JSON text, written as
//! `serde_json` writes the value, or as a JSON value. Packed bytes come from disk, so every
//! length, index, name id and nesting level is checked: damage is an error, never a panic.

use std::borrow::Cow;
use std::io::Write as _;

use serde_json::{Map, Number, Value};

use crate::packed::{
    ARRAY, ARRAY_END, DEPTH_MAX, FALSE, FLOAT, INT, LONG_STR, NULL, OBJECT, REF, SHORT_STR,
    TABLE_MAX, TRUE, UINT, UUID,
};
use crate::stored::uuid_text;

/// Gives the name an object key's id stands for.
pub(crate) trait NameOf {
    /// The name of `id`, if the table has it.
    fn name_of(&self, id: u64) -> Option<&str>;
}

/// Packed bytes that cannot be read back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("packed JSON is damaged: {0}")]
pub(crate) struct UnpackError(String);

fn damaged(why: impl Into<String>) -> UnpackError {
    UnpackError(why.into())
}

/// One scalar as it is read.
enum Scalar<'a> {
    Null,
    Bool(bool),
    I64(i64),
    U64(u64),
    F64(f64),
    Str(&'a str),
}

/// What a value is read into.
trait Sink {
    fn scalar(&mut self, s: Scalar<'_>) -> Result<(), UnpackError>;
    fn open(&mut self, object: bool);
    fn key(&mut self, name: &str);
    fn close(&mut self) -> Result<(), UnpackError>;
}

/// Walks packed bytes, keeping the table of strings met so far.
struct Reader<'a, N: NameOf> {
    bytes: &'a [u8],
    at: usize,
    table: Vec<Cow<'a, str>>,
    names: &'a N,
}

impl<'a, N: NameOf> Reader<'a, N> {
    fn byte(&mut self) -> Result<u8, UnpackError> {
        let b = *self
            .bytes
            .get(self.at)
            .ok_or_else(|| damaged("cut short"))?;
        self.at += 1;
        Ok(b)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], UnpackError> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or_else(|| damaged("cut short"))?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn varint(&mut self) -> Result<u64, UnpackError> {
        let mut n: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            n |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(n);
            }
        }
        Err(damaged("a varint runs past 64 bits"))
    }

    fn text(&mut self, len: usize) -> Result<&'a str, UnpackError> {
        let bytes = self.take(len)?;
        std::str::from_utf8(bytes).map_err(|_| damaged("a string is not UTF-8"))
    }

    /// Emits a string written as itself, adding it to the table.
    fn met(&mut self, s: Cow<'a, str>, sink: &mut impl Sink) -> Result<(), UnpackError> {
        sink.scalar(Scalar::Str(&s))?;
        if self.table.len() < TABLE_MAX {
            self.table.push(s);
        }
        Ok(())
    }

    fn value(&mut self, sink: &mut impl Sink, depth: usize) -> Result<(), UnpackError> {
        let tag = self.byte()?;
        match tag {
            NULL => sink.scalar(Scalar::Null),
            FALSE => sink.scalar(Scalar::Bool(false)),
            TRUE => sink.scalar(Scalar::Bool(true)),
            INT => {
                let z = self.varint()?;
                sink.scalar(Scalar::I64(((z >> 1) as i64) ^ -((z & 1) as i64)))
            }
            UINT => sink.scalar(Scalar::U64(self.varint()?)),
            FLOAT => {
                let mut bits = [0u8; 8];
                bits.copy_from_slice(self.take(8)?);
                sink.scalar(Scalar::F64(f64::from_le_bytes(bits)))
            }
            LONG_STR => {
                let len = usize::try_from(self.varint()?).map_err(|_| damaged("cut short"))?;
                let s = self.text(len)?;
                self.met(Cow::Borrowed(s), sink)
            }
            UUID => {
                let mut b = [0u8; 16];
                b.copy_from_slice(self.take(16)?);
                self.met(Cow::Owned(uuid_text(&b)), sink)
            }
            ARRAY | OBJECT => self.container(tag == OBJECT, sink, depth + 1),
            t if t >= SHORT_STR => {
                let s = self.text(usize::from(t & !SHORT_STR))?;
                self.met(Cow::Borrowed(s), sink)
            }
            t if t >= REF => {
                let i = usize::from(t & !REF);
                let s = self
                    .table
                    .get(i)
                    .ok_or_else(|| damaged(format!("string {i} is not in the table")))?;
                sink.scalar(Scalar::Str(s))
            }
            t => Err(damaged(format!("unknown tag {t:#04x}"))),
        }
    }

    fn container(
        &mut self,
        object: bool,
        sink: &mut impl Sink,
        depth: usize,
    ) -> Result<(), UnpackError> {
        if depth > DEPTH_MAX {
            return Err(damaged(format!("nested deeper than {DEPTH_MAX} levels")));
        }
        sink.open(object);
        loop {
            if object {
                let id = self.varint()?;
                if id == 0 {
                    break;
                }
                let name = self.names.name_of(id);
                sink.key(name.ok_or_else(|| damaged(format!("unknown name id {id}")))?);
            } else if self.bytes.get(self.at) == Some(&ARRAY_END) {
                self.at += 1;
                break;
            }
            self.value(sink, depth)?;
        }
        sink.close()
    }
}

/// Reads the one value `bytes` hold into `sink`; every byte must belong to it.
fn read<N: NameOf>(
    bytes: &[u8],
    seeds: &[&str],
    names: &N,
    sink: &mut impl Sink,
) -> Result<(), UnpackError> {
    let mut r = Reader {
        bytes,
        at: 0,
        table: seeds
            .iter()
            .take(TABLE_MAX)
            .map(|s| Cow::Borrowed(*s))
            .collect(),
        names,
    };
    r.value(sink, 0)?;
    if r.at != bytes.len() {
        return Err(damaged("bytes left after the value"));
    }
    Ok(())
}

/// Writes JSON text as `serde_json` writes a value: compact, its escapes.
#[derive(Default)]
struct Text {
    out: Vec<u8>,
    /// Per open container: whether it is an object, and whether nothing is in it yet.
    open: Vec<(bool, bool)>,
    /// A key was just written: its value needs no comma.
    after_key: bool,
}

impl Text {
    fn separate(&mut self) {
        if std::mem::take(&mut self.after_key) {
            return;
        }
        if let Some((_, first)) = self.open.last_mut() {
            if !std::mem::take(first) {
                self.out.push(b',');
            }
        }
    }
}

fn unwritable(e: impl std::fmt::Display) -> UnpackError {
    damaged(e.to_string())
}

impl Sink for Text {
    fn scalar(&mut self, s: Scalar<'_>) -> Result<(), UnpackError> {
        self.separate();
        let out = &mut self.out;
        match s {
            Scalar::Null => out.extend_from_slice(b"null"),
            Scalar::Bool(b) => out.extend_from_slice(if b { b"true" } else { b"false" }),
            Scalar::I64(n) => write!(out, "{n}").map_err(unwritable)?,
            Scalar::U64(n) => write!(out, "{n}").map_err(unwritable)?,
            Scalar::F64(f) if f.is_finite() => {
                serde_json::to_writer(out, &f).map_err(unwritable)?
            }
            Scalar::F64(_) => return Err(damaged("a float is not finite")),
            Scalar::Str(s) => serde_json::to_writer(out, s).map_err(unwritable)?,
        }
        Ok(())
    }

    fn open(&mut self, object: bool) {
        self.separate();
        self.out.push(if object { b'{' } else { b'[' });
        self.open.push((object, true));
    }

    fn key(&mut self, name: &str) {
        self.separate();
        // Writing a &str into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut self.out, name);
        self.out.push(b':');
        self.after_key = true;
    }

    fn close(&mut self) -> Result<(), UnpackError> {
        let (object, _) = self
            .open
            .pop()
            .ok_or_else(|| damaged("a container closes twice"))?;
        self.out.push(if object { b'}' } else { b']' });
        Ok(())
    }
}

/// Builds a JSON value.
#[derive(Default)]
struct Build {
    /// Open containers, each with the key it will be stored under in its parent.
    stack: Vec<(Value, Option<String>)>,
    key: Option<String>,
    done: Option<Value>,
}

impl Build {
    fn put(&mut self, v: Value) {
        match self.stack.last_mut() {
            Some((Value::Array(items), _)) => items.push(v),
            Some((Value::Object(map), _)) => {
                map.insert(self.key.take().unwrap_or_default(), v);
            }
            _ => self.done = Some(v),
        }
    }
}

impl Sink for Build {
    fn scalar(&mut self, s: Scalar<'_>) -> Result<(), UnpackError> {
        let v = match s {
            Scalar::Null => Value::Null,
            Scalar::Bool(b) => Value::Bool(b),
            Scalar::I64(n) => Value::from(n),
            Scalar::U64(n) => Value::from(n),
            Scalar::F64(f) => {
                Value::Number(Number::from_f64(f).ok_or_else(|| damaged("a float is not finite"))?)
            }
            Scalar::Str(s) => Value::String(s.to_owned()),
        };
        self.put(v);
        Ok(())
    }

    fn open(&mut self, object: bool) {
        let empty = match object {
            true => Value::Object(Map::new()),
            false => Value::Array(Vec::new()),
        };
        self.stack.push((empty, self.key.take()));
    }

    fn key(&mut self, name: &str) {
        self.key = Some(name.to_owned());
    }

    fn close(&mut self) -> Result<(), UnpackError> {
        let (v, key) = self
            .stack
            .pop()
            .ok_or_else(|| damaged("a container closes twice"))?;
        self.key = key;
        self.put(v);
        Ok(())
    }
}

/// The JSON text of packed bytes.
pub(crate) fn unpack_text<N: NameOf>(
    bytes: &[u8],
    seeds: &[&str],
    names: &N,
) -> Result<String, UnpackError> {
    let mut sink = Text::default();
    read(bytes, seeds, names, &mut sink)?;
    // Only `serde_json` output and names' UTF-8 text were written.
    String::from_utf8(sink.out).map_err(|_| damaged("the text is not UTF-8"))
}

/// The JSON value of packed bytes.
pub(crate) fn unpack_value<N: NameOf>(
    bytes: &[u8],
    seeds: &[&str],
    names: &N,
) -> Result<Value, UnpackError> {
    let mut sink = Build::default();
    read(bytes, seeds, names, &mut sink)?;
    sink.done.ok_or_else(|| damaged("no value"))
}
