//! Cycles: begin, finish, list.

use hrsync_state::{CycleKind, CycleStatus, StateError, Store};
use serde_json::json;

#[tokio::test]
async fn finished_cycles_are_listed_newest_first_with_their_summary() {
    let store = Store::open_in_memory().await.unwrap();
    let a = store.begin_cycle(CycleKind::Apply).await.unwrap();
    store
        .finish_cycle(a, CycleStatus::Ok, json!({"slack": {"create": 3}}), None)
        .await
        .unwrap();
    let b = store.begin_cycle(CycleKind::Run).await.unwrap();
    store
        .finish_cycle(
            b,
            CycleStatus::Guarded,
            json!({}),
            Some("source hris dropped 40%".into()),
        )
        .await
        .unwrap();
    let c = store.begin_cycle(CycleKind::Resync).await.unwrap();
    assert!(a < b && b < c);

    let recent = store.recent_cycles(2).await.unwrap();
    assert_eq!(recent.iter().map(|r| r.id).collect::<Vec<_>>(), vec![c, b]);
    assert_eq!(recent[0].status, CycleStatus::Running);
    assert!(recent[0].finished_at.is_none());
    assert_eq!(recent[1].status, CycleStatus::Guarded);
    assert_eq!(recent[1].error.as_deref(), Some("source hris dropped 40%"));
    assert!(recent[1].finished_at.unwrap() >= recent[1].started_at);

    let first = store.cycle(a).await.unwrap().unwrap();
    assert_eq!(first.kind, CycleKind::Apply);
    assert_eq!(first.summary, json!({"slack": {"create": 3}}));
}

#[tokio::test]
async fn finishing_an_unknown_cycle_is_an_error() {
    let store = Store::open_in_memory().await.unwrap();
    let err = store
        .finish_cycle(99, CycleStatus::Ok, json!({}), None)
        .await
        .unwrap_err();
    assert!(matches!(err, StateError::NotFound { .. }), "{err:?}");
}
