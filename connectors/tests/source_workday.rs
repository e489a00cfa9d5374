//! Workday RaaS against a local server: prompts as query parameters with `format=json`,
//! basic auth for the ISU, `Report_Entry`, `*_group` flattening, the status vocabulary,
//! and throttling (429 with `Retry-After`) and an outage (503) before the report comes.

mod source_util;

use std::collections::BTreeMap;

use axum::extract::Query;
use axum::http::HeaderMap;
use axum::routing::get;
use axum::Router;
use std::time::{Duration, Instant};

use hrsync_connectors::source::{Person, SourceError};
use serde_json::{json, Value};
use source_util::{
    assert_persons, authorization, basic, fetch_err, fetch_ok, json as reply, person, rejections,
    serve, source, Counter, Log,
};

const REPORT: &str = "/ccx/service/customreport2/acme/ISU_hrsync/HR_Export";

fn cfg(base: &str, extra: &str) -> String {
    format!(
        r#"
        name = "workday"
        kind = "workday_raas"
        url = "{base}{REPORT}"
        username = "ISU_hrsync@acme"
        password = {{ credential = "wd-pass" }}
        prompts = {{ "Worker_Type!WID" = "a1b2", Effective_as_of_Date = "2026-11-22" }}
        {extra}
        "#
    )
}

fn creds() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("wd-pass"), "pa55").expect("write");
    dir
}

/// The report's entries: emails and organisations as `*_group` arrays (one sent as a bare
/// object, one empty), dates with UTC offsets, an unknown status.
fn report_entries() -> Value {
    json!([
        {"Employee_ID": "21001", "Legal_Name": "Ana Lima", "Worker_Status": "Active",
         "Hire_Date": "2019-01-07-08:00", "Manager_ID": null,
         "Email_group": [
            {"Email_Address": "ana@home.example", "Usage_Type": "HOME"},
            {"Email_Address": "ana@corp.example", "Usage_Type": "WORK"}],
         "Org_group": [{"Org_Name": "Engineering"}, {"Org_Name": "Platform"}]},
        {"Employee_ID": "21002", "Legal_Name": "Bo Berg", "Worker_Status": "Leave of Absence",
         "Hire_Date": "2021-03-01", "Manager_ID": "21001",
         "Email_group": [{"Email_Address": "bo@corp.example", "Usage_Type": "Work"}]},
        {"Employee_ID": "21003", "Legal_Name": "Cy Cole", "Worker_Status": "Terminated",
         "Hire_Date": "2020-05-01", "Termination_Date": "2026-10-31-07:00", "Manager_ID": "21001",
         "Email_group": {"Email_Address": "cy@corp.example", "Usage_Type": "WORK"}},
        {"Employee_ID": "21004", "Legal_Name": "Di Dunn", "Worker_Status": "Retired",
         "Hire_Date": "2001-05-01"},
        {"Employee_ID": "21005", "Legal_Name": "Ed Eck", "Worker_Status": "Contingent",
         "Hire_Date": "2025-05-01", "Email_group": []}
    ])
}

/// A report endpoint that answers its first request with `first` (status, Retry-After).
fn report_app(hits: Counter, log: Log, first: (u16, &'static str)) -> Router {
    Router::new().route(
        REPORT,
        get(
            move |Query(q): Query<BTreeMap<String, String>>, headers: HeaderMap| async move {
                if authorization(&headers) != basic("ISU_hrsync@acme", "pa55") {
                    return reply(401, &[], &json!({"error": "invalid user"}));
                }
                if hits.hit() == 1 {
                    return reply(first.0, &[("retry-after", first.1.into())], &json!({}));
                }
                let mut pairs: Vec<String> = q.iter().map(|(k, v)| format!("{k}={v}")).collect();
                pairs.sort();
                log.push(pairs.join("&"));
                reply(200, &[], &json!({"Report_Entry": report_entries()}))
            },
        ),
    )
}

const RULES: &str = r#"
    status_map = { Contingent = "active" }
    fields = { full_name = "Legal_Name" }
    [group_rules]
    Email_group = { take = "where", field = "Email_Address", where_field = "Usage_Type", equals = "work", into = "email" }
    Org_group = { take = "join", field = "Org_Name", separator = " / ", into = "department" }
"#;

/// The persons of [`report_entries`] under [`RULES`]: report columns passed through, the
/// common aliases mapped, groups flattened, offset dates read as their calendar date, and
/// the entry with the unknown status (#3) set aside.
fn expected_persons() -> Vec<Person> {
    let p = |index: u64, fields: Value| person("workday", index, "employee_id", fields);
    vec![
        p(
            0,
            json!({"Employee_ID": "21001", "Legal_Name": "Ana Lima", "Worker_Status": "Active",
                "Hire_Date": "2019-01-07-08:00", "email": "ana@corp.example",
                "department": "Engineering / Platform", "employee_id": "21001",
                "status": "active", "start_date": "2019-01-07", "full_name": "Ana Lima"}),
        ),
        p(
            1,
            json!({"Employee_ID": "21002", "Legal_Name": "Bo Berg",
                "Worker_Status": "Leave of Absence", "Hire_Date": "2021-03-01",
                "Manager_ID": "21001", "email": "bo@corp.example", "employee_id": "21002",
                "status": "leave", "start_date": "2021-03-01", "manager_id": "21001",
                "full_name": "Bo Berg"}),
        ),
        p(
            2,
            json!({"Employee_ID": "21003", "Legal_Name": "Cy Cole", "Worker_Status": "Terminated",
                "Hire_Date": "2020-05-01", "Termination_Date": "2026-10-31-07:00",
                "Manager_ID": "21001", "email": "cy@corp.example", "employee_id": "21003",
                "status": "terminated", "start_date": "2020-05-01", "end_date": "2026-10-31",
                "manager_id": "21001", "full_name": "Cy Cole"}),
        ),
        p(
            4,
            json!({"Employee_ID": "21005", "Legal_Name": "Ed Eck", "Worker_Status": "Contingent",
                "Hire_Date": "2025-05-01", "employee_id": "21005", "status": "active",
                "start_date": "2025-05-01", "full_name": "Ed Eck"}),
        ),
    ]
}

#[tokio::test]
async fn report_entries_groups_and_statuses() {
    let hits = Counter::default();
    let log = Log::default();
    let base = serve(report_app(hits.clone(), log.clone(), (503, "0"))).await;
    let dir = creds();
    let src = source(&cfg(&base, RULES), Some(dir.path()));
    assert_eq!(src.kind(), "workday_raas");
    let read = fetch_ok(src.as_ref()).await;
    assert_eq!(hits.get(), 2, "the 503 was retried");
    assert_eq!(
        log.all(),
        ["Effective_as_of_Date=2026-11-22&Worker_Type!WID=a1b2&format=json"]
    );
    assert_eq!(
        rejections(&read),
        ["workday record #3 21004 field status: unknown status \"Retired\" (known: active, contingent, leave, leave of absence, on leave, terminated; add it to status_map)"]
    );
    assert_persons(&read, &expected_persons());
}

#[tokio::test]
async fn a_throttled_report_is_fetched_again_after_retry_after() {
    let hits = Counter::default();
    let log = Log::default();
    let base = serve(report_app(hits.clone(), log.clone(), (429, "1"))).await;
    let dir = creds();
    let src = source(&cfg(&base, RULES), Some(dir.path()));
    let started = Instant::now();
    let read = fetch_ok(src.as_ref()).await;
    let waited = started.elapsed();
    assert_eq!(hits.get(), 2, "the 429 and the report");
    assert!(
        waited >= Duration::from_secs(1),
        "Retry-After: 1 was honoured, waited {waited:?}"
    );
    assert_eq!(log.all().len(), 1, "one report read");
    assert_persons(&read, &expected_persons());
}

#[tokio::test]
async fn refused_isu_and_missing_report_entry() {
    let app = Router::new().route(
        REPORT,
        get(|headers: HeaderMap| async move {
            if authorization(&headers) == basic("ISU_hrsync@acme", "pa55") {
                reply(200, &[], &json!({"Report_Title": "HR_Export"}))
            } else {
                reply(401, &[], &json!({"error": "Invalid user name or password"}))
            }
        }),
    );
    let base = serve(app).await;
    let dir = creds();
    let (err, text) = fetch_err(source(&cfg(&base, ""), Some(dir.path())).as_ref()).await;
    assert!(
        matches!(err, SourceError::InvalidResponse { .. }),
        "{err:?}"
    );
    assert!(text.contains("no Report_Entry"), "{text}");
    let wrong = tempfile::tempdir().expect("tempdir");
    std::fs::write(wrong.path().join("wd-pass"), "nope").expect("write");
    let (err, text) = fetch_err(source(&cfg(&base, ""), Some(wrong.path())).as_ref()).await;
    assert!(matches!(err, SourceError::Unauthorized { .. }), "{err:?}");
    assert!(text.contains("HTTP 401 from report"), "{text}");
    assert!(!text.contains("nope"));
}
