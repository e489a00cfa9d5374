//! A corpus of bad HR inputs. Record-level problems set one record aside with a reason an
//! HR admin understands while the good records of the same read still come out; read-level
//! problems (broken pages, HTML, truncation) fail the whole read, never "zero employees".

mod source_util;

use std::sync::Arc;

use axum::routing::get;
use axum::Router;
use hrsync_connectors::source::bamboohr::vendor_rules;
use hrsync_connectors::source::normalize::{Normalizer, RawRecord};
use hrsync_connectors::source::{CommonConfig, Position, SourceError};
use serde_json::json;
use source_util::{fetch_err, fetch_ok, keys, raw, rejections, serve, source, Counter};

const HEADER: &str = "employee_id,email,status,start_date,end_date,manager_id,notes\n";
const GOOD_FIRST: &str = "G1,g1@corp.example,active,2020-01-01,,,\n";
const GOOD_LAST: &str = "G2,g2@corp.example,leave,2021-06-01,,G1,\n";

struct RecordCase {
    name: &'static str,
    extra: &'static str,
    rows: Vec<Vec<u8>>,
    expected: &'static [&'static str],
}

fn case(name: &'static str, rows: &[&str], expected: &'static [&'static str]) -> RecordCase {
    RecordCase {
        name,
        extra: "",
        rows: rows.iter().map(|r| r.as_bytes().to_vec()).collect(),
        expected,
    }
}

fn record_cases() -> Vec<RecordCase> {
    let huge = format!("B1,b@corp.example,active,,,,{}\n", "x".repeat(5000));
    let mut cases = vec![
        case("missing key", &[",b@corp.example,active,,,,\n"],
             &["hris line 3 field employee_id: missing key (field `employee_id` is empty)"]),
        case("blank key", &["   ,b@corp.example,active,,,,\n"],
             &["hris line 3 field employee_id: missing key (field `employee_id` is empty)"]),
        case("duplicate key", &["B1,b@corp.example,active,,,,\n", "B1,b2@corp.example,active,,,,\n"],
             &["hris line 3 B1 field employee_id: duplicate key (also at line 4)",
               "hris line 4 B1 field employee_id: duplicate key (also at line 3)"]),
        case("duplicate key after trimming", &["B1,b@corp.example,active,,,,\n", " B1 ,b2@corp.example,active,,,,\n"],
             &["hris line 3 B1 field employee_id: duplicate key (also at line 4)",
               "hris line 4 B1 field employee_id: duplicate key (also at line 3)"]),
        case("email without domain", &["B1,jo@,active,,,,\n"],
             &["hris line 3 B1 field email: invalid email address \"jo@\""]),
        case("email with a space", &["B1,jo doe@corp.example,active,,,,\n"],
             &["hris line 3 B1 field email: invalid email address \"jo doe@corp.example\""]),
        case("email without a dot in the domain", &["B1,jo@corp,active,,,,\n"],
             &["hris line 3 B1 field email: invalid email address \"jo@corp\""]),
        case("February 30th", &["B1,b@corp.example,active,2024-02-30,,,\n"],
             &["hris line 3 B1 field start_date: impossible date \"2024-02-30\" (no such day)"]),
        case("February 29th of a common year", &["B1,b@corp.example,active,2020-01-01,2023-02-29,,\n"],
             &["hris line 3 B1 field end_date: impossible date \"2023-02-29\" (no such day)"]),
        case("month 13", &["B1,b@corp.example,active,2024-13-01,,,\n"],
             &["hris line 3 B1 field start_date: impossible date \"2024-13-01\" (no such day)"]),
        case("BambooHR zero date in a CSV", &["B1,b@corp.example,active,0000-00-00,,,\n"],
             &["hris line 3 B1 field start_date: impossible date \"0000-00-00\" (no such day)"]),
        case("unconfigured US date", &["B1,b@corp.example,active,03/15/2024,,,\n"],
             &["hris line 3 B1 field start_date: invalid date \"03/15/2024\" (expected YYYY-MM-DD or an ISO 8601 datetime)"]),
        case("end before start", &["B1,b@corp.example,terminated,2024-06-01,2024-01-01,,\n"],
             &["hris line 3 B1 field end_date: end_date 2024-01-01 is before start_date 2024-06-01"]),
        case("unknown status", &["B1,b@corp.example,Contractor,,,,\n"],
             &["hris line 3 B1 field status: unknown status \"Contractor\" (known: active, inactive, leave, on leave, on_leave, terminated; add it to status_map)"]),
        case("too few columns", &["B1,b@corp.example,active\n"],
             &["hris line 3 B1: row has 3 columns but the header has 7 (file "]),
        case("too many columns", &["B1,b@corp.example,active,,,,,surplus\n"],
             &["hris line 3 B1: row has 8 columns but the header has 7 (file "]),
        case("huge field", &[huge.as_str()],
             &["hris line 3 B1 field notes: field `notes`: value is 5000 bytes, over the 4096-byte limit"]),
        case("bell character", &["B1,b@corp.example,active,,,,ring\u{7}ring\n"],
             &["hris line 3 B1 field notes: field `notes`: value contains the control character U+0007"]),
        case("escape sequence", &["B1,b@corp.example,active,,,,\u{1b}[31mred\n"],
             &["hris line 3 B1 field notes: field `notes`: value contains the control character U+001B"]),
        case("NUL byte", &["B1,b@corp.example,active,,,,nul\u{0}\n"],
             &["hris line 3 B1 field notes: field `notes`: value contains the control character U+0000"]),
        case("line break inside a quoted key", &["\"B1\nB2\",b@corp.example,active,,,,\n"],
             &["hris line 3 field employee_id: invalid key: key contains the control character U+000A"]),
        case("tab inside a key", &["B\t1,b@corp.example,active,,,,\n"],
             &["hris line 3 field employee_id: invalid key: key contains the control character U+0009"]),
    ];
    cases.push(RecordCase {
        name: "invalid UTF-8",
        extra: "",
        rows: vec![b"B1,b@corp.example,active,,,,caf\xE9\n".to_vec()],
        expected: &["hris line 3 B1 field notes: invalid UTF-8 at byte 4 of the cell (file "],
    });
    cases.push(RecordCase {
        name: "required field empty",
        extra: "required = [\"start_date\"]",
        rows: vec![b"B1,b@corp.example,active,,,,\n".to_vec()],
        expected: &["hris line 3 B1 field start_date: required field `start_date` is empty"],
    });
    cases.push(RecordCase {
        name: "configured date format, impossible day",
        extra: "date_formats = [\"%m/%d/%Y\"]",
        rows: vec![b"B1,b@corp.example,active,02/30/2024,,,\n".to_vec()],
        expected: &["hris line 3 B1 field start_date: invalid date \"02/30/2024\" (expected YYYY-MM-DD or an ISO 8601 datetime or one of date_formats %m/%d/%Y)"],
    });
    cases.push(RecordCase {
        name: "listed e-mail field",
        extra: "email_fields = [\"notes\"]",
        rows: vec![b"B1,b@corp.example,active,,,,not-an-address\n".to_vec()],
        expected: &["hris line 3 B1 field notes: invalid email address \"not-an-address\""],
    });
    cases
}

#[tokio::test]
async fn record_level_problems_set_one_record_aside_and_keep_the_rest() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = record_cases();
    assert!(
        cases.len() >= 25,
        "the corpus has {} record cases",
        cases.len()
    );
    for (i, c) in cases.iter().enumerate() {
        let path = dir.path().join(format!("case{i}.csv"));
        let mut bytes = HEADER.as_bytes().to_vec();
        bytes.extend_from_slice(GOOD_FIRST.as_bytes());
        for r in &c.rows {
            bytes.extend_from_slice(r);
        }
        bytes.extend_from_slice(GOOD_LAST.as_bytes());
        std::fs::write(&path, &bytes).expect("write");
        let src = source(
            &format!(
                "name = \"hris\"\nkind = \"csv\"\npath = {:?}\n{}",
                path.display().to_string(),
                c.extra
            ),
            None,
        );
        let read = fetch_ok(src.as_ref()).await;
        assert_eq!(
            keys(&read),
            ["G1", "G2"],
            "case {:?}: good records come out",
            c.name
        );
        let got = rejections(&read);
        assert_eq!(got.len(), c.expected.len(), "case {:?}: {got:?}", c.name);
        for (g, want) in got.iter().zip(c.expected) {
            assert!(
                g.starts_with(want),
                "case {:?}:\n got  {g}\n want {want}",
                c.name
            );
        }
    }
}

#[test]
fn bamboohr_zero_date_means_no_date() {
    let common = CommonConfig {
        name: "bamboo".into(),
        key: None,
        priority: 0,
        fields: Default::default(),
        status_map: Default::default(),
        required: Vec::new(),
        date_formats: Vec::new(),
        email_fields: Vec::new(),
        webhook: None,
    };
    let n = Normalizer::new(&common, "id", &vendor_rules());
    let rec = |i: u64, v| RawRecord {
        position: Position::Index(i),
        value: v,
    };
    let read = n.finish(
        vec![
            rec(0, json!({"id": "1", "status": "Active", "hireDate": "2020-01-01", "terminationDate": "0000-00-00"})),
            rec(1, json!({"id": "2", "status": "Active", "hireDate": "2020-02-30"})),
        ],
        Vec::new(),
    );
    assert_eq!(keys(&read), ["1"]);
    assert_eq!(read.persons[0].end_date, None);
    assert!(!read.persons[0].fields.contains_key("end_date"));
    assert_eq!(
        rejections(&read),
        ["bamboo record #1 2 field start_date: impossible date \"2020-02-30\" (no such day)"]
    );
}

/// One canned answer: status, headers, body.
type Canned = (u16, Vec<(&'static str, String)>, String);

struct ReadCase {
    name: &'static str,
    extra: &'static str,
    answers: Vec<Canned>,
    expected: &'static str,
}

fn ok_page(body: serde_json::Value) -> Canned {
    (200, Vec::new(), body.to_string())
}

fn people(from: usize, n: usize) -> serde_json::Value {
    json!((from..from + n)
        .map(|i| json!({"id": format!("P{i}")}))
        .collect::<Vec<_>>())
}

fn read_cases() -> Vec<ReadCase> {
    let offset = "pagination = { style = \"offset\", limit = 2 }";
    vec![
        ReadCase { name: "HTML instead of JSON", extra: "",
            answers: vec![(200, vec![], "<!DOCTYPE html><html><body><h1>Service Unavailable</h1></body></html>".into())],
            expected: "source api: invalid response: page 1: response is HTML/XML, not JSON: <!DOCTYPE html>" },
        ReadCase { name: "HTML after a good page", extra: offset,
            answers: vec![ok_page(people(1, 2)), (200, vec![], "<html>Login</html>".into())],
            expected: "page 2: response is HTML/XML, not JSON" },
        ReadCase { name: "truncated JSON", extra: "records_pointer = \"/data\"",
            answers: vec![(200, vec![], "{\"data\": [{\"id\": \"P1\"}, {\"id\": ".into())],
            expected: "page 1: truncated JSON (ends at line 1 column" },
        ReadCase { name: "empty body", extra: "",
            answers: vec![(200, vec![], String::new())],
            expected: "page 1: empty response body, expected JSON" },
        ReadCase { name: "plain text", extra: "",
            answers: vec![(200, vec![], "OK".into())],
            expected: "page 1: response is not valid JSON" },
        ReadCase { name: "records pointer missing", extra: "records_pointer = \"/data\"",
            answers: vec![ok_page(json!({"items": []}))],
            expected: "page 1: records_pointer \"/data\" not found in the response" },
        ReadCase { name: "records not an array", extra: "records_pointer = \"/data\"",
            answers: vec![ok_page(json!({"data": {"id": "P1"}}))],
            expected: "page 1: /data is an object, not an array of records" },
        ReadCase { name: "page repeats", extra: offset,
            answers: vec![ok_page(people(1, 2)), ok_page(people(1, 2))],
            expected: "page 2 repeats page 1 (the server ignored the paging parameters)" },
        ReadCase { name: "empty page in the middle", extra: "pagination = { style = \"offset\", limit = 2, total_header = \"X-Total-Count\" }",
            answers: vec![(200, vec![("x-total-count", "5".into())], people(1, 2).to_string()),
                          (200, vec![("x-total-count", "5".into())], "[]".into())],
            expected: "page 2 is empty but the server reports 5 records and only 2 were read" },
        ReadCase { name: "empty page before the last page", extra: "pagination = { style = \"page\", per_page = 2, total_pages_header = \"X-Total-Pages\" }",
            answers: vec![(200, vec![("x-total-pages", "3".into())], people(1, 2).to_string()),
                          (200, vec![("x-total-pages", "3".into())], "[]".into())],
            expected: "page 2 is empty but the server reports 3 pages" },
        ReadCase { name: "paging never ends", extra: "max_pages = 3\nrecords_pointer = \"/data\"\npagination = { style = \"cursor\", cursor_pointer = \"/next\" }",
            answers: (1..=5).map(|i| ok_page(json!({"data": people(i * 10, 1), "next": format!("c{i}")}))).collect(),
            expected: "more than 3 pages (max_pages); the paging does not end" },
        ReadCase { name: "cursor repeats", extra: "records_pointer = \"/data\"\npagination = { style = \"cursor\", cursor_pointer = \"/next\" }",
            answers: vec![ok_page(json!({"data": people(1, 1), "next": "c1"})), ok_page(json!({"data": people(2, 1), "next": "c1"}))],
            expected: "page 2 points back to a page already read (the cursor repeats)" },
        ReadCase { name: "next link to another origin", extra: "records_pointer = \"/data\"\npagination = { style = \"cursor\", next_link_pointer = \"/next\" }",
            answers: vec![ok_page(json!({"data": people(1, 1), "next": "https://elsewhere.example/people?page=2"}))],
            expected: "next link points to another origin (https://elsewhere.example), refusing to send credentials there" },
        ReadCase { name: "paging ends short of the total", extra: "records_pointer = \"/data\"\npagination = { style = \"cursor\", cursor_pointer = \"/next\", total_pointer = \"/total\" }",
            answers: vec![ok_page(json!({"data": people(1, 2), "next": null, "total": 4}))],
            expected: "paging ended after 2 records but the server reports 4" },
        ReadCase { name: "total header is not a number", extra: "pagination = { style = \"offset\", total_header = \"X-Total-Count\" }",
            answers: vec![(200, vec![("x-total-count", "many".into())], people(1, 2).to_string())],
            expected: "header X-Total-Count is not a count" },
        ReadCase { name: "not found", extra: "",
            answers: vec![(404, vec![], "{\"error\": \"no such report\"}".into())],
            expected: "source api: invalid response: HTTP 404 from page 1 (http://" },
        ReadCase { name: "redirect to a login page", extra: "",
            answers: vec![(302, vec![("location", "/login?next=/people".into())], String::new())],
            expected: "unexpected redirect (HTTP 302) from page 1" },
        ReadCase { name: "outage that outlasts the retries", extra: "",
            answers: vec![(503, vec![("retry-after", "0".into())], "<html>down</html>".into())],
            expected: "source api: transport failure: HTTP 503 from page 1" },
    ]
}

#[tokio::test]
async fn read_level_problems_fail_the_read_with_a_one_line_reason() {
    let cases = read_cases();
    for c in &cases {
        let answers = Arc::new(c.answers.clone());
        let hits = Counter::default();
        let app = Router::new().route(
            "/people",
            get(move || {
                let answers = answers.clone();
                let n = hits.hit();
                async move {
                    let (status, headers, body) = &answers[(n - 1).min(answers.len() - 1)];
                    raw(*status, headers, "application/json", body.clone())
                }
            }),
        );
        let base = serve(app).await;
        let src = source(
            &format!(
                "name = \"api\"\nkind = \"http_json\"\nurl = \"{base}/people\"\nkey = \"id\"\n{}",
                c.extra
            ),
            None,
        );
        let (err, text) = fetch_err(src.as_ref()).await;
        assert!(
            text.contains(c.expected),
            "case {:?}:\n got  {text}\n want {}",
            c.name,
            c.expected
        );
        let transport = c.name.starts_with("outage");
        assert_eq!(
            matches!(err, SourceError::Transport { .. }),
            transport,
            "case {:?}: {err:?}",
            c.name
        );
        if !transport {
            assert!(
                matches!(err, SourceError::InvalidResponse { .. }),
                "case {:?}: {err:?}",
                c.name
            );
        }
    }
    assert!(cases.len() + record_cases().len() >= 25);
}
