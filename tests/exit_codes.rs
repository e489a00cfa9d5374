//! Exit codes that match the outcome: an apply after which a person still lacks the
//! access HR gives them (their create waits in quarantine after repeated failures) exits
//! 1 and says how many persons and why; once the app takes them, it exits 0 again.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::http::Method;

use crate::util::push::{apply, csv, people, proxy, scim_error, Action};
use crate::util::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_waiting_in_quarantine_makes_the_next_apply_exit_1_and_say_why() {
    let sb = sandbox().await;
    let rejecting = Arc::new(AtomicBool::new(true));
    let flag = rejecting.clone();
    let px = proxy(sb.addr(), move |method, path, body| {
        if flag.load(Ordering::SeqCst)
            && *method == Method::POST
            && path.ends_with("/Users")
            && body.contains("E0002")
        {
            Action::Reply(400, scim_error(400, Some("invalidValue"), "refused"))
        } else {
            Action::Forward
        }
    })
    .await;
    let env = Env::new(&csv(&people(3)));
    env.write_config(&env.app("app", &px.base_url(), "bulk = false"));
    let out = apply(&env).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));

    // Within the quarantine's backoff: nothing is tried, and yet E0002 has no account.
    let out = apply(&env).await;
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(1), "{shown}");
    assert!(
        shown.contains(
            "1 person(s) still without the access HR gives them: 1 quarantined after repeated failures"
        ),
        "{shown}"
    );
    assert!(shown.contains("0 failed"), "{shown}");
}
