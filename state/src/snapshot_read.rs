//! Reading a source's snapshot in two steps: every key with its absent count in one pass,
//! then the record texts of only the keys merging needs (those missing from a complete
//! read; all of them for an incremental one), so a steady cycle loads few records.

use std::collections::BTreeMap;

use rusqlite::params;

use crate::error::{Ctx, StateError};
use crate::sql::LOOKUPS_AT_MOST;
use crate::store::Store;

impl Store {
    /// Every person of a source's snapshot, by key, with their absent count.
    pub async fn snapshot_index(&self, source: &str) -> Result<BTreeMap<String, u32>, StateError> {
        let source = source.to_owned();
        self.read(move |conn| {
            let ctx = || format!("read the snapshot of {source}");
            let mut st = conn
                .prepare_cached("SELECT person_key, absent_cycles FROM snapshot WHERE source = ?1")
                .with_ctx(ctx)?;
            let rows = st
                .query_map([&source], |r| Ok((r.get(0)?, r.get(1)?)))
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
        self.read(move |conn| {
            let ctx = || format!("read the snapshot of {source}");
            let mut out = BTreeMap::new();
            if keys.len() <= LOOKUPS_AT_MOST {
                let mut st = conn
                    .prepare_cached(
                        "SELECT record FROM snapshot WHERE source = ?1 AND person_key = ?2",
                    )
                    .with_ctx(ctx)?;
                for key in keys {
                    let mut rows = st.query(params![source, key]).with_ctx(ctx)?;
                    if let Some(row) = rows.next().with_ctx(ctx)? {
                        out.insert(key, row.get(0).with_ctx(ctx)?);
                    }
                }
                return Ok(out);
            }
            let wanted: std::collections::BTreeSet<String> = keys.into_iter().collect();
            let mut st = conn
                .prepare_cached("SELECT person_key, record FROM snapshot WHERE source = ?1")
                .with_ctx(ctx)?;
            let mut rows = st.query([&source]).with_ctx(ctx)?;
            while let Some(row) = rows.next().with_ctx(ctx)? {
                let key: String = row.get(0).with_ctx(ctx)?;
                if wanted.contains(&key) {
                    out.insert(key, row.get(1).with_ctx(ctx)?);
                }
            }
            Ok(out)
        })
        .await
    }
}
