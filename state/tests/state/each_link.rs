//! `Store::each_link` (an app's links converted as they are read) gives what `links` gives,
//! whether it reads on a connection of its own (a file of the current schema), on the
//! state thread (in memory), or through the migrated copy of an older file.

use hrsync_state::{AuditOp, LinkChange, LinkLifecycle, Store};

use crate::util::{link, outcome, state_file};

/// Three links in `crm` (one deactivated) and one in `hr`, written out of key order.
async fn seed(store: &Store) {
    for (app, key) in [("crm", "E3"), ("hr", "E1"), ("crm", "E1"), ("crm", "E2")] {
        let mut l = link(app, key, &format!("id-{app}-{key}"));
        if key == "E2" {
            l.lifecycle = LinkLifecycle::Inactive;
        }
        let change = LinkChange::Upsert(l);
        store
            .record_outcome(outcome(app, key, AuditOp::Create, change))
            .await
            .unwrap();
    }
}

/// What `each_link` gives of `crm`'s active links (key, remote id, pushed userName).
async fn active_crm(store: &Store) -> Vec<(String, String, String)> {
    store
        .each_link("crm", |l| {
            let user = l.last_pushed.get("userName")?.as_str()?.to_string();
            (l.lifecycle == LinkLifecycle::Active).then_some((l.person_key, l.remote_id, user))
        })
        .await
        .unwrap()
}

fn expected() -> Vec<(String, String, String)> {
    ["E1", "E3"]
        .into_iter()
        .map(|k| {
            let user = format!("{k}@corp.example");
            (k.to_string(), format!("id-crm-{k}"), user)
        })
        .collect()
}

#[tokio::test]
async fn each_link_reads_one_app_in_key_order_from_a_file() {
    let (_dir, path) = state_file();
    let store = Store::open(&path).await.unwrap();
    seed(&store).await;
    assert_eq!(active_crm(&store).await, expected());
    let all = store.each_link("crm", Some).await.unwrap();
    assert_eq!(all, store.links(Some("crm")).await.unwrap());
    drop(store);
    let reader = Store::open_read_only(&path).await.unwrap();
    assert_eq!(active_crm(&reader).await, expected());
}

#[tokio::test]
async fn each_link_reads_an_in_memory_state() {
    let store = Store::open_in_memory().await.unwrap();
    seed(&store).await;
    assert_eq!(active_crm(&store).await, expected());
}

#[tokio::test]
async fn each_link_reads_an_older_file_through_its_migrated_copy() {
    let (_dir, path) = state_file();
    // Schema 2 stored what was pushed as an object keyed by path, without the path table.
    let conn = crate::util::file_at_schema(&path, 2);
    for (app, key, lifecycle) in [
        ("crm", "E3", "active"),
        ("hr", "E1", "active"),
        ("crm", "E1", "active"),
        ("crm", "E2", "inactive"),
    ] {
        conn.execute(
            "INSERT INTO links (app, person_key, remote_id, user_name, last_pushed, hash, \
             lifecycle, ownership, created_at, updated_at) VALUES (?1, ?2, 'id-' || ?1 || '-' \
             || ?2, ?2 || '@corp.example', json_object('userName', ?2 || '@corp.example'), \
             'h', ?3, 'created', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z')",
            [app, key, lifecycle],
        )
        .unwrap();
    }
    drop(conn);
    let reader = Store::open_read_only(&path).await.unwrap();
    assert_eq!(active_crm(&reader).await, expected());
}
