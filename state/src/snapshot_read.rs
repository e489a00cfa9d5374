//! Reading a source's snapshot in two steps: every key with its absent count in one pass,
//! then the record texts of only the keys merging needs (those missing from a complete
//! read; all of them for an incremental one), so a steady cycle loads few records.

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::types::Type;

use crate::error::{Ctx, StateError};
use crate::keyed::rows_of_keys;
use crate::names::NameTable;
use crate::snapshot_stored::{record_text, stored_hash};
use crate::store::Store;

impl Store {
    /// Every person of a source's snapshot, by key, with their absent count and, when
    /// `hashes` (a cycle that saves its read), their record's hash (`None` when not asked
    /// for, or when the stored hash is not one hrsync wrote).
    pub async fn snapshot_index(
        &self,
        source: &str,
        hashes: bool,
    ) -> Result<BTreeMap<String, (u32, Option<[u8; 32]>)>, StateError> {
        let source = source.to_owned();
        self.read(move |conn| {
            let ctx = || format!("read the snapshot of {source}");
            let mut st = conn
                .prepare_cached(
                    "SELECT person_key, absent_cycles, hash FROM snapshot WHERE source = ?1",
                )
                .with_ctx(ctx)?;
            let rows = st
                .query_map([&source], |r| {
                    let hash = match hashes {
                        true => stored_hash(r.get_ref(2)?),
                        false => None,
                    };
                    Ok((r.get(0)?, (r.get(1)?, hash)))
                })
                .with_ctx(ctx)?;
            rows.collect::<rusqlite::Result<_>>().with_ctx(ctx)
        })
        .await
    }

    /// The stored record texts of `keys` in a source's snapshot (keys without a row are
    /// left out).
    pub async fn snapshot_texts_of(
        &self,
        source: &str,
        keys: Vec<String>,
    ) -> Result<BTreeMap<String, String>, StateError> {
        if keys.is_empty() {
            return Ok(BTreeMap::new());
        }
        let source = source.to_owned();
        let keys: BTreeSet<String> = keys.into_iter().collect();
        self.read(move |conn| {
            let names = NameTable::load(conn)?;
            let select = "SELECT person_key, record FROM snapshot WHERE source = ?1";
            let rows = rows_of_keys(conn, select, &source, &keys, 0, |r| {
                let key: String = r.get(0)?;
                let text = record_text(r.get_ref(1)?, &key, &source, &names)
                    .map_err(|e| {
                        rusqlite::Error::FromSqlConversionFailure(1, Type::Blob, e.into())
                    })?
                    .into_owned();
                Ok((key, text))
            });
            let rows = rows.with_ctx(|| format!("read the snapshot of {source}"))?;
            Ok(rows.into_iter().collect())
        })
        .await
    }
}
