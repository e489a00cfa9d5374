//! What the app's profile says it refuses is shown at plan time and never sent: a Slack
//! userName over 21 characters is `✗ cannot create` in the plan, counted in its summary
//! and JSON, and apply sends no request for that person.

use axum::http::Method;
use hrsync_sandbox::SandboxOptions;
use serde_json::Value;

use crate::util::push::{apply, csv, people, proxy, run, Action};
use crate::util::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_name_the_profile_refuses_is_shown_as_refused_and_never_sent() {
    let sb = sandbox_with(SandboxOptions {
        profile: "slack".into(),
        ..SandboxOptions::default()
    })
    .await;
    let px = proxy(sb.addr(), |_, _, _| Action::Forward).await;
    let mut persons = people(3);
    persons[2].email = "a.very.long.name.indeed@corp.example".into();
    let env = Env::new(&csv(&persons));
    env.write_config(&env.app("app", &px.base_url(), "profile = \"slack\""));

    let out = run(&env, &["plan"]).await;
    let shown = text(&out);
    let line = shown
        .lines()
        .find(|l| l.contains("cannot create"))
        .unwrap_or_else(|| panic!("no refusal shown: {shown}"));
    assert!(line.contains("E0003") && line.contains("21"), "{line}");
    assert!(
        shown.contains("2 to create") && shown.contains("1 refused"),
        "{shown}"
    );

    let out = run(&env, &["plan", "--format", "json"]).await;
    let doc: Value = serde_json::from_slice(&out.stdout).expect("plan JSON");
    let app = &doc["apps"][0];
    assert_eq!(app["summary"]["refused"], 1, "{app:#}");
    assert_eq!(app["refused"][0]["key"], "E0003");
    assert!(
        app["operations"]
            .as_array()
            .is_some_and(|ops| ops.iter().all(|o| o["key"] != "E0003")),
        "{app:#}"
    );

    px.clear();
    let out = apply(&env).await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "a person lacks access: {}",
        text(&out)
    );
    assert!(
        text(&out)
            .contains("1 person(s) still without the access HR gives them: 1 refused by the app"),
        "{}",
        text(&out)
    );
    let sent: Vec<String> = px
        .seen()
        .iter()
        .filter(|s| s.method != Method::GET && s.body.contains("E0003"))
        .map(|s| s.body.clone())
        .collect();
    assert!(
        sent.is_empty(),
        "the refused create is never sent: {sent:?}"
    );
    assert_eq!(sb.users().await.len(), 2);
}

/// Apps that map alike share their checks only with an app of the same profile: two Slack
/// apps both refuse the long userName, a generic app of the same templates creates it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apps_that_map_alike_refuse_by_their_own_profile() {
    let slack = sandbox_with(SandboxOptions {
        profile: "slack".into(),
        ..SandboxOptions::default()
    })
    .await;
    let generic = sandbox().await;
    let mut persons = people(4);
    persons[2].email = "a.very.long.name.indeed@corp.example".into();
    let env = Env::new(&csv(&persons));
    let slack_url = format!("http://{}/scim/v2", slack.addr());
    let generic_url = format!("http://{}/scim/v2", generic.addr());
    env.write_config(&format!(
        "{}\n{}\n{}",
        env.app("first", &slack_url, "profile = \"slack\""),
        env.app("plain", &generic_url, ""),
        env.app("second", &slack_url, "profile = \"slack\""),
    ));

    let out = run(&env, &["plan", "--format", "json"]).await;
    assert!(out.status.success(), "{}", text(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("plan JSON");
    let apps = doc["apps"].as_array().expect("apps");
    let app = |name: &str| {
        apps.iter()
            .find(|a| a["name"] == name)
            .unwrap_or_else(|| panic!("no app {name}: {doc:#}"))
    };
    let creates = |a: &Value| -> Vec<String> {
        let mut keys: Vec<String> = a["operations"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|o| o["op"] == "create")
            .filter_map(|o| o["key"].as_str().map(str::to_string))
            .collect();
        keys.sort();
        keys
    };
    for name in ["first", "second"] {
        let a = app(name);
        let refused: Vec<&str> = a["refused"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r["key"].as_str())
            .collect();
        assert_eq!(refused, ["E0003"], "{a:#}");
        assert_eq!(creates(a), ["E0001", "E0002", "E0004"], "{a:#}");
    }
    let plain = app("plain");
    assert!(
        plain["refused"].as_array().is_none_or(Vec::is_empty),
        "{plain:#}"
    );
    assert_eq!(
        creates(plain),
        ["E0001", "E0002", "E0003", "E0004"],
        "{plain:#}"
    );
}
