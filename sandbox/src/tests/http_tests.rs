//! The generic sandbox over real HTTP: resource lifecycle, uniqueness (also under parallel
//! POSTs), paging, filters, PATCH atomicity, the bearer token, persistence across restarts
//! and discovery.

use serde_json::{json, Value};

use super::{client, create_user, id_of, patch_body, sandbox, send, user_body};
use crate::{start, SandboxOptions};

#[tokio::test]
async fn user_lifecycle_post_get_put_patch_delete() {
    let sb = sandbox().await;
    let (c, base) = (client(), sb.base_url());
    let resp = c
        .post(format!("{base}/Users"))
        .json(&user_body("bjensen"))
        .send()
        .await;
    let resp = resp.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(resp.status().as_u16(), 201);
    let ctype = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    assert_eq!(ctype.as_deref(), Some("application/scim+json"));
    let location = resp
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let created: Value = resp.json().await.unwrap_or_default();
    let id = id_of(&created);
    assert_eq!(
        uuid::Uuid::parse_str(&id).map(|u| u.get_version_num()),
        Ok(4)
    );
    assert_eq!(location, Some(format!("{base}/Users/{id}")));
    assert_eq!(created["meta"]["resourceType"], "User");
    assert_eq!(created["meta"]["version"], "W/\"1\"");
    assert_eq!(created["active"], true, "active defaults to true");
    assert_eq!(
        created["schemas"],
        json!(["urn:ietf:params:scim:schemas:core:2.0:User"])
    );

    let (s, got) = send(c.get(format!("{base}/Users/{id}"))).await;
    assert_eq!((s, got["userName"].clone()), (200, json!("bjensen")));

    let mut replacement = user_body("bjensen");
    replacement["title"] = json!("Guide");
    replacement["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"] =
        json!({"department": "Tours"});
    let (s, put) = send(c.put(format!("{base}/Users/{id}")).json(&replacement)).await;
    assert_eq!(s, 200, "{put}");
    assert_eq!(put["title"], "Guide");
    assert_eq!(put["meta"]["version"], "W/\"2\"");
    assert_eq!(put["meta"]["created"], created["meta"]["created"]);
    assert!(put["schemas"].as_array().is_some_and(|a| a.len() == 2));

    let ops = patch_body(json!([{"op": "Replace", "path": "active", "value": "False"}]));
    let (s, patched) = send(c.patch(format!("{base}/Users/{id}")).json(&ops)).await;
    assert_eq!((s, patched["active"].clone()), (200, json!(false)));
    assert_eq!(
        patched["title"], "Guide",
        "PATCH answers with the whole resource"
    );

    let (s, _) = send(c.delete(format!("{base}/Users/{id}"))).await;
    assert_eq!(s, 204);
    let (s, err) = send(c.get(format!("{base}/Users/{id}"))).await;
    assert_eq!(s, 404);
    assert_eq!(
        err["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:Error"])
    );
    assert_eq!(err["status"], "404");
    let (s, _) = send(c.delete(format!("{base}/Users/{id}"))).await;
    assert_eq!(s, 404, "a deleted user stays gone");
    sb.shutdown().await;
}

#[tokio::test]
async fn duplicate_user_names_are_refused_case_insensitively() {
    let sb = sandbox().await;
    let (c, base) = (client(), sb.base_url());
    create_user(&c, &base, "Ann").await;
    let other = create_user(&c, &base, "bob").await;
    let (s, err) = send(c.post(format!("{base}/Users")).json(&user_body("ANN"))).await;
    assert_eq!((s, err["scimType"].clone()), (409, json!("uniqueness")));
    let (s, err) = send(
        c.put(format!("{base}/Users/{}", id_of(&other)))
            .json(&user_body("ann")),
    )
    .await;
    assert_eq!((s, err["scimType"].clone()), (409, json!("uniqueness")));
    let ops = patch_body(json!([{"op": "replace", "path": "userName", "value": "aNN"}]));
    let (s, _) = send(
        c.patch(format!("{base}/Users/{}", id_of(&other)))
            .json(&ops),
    )
    .await;
    assert_eq!(s, 409);
    assert_eq!(sb.users().await.len(), 2);
    sb.shutdown().await;
}

#[tokio::test]
async fn parallel_posts_of_one_user_name_create_exactly_one_account() {
    let sb = sandbox().await;
    let (c, base) = (client(), sb.base_url());
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let (c, base) = (c.clone(), base.clone());
            let name = if i % 2 == 0 {
                "Race@corp.example"
            } else {
                "race@CORP.example"
            };
            tokio::spawn(async move {
                send(c.post(format!("{base}/Users")).json(&user_body(name)))
                    .await
                    .0
            })
        })
        .collect();
    let mut codes = Vec::new();
    for t in tasks {
        codes.push(t.await.unwrap_or(0));
    }
    assert_eq!(codes.iter().filter(|&&s| s == 201).count(), 1, "{codes:?}");
    assert_eq!(codes.iter().filter(|&&s| s == 409).count(), 15, "{codes:?}");
    assert_eq!(sb.users().await.len(), 1);
    assert_eq!(sb.stats().users_created, 1);
    sb.shutdown().await;
}

#[tokio::test]
async fn paging_is_one_based_complete_and_stable() {
    let sb = sandbox().await;
    let (c, base) = (client(), sb.base_url());
    for i in 0..25 {
        create_user(&c, &base, &format!("user{i:02}")).await;
    }
    let mut seen = Vec::new();
    for start in [1, 11, 21] {
        let (s, page) = send(c.get(format!("{base}/Users?startIndex={start}&count=10"))).await;
        assert_eq!(s, 200);
        assert_eq!(
            page["schemas"],
            json!(["urn:ietf:params:scim:api:messages:2.0:ListResponse"])
        );
        assert_eq!(page["totalResults"], 25);
        assert_eq!(page["startIndex"], start);
        let items = page["Resources"].as_array().cloned().unwrap_or_default();
        assert_eq!(page["itemsPerPage"], items.len());
        seen.extend(
            items
                .iter()
                .filter_map(|u| u["userName"].as_str().map(str::to_string)),
        );
    }
    let want: Vec<String> = (0..25).map(|i| format!("user{i:02}")).collect();
    assert_eq!(
        seen, want,
        "pages in creation order, nothing missing or repeated"
    );
    let (_, zero) = send(c.get(format!("{base}/Users?startIndex=0&count=2"))).await;
    assert_eq!(zero["startIndex"], 1, "startIndex below 1 means 1");
    assert_eq!(zero["Resources"][0]["userName"], "user00");
    let (_, none) = send(c.get(format!("{base}/Users?count=0"))).await;
    assert_eq!(
        (none["totalResults"].clone(), none["itemsPerPage"].clone()),
        (json!(25), json!(0))
    );
    let (_, filtered) = send(c.get(format!(
        "{base}/Users?filter=userName%20sw%20%22user1%22&count=4&startIndex=3"
    )))
    .await;
    assert_eq!(filtered["totalResults"], 10);
    let names: Vec<&str> = filtered["Resources"]
        .as_array()
        .map(|a| a.iter().filter_map(|u| u["userName"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(names, vec!["user12", "user13", "user14", "user15"]);
    let (_, sorted) = send(c.get(format!(
        "{base}/Users?sortBy=userName&sortOrder=descending&count=1"
    )))
    .await;
    assert_eq!(sorted["Resources"][0]["userName"], "user24");
    let (s, bad) = send(c.get(format!("{base}/Users?count=ten"))).await;
    assert_eq!((s, bad["scimType"].clone()), (400, json!("invalidValue")));
    sb.shutdown().await;
}

#[tokio::test]
async fn filters_over_http_and_invalid_filters() {
    let sb = sandbox().await;
    let (c, base) = (client(), sb.base_url());
    let ann = create_user(&c, &base, "Ann.Lee").await;
    create_user(&c, &base, "bob").await;
    let q = |f: &str| c.get(format!("{base}/Users")).query(&[("filter", f)]);
    let (_, r) = send(q(r#"userName eq "ann.lee""#)).await;
    assert_eq!(
        (r["totalResults"].clone(), r["Resources"][0]["id"].clone()),
        (json!(1), ann["id"].clone())
    );
    let (_, r) = send(q(r#"externalId eq "ext-Ann.Lee""#)).await;
    assert_eq!(r["totalResults"], 1);
    let (_, r) = send(q(r#"externalId eq "EXT-ANN.LEE""#)).await;
    assert_eq!(r["totalResults"], 0, "externalId is case-exact");
    let (_, r) = send(q(
        r#"emails[type eq "work" and value ew "@corp.example"] and not (userName eq "bob")"#,
    ))
    .await;
    assert_eq!(r["totalResults"], 1);
    for bad in [
        r#"userName eq"#,
        r#"userName zz "x""#,
        r#"shoeSize eq "9""#,
        r#"userName eq "a" and"#,
    ] {
        let (s, e) = send(q(bad)).await;
        assert_eq!(
            (s, e["scimType"].clone()),
            (400, json!("invalidFilter")),
            "{bad}"
        );
    }
    let (s, r) = send(c.post(format!("{base}/Users/.search")).json(&json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": "userName eq \"BOB\"", "attributes": ["userName"], "startIndex": 1, "count": 5
    })))
    .await;
    assert_eq!((s, r["totalResults"].clone()), (200, json!(1)));
    assert_eq!(r["Resources"][0]["userName"], "bob");
    assert!(
        r["Resources"][0].get("emails").is_none(),
        "attributes narrows the answer"
    );
    assert!(
        r["Resources"][0].get("id").is_some(),
        "id is always returned"
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn a_failing_patch_operation_leaves_the_resource_untouched() {
    let sb = sandbox().await;
    let (c, base) = (client(), sb.base_url());
    let u = create_user(&c, &base, "atomic").await;
    let url = format!("{base}/Users/{}", id_of(&u));
    let ops = patch_body(json!([
        {"op": "replace", "path": "title", "value": "Changed"},
        {"op": "add", "path": "name.givenName", "value": "Also changed"},
        {"op": "replace", "path": "emails[type eq \"home\"].value", "value": "x@home.example"}
    ]));
    let (s, e) = send(c.patch(&url).json(&ops)).await;
    assert_eq!((s, e["scimType"].clone()), (400, json!("noTarget")));
    let (_, after) = send(c.get(&url)).await;
    assert!(after.get("title").is_none());
    assert_eq!(after["name"]["givenName"], "Given");
    assert_eq!(after["meta"]["version"], "W/\"1\"");
    let same = patch_body(json!([{"op": "replace", "path": "name.givenName", "value": "Given"}]));
    let (s, unchanged) = send(c.patch(&url).json(&same)).await;
    assert_eq!(
        (s, unchanged["meta"]["version"].clone()),
        (200, json!("W/\"1\"")),
        "a no-op PATCH keeps the version"
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn bearer_token_is_required_when_configured() {
    let sb = start(SandboxOptions {
        token: Some("s3cret-token".into()),
        ..SandboxOptions::default()
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let (c, base) = (client(), sb.base_url());
    for auth in [
        None,
        Some("Bearer wrong"),
        Some("Basic s3cret-token"),
        Some("Bearer s3cret-tokenX"),
    ] {
        let mut req = c.get(format!("{base}/Users"));
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let resp = req.send().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(resp.status().as_u16(), 401, "{auth:?}");
        let challenge = resp
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        assert!(challenge.is_some_and(|c| c.starts_with("Bearer")));
        let body: Value = resp.json().await.unwrap_or_default();
        assert_eq!(body["status"], "401");
    }
    let (s, _) = send(c.get(format!("{base}/Users")).bearer_auth("s3cret-token")).await;
    assert_eq!(s, 200);
    let opts = SandboxOptions {
        token: Some("s3cret-token".into()),
        ..SandboxOptions::default()
    };
    assert!(
        !format!("{opts:?}").contains("s3cret"),
        "the token never shows in Debug"
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn data_survives_a_restart_with_a_database_file() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let db = dir.path().join("sandbox.db");
    let opts = || SandboxOptions {
        db: Some(db.clone()),
        ..SandboxOptions::default()
    };
    let sb = start(opts()).await.unwrap_or_else(|e| panic!("{e}"));
    let c = client();
    let u = create_user(&c, &sb.base_url(), "keeper").await;
    let g = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "kept",
                   "members": [{"value": id_of(&u)}]});
    let (s, _) = send(c.post(format!("{}/Groups", sb.base_url())).json(&g)).await;
    assert_eq!(s, 201);
    sb.shutdown().await;

    let sb = start(opts()).await.unwrap_or_else(|e| panic!("{e}"));
    let base = sb.base_url();
    let (s, again) = send(c.get(format!("{base}/Users/{}", id_of(&u)))).await;
    assert_eq!((s, again["userName"].clone()), (200, json!("keeper")));
    assert_eq!(again["groups"][0]["display"], "kept");
    let (s, _) = send(c.post(format!("{base}/Users")).json(&user_body("KEEPER"))).await;
    assert_eq!(s, 409, "uniqueness holds against restored data");
    assert_eq!(sb.users().await.len(), 1);
    sb.shutdown().await;
}

#[tokio::test]
async fn discovery_documents_describe_the_server() {
    let sb = sandbox().await;
    let (c, base) = (client(), sb.base_url());
    let (s, spc) = send(c.get(format!("{base}/ServiceProviderConfig"))).await;
    assert_eq!(s, 200);
    assert_eq!(spc["patch"]["supported"], true);
    assert_eq!(spc["bulk"]["supported"], true);
    assert_eq!(spc["filter"]["maxResults"], 1000);
    assert_eq!(spc["etag"]["supported"], true);
    let (_, schemas) = send(c.get(format!("{base}/Schemas"))).await;
    let ids: Vec<&str> = schemas["Resources"]
        .as_array()
        .map(|a| a.iter().filter_map(|s| s["id"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(ids.len(), 3);
    assert!(ids.contains(&"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"));
    let (s, one) = send(c.get(format!(
        "{base}/Schemas/urn:ietf:params:scim:schemas:core:2.0:Group"
    )))
    .await;
    assert_eq!((s, one["name"].clone()), (200, json!("Group")));
    let (_, rts) = send(c.get(format!("{base}/ResourceTypes"))).await;
    assert_eq!(rts["totalResults"], 2);
    let (_, user_rt) = send(c.get(format!("{base}/ResourceTypes/User"))).await;
    assert_eq!(user_rt["endpoint"], "/Users");
    let (s, _) = send(c.get(format!("{base}/Nope"))).await;
    assert_eq!(s, 404);
    sb.shutdown().await;
}
