//! Progress while an app's accounts are read: `plan --detect-drift` on a terminal (under a
//! pseudo-terminal) draws a bar counting the accounts and pages read; `resync` without a
//! terminal writes progress log lines with the counts and no escape codes.

use crate::util::push::{csv, people};
use crate::util::*;

/// An app holding 250 linked accounts: three pages of the generic profile's 100.
async fn with_accounts() -> (Env, hrsync_sandbox::SandboxHandle) {
    let sb = sandbox().await;
    let env = Env::new(&csv(&people(250)));
    env.write_config(&env.app("app", &sb.base_url(), ""));
    let out = env.hrsync(&["apply", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(sb.users().await.len(), 250);
    (env, sb)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_terminal_plan_detect_drift_shows_the_accounts_and_pages_read() {
    let (env, _sb) = with_accounts().await;
    let out = terminal::on_terminal(&env, &["plan", "--detect-drift"]).await;
    let shown = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        shown.contains("read 250 accounts in") && shown.contains("3 pages"),
        "the bar ends with the accounts and pages read: {shown:?}"
    );
    assert!(
        shown.contains('\x1b'),
        "a terminal gets the bar's cursor control: {shown:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_terminal_resync_logs_its_reading_progress_without_escapes() {
    let (env, _sb) = with_accounts().await;
    let config = env.config.clone();
    let out = blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_hrsync"))
            .arg("--config")
            .arg(&config)
            .arg("resync")
            .env_remove("HRSYNC_CONFIG")
            .env("HRSYNC_LOG", "info")
            // A line per page: the period is what keeps them apart on a long read.
            .env("HRSYNC_PROGRESS_EVERY_MS", "0")
            .output()
            .expect("run hrsync")
    })
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        !out.stderr.contains(&0x1b) && !out.stdout.contains(&0x1b),
        "no escape codes off a terminal: {}",
        text(&out)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("Reading the app's accounts.") && l.contains("app=app"))
        .collect();
    assert_eq!(lines.len(), 3, "one line per page here: {}", text(&out));
    assert!(
        lines[2].contains("accounts=250") && lines[2].contains("pages=3"),
        "{lines:#?}"
    );
}
