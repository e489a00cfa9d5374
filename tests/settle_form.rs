//! An app that stores a value in its own form settles: the Slack sandbox rewrites `@` in
//! userNames to `_`, and after the first apply neither `resync` nor `plan --detect-drift`
//! shows or sends anything for those persons; a real HR change of the e-mail still goes out.

use axum::http::Method;
use hrsync_sandbox::SandboxOptions;
use serde_json::Value;

use crate::util::push::{apply, csv, people, proxy, run, Action, Proxy};
use crate::util::*;

/// The requests that wrote to the app (anything but a read).
fn writes(px: &Proxy) -> Vec<String> {
    px.seen()
        .iter()
        .filter(|s| s.method != Method::GET)
        .map(|s| format!("{} {} {}", s.method, s.path, s.body))
        .collect()
}

/// The app's entry in `plan --detect-drift --format json`.
async fn drift_plan(env: &Env) -> Value {
    let out = run(env, &["plan", "--detect-drift", "--format", "json"]).await;
    let doc: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("plan JSON ({e}): {}", text(&out)));
    doc["apps"][0].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_that_rewrites_user_names_settles_and_a_real_change_still_goes_out() {
    let sb = sandbox_with(SandboxOptions {
        profile: "slack".into(),
        ..SandboxOptions::default()
    })
    .await;
    let px = proxy(sb.addr(), |_, _, _| Action::Forward).await;
    let mut persons = people(3);
    let env = Env::new(&csv(&persons));
    env.write_config(&env.app("app", &px.base_url(), "profile = \"slack\""));

    let out = apply(&env).await;
    assert!(out.status.success(), "{}", text(&out));
    let users = sb.users().await;
    assert_eq!(
        by_external_id(&users, "E0001")[0]["userName"],
        "p0001_corp.example",
        "the app keeps the name in its own form: {users:#?}"
    );

    px.clear();
    let out = run(&env, &["resync"]).await;
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(writes(&px), Vec::<String>::new(), "{}", text(&out));

    px.clear();
    let app = drift_plan(&env).await;
    assert_eq!(app["operations"], Value::Array(vec![]), "{app:#}");
    assert_eq!(app["conflicts"], Value::Array(vec![]), "{app:#}");
    assert_eq!(writes(&px), Vec::<String>::new());

    // A real HR change of the e-mail (and so the userName) still goes out.
    persons[0].email = "q0001@corp.example".into();
    env.set_hr(&csv(&persons));
    px.clear();
    let out = apply(&env).await;
    assert!(out.status.success(), "{}", text(&out));
    let sent = writes(&px);
    assert!(
        sent.len() == 1 && sent[0].contains("q0001@corp.example"),
        "one update carries the new e-mail: {sent:?}"
    );
    let users = sb.users().await;
    assert_eq!(
        by_external_id(&users, "E0001")[0]["userName"],
        "q0001_corp.example"
    );

    // And settles again on the app's form of the new value.
    px.clear();
    let out = run(&env, &["resync"]).await;
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(writes(&px), Vec::<String>::new(), "{}", text(&out));
    let app = drift_plan(&env).await;
    assert_eq!(app["operations"], Value::Array(vec![]), "{app:#}");
}
