//! Per-app health: the circuit breaker's state and the last error and success.

use chrono::{DateTime, Utc};
use rusqlite::{params, Row};
use serde::{Deserialize, Serialize};

use crate::error::{Ctx, StateError};
use crate::sql::{col_opt_ts, col_ts, now, text_enum, ts};
use crate::store::Store;

text_enum! {
    /// The circuit breaker of an app.
    pub enum CircuitState {
        /// Requests flow.
        Closed => "closed",
        /// The app failed (auth, unreachable): its queue is paused.
        Open => "open",
        /// One probe request is allowed through to see whether it recovered.
        HalfOpen => "half_open",
    }
}

/// The health of one app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppHealth {
    /// App name.
    pub app: String,
    /// The circuit breaker's state.
    pub circuit: CircuitState,
    /// The last error (never containing secrets).
    pub last_error: Option<String>,
    /// When a request last succeeded.
    pub last_success_at: Option<DateTime<Utc>>,
    /// Failures since the last success.
    pub consecutive_failures: u32,
    /// When the circuit opened.
    pub opened_at: Option<DateTime<Utc>>,
    /// When this row was written (set by the store; ignored on write).
    pub updated_at: DateTime<Utc>,
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<AppHealth> {
    Ok(AppHealth {
        app: row.get(0)?,
        circuit: row.get(1)?,
        last_error: row.get(2)?,
        last_success_at: col_opt_ts(row, 3)?,
        consecutive_failures: row.get(4)?,
        opened_at: col_opt_ts(row, 5)?,
        updated_at: col_ts(row, 6)?,
    })
}

impl Store {
    /// Records the health of an app (replacing the previous one).
    pub async fn set_app_health(&self, health: AppHealth) -> Result<(), StateError> {
        self.write("record app health", move |tx| {
            tx.execute(
                "INSERT OR REPLACE INTO app_health (app, circuit, last_error, last_success_at, \
                 consecutive_failures, opened_at, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    health.app,
                    health.circuit,
                    health.last_error,
                    health.last_success_at.as_ref().map(ts),
                    health.consecutive_failures,
                    health.opened_at.as_ref().map(ts),
                    ts(&now()),
                ],
            )
            .with_ctx(|| format!("record the health of {}", health.app))?;
            Ok(())
        })
        .await
    }

    /// The health of every app, by name.
    pub async fn app_health(&self) -> Result<Vec<AppHealth>, StateError> {
        self.read(|conn| {
            let mut st = conn
                .prepare(
                    "SELECT app, circuit, last_error, last_success_at, consecutive_failures, \
                     opened_at, updated_at FROM app_health ORDER BY app",
                )
                .ctx("read app health")?;
            let rows = st
                .query_map([], from_row)
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
                .ctx("read app health")?;
            Ok(rows)
        })
        .await
    }
}
