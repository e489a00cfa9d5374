//! BambooHR against a local server speaking its documented shapes: the custom report,
//! the directory fallback, `/employees/changed` with per-employee reads, basic auth with
//! the API key, throttling and `X-BambooHR-Error-Message`.

mod source_util;

use std::collections::BTreeMap;

use axum::extract::{Path, Query};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::NaiveDate;
use chrono::{DateTime, Utc};
use hrsync_connectors::http::{Auth, HttpClient, HttpSettings};
use hrsync_connectors::secret::Secret;
use hrsync_connectors::source::bamboohr::{BambooHrSource, Watermark};
use hrsync_connectors::source::{FetchContext, KindConfig, Lifecycle, Source, SourceError};
use serde_json::{json, Value};
use source_util::{
    authorization, basic, fetch_err, fetch_ok, field, json as reply, keys, rejections, serve,
    source, Counter, Log,
};

const PREFIX: &str = "/api/gateway.php/acme/v1";

fn employees() -> Value {
    json!([
        {"id": "1", "employeeNumber": "E-001", "firstName": "Ana", "lastName": "Lima",
         "workEmail": "ana@corp.example", "department": "Engineering", "jobTitle": "CTO",
         "status": "Active", "hireDate": "2019-01-07", "terminationDate": "0000-00-00",
         "supervisorEId": null, "lastChanged": "2026-11-01T10:00:00+00:00"},
        {"id": "2", "employeeNumber": "E-002", "firstName": "Bo", "lastName": "Berg",
         "workEmail": "bo@corp.example", "department": "Engineering", "jobTitle": "Engineer",
         "status": "Active", "hireDate": "2021-03-01", "terminationDate": "0000-00-00",
         "supervisorEId": "1", "lastChanged": "2026-11-01T10:00:00+00:00"},
        {"id": "3", "employeeNumber": "E-003", "firstName": "Cy", "lastName": "Cole",
         "workEmail": "cy@corp.example", "department": "Sales", "jobTitle": "AE",
         "status": "Inactive", "hireDate": "2020-05-01", "terminationDate": "2026-10-31",
         "supervisorEId": "1", "lastChanged": "2026-11-01T10:00:00+00:00"},
        {"id": "4", "employeeNumber": "E-004", "firstName": "Di", "lastName": "Dunn",
         "workEmail": "di@", "department": "Sales", "jobTitle": "AE",
         "status": "Active", "hireDate": "2022-02-01", "terminationDate": "0000-00-00",
         "supervisorEId": "1", "lastChanged": "2026-11-01T10:00:00+00:00"}
    ])
}

fn config(base: &str, extra: &str) -> String {
    format!(
        r#"
        name = "bamboo"
        kind = "bamboohr"
        company_domain = "acme"
        api_key = {{ credential = "bamboo-key" }}
        base_url = "{base}{PREFIX}"
        {extra}
        "#
    )
}

fn creds() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("bamboo-key"), "KEY123\n").expect("write key");
    dir
}

fn report_route(hits: Counter, fields_seen: Log) -> Router {
    Router::new().route(
        &format!("{PREFIX}/reports/custom"),
        post(
            move |Query(q): Query<BTreeMap<String, String>>,
                  headers: HeaderMap,
                  Json(body): Json<Value>| async move {
                let n = hits.hit();
                if authorization(&headers) != basic("KEY123", "x") {
                    return reply(
                        401,
                        &[("x-bamboohr-error-message", "Invalid API key".into())],
                        &json!({}),
                    );
                }
                if q.get("format").map(String::as_str) != Some("JSON") {
                    return reply(400, &[], &json!({}));
                }
                if n == 1 {
                    return reply(429, &[("retry-after", "0".into())], &json!({}));
                }
                if n == 2 {
                    return reply(503, &[], &json!({}));
                }
                fields_seen.push(body["fields"].to_string());
                reply(
                    200,
                    &[],
                    &json!({"title": "hrsync", "fields": [], "employees": employees()}),
                )
            },
        ),
    )
}

#[tokio::test]
async fn full_read_maps_bamboohr_fields_after_429_and_503() {
    let hits = Counter::default();
    let seen = Log::default();
    let base = serve(report_route(hits.clone(), seen.clone())).await;
    let dir = creds();
    let src = source(&config(&base, ""), Some(dir.path()));
    assert_eq!(src.kind(), "bamboohr");
    let read = fetch_ok(src.as_ref()).await;
    assert_eq!(hits.get(), 3, "429 and 503 retried");
    assert!(read.complete);
    assert_eq!(read.watermark, None, "not incremental");
    assert_eq!(keys(&read), ["1", "2", "3"]);
    assert_eq!(
        rejections(&read),
        ["bamboo record #3 4 field email: invalid email address \"di@\""]
    );
    let p = |k: &str| read.persons.iter().find(|p| p.key == k).expect("person");
    assert_eq!(p("1").status, Lifecycle::Active);
    assert_eq!(p("1").end_date, None, "0000-00-00 is no date");
    assert_eq!(p("1").start_date, NaiveDate::from_ymd_opt(2019, 1, 7));
    assert_eq!(p("2").manager_id.as_deref(), Some("1"));
    assert_eq!(p("3").status, Lifecycle::Terminated);
    assert_eq!(p("3").end_date, NaiveDate::from_ymd_opt(2026, 10, 31));
    assert_eq!(field(&read, "2", "email"), "bo@corp.example");
    assert_eq!(field(&read, "2", "department"), "Engineering");
    assert_eq!(field(&read, "2", "job_title"), "Engineer");
    assert_eq!(field(&read, "2", "first_name"), "Bo");
    assert_eq!(field(&read, "2", "employee_number"), "E-002");
    assert_eq!(field(&read, "1", "end_date"), "");
    let fields: Value = serde_json::from_str(&seen.all()[0]).expect("fields json");
    assert_eq!(
        fields,
        json!([
            "id",
            "employeeNumber",
            "firstName",
            "lastName",
            "workEmail",
            "department",
            "jobTitle",
            "status",
            "hireDate",
            "terminationDate",
            "supervisorEId",
            "lastChanged"
        ])
    );
}

#[tokio::test]
async fn error_message_header_is_in_the_error() {
    let app = Router::new().route(
        &format!("{PREFIX}/reports/custom"),
        post(|| async {
            reply(
                400,
                &[(
                    "x-bamboohr-error-message",
                    "Unknown field \"favouriteColour\"".into(),
                )],
                &json!({}),
            )
        }),
    );
    let base = serve(app).await;
    let dir = creds();
    let src = source(
        &config(&base, "report_fields = [\"id\", \"favouriteColour\"]"),
        Some(dir.path()),
    );
    let (err, text) = fetch_err(src.as_ref()).await;
    assert!(
        matches!(err, SourceError::InvalidResponse { .. }),
        "{err:?}"
    );
    assert!(
        text.contains("HTTP 400 from custom report")
            && text.contains("X-BambooHR-Error-Message: Unknown field \"favouriteColour\""),
        "{text}"
    );
    let bad_key = tempfile::tempdir().expect("tempdir");
    std::fs::write(bad_key.path().join("bamboo-key"), "WRONG").expect("write");
    let hits = Counter::default();
    let base = serve(report_route(hits, Log::default())).await;
    let src = source(&config(&base, ""), Some(bad_key.path()));
    let (err, text) = fetch_err(src.as_ref()).await;
    assert!(matches!(err, SourceError::Unauthorized { .. }), "{err:?}");
    assert!(
        text.contains("Invalid API key") && !text.contains("WRONG"),
        "{text}"
    );
}

#[tokio::test]
async fn directory_is_read_when_custom_reports_are_refused() {
    let app = Router::new()
        .route(
            &format!("{PREFIX}/reports/custom"),
            post(|| async { reply(403, &[], &json!({})) }),
        )
        .route(
            &format!("{PREFIX}/employees/directory"),
            get(|headers: HeaderMap| async move {
                if authorization(&headers) != basic("KEY123", "x") {
                    return reply(401, &[], &json!({}));
                }
                reply(200, &[], &json!({"fields": [], "employees": [
                    {"id": "1", "displayName": "Ana Lima", "firstName": "Ana", "lastName": "Lima",
                     "jobTitle": "CTO", "workEmail": "ana@corp.example", "department": "Engineering"},
                    {"id": "2", "displayName": "Bo Berg", "firstName": "Bo", "lastName": "Berg",
                     "jobTitle": "Engineer", "workEmail": "bo@corp.example", "department": "Engineering"}
                ]}))
            }),
        );
    let base = serve(app).await;
    let dir = creds();
    let read = fetch_ok(source(&config(&base, ""), Some(dir.path())).as_ref()).await;
    assert_eq!(keys(&read), ["1", "2"]);
    assert!(read.persons.iter().all(|p| p.status == Lifecycle::Active));
    assert_eq!(field(&read, "2", "email"), "bo@corp.example");
}

fn incremental_server(log: Log, with_deletion: bool) -> Router {
    let l1 = log.clone();
    let l2 = log.clone();
    let l3 = log;
    Router::new()
        .route(
            &format!("{PREFIX}/reports/custom"),
            post(move || {
                let l = l1.clone();
                async move {
                    l.push("report");
                    reply(200, &[], &json!({"employees": employees()}))
                }
            }),
        )
        .route(
            &format!("{PREFIX}/employees/changed"),
            get(move |Query(q): Query<BTreeMap<String, String>>| {
                let l = l2.clone();
                async move {
                    l.push(format!("changed since={}", q.get("since").cloned().unwrap_or_default()));
                    let mut changed = json!({
                        "2": {"id": "2", "action": "Updated", "lastChanged": "2026-11-22T07:00:00+00:00"},
                        "5": {"id": "5", "action": "Inserted", "lastChanged": "2026-11-22T07:20:00+00:00"}
                    });
                    if with_deletion {
                        changed["3"] = json!({"id": "3", "action": "Deleted", "lastChanged": "2026-11-22T07:10:00+00:00"});
                    }
                    reply(200, &[], &json!({"latest": "2026-11-22T08:00:00+00:00", "employees": changed}))
                }
            }),
        )
        .route(
            &format!("{PREFIX}/employees/{{id}}"),
            get(move |Path(id): Path<String>, Query(q): Query<BTreeMap<String, String>>| {
                let l = l3.clone();
                async move {
                    l.push(format!("employee {id} fields={}", q.get("fields").map(|f| f.split(',').count()).unwrap_or(0)));
                    match id.as_str() {
                        "1" => reply(200, &[], &json!({"employeeNumber": "E-001"})),
                        "2" => reply(200, &[], &json!({"id": "2", "employeeNumber": "E-002", "firstName": "Bo", "lastName": "Berg",
                            "workEmail": "bo.berg@corp.example", "department": "Platform", "status": "Active",
                            "hireDate": "2021-03-01", "terminationDate": "0000-00-00", "supervisorEId": "1"})),
                        "5" => reply(200, &[], &json!({"id": "5", "employeeNumber": "E-005", "firstName": "Eve", "lastName": "Eng",
                            "workEmail": "eve@corp.example", "status": "Active", "hireDate": "2026-12-01",
                            "terminationDate": "0000-00-00", "supervisorEId": "2"})),
                        _ => reply(404, &[], &json!({})),
                    }
                }
            }),
        )
}

#[tokio::test]
async fn incremental_reads_changes_between_full_reads() {
    let log = Log::default();
    let base = serve(incremental_server(log.clone(), true)).await;
    let dir = creds();
    let src = source(
        &config(&base, "incremental = true\nfull_read_every_hours = 24"),
        Some(dir.path()),
    );

    // No watermark yet: a full read, which starts the watermark.
    let first = src
        .fetch(&FetchContext::default())
        .await
        .expect("full read");
    assert!(first.complete);
    assert_eq!(keys(&first), ["1", "2", "3"]);
    let w = Watermark::parse(first.watermark.as_deref()).expect("watermark after a full read");

    // With the watermark: only the changes.
    let ctx = FetchContext {
        watermark: first.watermark.clone(),
        force_full: false,
    };
    let delta = src.fetch(&ctx).await.expect("incremental read");
    assert!(!delta.complete);
    assert_eq!(keys(&delta), ["2", "5"]);
    assert_eq!(delta.deleted_keys, ["3"]);
    assert_eq!(field(&delta, "2", "department"), "Platform");
    assert_eq!(field(&delta, "2", "email"), "bo.berg@corp.example");
    assert_eq!(
        delta.persons[1].start_date,
        NaiveDate::from_ymd_opt(2026, 12, 1)
    );
    let w2 = Watermark::parse(delta.watermark.as_deref()).expect("watermark");
    assert_eq!(w2.since, "2026-11-22T08:00:00+00:00", "the server's latest");
    assert_eq!(w2.full_at, w.full_at, "the last full read is remembered");
    assert_eq!(
        log.all(),
        [
            "report".to_string(),
            format!("changed since={}", w.since),
            "employee 2 fields=12".to_string(),
            "employee 5 fields=12".to_string(),
        ]
    );

    // force_full and an old full read both mean a full read.
    let forced = src
        .fetch(&FetchContext {
            watermark: delta.watermark.clone(),
            force_full: true,
        })
        .await
        .expect("forced");
    assert!(forced.complete);
    let stale = Watermark {
        since: w2.since.clone(),
        full_at: "2020-01-01T00:00:00Z".into(),
    };
    let old = src
        .fetch(&FetchContext {
            watermark: Some(stale.encode()),
            force_full: false,
        })
        .await
        .expect("due");
    assert!(old.complete);
    assert_eq!(log.all().iter().filter(|e| *e == "report").count(), 3);
}

/// A BambooHR source built directly, reading a fixed clock.
fn clocked(
    base: &str,
    extra: &str,
    clock: fn() -> DateTime<Utc>,
) -> hrsync_connectors::source::bamboohr::BambooHrSource {
    let cfg = source_util::config(&config(base, extra));
    let KindConfig::BambooHr(b) = &cfg.kind else {
        panic!("bamboohr config expected")
    };
    let auth = Auth::Basic {
        username: Secret::new("KEY123"),
        password: Secret::new("x"),
    };
    let client = HttpClient::new(HttpSettings::default(), auth).expect("client");
    BambooHrSource::new(&cfg.common, cfg.key(), b, client).with_clock(clock)
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("time")
        .with_timezone(&Utc)
}

#[tokio::test]
async fn a_full_read_comes_every_full_read_every_hours() {
    let log = Log::default();
    let base = serve(incremental_server(log.clone(), true)).await;
    let extra = "incremental = true\nfull_read_every_hours = 24";
    let full = clocked(&base, extra, || at("2026-11-22T08:00:00Z"))
        .fetch(&FetchContext::default())
        .await
        .expect("full read");
    let w = Watermark::parse(full.watermark.as_deref()).expect("watermark");
    assert_eq!(w.since, "2026-11-22T07:55:00Z", "five minutes of overlap");
    assert_eq!(w.full_at, "2026-11-22T08:00:00Z");
    let ctx = FetchContext {
        watermark: full.watermark.clone(),
        force_full: false,
    };
    let before = clocked(&base, extra, || at("2026-11-23T07:59:00Z"))
        .fetch(&ctx)
        .await
        .expect("incremental");
    assert!(!before.complete, "23h59m after the full read: changes only");
    let due = clocked(&base, extra, || at("2026-11-23T08:00:00Z"))
        .fetch(&ctx)
        .await
        .expect("full");
    assert!(due.complete, "24h after the full read: a full read");
    assert_eq!(
        Watermark::parse(due.watermark.as_deref()).map(|w| w.full_at),
        Some("2026-11-23T08:00:00Z".to_string())
    );
    assert_eq!(log.all().iter().filter(|e| *e == "report").count(), 2);
}

#[tokio::test]
async fn deletions_with_a_key_other_than_id_fall_back_to_a_full_read() {
    let log = Log::default();
    let base = serve(incremental_server(log.clone(), true)).await;
    let src = clocked(
        &base,
        "incremental = true\nkey = \"employee_number\"",
        || at("2026-11-22T08:00:00Z"),
    );
    let w = Watermark {
        since: "2026-11-22T00:00:00Z".into(),
        full_at: "2026-11-22T00:00:00Z".into(),
    };
    let read = src
        .fetch(&FetchContext {
            watermark: Some(w.encode()),
            force_full: false,
        })
        .await
        .expect("read");
    assert!(
        read.complete,
        "deleted ids cannot be mapped to employee numbers"
    );
    assert_eq!(keys(&read), ["E-001", "E-002", "E-003"]);
    assert_eq!(log.all()[0], "changed since=2026-11-22T00:00:00Z");
    assert_eq!(log.all().last().map(String::as_str), Some("report"));
}

#[tokio::test]
async fn keyed_by_employee_number_managers_are_named_by_key() {
    let log = Log::default();
    let base = serve(incremental_server(log.clone(), false)).await;
    let extra = "incremental = true\nkey = \"employeeNumber\"";
    let full = clocked(&base, extra, || at("2026-11-22T08:00:00Z"))
        .fetch(&FetchContext::default())
        .await
        .expect("full read");
    let mgr = |r: &hrsync_connectors::source::SourceRead, k: &str| {
        r.persons
            .iter()
            .find(|p| p.key == k)
            .and_then(|p| p.manager_id.clone())
    };
    assert_eq!(keys(&full), ["E-001", "E-002", "E-003"]);
    assert_eq!(mgr(&full, "E-002").as_deref(), Some("E-001"));
    assert_eq!(mgr(&full, "E-001"), None);
    // Changes only: 2's supervisor (id 1) is looked up by id, 5's supervisor is 2, read
    // in the same batch.
    let delta = clocked(&base, extra, || at("2026-11-22T09:00:00Z"))
        .fetch(&FetchContext {
            watermark: full.watermark.clone(),
            force_full: false,
        })
        .await
        .expect("incremental");
    assert!(!delta.complete);
    assert_eq!(keys(&delta), ["E-002", "E-005"]);
    assert_eq!(mgr(&delta, "E-002").as_deref(), Some("E-001"));
    assert_eq!(mgr(&delta, "E-005").as_deref(), Some("E-002"));
    assert!(
        log.all().contains(&"employee 1 fields=1".to_string()),
        "{:?}",
        log.all()
    );
}
