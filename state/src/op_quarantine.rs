//! Operation quarantine: a person whose operation keeps failing in an app is retried only
//! after a growing backoff, so one bad record cannot starve the rest.

use chrono::{DateTime, Duration, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};

use crate::error::{Ctx, StateError};
use crate::outcome::AuditOp;
use crate::sql::{col_ts, ts};
use crate::store::Store;

/// The backoff after the first failure.
const FIRST_BACKOFF_MINUTES: i64 = 1;
/// The longest backoff: a failing person is still retried daily.
const MAX_BACKOFF_MINUTES: i64 = 24 * 60;

/// How long to wait after the `failures`-th consecutive failure: one minute, doubling each
/// time, capped at 24 hours. Zero failures wait nothing.
pub fn op_backoff(failures: u32) -> Duration {
    if failures == 0 {
        return Duration::zero();
    }
    let doublings = failures - 1;
    let minutes = if doublings >= 32 {
        MAX_BACKOFF_MINUTES
    } else {
        (FIRST_BACKOFF_MINUTES << doublings).min(MAX_BACKOFF_MINUTES)
    };
    Duration::minutes(minutes)
}

/// A person whose operation in an app keeps failing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpQuarantine {
    /// App name.
    pub app: String,
    /// HR key of the person.
    pub person_key: String,
    /// The operation that failed last.
    pub op: AuditOp,
    /// Consecutive failures.
    pub failures: u32,
    /// The last error.
    pub last_error: String,
    /// Not retried before this time.
    pub next_attempt_at: DateTime<Utc>,
    /// The first failure of this streak.
    pub first_failed_at: DateTime<Utc>,
    /// The latest failure.
    pub last_failed_at: DateTime<Utc>,
}

const COLUMNS: &str =
    "app, person_key, op, failures, last_error, next_attempt_at, first_failed_at, last_failed_at";

fn from_row(row: &Row<'_>) -> rusqlite::Result<OpQuarantine> {
    Ok(OpQuarantine {
        app: row.get(0)?,
        person_key: row.get(1)?,
        op: row.get(2)?,
        failures: row.get(3)?,
        last_error: row.get(4)?,
        next_attempt_at: col_ts(row, 5)?,
        first_failed_at: col_ts(row, 6)?,
        last_failed_at: col_ts(row, 7)?,
    })
}

fn get(conn: &Connection, app: &str, key: &str) -> Result<Option<OpQuarantine>, StateError> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM op_quarantine WHERE app = ?1 AND person_key = ?2"
    ))
    .and_then(|mut st| st.query_row(params![app, key], from_row).optional())
    .with_ctx(|| format!("read the failures of {key} in {app}"))
}

impl Store {
    /// Counts one more consecutive failure of `person_key` in `app` and sets when it may
    /// be tried again (`now` + [`op_backoff`]).
    pub async fn note_op_failure(
        &self,
        app: &str,
        person_key: &str,
        op: AuditOp,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<OpQuarantine, StateError> {
        let (app, key, error) = (app.to_owned(), person_key.to_owned(), error.to_owned());
        self.write("note an operation failure", move |tx| {
            let prev = get(tx, &app, &key)?;
            let failures = prev.as_ref().map_or(0, |p| p.failures).saturating_add(1);
            let entry = OpQuarantine {
                first_failed_at: prev.map_or(now, |p| p.first_failed_at),
                next_attempt_at: now + op_backoff(failures),
                last_failed_at: now,
                app,
                person_key: key,
                op,
                failures,
                last_error: error,
            };
            tx.prepare_cached(&format!(
                "INSERT OR REPLACE INTO op_quarantine ({COLUMNS}) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
            ))
            .and_then(|mut st| {
                st.execute(params![
                    entry.app,
                    entry.person_key,
                    entry.op,
                    entry.failures,
                    entry.last_error,
                    ts(&entry.next_attempt_at),
                    ts(&entry.first_failed_at),
                    ts(&entry.last_failed_at),
                ])
            })
            .with_ctx(|| format!("note a failure of {} in {}", entry.person_key, entry.app))?;
            tracing::debug!(app = %entry.app, person = %entry.person_key, op = %entry.op,
                failures = entry.failures, next_attempt_at = %entry.next_attempt_at,
                "Operation quarantined.");
            Ok(entry)
        })
        .await
    }

    /// Ends the failure streak of `person_key` in `app` (after a success); returns whether
    /// there was one.
    pub async fn clear_op_failure(&self, app: &str, person_key: &str) -> Result<bool, StateError> {
        let (app, key) = (app.to_owned(), person_key.to_owned());
        self.write("clear an operation failure", move |tx| {
            let n = tx
                .execute(
                    "DELETE FROM op_quarantine WHERE app = ?1 AND person_key = ?2",
                    params![app, key],
                )
                .with_ctx(|| format!("clear the failures of {key} in {app}"))?;
            Ok(n > 0)
        })
        .await
    }

    /// Quarantined operations, of one app or all, by app then person.
    pub async fn op_quarantine(&self, app: Option<&str>) -> Result<Vec<OpQuarantine>, StateError> {
        let app = app.map(str::to_owned);
        self.read(move |conn| {
            let filter = if app.is_some() { "WHERE app = ?1" } else { "" };
            let mut st = conn
                .prepare(&format!(
                    "SELECT {COLUMNS} FROM op_quarantine {filter} ORDER BY app, person_key"
                ))
                .ctx("read quarantined operations")?;
            let rows = match &app {
                Some(a) => st.query_map([a], from_row),
                None => st.query_map([], from_row),
            }
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .ctx("read quarantined operations")?;
            Ok(rows)
        })
        .await
    }

    /// Whether the operations of `person_key` in `app` must wait at `now`.
    pub async fn is_op_deferred(
        &self,
        app: &str,
        person_key: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StateError> {
        let (app, key) = (app.to_owned(), person_key.to_owned());
        self.read(move |conn| Ok(get(conn, &app, &key)?.is_some_and(|q| q.next_attempt_at > now)))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_starts_at_a_minute_doubles_and_caps_at_a_day() {
        assert_eq!(op_backoff(0), Duration::zero());
        assert_eq!(op_backoff(1), Duration::minutes(1));
        assert_eq!(op_backoff(2), Duration::minutes(2));
        assert_eq!(op_backoff(3), Duration::minutes(4));
        assert_eq!(op_backoff(11), Duration::minutes(1024));
        assert_eq!(op_backoff(12), Duration::hours(24));
        assert_eq!(op_backoff(40), Duration::hours(24));
        assert_eq!(op_backoff(u32::MAX), Duration::hours(24));
        for n in 1..64 {
            assert!(
                op_backoff(n + 1) >= op_backoff(n),
                "backoff shrank after {n}"
            );
        }
    }
}
