//! The errors of the state crate, documented by what the caller does with them.

use std::path::PathBuf;

/// Everything that can go wrong with the state database.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// SQLite refused an operation: the cycle cannot record its work, so it must stop
    /// before it pushes anything else.
    #[error("state database: could not {op}")]
    Sqlite {
        /// What was being done, with the app/person/source concerned.
        op: String,
        /// The SQLite error.
        #[source]
        source: rusqlite::Error,
    },
    /// Another process holds the writer lock: hand the request to it, wait, or give up.
    #[error("state {path} is locked by another hrsync process{}", holder_text(.holder))]
    Locked {
        /// The lock file.
        path: PathBuf,
        /// The pid the holder wrote into the lock file, when readable.
        holder: Option<u32>,
    },
    /// The database was written by a newer hrsync: refuse to touch it, upgrade instead.
    #[error(
        "state database {path} has schema version {found}, but this hrsync knows only up to \
         {supported}; run a newer hrsync (downgrading the state is not supported)"
    )]
    TooNew {
        /// The database file (`:memory:` for an in-memory store).
        path: PathBuf,
        /// Its `user_version`.
        found: i64,
        /// The newest version this binary knows.
        supported: i64,
    },
    /// A file operation failed (creating the database, the lock file, fixing modes).
    #[error("could not {op} {path}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A read-only open found no database: the caller treats this as an empty state.
    #[error("state database {path} does not exist yet")]
    Missing {
        /// The path that was looked at.
        path: PathBuf,
    },
    /// A write was attempted through a store opened with `Store::open_read_only`.
    #[error("state database was opened read-only and cannot {op}")]
    ReadOnly {
        /// What the caller tried to do.
        op: &'static str,
    },
    /// An account id is already linked to another person in the app: the engine must
    /// unlink that person before linking this one (never two people on one account).
    #[error(
        "account {remote_id} in app {app} is already linked to person {holder}, not {person_key}"
    )]
    RemoteIdTaken {
        /// The app.
        app: String,
        /// The account id.
        remote_id: String,
        /// The person that holds the link.
        holder: String,
        /// The person the caller wanted to link.
        person_key: String,
    },
    /// A row the operation needs does not exist (a cycle id, a link to mark).
    #[error("{what} is not in the state database")]
    NotFound {
        /// The missing thing, named for a human.
        what: String,
    },
    /// A JSON column could not be encoded or decoded.
    #[error("state database: bad JSON in {what}")]
    Json {
        /// Which column of which row.
        what: String,
        /// The serde error.
        #[source]
        source: serde_json::Error,
    },
    /// A JSON value could not be stored in its packed form (nested too deeply, or the
    /// names table is damaged): the write is refused and rolled back.
    #[error("state database: cannot pack {what}: {why}")]
    Packed {
        /// Which column of which row.
        what: String,
        /// What is wrong.
        why: String,
    },
    /// A migration met a row it cannot convert: it was rolled back and the file is as it
    /// was. The row needs repairing by hand (or an older hrsync) before this one opens it.
    #[error(
        "state database: migration {migration} cannot convert {row}: {why}; the file was left as it was"
    )]
    Unconvertible {
        /// The migration, as `0005_compact`.
        migration: String,
        /// The table and key of the row.
        row: String,
        /// What is wrong with it.
        why: String,
    },
    /// A closure run on the state thread panicked; its transaction was rolled back.
    #[error("a state database operation panicked and was rolled back")]
    Panicked,
    /// The state thread is gone (the store was shut down): nothing more can be recorded.
    #[error("the state database thread has stopped")]
    Closed,
}

impl StateError {
    /// A [`StateError::Packed`] named after the column and row it was packing for; any other
    /// error as it is.
    pub(crate) fn packing(self, what: impl FnOnce() -> String) -> StateError {
        match self {
            StateError::Packed { why, .. } => StateError::Packed { what: what(), why },
            other => other,
        }
    }
}

fn holder_text(holder: &Option<u32>) -> String {
    match holder {
        Some(pid) => format!(" (pid {pid})"),
        None => String::new(),
    }
}

/// A text column held a value this version does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} {value:?}")]
pub struct UnknownValue {
    /// The type that was being read.
    pub kind: &'static str,
    /// The text found.
    pub value: String,
}

/// Attaches the operation to a rusqlite error.
pub(crate) trait Ctx<T> {
    /// Wraps the error with a fixed description of the operation.
    fn ctx(self, op: &str) -> Result<T, StateError>;
    /// Wraps the error with a description built only when it failed.
    fn with_ctx(self, op: impl FnOnce() -> String) -> Result<T, StateError>;
}

impl<T> Ctx<T> for rusqlite::Result<T> {
    fn ctx(self, op: &str) -> Result<T, StateError> {
        self.map_err(|source| StateError::Sqlite {
            op: op.to_owned(),
            source,
        })
    }

    fn with_ctx(self, op: impl FnOnce() -> String) -> Result<T, StateError> {
        self.map_err(|source| StateError::Sqlite { op: op(), source })
    }
}
