//! `hrsync check`: every source and app is reached and reported in a table; a wrong token
//! is caught even where the app serves its configuration to anyone; exit 1 on any failure.

use std::net::TcpListener;

use hrsync_sandbox::SandboxOptions;

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
    let rotated = hrsync_sandbox::start(SandboxOptions {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_reads_each_source_kind_and_names_the_one_that_fails() {
    use axum::routing::{get, post};
    use serde_json::json;

    let good = sandbox().await;
    // One loopback server speaking three HR shapes: a BambooHR custom report (one record
    // with a bad e-mail), an API answering an HTML maintenance page, and one refusing its
    // token.
    let app = axum::Router::new()
        .route(
            "/api/gateway.php/acme/v1/reports/custom",
            post(|| async {
                axum::Json(json!({"title": "hrsync", "employees": [
                    {"id": "1", "employeeNumber": "E-001", "workEmail": "ana@corp.example", "status": "Active"},
                    {"id": "2", "employeeNumber": "E-002", "workEmail": "bo@corp.example", "status": "Active", "supervisorEId": "E-001"},
                    {"id": "3", "employeeNumber": "E-003", "workEmail": "cy@", "status": "Active"}
                ]}))
            }),
        )
        .route(
            "/maintenance",
            get(|| async { axum::response::Html("<html><body>Back soon</body></html>") }),
        )
        .route(
            "/revoked",
            get(|| async {
                (
                    axum::http::StatusCode::UNAUTHORIZED,
                    axum::Json(json!({"error": "invalid_token"})),
                )
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let env = Env::new(&csv(&people(3)));
    let secret = env.dir.path().join("hr-secret");
    std::fs::write(&secret, "hr-secret-value").expect("write");
    let secret = secret.display();
    env.write_config(&format!(
        r#"[[sources]]
name = "people"
kind = "bamboohr"
company_domain = "acme"
api_key = {{ file = "{secret}" }}
base_url = "{base}/api/gateway.php/acme/v1"

[[sources]]
name = "broken"
kind = "http_json"
url = "{base}/maintenance"
key = "id"

[[sources]]
name = "revoked"
kind = "http_json"
url = "{base}/revoked"
auth = {{ kind = "bearer", token = {{ file = "{secret}" }} }}
key = "id"

{app}"#,
        app = env.app("wiki", &good.base_url(), "")
    ));
    let out = run(&env, &["check"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(row(&stdout, "hris").contains(" ok "), "{stdout}");
    assert!(row(&stdout, "wiki").contains(" ok "), "{stdout}");
    let people = row(&stdout, "people");
    assert!(
        people.contains(" ok ")
            && people.contains("bamboohr 2 records, 1 quarantined (first: people record #2 3 field email: invalid email address \"cy@\")"),
        "the BambooHR source is read and counted: {stdout}"
    );
    let broken = row(&stdout, "broken");
    assert!(
        broken.contains("FAIL")
            && broken.contains(
                "source broken: invalid response: page 1: response is HTML/XML, not JSON"
            ),
        "{stdout}"
    );
    let revoked = row(&stdout, "revoked");
    assert!(
        revoked.contains("FAIL")
            && revoked.contains("source revoked: credentials refused (HTTP 401 from page 1"),
        "{stdout}"
    );
    assert!(stdout.contains("2 check(s) failed"), "{stdout}");
    assert!(!stdout.contains("hr-secret-value"), "no secret: {stdout}");
    assert_eq!(good.stats().writes, 0, "check writes nothing");
}
