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

/// How many rows the store's connection has written since it opened.
async fn rows_written(store: &Store) -> u64 {
    store.call(|conn| Ok(conn.total_changes())).await.unwrap()
}

#[tokio::test]
async fn an_unchanged_read_writes_no_row() {
    let store = Store::open_in_memory().await.unwrap();
    let read = || vec![rec("A", "x"), rec("B", "x"), rec("C", "x")];
    store.save_snapshot("hris", 1, read(), true).await.unwrap();
    let before = rows_written(&store).await;
    for cycle in 2..=4 {
        let saved = store
            .save_snapshot("hris", cycle, read(), true)
            .await
            .unwrap();
        assert_eq!(
            (saved.added, saved.changed, saved.unchanged, saved.absent),
            (0, 0, 3, 0),
            "cycle {cycle}"
        );
    }
    assert_eq!(rows_written(&store).await, before, "no row written");
    let snap = store.snapshot("hris").await.unwrap();
    assert_eq!(
        snap["A"].last_seen_cycle, 1,
        "an unchanged row is not restamped"
    );
    assert_eq!(snap["A"].absent_cycles, 0);

    // One change: exactly that row is written, and stamped with its cycle.
    let saved = store
        .save_snapshot(
            "hris",
            5,
            vec![rec("A", "x"), rec("B", "y"), rec("C", "x")],
            true,
        )
        .await
        .unwrap();
    assert_eq!((saved.changed, saved.unchanged), (1, 2));
    assert_eq!(rows_written(&store).await, before + 1);
    let snap = store.snapshot("hris").await.unwrap();
    assert_eq!(snap["B"].last_seen_cycle, 5);
    assert_eq!(snap["B"].record["title"], json!("y"));
    assert_eq!(snap["C"].last_seen_cycle, 1);
}

#[tokio::test]
async fn absence_over_complete_incremental_and_frozen_reads() {
    let store = Store::open_in_memory().await.unwrap();
    let all = |keys: &[&str]| keys.iter().map(|k| rec(k, "x")).collect::<Vec<_>>();
    store
        .save_snapshot("hris", 1, all(&["A", "B", "C", "D"]), true)
        .await
        .unwrap();
    // A stays unchanged throughout (never rewritten), yet is never counted absent.
    let saved = store
        .save_snapshot("hris", 2, all(&["A", "D"]), true)
        .await
        .unwrap();
    assert_eq!(saved.absent, 2);
    let saved = store
        .save_snapshot("hris", 3, all(&["A", "D"]), true)
        .await
        .unwrap();
    assert_eq!(saved.absent, 2);
    assert_eq!(
        (absent(&store, "B").await, absent(&store, "C").await),
        (2, 2)
    );

    // An incremental read brings B back and counts nobody absent.
    let saved = store
        .save_snapshot("hris", 4, all(&["B"]), false)
        .await
        .unwrap();
    assert_eq!((saved.unchanged, saved.absent), (1, 0));
    assert_eq!(
        (absent(&store, "B").await, absent(&store, "C").await),
        (0, 2)
    );
    assert_eq!(
        store.snapshot("hris").await.unwrap()["B"].last_seen_cycle,
        4
    );

    // C's record set aside: seen, not absent; D missing for the first time.
    let saved = store
        .save_read("hris", 5, all(&["A", "B"]), vec!["C".into()], true)
        .await
        .unwrap();
    assert_eq!(saved.absent, 1);
    assert_eq!(
        (absent(&store, "C").await, absent(&store, "D").await),
        (0, 1)
    );

    // Missing from a complete read again: counted again; the same cycle once only.
    for _ in 0..2 {
        store
            .save_snapshot("hris", 6, all(&["A"]), true)
            .await
            .unwrap();
    }
    let snap = store.snapshot("hris").await.unwrap();
    let counts: Vec<u32> = ["A", "B", "C", "D"]
        .iter()
        .map(|k| snap[*k].absent_cycles)
        .collect();
    assert_eq!(counts, vec![0, 1, 1, 2]);
    assert_eq!(snap["A"].last_seen_cycle, 1);
}

#[tokio::test]
async fn a_key_read_twice_is_saved_once() {
    let store = Store::open_in_memory().await.unwrap();
    let saved = store
        .save_snapshot(
            "hris",
            1,
            vec![rec("A", "x"), rec("A", "x"), rec("A", "y")],
            true,
        )
        .await
        .unwrap();
    assert_eq!((saved.added, saved.unchanged, saved.changed), (1, 1, 1));
    let snap = store.snapshot("hris").await.unwrap();
    assert_eq!(snap.len(), 1);
    assert_eq!(
        snap["A"].record["title"],
        json!("y"),
        "the last record wins"
    );
}

#[tokio::test]
async fn a_record_prepared_as_unchanged_keeps_its_row_and_never_overwrites_a_changed_one() {
    use hrsync_state::SnapshotRecord;
    let store = Store::open_in_memory().await.unwrap();
    store
        .save_snapshot("hris", 1, vec![rec("A", "x"), rec("B", "x")], true)
        .await
        .unwrap();
    let index = store.snapshot_index("hris", true).await.unwrap();
    let (absent_cycles, hash) = index["A"];
    assert_eq!(absent_cycles, 0);
    let a = rec("A", "x").1;
    let unchanged = SnapshotRecord::unless_stored(&a, hash.as_ref()).unwrap();
    assert_eq!(
        unchanged.text(),
        "",
        "the stored hash is its own: no text kept"
    );
    assert_eq!(
        unchanged.hash_hex(),
        SnapshotRecord::of(&a).unwrap().hash_hex()
    );
    let b = SnapshotRecord::unless_stored(&rec("B", "y").1, index["B"].1.as_ref()).unwrap();
    assert!(!b.text().is_empty(), "a changed record keeps its text");

    let records = vec![("A".to_owned(), unchanged.clone()), ("B".to_owned(), b)];
    let saved = store
        .save_read_records("hris", 2, records, Vec::new(), true)
        .await
        .unwrap();
    assert_eq!((saved.changed, saved.unchanged), (1, 1));
    let snap = store.snapshot("hris").await.unwrap();
    assert_eq!(
        snap["A"].record["title"],
        json!("x"),
        "A's record is as it was"
    );
    assert_eq!(snap["B"].record["title"], json!("y"));

    // Were the row to change between preparing and saving, nothing empty is stored.
    store
        .save_snapshot("hris", 3, vec![rec("A", "z"), rec("B", "y")], true)
        .await
        .unwrap();
    let records = vec![("A".to_owned(), unchanged)];
    let err = store
        .save_read_records("hris", 4, records, Vec::new(), true)
        .await;
    assert!(err.is_err(), "a text-less record is never written");
    let snap = store.snapshot("hris").await.unwrap();
    assert_eq!(snap["A"].record["title"], json!("z"));
    assert_eq!(
        snap["B"].absent_cycles, 0,
        "the failed save changed nothing"
    );
}
