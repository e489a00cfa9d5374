//! SCIM client against a fake service provider: groups, member batches, the member
//! removal fallback chain, and Bulk with 413 splitting.

mod scim_util;

use std::collections::BTreeSet;

use hrsync_connectors::scim::{BulkMethod, BulkOp, PatchOp, Profile, RemovalForm, ScimError};
use scim_util::{Fake, Knobs, PatchMode};
use serde_json::json;

fn ids(range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("m{i}")).collect()
}

fn members_of(fake: &Fake, gid: &str) -> Vec<String> {
    fake.store().groups[gid]["members"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["value"].as_str().map(str::to_string))
        .collect()
}

fn small_batches() -> Profile {
    let mut p = Profile::generic();
    p.max_members_per_patch = 2;
    p
}

#[tokio::test]
async fn create_find_list_and_delete_groups() {
    let fake = Fake::start(Knobs::default()).await;
    let client = fake.client(Profile::generic());
    let g = client
        .create_group("dept-engineering", Some("eng"))
        .await
        .expect("create");
    let gid = g["id"].as_str().expect("id").to_string();
    let body = fake.seen_with("POST")[0].body.clone().expect("body");
    assert_eq!(
        body,
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
               "displayName": "dept-engineering", "externalId": "eng"})
    );
    let err = client
        .create_group("Dept-Engineering", None)
        .await
        .expect_err("dup");
    assert!(matches!(err, ScimError::Conflict { .. }), "{err}");
    client
        .create_group("dept-sales", None)
        .await
        .expect("create");
    let found = client
        .find_group_by_name("DEPT-ENGINEERING")
        .await
        .expect("find");
    assert_eq!(found.expect("group")["id"], json!(gid));
    assert_eq!(client.find_group_by_name("nope").await.expect("find"), None);
    assert_eq!(client.list_groups().await.expect("list").len(), 2);
    assert!(client.get_group(&gid).await.expect("get").is_some());
    client.delete_group(&gid).await.expect("delete");
    client
        .delete_group(&gid)
        .await
        .expect("again: already gone");
    assert_eq!(client.get_group(&gid).await.expect("get"), None);
}

#[tokio::test]
async fn find_group_verifies_names_when_the_filter_is_ignored() {
    let fake = Fake::start(Knobs {
        ignore_filter: true,
        ..Knobs::default()
    })
    .await;
    fake.seed_group(json!({"displayName": "a", "members": []}));
    let b = fake.seed_group(json!({"displayName": "b", "members": []}));
    let client = fake.client(Profile::generic());
    let found = client.find_group_by_name("b").await.expect("find");
    assert_eq!(found.expect("group")["id"], json!(b));
}

#[tokio::test]
async fn members_are_added_in_batches_of_the_profile_maximum() {
    let fake = Fake::start(Knobs::default()).await;
    let gid = fake.seed_group(json!({"displayName": "g", "members": []}));
    let client = fake.client(small_batches());
    client.add_members(&gid, &ids(0..5)).await.expect("add");
    assert_eq!(members_of(&fake, &gid), ids(0..5));
    let sizes: Vec<usize> = fake
        .seen_with("PATCH")
        .iter()
        .map(|s| {
            let ops = s.body.as_ref().expect("body")["Operations"].clone();
            assert_eq!(ops[0]["op"], "add");
            assert_eq!(ops[0]["path"], "members");
            ops[0]["value"].as_array().map_or(0, Vec::len)
        })
        .collect();
    assert_eq!(sizes, [2, 2, 1]);
}

#[tokio::test]
async fn member_removal_falls_back_and_remembers_the_form_that_works() {
    let fake = Fake::start(Knobs {
        removal_ok: [RemovalForm::ValueArray, RemovalForm::ReplaceMembers].into(),
        ..Knobs::default()
    })
    .await;
    let gid = fake.seed_group(json!({"displayName": "g",
        "members": ids(0..6).iter().map(|i| json!({"value": i})).collect::<Vec<_>>()}));
    let client = fake.client(small_batches());
    client
        .remove_members(&gid, &["m1".into(), "m2".into(), "m3".into()])
        .await
        .expect("remove");
    assert_eq!(members_of(&fake, &gid), ["m0", "m4", "m5"]);
    assert_eq!(client.removal_form(), Some(RemovalForm::ValueArray));
    let patches = fake.take_seen();
    let first = patches
        .iter()
        .find(|s| s.method == "PATCH")
        .and_then(|s| s.body.clone())
        .expect("patch");
    assert_eq!(
        first["Operations"][0],
        json!({"op": "remove", "path": "members[value eq \"m1\"]"}),
        "the RFC form is tried first"
    );
    // Next time the remembered form goes first: no refused request, no verification read.
    client
        .remove_members(&gid, &["m4".into()])
        .await
        .expect("remove");
    let seen = fake.take_seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].body.as_ref().expect("body")["Operations"][0],
        json!({"op": "remove", "path": "members", "value": [{"value": "m4"}]})
    );
    assert_eq!(members_of(&fake, &gid), ["m0", "m5"]);
}

#[tokio::test]
async fn a_removal_answered_ok_but_not_applied_is_detected() {
    let fake = Fake::start(Knobs {
        removal_silent: [RemovalForm::ValuePath].into(),
        ..Knobs::default()
    })
    .await;
    let gid = fake.seed_group(json!({"displayName": "g",
        "members": [{"value": "a"}, {"value": "b"}]}));
    let client = fake.client(Profile::generic());
    client
        .remove_members(&gid, &["a".into()])
        .await
        .expect("remove");
    assert_eq!(members_of(&fake, &gid), ["b"]);
    assert_eq!(client.removal_form(), Some(RemovalForm::ValueArray));
}

#[tokio::test]
async fn member_removal_reaches_put_of_the_group() {
    let fake = Fake::start(Knobs {
        removal_ok: [RemovalForm::PutGroup].into(),
        ..Knobs::default()
    })
    .await;
    let gid = fake.seed_group(json!({"displayName": "g", "externalId": "x",
        "members": [{"value": "a", "display": "A"}, {"value": "b"}]}));
    let client = fake.client(Profile::generic());
    client
        .remove_members(&gid, &["b".into()])
        .await
        .expect("remove");
    let g = fake.store().groups[&gid].clone();
    assert_eq!(g["members"], json!([{"value": "a", "display": "A"}]));
    assert_eq!(g["externalId"], "x", "the rest of the group is kept");
    assert_eq!(client.removal_form(), Some(RemovalForm::PutGroup));
    let err = fake
        .client(Profile::generic())
        .remove_members("missing", &["a".into()])
        .await
        .expect_err("no group");
    assert!(err.status().is_some(), "{err}");
}

#[tokio::test]
async fn group_patch_501_uses_put_for_members() {
    let fake = Fake::start(Knobs {
        patch: PatchMode::NotImplemented,
        ..Knobs::default()
    })
    .await;
    let gid = fake.seed_group(json!({"displayName": "g", "members": [{"value": "a"}]}));
    let client = fake.client(Profile::generic());
    client
        .add_members(&gid, &["b".into(), "a".into()])
        .await
        .expect("add");
    assert_eq!(members_of(&fake, &gid), ["a", "b"]);
    client
        .remove_members(&gid, &["a".into()])
        .await
        .expect("remove");
    assert_eq!(members_of(&fake, &gid), ["b"]);
    let patches = fake.seen_with("PATCH").len();
    assert_eq!(patches, 1, "only the first PATCH, refused; then PUTs");
}

#[tokio::test]
async fn bulk_splits_on_413_and_reports_each_operation() {
    let fake = Fake::start(Knobs {
        bulk: Some((10, 3)),
        ..Knobs::default()
    })
    .await;
    let existing = fake.seed_user(json!({"userName": "taken"}));
    let victim = fake.seed_user(json!({"userName": "leaver"}));
    let client = fake.client(Profile::generic());
    assert!(client.bulk_supported().await);
    let mut ops: Vec<BulkOp> = (0..4)
        .map(|i| BulkOp::create_user(&format!("new{i}"), json!({"userName": format!("new{i}")})))
        .collect();
    ops.push(BulkOp::create_user("dup", json!({"userName": "TAKEN"})));
    ops.push(BulkOp::patch_user(
        &existing,
        &[PatchOp::replace("title", json!("T"))],
    ));
    ops.push(BulkOp::delete_user(&victim));
    let results = client.bulk(ops).await.expect("bulk");
    assert_eq!(results.len(), 7);
    let statuses: Vec<u16> = results.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [201, 201, 201, 201, 409, 200, 204]);
    for r in &results[..4] {
        let id = r.id.as_deref().expect("created id");
        assert!(fake.store().users.contains_key(id));
        assert_eq!(r.method, BulkMethod::Post);
    }
    assert_eq!(results[4].bulk_id, "dup");
    assert_eq!(
        results[4]
            .error
            .as_ref()
            .and_then(|e| e.scim_type.as_deref()),
        Some("uniqueness")
    );
    assert_eq!(fake.store().users[&existing]["title"], "T");
    assert!(!fake.store().users.contains_key(&victim));
    let sizes: Vec<usize> = fake
        .seen_with("POST")
        .iter()
        .map(|s| {
            s.body.as_ref().expect("body")["Operations"]
                .as_array()
                .map_or(0, Vec::len)
        })
        .collect();
    assert_eq!(sizes, [7, 3, 4, 2, 2], "413 halves until the batches fit");
    let names: BTreeSet<String> = fake
        .store()
        .users
        .values()
        .filter_map(|u| u["userName"].as_str().map(str::to_string))
        .collect();
    let want: BTreeSet<String> = ["new0", "new1", "new2", "new3", "taken"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(
        names, want,
        "each create applied once, the duplicate refused, the leaver gone"
    );
}

#[tokio::test]
async fn bulk_is_refused_when_not_advertised() {
    let fake = Fake::start(Knobs::default()).await;
    let client = fake.client(Profile::generic());
    assert!(!client.bulk_supported().await);
    let err = client
        .bulk(vec![BulkOp::delete_user("x")])
        .await
        .expect_err("unsupported");
    assert!(matches!(err, ScimError::Unsupported { .. }), "{err}");
    let aws = fake.client(Profile::by_name("aws_identity_center").expect("aws"));
    assert!(!aws.bulk_supported().await, "profile forbids Bulk");
}

#[tokio::test]
async fn aws_never_rewrites_the_member_list() {
    let aws = || Profile::by_name("aws_identity_center").expect("aws");
    let group = json!({"displayName": "g", "members": [{"value": "a"}, {"value": "b"}]});
    let fake = Fake::start(Knobs {
        removal_ok: [RemovalForm::ValueArray].into(),
        ..Knobs::default()
    })
    .await;
    let gid = fake.seed_group(group.clone());
    let client = fake.client(aws());
    client
        .remove_members(&gid, &["a".into()])
        .await
        .expect("remove");
    assert_eq!(members_of(&fake, &gid), ["b"]);
    let methods: Vec<String> = fake.take_seen().into_iter().map(|s| s.method).collect();
    assert_eq!(
        methods,
        ["PATCH", "PATCH"],
        "no read-back: AWS shows no members"
    );
    assert_eq!(client.removal_form(), Some(RemovalForm::ValueArray));

    let fake = Fake::start(Knobs {
        removal_ok: [RemovalForm::ReplaceMembers, RemovalForm::PutGroup].into(),
        ..Knobs::default()
    })
    .await;
    let gid = fake.seed_group(group);
    let client = fake.client(aws());
    let err = client
        .remove_members(&gid, &["a".into()])
        .await
        .expect_err("refused");
    assert!(
        matches!(err, ScimError::Rejected { status: 400, .. }),
        "{err}"
    );
    let seen = fake.take_seen();
    assert!(seen.iter().all(|s| s.method == "PATCH"), "never a PUT");
    assert!(
        seen.iter()
            .all(|s| { s.body.as_ref().expect("body")["Operations"][0]["op"] == "remove" }),
        "never a replace of the list"
    );
    assert_eq!(members_of(&fake, &gid), ["a", "b"]);
}
