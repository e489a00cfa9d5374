//! `hrsync apply` against the sandbox over HTTP: joiners, movers, leavers, rehires,
//! unchanged HR, a malformed row, an account that already exists.

use serde_json::json;

use crate::util::*;

fn hr(rows: &[&str]) -> String {
    let mut s = HEADER.to_string();
    for r in rows {
        s.push_str(r);
        s.push('\n');
    }
    s
}

const ANA: &str = "E1,Ana,Lima,Ana.Lima@corp.example,Engineering,Engineer,active,2020-01-01,,";
const BO: &str = "E2,Bo,Chen,bo.chen@corp.example,Sales,Account Executive,active,2021-03-01,,E1";
const CY: &str =
    "E3,Cy,Dahl,cy.dahl@corp.example,Sales,Sales Manager,terminated,2019-01-01,2025-06-30,";

async fn setup(rows: &[&str], app_extra: &str) -> (Env, hrsync_sandbox::SandboxHandle) {
    let sb = sandbox().await;
    let env = Env::new(&hr(rows));
    env.write_config(&env.app("app", &sb.base_url(), app_extra));
    (env, sb)
}

async fn apply(env: &Env) -> std::process::Output {
    let config = env.config.clone();
    blocking(move || hrsync_cmd(&config, &["apply", "--yes"])).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn initial_apply_creates_exactly_the_active_persons_with_mapped_attributes() {
    let (env, sb) = setup(&[ANA, BO, CY], "").await;
    let out = apply(&env).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let users = sb.users().await;
    assert_eq!(users.len(), 2, "only the two active persons: {users:#?}");
    assert!(
        by_external_id(&users, "E3").is_empty(),
        "terminated person got an account"
    );
    let ana = by_external_id(&users, "E1");
    assert_eq!(ana.len(), 1);
    let ana = ana[0];
    assert_eq!(ana["userName"], "ana.lima@corp.example");
    assert_eq!(ana["name"]["givenName"], "Ana");
    assert_eq!(ana["title"], "Engineer");
    assert_eq!(ana["active"], true);
    assert_eq!(
        ana["emails"][0]["value"], "ana.lima@corp.example",
        "work email: {ana:#}"
    );
    assert_eq!(
        ana["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["department"],
        "Engineering"
    );
    let bo = by_external_id(&users, "E2")[0];
    assert_eq!(
        bo["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["manager"]["value"],
        ana["id"],
        "manager reference resolved to Ana's account id: {bo:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mover_is_one_patch_and_unchanged_hr_sends_nothing() {
    let (env, sb) = setup(&[ANA, BO], "").await;
    assert_eq!(apply(&env).await.status.code(), Some(0));
    sb.reset_stats();
    let out = apply(&env).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stats = sb.stats();
    assert_eq!(
        stats.total, 0,
        "unchanged HR must send no request at all: {stats:?}"
    );

    env.set_hr(&hr(&[
        "E1,Ana,Lima,Ana.Lima@corp.example,Engineering,Senior Engineer,active,2020-01-01,,",
        BO,
    ]));
    sb.reset_stats();
    let out = apply(&env).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stats = sb.stats();
    assert_eq!(stats.writes, 1, "one changed title is one write: {stats:?}");
    assert_eq!(stats.by_method.get("PATCH").copied(), Some(1), "{stats:?}");
    assert_eq!(stats.reads, 0, "no per-person reads: {stats:?}");
    let users = sb.users().await;
    assert_eq!(by_external_id(&users, "E1")[0]["title"], "Senior Engineer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaver_is_deactivated_not_deleted_and_rehire_reactivates_the_same_account() {
    let (env, sb) = setup(&[ANA, BO], "").await;
    assert_eq!(apply(&env).await.status.code(), Some(0));
    let id = by_external_id(&sb.users().await, "E2")[0]["id"].clone();

    env.set_hr(&hr(&[
        ANA,
        "E2,Bo,Chen,bo.chen@corp.example,Sales,Account Executive,terminated,2021-03-01,2025-01-31,E1",
    ]));
    let out = apply(&env).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let users = sb.users().await;
    assert_eq!(users.len(), 2, "nothing deleted");
    let bo = by_external_id(&users, "E2");
    assert_eq!(bo.len(), 1);
    assert_eq!(bo[0]["active"], false);
    assert_eq!(sb.stats().by_method.get("DELETE").copied().unwrap_or(0), 0);

    env.set_hr(&hr(&[ANA, BO]));
    let out = apply(&env).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let users = sb.users().await;
    let bo = by_external_id(&users, "E2");
    assert_eq!(bo.len(), 1, "rehire must not create a second account");
    assert_eq!(bo[0]["id"], id, "the same account");
    assert_eq!(bo[0]["active"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_row_is_reported_with_file_and_line_and_others_still_sync() {
    let (env, sb) = setup(
        &[
            ANA,
            "E9,Broken,Row,not-an-email,Sales,Rep,active,2020-01-01,,",
            BO,
        ],
        "",
    )
    .await;
    let out = apply(&env).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let users = sb.users().await;
    assert_eq!(users.len(), 2, "{users:#?}");
    assert!(by_external_id(&users, "E9").is_empty());
    let config = env.config.clone();
    let plan = blocking(move || hrsync_cmd(&config, &["plan"])).await;
    let report = String::from_utf8_lossy(&plan.stdout);
    assert!(
        report.contains("line 3") && report.contains("E9") && report.contains("email"),
        "the report names line, key and field: {}",
        text(&plan)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn existing_account_with_the_same_user_name_is_linked_not_duplicated() {
    let (env, sb) = setup(&[ANA], "").await;
    let client = reqwest::Client::new();
    let resp = client
        .post(format!("{}/Users", sb.base_url()))
        .bearer_auth(TOKEN)
        .json(&json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "ANA.LIMA@corp.example",
            "title": "Made by hand",
            "active": true
        }))
        .send()
        .await
        .expect("seed");
    assert!(resp.status().is_success());
    let out = apply(&env).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let users = sb.users().await;
    let ana = by_user_name(&users, "ana.lima@corp.example");
    assert_eq!(ana.len(), 1, "linked, not duplicated: {users:#?}");
    assert_eq!(ana[0]["externalId"], "E1", "now carries the HR key");
    assert_eq!(ana[0]["title"], "Engineer", "brought to the desired state");
}

/// Only `department == 'Engineering'` gets an account; moving out of scope deactivates
/// (never deletes) and moving back in reactivates the same account.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scope_selects_who_gets_an_account_and_leaving_it_deactivates() {
    const DEE: &str =
        "E4,Dee,Ng,dee.ng@corp.example,Engineering,Engineer,terminated,2019-01-01,2025-06-30,";
    let scope = "scope = \"department == 'Engineering'\"";
    let (env, sb) = setup(&[ANA, BO, CY, DEE], scope).await;
    let out = apply(&env).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let users = sb.users().await;
    assert_eq!(
        users.len(),
        1,
        "only the active Engineering person has an account: {users:#?}"
    );
    let id = by_external_id(&users, "E1")[0]["id"].clone();

    // Ana moves to Sales (out of scope), Bo moves to Engineering (into scope).
    env.set_hr(&hr(&[
        "E1,Ana,Lima,Ana.Lima@corp.example,Sales,Engineer,active,2020-01-01,,",
        "E2,Bo,Chen,bo.chen@corp.example,Engineering,Account Executive,active,2021-03-01,,E1",
        CY,
        DEE,
    ]));
    let config = env.config.clone();
    let plan = blocking(move || hrsync_cmd(&config, &["plan"])).await;
    let report = String::from_utf8_lossy(&plan.stdout);
    let ana_line = report
        .lines()
        .find(|l| l.contains("E1 "))
        .unwrap_or_default();
    assert!(
        ana_line.contains("deactivate") && ana_line.contains("left scope"),
        "the plan deactivates Ana because she left scope: {}",
        text(&plan)
    );
    sb.reset_stats();
    let out = apply(&env).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let users = sb.users().await;
    assert_eq!(users.len(), 2, "Bo created, nobody deleted: {users:#?}");
    let ana = by_external_id(&users, "E1");
    assert_eq!(ana.len(), 1);
    assert_eq!(ana[0]["active"], false, "out of scope: deactivated");
    assert_eq!(sb.stats().by_method.get("DELETE").copied().unwrap_or(0), 0);
    let bo = by_external_id(&users, "E2");
    assert_eq!(bo.len(), 1, "moved into scope: created");
    assert_eq!(bo[0]["active"], true);

    // Ana comes back to Engineering: the same account is enabled again.
    env.set_hr(&hr(&[
        ANA,
        "E2,Bo,Chen,bo.chen@corp.example,Engineering,Account Executive,active,2021-03-01,,E1",
        CY,
        DEE,
    ]));
    let out = apply(&env).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("reactivated 1"),
        "{}",
        text(&out)
    );
    let users = sb.users().await;
    assert_eq!(users.len(), 2, "{users:#?}");
    let ana = by_external_id(&users, "E1");
    assert_eq!(ana.len(), 1, "back in scope: no second account");
    assert_eq!(ana[0]["id"], id, "the same account");
    assert_eq!(ana[0]["active"], true);
    assert_eq!(
        ana[0]["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["department"],
        "Engineering"
    );
    assert!(by_external_id(&users, "E3").is_empty() && by_external_id(&users, "E4").is_empty());
}

/// The app's search does not show an account that exists (a lagging index), so the POST
/// answers 409: hrsync looks again, links that account and brings it to the desired
/// state under the conflict rules, with no second POST.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_answered_409_is_resolved_by_lookup_and_link() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    use crate::util::push::{proxy, Action};

    let sb = sandbox().await;
    let client = reqwest::Client::new();
    let resp = client
        .post(format!("{}/Users", sb.base_url()))
        .bearer_auth(TOKEN)
        .json(&json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "Ana.Lima@corp.example",
            "displayName": "Ana (made by hand)",
            "title": "Hand-made title",
            "active": true
        }))
        .send()
        .await
        .expect("seed");
    assert!(resp.status().is_success());
    let seeded_id = resp.json::<serde_json::Value>().await.expect("json")["id"].clone();

    // Searches come back empty until the first POST; after it the app's index has caught up.
    let posted = Arc::new(AtomicBool::new(false));
    let flag = posted.clone();
    let px = proxy(sb.addr(), move |method, path, _| {
        if *method == axum::http::Method::POST && path.ends_with("/Users") {
            flag.store(true, Ordering::SeqCst);
        } else if *method == axum::http::Method::GET
            && (path.contains("filter=") || path.contains("/Users?") || path.ends_with("/Users"))
            && !flag.load(Ordering::SeqCst)
        {
            return Action::Reply(
                200,
                json!({
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
                    "totalResults": 0, "startIndex": 1, "itemsPerPage": 0, "Resources": []
                }),
            );
        }
        Action::Forward
    })
    .await;
    let env = Env::new(&hr(&[ANA]));
    env.write_config(&format!(
        "{}\n[apps.conflicts]\ndefault = \"hr_wins\"\ntitle = \"app_wins\"\n",
        env.app("app", &px.base_url(), "bulk = false")
    ));
    sb.reset_stats();
    let out = apply(&env).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        posted.load(Ordering::SeqCst),
        "the lookup before the POST must have missed the account"
    );
    let seen = px.seen();
    let posts: Vec<_> = seen
        .iter()
        .filter(|s| s.method == axum::http::Method::POST && s.path.ends_with("/Users"))
        .collect();
    assert_eq!(posts.len(), 1, "one POST (answered 409), never a second");
    assert_eq!(sb.stats().users_created, 0, "no account was created");

    let users = sb.users().await;
    assert_eq!(users.len(), 1, "linked, not duplicated: {users:#?}");
    let ana = &users[0];
    assert_eq!(ana["id"], seeded_id, "the existing account");
    assert_eq!(ana["externalId"], "E1", "now carries the HR key");
    assert_eq!(
        ana["displayName"], "Ana Lima",
        "hr_wins: brought to HR's value"
    );
    assert_eq!(
        ana["title"], "Hand-made title",
        "app_wins (create-only): the app's value is kept"
    );
    assert_eq!(ana["active"], true);

    // The link is recorded: the next apply has nothing to do and sends no request.
    sb.reset_stats();
    px.clear();
    let out = apply(&env).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(sb.stats().total, 0, "linked in the state: {:?}", px.seen());
}

/// With `match_on = ["externalId"]` an account that merely holds the person's userName is
/// not hrsync's to take: the 409 is reported on the person, nothing is duplicated, and the
/// hand-made account is left as it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_409_for_an_account_outside_match_on_is_reported_not_adopted() {
    let (env, sb) = setup(&[ANA, BO], "match_on = [\"externalId\"]").await;
    let client = reqwest::Client::new();
    let resp = client
        .post(format!("{}/Users", sb.base_url()))
        .bearer_auth(TOKEN)
        .json(&json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "ANA.LIMA@corp.example",
            "title": "Made by hand",
            "active": true
        }))
        .send()
        .await
        .expect("seed");
    assert!(resp.status().is_success());
    let seeded_id = resp.json::<serde_json::Value>().await.expect("json")["id"].clone();
    let out = apply(&env).await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "a failed operation: {}",
        text(&out)
    );
    let report = String::from_utf8_lossy(&out.stdout);
    let line = report
        .lines()
        .find(|l| l.contains("create E1"))
        .unwrap_or_default();
    assert!(
        line.contains("uniqueness") && line.contains(seeded_id.as_str().unwrap_or("?")),
        "the failure names the conflict and the account holding the name: {}",
        text(&out)
    );
    let users = sb.users().await;
    assert_eq!(users.len(), 2, "Bo created, no second Ana: {users:#?}");
    let hand_made = by_user_name(&users, "ana.lima@corp.example");
    assert_eq!(hand_made.len(), 1);
    assert_eq!(hand_made[0]["id"], seeded_id);
    assert_eq!(hand_made[0]["title"], "Made by hand", "left as it was");
    assert!(hand_made[0].get("externalId").is_none(), "not stamped");
    assert_eq!(by_external_id(&users, "E2").len(), 1);
}
