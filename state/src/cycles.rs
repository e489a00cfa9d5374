//! Cycles: one row per plan/apply/resync/run cycle, its status and summary.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Ctx, StateError};
use crate::sql::{col_opt_json, col_opt_ts, col_ts, now, text_enum, to_json, ts};
use crate::store::Store;

text_enum! {
    /// What started a cycle.
    pub enum CycleKind {
        /// `hrsync plan` (dry run).
        Plan => "plan",
        /// `hrsync apply`.
        Apply => "apply",
        /// `hrsync resync`.
        Resync => "resync",
        /// A scheduled or triggered cycle of the daemon.
        Run => "run",
    }
}

text_enum! {
    /// How a cycle ended (or that it has not).
    pub enum CycleStatus {
        /// Still going.
        Running => "running",
        /// Every operation succeeded.
        Ok => "ok",
        /// Some operation failed, or the cycle could not run.
        Failed => "failed",
        /// A safety guard held changes back.
        Guarded => "guarded",
        /// The process stopped before the cycle finished.
        Interrupted => "interrupted",
    }
}

/// One cycle as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CycleRow {
    /// Increasing id.
    pub id: i64,
    /// What started it.
    pub kind: CycleKind,
    /// When it began.
    pub started_at: DateTime<Utc>,
    /// When it ended.
    pub finished_at: Option<DateTime<Utc>>,
    /// How it ended.
    pub status: CycleStatus,
    /// Counts and facts for `status` (null until finished).
    pub summary: Value,
    /// Why it failed.
    pub error: Option<String>,
}

const COLUMNS: &str = "id, kind, started_at, finished_at, status, summary, error";

fn from_row(row: &Row<'_>) -> rusqlite::Result<CycleRow> {
    Ok(CycleRow {
        id: row.get(0)?,
        kind: row.get(1)?,
        started_at: col_ts(row, 2)?,
        finished_at: col_opt_ts(row, 3)?,
        status: row.get(4)?,
        summary: col_opt_json(row, 5)?,
        error: row.get(6)?,
    })
}

/// Marks every `running` cycle `interrupted`; returns how many.
pub(crate) fn mark_interrupted(conn: &Connection) -> Result<usize, StateError> {
    conn.execute(
        "UPDATE cycles SET status = ?1, error = ?2 WHERE status = ?3",
        params![
            CycleStatus::Interrupted,
            "hrsync stopped before the cycle finished",
            CycleStatus::Running
        ],
    )
    .ctx("mark interrupted cycles")
}

impl Store {
    /// Starts a cycle (status `running`) and returns its id.
    pub async fn begin_cycle(&self, kind: CycleKind) -> Result<i64, StateError> {
        self.write("begin a cycle", move |tx| {
            tx.execute(
                "INSERT INTO cycles (kind, started_at, status) VALUES (?1, ?2, ?3)",
                params![kind, ts(&now()), CycleStatus::Running],
            )
            .ctx("begin a cycle")?;
            Ok(tx.last_insert_rowid())
        })
        .await
    }

    /// Ends a cycle with its status, summary and error.
    pub async fn finish_cycle(
        &self,
        id: i64,
        status: CycleStatus,
        summary: Value,
        error: Option<String>,
    ) -> Result<(), StateError> {
        self.write("finish a cycle", move |tx| {
            let summary = to_json(&summary, "cycles.summary")?;
            let changed = tx
                .execute(
                    "UPDATE cycles SET status = ?2, summary = ?3, error = ?4, finished_at = ?5 \
                     WHERE id = ?1",
                    params![id, status, summary, error, ts(&now())],
                )
                .with_ctx(|| format!("finish cycle {id}"))?;
            if changed == 0 {
                return Err(StateError::NotFound {
                    what: format!("cycle {id}"),
                });
            }
            Ok(())
        })
        .await
    }

    /// One cycle by id.
    pub async fn cycle(&self, id: i64) -> Result<Option<CycleRow>, StateError> {
        self.read(move |conn| {
            conn.query_row(
                &format!("SELECT {COLUMNS} FROM cycles WHERE id = ?1"),
                [id],
                from_row,
            )
            .optional()
            .with_ctx(|| format!("read cycle {id}"))
        })
        .await
    }

    /// The last `n` cycles, newest first.
    pub async fn recent_cycles(&self, n: usize) -> Result<Vec<CycleRow>, StateError> {
        let limit = i64::try_from(n).unwrap_or(i64::MAX);
        self.read(move |conn| {
            let mut st = conn
                .prepare(&format!(
                    "SELECT {COLUMNS} FROM cycles ORDER BY id DESC LIMIT ?1"
                ))
                .ctx("read recent cycles")?;
            let rows = st
                .query_map([limit], from_row)
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
                .ctx("read recent cycles")?;
            Ok(rows)
        })
        .await
    }

    /// The last `n` finished cycles with a summary, of one kind or of every kind, newest
    /// first: where `status` finds what the latest cycle that covered an app reported.
    pub async fn recent_summaries(
        &self,
        kind: Option<CycleKind>,
        n: usize,
    ) -> Result<Vec<CycleRow>, StateError> {
        let limit = i64::try_from(n).unwrap_or(i64::MAX);
        self.read(move |conn| {
            let by_kind = if kind.is_some() { "AND kind = ?2" } else { "" };
            let mut st = conn
                .prepare(&format!(
                    "SELECT {COLUMNS} FROM cycles WHERE summary IS NOT NULL \
                     AND finished_at IS NOT NULL {by_kind} ORDER BY id DESC LIMIT ?1"
                ))
                .ctx("read recent cycle summaries")?;
            let rows = match kind {
                Some(k) => st.query_map(params![limit, k], from_row),
                None => st.query_map(params![limit], from_row),
            }
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .ctx("read recent cycle summaries")?;
            Ok(rows)
        })
        .await
    }
}
