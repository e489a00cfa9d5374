//! Another SCIM service provider read as a source: `/Users` paged by startIndex/count,
//! `active` as status, the enterprise extension, e-mails, `/Groups` memberships, an
//! outage and an expired OAuth2 token mid-read, refused credentials, and answers that are
//! not a ListResponse.

mod source_util;

use std::collections::BTreeMap;

use axum::extract::Query;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::Router;
use hrsync_connectors::source::{Person, SourceError};
use serde_json::{json, Value};
use source_util::{
    assert_persons, authorization, basic, fetch_err, fetch_ok, json as reply, keys, person, serve,
    source, Counter, Log,
};

const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn users() -> Vec<Value> {
    let u = |id: &str, ext: &str, given: &str, active: bool, mgr: Option<&str>, dept: &str| {
        let mut ent = json!({"employeeNumber": format!("E{ext}"), "department": dept});
        if let Some(m) = mgr {
            ent["manager"] = json!({"value": m, "displayName": "Boss"});
        }
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENT],
            "id": id, "externalId": format!("X{ext}"), "userName": format!("{}@corp.example", given.to_lowercase()),
            "name": {"givenName": given, "familyName": "Doe"}, "active": active, "title": "Engineer",
            "emails": [{"value": format!("{}@home.example", given.to_lowercase()), "type": "home"},
                       {"value": format!("{}@corp.example", given.to_lowercase()), "type": "work", "primary": true}],
            ENT: ent
        })
    };
    vec![
        u("u-1", "1", "Ana", true, None, "Engineering"),
        u("u-2", "2", "Bo", true, Some("u-1"), "Engineering"),
        u("u-3", "3", "Cy", false, Some("u-1"), "Sales"),
        u("u-4", "4", "Di", true, Some("u-2"), "Sales"),
        u("u-5", "5", "Ed", true, Some("u-2"), "Ops"),
    ]
}

fn groups() -> Vec<Value> {
    vec![
        json!({"id": "g-1", "displayName": "engineering", "members": [
            {"value": "u-1", "type": "User"}, {"value": "u-2"}, {"value": "g-2", "type": "Group"}]}),
        json!({"id": "g-2", "displayName": "admins", "members": [{"value": "u-1"}]}),
        json!({"id": "g-3", "displayName": "empty"}),
    ]
}

fn list(all: &[Value], q: &BTreeMap<String, String>) -> Value {
    let start: usize = q
        .get("startIndex")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let count: usize = q.get("count").and_then(|v| v.parse().ok()).unwrap_or(100);
    let page: Vec<Value> = all.iter().skip(start - 1).take(count).cloned().collect();
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
           "totalResults": all.len(), "startIndex": start, "itemsPerPage": page.len(), "Resources": page})
}

async fn server(log: Log, hits: Counter) -> String {
    let l = log.clone();
    let app = Router::new()
        .route(
            "/scim/v2/Users",
            get(
                move |Query(q): Query<BTreeMap<String, String>>, headers: HeaderMap| async move {
                    if authorization(&headers) != "Bearer scim-tok" {
                        return reply(401, &[], &json!({"detail": "no"}));
                    }
                    if hits.hit() == 2 {
                        return reply(429, &[("retry-after", "0".into())], &json!({}));
                    }
                    l.push(format!("Users {}+{}", q["startIndex"], q["count"]));
                    reply(
                        200,
                        &[("content-type", "application/scim+json".into())],
                        &list(&users(), &q),
                    )
                },
            ),
        )
        .route(
            "/scim/v2/Groups",
            get(
                move |Query(q): Query<BTreeMap<String, String>>| async move {
                    log.push(format!("Groups {}+{}", q["startIndex"], q["count"]));
                    reply(200, &[], &list(&groups(), &q))
                },
            ),
        );
    serve(app).await
}

fn cfg(base: &str, extra: &str) -> String {
    format!(
        r#"
        name = "idp"
        kind = "scim"
        base_url = "{base}/scim/v2"
        auth = {{ kind = "bearer", token = {{ credential = "scim" }} }}
        page_size = 2
        {extra}
        "#
    )
}

fn creds() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("scim"), "scim-tok").expect("write");
    dir
}

#[tokio::test]
async fn users_paged_with_groups_and_enterprise_fields() {
    let log = Log::default();
    let base = server(log.clone(), Counter::default()).await;
    let dir = creds();
    let src = source(&cfg(&base, "include_groups = true"), Some(dir.path()));
    assert_eq!(src.kind(), "scim");
    let read = fetch_ok(src.as_ref()).await;
    assert_eq!(
        log.all(),
        [
            "Users 1+2",
            "Users 3+2",
            "Users 5+2",
            "Groups 1+2",
            "Groups 3+2"
        ],
        "the throttled request was retried, not skipped"
    );
    assert!(read.rejected.is_empty());
    assert_persons(&read, &expected_users(true));
}

/// The persons of [`users`]: core and enterprise attributes flattened to hrsync names, the
/// primary work e-mail, `active` as status, the manager's SCIM id, and (with groups) the
/// display names of the groups that list the user directly.
fn expected_users(with_groups: bool) -> Vec<Person> {
    let u = |i: u64, given: &str, active: bool, mgr: Option<&str>, dept: &str, groups: Value| {
        let n = i + 1;
        let mail = format!("{}@corp.example", given.to_lowercase());
        let mut f = json!({"id": format!("u-{n}"), "external_id": format!("X{n}"),
            "user_name": mail, "job_title": "Engineer", "first_name": given, "last_name": "Doe",
            "email": mail, "employee_number": format!("E{n}"), "department": dept,
            "status": if active { "active" } else { "terminated" }});
        if let Some(m) = mgr {
            f["manager_id"] = json!(m);
            f["manager_name"] = json!("Boss");
        }
        if with_groups && groups != json!([]) {
            f["groups"] = groups;
        }
        person("idp", i, "id", f)
    };
    vec![
        u(
            0,
            "Ana",
            true,
            None,
            "Engineering",
            json!(["admins", "engineering"]),
        ),
        u(
            1,
            "Bo",
            true,
            Some("u-1"),
            "Engineering",
            json!(["engineering"]),
        ),
        u(2, "Cy", false, Some("u-1"), "Sales", json!([])),
        u(3, "Di", true, Some("u-2"), "Sales", json!([])),
        u(4, "Ed", true, Some("u-2"), "Ops", json!([])),
    ]
}

#[tokio::test]
async fn keyed_by_external_id_managers_point_at_keys() {
    let base = server(Log::default(), Counter::default()).await;
    let dir = creds();
    let read =
        fetch_ok(source(&cfg(&base, "key = \"external_id\""), Some(dir.path())).as_ref()).await;
    assert_eq!(keys(&read), ["X1", "X2", "X3", "X4", "X5"]);
    let mgr: Vec<Option<&str>> = read
        .persons
        .iter()
        .map(|p| p.manager_id.as_deref())
        .collect();
    assert_eq!(mgr, [None, Some("X1"), Some("X1"), Some("X2"), Some("X2")]);
}

#[tokio::test]
async fn an_empty_page_before_total_results_is_an_error() {
    let app = Router::new().route(
        "/scim/v2/Users",
        get(|Query(q): Query<BTreeMap<String, String>>| async move {
            let start: usize = q
                .get("startIndex")
                .and_then(|v| v.parse().ok())
                .unwrap_or(1);
            let page = if start == 1 {
                users()[..2].to_vec()
            } else {
                Vec::new()
            };
            reply(200, &[], &json!({"totalResults": 5, "Resources": page}))
        }),
    );
    let base = serve(app).await;
    let dir = creds();
    let (err, text) = fetch_err(source(&cfg(&base, ""), Some(dir.path())).as_ref()).await;
    assert!(
        matches!(err, SourceError::InvalidResponse { .. }),
        "{err:?}"
    );
    assert!(
        text.contains("Users page 2 is empty but totalResults is 5 and only 2 were read"),
        "{text}"
    );
}

#[tokio::test]
async fn an_outage_and_an_expired_oauth2_token_mid_read() {
    let token_calls = Counter::default();
    let user_calls = Counter::default();
    let log = Log::default();
    let (t, u, l) = (token_calls.clone(), user_calls.clone(), log.clone());
    let app = Router::new()
        .route(
            "/oauth/token",
            post(move |headers: HeaderMap| async move {
                if authorization(&headers) != basic("idp-client", "idp-secret") {
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
            "/scim/v2/Users",
            get(
                move |Query(q): Query<BTreeMap<String, String>>, headers: HeaderMap| async move {
                    let n = u.hit();
                    // tok1 is revoked after the first page; the third request meets an
                    // outage.
                    let auth = authorization(&headers);
                    if !(auth == "Bearer tok2" || (auth == "Bearer tok1" && n <= 1)) {
                        return reply(401, &[], &json!({"detail": "token expired"}));
                    }
                    if n == 3 {
                        return reply(503, &[], &json!({"detail": "maintenance"}));
                    }
                    l.push(format!("Users {}+{}", q["startIndex"], q["count"]));
                    reply(200, &[], &list(&users(), &q))
                },
            ),
        );
    let base = serve(app).await;
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("idp-secret"), "idp-secret").expect("write");
    let src = source(
        &format!(
            r#"
            name = "idp"
            kind = "scim"
            base_url = "{base}/scim/v2"
            auth = {{ kind = "oauth2_client_credentials", token_url = "{base}/oauth/token", client_id = "idp-client", client_secret = {{ credential = "idp-secret" }} }}
            page_size = 2
            "#
        ),
        Some(dir.path()),
    );
    let read = fetch_ok(src.as_ref()).await;
    assert_eq!(
        token_calls.get(),
        2,
        "one token, renewed once after the 401"
    );
    assert_eq!(
        user_calls.get(),
        5,
        "three pages, the refused request and the 503"
    );
    assert_eq!(log.all(), ["Users 1+2", "Users 3+2", "Users 5+2"]);
    assert_persons(&read, &expected_users(false));
}

#[tokio::test]
async fn refused_credentials_are_unauthorized_without_the_secret() {
    // A static token the provider refuses.
    let base = server(Log::default(), Counter::default()).await;
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("scim"), "revoked-token-value").expect("write");
    let (err, text) = fetch_err(source(&cfg(&base, ""), Some(dir.path())).as_ref()).await;
    assert!(matches!(err, SourceError::Unauthorized { .. }), "{err:?}");
    let expected_end = "/scim/v2/Users): {\"detail\":\"no\"}) — check the source's credentials";
    assert!(
        text.starts_with(
            "source idp: credentials refused (HTTP 401 from Users page 1 (http://127.0.0.1:"
        ) && text.ends_with(expected_end),
        "{text}"
    );
    assert!(!text.contains("revoked-token-value"), "{text}");

    // An OAuth2 client the token endpoint refuses, and a token the provider refuses even
    // after one renewal.
    let app = Router::new()
        .route(
            "/oauth/token",
            post(|headers: HeaderMap| async move {
                if authorization(&headers) == basic("idp-client", "right") {
                    reply(200, &[], &json!({"access_token": "t", "expires_in": 3600}))
                } else {
                    reply(401, &[], &json!({"error": "invalid_client"}))
                }
            }),
        )
        .route(
            "/scim/v2/Users",
            get(|| async { reply(401, &[], &json!({"detail": "token expired"})) }),
        );
    let base = serve(app).await;
    for (secret, expected) in [
        ("wrong", "invalid_client"),
        ("right", "HTTP 401 from Users page 1"),
    ] {
        std::fs::write(dir.path().join("idp-secret"), secret).expect("write");
        let src = source(
            &format!(
                r#"
                name = "idp"
                kind = "scim"
                base_url = "{base}/scim/v2"
                auth = {{ kind = "oauth2_client_credentials", token_url = "{base}/oauth/token", client_id = "idp-client", client_secret = {{ credential = "idp-secret" }} }}
                "#
            ),
            Some(dir.path()),
        );
        let (err, text) = fetch_err(src.as_ref()).await;
        assert!(
            matches!(err, SourceError::Unauthorized { .. }),
            "{secret}: {err:?}"
        );
        assert!(
            text.starts_with("source idp: credentials refused (") && text.contains(expected),
            "{secret}: {text}"
        );
    }
}

#[tokio::test]
async fn answers_that_are_not_a_list_response_fail_the_read() {
    let cases = [
        (
            json!({"Resources": users()}),
            "source idp: invalid response: Users page 1: not a ListResponse (no totalResults)",
        ),
        (
            json!({"totalResults": 5, "Resources": {"id": "u-1"}}),
            "source idp: invalid response: Users page 1: Resources is not an array",
        ),
        (
            json!({"totalResults": 5}),
            "source idp: invalid response: Users page 1: totalResults is 5 but there are no Resources",
        ),
        (
            json!({"totalResults": "many", "Resources": []}),
            "source idp: invalid response: Users page 1: /totalResults is not a count: \"many\"",
        ),
    ];
    let dir = creds();
    for (body, expected) in cases {
        let app = Router::new().route(
            "/scim/v2/Users",
            get(move || async move { reply(200, &[], &body) }),
        );
        let base = serve(app).await;
        let (err, text) = fetch_err(source(&cfg(&base, ""), Some(dir.path())).as_ref()).await;
        assert!(
            matches!(err, SourceError::InvalidResponse { .. }),
            "{expected}: {err:?}"
        );
        assert_eq!(text, expected);
    }
}
