//! Read-only commands refuse an app or person nobody knows (exit 2, naming what exists)
//! instead of printing an empty answer that looks like "nothing happened".

use crate::util::*;

fn hr() -> String {
    format!(
        "{HEADER}E001,Ann,Lee,ann.lee@corp.example,Sales,Rep,active,2020-01-01,,\n\
         E002,Bob,Ray,bob.ray@corp.example,Sales,Rep,active,2020-01-01,,\n"
    )
}

async fn run(env: &Env, args: &[&str]) -> std::process::Output {
    let config = env.config.clone();
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    blocking(move || {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        hrsync_cmd(&config, &a)
    })
    .await
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_and_plan_refuse_unknown_apps_and_persons_listing_what_exists() {
    let sb = sandbox().await;
    let env = Env::new(&hr());
    env.write_config(&env.app("crm", &sb.base_url(), ""));

    // Before any cycle: the app is still checked against the config.
    let out = run(&env, &["audit", "--app", "nosuchapp"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        stderr(&out).contains("nosuchapp") && stderr(&out).contains("crm"),
        "{}",
        text(&out)
    );

    assert_eq!(run(&env, &["apply", "--yes"]).await.status.code(), Some(0));

    let out = run(&env, &["audit", "--app", "nosuchapp"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(stderr(&out).contains("crm"), "{}", text(&out));
    assert!(out.stdout.is_empty(), "no trail printed: {}", text(&out));

    let out = run(&env, &["audit", "--user", "E999"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(stderr(&out).contains("E999"), "{}", text(&out));
    assert!(
        stderr(&out).contains("E001, E002"),
        "known persons listed: {}",
        text(&out)
    );

    // Known names still answer.
    let out = run(&env, &["audit", "--app", "crm", "--user", "E002"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("E002"),
        "{}",
        text(&out)
    );

    let out = run(&env, &["plan", "--app", "nosuchapp"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(stderr(&out).contains("crm"), "{}", text(&out));
}
