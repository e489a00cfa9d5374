//! `status` lists, per app, the persons whose create or update the plan refused because
//! the app's profile says the app would refuse it, with the reason, in text and JSON; a
//! person drops off the list once HR gives them a name the app takes.

use hrsync_sandbox::SandboxOptions;

use crate::util::push::{app_status, apply, csv, people, run, status_json};
use crate::util::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_lists_the_persons_the_app_is_known_to_refuse_with_the_reason() {
    let sb = sandbox_with(SandboxOptions {
        profile: "slack".into(),
        ..SandboxOptions::default()
    })
    .await;
    let mut persons = people(3);
    persons[2].email = "a.very.long.name.indeed@corp.example".into();
    let env = Env::new(&csv(&persons));
    env.write_config(&env.app("app", &sb.base_url(), "profile = \"slack\""));

    let out = apply(&env).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));

    let doc = status_json(&env).await;
    let app = app_status(&doc, "app");
    let refused = app["refused"].as_array().expect("refused is a list");
    assert_eq!(refused.len(), 1, "{app:#}");
    assert_eq!(refused[0]["key"], "E0003");
    assert_eq!(refused[0]["op"], "create");
    assert!(
        refused[0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("21")),
        "{app:#}"
    );

    let out = run(&env, &["status"]).await;
    let shown = text(&out);
    let line = shown
        .lines()
        .find(|l| l.contains("cannot create E0003"))
        .unwrap_or_else(|| panic!("no refusal in status: {shown}"));
    assert!(line.contains("21"), "{line}");

    // HR fixes the name: the account is created and the refusal leaves the status.
    persons[2].email = "p0003@corp.example".into();
    env.set_hr(&csv(&persons));
    let out = apply(&env).await;
    assert!(out.status.success(), "{}", text(&out));
    let doc = status_json(&env).await;
    assert_eq!(
        app_status(&doc, "app")["refused"],
        serde_json::json!([]),
        "{doc:#}"
    );
    let out = run(&env, &["status"]).await;
    assert!(!text(&out).contains("cannot create"), "{}", text(&out));
}
