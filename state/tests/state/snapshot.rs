//! The snapshot: absence counting on complete reads, never on incremental ones.

use hrsync_state::{SnapshotCount, Store};
use serde_json::{json, Value};

fn rec(key: &str, title: &str) -> (String, Value) {
    (key.to_owned(), json!({"employee_id": key, "title": title}))
}

async fn absent(store: &Store, key: &str) -> u32 {
    store.snapshot("hris").await.unwrap()[key].absent_cycles
}

#[tokio::test]
async fn complete_reads_count_consecutive_absence_and_keep_the_person() {
    let store = Store::open_in_memory().await.unwrap();
    let saved = store
        .save_snapshot(
            "hris",
            1,
            vec![rec("A", "x"), rec("B", "x"), rec("C", "x")],
            true,
        )
        .await
        .unwrap();
    assert_eq!((saved.added, saved.absent), (3, 0));

    let saved = store
        .save_snapshot("hris", 2, vec![rec("A", "x"), rec("B", "y")], true)
        .await
        .unwrap();
    assert_eq!((saved.unchanged, saved.changed, saved.absent), (1, 1, 1));
    assert_eq!(absent(&store, "C").await, 1);

    store
        .save_snapshot("hris", 3, vec![rec("A", "x")], true)
        .await
        .unwrap();
    assert_eq!(absent(&store, "B").await, 1);
    assert_eq!(absent(&store, "C").await, 2, "consecutive misses add up");

    // C comes back: counter resets; B stays missing.
    store
        .save_snapshot("hris", 4, vec![rec("A", "x"), rec("C", "x")], true)
        .await
        .unwrap();
    assert_eq!(absent(&store, "C").await, 0);
    assert_eq!(absent(&store, "B").await, 2);
    let snap = store.snapshot("hris").await.unwrap();
    assert_eq!(snap.len(), 3, "absent persons are kept, not deleted");
    assert_eq!(snap["C"].first_seen_cycle, 1);
    assert_eq!(snap["C"].last_seen_cycle, 4);
    assert_eq!(snap["B"].record, json!({"employee_id": "B", "title": "y"}));
    assert_eq!(
        store.snapshot_count("hris").await.unwrap(),
        SnapshotCount {
            present: 2,
            absent: 1
        }
    );
}

#[tokio::test]
async fn an_incremental_read_never_counts_anyone_absent() {
    let store = Store::open_in_memory().await.unwrap();
    store
        .save_snapshot("hris", 1, vec![rec("A", "x"), rec("B", "x")], true)
        .await
        .unwrap();
    let saved = store
        .save_snapshot("hris", 2, vec![rec("A", "z")], false)
        .await
        .unwrap();
    assert_eq!((saved.changed, saved.absent), (1, 0));
    assert_eq!(absent(&store, "B").await, 0);
    let snap = store.snapshot("hris").await.unwrap();
    assert_eq!(snap["A"].record["title"], json!("z"));
    assert_eq!(snap["B"].last_seen_cycle, 1);
}

#[tokio::test]
async fn saving_the_same_cycle_twice_counts_absence_once() {
    let store = Store::open_in_memory().await.unwrap();
    store
        .save_snapshot("hris", 1, vec![rec("A", "x"), rec("B", "x")], true)
        .await
        .unwrap();
    store
        .save_snapshot("hris", 2, vec![rec("A", "x")], true)
        .await
        .unwrap();
    let again = store
        .save_snapshot("hris", 2, vec![rec("A", "x")], true)
        .await
        .unwrap();
    assert_eq!(again.absent, 0);
    assert_eq!(absent(&store, "B").await, 1);
}

#[tokio::test]
async fn sources_are_separate_and_dropped_persons_are_gone() {
    let store = Store::open_in_memory().await.unwrap();
    store
        .save_snapshot("hris", 1, vec![rec("A", "x"), rec("B", "x")], true)
        .await
        .unwrap();
    store
        .save_snapshot("ats", 1, vec![rec("A", "x")], true)
        .await
        .unwrap();
    // A complete read of one source says nothing about another.
    store.save_snapshot("ats", 2, vec![], true).await.unwrap();
    assert_eq!(absent(&store, "A").await, 0);

    let removed = store
        .drop_from_snapshot("hris", vec!["B".into(), "Z".into()])
        .await
        .unwrap();
    assert_eq!(removed, 1);
    assert_eq!(store.snapshot_count("hris").await.unwrap().present, 1);
    assert_eq!(
        store.snapshot_count("ats").await.unwrap(),
        SnapshotCount {
            present: 0,
            absent: 1
        }
    );
    assert_eq!(
        store.snapshot_count("nobody").await.unwrap(),
        SnapshotCount::default()
    );
}

#[tokio::test]
async fn a_reordered_record_is_unchanged() {
    let store = Store::open_in_memory().await.unwrap();
    let a: Value = serde_json::from_str(r#"{"employee_id":"A","title":"x"}"#).unwrap();
    let b: Value = serde_json::from_str(r#"{"title":"x","employee_id":"A"}"#).unwrap();
    store
        .save_snapshot("hris", 1, vec![("A".into(), a)], true)
        .await
        .unwrap();
    let saved = store
        .save_snapshot("hris", 2, vec![("A".into(), b)], true)
        .await
        .unwrap();
    assert_eq!(saved.unchanged, 1);
}
