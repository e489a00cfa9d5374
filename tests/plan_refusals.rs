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
