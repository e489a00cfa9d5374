//! Quarantined HR records: the rejected records of the latest read of each source, with
//! when each problem was first and last seen.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rusqlite::{params, Row};
use serde::{Deserialize, Serialize};

use crate::error::{Ctx, StateError};
use crate::sql::{col_ts, now, ts};
use crate::store::Store;

/// A record a source read rejected (what the engine hands in).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectedRecord {
    /// The record's key, if it could be read.
    pub key: Option<String>,
    /// Where it sits in the source ("line 17", "page 3 item 12").
    pub position: String,
    /// The offending field, if one.
    pub field: Option<String>,
    /// Why, in words an HR admin understands.
    pub reason: String,
}

/// Longest text of a stored rejection: a damaged row must not be stored whole, every
/// cycle.
const MAX_STORED_BYTES: usize = 4096;

impl RejectedRecord {
    /// The record with every text cut to [`MAX_STORED_BYTES`], marked where cut.
    fn bounded(&self) -> RejectedRecord {
        RejectedRecord {
            key: self.key.as_deref().map(bound),
            position: bound(&self.position),
            field: self.field.as_deref().map(bound),
            reason: bound(&self.reason),
        }
    }
}

/// `s`, or its first [`MAX_STORED_BYTES`] (on a character boundary) and `…(cut, N bytes)`.
fn bound(s: &str) -> String {
    if s.len() <= MAX_STORED_BYTES {
        return s.to_string();
    }
    let mut end = MAX_STORED_BYTES;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…(cut, {} bytes)", &s[..end], s.len())
}

/// A quarantined record as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuarantinedRecord {
    /// Source name.
    pub source: String,
    /// The record's key, if it could be read.
    pub key: Option<String>,
    /// Where it sits in the source.
    pub position: String,
    /// The offending field, if one.
    pub field: Option<String>,
    /// Why.
    pub reason: String,
    /// The first read that rejected it (kept while the problem persists).
    pub first_seen: DateTime<Utc>,
    /// The latest read that rejected it.
    pub last_seen: DateTime<Utc>,
}

/// The same problem across reads: the same person (or, without a key, the same place)
/// with the same field and reason. Lines move when HR edits the file; keys do not.
type Identity = (Option<String>, Option<String>, Option<String>, String);

fn identity(
    key: &Option<String>,
    position: &str,
    field: &Option<String>,
    reason: &str,
) -> Identity {
    let place = if key.is_none() {
        Some(position.to_owned())
    } else {
        None
    };
    (key.clone(), place, field.clone(), reason.to_owned())
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<QuarantinedRecord> {
    Ok(QuarantinedRecord {
        source: row.get(0)?,
        key: row.get(1)?,
        position: row.get(2)?,
        field: row.get(3)?,
        reason: row.get(4)?,
        first_seen: col_ts(row, 5)?,
        last_seen: col_ts(row, 6)?,
    })
}

impl Store {
    /// Replaces the quarantine of `source` with the rejections of its latest read; a
    /// problem seen before keeps its `first_seen`.
    pub async fn replace_record_quarantine(
        &self,
        source: &str,
        rows: Vec<RejectedRecord>,
    ) -> Result<(), StateError> {
        let source = source.to_owned();
        self.write("replace quarantined records", move |tx| {
            let ctx = || format!("replace the quarantined records of {source}");
            let mut first_seen: BTreeMap<Identity, String> = BTreeMap::new();
            {
                let mut st = tx
                    .prepare(
                        "SELECT person_key, position, field, reason, first_seen \
                         FROM quarantine_records WHERE source = ?1",
                    )
                    .with_ctx(ctx)?;
                let old = st
                    .query_map([&source], |r| {
                        let key: Option<String> = r.get(0)?;
                        let position: String = r.get(1)?;
                        let field: Option<String> = r.get(2)?;
                        let reason: String = r.get(3)?;
                        Ok((identity(&key, &position, &field, &reason), r.get(4)?))
                    })
                    .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
                    .with_ctx(ctx)?;
                for (id, seen) in old {
                    first_seen.entry(id).or_insert(seen);
                }
            }
            tx.execute(
                "DELETE FROM quarantine_records WHERE source = ?1",
                [&source],
            )
            .with_ctx(ctx)?;
            let stamp = ts(&now());
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO quarantine_records (source, person_key, position, field, reason, \
                     first_seen, last_seen) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .with_ctx(ctx)?;
            for r in rows.iter().map(RejectedRecord::bounded) {
                let id = identity(&r.key, &r.position, &r.field, &r.reason);
                let first = first_seen.get(&id).unwrap_or(&stamp);
                insert
                    .execute(params![
                        source, r.key, r.position, r.field, r.reason, first, stamp
                    ])
                    .with_ctx(ctx)?;
            }
            Ok(())
        })
        .await
    }

    /// Every quarantined record, by source, in the order the read reported them.
    pub async fn record_quarantine(&self) -> Result<Vec<QuarantinedRecord>, StateError> {
        self.read(|conn| {
            let mut st = conn
                .prepare(
                    "SELECT source, person_key, position, field, reason, first_seen, last_seen \
                     FROM quarantine_records ORDER BY source, id",
                )
                .ctx("read quarantined records")?;
            let rows = st
                .query_map([], from_row)
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
                .ctx("read quarantined records")?;
            Ok(rows)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_huge_rejection_is_stored_cut_and_marked() {
        let store = Store::open_in_memory().await.expect("store");
        let huge = "x".repeat(1 << 20);
        let row = RejectedRecord {
            key: Some(huge.clone()),
            position: "line 2".into(),
            field: None,
            reason: huge,
        };
        store
            .replace_record_quarantine("hris", vec![row])
            .await
            .expect("save");
        let stored = store.record_quarantine().await.expect("read");
        assert_eq!(stored.len(), 1);
        assert!(stored[0].reason.len() < 5000);
        assert!(stored[0].reason.ends_with("…(cut, 1048576 bytes)"));
        assert!(stored[0].key.as_deref().is_some_and(|k| k.len() < 5000));
    }
}
