//! What a link pushed survives the compact storage (packed, paths kept once in `names`): a
//! state file written with the object form of schema 2 is converted on open and reads back
//! the same, and links written afterwards keep every kind of value.

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

/// A schema-2 state file holding one link of `crm` whose pushed attributes are `object`
/// (the form hrsync wrote before link paths were kept apart).
fn schema_2_file(path: &std::path::Path, object: &str) {
    let conn = crate::util::file_at_schema(path, 2);
    conn.execute(
        "INSERT INTO links (app, person_key, remote_id, user_name, last_pushed, hash, \
         lifecycle, ownership, deactivated_at, created_at, updated_at) VALUES ('crm', 'E1', \
         'id-1', 'E1@corp.example', ?1, 'hash-E1', 'active', 'created', NULL, \
         '2026-01-02T03:04:05.678Z', '2026-01-02T03:04:05.678Z')",
        [object],
    )
    .unwrap();
}

#[tokio::test]
async fn an_older_state_file_is_converted_and_reads_back_the_same() {
    let (_dir, path) = state_file();
    schema_2_file(&path, &serde_json::to_string(&pushed()).unwrap());

    let store = Store::open(&path).await.unwrap();
    let got = store.link("crm", "E1").await.unwrap().unwrap();
    assert_eq!(got.last_pushed, pushed());
    assert_eq!(got.hash, "hash-E1");
    drop(store);

    let conn = Connection::open(&path).unwrap();
    let stored: Vec<u8> = conn
        .query_row("SELECT last_pushed FROM links", [], |r| r.get(0))
        .unwrap();
    assert!(
        !stored.windows(10).any(|w| w == b"enterprise"),
        "the row holds name ids, not path names: {stored:?}"
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
    let conn = Connection::open(&path).unwrap();
    for path in pushed().keys() {
        let n: i64 = conn
            .query_row("SELECT COUNT(*) FROM names WHERE name = ?1", [path], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(n, 1, "{path} is stored once");
    }
}
