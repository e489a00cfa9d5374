//! The sandbox's SQLite database on one dedicated thread: async callers send closures and
//! await the answer, so rusqlite never runs on a tokio worker and every closure runs alone
//! (which is what makes check-then-write uniqueness safe under parallel requests).

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;

use rusqlite::Connection;

use serde_json::{Map, Value};
use tokio::sync::oneshot;

pub use super::error::StoreClosed;

/// The lowercased email addresses of a user, as the email index keeps them.
pub fn email_keys(body: &Map<String, Value>) -> std::collections::BTreeSet<String> {
    body.get("emails")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| e.get("value").and_then(Value::as_str))
        .map(str::to_lowercase)
        .collect()
}

/// Why the store could not open.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// SQLite refused the file or the schema.
    #[error("sandbox database {path}: {source}")]
    Sqlite {
        /// The file (or `:memory:`).
        path: String,
        /// The SQLite error.
        source: rusqlite::Error,
    },
    /// The thread could not be started.
    #[error("starting the sandbox database thread: {0}")]
    Thread(std::io::Error),
}

type Job = Box<dyn FnOnce(&mut Connection) + Send>;

enum Msg {
    Run(Job),
    Stop,
}

/// A handle to the database thread; cheap to clone.
#[derive(Clone)]
pub struct Store {
    tx: mpsc::Sender<Msg>,
}

/// Owns the database thread; joining it guarantees every write is on disk.
pub struct StoreThread {
    tx: mpsc::Sender<Msg>,
    join: Option<JoinHandle<()>>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS resources (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL,
    name        TEXT NOT NULL,
    name_lc     TEXT NOT NULL,
    external_id TEXT,
    version     INTEGER NOT NULL,
    created     TEXT NOT NULL,
    modified    TEXT NOT NULL,
    body        TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS resources_name ON resources(kind, name_lc);
CREATE INDEX IF NOT EXISTS resources_external ON resources(kind, external_id);
CREATE TABLE IF NOT EXISTS memberships (
    group_id  TEXT NOT NULL,
    member_id TEXT NOT NULL,
    PRIMARY KEY (group_id, member_id)
);
CREATE INDEX IF NOT EXISTS memberships_member ON memberships(member_id);
CREATE TABLE IF NOT EXISTS user_emails (
    email_lc TEXT NOT NULL,
    id       TEXT NOT NULL,
    PRIMARY KEY (email_lc, id)
);
CREATE INDEX IF NOT EXISTS user_emails_id ON user_emails(id);
";

fn open_conn(path: Option<&Path>) -> Result<Connection, OpenError> {
    let label = path.map_or_else(|| ":memory:".to_string(), |p| p.display().to_string());
    let wrap = |source| OpenError::Sqlite {
        path: label.clone(),
        source,
    };
    let conn = match path {
        Some(p) => Connection::open(p).map_err(wrap)?,
        None => Connection::open_in_memory().map_err(wrap)?,
    };
    if path.is_some() {
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(wrap)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(wrap)?;
    }
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(wrap)?;
    conn.execute_batch(SCHEMA).map_err(wrap)?;
    upgrade(&conn).map_err(wrap)?;
    Ok(conn)
}

/// The layout version this code writes (`PRAGMA user_version`).
const LAYOUT_VERSION: i64 = 2;

/// Files written before the email index existed get it, filled from the stored users.
fn upgrade(conn: &Connection) -> rusqlite::Result<()> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version >= LAYOUT_VERSION {
        return Ok(());
    }
    let rows: Vec<(String, String)> = {
        let mut st = conn.prepare("SELECT id, body FROM resources WHERE kind = 'User'")?;
        let it = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        it.collect::<Result<_, _>>()?
    };
    conn.execute_batch("DELETE FROM user_emails")?;
    for (id, body) in rows {
        let body = serde_json::from_str(&body).unwrap_or_default();
        for email in email_keys(&body) {
            conn.execute(
                "INSERT OR IGNORE INTO user_emails (email_lc, id) VALUES (?1, ?2)",
                [&email, &id],
            )?;
        }
    }
    conn.pragma_update(None, "user_version", LAYOUT_VERSION)
}

impl Store {
    /// Opens the database (in memory without `path`) on a new thread.
    pub fn open(path: Option<PathBuf>) -> Result<(Store, StoreThread), OpenError> {
        let mut conn = open_conn(path.as_deref())?;
        let (tx, rx) = mpsc::channel::<Msg>();
        let join = std::thread::Builder::new()
            .name("hrsync-sandbox-db".into())
            .spawn(move || {
                while let Ok(msg) = rx.recv() {
                    match msg {
                        Msg::Run(job) => job(&mut conn),
                        Msg::Stop => break,
                    }
                }
            })
            .map_err(OpenError::Thread)?;
        Ok((
            Store { tx: tx.clone() },
            StoreThread {
                tx,
                join: Some(join),
            },
        ))
    }

    /// Runs `f` on the database thread and returns its result.
    pub async fn call<R, F>(&self, f: F) -> Result<R, StoreClosed>
    where
        R: Send + 'static,
        F: FnOnce(&mut Connection) -> R + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            // The caller may have gone away (a client timeout); the work is done anyway.
            let _ = reply.send(f(conn));
        });
        self.tx.send(Msg::Run(job)).map_err(|_| StoreClosed)?;
        answer.await.map_err(|_| StoreClosed)
    }
}

impl StoreThread {
    /// Stops the thread after the jobs already queued and waits for it.
    pub async fn close(mut self) {
        let _ = self.tx.send(Msg::Stop);
        if let Some(join) = self.join.take() {
            let _ = tokio::task::spawn_blocking(move || join.join()).await;
        }
    }
}

impl Drop for StoreThread {
    fn drop(&mut self) {
        let _ = self.tx.send(Msg::Stop);
    }
}
