//! record_outcome: the link change and its audit row commit together or not at all.

use std::collections::BTreeSet;

use hrsync_state::{
    AuditOp, AuditQuery, Group, GroupChange, LinkChange, LinkLifecycle, OpResult, Ownership,
    StateError, Store,
};
use serde_json::json;

use crate::util::{at, created, link, outcome};

async fn audit_count(store: &Store) -> usize {
    store.audit(AuditQuery::default()).await.unwrap().len()
}

#[tokio::test]
async fn a_create_writes_the_link_and_its_audit_row() {
    let store = Store::open_in_memory().await.unwrap();
    let cycle = store
        .begin_cycle(hrsync_state::CycleKind::Apply)
        .await
        .unwrap();
    let mut o = created("slack", "E1", "U1");
    o.cycle_id = Some(cycle);
    o.detail = json!({"userName": "E1@corp.example"});
    let id = store.record_outcome(o).await.unwrap();

    let l = store
        .link("slack", "E1")
        .await
        .unwrap()
        .expect("link written");
    assert_eq!(l.remote_id, "U1");
    assert_eq!(l.lifecycle, LinkLifecycle::Active);
    assert_eq!(l.ownership, Ownership::Created);
    assert_eq!(
        l.last_pushed.get("userName"),
        Some(&json!("E1@corp.example"))
    );
    assert_eq!(l.hash, "hash-E1");
    assert_eq!(l.created_at, l.updated_at);

    let rows = store.audit(AuditQuery::default()).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].id, id);
    assert_eq!(rows[0].op, AuditOp::Create);
    assert_eq!(rows[0].result, OpResult::Ok);
    assert_eq!(rows[0].cycle_id, Some(cycle));
    assert_eq!(
        rows[0].remote_id.as_deref(),
        Some("U1"),
        "taken from the link"
    );
    assert_eq!(rows[0].detail, json!({"userName": "E1@corp.example"}));
}

#[tokio::test]
async fn linking_an_account_that_belongs_to_someone_else_writes_neither_link_nor_audit() {
    let store = Store::open_in_memory().await.unwrap();
    store
        .record_outcome(created("slack", "E1", "U1"))
        .await
        .unwrap();

    let err = store
        .record_outcome(created("slack", "E2", "U1"))
        .await
        .unwrap_err();
    match &err {
        StateError::RemoteIdTaken {
            holder, person_key, ..
        } => {
            assert_eq!(holder, "E1");
            assert_eq!(person_key, "E2");
        }
        other => panic!("expected RemoteIdTaken, got {other:?}"),
    }
    assert!(store.link("slack", "E2").await.unwrap().is_none());
    assert_eq!(
        audit_count(&store).await,
        1,
        "the audit row was rolled back with the link"
    );
    // The same id in another app is another account.
    store
        .record_outcome(created("github", "E2", "U1"))
        .await
        .unwrap();
}

#[tokio::test]
async fn marking_a_missing_link_fails_and_leaves_no_audit_row() {
    let store = Store::open_in_memory().await.unwrap();
    let o = outcome(
        "slack",
        "E9",
        AuditOp::Deactivate,
        LinkChange::Mark {
            lifecycle: LinkLifecycle::Inactive,
            deactivated_at: Some(at("2026-03-01T10:00:00Z")),
        },
    );
    let err = store.record_outcome(o).await.unwrap_err();
    assert!(matches!(err, StateError::NotFound { .. }), "{err:?}");
    assert_eq!(audit_count(&store).await, 0);
}

#[tokio::test]
async fn a_failed_outcome_writes_only_the_audit_row() {
    let store = Store::open_in_memory().await.unwrap();
    store
        .record_outcome(created("slack", "E1", "U1"))
        .await
        .unwrap();
    let mut changed = link("slack", "E1", "U1");
    changed.user_name = "new@corp.example".into();
    let mut o = outcome("slack", "E1", AuditOp::Update, LinkChange::Upsert(changed));
    o.result = OpResult::Failed;
    o.error = Some("400 invalidValue".into());
    store.record_outcome(o).await.unwrap();

    let l = store.link("slack", "E1").await.unwrap().unwrap();
    assert_eq!(
        l.user_name, "E1@corp.example",
        "a failure must not change the link"
    );
    let rows = store.audit(AuditQuery::default()).await.unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1].result, OpResult::Failed);
    assert_eq!(rows[1].error.as_deref(), Some("400 invalidValue"));
}

#[tokio::test]
async fn deactivate_then_delete_keeps_the_link_for_the_record() {
    let store = Store::open_in_memory().await.unwrap();
    store
        .record_outcome(created("slack", "E1", "U1"))
        .await
        .unwrap();
    let when = at("2026-03-01T10:00:00.250Z");
    let deactivate = outcome(
        "slack",
        "E1",
        AuditOp::Deactivate,
        LinkChange::Mark {
            lifecycle: LinkLifecycle::Inactive,
            deactivated_at: Some(when),
        },
    );
    store.record_outcome(deactivate).await.unwrap();
    let l = store.link("slack", "E1").await.unwrap().unwrap();
    assert_eq!(l.lifecycle, LinkLifecycle::Inactive);
    assert_eq!(l.deactivated_at, Some(when));

    let delete = outcome(
        "slack",
        "E1",
        AuditOp::Delete,
        LinkChange::Mark {
            lifecycle: LinkLifecycle::Deleted,
            deactivated_at: Some(when),
        },
    );
    store.record_outcome(delete).await.unwrap();
    assert_eq!(
        store.link("slack", "E1").await.unwrap().unwrap().lifecycle,
        LinkLifecycle::Deleted
    );
    // A deleted account's id does not block the app from handing it out again.
    store
        .record_outcome(created("slack", "E2", "U1"))
        .await
        .unwrap();
    let by_id = store
        .link_by_remote_id("slack", "U1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_id.person_key, "E2", "the live link wins");
    let counts = store.link_counts().await.unwrap();
    assert_eq!(counts["slack"].active, 1);
    assert_eq!(counts["slack"].deleted, 1);
}

#[tokio::test]
async fn unlink_removes_the_link_and_relink_moves_an_account() {
    let store = Store::open_in_memory().await.unwrap();
    store
        .record_outcome(created("slack", "E1", "U1"))
        .await
        .unwrap();
    store
        .record_outcome(outcome("slack", "E1", AuditOp::Unlink, LinkChange::Remove))
        .await
        .unwrap();
    assert!(store.link("slack", "E1").await.unwrap().is_none());

    let mut relinked = link("slack", "E2", "U1");
    relinked.ownership = Ownership::Adopted;
    store
        .record_outcome(outcome(
            "slack",
            "E2",
            AuditOp::Relink,
            LinkChange::Upsert(relinked),
        ))
        .await
        .unwrap();
    let l = store
        .link_by_remote_id("slack", "U1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (l.person_key.as_str(), l.ownership),
        ("E2", Ownership::Adopted)
    );
}

#[tokio::test]
async fn a_batch_of_outcomes_is_all_or_nothing() {
    let store = Store::open_in_memory().await.unwrap();
    let batch = vec![
        created("slack", "E1", "U1"),
        created("slack", "E2", "U2"),
        created("slack", "E3", "U1"), // U1 already taken by E1 in this batch
    ];
    assert!(store.record_outcomes(batch).await.is_err());
    assert!(store.links(None).await.unwrap().is_empty());
    assert_eq!(audit_count(&store).await, 0);

    let ids = store
        .record_outcomes(vec![
            created("slack", "E1", "U1"),
            created("slack", "E2", "U2"),
        ])
        .await
        .unwrap();
    assert_eq!(ids.len(), 2);
    assert_eq!(store.links(Some("slack")).await.unwrap().len(), 2);
}

#[tokio::test]
async fn group_outcomes_update_the_group_with_their_audit_row() {
    let store = Store::open_in_memory().await.unwrap();
    let mut group = Group::new("slack", "dept-engineering");
    group.remote_id = Some("G1".into());
    let mut create = outcome(
        "slack",
        "dept-engineering",
        AuditOp::GroupCreate,
        LinkChange::None,
    );
    create.group_change = GroupChange::Upsert(group.clone());
    create.remote_id = Some("G1".into());
    store.record_outcome(create).await.unwrap();

    group.members = BTreeSet::from(["E1".to_owned()]);
    let mut add = outcome("slack", "E1", AuditOp::MembershipAdd, LinkChange::None);
    add.group_change = GroupChange::Upsert(group);
    add.detail = json!({"group": "dept-engineering"});
    store.record_outcome(add).await.unwrap();

    let groups = store.groups("slack").await.unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].remote_id.as_deref(), Some("G1"));
    assert!(groups[0].members.contains("E1"));

    let mut remove = outcome(
        "slack",
        "dept-engineering",
        AuditOp::GroupDelete,
        LinkChange::None,
    );
    remove.group_change = GroupChange::Remove {
        group_name: "dept-engineering".into(),
    };
    store.record_outcome(remove).await.unwrap();
    assert!(store.groups("slack").await.unwrap().is_empty());
    assert_eq!(audit_count(&store).await, 3);
}
