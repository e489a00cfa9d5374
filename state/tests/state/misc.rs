//! Small tables: groups, app health, watermarks, metadata.

use std::collections::BTreeSet;

use hrsync_state::{AppHealth, CircuitState, Group, Store};

use crate::util::at;

#[tokio::test]
async fn groups_round_trip_and_keep_their_creation_time() {
    let store = Store::open_in_memory().await.unwrap();
    let mut g = Group::new("slack", "dept-sales");
    g.members = BTreeSet::from(["E1".to_owned(), "E2".to_owned()]);
    store.upsert_group(g.clone()).await.unwrap();
    let first = store.groups("slack").await.unwrap().remove(0);
    assert_eq!(first.members, g.members);
    assert!(first.managed);

    g.remote_id = Some("G7".into());
    g.members.remove("E1");
    store.upsert_group(g).await.unwrap();
    let second = store.groups("slack").await.unwrap().remove(0);
    assert_eq!(second.remote_id.as_deref(), Some("G7"));
    assert_eq!(second.members, BTreeSet::from(["E2".to_owned()]));
    assert_eq!(second.created_at, first.created_at);
    assert!(store.groups("github").await.unwrap().is_empty());

    store.remove_group("slack", "dept-sales").await.unwrap();
    assert!(store.groups("slack").await.unwrap().is_empty());
}

#[tokio::test]
async fn app_health_is_replaced_per_app() {
    let store = Store::open_in_memory().await.unwrap();
    let mut h = AppHealth {
        app: "slack".into(),
        circuit: CircuitState::Open,
        last_error: Some("401 Unauthorized".into()),
        last_success_at: Some(at("2026-03-01T09:00:00Z")),
        consecutive_failures: 5,
        opened_at: Some(at("2026-03-01T10:00:00Z")),
        updated_at: at("2000-01-01T00:00:00Z"),
    };
    store.set_app_health(h.clone()).await.unwrap();
    h.app = "github".into();
    h.circuit = CircuitState::Closed;
    h.consecutive_failures = 0;
    store.set_app_health(h).await.unwrap();

    let all = store.app_health().await.unwrap();
    assert_eq!(
        all.iter().map(|h| h.app.as_str()).collect::<Vec<_>>(),
        vec!["github", "slack"]
    );
    assert_eq!(all[1].circuit, CircuitState::Open);
    assert_eq!(all[1].consecutive_failures, 5);
    assert_eq!(all[1].opened_at, Some(at("2026-03-01T10:00:00Z")));
    assert!(
        all[1].updated_at > at("2020-01-01T00:00:00Z"),
        "stamped by the store"
    );
}

#[tokio::test]
async fn watermarks_and_meta_values_are_stored_and_replaced() {
    let store = Store::open_in_memory().await.unwrap();
    assert!(store.watermark("hris").await.unwrap().is_none());
    store
        .set_watermark("hris", "2026-03-01T00:00:00Z")
        .await
        .unwrap();
    store
        .set_watermark("hris", "2026-03-02T00:00:00Z")
        .await
        .unwrap();
    assert_eq!(
        store.watermark("hris").await.unwrap().unwrap().value,
        "2026-03-02T00:00:00Z"
    );
    assert!(store.watermark("ats").await.unwrap().is_none());

    assert_eq!(store.meta("last_full_read:hris").await.unwrap(), None);
    store
        .set_meta("last_full_read:hris", "2026-03-02T00:00:00Z")
        .await
        .unwrap();
    assert_eq!(
        store.meta("last_full_read:hris").await.unwrap().as_deref(),
        Some("2026-03-02T00:00:00Z")
    );
}
