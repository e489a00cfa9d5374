//! HR sources through the whole cycle: an HTTP JSON API with pages feeds `apply`; a source
//! answering an HTML error page stops the cycle (exit 3) without touching any account;
//! `check` reports record counts and the first validation problems.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::extract::{Query, State};
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
                   "employment": {"state": status, "title": "Rep"}})
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
