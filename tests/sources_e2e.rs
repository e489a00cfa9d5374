//! HR sources through the whole cycle: an HTTP JSON API with pages feeds `apply`; a source
//! answering an HTML error page stops the cycle (exit 3) without touching any account;
//! refused source credentials stop it too, said at ERROR level and kept in `status`;
//! `check` reports record counts and the first validation problems.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::util::*;

#[derive(Clone)]
struct Hr {
    broken: Arc<AtomicBool>,
}

#[derive(serde::Deserialize)]
struct Page {
    page: Option<usize>,
}

async fn employees(State(hr): State<Hr>, Query(q): Query<Page>) -> Response {
    if hr.broken.load(Ordering::SeqCst) {
        return (
            axum::http::StatusCode::OK,
            Html("<html><body>Maintenance</body></html>"),
        )
            .into_response();
    }
    let all = [
        ("E1", "Ana", "ana@corp.example", "active"),
        ("E2", "Bo", "bo@corp.example", "active"),
        ("E3", "Cy", "cy@corp.example", "Terminated"),
        ("E4", "Di", "not-an-email", "active"),
    ];
    let page = q.page.unwrap_or(1);
    let rows: Vec<_> = all
        .iter()
        .skip((page - 1) * 2)
        .take(2)
        .map(|(id, name, email, status)| {
            json!({"id": id, "profile": {"first": name, "last": "Test", "email": email},
                   "employment": {"state": status, "title": "Rep", "department": "Sales"}})
        })
        .collect();
    Json(json!({"data": {"employees": rows}, "meta": {"pages": 2}})).into_response()
}

async fn hr_server(broken: Arc<AtomicBool>) -> String {
    let app = Router::new()
        .route("/api/employees", get(employees))
        .with_state(Hr { broken });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}/api/employees")
}

fn config(env: &Env, url: &str, app: &str) -> String {
    format!(
        r#"[daemon]
state_path = "{state}"

[[sources]]
name = "people-api"
kind = "http_json"
url = "{url}"
records_pointer = "/data/employees"
pagination = {{ style = "page", page_param = "page", per_page_param = "per_page", per_page = 2, total_pages_pointer = "/meta/pages" }}
key = "employee_id"
[sources.fields]
employee_id = "/id"
first_name = "/profile/first"
last_name = "/profile/last"
email = "/profile/email"
job_title = "/employment/title"
department = "/employment/department"
status = "/employment/state"
[sources.status_map]
terminated = "terminated"

{app}"#,
        state = env.state.display(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paged_json_api_feeds_apply_and_a_broken_response_stops_the_cycle() {
    let sb = sandbox().await;
    let broken = Arc::new(AtomicBool::new(false));
    let url = hr_server(broken.clone()).await;
    let env = Env::new("");
    std::fs::write(
        &env.config,
        config(&env, &url, &env.app("app", &sb.base_url(), "")),
    )
    .expect("write");

    let cfg = env.config.clone();
    let out = blocking(move || hrsync_cmd(&cfg, &["apply", "--yes"])).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let users = sb.users().await;
    assert_eq!(
        users.len(),
        2,
        "E1 and E2; E3 terminated, E4 quarantined: {users:#?}"
    );
    assert_eq!(by_external_id(&users, "E1")[0]["name"]["givenName"], "Ana");
    assert!(by_external_id(&users, "E4").is_empty());

    let cfg = env.config.clone();
    let out = blocking(move || hrsync_cmd(&cfg, &["check"])).await;
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(
        s.contains("people-api") && s.contains("3 records"),
        "{}",
        text(&out)
    );
    assert!(
        s.contains("E4") && s.contains("email"),
        "first problems listed: {}",
        text(&out)
    );

    broken.store(true, Ordering::SeqCst);
    sb.reset_stats();
    let cfg = env.config.clone();
    let out = blocking(move || hrsync_cmd(&cfg, &["apply", "--yes"])).await;
    assert_eq!(
        out.status.code(),
        Some(3),
        "an HTML page is not zero employees: {}",
        text(&out)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("people-api"),
        "{}",
        text(&out)
    );
    assert_eq!(sb.stats().writes, 0);
    assert!(
        sb.users().await.iter().all(|u| u["active"] == true),
        "nobody deprovisioned"
    );
}

/// An HR API that checks its bearer token; `refuse` makes it answer 401 as when the
/// token was revoked, `down` makes it answer 503 as in an outage.
#[derive(Clone)]
struct Guarded {
    refuse: Arc<AtomicBool>,
    down: Arc<AtomicBool>,
}

async fn guarded_employees(State(hr): State<Guarded>, headers: HeaderMap) -> Response {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if hr.refuse.load(Ordering::SeqCst) || auth != "Bearer hr-token" {
        return (
            axum::http::StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid_token"})),
        )
            .into_response();
    }
    if hr.down.load(Ordering::SeqCst) {
        return (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            [("retry-after", "0")],
            Json(json!({"error": "maintenance"})),
        )
            .into_response();
    }
    Json(json!([
        {"employee_id": "E1", "first_name": "Ana", "last_name": "Test", "email": "ana@corp.example", "job_title": "Rep", "department": "Sales"},
        {"employee_id": "E2", "first_name": "Bo", "last_name": "Test", "email": "bo@corp.example", "job_title": "Rep", "department": "Sales"}
    ]))
    .into_response()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_source_credentials_abort_before_any_write_and_say_so() {
    let sb = sandbox().await;
    let hr = Guarded {
        refuse: Arc::new(AtomicBool::new(false)),
        down: Arc::new(AtomicBool::new(false)),
    };
    let app = Router::new()
        .route("/employees", get(guarded_employees))
        .with_state(hr.clone());
    let url = format!("{}/employees", serve(app).await);
    let env = Env::new("");
    let hr_token = env.dir.path().join("hr-token");
    std::fs::write(&hr_token, "hr-token").expect("write");
    std::fs::write(
        &env.config,
        format!(
            r#"[daemon]
state_path = "{state}"

[[sources]]
name = "hris"
kind = "http_json"
url = "{url}"
auth = {{ kind = "bearer", token = {{ file = "{token}" }} }}
key = "employee_id"

{app}"#,
            state = env.state.display(),
            token = hr_token.display(),
            app = env.app("app", &sb.base_url(), ""),
        ),
    )
    .expect("write config");
    let out = env_run(&env, &["apply", "--yes"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(sb.users().await.len(), 2);

    // The token is revoked: the cycle stops before any write, loudly.
    hr.refuse.store(true, Ordering::SeqCst);
    sb.reset_stats();
    let out = env_run(&env, &["apply", "--yes"]).await;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let alert = stderr
        .lines()
        .find(|l| l.contains("ERROR"))
        .unwrap_or_else(|| panic!("no ERROR line: {}", text(&out)));
    assert!(
        alert.contains("source hris: credentials refused (HTTP 401 from page 1")
            && alert.contains("check the source's credentials"),
        "the ERROR line names the source and the refused credentials: {alert}"
    );
    assert!(
        !stderr.contains("hr-token\""),
        "no secret in the log: {stderr}"
    );
    assert_eq!(sb.stats().writes, 0, "nothing written to the app");
    let users = sb.users().await;
    assert!(
        users.len() == 2 && users.iter().all(|u| u["active"] == true),
        "nobody deprovisioned: {users:#?}"
    );
    let cfg = env.config.clone();
    let status = blocking(move || hrsync_cmd(&cfg, &["status"])).await;
    let shown = String::from_utf8_lossy(&status.stdout).to_string();
    let last = shown
        .lines()
        .find(|l| l.trim_start().starts_with('#'))
        .unwrap_or_else(|| panic!("no cycle listed: {}", text(&status)));
    assert!(
        last.contains("guarded")
            && last.contains("cycle aborted before any write")
            && last.contains("source hris: credentials refused (HTTP 401"),
        "status shows why the last cycle stopped: {shown}"
    );

    // An outage also stops the cycle, but is not reported as refused credentials.
    hr.refuse.store(false, Ordering::SeqCst);
    hr.down.store(true, Ordering::SeqCst);
    let out = env_run(&env, &["apply", "--yes"]).await;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        stderr.contains("source hris: transport failure: HTTP 503")
            && !stderr.contains("credentials refused")
            && !stderr.lines().any(|l| l.contains("ERROR")),
        "an outage is a warning about transport, not an alert about credentials: {stderr}"
    );
    assert_eq!(sb.stats().writes, 0);
}

/// Runs hrsync on `env` off the async runtime.
pub(crate) async fn env_run(env: &Env, args: &[&str]) -> std::process::Output {
    let cfg = env.config.clone();
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    blocking(move || {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        hrsync_cmd(&cfg, &refs)
    })
    .await
}

/// Serves `app` on an ephemeral loopback port; returns `http://127.0.0.1:PORT`.
pub(crate) async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}
