//! Conflict rules per attribute, drift detection and forced resync, over HTTP against the
//! sandbox: manual edits in the app meet `[apps.conflicts]` overrides; `plan --detect-drift`
//! shows drift, orphans and vanished links with GET requests only; `resync` is limited by
//! `--app`, changes nothing with `--dry-run`, and recreates a vanished account exactly once.
//! Also holds the small SCIM helpers the other issue-3 test files use to edit an app by hand.

use std::process::Output;

use reqwest::Method;
use serde_json::{json, Value};

use crate::util::push::{csv, people, run};
use crate::util::*;

/// The enterprise extension's department path, as mapped by `Env::app`.
pub(crate) const DEPT: &str =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department";

/// The command's stdout.
pub(crate) fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

/// One SCIM request to the sandbox as a person editing the app by hand; returns the body.
pub(crate) async fn scim(base_url: &str, method: Method, path: &str, body: Option<Value>) -> Value {
    let mut req = reqwest::Client::new()
        .request(method.clone(), format!("{base_url}{path}"))
        .bearer_auth(TOKEN);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("request to the sandbox");
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    assert!(
        status.is_success(),
        "manual {method} {path} failed: {status} {text}"
    );
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// Sets one attribute of an account by hand (a PATCH replace).
pub(crate) async fn set_attr(base_url: &str, id: &str, path: &str, value: Value) {
    scim(
        base_url,
        Method::PATCH,
        &format!("/Users/{id}"),
        Some(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": path, "value": value}]
        })),
    )
    .await;
}

/// Creates an account hrsync knows nothing about; returns its id.
pub(crate) async fn stranger(base_url: &str, user_name: &str) -> String {
    let u = scim(
        base_url,
        Method::POST,
        "/Users",
        Some(
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": user_name, "active": true}),
        ),
    )
    .await;
    u["id"].as_str().expect("id").to_string()
}

/// The only account carrying this externalId (fails on none or several).
pub(crate) fn one<'a>(users: &'a [Value], key: &str) -> &'a Value {
    let found = by_external_id(users, key);
    assert_eq!(
        found.len(),
        1,
        "{key}: want exactly one account: {users:#?}"
    );
    found[0]
}

/// The account id of the person with this key.
pub(crate) fn id_of(users: &[Value], key: &str) -> String {
    one(users, key)["id"].as_str().expect("id").to_string()
}

fn dept(u: &Value) -> &Value {
    &u["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["department"]
}

async fn json_of(env: &Env, args: &[&str]) -> Value {
    let o = run(env, args).await;
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(&o)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_attribute_overrides_decide_each_manual_edit_and_every_report_shows_the_conflict() {
    let sb = sandbox().await;
    let base = sb.base_url();
    let env = Env::new(&csv(&people(2)));
    env.write_config(&format!(
        "{}\n[apps.conflicts]\ndefault = \"hr_wins\"\ntitle = \"app_wins\"\n\"{DEPT}\" = \"report\"\n",
        env.app("app", &base, "")
    ));
    assert_eq!(run(&env, &["apply", "--yes"]).await.status.code(), Some(0));
    let id = id_of(&sb.users().await, "E0001");
    set_attr(&base, &id, "displayName", json!("Renamed By Hand")).await;
    set_attr(&base, &id, "title", json!("Edited Title")).await;
    set_attr(&base, &id, DEPT, json!("Edited Dept")).await;

    sb.reset_stats();
    let drift = run(&env, &["plan", "--detect-drift"]).await;
    let t = out(&drift);
    assert!(
        t.contains("displayName: \"Renamed By Hand\" → \"P0001 Test\""),
        "hr_wins (default): drift to overwrite: {t}"
    );
    assert!(
        t.contains("urn:…:enterprise:2.0:User:department: app \"Edited Dept\", HR \"Sales\" (rule: report)"),
        "report: listed as a conflict: {t}"
    );
    assert!(
        !t.contains("\"Edited Title\" →"),
        "app_wins: never pushed: {t}"
    );

    let doc = json_of(&env, &["plan", "--detect-drift", "--format", "json"]).await;
    let app = &doc["apps"][0];
    let updates: Vec<&Value> = app["operations"]
        .as_array()
        .expect("operations")
        .iter()
        .filter(|o| o["key"] == "E0001")
        .collect();
    assert_eq!(updates.len(), 1, "{app:#}");
    assert_eq!(updates[0]["op"], "update");
    let paths: Vec<&Value> = updates[0]["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| &c["path"])
        .collect();
    assert_eq!(
        paths,
        vec!["displayName"],
        "only the hr_wins attribute is pushed"
    );
    assert_eq!(
        app["conflicts"],
        json!([{"key": "E0001", "userName": "p0001@corp.example", "path": DEPT,
                "app": "Edited Dept", "hr": "Sales", "rule": "report"}])
    );
    let md = out(&run(&env, &["plan", "--detect-drift", "--format", "markdown"]).await);
    assert!(
        md.contains("| conflict | E0001 | p0001@corp.example | `urn:…:enterprise:2.0:User:department`: app \"Edited Dept\", HR \"Sales\" (rule: report) |"),
        "{md}"
    );
    let html = out(&run(&env, &["plan", "--detect-drift", "--format", "html"]).await);
    // The HTML report shows conflicts as a table of their own, a column per fact.
    let conflicts = html.split("<h3>Conflicts in app</h3>").nth(1).unwrap_or("");
    assert!(
        conflicts.contains("<tr><td>E0001</td><td>p0001@corp.example</td><td>urn:…:enterprise:2.0:User:department</td><td>&quot;Edited Dept&quot;</td><td>&quot;Sales&quot;</td><td>report</td></tr>"),
        "{html}"
    );
    assert_eq!(sb.stats().writes, 0, "drift detection writes nothing");

    let r = run(&env, &["resync"]).await;
    assert_eq!(r.status.code(), Some(0), "{}", text(&r));
    let users = sb.users().await;
    let u = one(&users, "E0001");
    assert_eq!(u["displayName"], "P0001 Test", "hr_wins overwrote the edit");
    assert_eq!(u["title"], "Edited Title", "app_wins kept the edit");
    assert_eq!(dept(u), "Edited Dept", "report left the edit alone");
    assert_eq!(one(&users, "E0002")["title"], "Rep");

    sb.reset_stats();
    let r = run(&env, &["resync"]).await;
    assert_eq!(r.status.code(), Some(0), "{}", text(&r));
    assert_eq!(sb.stats().writes, 0, "converged: {:?}", sb.stats());
    // A later cycle that does not read the app must not make the open conflict disappear.
    assert_eq!(run(&env, &["apply", "--yes"]).await.status.code(), Some(0));
    let status = out(&run(&env, &["status"]).await);
    assert!(
        status.contains(&format!(
            "conflict E0001 {DEPT}: app \"Edited Dept\", HR \"Sales\" (rule: report)"
        )),
        "{status}"
    );
    assert!(
        !status.contains("E0001 title"),
        "app_wins is no conflict: {status}"
    );
    // Nor a surgical resync of someone else, which reads only that person.
    let r = run(&env, &["resync", "--user", "E0002"]).await;
    assert_eq!(r.status.code(), Some(0), "{}", text(&r));
    let status = out(&run(&env, &["status"]).await);
    assert!(
        status.contains("conflict E0001"),
        "a --user resync does not hide other persons' conflicts: {status}"
    );

    // HR moves the person: a report attribute still follows HR changes.
    let mut moved = people(2);
    moved[0].dept = "Support".into();
    moved[0].title = "Agent".into();
    env.set_hr(&csv(&moved));
    assert_eq!(run(&env, &["apply", "--yes"]).await.status.code(), Some(0));
    let u = one(&sb.users().await, "E0001").clone();
    assert_eq!(dept(&u), "Support", "HR changed it: pushed");
    assert_eq!(u["title"], "Edited Title", "app_wins: create-only");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn detect_drift_shows_vanished_links_orphans_and_drift_and_only_reads() {
    let sb = sandbox().await;
    let base = sb.base_url();
    let env = Env::new(&csv(&people(3)));
    env.write_config(&env.app("app", &base, ""));
    assert_eq!(run(&env, &["apply", "--yes"]).await.status.code(), Some(0));
    let users = sb.users().await;
    scim(
        &base,
        Method::DELETE,
        &format!("/Users/{}", id_of(&users, "E0002")),
        None,
    )
    .await;
    set_attr(&base, &id_of(&users, "E0003"), "title", json!("Edited")).await;
    stranger(&base, "stranger@corp.example").await;

    sb.reset_stats();
    let plain = run(&env, &["plan"]).await;
    assert_eq!(sb.stats().total, 0, "plain plan does not call the app");
    assert!(!out(&plain).contains("vanished"), "{}", text(&plain));

    let drift = run(&env, &["plan", "--detect-drift"]).await;
    assert_eq!(drift.status.code(), Some(0), "{}", text(&drift));
    let t = out(&drift);
    assert!(t.contains("? vanished     E0002"), "{t}");
    assert!(
        t.contains("+ create       E0002"),
        "recreation planned: {t}"
    );
    assert!(
        t.contains("? orphan") && t.contains("stranger@corp.example"),
        "{t}"
    );
    assert!(t.contains("title: \"Edited\" → \"Rep\""), "{t}");
    let doc = json_of(&env, &["plan", "--detect-drift", "--format", "json"]).await;
    let app = &doc["apps"][0];
    assert_eq!(app["vanished"], json!(["E0002"]), "{app:#}");
    assert_eq!(app["orphans"][0]["userName"], "stranger@corp.example");
    assert_eq!(app["remote_read"], true);
    let md = out(&run(&env, &["plan", "--detect-drift", "--format", "markdown"]).await);
    assert!(md.contains("| vanished | E0002 |"), "{md}");
    assert!(
        md.contains("| orphan | - | stranger@corp.example |"),
        "{md}"
    );

    let stats = sb.stats();
    assert_eq!(stats.writes, 0, "GET only: {stats:?}");
    assert!(stats.reads > 0, "the app was read: {stats:?}");
    assert_eq!(sb.users().await.len(), 3, "nothing created or deleted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resync_of_one_app_leaves_the_other_app_alone() {
    let (a, b) = (sandbox().await, sandbox().await);
    let env = Env::new(&csv(&people(2)));
    env.write_config(&format!(
        "{}\n{}",
        env.app("a", &a.base_url(), ""),
        env.app("b", &b.base_url(), "")
    ));
    assert_eq!(run(&env, &["apply", "--yes"]).await.status.code(), Some(0));
    for sb in [&a, &b] {
        let id = id_of(&sb.users().await, "E0001");
        set_attr(&sb.base_url(), &id, "title", json!("Edited")).await;
    }
    a.reset_stats();
    b.reset_stats();
    let r = run(&env, &["resync", "--app", "a"]).await;
    assert_eq!(r.status.code(), Some(0), "{}", text(&r));
    assert_eq!(
        one(&a.users().await, "E0001")["title"],
        "Rep",
        "a corrected"
    );
    assert_eq!(
        one(&b.users().await, "E0001")["title"],
        "Edited",
        "b untouched"
    );
    assert_eq!(b.stats().total, 0, "b not even read: {:?}", b.stats());
    assert_eq!(a.stats().writes, 1, "one PATCH: {:?}", a.stats());

    let r = run(&env, &["resync"]).await;
    assert_eq!(r.status.code(), Some(0), "{}", text(&r));
    assert_eq!(one(&b.users().await, "E0001")["title"], "Rep");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resync_dry_run_changes_nothing_and_resync_recreates_a_vanished_account_once() {
    let sb = sandbox().await;
    let base = sb.base_url();
    let env = Env::new(&csv(&people(3)));
    env.write_config(&env.app("app", &base, ""));
    assert_eq!(run(&env, &["apply", "--yes"]).await.status.code(), Some(0));
    let users = sb.users().await;
    let old_id = id_of(&users, "E0002");
    scim(&base, Method::DELETE, &format!("/Users/{old_id}"), None).await;
    set_attr(&base, &id_of(&users, "E0003"), "title", json!("Edited")).await;
    let audit_rows = |o: Output| -> usize {
        serde_json::from_slice::<Vec<Value>>(&o.stdout)
            .expect("audit json")
            .len()
    };
    let audit_before = audit_rows(run(&env, &["audit", "--format", "json"]).await);

    sb.reset_stats();
    let dry = run(&env, &["resync", "--dry-run"]).await;
    assert_eq!(dry.status.code(), Some(0), "{}", text(&dry));
    let t = out(&dry);
    assert!(t.contains("+ create       E0002"), "{t}");
    assert!(t.contains("title: \"Edited\" → \"Rep\""), "{t}");
    assert_eq!(sb.stats().writes, 0, "dry run: {:?}", sb.stats());
    let users = sb.users().await;
    assert!(by_external_id(&users, "E0002").is_empty());
    assert_eq!(one(&users, "E0003")["title"], "Edited");
    assert_eq!(
        audit_rows(run(&env, &["audit", "--format", "json"]).await),
        audit_before,
        "dry run records nothing"
    );

    let r = run(&env, &["resync"]).await;
    assert_eq!(r.status.code(), Some(0), "{}", text(&r));
    let users = sb.users().await;
    let e2 = one(&users, "E0002");
    assert_ne!(e2["id"].as_str(), Some(old_id.as_str()), "a new account");
    assert_eq!(e2["active"], true);
    assert_eq!(e2["userName"], "p0002@corp.example");
    assert_eq!(one(&users, "E0003")["title"], "Rep");
    assert_eq!(users.len(), 3);

    sb.reset_stats();
    let r = run(&env, &["resync"]).await;
    assert_eq!(r.status.code(), Some(0), "{}", text(&r));
    assert_eq!(sb.stats().writes, 0, "converged: {:?}", sb.stats());
    assert_eq!(by_external_id(&sb.users().await, "E0002").len(), 1);
    let plan = run(&env, &["plan", "--detailed-exitcode"]).await;
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
}
