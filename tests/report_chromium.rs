//! The HTML plan report rendered by a real browser (headless Chromium, when installed):
//! no console errors, and the counts, the sources and the quarantine reasons are on the
//! page as text, without hovering.

use std::path::Path;
use std::process::Command;

use crate::util::*;

/// The browser binary, if this machine has one (Debian's `chromium` package).
fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser"].into_iter().find(|b| {
        Command::new(b)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

/// Runs the browser headless, isolated, on the file; returns (stdout, stderr).
fn headless(browser: &str, profile: &Path, page: &Path, action: &str) -> (String, String) {
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
            // Any request leaving the file fails loudly instead of reaching the network.
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--window-size=1000,1400",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(action)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn html_plan_renders_in_chromium_with_counts_and_no_console_errors() {
    let Some(browser) = chromium() else {
        eprintln!(
            "SKIPPED html_plan_renders_in_chromium: no chromium on PATH (Debian: apt-get install chromium)"
        );
        return;
    };
    let sb = sandbox().await;
    let rows: String = (1..=12)
        .map(|i| {
            format!("E{i:03},P{i:03},Test,p{i:03}@corp.example,Sales,Rep,active,2020-01-01,,\n")
        })
        .collect();
    let bad = "E900,Bad,Date,bad@corp.example,Sales,Rep,active,not-a-date,,\n";
    let env = Env::new(&format!("{HEADER}{rows}{bad}"));
    env.write_config(&env.app("wiki", &sb.base_url(), ""));
    let page = env.dir.path().join("plan.html");
    let config = env.config.clone();
    let page_arg = page.display().to_string();
    let out = blocking(move || {
        hrsync_cmd(
            &config,
            &["plan", "--format", "html", "--output", &page_arg],
        )
    })
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let profile = tempfile::tempdir().expect("profile dir");
    let (dom, log) = headless(browser, profile.path(), &page, "--dump-dom");
    let console: Vec<&str> = log.lines().filter(|l| l.contains("CONSOLE")).collect();
    assert!(console.is_empty(), "console messages: {console:?}");
    // The rendered DOM shows the counts as text: 12 creates, in the bar and the table.
    let no_titles: String = dom
        .split("<title>")
        .map(|p| p.split_once("</title>").map_or(p, |(_, rest)| rest))
        .collect();
    assert!(no_titles.contains(">12</text>"), "bar label: {dom}");
    assert!(no_titles.contains(">12 total</text>"), "bar total: {dom}");
    assert!(
        no_titles.contains("<td>wiki</td><td class=\"n\">12</td>"),
        "table: {dom}"
    );
    assert!(no_titles.contains("<h2>Sources</h2>"), "{dom}");
    assert!(
        no_titles.contains("<td>hris</td><td class=\"n\">12</td><td class=\"n\">1</td>"),
        "{dom}"
    );
    assert!(
        no_titles.contains("E900"),
        "the quarantined record and its reason: {dom}"
    );

    let shot = env.dir.path().join("plan.png");
    let (_, _) = headless(
        browser,
        profile.path(),
        &page,
        &format!("--screenshot={}", shot.display()),
    );
    let png = std::fs::read(&shot).expect("screenshot written");
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
    if let Ok(keep) = std::env::var("HRSYNC_KEEP_SCREENSHOT") {
        std::fs::copy(&shot, keep).expect("keep screenshot");
    }
}
