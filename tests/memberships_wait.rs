//! A membership change waits for the member's account: a person whose create fails is
//! neither added to a group, nor counted in the result line, nor recorded as added.

use axum::http::Method;
use serde_json::Value;

use crate::util::push::{apply, csv, people, proxy, run, scim_error, Action};
use crate::util::*;

const GROUPS: &str = "\n[[apps.groups]]\nname = \"dept-{{ department | slug }}\"\n";

/// The members every `membership_add` audit row recorded as done.
async fn added(env: &Env) -> Vec<String> {
    let out = run(env, &["audit", "--format", "json"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).expect("audit JSON");
    let mut keys: Vec<String> = rows
        .iter()
        .filter(|r| r["op"] == "membership_add" && r["result"] == "ok")
        .flat_map(|r| {
            let d = r["detail"].to_string();
            ["E0001", "E0002"]
                .into_iter()
                .filter(move |k| d.contains(k))
                .map(str::to_string)
        })
        .collect();
    keys.sort();
    keys
}

/// The number before `memberships` on the app's result line.
fn memberships(out: &std::process::Output) -> usize {
    let s = String::from_utf8_lossy(&out.stdout).to_string();
    let line = s
        .lines()
        .find(|l| l.starts_with("app app "))
        .unwrap_or_else(|| panic!("no result line: {s}"));
    let after = line.split("memberships ").nth(1).expect("memberships");
    after
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|n| n.parse().ok())
        .expect("number")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_whose_create_fails_is_not_added_counted_or_recorded() {
    let sb = sandbox().await;
    // The app refuses E0002's account every time.
    let px = proxy(sb.addr(), |method, path, body| {
        if *method == Method::POST && path.ends_with("/Users") && body.contains("E0002") {
            Action::Reply(400, scim_error(400, Some("invalidValue"), "refused"))
        } else {
            Action::Forward
        }
    })
    .await;
    let persons = people(2);
    let env = Env::new(&csv(&persons));
    env.write_config(&format!(
        "{}{GROUPS}",
        env.app("app", &px.base_url(), "bulk = false")
    ));
    let out = apply(&env).await;
    assert_eq!(memberships(&out), 1, "{}", text(&out));
    assert_eq!(added(&env).await, vec!["E0001".to_string()]);

    // Again: E0002 still has no account; nothing about their membership is sent or kept.
    px.clear();
    let out = apply(&env).await;
    assert_eq!(memberships(&out), 0, "{}", text(&out));
    assert_eq!(added(&env).await, vec!["E0001".to_string()]);
    let group_writes = px
        .seen()
        .iter()
        .filter(|s| s.method != Method::GET && s.path.contains("/Groups"))
        .count();
    assert_eq!(group_writes, 0, "{:?}", px.seen());
}
