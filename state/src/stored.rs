//! How the compact columns (schema 5) hold their values, converted at the crate boundary so
//! that callers see the same types as before: timestamps as INTEGER milliseconds since the
//! epoch, enums as small integer codes, account ids and hashes as BLOBs when they have the
//! common shape (a canonical UUID, lowercase hex) and as their text otherwise.
//!
//! Every write and every lookup of such a column goes through one of these functions, so
//! that a value is always stored the one way and `=` finds it.

use chrono::{DateTime, Utc};
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use rusqlite::Row;

use crate::error::UnknownValue;

/// A timestamp as stored: milliseconds since the epoch (what the RFC 3339 text held too).
pub(crate) fn ms(t: &DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// A stored millisecond count as a timestamp.
fn from_ms(idx: usize, n: i64) -> rusqlite::Result<DateTime<Utc>> {
    DateTime::from_timestamp_millis(n).ok_or(rusqlite::Error::IntegralValueOutOfRange(idx, n))
}

/// Reads a timestamp column (INTEGER milliseconds).
pub(crate) fn col_ms(row: &Row<'_>, idx: usize) -> rusqlite::Result<DateTime<Utc>> {
    from_ms(idx, row.get(idx)?)
}

/// Reads a nullable timestamp column (INTEGER milliseconds).
pub(crate) fn col_opt_ms(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<DateTime<Utc>>> {
    let n: Option<i64> = row.get(idx)?;
    n.map(|n| from_ms(idx, n)).transpose()
}

/// A fieldless enum stored as a small integer (0 and 1 take no bytes in a SQLite record).
/// The codes are part of the file format: never renumber one.
pub(crate) trait Coded: Sized + Copy + 'static {
    /// Every value, in declaration order.
    const ALL: &'static [Self];
    /// The type's name, for errors.
    const KIND: &'static str;
    /// The stored code.
    fn code(self) -> i64;
    /// The value of a stored code.
    fn from_code(code: i64) -> Option<Self> {
        Self::ALL.iter().copied().find(|v| v.code() == code)
    }
}

/// Defines the codes of a text enum: `coded!(Type { Variant = 0, ... })`.
macro_rules! coded {
    ($ty:ty { $($variant:ident = $code:literal),+ $(,)? }) => {
        impl $crate::stored::Coded for $ty {
            const ALL: &'static [Self] = <$ty>::ALL;
            const KIND: &'static str = stringify!($ty);
            fn code(self) -> i64 {
                match self {
                    $( <$ty>::$variant => $code ),+
                }
            }
        }
    };
}

pub(crate) use coded;

/// A coded enum bound to or read from a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Code<T>(pub T);

impl<T: Coded> ToSql for Code<T> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.0.code()))
    }
}

impl<T: Coded> FromSql for Code<T> {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let code = value.as_i64()?;
        T::from_code(code).map(Code).ok_or_else(|| {
            FromSqlError::Other(Box::new(UnknownValue {
                kind: T::KIND,
                value: code.to_string(),
            }))
        })
    }
}

/// The 16 bytes of `text` when it is a UUID in canonical form (lowercase, hyphenated, as
/// Entra, Okta and most SCIM servers hand them out); `None` for any other text.
pub(crate) fn uuid_bytes(text: &str) -> Option<[u8; 16]> {
    let b = text.as_bytes();
    if b.len() != 36 || [8, 13, 18, 23].iter().any(|&i| b[i] != b'-') {
        return None;
    }
    let mut digits = [0u8; 32];
    let mut n = 0;
    for &c in b.iter().filter(|&&c| c != b'-') {
        if !matches!(c, b'0'..=b'9' | b'a'..=b'f') || n == 32 {
            return None;
        }
        digits[n] = c;
        n += 1;
    }
    let mut out = [0u8; 16];
    hex::decode_to_slice(&digits[..n], &mut out).ok()?;
    Some(out)
}

/// The canonical text of a UUID's 16 bytes.
pub(crate) fn uuid_text(bytes: &[u8; 16]) -> String {
    let mut out = String::with_capacity(36);
    for (i, part) in [
        &bytes[..4],
        &bytes[4..6],
        &bytes[6..8],
        &bytes[8..10],
        &bytes[10..],
    ]
    .into_iter()
    .enumerate()
    {
        if i > 0 {
            out.push('-');
        }
        push_hex(&mut out, part);
    }
    out
}

/// `bytes` in lowercase hex. A steady cycle turns a few hundred thousand stored hashes and
/// ids back into text, so this writes digits straight from a table.
pub(crate) fn hex_text(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    push_hex(&mut out, bytes);
    out
}

fn push_hex(out: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
}

/// An account id as stored: a canonical UUID as its 16 bytes, any other id as its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AccountId<'a>(pub &'a str);

impl ToSql for AccountId<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match uuid_bytes(self.0) {
            Some(bytes) => ToSqlOutput::from(bytes.to_vec()),
            None => ToSqlOutput::from(self.0),
        })
    }
}

/// Reads an account id column written through [`AccountId`].
pub(crate) fn account_id(value: ValueRef<'_>) -> FromSqlResult<String> {
    match value {
        ValueRef::Blob(b) => <[u8; 16]>::try_from(b)
            .map(|bytes| uuid_text(&bytes))
            .map_err(|_| FromSqlError::InvalidBlobSize {
                expected_size: 16,
                blob_size: b.len(),
            }),
        other => other.as_str().map(str::to_owned),
    }
}

/// Reads an account id column.
pub(crate) fn col_account_id(row: &Row<'_>, idx: usize) -> rusqlite::Result<String> {
    account_id(row.get_ref(idx)?).map_err(|e| from_sql_error(idx, e))
}

/// Reads a nullable account id column.
pub(crate) fn col_opt_account_id(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<String>> {
    match row.get_ref(idx)? {
        ValueRef::Null => Ok(None),
        v => account_id(v).map(Some).map_err(|e| from_sql_error(idx, e)),
    }
}

/// A hash (or fingerprint) as stored: lowercase hex as its bytes, any other text as is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HexText<'a>(pub &'a str);

/// The bytes of `text` when it is non-empty lowercase hex.
fn lower_hex_bytes(text: &str) -> Option<Vec<u8>> {
    let lower = text.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'));
    (lower && !text.is_empty())
        .then(|| hex::decode(text).ok())
        .flatten()
}

impl ToSql for HexText<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match lower_hex_bytes(self.0) {
            Some(bytes) => ToSqlOutput::from(bytes),
            None => ToSqlOutput::from(self.0),
        })
    }
}

/// Reads a column written through [`HexText`].
pub(crate) fn col_hex_text(row: &Row<'_>, idx: usize) -> rusqlite::Result<String> {
    match row.get_ref(idx)? {
        ValueRef::Blob(b) => Ok(hex_text(b)),
        v => v
            .as_str()
            .map(str::to_owned)
            .map_err(|e| from_sql_error(idx, e)),
    }
}

/// A conversion error of column `idx` as rusqlite reports one.
pub(crate) fn from_sql_error(idx: usize, e: FromSqlError) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Blob, Box::new(e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rusqlite::Connection;

    fn round_trip<T: ToSql>(
        value: T,
        read: fn(&Row<'_>, usize) -> rusqlite::Result<String>,
    ) -> String {
        let conn = Connection::open_in_memory().expect("open");
        conn.query_row("SELECT ?1", [value], |r| read(r, 0))
            .expect("read")
    }

    #[test]
    fn a_canonical_uuid_is_stored_as_16_bytes_and_anything_else_as_text() {
        let id = "0f8e2a5c-1b3d-4c7e-9a0b-123456789abc";
        assert_eq!(uuid_bytes(id).map(|b| uuid_text(&b)).as_deref(), Some(id));
        for other in [
            "0F8E2A5C-1B3D-4C7E-9A0B-123456789ABC",
            "0f8e2a5c1b3d4c7e9a0b123456789abc",
            "{0f8e2a5c-1b3d-4c7e-9a0b-123456789abc}",
            "0f8e2a5c-1b3d-4c7e-9a0b-123456789ab-",
            "0f8e2a5c-1b3d-4c7e-9a0b-123456789abg",
            "U012AB3CD",
            "",
        ] {
            assert_eq!(uuid_bytes(other), None, "{other}");
            assert_eq!(round_trip(AccountId(other), col_account_id), other);
        }
        assert_eq!(round_trip(AccountId(id), col_account_id), id);
    }

    #[test]
    fn hex_is_stored_as_bytes_and_anything_else_as_text() {
        for text in [
            "",
            "a",
            "abc",
            "ABCD",
            "hash-E1",
            "00ff",
            "0123456789abcdef",
        ] {
            assert_eq!(round_trip(HexText(text), col_hex_text), text);
        }
        assert_eq!(lower_hex_bytes("00ff"), Some(vec![0, 255]));
        assert_eq!(lower_hex_bytes("00FF"), None);
    }

    proptest! {
        #[test]
        fn any_account_id_round_trips(id in "[0-9a-fA-F-]{0,40}|\\PC{0,12}", uuid in any::<[u8; 16]>()) {
            prop_assert_eq!(round_trip(AccountId(&id), col_account_id), id);
            let canonical = uuid_text(&uuid);
            prop_assert_eq!(uuid_bytes(&canonical), Some(uuid));
            prop_assert_eq!(round_trip(AccountId(&canonical), col_account_id), canonical);
        }

        #[test]
        fn any_hash_text_round_trips(text in "[0-9a-fA-F]{0,40}|\\PC{0,12}") {
            prop_assert_eq!(round_trip(HexText(&text), col_hex_text), text);
        }

        #[test]
        fn hex_and_uuid_text_are_the_canonical_forms(bytes in any::<Vec<u8>>(), uuid in any::<[u8; 16]>()) {
            prop_assert_eq!(hex_text(&bytes), hex::encode(&bytes));
            let h = hex::encode(uuid);
            let canonical = format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..]);
            prop_assert_eq!(uuid_text(&uuid), canonical);
        }

        #[test]
        fn any_millisecond_timestamp_round_trips(n in -8_000_000_000_000i64..8_000_000_000_000) {
            let t = DateTime::from_timestamp_millis(n).expect("in range");
            let conn = Connection::open_in_memory().expect("open");
            let back = conn.query_row("SELECT ?1", [ms(&t)], |r| col_ms(r, 0)).expect("read");
            prop_assert_eq!(back, t);
        }
    }
}
