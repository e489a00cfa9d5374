//! Bulk and ETags over HTTP: Bulk with bulkId references and limits, `If-Match` /
//! `If-None-Match`.

use serde_json::{json, Value};

use super::{client, create_user, id_of, patch_body, sandbox, send};

#[tokio::test]
async fn bulk_resolves_bulk_ids_and_honours_fail_on_errors() {
    let sb = sandbox().await;
    let (c, base) = (client(), sb.base_url());
    let req = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [
            // Refers to a user created later in the same request.
            {"method": "POST", "path": "/Groups", "bulkId": "g1",
             "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "bulk",
                      "members": [{"value": "bulkId:u1"}]}},
            {"method": "POST", "path": "/Users", "bulkId": "u1",
             "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "bulk1"}},
            {"method": "PATCH", "path": "/Users/bulkId:u1",
             "data": {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                      "Operations": [{"op": "add", "path": "title", "value": "Bulky"}]}},
            {"method": "POST", "path": "/Users", "bulkId": "dup",
             "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "BULK1"}}
        ]
    });
    let (s, resp) = send(c.post(format!("{base}/Bulk")).json(&req)).await;
    assert_eq!(s, 200, "{resp}");
    assert_eq!(
        resp["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:BulkResponse"])
    );
    let statuses: Vec<&str> = resp["Operations"]
        .as_array()
        .map(|a| a.iter().filter_map(|o| o["status"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(statuses, vec!["201", "201", "200", "409"]);
    assert_eq!(resp["Operations"][3]["response"]["scimType"], "uniqueness");
    let users = sb.users().await;
    assert_eq!(users.len(), 1);
    assert_eq!(users[0]["title"], "Bulky");
    assert_eq!(users[0]["groups"][0]["display"], "bulk");

    let stop = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "failOnErrors": 1,
        "Operations": [
            {"method": "DELETE", "path": "/Users/missing"},
            {"method": "POST", "path": "/Users", "bulkId": "n",
             "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "never"}}
        ]
    });
    let (_, resp) = send(c.post(format!("{base}/Bulk")).json(&stop)).await;
    assert_eq!(
        resp["Operations"].as_array().map(Vec::len),
        Some(1),
        "processing stops at the first error"
    );
    assert_eq!(sb.users().await.len(), 1);

    let many: Vec<Value> = (0..1001)
        .map(|i| json!({"method": "DELETE", "path": format!("/Users/{i}")}))
        .collect();
    let too_many = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": many});
    let (s, _) = send(c.post(format!("{base}/Bulk")).json(&too_many)).await;
    assert_eq!(s, 413);
    sb.shutdown().await;
}

#[tokio::test]
async fn etags_guard_writes_and_save_reads() {
    let sb = sandbox().await;
    let (c, base) = (client(), sb.base_url());
    let u = create_user(&c, &base, "etag").await;
    let url = format!("{base}/Users/{}", id_of(&u));
    let resp = c.get(&url).send().await.unwrap_or_else(|e| panic!("{e}"));
    let etag = resp
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .unwrap_or_default();
    assert_eq!(etag, "W/\"1\"");
    let (s, _) = send(c.get(&url).header("if-none-match", &etag)).await;
    assert_eq!(s, 304);
    let ops = patch_body(json!([{"op": "add", "path": "title", "value": "v2"}]));
    let (s, _) = send(c.patch(&url).header("if-match", &etag).json(&ops)).await;
    assert_eq!(s, 200);
    let ops = patch_body(json!([{"op": "add", "path": "title", "value": "v3"}]));
    let (s, _) = send(c.patch(&url).header("if-match", &etag).json(&ops)).await;
    assert_eq!(s, 412, "a stale If-Match is refused");
    let (s, _) = send(c.delete(&url).header("if-match", "W/\"2\"")).await;
    assert_eq!(s, 204);
    sb.shutdown().await;
}
