//! Faults through `hrsync apply`: a storm of 5xx, 429s, dropped connections and stalls over
//! a few hundred operations converges in at most three runs with no duplicate and nobody
//! wrongly deprovisioned; a create whose answer never comes back is resolved by lookup,
//! never by a second POST.

use std::time::Duration;

use axum::http::Method;
use hrsync_sandbox::{Faults, SandboxOptions};

use crate::util::push::*;
use crate::util::*;

/// Persons in the storm: 120 creates, 120 updates, 40 deactivations.
const STORM_PERSONS: usize = 120;
const STORM_LEAVERS: usize = 40;

/// Runs `apply` (with `extra` flags) until the app holds exactly `persons`, at most three
/// times; returns how many runs it took, or fails with what is still wrong.
async fn converge(
    env: &Env,
    sb: &hrsync_sandbox::SandboxHandle,
    persons: &[Person],
    extra: &[&str],
    phase: &str,
) -> usize {
    let mut args = vec!["apply", "--yes"];
    args.extend_from_slice(extra);
    let mut problems = Vec::new();
    let mut outputs = Vec::new();
    for n in 1..=3 {
        let out = run(env, &args).await;
        outputs.push(String::from_utf8_lossy(&out.stdout).to_string());
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{phase}: a run may report failed operations, nothing worse: {}",
            text(&out)
        );
        problems = differences(&sb.users().await, persons);
        if problems.is_empty() {
            return n;
        }
    }
    panic!(
        "{phase}: not converged after three runs ({} problems): {problems:#?}\nruns:\n{}",
        problems.len(),
        outputs.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_storm_converges_within_three_runs_without_duplicates() {
    let sb = sandbox_with(SandboxOptions {
        faults: Faults {
            error_rate: 0.30,
            throttle_rate: 0.10,
            retry_after_secs: 0,
            drop_rate: 0.05,
            stall_rate: 0.02,
            stall_ms: 3_000,
            seed: Some(20261122),
            ..Faults::default()
        },
        ..SandboxOptions::default()
    })
    .await;
    let mut persons = people(STORM_PERSONS);
    let env = Env::new(&csv(&persons));
    // One request per operation (no Bulk), so every operation meets the faults on its own;
    // stalls of 3 s outlast the 2 s timeout (which a loaded machine does not reach by itself).
    env.write_config(&env.app(
        "app",
        &sb.base_url(),
        "timeout_secs = 2\nconcurrency = 8\nbulk = false",
    ));

    let creates = converge(&env, &sb, &persons, &[], "creates").await;

    for p in &mut persons {
        p.title = "Senior Rep".into();
    }
    env.set_hr(&csv(&persons));
    let updates = converge(&env, &sb, &persons, &[], "updates").await;

    for p in persons.iter_mut().take(STORM_LEAVERS) {
        p.status = "terminated".into();
    }
    env.set_hr(&csv(&persons));
    let leavers = converge(
        &env,
        &sb,
        &persons,
        &["--allow-mass-deprovision"],
        "deactivations",
    )
    .await;

    let stats = sb.stats();
    eprintln!(
        "fault storm: runs needed creates={creates} updates={updates} deactivations={leavers}; sandbox {stats:?}"
    );
    assert!(
        stats.faults_injected > 0 && stats.throttled > 0,
        "{stats:?}"
    );
    assert_eq!(
        stats.by_method.get("DELETE").copied().unwrap_or(0),
        0,
        "deprovisioning is active=false here, never DELETE: {stats:?}"
    );
    // Settled: a run on unchanged HR finds nothing to do.
    sb.reset_stats();
    let out = apply(&env).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(sb.stats().writes, 0, "{:?}", sb.stats());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_that_times_out_is_resolved_by_lookup_never_posted_twice() {
    let sb = sandbox().await;
    // The app applies every create but answers only after the client gave up waiting.
    let px = proxy(sb.addr(), |method, path, _| {
        if method == Method::POST && path.starts_with("/scim/v2/Users") {
            Action::ForwardThenStall(Duration::from_millis(2_500))
        } else {
            Action::Forward
        }
    })
    .await;
    let persons = people(6);
    let env = Env::new(&csv(&persons));
    env.write_config(&env.app("app", &px.base_url(), "timeout_secs = 1\nbulk = false"));
    let out = apply(&env).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let problems = differences(&sb.users().await, &persons);
    assert!(
        problems.is_empty(),
        "exactly one account each: {problems:#?}"
    );
    let posts = px
        .seen()
        .iter()
        .filter(|s| s.method == Method::POST)
        .count();
    assert_eq!(posts, persons.len(), "one POST per person, none repeated");
    assert_eq!(sb.stats().users_created, persons.len() as u64);

    // The links were recorded: the next run has nothing to do.
    px.clear();
    let out = apply(&env).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(px.seen().is_empty(), "{:?}", px.seen());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_answered_with_a_server_error_is_looked_up_then_sent_again_in_the_same_run() {
    let sb = sandbox().await;
    // Every person's first POST gets a 500 without reaching the app.
    let refused = std::sync::Mutex::new(std::collections::BTreeSet::new());
    let px = proxy(sb.addr(), move |method, path, body| {
        let key = body
            .split("\"externalId\":\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_default()
            .to_string();
        if method == Method::POST
            && path.starts_with("/scim/v2/Users")
            && refused.lock().expect("lock").insert(key)
        {
            Action::Reply(500, scim_error(500, None, "internal error"))
        } else {
            Action::Forward
        }
    })
    .await;
    let persons = people(5);
    let env = Env::new(&csv(&persons));
    env.write_config(&env.app("app", &px.base_url(), "bulk = false"));
    let out = apply(&env).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(differences(&sb.users().await, &persons).is_empty());
    let seen = px.seen();
    let posts = seen.iter().filter(|s| s.method == Method::POST).count();
    assert_eq!(posts, 10, "one refused and one accepted POST each");
    // Between the two POSTs of a person, its account was looked up.
    for p in &persons {
        let mine: Vec<&Seen> = seen
            .iter()
            .filter(|s| s.body.contains(&p.key) || s.path.contains(&p.key))
            .collect();
        let kinds: Vec<&str> = mine
            .iter()
            .map(|s| {
                if s.method == Method::POST {
                    "post"
                } else {
                    "get"
                }
            })
            .collect();
        let first_post = kinds.iter().position(|k| *k == "post");
        let last_post = kinds.iter().rposition(|k| *k == "post");
        assert!(
            matches!((first_post, last_post), (Some(a), Some(b)) if kinds[a..b].contains(&"get")),
            "{}: {kinds:?}",
            p.key
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_failing_past_its_http_retries_is_tried_again_in_the_same_run() {
    let sb = sandbox().await;
    let mut persons = people(3);
    let env = Env::new(&csv(&persons));
    env.write_config(&env.app("app", &sb.base_url(), "bulk = false"));
    assert_eq!(apply(&env).await.status.code(), Some(0));
    // The next five PATCHes (all the HTTP attempts of one operation) get a server error.
    let refusals = std::sync::atomic::AtomicUsize::new(5);
    let px = proxy(sb.addr(), move |method, _, _| {
        use std::sync::atomic::Ordering;
        let left = refusals.load(Ordering::SeqCst);
        if method == Method::PATCH && left > 0 {
            refusals.store(left - 1, Ordering::SeqCst);
            Action::Reply(500, scim_error(500, None, "internal error"))
        } else {
            Action::Forward
        }
    })
    .await;
    env.write_config(&env.app("app", &px.base_url(), "bulk = false"));
    persons[1].title = "Manager".into();
    env.set_hr(&csv(&persons));
    let out = apply(&env).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(differences(&sb.users().await, &persons).is_empty());
    let patches = px
        .seen()
        .iter()
        .filter(|s| s.method == Method::PATCH)
        .count();
    assert_eq!(
        patches, 6,
        "five refused attempts, then the retry in the same run"
    );
}
