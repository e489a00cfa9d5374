//! Another SCIM service provider read as a source: `/Users` paged by startIndex/count,
//! `active` as status, the enterprise extension, e-mails, and `/Groups` memberships.

mod source_util;

use std::collections::BTreeMap;

use axum::extract::Query;
use axum::http::HeaderMap;
use axum::routing::get;
use axum::Router;
use hrsync_connectors::source::{Lifecycle, SourceError};
use serde_json::{json, Value};
use source_util::{
    authorization, fetch_err, fetch_ok, field, json as reply, keys, serve, source, Counter, Log,
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
    assert_eq!(keys(&read), ["u-1", "u-2", "u-3", "u-4", "u-5"]);
    let p = |k: &str| read.persons.iter().find(|p| p.key == k).expect("person");
    assert_eq!(p("u-3").status, Lifecycle::Terminated);
    assert_eq!(p("u-1").status, Lifecycle::Active);
    assert_eq!(p("u-2").manager_id.as_deref(), Some("u-1"));
    assert_eq!(field(&read, "u-2", "email"), "bo@corp.example");
    assert_eq!(field(&read, "u-2", "first_name"), "Bo");
    assert_eq!(field(&read, "u-2", "department"), "Engineering");
    assert_eq!(field(&read, "u-2", "employee_number"), "E2");
    assert_eq!(field(&read, "u-2", "user_name"), "bo@corp.example");
    assert_eq!(p("u-1").fields["groups"], json!(["admins", "engineering"]));
    assert_eq!(p("u-2").fields["groups"], json!(["engineering"]));
    assert!(!p("u-5").fields.contains_key("groups"));
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
