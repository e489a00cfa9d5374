//! How a link's `last_pushed` is stored: packed JSON ([`crate::packed`]), an object keyed by
//! the ids of its SCIM paths in `names`. The row's person key and userName seed the table of
//! strings, so the pushed `externalId` and `userName` (the same texts) take one byte each.

use std::collections::BTreeMap;

use rusqlite::types::Type;
use serde_json::Value;

use crate::error::StateError;
use crate::packed::{Intern, Packer};
use crate::unpack::{unpack_value, NameOf};

/// The stored bytes of what a link pushed.
pub(crate) fn encode<I: Intern>(
    names: &mut I,
    pushed: &BTreeMap<String, Value>,
    person_key: &str,
    user_name: &str,
) -> Result<Vec<u8>, StateError> {
    let mut p = Packer::new(&[person_key, user_name], names);
    p.open_object()?;
    for (path, value) in pushed {
        p.key(path)?;
        p.value(value)?;
    }
    p.close_object();
    Ok(p.finish())
}

/// What a link pushed, from its stored bytes (column `idx` of the row being read).
pub(crate) fn decode<N: NameOf>(
    names: &N,
    idx: usize,
    bytes: &[u8],
    person_key: &str,
    user_name: &str,
) -> rusqlite::Result<BTreeMap<String, Value>> {
    let bad = |e: String| rusqlite::Error::FromSqlConversionFailure(idx, Type::Blob, e.into());
    match unpack_value(bytes, &[person_key, user_name], names) {
        Ok(Value::Object(map)) => Ok(map.into_iter().collect()),
        Ok(other) => Err(bad(format!("last_pushed is not an object: {other}"))),
        Err(e) => Err(bad(e.to_string())),
    }
}
