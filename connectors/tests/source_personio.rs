//! Personio against a local server speaking the v1 shapes: `/v1/auth` tokens, enforced
//! paging with `metadata`, `{label, value}` attributes, an expired token and throttling.

mod source_util;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::extract::Query;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::NaiveDate;
use hrsync_connectors::source::{Lifecycle, SourceError};
use serde_json::{json, Value};
use source_util::{
    authorization, fetch_err, fetch_ok, field, json as reply, keys, rejections, serve, source,
    Counter, Log,
};

fn attr(label: &str, value: Value) -> Value {
    json!({"label": label, "value": value})
}

fn employee(
    id: u64,
    first: &str,
    status: &str,
    hire: &str,
    term: Value,
    sup: Option<u64>,
    dept: &str,
) -> Value {
    let supervisor = match sup {
        Some(s) => json!({"type": "Employee", "attributes": {
            "id": attr("ID", json!(s)), "first_name": attr("First name", json!("Boss"))}}),
        None => Value::Null,
    };
    json!({"type": "Employee", "attributes": {
        "id": attr("ID", json!(id)),
        "first_name": attr("First name", json!(first)),
        "last_name": attr("Last name", json!("Muster")),
        "email": attr("Email", json!(format!("{}@corp.example", first.to_lowercase()))),
        "status": attr("Status", json!(status)),
        "position": attr("Position", json!("Engineer")),
        "hire_date": attr("Hire date", json!(hire)),
        "termination_date": attr("Termination date", term),
        "supervisor": attr("Supervisor", supervisor),
        "department": attr("Department", json!({"type": "Department", "attributes": {"id": 9, "name": dept}})),
        "dynamic_1234": attr("Cost center", json!("CC-7"))
    }})
}

fn staff() -> Vec<Value> {
    vec![
        employee(
            1,
            "Anna",
            "active",
            "2019-01-07T00:00:00+01:00",
            Value::Null,
            None,
            "Engineering",
        ),
        employee(
            2,
            "Ben",
            "onboarding",
            "2027-01-04T00:00:00+01:00",
            Value::Null,
            Some(1),
            "Engineering",
        ),
        employee(
            3,
            "Cara",
            "leave",
            "2020-05-01T00:00:00+02:00",
            Value::Null,
            Some(1),
            "Sales",
        ),
        employee(
            4,
            "Dirk",
            "inactive",
            "2018-02-01T00:00:00+01:00",
            json!("2026-10-31T00:00:00+01:00"),
            Some(1),
            "Sales",
        ),
        employee(
            5,
            "Eva",
            "freelance",
            "2024-02-01T00:00:00+01:00",
            Value::Null,
            Some(1),
            "Ops",
        ),
    ]
}

struct Server {
    auth_calls: Counter,
    calls: Counter,
    pages: Log,
    base: String,
}

/// Tokens are `t1`, `t2`, ...; the first one expires after `t1_uses` employee requests.
async fn server(t1_uses: usize, throttle_page: Option<usize>) -> Server {
    let auth_calls = Counter::default();
    let pages = Log::default();
    let uses = Arc::new(Mutex::new(0usize));
    let calls = Counter::default();
    let all_calls = calls.clone();
    let a = auth_calls.clone();
    let p = pages.clone();
    let app = Router::new()
        .route(
            "/v1/auth",
            post(move |Json(body): Json<Value>| async move {
                if body["client_id"] != "cid" || body["client_secret"] != "csecret" {
                    return reply(401, &[], &json!({"success": false, "error": {"code": 0, "message": "Wrong credentials"}}));
                }
                let n = a.hit();
                reply(200, &[], &json!({"success": true, "data": {"token": format!("t{n}")}}))
            }),
        )
        .route(
            "/v1/company/employees",
            get(move |Query(q): Query<BTreeMap<String, String>>, headers: HeaderMap| async move {
                let n = calls.hit();
                let auth = authorization(&headers);
                let valid = match auth.as_str() {
                    "Bearer t1" => {
                        let mut u = uses.lock().expect("lock");
                        *u += 1;
                        *u <= t1_uses
                    }
                    "Bearer t2" => true,
                    _ => false,
                };
                if !valid {
                    return reply(401, &[], &json!({"success": false, "error": {"message": "token expired"}}));
                }
                if Some(n) == throttle_page {
                    return reply(429, &[("retry-after", "0".into())], &json!({}));
                }
                let limit: usize = q.get("limit").and_then(|v| v.parse().ok()).unwrap_or(50);
                let offset: usize = q.get("offset").and_then(|v| v.parse().ok()).unwrap_or(0);
                if limit > 100 {
                    return reply(400, &[], &json!({"success": false, "error": {"message": "limit too high"}}));
                }
                p.push(format!("limit={limit} offset={offset}"));
                let all = staff();
                let chunk: Vec<Value> = all.iter().skip(offset).take(limit).cloned().collect();
                let pages = all.len().div_ceil(limit);
                reply(200, &[], &json!({"success": true, "metadata": {
                    "total_elements": all.len(), "current_page": offset / limit, "total_pages": pages},
                    "data": chunk}))
            }),
        );
    let base = serve(app).await;
    Server {
        auth_calls,
        calls: all_calls,
        pages,
        base,
    }
}

fn cfg(
    base: &str,
    secret_dir: &std::path::Path,
    page_size: u32,
) -> Box<dyn hrsync_connectors::source::Source> {
    source(
        &format!(
            r#"
            name = "personio"
            kind = "personio"
            client_id = "cid"
            client_secret = {{ credential = "personio-secret" }}
            base_url = "{base}"
            page_size = {page_size}
            fields = {{ cost_center = "dynamic_1234" }}
            "#
        ),
        Some(secret_dir),
    )
}

fn creds(secret: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("personio-secret"), secret).expect("write");
    dir
}

#[tokio::test]
async fn pages_statuses_and_an_expired_token() {
    let s = server(2, None).await;
    let dir = creds("csecret");
    let read = fetch_ok(cfg(&s.base, dir.path(), 2).as_ref()).await;
    assert_eq!(
        s.auth_calls.get(),
        2,
        "one token, renewed once after it expired"
    );
    assert_eq!(
        s.pages.all(),
        ["limit=2 offset=0", "limit=2 offset=2", "limit=2 offset=4"]
    );
    assert_eq!(keys(&read), ["1", "2", "3", "4"]);
    assert_eq!(
        rejections(&read),
        ["personio record #4 5 field status: unknown status \"freelance\" (known: active, inactive, leave, onboarding, terminated; add it to status_map)"]
    );
    let p = |k: &str| read.persons.iter().find(|p| p.key == k).expect("person");
    assert_eq!(p("1").status, Lifecycle::Active);
    assert_eq!(p("1").manager_id, None);
    assert_eq!(
        p("2").status,
        Lifecycle::Active,
        "onboarding is an employee-to-be"
    );
    assert_eq!(
        p("2").start_date,
        NaiveDate::from_ymd_opt(2027, 1, 4),
        "future start kept"
    );
    assert_eq!(p("2").manager_id.as_deref(), Some("1"));
    assert_eq!(p("3").status, Lifecycle::Leave);
    assert_eq!(p("4").status, Lifecycle::Terminated);
    assert_eq!(p("4").end_date, NaiveDate::from_ymd_opt(2026, 10, 31));
    assert_eq!(field(&read, "3", "department"), "Sales");
    assert_eq!(field(&read, "3", "email"), "cara@corp.example");
    assert_eq!(field(&read, "3", "job_title"), "Engineer");
    assert_eq!(field(&read, "3", "cost_center"), "CC-7");
    assert_eq!(field(&read, "1", "start_date"), "2019-01-07");
}

#[tokio::test]
async fn throttled_page_is_retried_and_page_size_is_capped() {
    let s = server(100, Some(1)).await;
    let dir = creds("csecret");
    let read = fetch_ok(cfg(&s.base, dir.path(), 100).as_ref()).await;
    assert_eq!(keys(&read), ["1", "2", "3", "4"]);
    assert_eq!(s.auth_calls.get(), 1);
    assert_eq!(s.pages.all(), ["limit=100 offset=0"]);
    assert_eq!(s.calls.get(), 2, "the 429 and its retry");
}

#[tokio::test]
async fn refused_credentials_are_unauthorized_without_the_secret() {
    let s = server(2, None).await;
    let dir = creds("not-the-secret");
    let (err, text) = fetch_err(cfg(&s.base, dir.path(), 50).as_ref()).await;
    assert!(matches!(err, SourceError::Unauthorized { .. }), "{err:?}");
    assert!(text.contains("HTTP 401 from authentication"), "{text}");
    assert!(text.contains("Wrong credentials"), "{text}");
    assert!(!text.contains("not-the-secret"));
}

#[tokio::test]
async fn a_token_refused_twice_is_unauthorized() {
    let s = server(0, None).await;
    let base = s.base.clone();
    // t1 is dead on arrival and t2 is accepted: one renewal suffices.
    let dir = creds("csecret");
    let read = fetch_ok(cfg(&base, dir.path(), 50).as_ref()).await;
    assert_eq!(read.persons.len(), 4);
    assert_eq!(s.auth_calls.get(), 2);
    // A server that refuses every token: the second 401 is final.
    let app = Router::new()
        .route(
            "/v1/auth",
            post(|| async { reply(200, &[], &json!({"success": true, "data": {"token": "tx"}})) }),
        )
        .route(
            "/v1/company/employees",
            get(|| async { reply(401, &[], &json!({"success": false})) }),
        );
    let base = serve(app).await;
    let (err, text) = fetch_err(cfg(&base, dir.path(), 50).as_ref()).await;
    assert!(matches!(err, SourceError::Unauthorized { .. }), "{err:?}");
    assert!(text.contains("employees page 1"), "{text}");
}
