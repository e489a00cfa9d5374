//! The writer lock: one writer at a time, and the loser learns who holds it.

use std::time::Duration;

use hrsync_state::{CycleKind, CycleStatus, StateError, Store, WriterLock};

use crate::util::state_file;

#[tokio::test]
async fn a_second_writer_is_refused_and_told_the_holders_pid() {
    let (_dir, path) = state_file();
    let first = WriterLock::acquire(&path).unwrap();
    let err = WriterLock::acquire(&path).unwrap_err();
    match &err {
        StateError::Locked { holder, path: lock } => {
            assert_eq!(*holder, Some(std::process::id()));
            assert_eq!(lock, first.path());
        }
        other => panic!("expected Locked, got {other:?}"),
    }
    assert!(
        err.to_string()
            .contains(&format!("pid {}", std::process::id())),
        "{err}"
    );
    drop(first);
    WriterLock::acquire(&path).expect("free again once the holder let go");
}

#[tokio::test]
async fn waiting_for_the_lock_succeeds_when_the_holder_lets_go() {
    let (_dir, path) = state_file();
    let first = WriterLock::acquire(&path).unwrap();
    let release = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(150)).await;
        drop(first);
    });
    let second = WriterLock::acquire_wait(&path, Duration::from_secs(30)).await;
    release.await.unwrap();
    assert!(second.is_ok(), "{second:?}");
}

#[tokio::test]
async fn waiting_for_the_lock_gives_up_at_the_timeout() {
    let (_dir, path) = state_file();
    let _first = WriterLock::acquire(&path).unwrap();
    let err = WriterLock::acquire_wait(&path, Duration::from_millis(200))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StateError::Locked {
                holder: Some(_),
                ..
            }
        ),
        "{err:?}"
    );
}

async fn leave_a_running_cycle(path: &std::path::Path) -> i64 {
    let store = Store::open(path).await.unwrap();
    store.begin_cycle(CycleKind::Run).await.unwrap()
}

#[tokio::test]
async fn cycles_left_running_by_a_crash_are_marked_interrupted_on_reopen() {
    let (_dir, path) = state_file();
    let id = leave_a_running_cycle(&path).await;
    let store = Store::open(&path).await.unwrap();
    let cycle = store.cycle(id).await.unwrap().unwrap();
    assert_eq!(cycle.status, CycleStatus::Interrupted);
    assert!(cycle.error.is_some());
}

#[tokio::test]
async fn the_lock_holder_itself_marks_crashed_cycles() {
    let (_dir, path) = state_file();
    let id = leave_a_running_cycle(&path).await;
    let _lock = WriterLock::acquire(&path).unwrap();
    let store = Store::open(&path).await.unwrap();
    assert_eq!(
        store.cycle(id).await.unwrap().unwrap().status,
        CycleStatus::Interrupted
    );
}

#[tokio::test]
async fn a_live_writers_running_cycle_is_not_marked_by_another_open() {
    let (_dir, path) = state_file();
    let id = leave_a_running_cycle(&path).await;
    // Another process holds the lock: simulate it by holding the lock here and writing a
    // pid that is not ours into the file.
    let lock = WriterLock::acquire(&path).unwrap();
    std::fs::write(lock.path(), "4194303\n").unwrap();
    let store = Store::open(&path).await.unwrap();
    assert_eq!(
        store.cycle(id).await.unwrap().unwrap().status,
        CycleStatus::Running
    );
    // And the loser of the race names that process.
    let err = WriterLock::acquire(&path).unwrap_err();
    assert!(
        matches!(
            err,
            StateError::Locked {
                holder: Some(4194303),
                ..
            }
        ),
        "{err:?}"
    );
}
