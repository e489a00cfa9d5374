//! Groups over HTTP: POST, PUT, PATCH of members (filter path and value list) and DELETE,
//! membership bookkeeping on the users' side, displayName filters and member projection.

use serde_json::{json, Value};

use super::{client, create_user, id_of, patch_body, sandbox, send};

fn group_body(name: &str, members: &[&str]) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": name,
        "members": members.iter().map(|m| json!({"value": m})).collect::<Vec<_>>(),
    })
}

#[tokio::test]
async fn group_membership_is_kept_in_step_with_users() {
    let sb = sandbox().await;
    let (c, base) = (client(), sb.base_url());
    let a = id_of(&create_user(&c, &base, "ann").await);
    let b = id_of(&create_user(&c, &base, "bob").await);
    let (s, g) = send(
        c.post(format!("{base}/Groups"))
            .json(&group_body("eng", &[&a, &b])),
    )
    .await;
    assert_eq!(s, 201, "{g}");
    let gid = id_of(&g);
    assert_eq!(g["members"][0]["type"], "User");
    assert_eq!(g["members"][0]["$ref"], format!("{base}/Users/{a}"));
    let (_, ann) = send(c.get(format!("{base}/Users/{a}"))).await;
    assert_eq!(
        ann["groups"],
        json!([{"value": gid, "$ref": format!("{base}/Groups/{gid}"), "display": "eng", "type": "direct"}])
    );

    let (_, slim) = send(c.get(format!("{base}/Groups/{gid}?excludedAttributes=members"))).await;
    assert!(slim.get("members").is_none() && slim["displayName"] == "eng");
    let (_, listed) = send(c.get(format!(
        "{base}/Groups?filter=displayName%20eq%20%22ENG%22&excludedAttributes=members"
    )))
    .await;
    assert_eq!(listed["totalResults"], 1);
    assert!(listed["Resources"][0].get("members").is_none());
    let (_, only) = send(c.get(format!("{base}/Groups/{gid}?attributes=members.value"))).await;
    assert_eq!(only["members"], json!([{"value": a}, {"value": b}]));

    let ops = patch_body(json!([{"op": "Remove", "path": "members", "value": [{"value": a}]}]));
    let (s, after) = send(c.patch(format!("{base}/Groups/{gid}")).json(&ops)).await;
    assert_eq!(
        (s, after["members"].as_array().map(Vec::len)),
        (200, Some(1))
    );
    let (_, ann) = send(c.get(format!("{base}/Users/{a}"))).await;
    assert!(
        ann.get("groups").is_none(),
        "membership index follows the PATCH"
    );

    let (s, _) = send(c.delete(format!("{base}/Users/{b}"))).await;
    assert_eq!(s, 204);
    let (_, g) = send(c.get(format!("{base}/Groups/{gid}"))).await;
    assert!(
        g.get("members").is_none(),
        "a deleted user leaves its groups: {g}"
    );
    assert_eq!(g["meta"]["version"], "W/\"3\"");

    let (s, e) = send(
        c.post(format!("{base}/Groups"))
            .json(&group_body("ghosts", &["no-such-id"])),
    )
    .await;
    assert_eq!((s, e["scimType"].clone()), (400, json!("invalidValue")));
    let (s, e) = send(
        c.post(format!("{base}/Groups"))
            .json(&group_body("ENG", &[])),
    )
    .await;
    assert_eq!((s, e["scimType"].clone()), (409, json!("uniqueness")));
    sb.shutdown().await;
}

/// The member ids of a group as served, in order.
fn member_ids(g: &Value) -> Vec<String> {
    g["members"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|m| m["value"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The display names of the groups a user is in, as the user resource shows them.
async fn groups_of_user(c: &reqwest::Client, base: &str, id: &str) -> Vec<String> {
    let (s, u) = send(c.get(format!("{base}/Users/{id}"))).await;
    assert_eq!(s, 200, "{u}");
    u["groups"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|g| g["display"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn put_replaces_a_groups_name_and_members_and_refuses_unknown_members() {
    let sb = sandbox().await;
    let (c, base) = (client(), sb.base_url());
    let a = id_of(&create_user(&c, &base, "ann").await);
    let b = id_of(&create_user(&c, &base, "bob").await);
    let d = id_of(&create_user(&c, &base, "dan").await);
    let (s, g) = send(
        c.post(format!("{base}/Groups"))
            .json(&group_body("eng", &[&a, &b])),
    )
    .await;
    assert_eq!(s, 201, "{g}");
    let url = format!("{base}/Groups/{}", id_of(&g));
    let (s, _) = send(
        c.post(format!("{base}/Groups"))
            .json(&group_body("ops", &[])),
    )
    .await;
    assert_eq!(s, 201);

    // PUT replaces the whole group: the new name, exactly the new members.
    let (s, put) = send(c.put(&url).json(&group_body("engineering", &[&b, &d]))).await;
    assert_eq!(s, 200, "{put}");
    assert_eq!(put["displayName"], "engineering");
    assert_eq!(member_ids(&put), vec![b.clone(), d.clone()]);
    assert_eq!(put["meta"]["version"], "W/\"2\"");
    assert_eq!(put["meta"]["created"], g["meta"]["created"]);
    let (_, got) = send(c.get(&url)).await;
    assert_eq!(got, put, "GET serves what PUT answered");
    assert!(groups_of_user(&c, &base, &a).await.is_empty(), "ann left");
    assert_eq!(groups_of_user(&c, &base, &b).await, vec!["engineering"]);
    assert_eq!(groups_of_user(&c, &base, &d).await, vec!["engineering"]);

    // A member that does not exist: 400 invalidValue (RFC 7644 §3.12), nothing changes.
    let (s, e) = send(
        c.put(&url)
            .json(&group_body("renamed", &[&a, "no-such-user"])),
    )
    .await;
    assert_eq!(
        (s, e["scimType"].clone()),
        (400, json!("invalidValue")),
        "{e}"
    );
    assert!(
        e["detail"]
            .as_str()
            .is_some_and(|d| d.contains("no-such-user")),
        "{e}"
    );
    let (_, still) = send(c.get(&url)).await;
    assert_eq!(still, put, "a refused PUT changes nothing");
    assert!(groups_of_user(&c, &base, &a).await.is_empty());

    // A member without a value cannot be resolved: refused, not silently dropped.
    let mut nameless = group_body("engineering", &[&b]);
    nameless["members"]
        .as_array_mut()
        .expect("members")
        .push(json!({"display": "someone"}));
    let (s, e) = send(c.put(&url).json(&nameless)).await;
    assert_eq!(
        (s, e["scimType"].clone()),
        (400, json!("invalidValue")),
        "{e}"
    );

    // displayName is required and unique among groups, case-insensitively.
    let mut unnamed = group_body("x", &[&b]);
    unnamed
        .as_object_mut()
        .expect("object")
        .remove("displayName");
    let (s, e) = send(c.put(&url).json(&unnamed)).await;
    assert_eq!(
        (s, e["scimType"].clone()),
        (400, json!("invalidValue")),
        "{e}"
    );
    let (s, e) = send(c.put(&url).json(&group_body("OPS", &[&b]))).await;
    assert_eq!(
        (s, e["scimType"].clone()),
        (409, json!("uniqueness")),
        "{e}"
    );
    let (_, still) = send(c.get(&url)).await;
    assert_eq!(still, put);

    // An empty member list empties the group; a PUT to a missing group is 404.
    let (s, empty) = send(c.put(&url).json(&group_body("engineering", &[]))).await;
    assert_eq!(s, 200, "{empty}");
    assert!(member_ids(&empty).is_empty(), "{empty}");
    assert!(groups_of_user(&c, &base, &b).await.is_empty());
    let (s, e) = send(
        c.put(format!("{base}/Groups/no-such-group"))
            .json(&group_body("x", &[])),
    )
    .await;
    assert_eq!(s, 404, "{e}");
    sb.shutdown().await;
}

#[tokio::test]
async fn delete_of_a_group_is_204_then_404_and_leaves_its_members() {
    let sb = sandbox().await;
    let (c, base) = (client(), sb.base_url());
    let a = id_of(&create_user(&c, &base, "ann").await);
    let (_, g) = send(
        c.post(format!("{base}/Groups"))
            .json(&group_body("eng", &[&a])),
    )
    .await;
    let url = format!("{base}/Groups/{}", id_of(&g));
    assert_eq!(groups_of_user(&c, &base, &a).await, vec!["eng"]);

    let resp = c
        .delete(&url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(resp.status().as_u16(), 204);
    assert!(
        resp.bytes().await.unwrap_or_default().is_empty(),
        "204 has no body"
    );
    let (s, e) = send(c.get(&url)).await;
    assert_eq!(s, 404);
    assert_eq!(
        e["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:Error"])
    );
    let (s, _) = send(c.delete(&url)).await;
    assert_eq!(s, 404, "a deleted group stays gone");
    let (_, list) = send(c.get(format!("{base}/Groups"))).await;
    assert_eq!(list["totalResults"], 0, "{list}");

    // The member is untouched, only no longer in the group; the name is free again.
    assert_eq!(sb.users().await.len(), 1);
    assert!(groups_of_user(&c, &base, &a).await.is_empty());
    let (s, _) = send(
        c.post(format!("{base}/Groups"))
            .json(&group_body("ENG", &[&a])),
    )
    .await;
    assert_eq!(s, 201);
    sb.shutdown().await;
}

#[tokio::test]
async fn patch_adds_and_removes_members_by_filter_path_and_by_value_list() {
    let sb = sandbox().await;
    let (c, base) = (client(), sb.base_url());
    let a = id_of(&create_user(&c, &base, "ann").await);
    let b = id_of(&create_user(&c, &base, "bob").await);
    let d = id_of(&create_user(&c, &base, "dan").await);
    let (_, g) = send(
        c.post(format!("{base}/Groups"))
            .json(&group_body("ops", &[])),
    )
    .await;
    let url = format!("{base}/Groups/{}", id_of(&g));
    let patch = |ops: Value| {
        let (c, url) = (c.clone(), url.clone());
        async move { send(c.patch(&url).json(&patch_body(ops))).await }
    };

    // add with a value list; adding a member twice keeps one.
    let (s, r) = patch(json!([{"op": "add", "path": "members",
                               "value": [{"value": a}, {"value": b}]}]))
    .await;
    assert_eq!(
        (s, member_ids(&r)),
        (200, vec![a.clone(), b.clone()]),
        "{r}"
    );
    let (s, r) = patch(json!([{"op": "add", "path": "members", "value": [{"value": a}]}])).await;
    assert_eq!(
        (s, member_ids(&r)),
        (200, vec![a.clone(), b.clone()]),
        "{r}"
    );

    // remove by the filter path form.
    let path = format!("members[value eq \"{a}\"]");
    let (s, r) = patch(json!([{"op": "remove", "path": path}])).await;
    assert_eq!((s, member_ids(&r)), (200, vec![b.clone()]), "{r}");
    assert!(groups_of_user(&c, &base, &a).await.is_empty());
    assert_eq!(groups_of_user(&c, &base, &b).await, vec!["ops"]);

    // add without a path (value is an object of attributes).
    let (s, r) = patch(json!([{"op": "add", "value": {"members": [{"value": d}]}}])).await;
    assert_eq!(
        (s, member_ids(&r)),
        (200, vec![b.clone(), d.clone()]),
        "{r}"
    );

    // remove with a value list (no filter), as Entra sends it.
    let (s, r) = patch(json!([{"op": "remove", "path": "members",
                               "value": [{"value": b}, {"value": d}]}]))
    .await;
    assert_eq!(s, 200, "{r}");
    assert!(
        r.get("members").is_none(),
        "the last member gone: unassigned: {r}"
    );
    assert!(groups_of_user(&c, &base, &d).await.is_empty());

    // An unknown member refuses the whole request: nothing of it is applied.
    let (s, e) = patch(json!([
        {"op": "add", "path": "members", "value": [{"value": a}]},
        {"op": "add", "path": "members", "value": [{"value": "no-such-user"}]}
    ]))
    .await;
    assert_eq!(
        (s, e["scimType"].clone()),
        (400, json!("invalidValue")),
        "{e}"
    );
    let (_, now) = send(c.get(&url)).await;
    assert!(member_ids(&now).is_empty(), "PATCH is atomic: {now}");
    assert!(groups_of_user(&c, &base, &a).await.is_empty());

    // replace sets exactly the given members; remove without a value empties the group.
    let (_, r) =
        patch(json!([{"op": "add", "path": "members", "value": [{"value": a}, {"value": b}]}]))
            .await;
    assert_eq!(member_ids(&r).len(), 2);
    let (s, r) =
        patch(json!([{"op": "replace", "path": "members", "value": [{"value": d}]}])).await;
    assert_eq!((s, member_ids(&r)), (200, vec![d.clone()]), "{r}");
    assert!(groups_of_user(&c, &base, &a).await.is_empty());
    let (s, r) = patch(json!([{"op": "remove", "path": "members"}])).await;
    assert_eq!(s, 200, "{r}");
    assert!(r.get("members").is_none(), "{r}");
    assert!(groups_of_user(&c, &base, &d).await.is_empty());
    sb.shutdown().await;
}

#[tokio::test]
async fn groups_are_found_by_display_name_and_served_without_members_on_request() {
    let sb = sandbox().await;
    let (c, base) = (client(), sb.base_url());
    let a = id_of(&create_user(&c, &base, "ann").await);
    for name in ["eng", "ops", "ops-oncall"] {
        let (s, _) = send(
            c.post(format!("{base}/Groups"))
                .json(&group_body(name, &[&a])),
        )
        .await;
        assert_eq!(s, 201);
    }
    let list = |q: &str| {
        let (c, url) = (c.clone(), format!("{base}/Groups?{q}"));
        async move { send(c.get(url)).await }
    };
    let names = |v: &Value| -> Vec<String> {
        v["Resources"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|g| g["displayName"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };

    // eq on displayName matches the whole name, case-insensitively (caseExact false).
    let (s, r) = list("filter=displayName%20eq%20%22OPS%22").await;
    assert_eq!((s, names(&r)), (200, vec!["ops".to_string()]), "{r}");
    assert_eq!(r["totalResults"], 1);
    assert_eq!(member_ids(&r["Resources"][0]), vec![a.clone()]);
    let (_, r) = list("filter=displayName%20eq%20%22nobody%22").await;
    assert_eq!(
        (r["totalResults"].clone(), names(&r)),
        (json!(0), vec![]),
        "{r}"
    );
    // A value with a quote inside is escaped in the filter and matched literally.
    let (_, r) = list("filter=displayName%20eq%20%22ops%5C%22%22").await;
    assert_eq!(r["totalResults"], 0, "{r}");

    // excludedAttributes=members: the groups without members, everything else kept.
    let (s, r) = list("excludedAttributes=members").await;
    assert_eq!(s, 200);
    assert_eq!(names(&r), vec!["eng", "ops", "ops-oncall"]);
    for g in r["Resources"].as_array().into_iter().flatten() {
        assert!(g.get("members").is_none(), "{g}");
        assert!(
            g["id"].is_string() && g["meta"]["resourceType"] == "Group",
            "{g}"
        );
    }
    let id = id_of(&r["Resources"][1]);
    let (_, one) = send(c.get(format!("{base}/Groups/{id}?excludedAttributes=members"))).await;
    assert!(
        one.get("members").is_none() && one["displayName"] == "ops",
        "{one}"
    );
    let (_, full) = send(c.get(format!("{base}/Groups/{id}"))).await;
    assert_eq!(
        member_ids(&full),
        vec![a.clone()],
        "the members are still there"
    );
    sb.shutdown().await;
}
