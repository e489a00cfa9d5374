//! The audit trail: reading it back, and counting deprovisions for the daily guard.

use chrono::{DateTime, Utc};
use rusqlite::types::Value as SqlValue;
use rusqlite::{params, params_from_iter, Row};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Ctx, StateError};
use crate::names::NameTable;
use crate::outcome::{AuditOp, OpResult};
use crate::sql::count;
use crate::store::Store;
use crate::stored::{col_ms, col_opt_account_id, from_sql_error, ms, Code};
use crate::unpack::unpack_value;

/// One identity change (or failed attempt) as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRow {
    /// Row id, increasing in recording order.
    pub id: i64,
    /// When it was recorded (UTC, milliseconds).
    pub at: DateTime<Utc>,
    /// The cycle it ran in.
    pub cycle_id: Option<i64>,
    /// App name.
    pub app: String,
    /// HR key of the person (or the group name for group create/delete).
    pub person_key: String,
    /// What was done.
    pub op: AuditOp,
    /// The account or group id.
    pub remote_id: Option<String>,
    /// Whether the app accepted it.
    pub result: OpResult,
    /// Facts recorded with it.
    pub detail: Value,
    /// The error, when it failed.
    pub error: Option<String>,
}

/// Which audit rows to return; every filter is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditQuery {
    /// Only this app.
    pub app: Option<String>,
    /// Only this person.
    pub person_key: Option<String>,
    /// Only rows recorded at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only this cycle.
    pub cycle_id: Option<i64>,
    /// At most this many rows: the newest ones.
    pub limit: Option<usize>,
}

/// Reads the packed `detail` column.
fn col_detail(row: &Row<'_>, idx: usize, names: &NameTable) -> rusqlite::Result<Value> {
    let bytes = row
        .get_ref(idx)?
        .as_blob()
        .map_err(|e| from_sql_error(idx, e))?;
    unpack_value(bytes, &[], names).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Blob, Box::new(e))
    })
}

fn from_row(row: &Row<'_>, names: &NameTable) -> rusqlite::Result<AuditRow> {
    Ok(AuditRow {
        id: row.get(0)?,
        at: col_ms(row, 1)?,
        cycle_id: row.get(2)?,
        app: row.get(3)?,
        person_key: row.get(4)?,
        op: row.get::<_, Code<_>>(5)?.0,
        remote_id: col_opt_account_id(row, 6)?,
        result: row.get::<_, Code<_>>(7)?.0,
        detail: col_detail(row, 8, names)?,
        error: row.get(9)?,
    })
}

/// The query of [`Store::audit`] and its arguments.
fn audit_sql(query: AuditQuery) -> (String, Vec<SqlValue>) {
    let mut conds = Vec::new();
    let mut args = Vec::new();
    // With a start time (and no person, whose few rows their own index finds in id order)
    // the index by time reads only the rows since then. The planner would rather walk the
    // table or the app's whole trail in id order than sort: `+app` and `+id` tell it not to.
    let by_time = query.since.is_some() && query.person_key.is_none();
    let id = if by_time { "+id" } else { "id" };
    if let Some(app) = query.app {
        conds.push(if by_time { "+app = ?" } else { "app = ?" });
        args.push(SqlValue::Text(app));
    }
    if let Some(key) = query.person_key {
        conds.push("person_key = ?");
        args.push(SqlValue::Text(key));
    }
    if let Some(since) = query.since {
        conds.push("at >= ?");
        args.push(SqlValue::Integer(ms(&since)));
    }
    if let Some(cycle) = query.cycle_id {
        conds.push("cycle_id = ?");
        args.push(SqlValue::Integer(cycle));
    }
    let filter = if conds.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conds.join(" AND "))
    };
    let select = format!(
        "SELECT id, at, cycle_id, app, person_key, op, remote_id, result, detail, error \
         FROM audit {filter}"
    );
    let sql = match query.limit {
        Some(n) => {
            args.push(SqlValue::Integer(i64::try_from(n).unwrap_or(i64::MAX)));
            format!("SELECT * FROM ({select} ORDER BY {id} DESC LIMIT ?) ORDER BY id")
        }
        None => format!("{select} ORDER BY {id}"),
    };
    (sql, args)
}

/// Successful deprovisions of an app since a time: the last day's rows found through the
/// index by time (`+app`: not the app's whole trail through the index by app, which holds
/// no time).
const DEPROVISIONS_SINCE: &str = "SELECT COUNT(*) FROM audit WHERE at >= ?2 AND +app = ?1 \
                                  AND op IN (?3, ?4) AND result = ?5";

impl Store {
    /// Audit rows matching `query`, oldest first (newest last).
    pub async fn audit(&self, query: AuditQuery) -> Result<Vec<AuditRow>, StateError> {
        self.read(move |conn| {
            let (sql, args) = audit_sql(query);
            let names = NameTable::load(conn)?;
            let mut st = conn.prepare(&sql).ctx("read the audit trail")?;
            let rows = st
                .query_map(params_from_iter(args), |r| from_row(r, &names))
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
                .ctx("read the audit trail")?;
            Ok(rows)
        })
        .await
    }

    /// Successful deactivations and deletions in `app` recorded at or after `since`
    /// (the `max_deprovision_per_day` guard).
    pub async fn count_deprovisions_since(
        &self,
        app: &str,
        since: DateTime<Utc>,
    ) -> Result<u64, StateError> {
        let app = app.to_owned();
        self.read(move |conn| {
            let n: i64 = conn
                .prepare_cached(DEPROVISIONS_SINCE)
                .and_then(|mut st| {
                    st.query_row(
                        params![
                            app,
                            ms(&since),
                            Code(AuditOp::Deactivate),
                            Code(AuditOp::Delete),
                            Code(OpResult::Ok)
                        ],
                        |r| r.get(0),
                    )
                })
                .with_ctx(|| format!("count deprovisions in {app}"))?;
            Ok(count(n))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use rusqlite::Connection;

    /// The index SQLite's plan for `sql` searches.
    fn plan(sql: &str) -> String {
        let mut conn = Connection::open_in_memory().expect("open");
        crate::migrate::migrate(&mut conn, std::path::Path::new(":memory:")).expect("migrate");
        let mut st = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .expect("explain");
        let nulls = std::iter::repeat_n(SqlValue::Null, st.parameter_count());
        let rows = st
            .query_map(params_from_iter(nulls), |r| r.get::<_, String>(3))
            .expect("rows")
            .collect::<rusqlite::Result<Vec<_>>>()
            .expect("plan");
        rows.join(" / ")
    }

    #[test]
    fn queries_with_a_start_time_search_the_index_by_time_unless_a_person_is_named() {
        let since = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single();
        assert!(plan(DEPROVISIONS_SINCE).contains("audit_at"));
        let query = |app: bool, person: bool, since| AuditQuery {
            app: app.then(|| "crm".to_string()),
            person_key: person.then(|| "E1".to_string()),
            since,
            ..AuditQuery::default()
        };
        for (q, index) in [
            (query(true, false, since), "audit_at"),
            (query(false, false, since), "audit_at"),
            (query(true, false, None), "audit_app"),
            (query(true, true, since), "audit_person"),
            (query(false, true, None), "audit_person"),
        ] {
            let limited = AuditQuery {
                limit: Some(10),
                ..q.clone()
            };
            let sql = audit_sql(limited).0;
            assert!(plan(&sql).contains(index), "{q:?} limited: {}", plan(&sql));
            let sql = audit_sql(q.clone()).0;
            assert!(plan(&sql).contains(index), "{q:?}: {}", plan(&sql));
        }
    }
}
