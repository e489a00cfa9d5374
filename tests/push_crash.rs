//! Crash safety of the real binary: `hrsync apply` killed with SIGKILL at random moments
//! of a large apply, again and again, then a clean run: the app holds exactly the desired
//! accounts, none twice, and a further run has nothing left to write.

use std::process::Stdio;
use std::time::Duration;

use hrsync_sandbox::{Faults, SandboxOptions};
use rand::{Rng, SeedableRng};

use crate::util::push::*;
use crate::util::*;

const PERSONS: usize = 300;
const KILLS: usize = 5;

/// Starts `hrsync apply --yes` without waiting for it.
fn spawn_apply(env: &Env) -> tokio::process::Child {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_hrsync"))
        .arg("--config")
        .arg(&env.config)
        .args(["apply", "--yes"])
        .env_remove("HRSYNC_CONFIG")
        .env("HRSYNC_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn hrsync")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_apply_then_restart_leaves_no_duplicate_and_loses_nothing() {
    let sb = sandbox_with(SandboxOptions {
        faults: Faults {
            latency_ms: 25,
            ..Faults::default()
        },
        ..SandboxOptions::default()
    })
    .await;
    let persons = people(PERSONS);
    let env = Env::new(&csv(&persons));
    // A fixed concurrency keeps the run long enough (300 creates at 25 ms, four at a time)
    // for the kills to land mid-run; adaptive concurrency would finish it in half a second.
    env.write_config(&env.app("app", &sb.base_url(), "bulk = false\nconcurrency = 4"));

    let seed: u64 = rand::random();
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut landed = 0;
    let mut figures = Vec::new();
    for _ in 0..KILLS {
        let delay = Duration::from_millis(rng.random_range(150..900));
        let mut child = spawn_apply(&env);
        tokio::time::sleep(delay).await;
        let running = child.try_wait().expect("poll child").is_none();
        child.start_kill().expect("SIGKILL");
        let status = child.wait().await.expect("reap");
        if running {
            landed += 1;
        }
        let in_app = sb.users().await.len();
        let recorded = app_status(&status_json(&env).await, "app")["accounts"]["active"].clone();
        figures.push(format!(
            "kill after {delay:?}: mid-run {running}, exit {status}, accounts in app {in_app}, links recorded {recorded}"
        ));
        // Whatever moment the kill hit, nobody has two accounts.
        let users = sb.users().await;
        for p in &persons {
            assert!(
                by_external_id(&users, &p.key).len() <= 1,
                "{} duplicated after a kill: {figures:#?}",
                p.key
            );
        }
    }
    eprintln!("crash test (seed {seed}):\n  {}", figures.join("\n  "));
    assert!(
        landed >= 3,
        "most kills must hit a running apply to prove anything: {figures:#?}"
    );

    let out = apply(&env).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let problems = differences(&sb.users().await, &persons);
    assert!(problems.is_empty(), "{problems:#?}\n{figures:#?}");
    assert_eq!(
        sb.stats().users_created,
        PERSONS as u64,
        "one create per person, ever"
    );
    let doc = status_json(&env).await;
    assert_eq!(
        app_status(&doc, "app")["accounts"]["active"],
        PERSONS,
        "every link recorded"
    );

    sb.reset_stats();
    let out = apply(&env).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        sb.stats().writes,
        0,
        "nothing left to write: {:?}",
        sb.stats()
    );
}
