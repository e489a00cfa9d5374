//! What a link pushed survives the compact storage (migration 0003_link_paths): a state
//! file written with the object form is converted on open and reads back the same, and
//! links written afterwards keep every kind of value.

use std::collections::BTreeMap;

use hrsync_state::rusqlite::Connection;
use hrsync_state::{LinkChange, Store};
use serde_json::{json, Value};

use crate::util::{link, state_file};

/// Values of every JSON kind, under paths as long as real ones.
fn pushed() -> BTreeMap<String, Value> {
    [
        ("userName", json!("Ann@corp.example")),
        ("active", json!(true)),
        ("x-flag", json!(false)),
        ("nickName", Value::Null),
        ("x-count", json!(42)),
        ("x-ratio", json!(1.5)),
        (
            "emails",
            json!([{"type": "work", "value": "ann@corp.example", "primary": true}]),
        ),
        (
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
            json!({"value": "id-7"}),
        ),
        ("displayName", json!("Ann \"A\" O'Neil ✓")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// Rewinds a state file to schema 2 with one link in the object form, as hrsync wrote it
/// before the compact storage: the table the migration adds is dropped again.
fn rewind_to_schema_2(path: &std::path::Path, object: &str) {
    let conn = Connection::open(path).unwrap();
    conn.execute_batch(crate::util::BACK_TO_SCHEMA_2).unwrap();
    conn.execute("UPDATE links SET last_pushed = ?1", [object])
        .unwrap();
}

#[tokio::test]
async fn an_older_state_file_is_converted_and_reads_back_the_same() {
    let (_dir, path) = state_file();
    let store = Store::open(&path).await.unwrap();
    let mut l = link("crm", "E1", "id-1");
    l.last_pushed = pushed();
    store
        .record_outcome(crate::util::outcome(
            "crm",
            "E1",
            hrsync_state::AuditOp::Create,
            LinkChange::Upsert(l.clone()),
        ))
        .await
        .unwrap();
    drop(store);
    rewind_to_schema_2(&path, &serde_json::to_string(&pushed()).unwrap());

    let store = Store::open(&path).await.unwrap();
    let got = store.link("crm", "E1").await.unwrap().unwrap();
    assert_eq!(got.last_pushed, pushed());
    drop(store);

    let conn = Connection::open(&path).unwrap();
    let stored: String = conn
        .query_row("SELECT last_pushed FROM links", [], |r| r.get(0))
        .unwrap();
    assert!(
        stored.starts_with('[') && !stored.contains("enterprise"),
        "the row holds path ids, not path names: {stored}"
    );
}

#[tokio::test]
async fn links_written_in_the_compact_form_read_back_every_kind_of_value() {
    let (_dir, path) = state_file();
    let store = Store::open(&path).await.unwrap();
    for (i, app) in ["crm", "wiki"].into_iter().enumerate() {
        let mut l = link(app, "E1", &format!("id-{i}"));
        l.last_pushed = pushed();
        store
            .record_outcome(crate::util::outcome(
                app,
                "E1",
                hrsync_state::AuditOp::Create,
                LinkChange::Upsert(l),
            ))
            .await
            .unwrap();
    }
    let links = store.links(None).await.unwrap();
    assert_eq!(links.len(), 2);
    assert!(links.iter().all(|l| l.last_pushed == pushed()));
    let by_id = store
        .link_by_remote_id("wiki", "id-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_id.last_pushed, pushed());
    drop(store);
    let paths: i64 = Connection::open(&path)
        .unwrap()
        .query_row("SELECT COUNT(*) FROM link_paths", [], |r| r.get(0))
        .unwrap();
    assert_eq!(paths, pushed().len() as i64, "each path is stored once");
}
