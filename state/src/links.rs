//! Links: which account in which app belongs to which person, and what was last pushed.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Ctx, StateError};
use crate::keyed::rows_of_keys;
use crate::names::{NameTable, Names};
use crate::pushed::{decode, encode};
use crate::sql::{count, text_enum};
use crate::store::Store;
use crate::stored::{
    coded, col_account_id, col_hex_text, col_ms, col_opt_ms, ms, AccountId, Code, HexText,
};

text_enum! {
    /// The lifecycle of a linked account.
    pub enum LinkLifecycle {
        /// The account is active.
        Active => "active",
        /// The account is deactivated (or was created inactive before a start date).
        Inactive => "inactive",
        /// The account was deleted from the app.
        Deleted => "deleted",
    }
}

text_enum! {
    /// How hrsync came to manage an account.
    pub enum Ownership {
        /// hrsync created it.
        Created => "created",
        /// It existed and hrsync linked it (matched, adopted, relinked).
        Adopted => "adopted",
    }
}

coded!(LinkLifecycle {
    Active = 0,
    Inactive = 1,
    Deleted = 2
});

coded!(Ownership {
    Created = 0,
    Adopted = 1
});

/// Person `person_key` is account `remote_id` in `app`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Link {
    /// App name.
    pub app: String,
    /// HR key of the person.
    pub person_key: String,
    /// The account's id in the app.
    pub remote_id: String,
    /// The userName last pushed.
    pub user_name: String,
    /// What was last pushed: flat SCIM path → value.
    pub last_pushed: BTreeMap<String, Value>,
    /// Hash of the last pushed state, to skip unchanged persons.
    pub hash: String,
    /// The account's lifecycle.
    pub lifecycle: LinkLifecycle,
    /// Created or adopted by hrsync.
    pub ownership: Ownership,
    /// When the account was deactivated (starts the `delete_after_days` clock).
    pub deactivated_at: Option<DateTime<Utc>>,
    /// When the link was first written (set by the store; ignored on upsert).
    pub created_at: DateTime<Utc>,
    /// When the link was last written (set by the store; ignored on upsert).
    pub updated_at: DateTime<Utc>,
}

impl Link {
    /// An active link with nothing pushed yet; fill in the rest before upserting.
    pub fn new(
        app: impl Into<String>,
        person_key: impl Into<String>,
        remote_id: impl Into<String>,
        user_name: impl Into<String>,
        ownership: Ownership,
    ) -> Link {
        Link {
            app: app.into(),
            person_key: person_key.into(),
            remote_id: remote_id.into(),
            user_name: user_name.into(),
            last_pushed: BTreeMap::new(),
            hash: String::new(),
            lifecycle: LinkLifecycle::Active,
            ownership,
            deactivated_at: None,
            created_at: DateTime::<Utc>::UNIX_EPOCH,
            updated_at: DateTime::<Utc>::UNIX_EPOCH,
        }
    }
}

/// How many links an app has in each lifecycle.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkCounts {
    /// Active accounts.
    pub active: u64,
    /// Deactivated accounts.
    pub inactive: u64,
    /// Deleted accounts (links kept for the record).
    pub deleted: u64,
}

const COLUMNS: &str = "app, person_key, remote_id, user_name, last_pushed, hash, lifecycle, \
                       ownership, deactivated_at, created_at, updated_at";

fn from_row(row: &Row<'_>, names: &NameTable) -> rusqlite::Result<Link> {
    let person_key: String = row.get(1)?;
    let user_name: String = row.get(3)?;
    let pushed = row.get_ref(4)?.as_blob()?;
    Ok(Link {
        app: row.get(0)?,
        remote_id: col_account_id(row, 2)?,
        last_pushed: decode(names, 4, pushed, &person_key, &user_name)?,
        person_key,
        user_name,
        hash: col_hex_text(row, 5)?,
        lifecycle: row.get::<_, Code<_>>(6)?.0,
        ownership: row.get::<_, Code<_>>(7)?.0,
        deactivated_at: col_opt_ms(row, 8)?,
        created_at: col_ms(row, 9)?,
        updated_at: col_ms(row, 10)?,
    })
}

pub(crate) fn get_link(
    conn: &Connection,
    app: &str,
    key: &str,
) -> Result<Option<Link>, StateError> {
    let names = NameTable::load(conn)?;
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM links WHERE app = ?1 AND person_key = ?2"
    ))
    .and_then(|mut st| {
        st.query_row(params![app, key], |r| from_row(r, &names))
            .optional()
    })
    .with_ctx(|| format!("read the link of {key} in {app}"))
}

/// The person other than `link`'s whose live link holds `link`'s account, if any.
fn live_holder(conn: &Connection, link: &Link) -> Result<Option<String>, StateError> {
    // `lifecycle <> 2` (not deleted) as the index `links_remote_id` says it.
    conn.prepare_cached(
        "SELECT person_key FROM links WHERE app = ?1 AND remote_id = ?2 \
         AND lifecycle <> 2 AND person_key <> ?3",
    )
    .and_then(|mut st| {
        let id = AccountId(&link.remote_id);
        st.query_row(params![link.app, id, link.person_key], |r| r.get(0))
            .optional()
    })
    .with_ctx(|| format!("look up account {} in {}", link.remote_id, link.app))
}

/// Writes `link` (insert or replace), keeping `created_at` of an existing row.
pub(crate) fn upsert_link(
    conn: &Connection,
    link: &Link,
    now: &DateTime<Utc>,
) -> Result<(), StateError> {
    if link.lifecycle != LinkLifecycle::Deleted {
        if let Some(holder) = live_holder(conn, link)? {
            return Err(StateError::RemoteIdTaken {
                app: link.app.clone(),
                remote_id: link.remote_id.clone(),
                holder,
                person_key: link.person_key.clone(),
            });
        }
    }
    let what = || format!("links.last_pushed of {} in {}", link.person_key, link.app);
    let pushed = encode(
        &mut Names::new(conn),
        &link.last_pushed,
        &link.person_key,
        &link.user_name,
    )
    .map_err(|e| e.packing(what))?;
    let now = ms(now);
    conn.prepare_cached(
        "INSERT INTO links (app, person_key, remote_id, user_name, last_pushed, hash, lifecycle, \
         ownership, deactivated_at, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) \
         ON CONFLICT (app, person_key) DO UPDATE SET remote_id = excluded.remote_id, \
         user_name = excluded.user_name, last_pushed = excluded.last_pushed, \
         hash = excluded.hash, lifecycle = excluded.lifecycle, ownership = excluded.ownership, \
         deactivated_at = excluded.deactivated_at, updated_at = excluded.updated_at",
    )
    .and_then(|mut st| write_row(&mut st, link, &pushed, now, now))
    .with_ctx(|| format!("write the link of {} in {}", link.person_key, link.app))?;
    Ok(())
}

/// Runs `st`, an insert of a whole `links` row (columns in table order), with the link in
/// its stored forms: the one place that knows how each column of a link is stored.
pub(crate) fn write_row(
    st: &mut rusqlite::Statement<'_>,
    link: &Link,
    pushed: &[u8],
    created_ms: i64,
    updated_ms: i64,
) -> rusqlite::Result<usize> {
    st.execute(params![
        link.app,
        link.person_key,
        AccountId(&link.remote_id),
        link.user_name,
        pushed,
        HexText(&link.hash),
        Code(link.lifecycle),
        Code(link.ownership),
        link.deactivated_at.as_ref().map(ms),
        created_ms,
        updated_ms,
    ])
}

/// Sets an existing link's lifecycle; a missing link is an error.
pub(crate) fn mark_link(
    conn: &Connection,
    app: &str,
    key: &str,
    lifecycle: LinkLifecycle,
    deactivated_at: Option<&DateTime<Utc>>,
    now: &DateTime<Utc>,
) -> Result<(), StateError> {
    let changed = conn
        .prepare_cached(
            "UPDATE links SET lifecycle = ?3, deactivated_at = ?4, updated_at = ?5 \
             WHERE app = ?1 AND person_key = ?2",
        )
        .and_then(|mut st| {
            st.execute(params![
                app,
                key,
                Code(lifecycle),
                deactivated_at.map(ms),
                ms(now)
            ])
        })
        .with_ctx(|| format!("mark the link of {key} in {app} {lifecycle}"))?;
    if changed == 0 {
        return Err(StateError::NotFound {
            what: format!("the link of {key} in {app}"),
        });
    }
    Ok(())
}

/// [`Store::each_link`] on one connection: every link of the app, or only those of
/// `wanted` (see [`rows_of_keys`]).
fn each_link<T>(
    conn: &Connection,
    app: &str,
    wanted: Option<&BTreeSet<String>>,
    mut f: impl FnMut(Link) -> Option<T>,
) -> Result<Vec<T>, StateError> {
    let names = NameTable::load(conn)?;
    if let Some(keys) = wanted {
        let select = format!("SELECT {COLUMNS} FROM links WHERE app = ?1");
        let rows = rows_of_keys(conn, &select, app, keys, 1, |r| from_row(r, &names));
        return Ok(rows.ctx("read links")?.into_iter().filter_map(f).collect());
    }
    let sql = format!("SELECT {COLUMNS} FROM links WHERE app = ?1 ORDER BY person_key");
    let mut st = conn.prepare_cached(&sql).ctx("read links")?;
    let mut rows = st.query([app]).ctx("read links")?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().ctx("read links")? {
        if let Some(t) = f(from_row(row, &names).ctx("read links")?) {
            out.push(t);
        }
    }
    Ok(out)
}

pub(crate) fn remove_link(conn: &Connection, app: &str, key: &str) -> Result<(), StateError> {
    conn.prepare_cached("DELETE FROM links WHERE app = ?1 AND person_key = ?2")
        .and_then(|mut st| st.execute(params![app, key]))
        .with_ctx(|| format!("remove the link of {key} in {app}"))?;
    Ok(())
}

impl Store {
    /// All links, of one app or of every app, ordered by app then person key.
    pub async fn links(&self, app: Option<&str>) -> Result<Vec<Link>, StateError> {
        let app = app.map(str::to_owned);
        self.read(move |conn| {
            let sql = match app {
                Some(_) => {
                    format!("SELECT {COLUMNS} FROM links WHERE app = ?1 ORDER BY person_key")
                }
                None => format!("SELECT {COLUMNS} FROM links ORDER BY app, person_key"),
            };
            let names = NameTable::load(conn)?;
            let mut st = conn.prepare(&sql).ctx("read links")?;
            let map = |r: &Row<'_>| from_row(r, &names);
            let rows = match &app {
                Some(a) => st.query_map([a], &map),
                None => st.query_map([], &map),
            }
            .ctx("read links")?;
            rows.collect::<rusqlite::Result<Vec<_>>>().ctx("read links")
        })
        .await
    }

    /// Each link of `app` in person-key order, converted by `f` as it is read (nothing is
    /// kept of a link `f` turns into `None`). The read runs on a connection of its own when
    /// the database is a file, so that several apps' links load at once.
    pub async fn each_link<T, F>(&self, app: &str, f: F) -> Result<Vec<T>, StateError>
    where
        T: Send + 'static,
        F: FnMut(Link) -> Option<T> + Send + 'static,
    {
        let app = app.to_owned();
        self.read_aside(move |conn: &Connection| each_link(conn, &app, None, f))
            .await
    }

    /// [`Store::each_link`] for the links of `wanted` only (the others are not decoded).
    pub async fn each_link_of<T, F>(
        &self,
        app: &str,
        wanted: BTreeSet<String>,
        f: F,
    ) -> Result<Vec<T>, StateError>
    where
        T: Send + 'static,
        F: FnMut(Link) -> Option<T> + Send + 'static,
    {
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        let app = app.to_owned();
        self.read_aside(move |conn: &Connection| each_link(conn, &app, Some(&wanted), f))
            .await
    }

    /// The link of one person in one app.
    pub async fn link(&self, app: &str, person_key: &str) -> Result<Option<Link>, StateError> {
        let (app, key) = (app.to_owned(), person_key.to_owned());
        self.read(move |conn| get_link(conn, &app, &key)).await
    }

    /// The link holding account `remote_id` in `app`; a live link wins over a deleted one.
    pub async fn link_by_remote_id(
        &self,
        app: &str,
        remote_id: &str,
    ) -> Result<Option<Link>, StateError> {
        let (app, id) = (app.to_owned(), remote_id.to_owned());
        self.read(move |conn| {
            let names = NameTable::load(conn)?;
            conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM links WHERE app = ?1 AND remote_id = ?2 \
                 ORDER BY lifecycle = 2, updated_at DESC LIMIT 1"
            ))
            .and_then(|mut st| {
                st.query_row(params![app, AccountId(&id)], |r| from_row(r, &names))
                    .optional()
            })
            .with_ctx(|| format!("look up account {id} in {app}"))
        })
        .await
    }

    /// Link counts per app and lifecycle (status, `max_deprovision_percent`).
    pub async fn link_counts(&self) -> Result<BTreeMap<String, LinkCounts>, StateError> {
        self.read(|conn| {
            let mut st = conn
                .prepare("SELECT app, lifecycle, COUNT(*) FROM links GROUP BY app, lifecycle")
                .ctx("count links")?;
            let rows = st
                .query_map([], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, Code<LinkLifecycle>>(1)?.0,
                        r.get::<_, i64>(2)?,
                    ))
                })
                .ctx("count links")?;
            let mut out: BTreeMap<String, LinkCounts> = BTreeMap::new();
            for row in rows {
                let (app, lifecycle, n) = row.ctx("count links")?;
                let counts = out.entry(app).or_default();
                match lifecycle {
                    LinkLifecycle::Active => counts.active = count(n),
                    LinkLifecycle::Inactive => counts.inactive = count(n),
                    LinkLifecycle::Deleted => counts.deleted = count(n),
                }
            }
            Ok(out)
        })
        .await
    }
}
