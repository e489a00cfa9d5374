//! BambooHR incremental reads against a local server: `/employees/changed` from the
//! watermark, one GET per changed employee, managers named by key, and the full read that
//! comes every `full_read_every_hours` or when deletions cannot be mapped.

mod source_util;

use std::collections::BTreeMap;

use axum::extract::{Path, Query};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use hrsync_connectors::http::{Auth, HttpClient, HttpSettings};
use hrsync_connectors::secret::Secret;
use hrsync_connectors::source::bamboohr::{BambooHrSource, Watermark};
use hrsync_connectors::source::{FetchContext, KindConfig, Source};
use serde_json::{json, Value};
use source_util::bamboohr::{config, creds, employees, managers, PREFIX};
use source_util::{assert_persons, json as reply, keys, person, serve, source, Log};

fn incremental_server(log: Log, with_deletion: bool) -> Router {
    let l1 = log.clone();
    let l2 = log.clone();
    let l3 = log;
    Router::new()
        .route(
            &format!("{PREFIX}/reports/custom"),
            post(move |Json(body): Json<Value>| {
                let l = l1.clone();
                async move {
                    // A full read asks for every field; naming managers of changes asks
                    // only for each employee's number and key.
                    if body["fields"] == json!(["id", "employeeNumber"]) {
                        l.push("numbers");
                    } else {
                        l.push("report");
                    }
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
                        "2" => reply(200, &[], &json!({"id": "2", "employeeNumber": "E-002", "firstName": "Bo", "lastName": "Berg",
                            "workEmail": "bo.berg@corp.example", "department": "Platform", "status": "Active",
                            "hireDate": "2021-03-01", "terminationDate": "0000-00-00", "supervisorEId": "E-001"})),
                        "5" => reply(200, &[], &json!({"id": "5", "employeeNumber": "E-005", "firstName": "Eve", "lastName": "Eng",
                            "workEmail": "eve@corp.example", "status": "Active", "hireDate": "2026-12-01",
                            "terminationDate": "0000-00-00", "supervisorEId": "E-002"})),
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
    assert_eq!(delta.deleted_keys, ["3"]);
    // Bo's supervisor (E-001) is not among the changes and is named through the report
    // of employee numbers; Eve's (E-002) is Bo, read in the same batch.
    assert_persons(
        &delta,
        &[
            person(
                "bamboo",
                0,
                "id",
                json!({"id": "2", "employeeNumber": "E-002", "firstName": "Bo",
                    "lastName": "Berg", "workEmail": "bo.berg@corp.example",
                    "department": "Platform", "status": "active", "hireDate": "2021-03-01",
                    "terminationDate": "0000-00-00", "supervisorEId": "1",
                    "email": "bo.berg@corp.example", "first_name": "Bo", "last_name": "Berg",
                    "employee_number": "E-002", "start_date": "2021-03-01", "manager_id": "1"}),
            ),
            person(
                "bamboo",
                1,
                "id",
                json!({"id": "5", "employeeNumber": "E-005", "firstName": "Eve",
                    "lastName": "Eng", "workEmail": "eve@corp.example", "status": "active",
                    "hireDate": "2026-12-01", "terminationDate": "0000-00-00",
                    "supervisorEId": "2", "email": "eve@corp.example", "first_name": "Eve",
                    "last_name": "Eng", "employee_number": "E-005", "start_date": "2026-12-01",
                    "manager_id": "2"}),
            ),
        ],
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
            "numbers".to_string(),
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
fn clocked(base: &str, extra: &str, clock: fn() -> DateTime<Utc>) -> BambooHrSource {
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
async fn keyed_by_employee_number_managers_need_no_lookup() {
    let log = Log::default();
    let base = serve(incremental_server(log.clone(), false)).await;
    let extra = "incremental = true\nkey = \"employeeNumber\"";
    let full = clocked(&base, extra, || at("2026-11-22T08:00:00Z"))
        .fetch(&FetchContext::default())
        .await
        .expect("full read");
    assert_eq!(
        managers(&full),
        [
            ("E-001".to_string(), None),
            ("E-002".to_string(), Some("E-001".to_string())),
            ("E-003".to_string(), Some("E-001".to_string())),
        ]
    );
    // Changes only: supervisorEId already is the supervisor's key.
    let delta = clocked(&base, extra, || at("2026-11-22T09:00:00Z"))
        .fetch(&FetchContext {
            watermark: full.watermark.clone(),
            force_full: false,
        })
        .await
        .expect("incremental");
    assert!(!delta.complete);
    assert_eq!(
        managers(&delta),
        [
            ("E-002".to_string(), Some("E-001".to_string())),
            ("E-005".to_string(), Some("E-002".to_string())),
        ]
    );
    assert_eq!(
        log.all(),
        [
            "report",
            "changed since=2026-11-22T07:55:00Z",
            "employee 2 fields=12",
            "employee 5 fields=12"
        ],
        "no lookup of supervisors"
    );
}
