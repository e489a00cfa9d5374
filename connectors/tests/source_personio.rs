//! Personio against a local server speaking the v1 shapes: `/v1/auth` tokens, enforced
//! paging with `metadata`, `{label, value}` attributes, an expired token, throttling, an
//! outage, and answers that are not the v1 shape.

mod source_util;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::extract::Query;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Json, Router};
use hrsync_connectors::http::{Auth, HttpClient, HttpSettings};
use hrsync_connectors::secret::Secret;
use hrsync_connectors::source::personio::PersonioSource;
use hrsync_connectors::source::{build, KindConfig, Person, SourceError};
use serde_json::{json, Value};
use source_util::{
    assert_persons, authorization, fetch_err, fetch_ok, json as reply, person, rejections, serve,
    source, Counter, Log,
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
/// `faults` answers the n-th employees request (1-based) with a status instead: 429 with
/// `Retry-After: 0`, anything else with an error body.
async fn server(t1_uses: usize, faults: &[(usize, u16)]) -> Server {
    let faults: Vec<(usize, u16)> = faults.to_vec();
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
                match faults.iter().find(|(at, _)| *at == n) {
                    Some((_, 429)) => return reply(429, &[("retry-after", "0".into())], &json!({})),
                    Some((_, status)) => return reply(*status, &[], &json!({"success": false, "error": {"message": "unavailable"}})),
                    None => {}
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
    let s = server(2, &[]).await;
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
    assert_eq!(
        rejections(&read),
        ["personio record #4 5 field status: unknown status \"freelance\" (known: active, inactive, leave, onboarding, terminated; add it to status_map)"]
    );
    assert_persons(&read, &expected_staff());
}

/// The persons of [`staff`]: every attribute's value under its own name, Personio's names
/// mapped to hrsync's, the supervisor named by id, the department by name, `onboarding`
/// an active employee-to-be with the future start date kept, `inactive` terminated.
fn expected_staff() -> Vec<Person> {
    let p = |index: u64, fields: Value| person("personio", index, "id", fields);
    vec![
        p(
            0,
            json!({"id": "1", "first_name": "Anna", "last_name": "Muster",
                "email": "anna@corp.example", "status": "active", "position": "Engineer",
                "hire_date": "2019-01-07T00:00:00+01:00", "department": "Engineering",
                "dynamic_1234": "CC-7", "start_date": "2019-01-07", "job_title": "Engineer",
                "cost_center": "CC-7"}),
        ),
        p(
            1,
            json!({"id": "2", "first_name": "Ben", "last_name": "Muster",
                "email": "ben@corp.example", "status": "active", "position": "Engineer",
                "hire_date": "2027-01-04T00:00:00+01:00", "supervisor": 1,
                "department": "Engineering", "dynamic_1234": "CC-7", "start_date": "2027-01-04",
                "manager_id": "1", "job_title": "Engineer", "cost_center": "CC-7"}),
        ),
        p(
            2,
            json!({"id": "3", "first_name": "Cara", "last_name": "Muster",
                "email": "cara@corp.example", "status": "leave", "position": "Engineer",
                "hire_date": "2020-05-01T00:00:00+02:00", "supervisor": 1,
                "department": "Sales", "dynamic_1234": "CC-7", "start_date": "2020-05-01",
                "manager_id": "1", "job_title": "Engineer", "cost_center": "CC-7"}),
        ),
        p(
            3,
            json!({"id": "4", "first_name": "Dirk", "last_name": "Muster",
                "email": "dirk@corp.example", "status": "terminated", "position": "Engineer",
                "hire_date": "2018-02-01T00:00:00+01:00",
                "termination_date": "2026-10-31T00:00:00+01:00", "supervisor": 1,
                "department": "Sales", "dynamic_1234": "CC-7", "start_date": "2018-02-01",
                "end_date": "2026-10-31", "manager_id": "1", "job_title": "Engineer",
                "cost_center": "CC-7"}),
        ),
    ]
}

#[tokio::test]
async fn throttled_and_failing_pages_are_retried_and_page_size_is_capped() {
    // The first request is throttled, the second meets a passing outage.
    let s = server(100, &[(1, 429), (2, 503)]).await;
    let text = format!(
        r#"
        name = "personio"
        kind = "personio"
        client_id = "cid"
        client_secret = {{ credential = "personio-secret" }}
        base_url = "{}"
        page_size = 250
        fields = {{ cost_center = "dynamic_1234" }}
        "#,
        s.base
    );
    let cfg = source_util::config(&text);
    // The config check refuses a page size over Personio's limit...
    let refused = build(&cfg, None).err().map(|e| e.to_string());
    assert_eq!(
        refused.as_deref(),
        Some("source personio: page_size: 250 must be between 1 and 100 (Personio's limit)")
    );
    // ...and a source built past the check still never asks for more than 100 (the
    // server answers 400 to a larger limit).
    let KindConfig::Personio(c) = &cfg.kind else {
        panic!("personio config expected")
    };
    let client = HttpClient::new(HttpSettings::default(), Auth::None).expect("client");
    let src = PersonioSource::new(&cfg.common, cfg.key(), c, client, Secret::new("csecret"));
    let read = fetch_ok(&src).await;
    assert_eq!(s.pages.all(), ["limit=100 offset=0"]);
    assert_eq!(s.calls.get(), 3, "the 429, the 503 and the page");
    assert_eq!(s.auth_calls.get(), 1);
    assert_persons(&read, &expected_staff());
}

#[tokio::test]
async fn an_outage_that_outlasts_the_retries_is_a_transport_failure() {
    let s = server(100, &(1..=5).map(|n| (n, 503)).collect::<Vec<_>>()).await;
    let dir = creds("csecret");
    let (err, text) = fetch_err(cfg(&s.base, dir.path(), 50).as_ref()).await;
    assert!(matches!(err, SourceError::Transport { .. }), "{err:?}");
    assert!(
        text.starts_with("source personio: transport failure: HTTP 503 from employees page 1 (")
            && text.ends_with(
                "after 5 attempt(s): {\"success\":false,\"error\":{\"message\":\"unavailable\"}}"
            ),
        "{text}"
    );
    assert_eq!(s.calls.get(), 5);
}

#[tokio::test]
async fn refused_credentials_are_unauthorized_without_the_secret() {
    let s = server(2, &[]).await;
    let dir = creds("not-the-secret");
    let (err, text) = fetch_err(cfg(&s.base, dir.path(), 50).as_ref()).await;
    assert!(matches!(err, SourceError::Unauthorized { .. }), "{err:?}");
    assert!(text.contains("HTTP 401 from authentication"), "{text}");
    assert!(text.contains("Wrong credentials"), "{text}");
    assert!(!text.contains("not-the-secret"));
}

#[tokio::test]
async fn a_token_refused_twice_is_unauthorized() {
    let s = server(0, &[]).await;
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

#[tokio::test]
async fn answers_that_are_not_the_v1_shape_fail_the_read() {
    let two = |from: usize| -> Value { Value::Array(staff()[from..from + 2].to_vec()) };
    let page =
        |data: Value| json!({"success": true, "metadata": {"total_elements": 5}, "data": data});
    let cases: Vec<(&str, Vec<Value>, &str)> = vec![
        (
            "success=false",
            vec![json!({"success": false, "error": {"code": 0, "message": "Something went wrong"}})],
            "source personio: invalid response: employees page 1: success=false: Something went wrong",
        ),
        (
            "no data",
            vec![json!({"success": true, "metadata": {"total_elements": 5}})],
            "source personio: invalid response: employees page 1: no `data` array in the response",
        ),
        (
            "data not a list",
            vec![json!({"success": true, "data": {"type": "Employee"}})],
            "source personio: invalid response: employees page 1: no `data` array in the response",
        ),
        (
            "empty page before total_elements",
            vec![page(two(0)), page(json!([]))],
            "source personio: invalid response: employees page 2 is empty but total_elements is 5 and only 2 were read",
        ),
        (
            "repeating page",
            vec![page(two(0)), page(two(0))],
            "source personio: invalid response: page 2 repeats page 1 (the server ignored the paging parameters)",
        ),
    ];
    let dir = creds("csecret");
    for (name, answers, expected) in cases {
        let hits = Counter::default();
        let app = Router::new()
            .route(
                "/v1/auth",
                post(|| async {
                    reply(200, &[], &json!({"success": true, "data": {"token": "t"}}))
                }),
            )
            .route(
                "/v1/company/employees",
                get(move || {
                    let n = hits.hit();
                    let body = answers[(n - 1).min(answers.len() - 1)].clone();
                    async move { reply(200, &[], &body) }
                }),
            );
        let base = serve(app).await;
        let (err, text) = fetch_err(cfg(&base, dir.path(), 2).as_ref()).await;
        assert!(
            matches!(err, SourceError::InvalidResponse { .. }),
            "{name}: {err:?}"
        );
        assert_eq!(text, expected, "{name}");
    }
}
