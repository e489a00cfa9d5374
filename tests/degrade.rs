//! Servers that deviate from the RFC are worked with, not given up on: an app that answers
//! 500 to any list carrying `count` is listed without it (and hrsync remembers, so later
//! runs do not send it); an app that refuses `primary` inside `emails` gets only what the
//! mapping produced; an app that lists only with a filter (Google) is relinked after a
//! lost state by per-person lookups.

use axum::http::Method;
use hrsync_sandbox::{SandboxHandle, SandboxOptions};
use serde_json::json;

use crate::util::push::*;
use crate::util::*;

/// True for a list of users carrying `count`, which the deviating app refuses.
fn list_with_count(method: &Method, path: &str) -> bool {
    method == Method::GET && path.starts_with("/scim/v2/Users?") && path.contains("count=")
}

/// A sandbox, a proxy in front of it answering per `decide`, and hrsync configured for it.
async fn deviating(
    profile: &str,
    persons: &[Person],
    decide: impl Fn(&Method, &str, &str) -> Action + Send + Sync + 'static,
) -> (Env, SandboxHandle, Proxy) {
    let sb = sandbox_with(SandboxOptions {
        profile: profile.into(),
        ..SandboxOptions::default()
    })
    .await;
    let px = proxy(sb.addr(), decide).await;
    let env = Env::new(&csv(persons));
    env.write_config(&env.app(
        "app",
        &px.base_url(),
        &format!("profile = \"{profile}\"\nbulk = false"),
    ));
    (env, sb, px)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_refusing_count_is_listed_without_it_and_later_runs_leave_it_out() {
    let mut persons = people(4);
    let (env, sb, px) = deviating("generic", &persons, |m, path, _| {
        if list_with_count(m, path) {
            Action::Reply(500, scim_error(500, None, "unexpected parameter"))
        } else {
            Action::Forward
        }
    })
    .await;
    let existing = seed_account(
        &sb,
        json!({"userName": "p0001@corp.example", "active": true}),
    )
    .await;

    let out = apply(&env).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let users = sb.users().await;
    assert!(differences(&users, &persons).is_empty(), "{users:#?}");
    let adopted = by_user_name(&users, "p0001@corp.example");
    assert_eq!(adopted.len(), 1, "adopted, not duplicated: {users:#?}");
    assert_eq!(adopted[0]["id"], existing.as_str());
    let doc = status_json(&env).await;
    assert_eq!(
        app_status(&doc, "app")["refused_list_params"],
        json!(["count"]),
        "{doc:#}"
    );

    // A new joiner makes the next run read the app again: it never sends `count`.
    persons.push(Person::numbered(5));
    env.set_hr(&csv(&persons));
    px.clear();
    let out = apply(&env).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(differences(&sb.users().await, &persons).is_empty());
    let seen = px.seen();
    assert!(
        seen.iter()
            .any(|s| s.method == Method::GET && s.path.starts_with("/scim/v2/Users")),
        "the app was read: {seen:#?}"
    );
    let with_count: Vec<&Seen> = seen
        .iter()
        .filter(|s| list_with_count(&s.method, &s.path))
        .collect();
    assert!(with_count.is_empty(), "{with_count:#?}");

    let out = run(&env, &["check"]).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("list parameters the app refused, left out: count"),
        "{}",
        text(&out)
    );
    let out = run(&env, &["status"]).await;
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("list parameters the app refused, left out: count"),
        "{}",
        text(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_refusing_primary_in_emails_gets_only_what_the_mapping_produced() {
    let mut persons = people(3);
    let (env, sb, px) = deviating("generic", &persons, |m, _, body| {
        if m != Method::GET && body.contains("\"primary\"") {
            Action::Reply(
                400,
                scim_error(400, Some("invalidValue"), "primary is not allowed"),
            )
        } else {
            Action::Forward
        }
    })
    .await;
    let out = apply(&env).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let users = sb.users().await;
    assert!(differences(&users, &persons).is_empty(), "{users:#?}");
    for p in &persons {
        let u = by_external_id(&users, &p.key)[0];
        assert_eq!(
            u["emails"],
            json!([{"type": "work", "value": p.email}]),
            "{u:#}"
        );
    }
    // An email change goes out without `primary` too.
    persons[0].email = "p0001.new@corp.example".into();
    env.set_hr(&csv(&persons));
    px.clear();
    let out = apply(&env).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let users = sb.users().await;
    let u = by_external_id(&users, "E0001")[0];
    assert_eq!(u["emails"][0]["value"], "p0001.new@corp.example", "{u:#}");
    assert!(px.seen().iter().all(|s| !s.body.contains("\"primary\"")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_listing_only_with_a_filter_is_relinked_after_a_lost_state() {
    let persons = people(4);
    let (env, sb, px) = deviating("google", &persons, |_, _, _| Action::Forward).await;
    let out = apply(&env).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let before = sb.users().await;
    assert!(differences(&before, &persons).is_empty(), "{before:#?}");

    std::fs::remove_file(&env.state).expect("lose the state");
    px.clear();
    let out = run(&env, &["resync"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let after = sb.users().await;
    assert!(differences(&after, &persons).is_empty(), "{after:#?}");
    assert_eq!(after.len(), before.len(), "no second account: {after:#?}");
    let seen = px.seen();
    assert!(
        seen.iter().all(|s| s.method != Method::POST),
        "relinked, not created: {seen:#?}"
    );
    assert!(
        seen.iter()
            .filter(|s| s.method == Method::GET && s.path.starts_with("/scim/v2/Users?"))
            .all(|s| s.path.contains("filter=")),
        "every list carries a filter: {seen:#?}"
    );
    let doc = status_json(&env).await;
    assert_eq!(app_status(&doc, "app")["accounts"]["active"], 4, "{doc:#}");
    let out = run(&env, &["check"]).await;
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("accounts read person by person: the app lists only with a filter"),
        "{}",
        text(&out)
    );
    // And the next apply has nothing to do.
    px.clear();
    let out = apply(&env).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        px.seen().iter().all(|s| s.method == Method::GET),
        "{:#?}",
        px.seen()
    );
}
