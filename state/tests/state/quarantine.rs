//! Quarantines and holds: failing operations back off, rejected records and held
//! operations are replaced per read but remember since when.

use chrono::Duration;
use hrsync_state::{op_backoff, AuditOp, HeldOp, RejectedRecord, Store};

use crate::util::at;

#[tokio::test]
async fn repeated_failures_back_off_longer_until_cleared() {
    let store = Store::open_in_memory().await.unwrap();
    let t0 = at("2026-03-01T10:00:00Z");
    let first = store
        .note_op_failure("slack", "E1", AuditOp::Create, "400 bad email", t0)
        .await
        .unwrap();
    assert_eq!(first.failures, 1);
    assert_eq!(first.next_attempt_at, t0 + Duration::minutes(1));

    let t1 = t0 + Duration::minutes(5);
    let second = store
        .note_op_failure("slack", "E1", AuditOp::Create, "400 again", t1)
        .await
        .unwrap();
    assert_eq!(second.failures, 2);
    assert_eq!(second.next_attempt_at, t1 + Duration::minutes(2));
    assert_eq!(
        second.first_failed_at, t0,
        "the streak started at the first failure"
    );
    assert_eq!(second.last_error, "400 again");

    let mut t = t1;
    for _ in 0..20 {
        t += Duration::hours(1);
        store
            .note_op_failure("slack", "E1", AuditOp::Create, "400", t)
            .await
            .unwrap();
    }
    let stored = store.op_quarantine(Some("slack")).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].failures, 22);
    assert_eq!(
        stored[0].next_attempt_at,
        t + Duration::hours(24),
        "capped at a day"
    );
    assert_eq!(op_backoff(22), Duration::hours(24));

    assert!(store
        .is_op_deferred("slack", "E1", t + Duration::hours(23))
        .await
        .unwrap());
    assert!(!store
        .is_op_deferred("slack", "E1", t + Duration::hours(24))
        .await
        .unwrap());
    assert!(
        !store.is_op_deferred("slack", "E2", t).await.unwrap(),
        "others are not held up"
    );

    store
        .note_op_failure("github", "E1", AuditOp::Update, "500", t)
        .await
        .unwrap();
    assert_eq!(store.op_quarantine(None).await.unwrap().len(), 2);
    assert!(store.clear_op_failure("slack", "E1").await.unwrap());
    assert!(!store.clear_op_failure("slack", "E1").await.unwrap());
    assert!(!store.is_op_deferred("slack", "E1", t).await.unwrap());
    let left = store.op_quarantine(None).await.unwrap();
    assert_eq!(
        (left[0].app.as_str(), left[0].op),
        ("github", AuditOp::Update)
    );
}

fn rejected(key: Option<&str>, position: &str, reason: &str) -> RejectedRecord {
    RejectedRecord {
        key: key.map(str::to_owned),
        position: position.into(),
        field: None,
        reason: reason.into(),
    }
}

#[tokio::test]
async fn record_quarantine_is_replaced_per_source_and_remembers_first_seen() {
    let store = Store::open_in_memory().await.unwrap();
    store
        .replace_record_quarantine(
            "hris",
            vec![
                rejected(Some("E1002"), "line 17", "duplicate key"),
                rejected(None, "line 88", "no key"),
            ],
        )
        .await
        .unwrap();
    store
        .replace_record_quarantine("ats", vec![rejected(Some("A1"), "item 3", "bad email")])
        .await
        .unwrap();
    let before = store.record_quarantine().await.unwrap();
    assert_eq!(before.len(), 3);
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;

    // Next read: E1002 still broken but moved to another line; line 88 fixed; a new one.
    store
        .replace_record_quarantine(
            "hris",
            vec![
                rejected(Some("E1002"), "line 18", "duplicate key"),
                rejected(Some("E7"), "line 40", "bad date"),
            ],
        )
        .await
        .unwrap();
    let after = store.record_quarantine().await.unwrap();
    let hris: Vec<_> = after.iter().filter(|r| r.source == "hris").collect();
    assert_eq!(hris.len(), 2);
    let dup = hris
        .iter()
        .find(|r| r.key.as_deref() == Some("E1002"))
        .unwrap();
    let old_dup = before
        .iter()
        .find(|r| r.key.as_deref() == Some("E1002"))
        .unwrap();
    assert_eq!(dup.position, "line 18");
    assert_eq!(
        dup.first_seen, old_dup.first_seen,
        "same problem, same first_seen"
    );
    assert!(dup.last_seen > old_dup.last_seen);
    let new = hris
        .iter()
        .find(|r| r.key.as_deref() == Some("E7"))
        .unwrap();
    assert!(new.first_seen > old_dup.first_seen);
    assert_eq!(
        after.iter().filter(|r| r.source == "ats").count(),
        1,
        "other sources untouched"
    );

    store
        .replace_record_quarantine("hris", vec![])
        .await
        .unwrap();
    assert_eq!(store.record_quarantine().await.unwrap().len(), 1);
}

fn held(key: &str, op: AuditOp, held_at: &str) -> HeldOp {
    HeldOp {
        app: "slack".into(),
        person_key: key.into(),
        op,
        reason: "max_deprovision_count 2 exceeded: 3".into(),
        cycle_id: None,
        held_at: at(held_at),
    }
}

#[tokio::test]
async fn held_operations_are_replaced_per_app_and_keep_their_start() {
    let store = Store::open_in_memory().await.unwrap();
    store
        .replace_held(
            "slack",
            vec![
                held("E1", AuditOp::Deactivate, "2026-03-01T10:00:00Z"),
                held("E2", AuditOp::Deactivate, "2026-03-01T10:00:00Z"),
            ],
        )
        .await
        .unwrap();
    let mut other = held("E9", AuditOp::Delete, "2026-03-01T10:00:00Z");
    other.app = "github".into();
    store.replace_held("github", vec![other]).await.unwrap();

    store
        .replace_held(
            "slack",
            vec![
                held("E1", AuditOp::Deactivate, "2026-03-01T11:00:00Z"),
                held("E3", AuditOp::Deactivate, "2026-03-01T11:00:00Z"),
            ],
        )
        .await
        .unwrap();
    let slack = store.held(Some("slack")).await.unwrap();
    let keys: Vec<_> = slack
        .iter()
        .map(|h| (h.person_key.as_str(), h.held_at))
        .collect();
    assert_eq!(
        keys,
        vec![
            ("E1", at("2026-03-01T10:00:00Z")),
            ("E3", at("2026-03-01T11:00:00Z"))
        ],
        "E2 released, E1 held since the first time, E3 new"
    );
    assert_eq!(store.held(None).await.unwrap().len(), 3);
    store.replace_held("slack", vec![]).await.unwrap();
    assert_eq!(store.held(None).await.unwrap().len(), 1);
}
