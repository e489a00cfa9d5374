//! Operations a safety guard held back, per app, until a run allows them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rusqlite::{params, Row};
use serde::{Deserialize, Serialize};

use crate::error::{Ctx, StateError};
use crate::outcome::AuditOp;
use crate::sql::{col_ts, ts};
use crate::store::Store;

/// An operation held by a guard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldOp {
    /// App name.
    pub app: String,
    /// HR key of the person.
    pub person_key: String,
    /// The operation held.
    pub op: AuditOp,
    /// Which guard and why ("max_deprovision_count 50 exceeded: 73").
    pub reason: String,
    /// The cycle that held it.
    pub cycle_id: Option<i64>,
    /// Since when it has been held (kept across cycles while it stays held).
    pub held_at: DateTime<Utc>,
}

const COLUMNS: &str = "app, person_key, op, reason, cycle_id, held_at";

fn from_row(row: &Row<'_>) -> rusqlite::Result<HeldOp> {
    Ok(HeldOp {
        app: row.get(0)?,
        person_key: row.get(1)?,
        op: row.get(2)?,
        reason: row.get(3)?,
        cycle_id: row.get(4)?,
        held_at: col_ts(row, 5)?,
    })
}

impl Store {
    /// Replaces what is held in `app` with `rows` (an empty list releases everything).
    /// Every row is stored under `app`; an operation already held keeps its `held_at`.
    pub async fn replace_held(&self, app: &str, rows: Vec<HeldOp>) -> Result<(), StateError> {
        let app = app.to_owned();
        self.write("replace held operations", move |tx| {
            let ctx = || format!("replace the held operations of {app}");
            let since: BTreeMap<(String, AuditOp), String> = {
                let mut st = tx
                    .prepare("SELECT person_key, op, held_at FROM held WHERE app = ?1")
                    .with_ctx(ctx)?;
                let old = st
                    .query_map([&app], |r| Ok(((r.get(0)?, r.get(1)?), r.get(2)?)))
                    .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
                    .with_ctx(ctx)?;
                old.into_iter().collect()
            };
            tx.execute("DELETE FROM held WHERE app = ?1", [&app])
                .with_ctx(ctx)?;
            let mut insert = tx
                .prepare_cached(&format!(
                    "INSERT OR REPLACE INTO held ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
                ))
                .with_ctx(ctx)?;
            for row in &rows {
                let held_at = since
                    .get(&(row.person_key.clone(), row.op))
                    .cloned()
                    .unwrap_or_else(|| ts(&row.held_at));
                insert
                    .execute(params![
                        app,
                        row.person_key,
                        row.op,
                        row.reason,
                        row.cycle_id,
                        held_at
                    ])
                    .with_ctx(ctx)?;
            }
            Ok(())
        })
        .await
    }

    /// Held operations, of one app or all, by app, person and operation.
    pub async fn held(&self, app: Option<&str>) -> Result<Vec<HeldOp>, StateError> {
        let app = app.map(str::to_owned);
        self.read(move |conn| {
            let filter = if app.is_some() { "WHERE app = ?1" } else { "" };
            let mut st = conn
                .prepare(&format!(
                    "SELECT {COLUMNS} FROM held {filter} ORDER BY app, person_key, op"
                ))
                .ctx("read held operations")?;
            let rows = match &app {
                Some(a) => st.query_map([a], from_row),
                None => st.query_map([], from_row),
            }
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .ctx("read held operations")?;
            Ok(rows)
        })
        .await
    }
}
