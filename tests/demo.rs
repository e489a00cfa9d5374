//! `hrsync demo` runs end to end on the bundled data and tells the story it promises.

use crate::util::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_runs_both_days_and_ends_with_the_accounts_table() {
    let out = blocking(|| {
        std::process::Command::new(env!("CARGO_BIN_EXE_hrsync"))
            .arg("demo")
            .env("HRSYNC_LOG", "warn")
            .output()
            .expect("run demo")
    })
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let s = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "Day 1",
        "Day 2",
        "$ hrsync plan",
        "$ hrsync apply",
        "to create",
        "deactivate",
        "reactivated (same id)",
        "Accounts in the wiki sandbox",
        "sven.kim@corp.example",
        "old.contractor@corp.example",
    ] {
        assert!(s.contains(needle), "demo output lacks {needle:?}:\n{s}");
    }
    assert!(!s.contains(" failed\n") || s.contains("0 failed"), "{s}");
}
