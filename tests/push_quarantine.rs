//! Quarantine across cycles, with each cycle's time passed in: a person whose record the
//! app keeps rejecting is set aside with a growing backoff, listed by `status`, skipped
//! (not even looked up) until its time, never blocks anyone else, and leaves quarantine
//! once the app takes it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::http::Method;
use chrono::{DateTime, Duration, TimeZone, Utc};
use hrsync::config::{self, LoadOptions};
use hrsync::engine::{run_cycle, CycleOptions, CycleReport, Mode};
use hrsync_state::CycleKind;

use crate::util::push::*;
use crate::util::*;

const BAD: &str = "E0003";

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 4, 9, 0, 0)
        .single()
        .expect("date")
}

async fn apply_at(env: &Env, at: DateTime<Utc>) -> CycleReport {
    let settings = config::load(&env.config, &LoadOptions::default()).expect("config");
    let mut o = CycleOptions::new(Mode::Apply, CycleKind::Apply);
    o.now = at;
    run_cycle(&settings, o).await.expect("cycle")
}

/// Requests that concern the quarantined person (a lookup by its key or a write of it).
fn about_bad(px: &Proxy) -> Vec<String> {
    px.seen()
        .iter()
        .filter(|s| s.path.contains(BAD) || s.body.contains(BAD))
        .map(|s| format!("{} {}", s.method, s.path))
        .collect()
}

/// The quarantine entries `status` shows for the app: (key, failures, next attempt).
async fn quarantined(env: &Env) -> Vec<(String, u64, String)> {
    let doc = status_json(env).await;
    app_status(&doc, "app")["quarantined"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|q| {
            (
                q["person_key"].as_str().unwrap_or_default().to_string(),
                q["failures"].as_u64().unwrap_or(0),
                q["next_attempt_at"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect()
}

fn skipped_keys(r: &CycleReport) -> Vec<String> {
    r.outcomes
        .iter()
        .flat_map(|o| o.skipped.iter().map(|s| s.key.clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_record_is_quarantined_with_growing_backoff_and_blocks_nobody() {
    let sb = sandbox().await;
    let rejecting = Arc::new(AtomicBool::new(true));
    let px = proxy(sb.addr(), {
        let rejecting = rejecting.clone();
        move |method, path, body| {
            if rejecting.load(Ordering::SeqCst)
                && method == Method::POST
                && path.starts_with("/scim/v2/Users")
                && body.contains(BAD)
            {
                Action::Reply(
                    400,
                    scim_error(400, Some("invalidValue"), "title contains a forbidden word"),
                )
            } else {
                Action::Forward
            }
        }
    })
    .await;
    let mut persons = people(10);
    let env = Env::new(&csv(&persons));
    env.write_config(&env.app("app", &px.base_url(), "bulk = false"));
    let others: Vec<Person> = persons.iter().filter(|p| p.key != BAD).cloned().collect();

    // Cycle 1: the app rejects the record; everyone else gets an account.
    let r = apply_at(&env, t0()).await;
    assert_eq!(r.failures(), 1, "{:?}", r.outcomes);
    assert_eq!(r.outcomes[0].failed[0].key, BAD);
    assert!(differences(&sb.users().await, &others).is_empty());
    let q = quarantined(&env).await;
    assert_eq!(q.len(), 1, "{q:?}");
    assert_eq!((q[0].0.as_str(), q[0].1), (BAD, 1));
    let first_next = DateTime::parse_from_rfc3339(&q[0].2).expect("time");
    assert_eq!(first_next, t0() + Duration::minutes(1));
    let text = run(&env, &["status"]).await;
    assert!(
        String::from_utf8_lossy(&text.stdout).contains(&format!("quarantined {BAD}")),
        "{}",
        crate::util::text(&text)
    );

    // Thirty seconds later: skipped without a single request about it, and a joiner
    // arriving meanwhile is created.
    let mut joiner = Person::numbered(11);
    joiner.title = "Joiner".into();
    persons.push(joiner);
    env.set_hr(&csv(&persons));
    px.clear();
    let r = apply_at(&env, t0() + Duration::seconds(30)).await;
    assert_eq!(r.failures(), 0, "{:?}", r.outcomes);
    assert_eq!(
        r.exit_code(),
        1,
        "a deferred record is not a failure of the run, but the person still lacks access"
    );
    assert_eq!(skipped_keys(&r), [BAD]);
    assert!(about_bad(&px).is_empty(), "{:?}", about_bad(&px));
    assert_eq!(by_external_id(&sb.users().await, "E0011").len(), 1);

    // Its time has come: tried again, rejected again, and set aside for twice as long.
    px.clear();
    let second = t0() + Duration::seconds(61);
    let r = apply_at(&env, second).await;
    assert_eq!(r.failures(), 1, "{:?}", r.outcomes);
    assert!(!about_bad(&px).is_empty());
    let q = quarantined(&env).await;
    assert_eq!(q[0].1, 2, "{q:?}");
    assert_eq!(
        DateTime::parse_from_rfc3339(&q[0].2).expect("time"),
        second + Duration::minutes(2)
    );
    px.clear();
    let r = apply_at(&env, second + Duration::seconds(90)).await;
    assert_eq!(
        skipped_keys(&r),
        [BAD],
        "the first backoff would have let it through"
    );
    assert!(about_bad(&px).is_empty());

    // The app takes it now: created at its next attempt and out of quarantine.
    rejecting.store(false, Ordering::SeqCst);
    let r = apply_at(&env, second + Duration::seconds(121)).await;
    assert_eq!(r.failures(), 0, "{:?}", r.outcomes);
    assert!(differences(&sb.users().await, &persons).is_empty());
    assert!(quarantined(&env).await.is_empty());
    let doc = status_json(&env).await;
    assert_eq!(
        app_status(&doc, "app")["health"]["circuit"],
        "closed",
        "a bad record is not a bad app"
    );
}
