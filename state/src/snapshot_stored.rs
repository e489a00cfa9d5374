//! How a snapshot row's record and hash read back from their columns: the one place
//! that knows their stored forms, for the code that reads the snapshot and the code
//! that saves it.

use std::borrow::Cow;

use rusqlite::types::ValueRef;

use crate::names::NameTable;
use crate::unpack::unpack_text;

/// The text of a stored record (the `record` column of `key` in `source`): packed bytes
/// unpacked, or the text as it is; why not when it cannot be read.
pub(crate) fn record_text<'v>(
    value: ValueRef<'v>,
    key: &str,
    source: &str,
    names: &NameTable,
) -> Result<Cow<'v, str>, String> {
    match value {
        ValueRef::Blob(bytes) => unpack_text(bytes, &[key, source], names)
            .map(Cow::Owned)
            .map_err(|e| e.to_string()),
        other => other.as_str().map(Cow::Borrowed).map_err(|e| e.to_string()),
    }
}

/// A stored record hash as bytes: its 32 bytes, or (a row of an older form) their hex;
/// `None` for anything else (never equal to a record's, so the row is rewritten).
pub(crate) fn stored_hash(value: ValueRef<'_>) -> Option<[u8; 32]> {
    if let ValueRef::Blob(bytes) = value {
        return <[u8; 32]>::try_from(bytes).ok();
    }
    let mut hash = [0u8; 32];
    let text = value.as_str().ok()?;
    hex::decode_to_slice(text, &mut hash).ok().map(|()| hash)
}
