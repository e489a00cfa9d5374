//! The per-app limiter and circuit breaker through `hrsync apply`: configured at an app's
//! enforced rate hrsync is never throttled; configured at twice that rate it slows down on
//! its own and still delivers everything; an app that refuses the credentials is shut off
//! after a handful of requests while another app in the same run gets all its accounts.

use hrsync_sandbox::{Faults, SandboxOptions};

use crate::util::push::*;
use crate::util::*;

/// The rate the sandbox enforces in these tests, requests per second.
const ENFORCED: u32 = 20;

/// Persons to create: three requests each (two lookups and a POST), several seconds of
/// traffic at the enforced rate, far beyond the sandbox's one-second burst.
const PERSONS: usize = 90;

async fn limited_run(configured_per_sec: u32) -> (hrsync_sandbox::RequestStats, Vec<String>) {
    let sb = sandbox_with(SandboxOptions {
        faults: Faults {
            rate_limit_per_sec: Some(f64::from(ENFORCED)),
            ..Faults::default()
        },
        ..SandboxOptions::default()
    })
    .await;
    let persons = people(PERSONS);
    let env = Env::new(&csv(&persons));
    env.write_config(&env.app(
        "app",
        &sb.base_url(),
        &format!("rate_limit = {{ per_second = {configured_per_sec} }}\nbulk = false"),
    ));
    let out = apply(&env).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stats = sb.stats();
    eprintln!("limiter at {configured_per_sec}/s against {ENFORCED}/s: {stats:?}");
    (stats, differences(&sb.users().await, &persons))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configured_at_the_apps_limit_hrsync_is_never_throttled() {
    let (stats, problems) = limited_run(ENFORCED).await;
    assert!(problems.is_empty(), "{problems:#?}");
    assert!(
        stats.total >= PERSONS as u64,
        "the run must outlast the sandbox's burst to prove anything: {stats:?}"
    );
    assert_eq!(
        stats.throttled, 0,
        "no 429 at the configured limit: {stats:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configured_at_twice_the_limit_hrsync_slows_down_and_delivers_everything() {
    let (stats, problems) = limited_run(2 * ENFORCED).await;
    assert!(problems.is_empty(), "every account arrives: {problems:#?}");
    // Each 429 halves the rate and pauses for Retry-After; answers to requests already in
    // flight do not cut again. A client that ignored the 429s would collect one for every
    // other request (about half of the ~90 sent).
    assert!(
        stats.throttled <= 5,
        "bounded throttling, not hammering: {stats:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_refusing_the_token_is_shut_off_while_another_gets_all_its_accounts() {
    let good = sandbox().await;
    let bad = hrsync_sandbox::start(SandboxOptions {
        token: Some("a-token-hrsync-does-not-have".into()),
        ..SandboxOptions::default()
    })
    .await
    .expect("sandbox");
    let persons = people(40);
    let env = Env::new(&csv(&persons));
    env.write_config(&format!(
        "{}\n{}",
        env.app("good", &good.base_url(), "bulk = false"),
        env.app("bad", &bad.base_url(), "bulk = false")
    ));
    let out = apply(&env).await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "an unhealthy app fails the run: {}",
        text(&out)
    );
    let problems = differences(&good.users().await, &persons);
    assert!(
        problems.is_empty(),
        "the healthy app got everything in the same run: {problems:#?}"
    );
    let hit = bad.stats();
    eprintln!("requests at the app refusing the token: {hit:?}");
    assert!(
        hit.total <= 6,
        "the circuit opened after the first refusals instead of trying all 40 persons: {hit:?}"
    );
    assert!(bad.users().await.is_empty());

    let doc = status_json(&env).await;
    assert_eq!(
        app_status(&doc, "bad")["health"]["circuit"],
        "open",
        "{doc:#}"
    );
    assert_eq!(
        app_status(&doc, "good")["health"]["circuit"],
        "closed",
        "{doc:#}"
    );
    assert_eq!(
        app_status(&doc, "good")["accounts"]["active"],
        40,
        "{doc:#}"
    );
    let last_error = app_status(&doc, "bad")["health"]["last_error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(last_error.contains("401"), "status says why: {last_error}");

    // The next run leaves the open circuit alone during its cool-down: nothing is sent.
    bad.reset_stats();
    let out = apply(&env).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(bad.stats().total, 0, "{:?}", bad.stats());
}
