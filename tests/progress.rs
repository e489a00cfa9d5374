//! Progress while `apply` runs: bars with counts on a terminal (driven under a
//! pseudo-terminal), and without one no escape codes but periodic progress log lines.

use hrsync_sandbox::{Faults, SandboxOptions};

use crate::util::push::{csv, people};
use crate::util::*;

/// An environment whose app gets `n` creates, one request each.
async fn setup(n: usize, latency_ms: u64) -> (Env, hrsync_sandbox::SandboxHandle) {
    let sb = sandbox_with(SandboxOptions {
        faults: Faults {
            latency_ms,
            ..Faults::default()
        },
        ..SandboxOptions::default()
    })
    .await;
    let env = Env::new(&csv(&people(n)));
    env.write_config(&env.app("app", &sb.base_url(), "bulk = false\nconcurrency = 2"));
    (env, sb)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_terminal_apply_draws_a_bar_per_app_ending_with_the_result() {
    let (env, sb) = setup(24, 0).await;
    let out = terminal::on_terminal(&env, &["apply", "--yes"]).await;
    let shown = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(sb.users().await.len(), 24);
    assert!(
        shown.contains("24/24 ops"),
        "the bar counts every operation: {shown:?}"
    );
    assert!(
        shown.contains("done: 24, failed: 0, skipped: 0"),
        "the bar ends with the app's result: {shown:?}"
    );
    assert!(
        shown.contains('\x1b'),
        "a terminal gets the bar's cursor control: {shown:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_terminal_there_are_no_escapes_but_periodic_progress_lines() {
    // 20 creates, 2 at a time, each a lookup and a POST of 100 ms: seconds of work, with
    // a line every 300 ms at most.
    let (env, sb) = setup(20, 100).await;
    let config = env.config.clone();
    let out = blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_hrsync"))
            .arg("--config")
            .arg(&config)
            .args(["apply", "--yes"])
            .env_remove("HRSYNC_CONFIG")
            .env("HRSYNC_LOG", "info")
            .env("HRSYNC_PROGRESS_EVERY_MS", "300")
            .output()
            .expect("run hrsync")
    })
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(sb.users().await.len(), 20);
    assert!(
        !out.stderr.contains(&0x1b) && !out.stdout.contains(&0x1b),
        "no escape codes off a terminal: {}",
        text(&out)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("Progress.") && l.contains("app=app"))
        .collect();
    assert!(
        lines.len() >= 2,
        "progress lines during a run of seconds: {}",
        text(&out)
    );
    assert!(
        lines
            .iter()
            .all(|l| l.contains("total=20") && l.contains("failed=0")),
        "each line has the counts: {lines:#?}"
    );
    let times: Vec<chrono::DateTime<chrono::Utc>> = lines
        .iter()
        .map(|l| {
            l.split_whitespace()
                .next()
                .unwrap_or("")
                .parse()
                .expect("log time")
        })
        .collect();
    for pair in times.windows(2) {
        assert!(
            pair[1] - pair[0] >= chrono::TimeDelta::milliseconds(300),
            "at most one line per period: {lines:#?}"
        );
    }
}
