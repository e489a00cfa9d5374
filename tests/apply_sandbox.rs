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

async fn setup(rows: &[&str], app_extra: &str) -> (Env, hrsync::sandbox::SandboxHandle) {
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
