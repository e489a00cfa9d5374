//! Storage: the email index answers lookups by any email, and a database file from before
//! the index existed is upgraded in place without losing anyone.

use serde_json::json;

use super::{client, create_user, id_of, send};
use crate::{start, SandboxOptions};

#[tokio::test]
async fn users_are_found_by_any_of_their_emails() {
    let sb = start(SandboxOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (c, base) = (client(), sb.base_url());
    let ann = create_user(&c, &base, "ann").await;
    let bob = create_user(&c, &base, "bob").await;
    let ops = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                     "Operations": [{"op": "add", "path": "emails",
                                     "value": [{"value": "Bob.Alias@Corp.Example", "type": "other"}]}]});
    let (s, _) = send(c.patch(format!("{base}/Users/{}", id_of(&bob))).json(&ops)).await;
    assert_eq!(s, 200);
    let find = |f: &'static str| send(c.get(format!("{base}/Users")).query(&[("filter", f)]));
    let (_, r) = find(r#"emails.value eq "ANN@corp.example""#).await;
    assert_eq!(
        (r["totalResults"].clone(), r["Resources"][0]["id"].clone()),
        (json!(1), ann["id"].clone())
    );
    let (_, r) = find(r#"emails[value eq "bob.alias@corp.example"]"#).await;
    assert_eq!(
        (r["totalResults"].clone(), r["Resources"][0]["id"].clone()),
        (json!(1), bob["id"].clone())
    );
    let (_, r) = find(r#"emails.value eq "corp.example""#).await;
    assert_eq!(
        r["totalResults"], 0,
        "a part of an address is not an address"
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn a_database_without_the_email_index_is_upgraded() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("old.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap_or_else(|e| panic!("{e}"));
        conn.execute_batch(
            "CREATE TABLE resources (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
               kind TEXT NOT NULL, name TEXT NOT NULL, name_lc TEXT NOT NULL, external_id TEXT,
               version INTEGER NOT NULL, created TEXT NOT NULL, modified TEXT NOT NULL, body TEXT NOT NULL);
             INSERT INTO resources (id, kind, name, name_lc, external_id, version, created, modified, body)
             VALUES ('u-1', 'User', 'old', 'old', 'E1', 1, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z',
               '{\"userName\":\"old\",\"active\":true,\"emails\":[{\"value\":\"Old@Corp.Example\"}]}');",
        )
        .unwrap_or_else(|e| panic!("{e}"));
    }
    let sb = start(SandboxOptions {
        db: Some(path),
        ..SandboxOptions::default()
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let c = client();
    let filter = [("filter", r#"emails.value eq "old@corp.example""#)];
    let (s, r) = send(c.get(format!("{}/Users", sb.base_url())).query(&filter)).await;
    assert_eq!((s, r["Resources"][0]["id"].clone()), (200, json!("u-1")));
    assert_eq!(sb.users().await.len(), 1);
    sb.shutdown().await;
}
