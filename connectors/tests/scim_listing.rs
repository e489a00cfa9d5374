//! SCIM client against a fake service provider: listing — startIndex and cursor paging,
//! servers that repeat pages, discovery, and an app that lists only with a filter.

mod scim_util;

use hrsync_connectors::scim::{MatchOn, Pagination, Profile, ScimError, WriteMode};
use scim_util::{Fake, Knobs, Paging};
use serde_json::json;

#[tokio::test]
async fn index_paging_follows_total_results() {
    let fake = Fake::start(Knobs {
        page_cap: 2,
        ..Knobs::default()
    })
    .await;
    for i in 0..5 {
        fake.seed_user(json!({"userName": format!("user{i}")}));
    }
    let client = fake.client(Profile::generic());
    let all = client.list_users().await.expect("list");
    assert_eq!(all.len(), 5);
    let starts: Vec<String> = fake
        .take_seen()
        .iter()
        .map(|s| s.query["startIndex"].clone())
        .collect();
    assert_eq!(
        starts,
        ["1", "3", "5"],
        "advances by what came back, stops at total"
    );
}

#[tokio::test]
async fn a_server_repeating_the_first_page_does_not_loop() {
    let fake = Fake::start(Knobs {
        page_cap: 2,
        paging: Paging::IgnoreStartIndex,
        ..Knobs::default()
    })
    .await;
    for i in 0..5 {
        fake.seed_user(json!({"userName": format!("user{i}")}));
    }
    let client = fake.client(Profile::generic());
    let all = client.list_users().await.expect("list");
    assert_eq!(all.len(), 2, "each user once");
    assert_eq!(fake.take_seen().len(), 2);
}

#[tokio::test]
async fn cursor_paging_as_aws_does() {
    let fake = Fake::start(Knobs {
        page_cap: 2,
        paging: Paging::Cursor,
        ..Knobs::default()
    })
    .await;
    for i in 0..5 {
        fake.seed_user(json!({"userName": format!("user{i}")}));
    }
    let aws = Profile::by_name("aws_identity_center").expect("aws");
    assert!(matches!(aws.pagination, Pagination::Cursor { .. }));
    let client = fake.client(aws);
    let all = client.list_users().await.expect("list");
    let names: Vec<&str> = all.iter().filter_map(|u| u["userName"].as_str()).collect();
    assert_eq!(names, ["user0", "user1", "user2", "user3", "user4"]);
    let cursors: Vec<Option<String>> = fake
        .take_seen()
        .iter()
        .map(|s| s.query.get("cursor").cloned())
        .collect();
    assert_eq!(cursors, [None, Some("c2".into()), Some("c4".into())]);
}

#[tokio::test]
async fn discovery_falls_back_to_the_plural_endpoint() {
    let fake = Fake::start(Knobs {
        plural_discovery_only: true,
        advertise_patch: false,
        ..Knobs::default()
    })
    .await;
    let client = fake.client(Profile::generic());
    let caps = client.discover().await.expect("discover");
    assert!(!caps.patch && caps.filter.supported);
    assert_eq!(caps.filter.max_results, Some(1000));
    let paths: Vec<String> = fake.take_seen().into_iter().map(|s| s.path).collect();
    assert_eq!(paths, ["/ServiceProviderConfig", "/ServiceProviderConfigs"]);
    assert_eq!(client.capabilities(), Some(caps));
    assert_eq!(client.write_mode(), WriteMode::Put, "PATCH not advertised");
}

#[tokio::test]
async fn google_lookup_uses_only_what_it_can_filter() {
    let fake = Fake::start(Knobs::default()).await;
    let ana = fake.seed_user(json!({"userName": "ana@corp.example", "externalId": "E1"}));
    let client = fake.client(Profile::by_name("google").expect("google"));
    let found = client
        .lookup_user(
            &[MatchOn::ExternalId, MatchOn::UserName],
            Some("E1"),
            Some("ana@corp.example"),
            &[],
        )
        .await
        .expect("lookup");
    assert_eq!(found.expect("match")["id"], json!(ana));
    let seen = fake.take_seen();
    assert_eq!(seen.len(), 1, "no listing without a filter");
    assert_eq!(seen[0].query["filter"], r#"userName eq "ana@corp.example""#);
    assert!(!seen[0].query.contains_key("startIndex"), "no paging");
    let err = client
        .lookup_user(&[MatchOn::ExternalId], Some("E1"), None, &[])
        .await
        .expect_err("cannot search");
    assert!(matches!(err, ScimError::Unsupported { .. }), "{err}");
    let err = client.list_users().await.expect_err("no listing");
    assert!(matches!(err, ScimError::Unsupported { .. }), "{err}");
    assert!(fake.take_seen().is_empty());
}
