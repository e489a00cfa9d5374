//! The HR snapshot: the last record read of every person per source, and how many
//! consecutive complete reads each person has been missing from (absence is not
//! termination).

use std::collections::BTreeMap;

use rusqlite::types::Type;
use rusqlite::{params, Row};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::{Ctx, StateError};
use crate::names::NameTable;
use crate::snapshot_canon::write_canonical;
use crate::snapshot_stored::record_text;
use crate::sql::{count, to_json};
use crate::store::Store;
use crate::stored::col_hex_text;

/// One person as a source last reported them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotRow {
    /// Source name.
    pub source: String,
    /// HR key.
    pub person_key: String,
    /// The record as read.
    pub record: Value,
    /// [`record_hash`] of the record.
    pub hash: String,
    /// The cycle that first saw them.
    pub first_seen_cycle: i64,
    /// The cycle the row was last written as seen or changed: first seen, record changed,
    /// back from absence, or frozen. An unchanged present person is not rewritten, so this
    /// can be older than the last read that included them (see `absent_cycles` for that).
    pub last_seen_cycle: i64,
    /// Consecutive complete reads without them (0 = present in the last one).
    pub absent_cycles: u32,
}

/// A source's snapshot as [`Store::snapshot_records`] reads it: person key → (the record,
/// or why it could not be read as the caller's type; consecutive absent reads).
pub type SnapshotRecords<T> = BTreeMap<String, (Result<T, String>, u32)>;

/// What `save_snapshot` found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotSaved {
    /// Persons not in the snapshot before.
    pub added: u64,
    /// Persons whose record changed.
    pub changed: u64,
    /// Persons whose record is the same.
    pub unchanged: u64,
    /// Persons missing from this complete read (counted once per cycle).
    pub absent: u64,
}

/// How many persons a source's snapshot holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotCount {
    /// Present in the last complete read (the base of `max_source_drop_percent`).
    pub present: u64,
    /// Kept while missing, waiting out `absence_grace_cycles`.
    pub absent: u64,
}

/// SHA-256 (hex) of a record in canonical form: object keys sorted at every level, so the
/// order a source lists fields in does not make a record look changed.
pub fn record_hash(record: &Value) -> String {
    hex::encode(record_digest(record))
}

fn record_digest(record: &Value) -> [u8; 32] {
    let mut hasher = Sha256::new();
    feed(&mut hasher, record);
    hasher.finalize().into()
}

/// A record ready for the snapshot: the text stored and its [`record_hash`], so that an
/// unchanged person is recognised by the hash alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotRecord {
    /// The record's JSON text (what reading it back gives; stored packed when that gives
    /// back the very same text).
    pub(crate) text: String,
    /// [`record_hash`] of the record, as bytes.
    pub(crate) hash: [u8; 32],
}

impl SnapshotRecord {
    /// A record given as a JSON value.
    pub fn of_value(record: &Value) -> Result<Self, StateError> {
        Ok(SnapshotRecord {
            text: to_json(record, "snapshot.record")?,
            hash: record_digest(record),
        })
    }

    /// Any serialisable record, hashed from its canonical form written directly (the same
    /// [`record_hash`] as the record turned into a JSON value, without building that value)
    /// and stored as the text `serde_json` writes for it.
    pub fn of<T: Serialize + ?Sized>(record: &T) -> Result<Self, StateError> {
        Self::unless_stored(record, None)
    }

    /// A record as [`Self::of`] gives it, but without its text when `stored` is its hash
    /// already: saving keeps such a row as it is and never reads the text, and a steady
    /// cycle then holds no copy of its population's records.
    pub fn unless_stored<T: Serialize + ?Sized>(
        record: &T,
        stored: Option<&[u8; 32]>,
    ) -> Result<Self, StateError> {
        let json = |source| StateError::Json {
            what: "snapshot.record".to_owned(),
            source,
        };
        let mut canonical = Vec::with_capacity(512);
        write_canonical(record, &mut canonical).map_err(json)?;
        let hash: [u8; 32] = Sha256::digest(&canonical).into();
        let text = match stored == Some(&hash) {
            true => String::new(),
            false => serde_json::to_string(record).map_err(json)?,
        };
        Ok(SnapshotRecord { text, hash })
    }

    /// The record's JSON text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The hash in lowercase hex, as [`record_hash`] gives it (stored as its 32 bytes).
    pub fn hash_hex(&self) -> String {
        hex::encode(self.hash)
    }
}

fn feed(hasher: &mut Sha256, value: &Value) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            hasher.update(b"{");
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    hasher.update(b",");
                }
                feed(hasher, &Value::String(key.clone()));
                hasher.update(b":");
                if let Some(v) = map.get(key) {
                    feed(hasher, v);
                }
            }
            hasher.update(b"}");
        }
        Value::Array(items) => {
            hasher.update(b"[");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    hasher.update(b",");
                }
                feed(hasher, item);
            }
            hasher.update(b"]");
        }
        // Scalars print the same whatever the map order, so their JSON text is canonical.
        scalar => hasher.update(scalar.to_string().as_bytes()),
    }
}

fn from_row(row: &Row<'_>, names: &NameTable) -> rusqlite::Result<SnapshotRow> {
    let bad = |e: String| rusqlite::Error::FromSqlConversionFailure(2, Type::Blob, e.into());
    let source: String = row.get(0)?;
    let person_key: String = row.get(1)?;
    let text = record_text(row.get_ref(2)?, &person_key, &source, names).map_err(bad)?;
    let record = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    Ok(SnapshotRow {
        source,
        person_key,
        record,
        hash: col_hex_text(row, 3)?,
        first_seen_cycle: row.get(4)?,
        last_seen_cycle: row.get(5)?,
        absent_cycles: row.get(6)?,
    })
}

impl Store {
    /// The snapshot of a source, by person key (absent persons included).
    pub async fn snapshot(
        &self,
        source: &str,
    ) -> Result<BTreeMap<String, SnapshotRow>, StateError> {
        let source = source.to_owned();
        self.read(move |conn| {
            let names = NameTable::load(conn)?;
            let mut st = conn
                .prepare(
                    "SELECT source, person_key, record, hash, first_seen_cycle, last_seen_cycle, \
                     absent_cycles FROM snapshot WHERE source = ?1 ORDER BY person_key",
                )
                .with_ctx(|| format!("read the snapshot of {source}"))?;
            let rows = st
                .query_map([&source], |r| from_row(r, &names))
                .with_ctx(|| format!("read the snapshot of {source}"))?;
            let mut out = BTreeMap::new();
            for row in rows {
                let row = row.with_ctx(|| format!("read the snapshot of {source}"))?;
                out.insert(row.person_key.clone(), row);
            }
            Ok(out)
        })
        .await
    }

    /// The snapshot of a source as the caller's record type, by person key, with each
    /// person's absent count: one pass over the table, each record parsed from its stored
    /// text once (no intermediate JSON value). A record that does not parse as `T` comes
    /// back as its error, so that the caller decides what an unreadable row means.
    pub async fn snapshot_records<T>(&self, source: &str) -> Result<SnapshotRecords<T>, StateError>
    where
        T: DeserializeOwned + Send + 'static,
    {
        let source = source.to_owned();
        self.read(move |conn| {
            let ctx = || format!("read the snapshot of {source}");
            let names = NameTable::load(conn)?;
            let mut st = conn
                .prepare_cached(
                    "SELECT person_key, record, absent_cycles FROM snapshot WHERE source = ?1",
                )
                .with_ctx(ctx)?;
            let mut rows = st.query([&source]).with_ctx(ctx)?;
            let mut out = BTreeMap::new();
            while let Some(row) = rows.next().with_ctx(ctx)? {
                let key: String = row.get(0).with_ctx(ctx)?;
                let value = row.get_ref(1).with_ctx(ctx)?;
                let record = record_text(value, &key, &source, &names)
                    .and_then(|t| serde_json::from_str::<T>(&t).map_err(|e| e.to_string()));
                let absent: u32 = row.get(2).with_ctx(ctx)?;
                out.insert(key, (record, absent));
            }
            Ok(out)
        })
        .await
    }

    /// Removes persons from a source's snapshot (after they were deprovisioned); returns
    /// how many were there.
    pub async fn drop_from_snapshot(
        &self,
        source: &str,
        person_keys: Vec<String>,
    ) -> Result<u64, StateError> {
        let source = source.to_owned();
        self.write("drop persons from the snapshot", move |tx| {
            let mut st = tx
                .prepare_cached("DELETE FROM snapshot WHERE source = ?1 AND person_key = ?2")
                .with_ctx(|| format!("drop persons from the snapshot of {source}"))?;
            let mut n = 0;
            for key in &person_keys {
                n += st
                    .execute(params![source, key])
                    .with_ctx(|| format!("drop {key} from the snapshot of {source}"))?
                    as u64;
            }
            Ok(n)
        })
        .await
    }

    /// How many persons the snapshot of a source holds, present and absent.
    pub async fn snapshot_count(&self, source: &str) -> Result<SnapshotCount, StateError> {
        let source = source.to_owned();
        self.read(move |conn| {
            let (present, absent): (i64, i64) = conn
                .query_row(
                    "SELECT COALESCE(SUM(absent_cycles = 0), 0), COALESCE(SUM(absent_cycles > 0), 0) \
                     FROM snapshot WHERE source = ?1",
                    [&source],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .with_ctx(|| format!("count the snapshot of {source}"))?;
            Ok(SnapshotCount {
                present: count(present),
                absent: count(absent),
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn field_order_does_not_change_the_hash() {
        let a: Value = serde_json::from_str(r#"{"b":1,"a":{"y":[1,"x"],"x":null}}"#).expect("a");
        let b: Value = serde_json::from_str(r#"{"a":{"x":null,"y":[1,"x"]},"b":1}"#).expect("b");
        assert_eq!(record_hash(&a), record_hash(&b));
    }

    #[tokio::test]
    async fn a_frozen_key_is_seen_not_absent_and_keeps_its_last_record() {
        let store = Store::open_in_memory().await.expect("store");
        let rec = |k: &str, t: &str| (k.to_string(), json!({"key": k, "title": t}));
        store
            .save_snapshot("hris", 1, vec![rec("A", "x"), rec("B", "x")], true)
            .await
            .expect("cycle 1");
        for cycle in 2..=5 {
            // B's records were set aside every time (say, a duplicated key).
            let saved = store
                .save_read("hris", cycle, vec![rec("A", "x")], vec!["B".into()], true)
                .await
                .expect("cycle");
            assert_eq!(saved.absent, 0, "cycle {cycle}: B is not absent");
        }
        let snap = store.snapshot("hris").await.expect("snapshot");
        assert_eq!(snap["B"].absent_cycles, 0);
        assert_eq!(snap["B"].last_seen_cycle, 5);
        assert_eq!(
            snap["B"].record,
            json!({"key": "B", "title": "x"}),
            "last good record"
        );
        // Without the frozen key the same read counts B absent: the test can fail.
        let saved = store
            .save_snapshot("hris", 6, vec![rec("A", "x")], true)
            .await
            .expect("cycle 6");
        assert_eq!(saved.absent, 1);
    }

    #[test]
    fn the_hash_format_is_stable() {
        // Hashes already stored must keep comparing equal to the same record read again.
        let record = json!({"b": 1, "a": {"y": [1, "x"], "x": null}});
        assert_eq!(
            record_hash(&record),
            "07a4c1f8224e8bb7a349722dae0bf17479db3d1b8daee8f96bbe5c776b96be90"
        );
    }

    #[test]
    fn any_value_change_changes_the_hash() {
        let base = json!({"name": "Ana", "tags": ["a", "b"]});
        for other in [
            json!({"name": "Ana ", "tags": ["a", "b"]}),
            json!({"name": "Ana", "tags": ["b", "a"]}),
            json!({"name": "Ana", "tags": ["a", "b"], "x": null}),
            json!({"name": "Ana", "tags": "a,b"}),
        ] {
            assert_ne!(record_hash(&base), record_hash(&other), "{other}");
        }
    }
}
