//! BambooHR full reads against a local server speaking its documented shapes: the
//! custom report, the directory fallback, basic auth with the API key, throttling and
//! `X-BambooHR-Error-Message`, `supervisorEId` as the supervisor's employee number, and
//! responses that are not the promised shape.

mod source_util;

use std::collections::BTreeMap;

use axum::extract::Query;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Json, Router};
use hrsync_connectors::source::{FetchContext, Lifecycle, SourceError};
use serde_json::{json, Value};
use source_util::bamboohr::{config, creds, employees, managers, PREFIX};
use source_util::{
    assert_persons, authorization, basic, fetch_err, fetch_ok, field, json as reply, keys, person,
    raw, rejections, serve, source, Counter, Log,
};

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

/// The persons of [`employees`] keyed by `id`: every field passed through under its own
/// name, BambooHR's names mapped to hrsync's, `0000-00-00` read as no date, and the
/// supervisor's employee number `E-001` turned into Ana's key `1`.
fn expected_full_read() -> Vec<hrsync_connectors::source::Person> {
    vec![
        person(
            "bamboo",
            0,
            "id",
            json!({"id": "1", "employeeNumber": "E-001", "firstName": "Ana", "lastName": "Lima",
                "workEmail": "ana@corp.example", "department": "Engineering", "jobTitle": "CTO",
                "status": "active", "hireDate": "2019-01-07", "terminationDate": "0000-00-00",
                "lastChanged": "2026-11-01T10:00:00+00:00", "email": "ana@corp.example",
                "first_name": "Ana", "last_name": "Lima", "job_title": "CTO",
                "employee_number": "E-001", "start_date": "2019-01-07"}),
        ),
        person(
            "bamboo",
            1,
            "id",
            json!({"id": "2", "employeeNumber": "E-002", "firstName": "Bo", "lastName": "Berg",
                "workEmail": "bo@corp.example", "department": "Engineering", "jobTitle": "Engineer",
                "status": "active", "hireDate": "2021-03-01", "terminationDate": "0000-00-00",
                "supervisorEId": "1", "lastChanged": "2026-11-01T10:00:00+00:00",
                "email": "bo@corp.example", "first_name": "Bo", "last_name": "Berg",
                "job_title": "Engineer", "employee_number": "E-002", "start_date": "2021-03-01",
                "manager_id": "1"}),
        ),
        person(
            "bamboo",
            2,
            "id",
            json!({"id": "3", "employeeNumber": "E-003", "firstName": "Cy", "lastName": "Cole",
                "workEmail": "cy@corp.example", "department": "Sales", "jobTitle": "AE",
                "status": "terminated", "hireDate": "2020-05-01", "terminationDate": "2026-10-31",
                "supervisorEId": "1", "lastChanged": "2026-11-01T10:00:00+00:00",
                "email": "cy@corp.example", "first_name": "Cy", "last_name": "Cole",
                "job_title": "AE", "employee_number": "E-003", "start_date": "2020-05-01",
                "end_date": "2026-10-31", "manager_id": "1"}),
        ),
    ]
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
    assert_persons(&read, &expected_full_read());
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

/// Employee numbers that are other employees' ids: Ana is id 1 but number 3, Cy is id 3
/// but number 1. Read as an id, Bo's `supervisorEId = "3"` would name Cy; it names Ana.
fn overlapping_numbers() -> Value {
    json!([
        {"id": "1", "employeeNumber": "3", "workEmail": "ana@corp.example", "status": "Active",
         "supervisorEId": null},
        {"id": "2", "employeeNumber": "2", "workEmail": "bo@corp.example", "status": "Active",
         "supervisorEId": "3"},
        {"id": "3", "employeeNumber": "1", "workEmail": "cy@corp.example", "status": "Active",
         "supervisorEId": "3"},
        {"id": "4", "employeeNumber": "4", "workEmail": "di@corp.example", "status": "Active",
         "supervisorEId": "1"},
        {"id": "5", "employeeNumber": "5", "workEmail": "ed@corp.example", "status": "Active",
         "supervisorEId": "99"}
    ])
}

#[tokio::test]
async fn supervisor_eid_is_the_supervisors_employee_number_whatever_the_key() {
    let app = Router::new().route(
        &format!("{PREFIX}/reports/custom"),
        post(|| async { reply(200, &[], &json!({"employees": overlapping_numbers()})) }),
    );
    let base = serve(app).await;
    let dir = creds();
    let read = |extra: &'static str| {
        let src = source(&config(&base, extra), Some(dir.path()));
        async move { managers(&fetch_ok(src.as_ref()).await) }
    };
    let s = |v: &str| Some(v.to_string());
    // Keyed by id (the default): Bo and Cy report to Ana (id 1), Di to Cy (id 3); Ed's
    // supervisor number 99 is nobody, so Ed has no manager rather than a wrong one.
    assert_eq!(
        read("").await,
        [
            ("1".to_string(), None),
            ("2".to_string(), s("1")),
            ("3".to_string(), s("1")),
            ("4".to_string(), s("3")),
            ("5".to_string(), None),
        ]
    );
    // Keyed by employee number: supervisorEId is the key already and is kept as given.
    assert_eq!(
        read("key = \"employee_number\"").await,
        [
            ("1".to_string(), s("3")),
            ("2".to_string(), s("3")),
            ("3".to_string(), None),
            ("4".to_string(), s("1")),
            ("5".to_string(), s("99")),
        ]
    );
    // Keyed by work e-mail: the same people, named by e-mail.
    assert_eq!(
        read("key = \"email\"").await,
        [
            ("ana@corp.example".to_string(), None),
            ("bo@corp.example".to_string(), s("ana@corp.example")),
            ("cy@corp.example".to_string(), s("ana@corp.example")),
            ("di@corp.example".to_string(), s("cy@corp.example")),
            ("ed@corp.example".to_string(), None),
        ]
    );
}

#[tokio::test]
async fn responses_that_are_not_bamboohr_shapes_fail_the_read() {
    let answer = |kind: &'static str| match kind {
        "no employees" => reply(200, &[], &json!({"title": "hrsync", "fields": []})),
        "employees not a list" => reply(200, &[], &json!({"employees": {"1": {"id": "1"}}})),
        "html" => raw(
            200,
            &[],
            "text/html",
            "<!DOCTYPE html><html><body>Down for maintenance</body></html>".into(),
        ),
        _ => reply(200, &[], &json!({"employees": employees()})),
    };
    let cases = [
        (
            "no employees",
            "source bamboo: invalid response: custom report: no `employees` array in the response",
        ),
        (
            "employees not a list",
            "source bamboo: invalid response: custom report: no `employees` array in the response",
        ),
        (
            "html",
            "source bamboo: invalid response: custom report: response is HTML/XML, not JSON: <!DOCTYPE html>",
        ),
    ];
    let dir = creds();
    for (kind, expected) in cases {
        let app = Router::new().route(
            &format!("{PREFIX}/reports/custom"),
            post(move || async move { answer(kind) }),
        );
        let base = serve(app).await;
        let (err, text) = fetch_err(source(&config(&base, ""), Some(dir.path())).as_ref()).await;
        assert!(
            matches!(err, SourceError::InvalidResponse { .. }),
            "{kind}: {err:?}"
        );
        assert!(
            text.starts_with(expected),
            "{kind}:\n got  {text}\n want {expected}"
        );
    }
    // The incremental endpoint is held to its shape too: an HTML page there is not "no
    // changes".
    let app = Router::new()
        .route(
            &format!("{PREFIX}/employees/changed"),
            get(|| async { raw(200, &[], "text/html", "<html>Login</html>".into()) }),
        )
        .route(
            &format!("{PREFIX}/reports/custom"),
            post(|| async { reply(200, &[], &json!({"employees": employees()})) }),
        );
    let base = serve(app).await;
    let src = source(&config(&base, "incremental = true"), Some(dir.path()));
    let full = src
        .fetch(&FetchContext::default())
        .await
        .expect("full read");
    let err = src
        .fetch(&FetchContext {
            watermark: full.watermark,
            force_full: false,
        })
        .await
        .expect_err("an HTML page is not a list of changes");
    assert!(
        matches!(err, SourceError::InvalidResponse { .. }),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("changed employees: response is HTML/XML, not JSON"),
        "{err}"
    );
}
