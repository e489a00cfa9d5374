//! Reading the audit trail back, and counting deprovisions for the daily guard.

use std::time::Duration;

use chrono::Utc;
use hrsync_state::{AuditOp, AuditQuery, LinkChange, LinkLifecycle, OpResult, Store};

use crate::util::{created, outcome};

fn deactivate(app: &str, key: &str, result: OpResult) -> hrsync_state::Outcome {
    let mut o = outcome(
        app,
        key,
        AuditOp::Deactivate,
        LinkChange::Mark {
            lifecycle: LinkLifecycle::Inactive,
            deactivated_at: None,
        },
    );
    o.result = result;
    o
}

#[tokio::test]
async fn audit_filters_by_app_person_cycle_and_time_newest_last() {
    let store = Store::open_in_memory().await.unwrap();
    let cycle = store
        .begin_cycle(hrsync_state::CycleKind::Apply)
        .await
        .unwrap();
    store
        .record_outcome(created("slack", "E1", "U1"))
        .await
        .unwrap();
    store
        .record_outcome(created("github", "E1", "G1"))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let since = Utc::now();
    let mut o = created("slack", "E2", "U2");
    o.cycle_id = Some(cycle);
    store.record_outcome(o).await.unwrap();
    store
        .record_outcome(deactivate("slack", "E1", OpResult::Ok))
        .await
        .unwrap();

    let all = store.audit(AuditQuery::default()).await.unwrap();
    assert_eq!(all.len(), 4);
    assert!(all.windows(2).all(|w| w[0].id < w[1].id), "oldest first");

    let slack = store
        .audit(AuditQuery {
            app: Some("slack".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(slack.len(), 3);
    assert!(slack.iter().all(|r| r.app == "slack"));

    let e1 = store
        .audit(AuditQuery {
            person_key: Some("E1".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let ops: Vec<_> = e1.iter().map(|r| (r.app.as_str(), r.op)).collect();
    assert_eq!(
        ops,
        vec![
            ("slack", AuditOp::Create),
            ("github", AuditOp::Create),
            ("slack", AuditOp::Deactivate)
        ]
    );

    let recent = store
        .audit(AuditQuery {
            since: Some(since),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        recent
            .iter()
            .map(|r| r.person_key.as_str())
            .collect::<Vec<_>>(),
        vec!["E2", "E1"]
    );

    let in_cycle = store
        .audit(AuditQuery {
            cycle_id: Some(cycle),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(in_cycle.len(), 1);

    let last_two = store
        .audit(AuditQuery {
            limit: Some(2),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        last_two.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![all[2].id, all[3].id]
    );

    let both = store
        .audit(AuditQuery {
            app: Some("slack".into()),
            person_key: Some("E1".into()),
            since: Some(since),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(both.len(), 1);
    assert_eq!(both[0].op, AuditOp::Deactivate);
}

#[tokio::test]
async fn only_successful_deprovisions_of_the_app_count_toward_the_daily_limit() {
    let store = Store::open_in_memory().await.unwrap();
    let start = Utc::now() - chrono::Duration::seconds(1);
    for key in ["E1", "E2", "E3", "E4"] {
        store
            .record_outcome(created("slack", key, &format!("U{key}")))
            .await
            .unwrap();
    }
    store
        .record_outcome(created("github", "E1", "G1"))
        .await
        .unwrap();
    store
        .record_outcome(deactivate("slack", "E1", OpResult::Ok))
        .await
        .unwrap();
    store
        .record_outcome(deactivate("slack", "E2", OpResult::Failed))
        .await
        .unwrap();
    let mut delete = outcome(
        "slack",
        "E3",
        AuditOp::Delete,
        LinkChange::Mark {
            lifecycle: LinkLifecycle::Deleted,
            deactivated_at: None,
        },
    );
    delete.result = OpResult::Ok;
    store.record_outcome(delete).await.unwrap();
    store
        .record_outcome(deactivate("github", "E1", OpResult::Ok))
        .await
        .unwrap();

    assert_eq!(
        store
            .count_deprovisions_since("slack", start)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        store
            .count_deprovisions_since("github", start)
            .await
            .unwrap(),
        1
    );
    let later = Utc::now() + chrono::Duration::hours(1);
    assert_eq!(
        store
            .count_deprovisions_since("slack", later)
            .await
            .unwrap(),
        0
    );
}
