//! The plan tells the truth: on the demo data, and after a lost state with accounts
//! changed in the app, the requests `apply` sends are exactly the operations `plan`
//! showed (one create per `+ create`, one write per link or update, nothing for a skip),
//! with no per-person lookups, and a plain `plan` writes nothing.

use std::collections::BTreeMap;

use axum::http::Method;
use serde_json::{json, Value};

use crate::util::push::{proxy, run, seed_account, Action, Proxy, Seen};
use crate::util::*;

const DAY1: &str = include_str!("../examples/hr_day1.csv");
const DAY2: &str = include_str!("../examples/hr_day2.csv");

/// The demo's hand-made wiki accounts: one employee's (adopted), an exempt admin, an orphan.
async fn seed(sb: &hrsync_sandbox::SandboxHandle) {
    for u in [
        json!({"userName": "sven.kim@corp.example", "displayName": "Sven Kim", "title": "Hand-made",
               "emails": [{"type": "work", "value": "sven.kim@corp.example"}]}),
        json!({"userName": "breakglass-admin@corp.example", "displayName": "Break-glass admin"}),
        json!({"userName": "old.contractor@corp.example", "displayName": "Old Contractor"}),
    ] {
        seed_account(sb, u).await;
    }
}

/// The wiki of the demo, behind the recording proxy.
fn configure(env: &Env, px: &Proxy, extra: &str) {
    let app = env.app(
        "wiki",
        &px.base_url(),
        &format!(
            "pre_provision_days = 7\nexempt = [\"breakglass-admin@corp.example\"]\n\
             deprovision = {{ action = \"deactivate\", delete_after_days = 30 }}\n{extra}"
        ),
    );
    env.write_config(&app);
}

/// `plan --format json` for the wiki, parsed; the app sees no write.
async fn plan_json(env: &Env, px: &Proxy, drift: bool) -> Value {
    px.clear();
    let mut args = vec!["plan", "--format", "json"];
    if drift {
        args.push("--detect-drift");
    }
    let out = run(env, &args).await;
    assert!(matches!(out.status.code(), Some(0 | 2)), "{}", text(&out));
    let writes: Vec<Seen> = px
        .seen()
        .into_iter()
        .filter(|s| s.method != Method::GET)
        .collect();
    assert!(writes.is_empty(), "plan wrote to the app: {writes:?}");
    let doc: Value = serde_json::from_slice(&out.stdout).expect("plan JSON");
    doc["apps"][0].clone()
}

/// What the plan says apply sends: (verb, HR key) per request.
fn expected(app: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for op in app["operations"].as_array().expect("operations") {
        let key = op["key"].as_str().unwrap_or_default().to_string();
        let verb = match (op["op"].as_str(), op["adopt"]["decision"].as_str()) {
            (Some("create"), Some("skip" | "fail")) | (Some("rebase"), _) => continue,
            (Some("create"), None) if op["remote_id"].is_null() => "create",
            (Some("delete"), _) => "delete",
            _ => "write",
        };
        out.push((verb.to_string(), key.clone()));
        let second_pass = op["pending_refs"]
            .as_array()
            .is_some_and(|r| r.iter().any(|r| r["at_create"] != true));
        if second_pass {
            // The manager reference, once the manager's account exists; one whose manager
            // is created first this cycle goes with the create.
            out.push(("write".to_string(), key));
        }
    }
    out.sort();
    out
}

/// What the app saw: (verb, HR key) per user write, Bulk operations counted one by one.
fn observed(seen: &[Seen], owner: &BTreeMap<String, String>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut one = |method: &str, path: &str, body: &Value| {
        let Some(rest) = path.split("/Users").nth(1) else {
            return;
        };
        let id = rest.trim_start_matches('/').split('?').next().unwrap_or("");
        let key = if id.is_empty() {
            body["externalId"].as_str().unwrap_or("?").to_string()
        } else {
            owner.get(id).cloned().unwrap_or_else(|| format!("id {id}"))
        };
        let verb = match method {
            "POST" => "create",
            "DELETE" => "delete",
            _ => "write",
        };
        out.push((verb.to_string(), key));
    };
    for s in seen.iter().filter(|s| s.method != Method::GET) {
        let body: Value = serde_json::from_str(&s.body).unwrap_or(Value::Null);
        if s.path.contains("/Bulk") {
            for op in body["Operations"].as_array().into_iter().flatten() {
                let m = op["method"].as_str().unwrap_or("").to_uppercase();
                one(&m, op["path"].as_str().unwrap_or(""), &op["data"]);
            }
        } else {
            one(s.method.as_str(), &s.path, &body);
        }
    }
    out.sort();
    out
}

/// Account id → HR key (externalId), for every account the app holds.
async fn owners(sb: &hrsync_sandbox::SandboxHandle) -> BTreeMap<String, String> {
    sb.users()
        .await
        .iter()
        .filter_map(|u| {
            Some((
                u["id"].as_str()?.to_string(),
                u["externalId"].as_str()?.to_string(),
            ))
        })
        .collect()
}

/// Applies and checks the requests against the plan, operation by operation.
async fn apply_matches(env: &Env, px: &Proxy, sb: &hrsync_sandbox::SandboxHandle, plan: &Value) {
    px.clear();
    let before = owners(sb).await;
    let out = run(env, &["apply", "--yes"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let mut owner = owners(sb).await;
    owner.extend(before);
    let seen = px.seen();
    assert_eq!(observed(&seen, &owner), expected(plan), "{}", text(&out));
    let lookups: Vec<&Seen> = seen.iter().filter(|s| s.path.contains("filter=")).collect();
    assert!(lookups.is_empty(), "no per-person lookups: {lookups:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_sends_exactly_the_operations_the_plan_showed_on_the_demo_data() {
    let sb = sandbox().await;
    seed(&sb).await;
    let px = proxy(sb.addr(), |_, _, _| Action::Forward).await;
    let env = Env::new(DAY1);
    configure(&env, &px, "");
    let plan = plan_json(&env, &px, false).await;
    let sven = plan["operations"]
        .as_array()
        .and_then(|ops| {
            ops.iter()
                .find(|o| o["userName"] == "sven.kim@corp.example")
        })
        .expect("sven planned")
        .clone();
    assert_eq!(sven["adopt"]["decision"], "link", "{sven:#}");
    assert!(
        sven["changes"].as_array().is_some_and(|c| c
            .iter()
            .any(|c| c["path"] == "title" && c["old"] == "Hand-made")),
        "the adoption shows what it overwrites: {sven:#}"
    );
    assert_eq!(plan["summary"]["link"], 1);
    apply_matches(&env, &px, &sb, &plan).await;
    let users = sb.users().await;
    assert_eq!(by_user_name(&users, "sven.kim@corp.example").len(), 1);

    // The next day, from the state: the plan is what apply does again.
    env.set_hr(DAY2);
    let plan = plan_json(&env, &px, false).await;
    apply_matches(&env, &px, &sb, &plan).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_lost_state_and_drift_the_plan_shows_the_relinks_apply_performs() {
    let sb = sandbox().await;
    seed(&sb).await;
    let px = proxy(sb.addr(), |_, _, _| Action::Forward).await;
    let env = Env::new(DAY1);
    configure(&env, &px, "");
    let out = run(&env, &["apply", "--yes"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // Someone edits an account in the app, the state is lost, HR moves on a week.
    let users = sb.users().await;
    let nia = by_user_name(&users, "nia.okafor@corp.example")[0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let r = reqwest::Client::new()
        .patch(format!("{}/Users/{nia}", sb.base_url()))
        .bearer_auth(TOKEN)
        .json(
            &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "title", "value": "Edited in the app"}]}),
        )
        .send()
        .await
        .expect("patch");
    assert!(r.status().is_success());
    std::fs::remove_file(&env.state).expect("lose the state");
    env.set_hr(DAY2);

    let plan = plan_json(&env, &px, true).await;
    let relink = plan["operations"]
        .as_array()
        .and_then(|ops| ops.iter().find(|o| o["remote_id"] == nia.as_str()))
        .expect("nia relinked")
        .clone();
    assert!(
        relink["changes"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c["old"] == "Edited in the app")),
        "{relink:#}"
    );
    apply_matches(&env, &px, &sb, &plan).await;
    let users = sb.users().await;
    assert_eq!(by_user_name(&users, "nia.okafor@corp.example").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_skip_policy_is_shown_and_nothing_is_sent_for_the_match() {
    let sb = sandbox().await;
    seed(&sb).await;
    let px = proxy(sb.addr(), |_, _, _| Action::Forward).await;
    let env = Env::new(DAY1);
    configure(&env, &px, "on_unlinked_match = \"skip\"");
    let out = run(&env, &["plan"]).await;
    let shown = text(&out);
    assert!(
        shown
            .lines()
            .any(|l| l.trim_start().starts_with("? skip") && l.contains("sven.kim")),
        "{shown}"
    );
    assert!(shown.contains("1 to skip"), "{shown}");
    let plan = plan_json(&env, &px, false).await;
    apply_matches(&env, &px, &sb, &plan).await;
}
