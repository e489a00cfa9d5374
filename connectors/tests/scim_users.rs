//! SCIM client against a fake service provider: users — create, conflicts, PATCH answers
//! and the PUT fallback, filters that servers ignore or refuse, lookups, profiles.

mod scim_util;

use std::collections::BTreeMap;

use hrsync_connectors::scim::{
    build_user, ops_from_changes, Filter, MatchOn, PatchOp, Profile, ScimError, WriteMode,
};
use scim_util::{Fake, Knobs, PatchMode};
use serde_json::{json, Value};

fn attrs(pairs: &[(&str, Value)]) -> BTreeMap<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

fn ana() -> BTreeMap<String, Value> {
    attrs(&[
        ("userName", json!("ana@corp.example")),
        ("externalId", json!("E1")),
        ("active", json!(true)),
        ("name.givenName", json!("Ana")),
        ("title", json!("Engineer")),
        ("emails[type eq \"work\"].value", json!("ana@corp.example")),
    ])
}

#[tokio::test]
async fn create_posts_the_built_user_as_scim_json_and_returns_the_resource() {
    let fake = Fake::start(Knobs::default()).await;
    let client = fake.client(Profile::generic());
    let user = build_user(&ana()).expect("build");
    let created = client.create_user(&user).await.expect("create");
    let id = created["id"].as_str().expect("id").to_string();
    assert_eq!(created["userName"], "ana@corp.example");
    let posts = fake.seen_with("POST");
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].path, "/Users");
    assert_eq!(posts[0].body.as_ref(), Some(&user));
    assert_eq!(posts[0].headers["content-type"], "application/scim+json");
    assert_eq!(posts[0].headers["accept"], "application/scim+json");
    // Only what the mapping produced: no `primary` of the client's own.
    assert_eq!(
        fake.store().users[&id]["emails"],
        json!([{"type": "work", "value": "ana@corp.example"}])
    );
}

#[tokio::test]
async fn create_conflict_is_a_conflict_whether_status_is_a_string_or_an_integer() {
    for status_as_int in [false, true] {
        let fake = Fake::start(Knobs {
            status_as_int,
            ..Knobs::default()
        })
        .await;
        fake.seed_user(json!({"userName": "ANA@corp.example"}));
        let client = fake.client(Profile::generic());
        let err = client
            .create_user(&build_user(&ana()).expect("build"))
            .await
            .expect_err("duplicate");
        assert!(
            matches!(&err, ScimError::Conflict { scim_type: Some(t), .. } if t == "uniqueness"),
            "{err}"
        );
        assert!(err.needs_lookup());
        assert!(err.to_string().contains("fake-app"), "{err}");
        assert_eq!(fake.store().users.len(), 1, "no second account");
    }
}

#[tokio::test]
async fn get_update_and_delete_of_a_missing_user() {
    let fake = Fake::start(Knobs::default()).await;
    let client = fake.client(Profile::generic());
    assert_eq!(client.get_user("nope").await.expect("get"), None);
    client
        .delete_user("nope")
        .await
        .expect("404 on delete is done");
    let err = client
        .update_user("nope", &[PatchOp::replace("title", json!("x"))], &json!({}))
        .await
        .expect_err("missing");
    assert!(matches!(err, ScimError::NotFound { .. }), "{err}");
}

#[tokio::test]
async fn patch_answered_204_without_body_applies_the_changes() {
    let fake = Fake::start(Knobs {
        patch: PatchMode::NoContent,
        ..Knobs::default()
    })
    .await;
    let id = fake.seed_user(json!({"userName": "ana", "title": "Engineer", "active": true}));
    let client = fake.client(Profile::generic());
    let before = attrs(&[("title", json!("Engineer")), ("active", json!(true))]);
    let after = attrs(&[("title", json!("Senior Engineer")), ("active", json!(true))]);
    let ops = ops_from_changes(&before, &after).expect("ops");
    let out = client
        .update_user(&id, &ops, &json!({}))
        .await
        .expect("patch");
    assert_eq!(out, None, "204 has no resource");
    assert_eq!(fake.store().users[&id]["title"], "Senior Engineer");
    let patches = fake.seen_with("PATCH");
    assert_eq!(patches.len(), 1, "one write request");
    assert_eq!(
        patches[0].body,
        Some(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "title", "value": "Senior Engineer"}]
        }))
    );
}

#[tokio::test]
async fn patch_answered_200_returns_the_resource_and_set_active_sends_a_boolean() {
    let fake = Fake::start(Knobs::default()).await;
    let id = fake.seed_user(json!({"userName": "ana", "active": true}));
    let client = fake.client(Profile::generic());
    let out = client
        .set_active(&id, false, &json!({}))
        .await
        .expect("deactivate");
    assert_eq!(out.expect("body")["active"], json!(false));
    let body = fake.seen_with("PATCH")[0].body.clone().expect("body");
    assert_eq!(
        body["Operations"],
        json!([{"op": "replace", "path": "active", "value": false}])
    );
}

#[tokio::test]
async fn patch_501_switches_the_app_to_put_and_remembers_it() {
    let fake = Fake::start(Knobs {
        patch: PatchMode::NotImplemented,
        ..Knobs::default()
    })
    .await;
    let id = fake.seed_user(json!({
        "userName": "ana", "title": "Engineer", "nickName": "Ani",
        "name": {"givenName": "Ana", "middleName": "M"}, "meta": {"version": "1"}
    }));
    let client = fake.client(Profile::generic());
    let full = json!({"userName": "ana", "title": "Senior", "name": {"givenName": "Anna"}});
    let ops = [
        PatchOp::replace("title", json!("Senior")),
        PatchOp::replace("name.givenName", json!("Anna")),
    ];
    client
        .update_user(&id, &ops, &full)
        .await
        .expect("fallback");
    let stored = fake.store().users[&id].clone();
    assert_eq!(stored["title"], "Senior");
    assert_eq!(
        stored["nickName"], "Ani",
        "unmanaged attribute survives PUT"
    );
    assert_eq!(
        stored["name"],
        json!({"givenName": "Anna", "middleName": "M"})
    );
    assert!(stored.get("meta").is_none(), "read-only meta not sent back");
    assert_eq!(client.write_mode(), WriteMode::Put);
    let seen: Vec<String> = fake
        .take_seen()
        .into_iter()
        .map(|s| format!("{} {}", s.method, s.path))
        .collect();
    assert_eq!(
        seen,
        [
            "GET /ServiceProviderConfig".to_string(),
            "PATCH /Users/".to_string() + &id,
            "GET /Users/".to_string() + &id,
            "PUT /Users/".to_string() + &id,
        ],
        "the app advertised PATCH, so PATCH was tried first"
    );
    client
        .update_user(
            &id,
            &[PatchOp::remove("title")],
            &json!({"userName": "ana"}),
        )
        .await
        .expect("second update");
    let methods: Vec<String> = fake.take_seen().into_iter().map(|s| s.method).collect();
    assert_eq!(methods, ["GET", "PUT"], "PATCH is not tried again");
    assert!(
        fake.store().users[&id].get("title").is_none(),
        "remove applied in PUT"
    );
}

#[tokio::test]
async fn an_app_advertising_no_patch_gets_put_from_the_first_update() {
    let fake = Fake::start(Knobs {
        advertise_patch: false,
        ..Knobs::default()
    })
    .await;
    let id = fake.seed_user(json!({"userName": "ana", "title": "Engineer", "nickName": "Ani"}));
    let client = fake.client(Profile::generic());
    for title in ["Senior", "Staff"] {
        client
            .update_user(
                &id,
                &[PatchOp::replace("title", json!(title))],
                &json!({"userName": "ana", "title": title}),
            )
            .await
            .expect("update");
        assert_eq!(fake.store().users[&id]["title"], title);
    }
    assert_eq!(fake.store().users[&id]["nickName"], "Ani", "PUT kept it");
    let seen: Vec<String> = fake
        .take_seen()
        .into_iter()
        .map(|s| format!("{} {}", s.method, s.path))
        .collect();
    let user = format!("/Users/{id}");
    assert_eq!(
        seen,
        [
            "GET /ServiceProviderConfig".to_string(),
            format!("GET {user}"),
            format!("PUT {user}"),
            format!("GET {user}"),
            format!("PUT {user}"),
        ],
        "configuration read once, never a PATCH"
    );
}

#[tokio::test]
async fn patch_400_uses_put_but_remembers_only_when_put_works() {
    let fake = Fake::start(Knobs {
        patch: PatchMode::BadRequest,
        ..Knobs::default()
    })
    .await;
    let a = fake.seed_user(json!({"userName": "a"}));
    fake.seed_user(json!({"userName": "b"}));
    let client = fake.client(Profile::generic());
    // Bad data: PUT fails too (the userName is taken), so PATCH stays the way.
    let err = client
        .update_user(
            &a,
            &[PatchOp::replace("userName", json!("b"))],
            &json!({"userName": "b"}),
        )
        .await
        .expect_err("taken");
    assert!(matches!(err, ScimError::Conflict { .. }), "{err}");
    assert_eq!(client.write_mode(), WriteMode::Patch);
    client
        .update_user(
            &a,
            &[PatchOp::replace("title", json!("T"))],
            &json!({"userName": "a", "title": "T"}),
        )
        .await
        .expect("put works");
    assert_eq!(fake.store().users[&a]["title"], "T");
    assert_eq!(client.write_mode(), WriteMode::Put);
}

#[tokio::test]
async fn a_server_that_ignores_filters_never_causes_a_wrong_match() {
    let fake = Fake::start(Knobs {
        ignore_filter: true,
        ..Knobs::default()
    })
    .await;
    fake.seed_user(json!({"userName": "first", "externalId": "E0"}));
    let b = fake.seed_user(json!({"userName": "b@corp.example", "externalId": "E2"}));
    fake.seed_user(json!({"userName": "c", "externalId": "E3"}));
    let client = fake.client(Profile::generic());
    let hits = client
        .find_users(&Filter::user_name("B@corp.example"))
        .await
        .expect("find");
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0]["id"], json!(b));
    let found = client
        .lookup_user(&[MatchOn::ExternalId], Some("E2"), None, &[])
        .await
        .expect("lookup");
    assert_eq!(found.expect("match")["id"], json!(b));
    let none = client
        .lookup_user(
            &[MatchOn::ExternalId, MatchOn::UserName],
            Some("E9"),
            Some("z"),
            &[],
        )
        .await
        .expect("lookup");
    assert_eq!(none, None, "the first listed user is not taken for a match");
}

#[tokio::test]
async fn a_refused_filter_falls_back_to_listing_and_is_remembered() {
    let fake = Fake::start(Knobs {
        reject_filters: true,
        ..Knobs::default()
    })
    .await;
    let x = fake.seed_user(json!({"userName": "x", "externalId": "E1"}));
    fake.seed_user(json!({"userName": "y", "externalId": "E2"}));
    let client = fake.client(Profile::generic());
    let found = client
        .lookup_user(&[MatchOn::ExternalId], Some("E1"), None, &[])
        .await
        .expect("lookup");
    assert_eq!(found.expect("match")["id"], json!(x));
    fake.take_seen();
    client
        .lookup_user(&[MatchOn::ExternalId], Some("E2"), None, &[])
        .await
        .expect("lookup");
    let seen = fake.take_seen();
    assert_eq!(seen.len(), 1, "one listing, no refused filter first");
    assert!(!seen[0].query.contains_key("filter"));
}

#[tokio::test]
async fn lookup_refuses_two_different_accounts() {
    let fake = Fake::start(Knobs::default()).await;
    let by_ext = fake.seed_user(json!({"userName": "old-name", "externalId": "E1"}));
    let by_name = fake.seed_user(json!({"userName": "ana@corp.example", "externalId": "OTHER"}));
    let by_mail =
        fake.seed_user(json!({"userName": "ana2", "emails": [{"value": "Ana@Corp.example"}]}));
    let client = fake.client(Profile::generic());
    let err = client
        .lookup_user(
            &[MatchOn::ExternalId, MatchOn::UserName],
            Some("E1"),
            Some("ana@corp.example"),
            &[],
        )
        .await
        .expect_err("ambiguous");
    match &err {
        ScimError::Ambiguous { ids, criteria, .. } => {
            assert_eq!(ids, &vec![by_ext.clone(), by_name.clone()]);
            assert!(
                criteria.contains("externalId") && criteria.contains("userName"),
                "{criteria}"
            );
        }
        other => panic!("expected Ambiguous, got {other}"),
    }
    let found = client
        .lookup_user(
            &[MatchOn::Emails],
            None,
            None,
            &["ana@corp.example".to_string()],
        )
        .await
        .expect("by email");
    assert_eq!(found.expect("match")["id"], json!(by_mail));
    // The same decision over a listing.
    let all = client.list_users().await.expect("list");
    assert!(client
        .lookup_in(
            &all,
            &[MatchOn::ExternalId, MatchOn::UserName],
            Some("E1"),
            Some("ana@corp.example"),
            &[]
        )
        .is_err());
    let one = client
        .lookup_in(&all, &[MatchOn::ExternalId], Some("E1"), None, &[])
        .expect("one");
    assert_eq!(one.expect("match")["id"], json!(by_ext));
}

#[tokio::test]
async fn filter_values_cannot_inject_conditions() {
    let fake = Fake::start(Knobs::default()).await;
    fake.seed_user(json!({"userName": "a"}));
    fake.seed_user(json!({"userName": "b"}));
    let client = fake.client(Profile::generic());
    let evil = r#"a" or userName pr or ""#;
    let hits = client
        .find_users(&Filter::user_name(evil))
        .await
        .expect("find");
    assert!(hits.is_empty(), "the value matched as one literal userName");
    let sent = &fake.seen_with("GET")[0].query["filter"];
    assert_eq!(sent, r#"userName eq "a\" or userName pr or \"""#);
}

#[tokio::test]
async fn an_empty_401_is_unauthorized() {
    let fake = Fake::start(Knobs::default()).await;
    let client = fake.client_with_token(Profile::generic(), "wrong");
    let err = client.get_user("u1").await.expect_err("401");
    assert!(
        matches!(err, ScimError::Unauthorized { status: 401, .. }),
        "{err}"
    );
    assert!(err.is_app_failure());
}

#[tokio::test]
async fn profiles_shape_requests() {
    let fake = Fake::start(Knobs::default()).await;
    let slack = fake.client(Profile::by_name("slack").expect("slack"));
    let mut a = ana();
    a.insert(
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager".into(),
        json!("U0MGR"),
    );
    a.insert("userName".into(), json!("nia.okafor@corp.example"));
    let err = slack
        .create_user(&build_user(&a).expect("build"))
        .await
        .expect_err("too long");
    assert!(matches!(err, ScimError::InvalidRecord { .. }), "{err}");
    assert!(
        fake.take_seen().is_empty(),
        "nothing sent for an invalid record"
    );
    a.insert("userName".into(), json!("ana"));
    slack
        .create_user(&build_user(&a).expect("build"))
        .await
        .expect("create");
    let body = fake.seen_with("POST")[0].body.clone().expect("body");
    assert_eq!(
        body["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["manager"],
        json!({"managerId": "U0MGR"})
    );
    let github = fake.client(Profile::by_name("github").expect("github"));
    github.get_user("x").await.expect("get");
    let last = fake.take_seen().pop().expect("request");
    assert!(last.headers["user-agent"].starts_with("hrsync/"));

    // A header the app's config sets wins over the profile's default for it.
    let http = hrsync_connectors::http::HttpClient::new(
        hrsync_connectors::http::HttpSettings {
            secret_headers: vec![(
                "User-Agent".into(),
                hrsync_connectors::secret::Secret::new("corp-provisioning/2"),
            )],
            ..hrsync_connectors::http::HttpSettings::default()
        },
        hrsync_connectors::http::Auth::Bearer(hrsync_connectors::secret::Secret::new(
            scim_util::TOKEN,
        )),
    )
    .expect("http");
    let github = hrsync_connectors::scim::ScimClient::new(
        "fake-app",
        fake.base.clone(),
        http,
        Profile::by_name("github").expect("github"),
    );
    github.get_user("x").await.expect("get");
    let last = fake.take_seen().pop().expect("request");
    assert_eq!(last.headers["user-agent"], "corp-provisioning/2");
}

#[tokio::test]
async fn slack_profile_sends_one_write_per_user_at_a_time() {
    let fake = Fake::start(Knobs {
        write_delay_ms: 20,
        ..Knobs::default()
    })
    .await;
    let id = fake.seed_user(json!({"userName": "ana", "title": "t0"}));
    let client = fake.client(Profile::by_name("slack").expect("slack"));
    let mut tasks = Vec::new();
    for i in 1..=4 {
        let (c, id) = (client.clone(), id.clone());
        tasks.push(tokio::spawn(async move {
            c.update_user(
                &id,
                &[PatchOp::replace("title", json!(format!("t{i}")))],
                &json!({}),
            )
            .await
        }));
    }
    for t in tasks {
        t.await.expect("join").expect("update");
    }
    assert_eq!(fake.seen_with("PATCH").len(), 4);
    assert_eq!(
        fake.store().max_in_flight,
        1,
        "writes to one user never overlap"
    );
}

#[tokio::test]
async fn github_gets_one_eq_per_filter_and_the_rest_is_matched_here() {
    let fake = Fake::start(Knobs::default()).await;
    let both = || Filter::external_id("E1").and(Filter::user_name("ana@corp.example"));
    let generic = fake.client(Profile::by_name("generic").expect("generic"));
    generic.find_users(&both()).await.expect("find");
    let github = fake.client(Profile::by_name("github").expect("github"));
    github.find_users(&both()).await.expect("find");
    github
        .lookup_user(
            &[MatchOn::ExternalId, MatchOn::UserName],
            Some("E1"),
            Some("ana@corp.example"),
            &[],
        )
        .await
        .expect("lookup");
    let filters: Vec<String> = fake
        .seen_with("GET")
        .iter()
        .filter_map(|s| s.query.get("filter").cloned())
        .collect();
    assert_eq!(filters.len(), 4, "{filters:?}");
    assert!(
        filters[0].to_lowercase().contains(" and "),
        "an app that joins terms gets both: {}",
        filters[0]
    );
    for f in &filters[1..] {
        let lower = f.to_lowercase();
        assert!(
            lower.matches(" eq ").count() == 1
                && !lower.contains(" and ")
                && !lower.contains(" or "),
            "GitHub takes a single eq: {f}"
        );
    }
}
