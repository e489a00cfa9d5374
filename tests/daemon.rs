//! `hrsync run`: a 1-second interval picks up a CSV change without restart; a failed cycle
//! is logged and the next one still runs; SIGTERM or SIGINT during a cycle lets the
//! operations in flight finish and records them, then exits 0.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

use hrsync_sandbox::SandboxHandle;
use serde_json::Value;

use crate::util::push::{self, people, send_signal, Action, Proxy};
use crate::util::*;

const ANA: &str = "E1,Ana,Lima,ana.lima@corp.example,Engineering,Engineer,active,2020-01-01,,";
const BO: &str = "E2,Bo,Chen,bo.chen@corp.example,Sales,Rep,active,2021-01-01,,";

/// Polls until `done` holds, failing with `what` after `deadline`.
async fn wait_until(deadline: Instant, what: &str, mut done: impl AsyncFnMut() -> bool) {
    while !done().await {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn read_log(log: &Path) -> String {
    std::fs::read_to_string(log).unwrap_or_default()
}

/// Waits for the child to exit; returns its status and how long that took.
async fn wait_exit(child: Child) -> (ExitStatus, Duration) {
    let started = Instant::now();
    let mut child = child;
    let status = blocking(move || child.wait()).await.expect("wait");
    (status, started.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_picks_up_a_csv_change_and_exits_zero_on_sigterm() {
    let sb = sandbox().await;
    let env = Env::new(&format!("{HEADER}{ANA}\n"));
    env.write_config(&env.app("app", &sb.base_url(), ""));
    env.add_daemon_keys("interval = \"1s\"");
    let log = env.dir.path().join("run.log");
    let child = spawn_run(&env, Some(&log), "warn", &[]);

    let deadline = Instant::now() + Duration::from_secs(30);
    wait_until(deadline, "first cycle creates E1", async || {
        !by_external_id(&sb.users().await, "E1").is_empty()
    })
    .await;
    env.set_hr(&format!("{HEADER}{ANA}\n{BO}\n"));
    wait_until(deadline, "the daemon picks up the change", async || {
        !by_external_id(&sb.users().await, "E2").is_empty()
    })
    .await;
    send_signal(&child, "TERM");
    let (status, _) = wait_exit(child).await;
    assert_eq!(status.code(), Some(0), "exit code after SIGTERM");
    assert_eq!(by_external_id(&sb.users().await, "E1").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_cycle_is_logged_and_the_next_one_applies_the_change() {
    let sb = sandbox().await;
    let env = Env::new(&format!("{HEADER}{ANA}\n"));
    env.write_config(&env.app("app", &sb.base_url(), ""));
    env.add_daemon_keys("interval = \"1s\"");
    let log = env.dir.path().join("run.log");
    let child = spawn_run(&env, Some(&log), "warn", &[]);

    let deadline = Instant::now() + Duration::from_secs(30);
    wait_until(deadline, "first cycle creates E1", async || {
        !by_external_id(&sb.users().await, "E1").is_empty()
    })
    .await;
    // The HR export disappears for a while (being replaced, a broken mount).
    let away = env.dir.path().join("hr.csv.away");
    std::fs::rename(&env.hr, &away).expect("move HR file away");
    wait_until(deadline, "a failed cycle in the log", async || {
        read_log(&log).contains("Scheduled cycle failed")
    })
    .await;
    let logged = read_log(&log);
    let failure = logged
        .lines()
        .find(|l| l.contains("Scheduled cycle failed"))
        .unwrap_or_default();
    assert!(
        failure.contains("ERROR") && failure.contains("hr.csv"),
        "the failure is logged as an error naming the file: {logged}"
    );
    // It comes back with a joiner: a later cycle still runs and applies it.
    std::fs::write(&env.hr, format!("{HEADER}{ANA}\n{BO}\n")).expect("write HR");
    wait_until(deadline, "a later cycle creates E2", async || {
        !by_external_id(&sb.users().await, "E2").is_empty()
    })
    .await;
    send_signal(&child, "TERM");
    let (status, _) = wait_exit(child).await;
    assert_eq!(status.code(), Some(0), "{}", read_log(&log));
    let users = sb.users().await;
    assert_eq!(users.len(), 2, "nothing lost or doubled: {users:#?}");
    assert_eq!(by_external_id(&users, "E1")[0]["active"], true);
}

/// Many joiners and an app that is slow to answer a create: the POST is carried out at
/// once but its answer is held, so a signal is likely to come while the app already holds
/// an account that hrsync has not yet heard about (the window where losing track would
/// leave an unrecorded account).
async fn slow_app_with_joiners(n: usize) -> (SandboxHandle, Proxy, Env) {
    let sb = sandbox().await;
    let px = push::proxy(sb.addr(), |method, path, _| {
        if *method == axum::http::Method::POST && path.ends_with("/Users") {
            Action::ForwardThenStall(Duration::from_millis(700))
        } else {
            Action::Forward
        }
    })
    .await;
    let env = Env::new(&push::csv(&people(n)));
    env.write_config(&env.app("app", &px.base_url(), "bulk = false\nconcurrency = 2"));
    env.add_daemon_keys("interval = \"1h\"\nshutdown_grace_secs = 20");
    (sb, px, env)
}

/// `hrsync audit --format json` rows of one op, as (person key, account id).
async fn audited(env: &Env, op: &str) -> BTreeSet<(String, String)> {
    let out = push::run(env, &["audit", "--format", "json"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("audit is not JSON ({e}): {}", text(&out)));
    rows.iter()
        .filter(|r| r["op"] == op && r["result"] == "ok")
        .map(|r| {
            (
                r["person_key"].as_str().unwrap_or("").to_string(),
                r["remote_id"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// The signal arrives while creates are in flight: no new operation starts, those in
/// flight finish within the grace period and are recorded, and the process exits 0.
async fn stop_during_a_cycle(signal: &str) {
    const N: usize = 40;
    let (sb, _px, env) = slow_app_with_joiners(N).await;
    let log: PathBuf = env.dir.path().join("run.log");
    let child = spawn_run(&env, Some(&log), "info", &[]);
    let deadline = Instant::now() + Duration::from_secs(60);
    wait_until(deadline, "the cycle creates a few accounts", async || {
        sb.users().await.len() >= 3
    })
    .await;
    send_signal(&child, signal);
    let (status, took) = wait_exit(child).await;
    let logged = read_log(&log);
    assert_eq!(
        status.code(),
        Some(0),
        "exit code after SIG{signal}: {logged}"
    );
    assert!(
        took < Duration::from_secs(10),
        "in-flight operations finish quickly, well within shutdown_grace_secs: {took:?}"
    );
    assert!(
        logged.contains("letting in-flight operations finish"),
        "the signal came during the cycle: {logged}"
    );

    let users = sb.users().await;
    assert!(
        users.len() < N,
        "scheduling stopped: not every joiner was created ({} of {N})",
        users.len()
    );
    let in_app: BTreeSet<(String, String)> = users
        .iter()
        .map(|u| {
            (
                u["externalId"].as_str().unwrap_or("").to_string(),
                u["id"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(in_app.len(), users.len());
    assert_eq!(
        audited(&env, "create").await,
        in_app,
        "every account the app received is recorded, with its id, and nothing else"
    );

    // The next start picks up where it stopped: the plan creates exactly the others.
    let out = push::run(&env, &["plan", "--format", "json"]).await;
    let plan: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("plan is not JSON ({e}): {}", text(&out)));
    let ops = plan["apps"][0]["operations"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let planned: BTreeSet<String> = ops
        .iter()
        .map(|o| {
            assert_eq!(o["op"], "create", "only the missing creates remain: {o}");
            o["key"].as_str().unwrap_or("").to_string()
        })
        .collect();
    let have: BTreeSet<String> = in_app.into_iter().map(|(k, _)| k).collect();
    let all: BTreeSet<String> = people(N).into_iter().map(|p| p.key).collect();
    assert_eq!(planned, &all - &have);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_cycle_finishes_and_records_the_operations_in_flight() {
    stop_during_a_cycle("TERM").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_during_a_cycle_finishes_and_records_the_operations_in_flight() {
    stop_during_a_cycle("INT").await;
}

/// An app that holds a create's answer longer than `shutdown_grace_secs`: the daemon still
/// exits 0 on time, and the next start links the account it did not hear about instead of
/// creating a second one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_grace_period_it_exits_on_time_and_the_next_start_repairs() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    let sb = sandbox().await;
    let slow = Arc::new(AtomicBool::new(true));
    let flag = slow.clone();
    let px = push::proxy(sb.addr(), move |method, path, _| {
        if *method == axum::http::Method::POST
            && path.ends_with("/Users")
            && flag.load(Ordering::SeqCst)
        {
            Action::ForwardThenStall(Duration::from_secs(8))
        } else {
            Action::Forward
        }
    })
    .await;
    let persons = people(3);
    let env = Env::new(&push::csv(&persons));
    env.write_config(&env.app("app", &px.base_url(), "bulk = false\nconcurrency = 3"));
    env.add_daemon_keys("interval = \"1h\"\nshutdown_grace_secs = 1");
    let log = env.dir.path().join("run.log");
    let child = spawn_run(&env, Some(&log), "warn", &[]);
    let deadline = Instant::now() + Duration::from_secs(30);
    wait_until(deadline, "the app holds the accounts", async || {
        sb.users().await.len() == persons.len()
    })
    .await;
    send_signal(&child, "TERM");
    let (status, took) = wait_exit(child).await;
    let logged = read_log(&log);
    assert_eq!(status.code(), Some(0), "{logged}");
    assert!(
        took < Duration::from_secs(5),
        "bounded by shutdown_grace_secs = 1, not by the app: {took:?}"
    );
    assert!(
        logged.contains("did not finish within the grace period"),
        "the cut-off is logged: {logged}"
    );

    slow.store(false, Ordering::SeqCst);
    let out = push::apply(&env).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let users = sb.users().await;
    assert_eq!(
        push::differences(&users, &persons),
        Vec::<String>::new(),
        "each person has exactly one account: {users:#?}"
    );
    assert_eq!(
        audited(&env, "adopt").await.len() + audited(&env, "create").await.len(),
        persons.len(),
        "every account is linked in the state now"
    );
}
