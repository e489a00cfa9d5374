//! The `http_json` source against local servers speaking each paging style, with auth,
//! throttling (429 + Retry-After), a 503 and an expired OAuth2 token.

mod source_util;

use std::collections::BTreeMap;

use axum::extract::Query;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};
use source_util::{
    assert_persons, authorization, basic, fetch_err, fetch_ok, field, json as reply, keys, person,
    rejections, serve, source, Counter, Log,
};

type Q = Query<BTreeMap<String, String>>;

fn people(n: usize) -> Vec<Value> {
    (1..=n)
        .map(|i| {
            json!({
                "id": format!("P{i}"),
                "contact": {"email": format!("p{i}@corp.example")},
                "state": if i == 3 { "ON_LEAVE" } else { "EMPLOYED" },
                "hired": "2022-02-01"
            })
        })
        .collect()
}

fn num(q: &BTreeMap<String, String>, k: &str, default: usize) -> usize {
    q.get(k).and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn cred_dir(entries: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (k, v) in entries {
        std::fs::write(dir.path().join(k), v).expect("write credential");
    }
    dir
}

/// The persons [`people`] become under [`MAPPING`], from source `source`: the unmapped
/// scalars passed through, the mapped fields under hrsync's names, the status mapped.
fn expected_people(source: &str, n: usize) -> Vec<hrsync_connectors::source::Person> {
    (1..=n)
        .map(|i| {
            let (state, status) = if i == 3 {
                ("ON_LEAVE", "leave")
            } else {
                ("EMPLOYED", "active")
            };
            person(
                source,
                i as u64 - 1,
                "id",
                json!({"id": format!("P{i}"), "state": state, "hired": "2022-02-01",
                    "email": format!("p{i}@corp.example"), "status": status,
                    "start_date": "2022-02-01"}),
            )
        })
        .collect()
}

const MAPPING: &str = r#"
key = "id"
fields = { email = "/contact/email", status = "state", start_date = "hired" }
status_map = { EMPLOYED = "active", ON_LEAVE = "leave" }
"#;

#[tokio::test]
async fn offset_paging_with_total_header_bearer_auth_429_and_503() {
    let hits = Counter::default();
    let log = Log::default();
    let (h, l) = (hits.clone(), log.clone());
    let app = Router::new().route(
        "/api/people",
        get(move |Query(q): Q, headers: HeaderMap| async move {
            let n = h.hit();
            if authorization(&headers) != "Bearer s3cret" {
                return reply(401, &[], &json!({"error": "bad token"}));
            }
            // The second request is throttled, the fourth meets a passing outage.
            if n == 2 {
                return reply(429, &[("retry-after", "0".into())], &json!({}));
            }
            if n == 4 {
                return reply(503, &[], &json!({"error": "maintenance"}));
            }
            let (limit, offset) = (num(&q, "limit", 100), num(&q, "offset", 0));
            l.push(format!(
                "limit={limit} offset={offset} tag={}",
                q.get("tag").cloned().unwrap_or_default()
            ));
            let all = people(5);
            let page: Vec<Value> = all.iter().skip(offset).take(limit).cloned().collect();
            reply(
                200,
                &[("x-total-count", "5".into())],
                &json!({"data": page}),
            )
        }),
    );
    let base = serve(app).await;
    let creds = cred_dir(&[("api-token", "s3cret\n")]);
    let src = source(
        &format!(
            r#"
            name = "api"
            kind = "http_json"
            url = "{base}/api/people?tag=hr"
            auth = {{ kind = "bearer", token = {{ credential = "api-token" }} }}
            records_pointer = "/data"
            pagination = {{ style = "offset", limit = 2, total_header = "X-Total-Count" }}
            {MAPPING}
            "#
        ),
        Some(creds.path()),
    );
    let read = fetch_ok(src.as_ref()).await;
    assert!(read.rejected.is_empty(), "{:?}", rejections(&read));
    assert_persons(&read, &expected_people("api", 5));
    assert_eq!(
        log.all(),
        [
            "limit=2 offset=0 tag=hr",
            "limit=2 offset=2 tag=hr",
            "limit=2 offset=4 tag=hr"
        ]
    );
    // Three pages, one 429 and one 503 retried: five requests, no extra page.
    assert_eq!(hits.get(), 5);
}

#[tokio::test]
async fn page_paging_gusto_style_with_total_pages_header_and_basic_auth() {
    let log = Log::default();
    let l = log.clone();
    let app = Router::new().route(
        "/v1/companies/c1/employees",
        get(move |Query(q): Q, headers: HeaderMap| async move {
            if authorization(&headers) != basic("svc", "pw") {
                return reply(401, &[], &json!({}));
            }
            let (page, per) = (num(&q, "page", 1), num(&q, "per", 25));
            l.push(format!("page={page} per={per}"));
            let all: Vec<Value> = (1..=5)
                .map(|i| json!({"uuid": format!("g{i}"), "first_name": format!("N{i}"), "terminated": i == 5}))
                .collect();
            let chunk: Vec<Value> = all.iter().skip((page - 1) * per).take(per).cloned().collect();
            reply(
                200,
                &[("x-total-pages", "3".into()), ("x-page", page.to_string())],
                &Value::Array(chunk),
            )
        }),
    );
    let base = serve(app).await;
    let creds = cred_dir(&[("pw", "pw")]);
    let src = source(
        &format!(
            r#"
            name = "gusto"
            kind = "http_json"
            url = "{base}/v1/companies/c1/employees"
            auth = {{ kind = "basic", username = "svc", password = {{ credential = "pw" }} }}
            pagination = {{ style = "page", per_page_param = "per", per_page = 2, total_pages_header = "X-Total-Pages" }}
            key = "uuid"
            fields = {{ status = "terminated" }}
            status_map = {{ "true" = "terminated", "false" = "active" }}
            "#
        ),
        Some(creds.path()),
    );
    let read = fetch_ok(src.as_ref()).await;
    assert_eq!(keys(&read), ["g1", "g2", "g3", "g4", "g5"]);
    assert_eq!(field(&read, "g5", "status"), "terminated");
    assert_eq!(field(&read, "g2", "first_name"), "N2");
    assert_eq!(log.all(), ["page=1 per=2", "page=2 per=2", "page=3 per=2"]);
}

#[tokio::test]
async fn cursor_in_body_with_api_key_header() {
    let app = Router::new().route(
        "/workers",
        get(|Query(q): Q, headers: HeaderMap| async move {
            if headers.get("x-api-key").and_then(|v| v.to_str().ok()) != Some("k-123") {
                return reply(403, &[], &json!({"message": "no key"}));
            }
            let (page, next): (Vec<Value>, Value) = match q.get("cursor").map(String::as_str) {
                None => (people(5)[..2].to_vec(), json!("c2")),
                Some("c2") => (people(5)[2..4].to_vec(), json!("c3")),
                Some("c3") => (people(5)[4..].to_vec(), Value::Null),
                Some(_) => (Vec::new(), Value::Null),
            };
            reply(
                200,
                &[],
                &json!({"results": page, "meta": {"next_cursor": next}}),
            )
        }),
    );
    let base = serve(app).await;
    let creds = cred_dir(&[("key", "k-123")]);
    let src = source(
        &format!(
            r#"
            name = "api"
            kind = "http_json"
            url = "{base}/workers"
            auth = {{ kind = "api_key", header = "X-API-Key", key = {{ credential = "key" }} }}
            records_pointer = "/results"
            pagination = {{ style = "cursor", cursor_pointer = "/meta/next_cursor", limit_param = "limit", limit = 2 }}
            {MAPPING}
            "#
        ),
        Some(creds.path()),
    );
    let read = fetch_ok(src.as_ref()).await;
    assert_persons(&read, &expected_people("api", 5));
}

#[tokio::test]
async fn next_link_in_body_rippling_style() {
    let log = Log::default();
    let l = log.clone();
    let app = Router::new().route(
        "/workers",
        get(move |Query(q): Q| async move {
            let cursor = q.get("cursor").cloned().unwrap_or_default();
            l.push(cursor.clone());
            let base = q.get("base").cloned().unwrap_or_default();
            let (page, next) = match cursor.as_str() {
                "" => (vec![json!({"id": "wkr_1", "status": "ACTIVE", "work_email": "a@corp.example", "start_date": "2023-03-15", "end_date": null})], json!(format!("{base}/workers?cursor=b&base={base}"))),
                "b" => (vec![json!({"id": "wkr_2", "status": "TERMINATED", "work_email": "b@corp.example", "start_date": "2020-01-01", "end_date": "2024-01-31", "manager_id": "wkr_1"})], json!(null)),
                _ => (vec![], json!(null)),
            };
            reply(200, &[], &json!({"results": page, "next_link": next}))
        }),
    );
    let base = serve(app).await;
    let src = source(
        &format!(
            r#"
            name = "rippling"
            kind = "http_json"
            url = "{base}/workers?base={base}"
            records_pointer = "/results"
            pagination = {{ style = "cursor", next_link_pointer = "/next_link" }}
            key = "id"
            fields = {{ email = "work_email" }}
            "#
        ),
        None,
    );
    let read = fetch_ok(src.as_ref()).await;
    assert_eq!(keys(&read), ["wkr_1", "wkr_2"]);
    let p2 = &read.persons[1];
    assert_eq!(p2.status, hrsync_connectors::source::Lifecycle::Terminated);
    assert_eq!(p2.manager_id.as_deref(), Some("wkr_1"));
    assert_eq!(log.all(), ["", "b"]);
}

#[tokio::test]
async fn link_header_paging_with_relative_links() {
    let app = Router::new().route(
        "/users",
        get(|Query(q): Q| async move {
            let page = num(&q, "page", 1);
            let all = people(5);
            let chunk: Vec<Value> = all.iter().skip((page - 1) * 2).take(2).cloned().collect();
            let mut links = vec![format!("</users?page=1&per_page=2>; rel=\"first\"")];
            if page < 3 {
                links.push(format!(
                    "</users?page={}&per_page=2>; rel=\"next\"",
                    page + 1
                ));
            }
            reply(200, &[("link", links.join(", "))], &Value::Array(chunk))
        }),
    );
    let base = serve(app).await;
    let src = source(
        &format!(
            r#"
            name = "gh"
            kind = "http_json"
            url = "{base}/users"
            pagination = {{ style = "link_header", per_page_param = "per_page", per_page = 2 }}
            {MAPPING}
            "#
        ),
        None,
    );
    let read = fetch_ok(src.as_ref()).await;
    assert_persons(&read, &expected_people("gh", 5));
}

#[tokio::test]
async fn oauth2_token_is_cached_and_renewed_once_when_it_expires() {
    let token_calls = Counter::default();
    let api_calls = Counter::default();
    let (t, a) = (token_calls.clone(), api_calls.clone());
    let app = Router::new()
        .route(
            "/oauth/token",
            post(move |headers: HeaderMap| async move {
                if authorization(&headers) != basic("client-1", "cs") {
                    return reply(401, &[], &json!({"error": "invalid_client"}));
                }
                let n = t.hit();
                reply(
                    200,
                    &[],
                    &json!({"access_token": format!("tok{n}"), "expires_in": 3600}),
                )
            }),
        )
        .route(
            "/people",
            get(move |Query(q): Q, headers: HeaderMap| async move {
                let n = a.hit();
                // The first token is revoked after two pages: the server says 401.
                let auth = authorization(&headers);
                let ok = auth == "Bearer tok2" || (auth == "Bearer tok1" && n <= 2);
                if !ok {
                    return reply(401, &[], &json!({"error": "expired"}));
                }
                let offset = num(&q, "offset", 0);
                let all = people(5);
                let chunk: Vec<Value> = all.iter().skip(offset).take(2).cloned().collect();
                reply(200, &[], &json!({"data": chunk, "total": 5}))
            }),
        );
    let base = serve(app).await;
    let creds = cred_dir(&[("cs", "cs")]);
    let src = source(
        &format!(
            r#"
            name = "api"
            kind = "http_json"
            url = "{base}/people"
            auth = {{ kind = "oauth2_client_credentials", token_url = "{base}/oauth/token", client_id = "client-1", client_secret = {{ credential = "cs" }} }}
            records_pointer = "/data"
            pagination = {{ style = "offset", limit = 2, total_pointer = "/total" }}
            {MAPPING}
            "#
        ),
        Some(creds.path()),
    );
    let read = fetch_ok(src.as_ref()).await;
    assert_eq!(keys(&read), ["P1", "P2", "P3", "P4", "P5"]);
    assert_eq!(
        token_calls.get(),
        2,
        "one token, then one renewal after the 401"
    );
    assert_eq!(api_calls.get(), 4, "three pages plus the refused one");
}

#[tokio::test]
async fn refused_credentials_are_unauthorized_and_never_show_the_secret() {
    let app = Router::new().route(
        "/people",
        get(|| async { reply(401, &[], &json!({"error": "invalid token"})) }),
    );
    let base = serve(app).await;
    let creds = cred_dir(&[("tok", "very-secret-token")]);
    let src = source(
        &format!(
            r#"
            name = "api"
            kind = "http_json"
            url = "{base}/people"
            auth = {{ kind = "bearer", token = {{ credential = "tok" }} }}
            "#
        ),
        Some(creds.path()),
    );
    let (err, text) = fetch_err(src.as_ref()).await;
    assert!(
        matches!(
            err,
            hrsync_connectors::source::SourceError::Unauthorized { .. }
        ),
        "{err:?}"
    );
    assert!(
        text.starts_with("source api: credentials refused (HTTP 401 from page 1"),
        "{text}"
    );
    assert!(
        text.ends_with("{\"error\":\"invalid token\"}) — check the source's credentials"),
        "{text}"
    );
    assert!(!text.contains("very-secret-token"));
}

#[tokio::test]
async fn bad_records_are_set_aside_and_the_rest_come_out() {
    let app = Router::new().route(
        "/people",
        get(|| async {
            reply(
                200,
                &[],
                &json!([
                    {"id": "A1", "email": "a1@corp.example"},
                    "not an object",
                    {"id": {"nested": true}},
                    {"id": "A2", "email": "a2@"},
                    {"id": "A3", "email": "a3@corp.example"}
                ]),
            )
        }),
    );
    let base = serve(app).await;
    let src = source(
        &format!("name = \"api\"\nkind = \"http_json\"\nurl = \"{base}/people\"\nkey = \"id\""),
        None,
    );
    let read = fetch_ok(src.as_ref()).await;
    assert_eq!(keys(&read), ["A1", "A3"]);
    assert_eq!(
        rejections(&read),
        [
            "api record #1: record is not a JSON object",
            "api record #2 field id: key field `id` is not text or a number: {\"nested\":true}",
            "api record #3 A2 field email: invalid email address \"a2@\"",
        ]
    );
}
