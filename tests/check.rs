//! `hrsync check`: every source and app is reached and reported in a table; a wrong token
//! is caught even where the app serves its configuration to anyone; exit 1 on any failure.

use std::net::TcpListener;

use hrsync::sandbox::SandboxOptions;

use crate::util::push::*;
use crate::util::*;

fn row<'a>(stdout: &'a str, name: &str) -> &'a str {
    stdout
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some(name))
        .unwrap_or_else(|| panic!("no row for {name}:\n{stdout}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_reports_each_app_and_catches_a_refused_token() {
    let good = sandbox().await;
    let rotated = hrsync::sandbox::start(SandboxOptions {
        token: Some("a-token-hrsync-does-not-have".into()),
        public_discovery: true,
        ..SandboxOptions::default()
    })
    .await
    .expect("sandbox");
    let closed_port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let persons = people(3);
    let env = Env::new(&csv(&persons));
    env.write_config(&env.app("wiki", &good.base_url(), ""));
    let healthy = run(&env, &["check"]).await;
    assert_eq!(healthy.status.code(), Some(0), "{}", text(&healthy));
    let out = String::from_utf8_lossy(&healthy.stdout).to_string();
    assert!(row(&out, "hris").contains("ok"), "{out}");
    assert!(row(&out, "wiki").contains("ok"), "{out}");

    env.write_config(&format!(
        "{}\n{}\n{}",
        env.app("wiki", &good.base_url(), ""),
        env.app("crm", &rotated.base_url(), ""),
        env.app(
            "gone",
            &format!("http://127.0.0.1:{closed_port}/scim/v2"),
            ""
        ),
    ));
    let failing = run(&env, &["check"]).await;
    assert_eq!(failing.status.code(), Some(1), "{}", text(&failing));
    let out = String::from_utf8_lossy(&failing.stdout).to_string();
    assert!(row(&out, "wiki").contains(" ok "), "{out}");
    let crm = row(&out, "crm");
    assert!(
        crm.contains("FAIL") && crm.contains("401"),
        "the refused token is reported although discovery answered: {out}"
    );
    assert!(row(&out, "gone").contains("FAIL"), "{out}");
    assert!(out.contains("2 check(s) failed"), "{out}");
    assert_eq!(
        rotated.stats().writes + good.stats().writes,
        0,
        "check writes nothing"
    );
    assert!(
        !out.contains("a-token-hrsync-does-not-have") && !out.contains(TOKEN),
        "no secret in the output: {out}"
    );
}
