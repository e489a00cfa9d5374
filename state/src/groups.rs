//! Groups hrsync knows in each app: their ids and the members it last pushed.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, Row};
use serde::{Deserialize, Serialize};

use crate::error::{Ctx, StateError};
use crate::sql::{col_json, col_ts, now, to_json, ts};
use crate::store::Store;

/// A group in an app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    /// App name.
    pub app: String,
    /// The group's name (displayName).
    pub group_name: String,
    /// Its id in the app, once created or found.
    pub remote_id: Option<String>,
    /// Whether hrsync manages it (may create, fill and delete it).
    pub managed: bool,
    /// HR keys of the members last pushed.
    pub members: BTreeSet<String>,
    /// When first recorded (set by the store; ignored on upsert).
    pub created_at: DateTime<Utc>,
    /// When last written (set by the store; ignored on upsert).
    pub updated_at: DateTime<Utc>,
}

impl Group {
    /// A managed group with no id and no members yet.
    pub fn new(app: impl Into<String>, group_name: impl Into<String>) -> Group {
        Group {
            app: app.into(),
            group_name: group_name.into(),
            remote_id: None,
            managed: true,
            members: BTreeSet::new(),
            created_at: DateTime::<Utc>::UNIX_EPOCH,
            updated_at: DateTime::<Utc>::UNIX_EPOCH,
        }
    }
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<Group> {
    Ok(Group {
        app: row.get(0)?,
        group_name: row.get(1)?,
        remote_id: row.get(2)?,
        managed: row.get(3)?,
        members: col_json(row, 4)?,
        created_at: col_ts(row, 5)?,
        updated_at: col_ts(row, 6)?,
    })
}

pub(crate) fn upsert_group_row(
    conn: &Connection,
    group: &Group,
    now: &DateTime<Utc>,
) -> Result<(), StateError> {
    let members = to_json(&group.members, "groups.members")?;
    conn.prepare_cached(
        "INSERT INTO groups (app, group_name, remote_id, managed, members, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6) \
         ON CONFLICT (app, group_name) DO UPDATE SET remote_id = excluded.remote_id, \
         managed = excluded.managed, members = excluded.members, updated_at = excluded.updated_at",
    )
    .and_then(|mut st| {
        st.execute(params![
            group.app,
            group.group_name,
            group.remote_id,
            group.managed,
            members,
            ts(now),
        ])
    })
    .with_ctx(|| format!("write group {} in {}", group.group_name, group.app))?;
    Ok(())
}

pub(crate) fn remove_group_row(conn: &Connection, app: &str, name: &str) -> Result<(), StateError> {
    conn.prepare_cached("DELETE FROM groups WHERE app = ?1 AND group_name = ?2")
        .and_then(|mut st| st.execute(params![app, name]))
        .with_ctx(|| format!("remove group {name} in {app}"))?;
    Ok(())
}

impl Store {
    /// The groups of an app, ordered by name.
    pub async fn groups(&self, app: &str) -> Result<Vec<Group>, StateError> {
        let app = app.to_owned();
        self.read(move |conn| {
            let mut st = conn
                .prepare_cached(
                    "SELECT app, group_name, remote_id, managed, members, created_at, updated_at \
                     FROM groups WHERE app = ?1 ORDER BY group_name",
                )
                .with_ctx(|| format!("read the groups of {app}"))?;
            let rows = st
                .query_map([&app], from_row)
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
                .with_ctx(|| format!("read the groups of {app}"))?;
            Ok(rows)
        })
        .await
    }

    /// Inserts or replaces a group (keeping `created_at` of an existing one).
    pub async fn upsert_group(&self, group: Group) -> Result<(), StateError> {
        self.write("write a group", move |tx| {
            upsert_group_row(tx, &group, &now())
        })
        .await
    }

    /// Forgets a group.
    pub async fn remove_group(&self, app: &str, group_name: &str) -> Result<(), StateError> {
        let (app, name) = (app.to_owned(), group_name.to_owned());
        self.write("remove a group", move |tx| {
            remove_group_row(tx, &app, &name)
        })
        .await
    }
}
