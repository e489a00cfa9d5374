//! Small keyed values: incremental-read watermarks per source and free-form metadata
//! (e.g. the time of a source's last full read).

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};

use crate::error::{Ctx, StateError};
use crate::sql::{col_ts, now, ts};
use crate::store::Store;

/// Where a source's next incremental read starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Watermark {
    /// The source's own marker (a timestamp, a cursor).
    pub value: String,
    /// When it was stored.
    pub updated_at: DateTime<Utc>,
}

impl Store {
    /// The watermark of a source, if one was stored.
    pub async fn watermark(&self, source: &str) -> Result<Option<Watermark>, StateError> {
        let source = source.to_owned();
        self.read(move |conn| {
            conn.query_row(
                "SELECT value, updated_at FROM watermarks WHERE source = ?1",
                [&source],
                |r| {
                    Ok(Watermark {
                        value: r.get(0)?,
                        updated_at: col_ts(r, 1)?,
                    })
                },
            )
            .optional()
            .with_ctx(|| format!("read the watermark of {source}"))
        })
        .await
    }

    /// Stores the watermark of a source.
    pub async fn set_watermark(&self, source: &str, value: &str) -> Result<(), StateError> {
        let (source, value) = (source.to_owned(), value.to_owned());
        self.write("store a watermark", move |tx| {
            tx.execute(
                "INSERT OR REPLACE INTO watermarks (source, value, updated_at) VALUES (?1, ?2, ?3)",
                params![source, value, ts(&now())],
            )
            .with_ctx(|| format!("store the watermark of {source}"))?;
            Ok(())
        })
        .await
    }

    /// A metadata value.
    pub async fn meta(&self, key: &str) -> Result<Option<String>, StateError> {
        let key = key.to_owned();
        self.read(move |conn| {
            conn.query_row("SELECT value FROM meta WHERE key = ?1", [&key], |r| {
                r.get(0)
            })
            .optional()
            .with_ctx(|| format!("read meta {key}"))
        })
        .await
    }

    /// Stores a metadata value.
    pub async fn set_meta(&self, key: &str, value: &str) -> Result<(), StateError> {
        let (key, value) = (key.to_owned(), value.to_owned());
        self.write("store a meta value", move |tx| {
            tx.execute(
                "INSERT OR REPLACE INTO meta (key, value, updated_at) VALUES (?1, ?2, ?3)",
                params![key, value, ts(&now())],
            )
            .with_ctx(|| format!("store meta {key}"))?;
            Ok(())
        })
        .await
    }
}
