//! App profiles over HTTP: each one's documented quirks, as a client meets them.

use serde_json::{json, Value};

use super::{client, create_user, id_of, patch_body, sandbox_with, send, user_body};
use crate::{start, Faults, SandboxOptions};

#[tokio::test]
async fn slack_deactivates_on_delete_and_polices_user_names() {
    let sb = sandbox_with("slack", Faults::default()).await;
    let (c, base) = (client(), sb.base_url());
    let u = create_user(&c, &base, "Ann Lee!").await;
    assert_eq!(
        u["userName"], "ann_lee_",
        "Slack rewrites characters it does not allow"
    );
    let (s, e) = send(
        c.post(format!("{base}/Users"))
            .json(&user_body("a-name-longer-than-21-chars")),
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(e["status"], 400, "Slack sends the status as a number");
    let mut no_mail = user_body("nomail");
    no_mail.as_object_mut().map(|o| o.remove("emails"));
    let (s, _) = send(c.post(format!("{base}/Users")).json(&no_mail)).await;
    assert_eq!(s, 400);
    let (s, _) = send(c.delete(format!("{base}/Users/{}", id_of(&u)))).await;
    assert_eq!(s, 204);
    let (s, after) = send(c.get(format!("{base}/Users/{}", id_of(&u)))).await;
    assert_eq!(
        (s, after["active"].clone()),
        (200, json!(false)),
        "DELETE only deactivates"
    );
    let (s, e) = send(
        c.get(format!("{base}/Users"))
            .query(&[("filter", "externalId eq \"x\"")]),
    )
    .await;
    assert_eq!((s, e["scimType"].clone()), (400, json!("invalidFilter")));
    let (s, _) = send(
        c.get(format!("{base}/Users"))
            .query(&[("filter", "userName eq \"ann_lee_\"")]),
    )
    .await;
    assert_eq!(s, 200);
    sb.shutdown().await;
}

#[tokio::test]
async fn slack_allows_one_write_per_object_at_a_time() {
    let faults = Faults {
        latency_ms: 400,
        ..Faults::default()
    };
    let sb = sandbox_with("slack", faults).await;
    let (c, base) = (client(), sb.base_url());
    let u = create_user(&c, &base, "busy").await;
    let url = format!("{base}/Users/{}", id_of(&u));
    let ops = patch_body(json!([{"op": "replace", "path": "title", "value": "x"}]));
    let (a, b) = tokio::join!(
        send(c.patch(&url).json(&ops)),
        send(c.patch(&url).json(&ops))
    );
    let mut codes = [a.0, b.0];
    codes.sort_unstable();
    assert_eq!(codes, [200, 429]);
    assert_eq!(sb.stats().throttled, 1);
    sb.shutdown().await;
}

#[tokio::test]
async fn slack_write_rate_limit_answers_429_with_retry_after() {
    let sb = sandbox_with("slack", Faults::default()).await;
    let (c, base) = (client(), sb.base_url());
    let mut retry_after = None;
    for i in 0..25 {
        let resp = c
            .post(format!("{base}/Users"))
            .json(&user_body(&format!("u{i}")))
            .send()
            .await;
        let resp = resp.unwrap_or_else(|e| panic!("{e}"));
        if resp.status().as_u16() == 429 {
            retry_after = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            break;
        }
    }
    assert!(retry_after.is_some_and(|r| r.parse::<u64>().is_ok_and(|s| s >= 1)));
    assert!(sb.stats().throttled >= 1);
    assert!(sb.users().await.len() >= 20, "the burst of 20 goes through");
    sb.shutdown().await;
}

#[tokio::test]
async fn github_needs_a_user_agent_filters_singly_and_deletes_for_good() {
    let sb = sandbox_with("github", Faults::default()).await;
    let (c, base) = (client(), sb.base_url());
    let bare = reqwest::Client::new();
    let (s, _) = send(bare.get(format!("{base}/Users"))).await;
    assert_eq!(s, 403);
    let u = create_user(&c, &base, "octo").await;
    let (_, r) = send(
        c.get(format!("{base}/Users"))
            .query(&[("filter", "externalId eq 'ext-octo'")]),
    )
    .await;
    assert_eq!(
        r["totalResults"], 1,
        "single quotes as in GitHub's examples"
    );
    for bad in [
        "userName eq \"octo\" and externalId eq \"ext-octo\"",
        "userName co \"oc\"",
        "title eq \"x\"",
    ] {
        let (s, e) = send(c.get(format!("{base}/Users")).query(&[("filter", bad)])).await;
        assert_eq!(
            (s, e["scimType"].clone()),
            (400, json!("invalidFilter")),
            "{bad}"
        );
    }
    let (s, _) = send(c.delete(format!("{base}/Users/{}", id_of(&u)))).await;
    assert_eq!(s, 204);
    let (s, _) = send(c.get(format!("{base}/Users/{}", id_of(&u)))).await;
    assert_eq!(s, 404);
    sb.shutdown().await;
}

#[tokio::test]
async fn aws_pages_by_cursor_and_enforces_its_limits() {
    let sb = sandbox_with("aws_identity_center", Faults::default()).await;
    let (c, base) = (client(), sb.base_url());
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(id_of(&create_user(&c, &base, &format!("aws{i}")).await));
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..5 {
        let mut req = c
            .get(format!("{base}/Users"))
            .query(&[("count", "2"), ("startIndex", "3")]);
        if let Some(cur) = &cursor {
            req = req.query(&[("cursor", cur.as_str())]);
        }
        let (_, page) = send(req).await;
        seen.extend(
            page["Resources"]
                .as_array()
                .into_iter()
                .flatten()
                .map(id_of),
        );
        cursor = page["nextCursor"].as_str().map(str::to_string);
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(
        seen, ids,
        "cursor paging visits every user once; startIndex is ignored"
    );

    let mut two_mails = user_body("twomail");
    two_mails["emails"] =
        json!([{"value": "a@x.example", "primary": true}, {"value": "b@x.example"}]);
    let (s, _) = send(c.post(format!("{base}/Users")).json(&two_mails)).await;
    assert_eq!(s, 400, "one value per multi-valued attribute");
    let mut no_name = user_body("noname");
    no_name.as_object_mut().map(|o| o.remove("name"));
    let (s, _) = send(c.post(format!("{base}/Users")).json(&no_name)).await;
    assert_eq!(s, 400);
    let (s, _) = send(
        c.get(format!("{base}/Users"))
            .query(&[("filter", "userName eq \"aws1\" or userName eq \"aws2\"")]),
    )
    .await;
    assert_eq!(s, 400);

    let g = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "g",
                   "members": [{"value": ids[0]}]});
    let (s, g) = send(c.post(format!("{base}/Groups")).json(&g)).await;
    assert_eq!(s, 201);
    let (_, fetched) = send(c.get(format!("{base}/Groups/{}", id_of(&g)))).await;
    assert_eq!(
        fetched["members"],
        json!([]),
        "AWS reads groups back without members"
    );
    let many: Vec<Value> = (0..101)
        .map(|i| json!({"value": format!("u{i}")}))
        .collect();
    let ops = patch_body(json!([{"op": "add", "path": "members", "value": many}]));
    let (s, e) = send(c.patch(format!("{base}/Groups/{}", id_of(&g))).json(&ops)).await;
    assert_eq!(s, 400, "{e}");
    let (s, _) = send(c.post(format!("{base}/Bulk")).json(&json!({}))).await;
    assert_eq!(s, 501);
    sb.shutdown().await;
}

#[tokio::test]
async fn google_requires_a_user_name_filter_to_list() {
    let sb = sandbox_with("google", Faults::default()).await;
    let (c, base) = (client(), sb.base_url());
    create_user(&c, &base, "g1").await;
    let (s, e) = send(c.get(format!("{base}/Users"))).await;
    assert_eq!((s, e["scimType"].clone()), (400, json!("tooMany")));
    let (s, r) = send(
        c.get(format!("{base}/Users"))
            .query(&[("filter", "userName eq \"G1\"")]),
    )
    .await;
    assert_eq!((s, r["totalResults"].clone()), (200, json!(1)));
    let (s, _) = send(
        c.get(format!("{base}/Users"))
            .query(&[("filter", "externalId eq \"ext-g1\"")]),
    )
    .await;
    assert_eq!(s, 400);
    sb.shutdown().await;
}

#[tokio::test]
async fn salesforce_config_is_plural_and_delete_deactivates() {
    let sb = sandbox_with("salesforce", Faults::default()).await;
    let (c, base) = (client(), sb.base_url());
    let (s, _) = send(c.get(format!("{base}/ServiceProviderConfig"))).await;
    assert_eq!(s, 404);
    let (s, spc) = send(c.get(format!("{base}/ServiceProviderConfigs"))).await;
    assert_eq!((s, spc["patch"]["supported"].clone()), (200, json!(true)));
    let u = create_user(&c, &base, "sf").await;
    let (s, _) = send(c.delete(format!("{base}/Users/{}", id_of(&u)))).await;
    assert_eq!(s, 204);
    let (_, after) = send(c.get(format!("{base}/Users/{}", id_of(&u)))).await;
    assert_eq!(after["active"], false);
    sb.shutdown().await;
}

#[tokio::test]
async fn atlassian_zoom_and_unknown_profiles() {
    let sb = sandbox_with("atlassian", Faults::default()).await;
    let (c, base) = (client(), sb.base_url());
    let u = create_user(&c, &base, "atl").await;
    let url = format!("{base}/Users/{}", id_of(&u));
    let no_primary = patch_body(
        json!([{"op": "replace", "path": "emails", "value": [{"value": "n@x.example", "type": "work"}]}]),
    );
    let (s, e) = send(c.patch(&url).json(&no_primary)).await;
    assert_eq!((s, e["status"].clone()), (400, json!("400")));
    let with_primary = patch_body(
        json!([{"op": "replace", "path": "emails", "value": [{"value": "n@x.example", "primary": true}]}]),
    );
    let (s, _) = send(c.patch(&url).json(&with_primary)).await;
    assert_eq!(s, 200);
    let (_, page) = send(c.get(format!("{base}/Users?count=500"))).await;
    assert_eq!(page["itemsPerPage"], 1);
    sb.shutdown().await;

    let sb = sandbox_with("zoom", Faults::default()).await;
    let (s, _) = send(
        client()
            .get(format!("{}/Users", sb.base_url()))
            .header("accept", "text/html"),
    )
    .await;
    assert_eq!(s, 406);
    let (s, _) = send(
        client()
            .get(format!("{}/Users", sb.base_url()))
            .header("accept", "application/scim+json"),
    )
    .await;
    assert_eq!(s, 200);
    sb.shutdown().await;

    let err = start(SandboxOptions {
        profile: "myspace".into(),
        ..SandboxOptions::default()
    })
    .await;
    assert!(err.is_err_and(|e| e.to_string().contains("unknown sandbox profile")));
}

#[test]
fn every_client_profile_can_be_rehearsed() {
    for name in crate::imitation::NAMES {
        let p = crate::imitation::by_name(name)
            .unwrap_or_else(|| panic!("no sandbox profile for {name}"));
        assert_eq!(
            p.name, *name,
            "sandbox profile {name} answers to its own name"
        );
    }
    assert!(crate::imitation::by_name("no-such-app").is_none());
}
