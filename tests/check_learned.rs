//! `hrsync check` says what it learned: per app, the capabilities the app advertised next
//! to what its profile assumes; per source, in how many records each field is non-empty.

use crate::util::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_shows_discovered_capabilities_and_field_coverage() {
    let sb = sandbox().await;
    let env = Env::new(&format!(
        "{HEADER}E001,Ann,Lee,ann@corp.example,Sales,Rep,active,2020-01-01,,E003\n\
         E002,Bob,Ray,bob@corp.example,,Rep,active,2020-01-01,,\n\
         E003,Cy,Oh,cy@corp.example,Sales,,active,2020-01-01,,\n"
    ));
    env.write_config(&env.app("wiki", &sb.base_url(), ""));
    let config = env.config.clone();
    let out = blocking(move || hrsync_cmd(&config, &["check"])).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = |start: &str| {
        stdout
            .lines()
            .find(|l| l.trim_start().starts_with(start))
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .unwrap_or_else(|| panic!("no line {start:?} in\n{stdout}"))
    };
    assert!(
        stdout.contains("app wiki: what it advertised, and what its profile assumes"),
        "{stdout}"
    );
    assert_eq!(
        line("capability"),
        "capability discovered profile generic assumes"
    );
    assert_eq!(line("PATCH"), "PATCH yes as discovered");
    assert_eq!(
        line("Bulk"),
        "Bulk yes, 1,000 operations, 1,048,576 bytes yes, 1,000 operations, 1,048,576 bytes"
    );
    assert!(
        line("filtering").starts_with("filtering yes on userName"),
        "{stdout}"
    );
    assert_eq!(line("max page size"), "max page size 1,000 1,000");
    assert_eq!(line("ETag"), "ETag yes yes");

    assert!(stdout.contains("source hris: mapped fields"), "{stdout}");
    assert_eq!(line("department"), "department non-empty in 2 of 3");
    assert_eq!(line("job_title"), "job_title non-empty in 2 of 3");
    assert_eq!(line("manager_id"), "manager_id non-empty in 1 of 3");
    assert_eq!(line("end_date"), "end_date non-empty in 0 of 3");
    assert_eq!(line("email"), "email non-empty in 3 of 3");
}
