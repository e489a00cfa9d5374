//! Opening: file modes, migrations, version checks, read-only access, the thread's life.

use std::os::unix::fs::PermissionsExt;

use hrsync_state::rusqlite::Connection;
use hrsync_state::{AuditQuery, StateError, Store, WriterLock, SCHEMA_VERSION};

use crate::util::{created, state_file};

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

async fn version(store: &Store) -> i64 {
    store
        .call(|c| {
            Ok(
                c.pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))
                    .unwrap(),
            )
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn state_files_are_private_to_their_owner() {
    let (dir, path) = state_file();
    let _lock = WriterLock::acquire(&path).unwrap();
    let store = Store::open(&path).await.unwrap();
    store
        .record_outcome(created("slack", "E1", "U1"))
        .await
        .unwrap();
    assert_eq!(mode(&path), 0o600, "database");
    assert_eq!(mode(&dir.path().join("state.db.lock")), 0o600, "lock file");
    for side in ["state.db-wal", "state.db-shm"] {
        let p = dir.path().join(side);
        if p.exists() {
            assert_eq!(mode(&p), 0o600, "{side}");
        }
    }
}

/// The journal mode and sync level of the store's own connection.
async fn durability(store: &Store) -> (String, i64) {
    store
        .call(|c| {
            let journal: String = c
                .pragma_query_value(None, "journal_mode", |r| r.get(0))
                .unwrap();
            let sync: i64 = c
                .pragma_query_value(None, "synchronous", |r| r.get(0))
                .unwrap();
            Ok((journal, sync))
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn the_store_writes_ahead_and_syncs_every_commit_with_private_sidecars() {
    let (dir, path) = state_file();
    let store = Store::open(&path).await.unwrap();
    store
        .record_outcome(created("slack", "E1", "U1"))
        .await
        .unwrap();

    let (journal, sync) = durability(&store).await;
    assert_eq!(journal.to_ascii_lowercase(), "wal", "journal_mode");
    // 2 = FULL: a commit has reached the disk before the outcome counts as recorded.
    assert_eq!(sync, 2, "synchronous must be FULL");

    // WAL is a property of the file: a second connection sees it too.
    let other = Connection::open(&path).unwrap();
    let on_disk: String = other
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(on_disk.to_ascii_lowercase(), "wal", "journal_mode on disk");
    drop(other);

    // With the store open after a write, the sidecars exist and must be private.
    for side in ["state.db-wal", "state.db-shm"] {
        let p = dir.path().join(side);
        assert!(p.exists(), "{side} should exist while the store is open");
        assert_eq!(mode(&p), 0o600, "{side}");
    }

    // Reopening keeps both settings.
    drop(store);
    let store = Store::open(&path).await.unwrap();
    let (journal, sync) = durability(&store).await;
    assert_eq!(journal.to_ascii_lowercase(), "wal");
    assert_eq!(sync, 2);
}

#[tokio::test]
async fn reopening_keeps_data_and_does_not_rerun_migrations() {
    let (_dir, path) = state_file();
    {
        let store = Store::open(&path).await.unwrap();
        store
            .record_outcome(created("slack", "E1", "U1"))
            .await
            .unwrap();
        assert_eq!(version(&store).await, SCHEMA_VERSION);
    }
    let store = Store::open(&path).await.unwrap();
    assert_eq!(version(&store).await, SCHEMA_VERSION);
    let link = store
        .link("slack", "E1")
        .await
        .unwrap()
        .expect("link survives reopen");
    assert_eq!(link.remote_id, "U1");
    assert_eq!(store.audit(AuditQuery::default()).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_database_from_a_newer_hrsync_is_refused() {
    let (_dir, path) = state_file();
    drop(Store::open(&path).await.unwrap());
    let conn = Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    drop(conn);

    for err in [
        Store::open(&path).await.unwrap_err(),
        Store::open_read_only(&path).await.unwrap_err(),
    ] {
        match &err {
            StateError::TooNew {
                found, supported, ..
            } => {
                assert_eq!(*found, SCHEMA_VERSION + 1);
                assert_eq!(*supported, SCHEMA_VERSION);
            }
            other => panic!("expected TooNew, got {other:?}"),
        }
        assert!(err.to_string().contains("newer hrsync"), "{err}");
    }
}

#[tokio::test]
async fn read_only_open_of_a_missing_file_says_missing_and_creates_nothing() {
    let (_dir, path) = state_file();
    let err = Store::open_read_only(&path).await.unwrap_err();
    assert!(matches!(err, StateError::Missing { .. }), "{err:?}");
    assert!(!path.exists());
}

#[tokio::test]
async fn a_reader_sees_the_writers_data_but_cannot_write() {
    let (_dir, path) = state_file();
    let writer = Store::open(&path).await.unwrap();
    writer
        .record_outcome(created("slack", "E1", "U1"))
        .await
        .unwrap();

    let reader = Store::open_read_only(&path).await.unwrap();
    assert!(reader.is_read_only());
    assert_eq!(reader.links(None).await.unwrap().len(), 1);
    let err = reader
        .record_outcome(created("slack", "E2", "U2"))
        .await
        .unwrap_err();
    assert!(matches!(err, StateError::ReadOnly { .. }), "{err:?}");
    // Even a raw statement cannot write through the reader.
    let raw = reader
        .call(|c| Ok(c.execute("DELETE FROM links", []).is_err()))
        .await
        .unwrap();
    assert!(raw, "query_only must refuse writes");
    assert_eq!(writer.links(None).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_reader_of_an_older_schema_reads_a_migrated_copy_and_leaves_the_file_alone() {
    let (_dir, path) = state_file();
    // A file as an older hrsync (before any migration) would have left it.
    Connection::open(&path)
        .unwrap()
        .execute_batch("CREATE TABLE t (x)")
        .unwrap();

    let reader = Store::open_read_only(&path).await.unwrap();
    assert!(reader.links(None).await.unwrap().is_empty());
    assert!(reader.recent_cycles(5).await.unwrap().is_empty());
    drop(reader);

    let conn = Connection::open(&path).unwrap();
    let v: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(v, 0, "a read must not migrate the file");
}

#[tokio::test]
async fn dropping_the_last_handle_closes_the_database_cleanly() {
    let (dir, path) = state_file();
    let store = Store::open(&path).await.unwrap();
    let clone = store.clone();
    clone
        .record_outcome(created("slack", "E1", "U1"))
        .await
        .unwrap();
    drop(store);
    // One handle left: still usable.
    assert!(clone.link("slack", "E1").await.unwrap().is_some());
    drop(clone);
    // A clean close checkpoints and removes the WAL.
    assert!(
        !dir.path().join("state.db-wal").exists(),
        "WAL left behind: not closed"
    );
}

#[tokio::test]
async fn a_panicking_closure_rolls_back_and_the_store_keeps_working() {
    let store = Store::open_in_memory().await.unwrap();
    let err = store
        .transaction(|tx| -> Result<(), StateError> {
            tx.execute(
                "INSERT INTO meta (key, value, updated_at) VALUES ('k', 'v', 'x')",
                [],
            )
            .unwrap();
            panic!("boom");
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StateError::Panicked), "{err:?}");
    assert_eq!(
        store.meta("k").await.unwrap(),
        None,
        "the write was rolled back"
    );
    store.set_meta("k", "v2").await.unwrap();
    assert_eq!(store.meta("k").await.unwrap().as_deref(), Some("v2"));
}

#[tokio::test]
async fn a_transaction_whose_closure_fails_leaves_nothing() {
    let store = Store::open_in_memory().await.unwrap();
    let err = store
        .transaction(|tx| {
            tx.execute(
                "INSERT INTO meta (key, value, updated_at) VALUES ('k', 'v', 'x')",
                [],
            )
            .unwrap();
            Err::<(), _>(StateError::NotFound {
                what: "something".into(),
            })
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StateError::NotFound { .. }));
    assert_eq!(store.meta("k").await.unwrap(), None);
}

#[tokio::test]
async fn many_tasks_share_one_store() {
    let store = Store::open_in_memory().await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..40 {
        let s = store.clone();
        tasks.push(tokio::spawn(async move {
            s.record_outcome(created("slack", &format!("E{i}"), &format!("U{i}")))
                .await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(store.links(Some("slack")).await.unwrap().len(), 40);
    assert_eq!(store.audit(AuditQuery::default()).await.unwrap().len(), 40);
}
