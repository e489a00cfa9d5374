//! Each app profile end to end: `hrsync apply` with `profile = NAME` against the sandbox
//! playing that app (`--profile NAME`), behind a recording proxy. For every profile the
//! accounts arrive with the right attributes, a leaver is deprovisioned the app's way, and
//! a further run writes nothing; each test also checks the quirks that profile exists for.

use axum::http::Method;
use hrsync_sandbox::{SandboxHandle, SandboxOptions};
use serde_json::Value;

use crate::util::push::*;
use crate::util::*;

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// A sandbox playing `profile`, a recording proxy in front, and hrsync configured for it.
async fn setup(profile: &str, persons: &[Person], extra: &str) -> (Env, SandboxHandle, Proxy) {
    setup_mapped(profile, persons, extra, |app| app).await
}

/// [`setup`] with the standard app block rewritten by `edit` (a different mapping).
async fn setup_mapped(
    profile: &str,
    persons: &[Person],
    extra: &str,
    edit: impl FnOnce(String) -> String,
) -> (Env, SandboxHandle, Proxy) {
    let sb = sandbox_with(SandboxOptions {
        profile: profile.into(),
        ..SandboxOptions::default()
    })
    .await;
    let px = proxy(sb.addr(), |_, _, _| Action::Forward).await;
    let env = Env::new(&csv(persons));
    env.write_config(&edit(env.app(
        "app",
        &px.base_url(),
        &format!("profile = \"{profile}\"\n{extra}"),
    )));
    (env, sb, px)
}

/// Applies and expects success and exactly the desired accounts.
async fn apply_ok(env: &Env, sb: &SandboxHandle, persons: &[Person]) {
    let out = apply(env).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let problems = differences(&sb.users().await, persons);
    assert!(problems.is_empty(), "{problems:#?}");
}

/// The standard attributes arrived on the account of `p`.
fn assert_attributes(users: &[Value], p: &Person) {
    let u = by_external_id(users, &p.key);
    assert_eq!(u.len(), 1, "{}: {users:#?}", p.key);
    let u = u[0];
    assert_eq!(u["name"]["givenName"], p.first.as_str(), "{u:#}");
    assert_eq!(u["name"]["familyName"], "Test", "{u:#}");
    assert_eq!(u["title"], p.title.as_str(), "{u:#}");
    assert_eq!(u[ENTERPRISE]["department"], p.dept.as_str(), "{u:#}");
    let emails: Vec<&str> = u["emails"]
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["value"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(emails, [p.email.as_str()], "{u:#}");
}

/// Terminates `persons[i]`, applies, and returns the requests of that run.
async fn leave(
    env: &Env,
    sb: &SandboxHandle,
    px: &Proxy,
    persons: &mut [Person],
    i: usize,
) -> Vec<Seen> {
    persons[i].status = "terminated".into();
    env.set_hr(&csv(persons));
    px.clear();
    apply_ok(env, sb, persons).await;
    px.seen()
}

/// A further run on unchanged HR sends no write at all.
async fn settled(env: &Env, px: &Proxy) {
    px.clear();
    let out = apply(env).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let writes: Vec<String> = px
        .seen()
        .iter()
        .filter(|s| s.method != Method::GET)
        .map(|s| format!("{} {}", s.method, s.path))
        .collect();
    assert!(writes.is_empty(), "{writes:?}");
}

fn count(seen: &[Seen], method: Method, path_part: &str) -> usize {
    seen.iter()
        .filter(|s| s.method == method && s.path.contains(path_part))
        .count()
}

/// The decoded `filter` query parameters of the list requests seen.
fn filters(seen: &[Seen]) -> Vec<String> {
    seen.iter()
        .filter(|s| s.method == Method::GET)
        .filter_map(|s| {
            let url = url::Url::parse(&format!("http://x{}", s.path)).ok()?;
            url.query_pairs()
                .find(|(k, _)| k == "filter")
                .map(|(_, v)| v.to_string())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_short_user_names_one_write_per_object_and_delete_that_deactivates() {
    // Slack userNames are handles of at most 21 characters, not emails.
    let mut persons = people(4);
    for p in &mut persons {
        p.login = Some(p.first.to_lowercase());
    }
    persons[1].manager = "E0001".into();
    let (env, sb, px) = setup_mapped(
        "slack",
        &persons,
        "deprovision = { action = \"delete\" }",
        |app| {
            app.replace(
                "userName = \"{{ email | lower }}\"",
                "userName = \"{{ first_name | lower }}\"",
            )
        },
    )
    .await;
    apply_ok(&env, &sb, &persons).await;
    let users = sb.users().await;
    for p in &persons {
        assert_attributes(&users, p);
    }
    let boss = by_external_id(&users, "E0001")[0]["id"].clone();
    let managed = &by_external_id(&users, "E0002")[0][ENTERPRISE]["manager"];
    assert_eq!(
        managed["managerId"], boss,
        "Slack's manager key: {managed:#}"
    );
    assert_eq!(
        sb.stats().throttled,
        0,
        "never two writes to one object at once"
    );

    let seen = leave(&env, &sb, &px, &mut persons, 2).await;
    assert_eq!(count(&seen, Method::DELETE, "/Users/"), 1, "{seen:#?}");
    let gone = by_external_id(&sb.users().await, "E0003")[0].clone();
    assert_eq!(
        gone["active"], false,
        "Slack's DELETE only deactivates: {gone:#}"
    );
    settled(&env, &px).await;

    // Rehired: the same account comes back, no second one.
    persons[2].status = "active".into();
    env.set_hr(&csv(&persons));
    apply_ok(&env, &sb, &persons).await;
    assert_eq!(
        by_external_id(&sb.users().await, "E0003")[0]["id"],
        gone["id"]
    );
    settled(&env, &px).await;

    // A joiner whose handle Slack would refuse is never sent; the others are untouched.
    let mut long = Person::numbered(9);
    long.first = "SomeoneWithAVeryLongName".into();
    let mut hr = persons.clone();
    hr.push(long);
    env.set_hr(&csv(&hr));
    px.clear();
    let out = apply(&env).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("at most 21"), "{}", text(&out));
    assert_eq!(
        count(&px.seen(), Method::POST, "/Users"),
        0,
        "{:#?}",
        px.seen()
    );
    assert!(differences(&sb.users().await, &persons).is_empty());
    // Refused at plan time: the next run writes nothing either, and still exits 1 because
    // the joiner has no account.
    px.clear();
    let out = apply(&env).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        px.seen().iter().all(|s| s.method == Method::GET),
        "{:#?}",
        px.seen()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_user_agent_single_eq_filters_and_soft_deprovision() {
    let mut persons = people(4);
    // GitHub's documented 1,000 users an hour would make this test take minutes.
    let (env, sb, px) = setup("github", &persons, "rate_limit = { per_second = 50 }").await;
    apply_ok(&env, &sb, &persons).await;
    let users = sb.users().await;
    for p in &persons {
        assert_attributes(&users, p);
    }
    let seen = px.seen();
    assert!(
        seen.iter().all(|s| s
            .user_agent
            .as_deref()
            .is_some_and(|u| u.starts_with("hrsync/"))),
        "every request names its client"
    );
    let fs = filters(&seen);
    // The app's accounts are read once by listing; no create needs a filtered lookup.
    // (The one-`eq` form of the lookups GitHub does get is pinned in connectors' tests.)
    assert!(fs.is_empty(), "{fs:?}");

    let seen = leave(&env, &sb, &px, &mut persons, 0).await;
    assert_eq!(
        count(&seen, Method::DELETE, "/Users"),
        0,
        "DELETE is irreversible here"
    );
    assert_eq!(count(&seen, Method::PATCH, "/Users/"), 1, "{seen:#?}");
    settled(&env, &px).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_identity_center_cursor_paging_single_values_and_100_members_per_patch() {
    let mut persons = people(105);
    let (env, sb, px) = setup(
        "aws_identity_center",
        &persons,
        "rate_limit = { per_second = 1000 }\n\n[[apps.groups]]\nname = \"dept-{{ department | slug }}\"",
    )
    .await;
    apply_ok(&env, &sb, &persons).await;
    let users = sb.users().await;
    for p in &persons {
        assert_attributes(&users, p);
    }
    let u = by_external_id(&users, "E0001")[0];
    assert_eq!(
        u["emails"][0]["primary"], true,
        "the single email is primary: {u:#}"
    );
    let seen = px.seen();
    let patches: Vec<&Seen> = seen
        .iter()
        .filter(|s| s.method == Method::PATCH && s.path.contains("/Groups/"))
        .collect();
    assert!(
        patches.len() >= 2,
        "105 members need two PATCHes: {patches:#?}"
    );
    for p in &patches {
        let body: Value = serde_json::from_str(&p.body).expect("json");
        let n: usize = body["Operations"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|op| op["value"].as_array().map_or(1, Vec::len))
            .sum();
        assert!(
            n <= 100,
            "at most 100 membership changes per PATCH, got {n}"
        );
    }
    let group: Value = reqwest::Client::new()
        .get(format!("{}/Groups", sb.base_url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("groups")
        .json()
        .await
        .expect("json");
    assert_eq!(group["totalResults"], 1, "{group:#}");

    // Reading the app back pages with the cursor and finds every account: no drift.
    px.clear();
    let out = run(&env, &["plan", "--detect-drift", "--detailed-exitcode"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        px.seen().iter().any(|s| s.path.contains("cursor=")),
        "{:#?}",
        px.seen()
    );

    let seen = leave(&env, &sb, &px, &mut persons, 0).await;
    assert_eq!(count(&seen, Method::DELETE, "/Users"), 0);
    assert_eq!(count(&seen, Method::PATCH, "/Users/"), 1, "{seen:#?}");
    settled(&env, &px).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zoom_scim_accept_header_and_patch_deactivation() {
    let mut persons = people(4);
    let (env, sb, px) = setup("zoom", &persons, "").await;
    apply_ok(&env, &sb, &persons).await;
    let users = sb.users().await;
    for p in &persons {
        assert_attributes(&users, p);
    }
    let seen = leave(&env, &sb, &px, &mut persons, 3).await;
    assert_eq!(count(&seen, Method::PATCH, "/Users/"), 1, "{seen:#?}");
    assert_eq!(count(&seen, Method::DELETE, "/Users"), 0);
    settled(&env, &px).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn atlassian_email_change_keeps_a_primary_email_and_deactivates_by_patch() {
    let mut persons = people(3);
    let (env, sb, px) = setup("atlassian", &persons, "").await;
    apply_ok(&env, &sb, &persons).await;
    let users = sb.users().await;
    for p in &persons {
        assert_attributes(&users, p);
    }
    let fs = filters(&px.seen());
    assert!(
        fs.iter().all(|f| !f.to_lowercase().contains(" and ")),
        "{fs:?}"
    );

    // A new email is a PATCH that Atlassian accepts only with the email marked primary.
    persons[0].email = "p0001.new@corp.example".into();
    env.set_hr(&csv(&persons));
    apply_ok(&env, &sb, &persons).await;
    let u = by_external_id(&sb.users().await, "E0001")[0].clone();
    assert_eq!(u["emails"][0]["value"], "p0001.new@corp.example", "{u:#}");
    assert_eq!(u["emails"][0]["primary"], true, "{u:#}");

    let seen = leave(&env, &sb, &px, &mut persons, 1).await;
    assert_eq!(count(&seen, Method::PATCH, "/Users/"), 1, "{seen:#?}");
    assert_eq!(count(&seen, Method::DELETE, "/Users"), 0);
    settled(&env, &px).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn salesforce_plural_discovery_and_no_delete() {
    let mut persons = people(3);
    let (env, sb, px) = setup("salesforce", &persons, "").await;
    apply_ok(&env, &sb, &persons).await;
    let users = sb.users().await;
    for p in &persons {
        assert_attributes(&users, p);
    }
    let out = run(&env, &["check"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let seen = px.seen();
    assert!(
        seen.iter()
            .any(|s| s.path.ends_with("/ServiceProviderConfigs")),
        "{seen:#?}"
    );

    let seen = leave(&env, &sb, &px, &mut persons, 0).await;
    assert_eq!(count(&seen, Method::PATCH, "/Users/"), 1, "{seen:#?}");
    assert_eq!(count(&seen, Method::DELETE, "/Users"), 0);
    settled(&env, &px).await;

    // Asking for deletion where the app has none is refused before anything is touched.
    env.write_config(&env.app(
        "app",
        &px.base_url(),
        "profile = \"salesforce\"\ndeprovision = { action = \"delete\" }",
    ));
    let out = apply(&env).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("cannot delete"), "{}", text(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn google_every_list_carries_a_username_filter() {
    let mut persons = people(3);
    let (env, sb, px) = setup("google", &persons, "").await;
    apply_ok(&env, &sb, &persons).await;
    let users = sb.users().await;
    for p in &persons {
        assert_attributes(&users, p);
    }
    let seen = px.seen();
    let lists: Vec<&Seen> = seen
        .iter()
        .filter(|s| s.method == Method::GET && s.path.split('?').next() == Some("/scim/v2/Users"))
        .collect();
    assert!(!lists.is_empty());
    assert!(
        lists.iter().all(|s| s.path.contains("filter=")),
        "Google refuses a list without a filter: {lists:#?}"
    );
    for f in filters(&seen) {
        assert!(f.starts_with("userName eq "), "only userName eq: {f}");
    }

    let seen = leave(&env, &sb, &px, &mut persons, 2).await;
    assert_eq!(count(&seen, Method::PATCH, "/Users/"), 1, "{seen:#?}");
    settled(&env, &px).await;
}
