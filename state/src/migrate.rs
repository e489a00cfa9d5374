//! Schema migrations: numbered SQL files embedded in the binary, tracked by
//! `PRAGMA user_version`, each applied in its own transaction. A migration whose rows
//! cannot be converted in SQL has a Rust step too, run where its file says `-- @convert`.

use std::path::Path;

use rusqlite::{Connection, Transaction, TransactionBehavior};

use crate::error::{Ctx, StateError};

/// One embedded migration.
struct Migration {
    /// The `user_version` the database has once this ran.
    version: i64,
    /// The file name without number and extension.
    name: &'static str,
    /// The SQL.
    sql: &'static str,
    /// The Rust step, run at the [`CONVERT`] line of `sql` (the SQL before it, then the
    /// step, then the SQL after it, all in the migration's transaction).
    convert: Option<Convert>,
}

/// A migration's Rust step: converts rows in the migration's transaction.
type Convert = fn(&Transaction<'_>) -> Result<(), StateError>;

/// The line of a migration's SQL where its Rust step runs.
const CONVERT: &str = "\n-- @convert\n";

/// All migrations, in order. Append-only: a released migration is never edited.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial",
        sql: include_str!("../migrations/0001_initial.sql"),
        convert: None,
    },
    Migration {
        version: 2,
        name: "kept_forms",
        sql: include_str!("../migrations/0002_kept_forms.sql"),
        convert: None,
    },
    Migration {
        version: 3,
        name: "link_paths",
        sql: include_str!("../migrations/0003_link_paths.sql"),
        convert: None,
    },
    Migration {
        version: 4,
        name: "settled",
        sql: include_str!("../migrations/0004_settled.sql"),
        convert: None,
    },
    Migration {
        version: 5,
        name: "compact",
        sql: include_str!("../migrations/0005_compact.sql"),
        convert: Some(crate::migrate_v5::convert),
    },
];

/// The schema version this binary writes and the newest it can read.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// The database's `user_version`.
pub(crate) fn user_version(conn: &Connection) -> Result<i64, StateError> {
    conn.pragma_query_value(None, "user_version", |row| row.get(0))
        .ctx("read the schema version")
}

/// Refuses a database written by a newer binary.
pub(crate) fn check_not_newer(found: i64, path: &Path) -> Result<(), StateError> {
    if found > SCHEMA_VERSION {
        return Err(StateError::TooNew {
            path: path.to_path_buf(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    Ok(())
}

/// Brings the schema up to [`SCHEMA_VERSION`]; returns how many migrations ran.
pub(crate) fn migrate(conn: &mut Connection, path: &Path) -> Result<usize, StateError> {
    check_not_newer(user_version(conn)?, path)?;
    let mut applied = 0;
    for m in MIGRATIONS {
        // IMMEDIATE takes the write lock before reading the version, so two processes
        // opening a fresh file at once cannot both run the same migration.
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx("begin a migration")?;
        let current = user_version(&tx)?;
        check_not_newer(current, path)?;
        if current >= m.version {
            continue;
        }
        apply(&tx, m)?;
        tx.pragma_update(None, "user_version", m.version)
            .ctx("record the schema version")?;
        tx.commit()
            .with_ctx(|| format!("commit migration {:04}_{}", m.version, m.name))?;
        tracing::info!(
            version = m.version,
            name = m.name,
            "Applied state migration."
        );
        applied += 1;
    }
    Ok(applied)
}

/// Runs one migration's SQL and Rust step in the caller's transaction.
fn apply(tx: &Transaction<'_>, m: &Migration) -> Result<(), StateError> {
    let ctx = || format!("apply migration {:04}_{}", m.version, m.name);
    let Some(convert) = m.convert else {
        return tx.execute_batch(m.sql).with_ctx(ctx);
    };
    let (before, after) = m.sql.split_once(CONVERT).unwrap_or((m.sql, ""));
    tx.execute_batch(before).with_ctx(ctx)?;
    convert(tx)?;
    tx.execute_batch(after).with_ctx(ctx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_migration_file_is_embedded_in_order() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .expect("migrations dir")
            .map(|e| {
                e.expect("dir entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .filter(|n| n.ends_with(".sql"))
            .collect();
        files.sort();
        let embedded: Vec<String> = MIGRATIONS
            .iter()
            .map(|m| format!("{:04}_{}.sql", m.version, m.name))
            .collect();
        assert_eq!(
            files, embedded,
            "a file in migrations/ is not listed in MIGRATIONS"
        );
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(
                m.version,
                i as i64 + 1,
                "migration versions must be 1, 2, 3, ..."
            );
            let on_disk = std::fs::read_to_string(dir.join(&embedded[i])).expect("read");
            assert_eq!(on_disk, m.sql);
            assert_eq!(
                m.sql.matches(CONVERT).count(),
                usize::from(m.convert.is_some()),
                "{}: a Rust step runs at exactly one `-- @convert` line, and only there",
                embedded[i]
            );
        }
    }

    #[test]
    fn migrating_twice_changes_nothing() {
        let mut conn = Connection::open_in_memory().expect("open");
        let path = Path::new(":memory:");
        assert_eq!(migrate(&mut conn, path).expect("first"), MIGRATIONS.len());
        assert_eq!(migrate(&mut conn, path).expect("second"), 0);
        assert_eq!(user_version(&conn).expect("version"), SCHEMA_VERSION);
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let mut conn = Connection::open_in_memory().expect("open");
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .expect("set");
        let err = migrate(&mut conn, Path::new("/x/state.db")).expect_err("must refuse");
        assert!(
            matches!(err, StateError::TooNew { found, supported, .. }
                if found == SCHEMA_VERSION + 1 && supported == SCHEMA_VERSION),
            "{err:?}"
        );
    }
}
