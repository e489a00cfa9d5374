//! `hrsync apply` next to a running daemon without an admin endpoint: while the daemon's
//! cycle holds the state, the CLI says once that it waits for that hrsync (by pid) and
//! gives up after `--wait-secs` with exit 1; `--wait-secs 0` fails at once.

use std::time::{Duration, Instant};

use crate::util::push::{self, people, send_signal, Action};
use crate::util::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_waits_for_the_running_daemon_as_long_as_wait_secs_says() {
    let sb = sandbox().await;
    // Creates are slow: the daemon's first cycle holds the state for a while.
    let px = push::proxy(sb.addr(), |method, path, _| {
        if *method == axum::http::Method::POST && path.ends_with("/Users") {
            Action::ForwardThenStall(Duration::from_millis(1500))
        } else {
            Action::Forward
        }
    })
    .await;
    let env = Env::new(&push::csv(&people(8)));
    env.write_config(&env.app("wiki", &px.base_url(), "bulk = false\nconcurrency = 1"));
    env.add_daemon_keys("interval = \"1h\"");
    let mut daemon = spawn_run(&env, None, "warn", &[]);
    let pid = daemon.id().to_string();
    let deadline = Instant::now() + Duration::from_secs(30);
    while sb.users().await.is_empty() {
        assert!(
            Instant::now() < deadline,
            "the daemon's cycle never started"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let started = Instant::now();
    let out = push::run(&env, &["apply", "--yes", "--wait-secs", "0"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(started.elapsed() < Duration::from_secs(2), "fails at once");
    assert!(text(&out).contains(&format!("pid {pid}")), "{}", text(&out));

    let started = Instant::now();
    let out = push::run(&env, &["apply", "--yes", "--wait-secs", "1"]).await;
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(5),
        "{took:?}"
    );
    let said = String::from_utf8_lossy(&out.stderr);
    let waiting = format!("Waiting for the running hrsync (pid {pid})");
    assert_eq!(said.matches(&waiting).count(), 1, "said once: {said}");

    send_signal(&daemon, "TERM");
    let status = blocking(move || daemon.wait()).await.expect("wait");
    assert_eq!(status.code(), Some(0));
}
