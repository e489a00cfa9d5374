//! Opening the state database: the file created 0600, WAL and `synchronous=FULL`,
//! migrations, read-only access to older schemas, and cycles a crashed process left
//! `running` marked `interrupted`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::cycles::mark_interrupted;
use crate::error::{Ctx, StateError};
use crate::lock::{probe, WriterProbe};
use crate::migrate::{check_not_newer, migrate, user_version, SCHEMA_VERSION};
use crate::store::Store;

/// How long a statement waits for another connection's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

impl Store {
    /// Opens (creating it with mode 0600 if new) and migrates the state database for
    /// writing. Writers should hold the [`crate::WriterLock`]; cycles a crashed process left
    /// `running` are marked `interrupted` unless another live process holds the lock.
    pub async fn open(path: &Path) -> Result<Store, StateError> {
        let owned = path.to_path_buf();
        Store::spawn(Some(path.to_path_buf()), false, move || open_rw(&owned)).await
    }

    /// A fresh, migrated database in memory (tests, `demo`).
    pub async fn open_in_memory() -> Result<Store, StateError> {
        Store::spawn(None, false, || {
            let mut conn = Connection::open_in_memory().ctx("open an in-memory database")?;
            configure(&conn)?;
            migrate(&mut conn, Path::new(":memory:"))?;
            Ok(conn)
        })
        .await
    }

    /// Opens the database for reading only (`plan`, `status`, `audit`): no lock, no write.
    /// A missing file is [`StateError::Missing`], which callers treat as an empty state.
    /// A database of an older schema is read through a migrated in-memory copy.
    pub async fn open_read_only(path: &Path) -> Result<Store, StateError> {
        let owned = path.to_path_buf();
        Store::spawn(Some(path.to_path_buf()), true, move || open_ro(&owned)).await
    }
}

/// A second connection for one long read beside the state thread (SQLite lets readers
/// run while the state thread works): only on a file of the current schema, else `None`
/// and the read goes to the state thread.
pub(crate) fn open_reader(path: &Path) -> Option<Connection> {
    let path = &crate::path::resolve_links(path);
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .ok()?;
    configure(&conn).ok()?;
    let current = user_version(&conn).ok()? == SCHEMA_VERSION;
    let query_only = conn.pragma_update(None, "query_only", true).is_ok();
    (current && query_only).then_some(conn)
}

fn configure(conn: &Connection) -> Result<(), StateError> {
    conn.busy_timeout(BUSY_TIMEOUT).ctx("set busy_timeout")?;
    conn.pragma_update(None, "foreign_keys", true)
        .ctx("enable foreign keys")?;
    Ok(())
}

fn open_rw(path: &Path) -> Result<Connection, StateError> {
    let path = &crate::path::resolve_links(path);
    create_private(path)?;
    let mut conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .with_ctx(|| format!("open {}", path.display()))?;
    configure(&conn)?;
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .ctx("switch to WAL mode")?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(path = %path.display(), mode = %mode, "State database is not in WAL mode.");
    }
    // The outcome log is what makes kill -9 safe: every commit reaches the disk.
    conn.pragma_update(None, "synchronous", "FULL")
        .ctx("set synchronous=FULL")?;
    migrate(&mut conn, path)?;
    fix_sidecar_modes(path);
    mark_crashed_cycles(&conn, path)?;
    Ok(conn)
}

fn open_ro(path: &Path) -> Result<Connection, StateError> {
    let path = &crate::path::resolve_links(path);
    if !path.exists() {
        return Err(StateError::Missing {
            path: path.to_path_buf(),
        });
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .with_ctx(|| format!("open {} read-only", path.display()))?;
    configure(&conn)?;
    let version = user_version(&conn)?;
    check_not_newer(version, path)?;
    if version == SCHEMA_VERSION {
        conn.pragma_update(None, "query_only", true)
            .ctx("set query_only")?;
        return Ok(conn);
    }
    // An older schema (a binary upgrade not yet followed by a write): reading must not
    // migrate the file, so read a migrated copy instead.
    tracing::info!(path = %path.display(), found = version, supported = SCHEMA_VERSION,
        "State database has an older schema; reading a migrated copy.");
    migrated_copy(&conn, path)
}

/// An in-memory copy of the database, migrated to the current schema.
fn migrated_copy(conn: &Connection, path: &Path) -> Result<Connection, StateError> {
    let mut copy = Connection::open_in_memory().ctx("open an in-memory copy")?;
    {
        let backup = rusqlite::backup::Backup::new(conn, &mut copy)
            .with_ctx(|| format!("start copying {}", path.display()))?;
        let mut done = false;
        for _ in 0..100 {
            if backup.step(-1).ctx("copy the state database")? == rusqlite::backup::StepResult::Done
            {
                done = true;
                break;
            }
        }
        if !done {
            return Err(StateError::Sqlite {
                op: format!("copy {} (it stayed busy)", path.display()),
                source: rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
                    None,
                ),
            });
        }
    }
    configure(&copy)?;
    migrate(&mut copy, path)?;
    Ok(copy)
}

/// Creates the database file with mode 0600 before SQLite touches it.
fn create_private(path: &Path) -> Result<(), StateError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => {
            tracing::info!(path = %path.display(), "Created the state database.");
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            warn_if_open_to_others(path);
            Ok(())
        }
        Err(source) => Err(StateError::Io {
            op: "create the state database",
            path: path.to_path_buf(),
            source,
        }),
    }
}

#[cfg(unix)]
fn warn_if_open_to_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path) {
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            tracing::warn!(path = %path.display(), mode = format!("{mode:o}"),
                "State database is readable by others than its owner; it should be 0600.");
        }
    }
}

#[cfg(not(unix))]
fn warn_if_open_to_others(_path: &Path) {}

/// SQLite gives `-wal`/`-shm` the database's mode; tighten them anyway in case they were
/// left behind by a process with another umask.
#[cfg(unix)]
fn fix_sidecar_modes(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    for suffix in ["-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let side = PathBuf::from(name);
        let Ok(meta) = std::fs::metadata(&side) else {
            continue;
        };
        if meta.permissions().mode() & 0o077 != 0 {
            if let Err(e) = std::fs::set_permissions(&side, std::fs::Permissions::from_mode(0o600))
            {
                tracing::warn!(path = %side.display(), error = %e, "Could not set mode 0600.");
            }
        }
    }
}

#[cfg(not(unix))]
fn fix_sidecar_modes(_path: &Path) {}

/// Marks `running` cycles as `interrupted`, unless another live process owns them.
fn mark_crashed_cycles(conn: &Connection, path: &Path) -> Result<(), StateError> {
    // The probe keeps the lock (when free) while marking, so no writer can start a cycle
    // in between and see it marked.
    let probe = probe(path)?;
    match probe {
        WriterProbe::Free(_) | WriterProbe::Ours => {
            let marked = mark_interrupted(conn)?;
            if marked > 0 {
                tracing::warn!(
                    cycles = marked,
                    "Marked cycles left running by a stopped process as interrupted."
                );
            }
        }
        WriterProbe::Other(holder) => {
            tracing::debug!(holder = ?holder, "Another process holds the writer lock; its running cycles are left alone.");
        }
    }
    drop(probe);
    Ok(())
}
