//! `hrsync access` over a scripted history against the sandbox (joiners, a mover, a
//! leaver, a rehire, a leaver and a scope change one app has not seen yet, an orphan, exempt
//! accounts): the review agrees with the audit trail and names every exception.

use serde_json::{json, Value};

use crate::util::*;

fn row(key: &str, first: &str, dept: &str, status: &str) -> String {
    let end = if status == "terminated" {
        "2025-01-31"
    } else {
        ""
    };
    format!(
        "{key},{first},Test,{}.test@corp.example,{dept},Rep,{status},2020-01-01,{end},\n",
        first.to_lowercase()
    )
}

fn hr(rows: &[(&str, &str, &str, &str)]) -> String {
    let body: String = rows.iter().map(|(k, f, d, s)| row(k, f, d, s)).collect();
    format!("{HEADER}{body}")
}

async fn run(env: &Env, args: &[&str]) -> std::process::Output {
    let config = env.config.clone();
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let out = blocking(move || {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        hrsync_cmd(&config, &a)
    })
    .await;
    out
}

async fn ok(env: &Env, args: &[&str]) -> String {
    let out = run(env, args).await;
    assert_eq!(out.status.code(), Some(0), "{args:?}: {}", text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn config(env: &Env, crm: &str, wiki: &str, crm_extra: &str) {
    let crm_block = env.app(
        "crm",
        crm,
        &format!("scope = \"department != 'Contractors'\"\n{crm_extra}"),
    );
    let groups = "[[apps.groups]]\nname = \"dept-{{ department | slug }}\"\n";
    env.write_config(&format!(
        "{crm_block}\n{groups}\n{}",
        env.app("wiki", wiki, "")
    ));
}

/// The audit rows of one person in one app, oldest first.
async fn trail(env: &Env, app: &str, key: &str) -> Vec<Value> {
    let out = ok(
        env,
        &["audit", "--app", app, "--user", key, "--format", "json"],
    )
    .await;
    serde_json::from_str(&out).expect("audit json")
}

fn at_of(rows: &[Value], op: &str) -> Value {
    rows.iter()
        .rev()
        .find(|r| r["op"] == op && r["result"] == "ok")
        .map(|r| r["at"].clone())
        .unwrap_or(Value::Null)
}

fn account<'a>(review: &'a Value, key: &str, app: &str) -> &'a Value {
    review["persons"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["key"] == key))
        .and_then(|p| p["accounts"].as_array())
        .and_then(|a| a.iter().find(|a| a["app"] == app))
        .unwrap_or_else(|| panic!("no {app} account for {key} in {review:#}"))
}

fn exceptions(review: &Value) -> Vec<(String, String, String)> {
    let s = |v: &Value| v.as_str().unwrap_or("").to_string();
    review["exceptions"]
        .as_array()
        .map(|es| {
            es.iter()
                .map(|e| {
                    (
                        s(&e["kind"]),
                        s(&e["app"]),
                        s(&e["key"]) + &s(&e["userName"]),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Runs the history; returns the sandboxes so they outlive the checks.
async fn history(env: &Env) -> (hrsync_sandbox::SandboxHandle, hrsync_sandbox::SandboxHandle) {
    let (crm, wiki) = (sandbox().await, sandbox().await);
    config(env, &crm.base_url(), &wiki.base_url(), "");
    let mut people = vec![
        ("E001", "Ann", "Sales", "active"),
        ("E002", "Bob", "Sales", "active"),
        ("E003", "Cy", "Engineering", "active"),
        ("E005", "Eve", "Sales", "active"),
    ];
    env.set_hr(&hr(&people));
    ok(env, &["apply", "--yes"]).await; // joiners
    let stray = reqwest::Client::new()
        .post(format!("{}/Users", crm.base_url()))
        .bearer_auth(TOKEN)
        .json(
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "stray@corp.example", "active": true}),
        )
        .send()
        .await
        .expect("post");
    assert!(stray.status().is_success());
    ok(env, &["resync", "--app", "crm"]).await; // finds the orphan
    people[1].2 = "Engineering"; // mover
    env.set_hr(&hr(&people));
    ok(env, &["apply", "--yes"]).await;
    people[2].3 = "terminated"; // leaver
    env.set_hr(&hr(&people));
    ok(env, &["apply", "--yes"]).await;
    people[2].3 = "active"; // rehire
    env.set_hr(&hr(&people));
    ok(env, &["apply", "--yes"]).await;
    // A leaver and a move out of crm's scope that only wiki has been synced for.
    people[0].3 = "terminated";
    people[1].2 = "Contractors";
    env.set_hr(&hr(&people));
    ok(env, &["apply", "--yes", "--app", "wiki"]).await;
    config(
        env,
        &crm.base_url(),
        &wiki.base_url(),
        "exempt = [\"eve.test@corp.example\", \"breakglass@corp.example\"]",
    );
    (crm, wiki)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_review_matches_the_audit_trail_and_names_the_exceptions() {
    let env = Env::new(&hr(&[]));
    let _sandboxes = history(&env).await;
    let review: Value =
        serde_json::from_str(&ok(&env, &["access", "--format", "json"]).await).expect("json");

    // The rehire's crm access dates from the reactivation, not the first hire.
    let e3 = trail(&env, "crm", "E003").await;
    let a = account(&review, "E003", "crm");
    assert_eq!(a["granted_by"], "reactivate", "{a:#}");
    assert_eq!(a["granted_at"], at_of(&e3, "reactivate"), "{a:#}");
    assert_eq!(a["active"], true);
    assert_eq!(a["last_changed_at"], e3.last().expect("rows")["at"]);

    // Joiner: granted by the create; the mover's groups follow the move.
    let e1 = trail(&env, "crm", "E001").await;
    let a = account(&review, "E001", "crm");
    assert_eq!(
        (a["granted_by"].clone(), a["granted_at"].clone()),
        (json!("create"), at_of(&e1, "create"))
    );
    assert_eq!(
        account(&review, "E002", "crm")["groups"],
        json!(["dept-engineering"])
    );
    assert_eq!(
        account(&review, "E001", "crm")["groups"],
        json!(["dept-sales"])
    );
    // The leaver synced in wiki is off there; the id is the app's.
    let w = account(&review, "E001", "wiki");
    assert_eq!(w["active"], false, "{w:#}");
    assert_eq!(w["lifecycle"], "inactive");
    assert_eq!(w["id"], trail(&env, "wiki", "E001").await[0]["remote_id"]);

    let person = |k: &str| {
        review["persons"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["key"] == k))
            .cloned()
    };
    let ann = person("E001").expect("E001");
    assert_eq!(
        (ann["name"].clone(), ann["hr_status"].clone()),
        (json!("Ann Test"), json!("terminated"))
    );

    let got = exceptions(&review);
    let want = [
        ("active_leaver", "crm", "E001"),
        ("exempt", "crm", "E005eve.test@corp.example"),
        ("exempt", "crm", "breakglass@corp.example"),
        ("orphan", "crm", "stray@corp.example"),
        ("outside_scope", "crm", "E002bob.test@corp.example"),
    ];
    for (k, app, who) in want {
        assert!(
            got.iter()
                .any(|(gk, ga, gw)| gk == k && ga == app && gw.starts_with(who)),
            "missing {k} {app} {who} in {got:?}"
        );
    }
    assert!(
        !got.iter().any(|(_, app, _)| app == "wiki"),
        "wiki is in step: {got:?}"
    );
    assert_eq!(got.len(), want.len(), "{got:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_review_formats_filter_and_refusal() {
    let env = Env::new(&hr(&[]));
    let _sandboxes = history(&env).await;
    let csv = ok(&env, &["access", "--app", "crm"]).await;
    let lines: Vec<&str> = csv.lines().collect();
    assert!(
        lines[0].starts_with("key,name,hr_status,app,account_id,userName,active"),
        "{csv}"
    );
    assert!(
        lines.iter().any(
            |l| l.starts_with("E001,Ann Test,terminated,crm,") && l.ends_with(",active_leaver")
        ),
        "{csv}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains(",stray@corp.example,") && l.ends_with(",orphan")),
        "{csv}"
    );
    assert!(!csv.contains(",wiki,"), "--app crm only: {csv}");

    let file = env.dir.path().join("review.html");
    ok(
        &env,
        &[
            "access",
            "--format",
            "html",
            "--output",
            file.to_str().expect("path"),
        ],
    )
    .await;
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&file).expect("meta").permissions(),
    );
    assert_eq!(mode & 0o777, 0o600, "personal data");
    let html = std::fs::read_to_string(&file).expect("read");
    assert!(
        html.contains("<h2>Exceptions</h2>") && html.contains("active_leaver"),
        "{html}"
    );
    assert!(
        !html.contains("<script") && !html.contains("http://") && !html.contains("https://"),
        "{html}"
    );

    let out = run(&env, &["access", "--app", "nosuchapp"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("crm, wiki"),
        "{}",
        text(&out)
    );
}
