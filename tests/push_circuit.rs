//! The circuit breaker across cycles, with the cycle's time passed in: an app that refuses
//! the credentials is left alone during its cool-down, probed once when it ends (a failed
//! probe doubles the wait), and taken back into service — all its work delivered — once the
//! credentials are fixed.

use chrono::{DateTime, TimeZone, Utc};
use hrsync::config::{self, LoadOptions, Settings};
use hrsync::engine::{run_cycle, AppOutcome, CycleOptions, Mode};
use hrsync_sandbox::SandboxOptions;
use hrsync_state::CycleKind;

use crate::util::push::*;
use crate::util::*;

/// The token the app was given after a rotation that did not reach hrsync's config.
const ROTATED: &str = "rotated-token-9876543210";

fn at(seconds: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 4, 8, 0, 0)
        .single()
        .expect("date")
        + chrono::Duration::seconds(seconds)
}

fn load(env: &Env) -> Settings {
    config::load(&env.config, &LoadOptions::default()).expect("config")
}

async fn apply_at(settings: &Settings, seconds: i64) -> AppOutcome {
    let mut o = CycleOptions::new(Mode::Apply, CycleKind::Apply);
    o.now = at(seconds);
    let report = run_cycle(settings, o).await.expect("cycle");
    report.outcomes.into_iter().next().expect("one app")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_circuit_waits_its_cool_down_then_a_probe_brings_the_app_back() {
    let sb = hrsync_sandbox::start(SandboxOptions {
        token: Some(ROTATED.into()),
        // Discovery answers anyone, as in many apps: the probe must still notice the token.
        public_discovery: true,
        ..SandboxOptions::default()
    })
    .await
    .expect("sandbox");
    let persons = people(12);
    let env = Env::new(&csv(&persons));
    env.write_config(&env.app("crm", &sb.base_url(), "bulk = false"));
    let settings = load(&env);

    // t = 0: the app refuses the token; the circuit opens after the first refusals.
    let first = apply_at(&settings, 0).await;
    assert!(first.circuit_open.is_some(), "{first:?}");
    assert!(
        sb.stats().total <= 6,
        "refusals stop the queue: {:?}",
        sb.stats()
    );
    assert!(sb.users().await.is_empty());

    // t = 30 s: still cooling down (60 s after the first opening): not one request.
    sb.reset_stats();
    let waiting = apply_at(&settings, 30).await;
    assert!(waiting.circuit_open.is_some());
    assert_eq!(waiting.skipped.len(), persons.len(), "{waiting:?}");
    assert_eq!(sb.stats().total, 0, "{:?}", sb.stats());

    // t = 61 s: half-open — one probe, refused again; the queue stays paused.
    let probed = apply_at(&settings, 61).await;
    assert!(
        probed
            .circuit_open
            .as_deref()
            .is_some_and(|r| r.contains("probe")),
        "{probed:?}"
    );
    assert_eq!(
        sb.stats().total,
        2,
        "a half-open circuit sends one probe (discovery and one read of /Users): {:?}",
        sb.stats()
    );

    // The credentials are fixed. The failed probe doubled the cool-down (120 s from t = 61):
    // at t = 150 s hrsync still waits...
    std::fs::write(&env.token_file, ROTATED).expect("write token");
    let settings = load(&env);
    sb.reset_stats();
    let early = apply_at(&settings, 150).await;
    assert!(early.circuit_open.is_some(), "{early:?}");
    assert_eq!(sb.stats().total, 0, "{:?}", sb.stats());

    // ...and at t = 190 s the probe passes, the circuit closes and every account arrives.
    let back = apply_at(&settings, 190).await;
    assert!(back.circuit_open.is_none(), "{back:?}");
    assert!(back.failed.is_empty(), "{back:?}");
    let problems = differences(&sb.users().await, &persons);
    assert!(problems.is_empty(), "{problems:#?}");

    let doc = status_json(&env).await;
    assert_eq!(
        app_status(&doc, "crm")["health"]["circuit"],
        "closed",
        "{doc:#}"
    );
}
