//! Workday RaaS against a local server: prompts as query parameters with `format=json`,
//! basic auth for the ISU, `Report_Entry`, `*_group` flattening and the status vocabulary.

mod source_util;

use std::collections::BTreeMap;

use axum::extract::Query;
use axum::http::HeaderMap;
use axum::routing::get;
use axum::Router;
use chrono::NaiveDate;
use hrsync_connectors::source::{Lifecycle, SourceError};
use serde_json::json;
use source_util::{
    authorization, basic, fetch_err, fetch_ok, field, json as reply, keys, rejections, serve,
    source, Counter, Log,
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

#[tokio::test]
async fn report_entries_groups_and_statuses() {
    let hits = Counter::default();
    let log = Log::default();
    let (h, l) = (hits.clone(), log.clone());
    let app = Router::new().route(
        REPORT,
        get(move |Query(q): Query<BTreeMap<String, String>>, headers: HeaderMap| async move {
            if authorization(&headers) != basic("ISU_hrsync@acme", "pa55") {
                return reply(401, &[], &json!({"error": "invalid user"}));
            }
            if h.hit() == 1 {
                return reply(503, &[("retry-after", "0".into())], &json!({}));
            }
            let mut pairs: Vec<String> = q.iter().map(|(k, v)| format!("{k}={v}")).collect();
            pairs.sort();
            l.push(pairs.join("&"));
            reply(200, &[], &json!({"Report_Entry": [
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
            ]}))
        }),
    );
    let base = serve(app).await;
    let dir = creds();
    let src = source(
        &cfg(
            &base,
            r#"
            status_map = { Contingent = "active" }
            fields = { full_name = "Legal_Name" }
            [group_rules]
            Email_group = { take = "where", field = "Email_Address", where_field = "Usage_Type", equals = "work", into = "email" }
            Org_group = { take = "join", field = "Org_Name", separator = " / ", into = "department" }
            "#,
        ),
        Some(dir.path()),
    );
    assert_eq!(src.kind(), "workday_raas");
    let read = fetch_ok(src.as_ref()).await;
    assert_eq!(hits.get(), 2, "the 503 was retried");
    assert_eq!(
        log.all(),
        ["Effective_as_of_Date=2026-11-22&Worker_Type!WID=a1b2&format=json"]
    );
    assert_eq!(keys(&read), ["21001", "21002", "21003", "21005"]);
    assert_eq!(
        rejections(&read),
        ["workday record #3 21004 field status: unknown status \"Retired\" (known: active, contingent, leave, leave of absence, on leave, terminated; add it to status_map)"]
    );
    let p = |k: &str| read.persons.iter().find(|p| p.key == k).expect("person");
    assert_eq!(p("21001").start_date, NaiveDate::from_ymd_opt(2019, 1, 7));
    assert_eq!(field(&read, "21001", "email"), "ana@corp.example");
    assert_eq!(
        field(&read, "21001", "department"),
        "Engineering / Platform"
    );
    assert_eq!(field(&read, "21001", "full_name"), "Ana Lima");
    assert_eq!(p("21002").status, Lifecycle::Leave);
    assert_eq!(p("21002").manager_id.as_deref(), Some("21001"));
    assert_eq!(field(&read, "21002", "email"), "bo@corp.example");
    assert_eq!(p("21003").status, Lifecycle::Terminated);
    assert_eq!(p("21003").end_date, NaiveDate::from_ymd_opt(2026, 10, 31));
    assert_eq!(field(&read, "21003", "email"), "cy@corp.example");
    assert_eq!(p("21005").status, Lifecycle::Active);
    assert_eq!(field(&read, "21005", "email"), "");
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
