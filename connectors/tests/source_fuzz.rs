//! Fuzzing the parsers of outside input: arbitrary bytes and structured garbage fed to the
//! CSV reader and to every JSON source's decoding (`http_json`, `bamboohr`, `workday_raas`,
//! `personio`, `scim`, each answering over loopback HTTP). No input panics; each read ends
//! in persons or a typed error of one bounded line. A CSV with one stray quote never loses
//! a person silently: either the read fails or every intact row is read or named.

mod source_util;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::Body;
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use hrsync_connectors::source::{Source, SourceError};
use proptest::prelude::*;
use serde_json::{json, Value};
use source_util::{fetch, source};

/// Cases per property; `PROPTEST_CASES` raises it for a longer run.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

/// Any JSON value, a few levels deep, with the scalars sources trip on.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,24}".prop_map(Value::String),
        Just(json!("0000-00-00")),
        Just(json!("E1")),
        Just(json!("a@corp.example")),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("id".to_string()),
                    Just("employeeNumber".to_string()),
                    Just("Employee_ID".to_string()),
                    Just("userName".to_string()),
                    Just("attributes".to_string()),
                    Just("value".to_string()),
                    Just("email".to_string()),
                    Just("status".to_string()),
                    Just("totalResults".to_string()),
                    "[a-zA-Z_]{1,10}",
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A response body: raw bytes, any JSON, or any JSON inside the shape the source expects.
fn body(envelope: &'static str) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512),
        any_json().prop_map(|v| v.to_string().into_bytes()),
        prop::collection::vec(any_json(), 0..8).prop_map(move |items| {
            let doc = match envelope {
                "array" => Value::Array(items),
                key => json!({ key: items, "totalResults": 3, "itemsPerPage": 3, "startIndex": 1,
                               "success": true, "metadata": {"total_pages": 1}}),
            };
            doc.to_string().into_bytes()
        }),
        prop::collection::vec(any_json(), 0..8).prop_map(|items| {
            json!({"success": true, "data": items, "metadata": {"total_pages": 1, "current_page": 0}})
                .to_string()
                .into_bytes()
        }),
    ]
}

/// A loopback server answering every request with the body of the moment (Personio's
/// token endpoint excepted, so that its listing is reached).
struct Server {
    base: String,
    body: Arc<Mutex<Vec<u8>>>,
}

async fn server() -> Server {
    let body = Arc::new(Mutex::new(Vec::new()));
    let current = body.clone();
    let router = Router::new()
        .route(
            "/v1/auth",
            post(|| async { axum::Json(json!({"success": true, "data": {"token": "t1"}})) }),
        )
        .fallback(move || {
            let bytes = current.lock().map(|b| b.clone()).unwrap_or_default();
            async move {
                Response::builder()
                    .status(200)
                    .header("content-type", "application/json")
                    .body(Body::from(bytes))
                    .unwrap_or_default()
            }
        });
    let base = source_util::serve(router).await;
    Server { base, body }
}

fn creds() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for name in ["tok", "pw"] {
        std::fs::write(dir.path().join(name), "s3cret-value").expect("write");
    }
    dir
}

/// Each JSON source against `base`, with the envelope its records come in.
fn sources(base: &str, creds: &std::path::Path) -> Vec<(&'static str, Box<dyn Source>)> {
    let toml = [
        ("data", format!("name = \"api\"\nkind = \"http_json\"\nurl = \"{base}/people\"\nkey = \"id\"\nrecords_pointer = \"/data\"\nauth = {{ kind = \"bearer\", token = {{ credential = \"tok\" }} }}\nfields = {{ email = \"/work/email\" }}")),
        ("employees", format!("name = \"bamboo\"\nkind = \"bamboohr\"\ncompany_domain = \"acme\"\napi_key = {{ credential = \"tok\" }}\nbase_url = \"{base}/api/gateway.php/acme/v1\"")),
        ("Report_Entry", format!("name = \"workday\"\nkind = \"workday_raas\"\nurl = \"{base}/ccx/service/customreport2/acme/ISU/People\"\nusername = \"isu\"\npassword = {{ credential = \"pw\" }}")),
        ("data", format!("name = \"personio\"\nkind = \"personio\"\nclient_id = \"cid\"\nclient_secret = {{ credential = \"pw\" }}\nbase_url = \"{base}\"")),
        ("Resources", format!("name = \"idp\"\nkind = \"scim\"\nbase_url = \"{base}/scim/v2\"\nauth = {{ kind = \"bearer\", token = {{ credential = \"tok\" }} }}")),
    ];
    toml.into_iter()
        .map(|(envelope, t)| (envelope, source(&t, Some(creds))))
        .collect()
}

/// A failed read is one line of bounded length that names its source and no secret.
fn check_error(name: &str, e: &SourceError) -> Result<(), TestCaseError> {
    let text = e.to_string();
    prop_assert!(!text.contains('\n'), "{name}: multi-line error {text:?}");
    prop_assert!(text.len() < 4096, "{name}: error of {} bytes", text.len());
    prop_assert!(text.contains(name), "{name}: {text}");
    prop_assert!(!text.contains("s3cret-value"), "{name}: secret in {text}");
    Ok(())
}

#[test]
fn json_sources_never_panic_on_any_response() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let srv = rt.block_on(server());
    let dir = creds();
    let started = Instant::now();
    let mut total = 0u32;
    for (envelope, src) in sources(&srv.base, dir.path()) {
        let name = src.name().to_string();
        let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
            cases: cases(),
            failure_persistence: None,
            ..ProptestConfig::default()
        });
        let tally = std::cell::Cell::new((0u32, 0u32));
        let result = runner.run(&body(envelope), |bytes| {
            *srv.body.lock().expect("lock") = bytes;
            match rt.block_on(fetch(src.as_ref())) {
                Ok(read) => {
                    let (ok, persons) = tally.get();
                    tally.set((ok + 1, persons + read.persons.len() as u32));
                    for r in &read.rejected {
                        prop_assert!(
                            r.reason.len() < 1024,
                            "{name}: reason of {} bytes",
                            r.reason.len()
                        );
                    }
                }
                Err(e) => check_error(&name, &e)?,
            }
            Ok(())
        });
        if let Err(e) = result {
            panic!("{name}: {e}");
        }
        let (ok, persons) = tally.get();
        eprintln!(
            "{name}: {ok} of {} reads succeeded, {persons} persons",
            cases()
        );
        total += cases();
    }
    eprintln!(
        "json sources: {total} cases in {:.1}s",
        started.elapsed().as_secs_f64()
    );
}

fn csv_source(dir: &std::path::Path, bytes: &[u8]) -> Box<dyn Source> {
    let path = dir.join("hr.csv");
    std::fs::write(&path, bytes).expect("write");
    source(
        &format!(
            "name = \"hris\"\nkind = \"csv\"\npath = \"{}\"\nkey = \"employee_id\"",
            path.display()
        ),
        None,
    )
}

/// Bytes that look like CSV: cells of letters, quotes, delimiters and line breaks.
fn csv_like() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            "[a-zA-Z0-9@. ]{0,8}".prop_map(String::into_bytes),
            Just(b",".to_vec()),
            Just(b"\"".to_vec()),
            Just(b"\"\"".to_vec()),
            Just(b"\n".to_vec()),
            Just(b"\r\n".to_vec()),
            Just(vec![0xFF]),
            Just(vec![0]),
        ],
        0..64,
    )
    .prop_map(|parts| {
        let mut out = b"employee_id,email,department\n".to_vec();
        out.extend(parts.concat());
        out
    })
}

#[test]
fn the_csv_reader_never_panics_on_any_bytes() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let started = Instant::now();
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: cases() * 4,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let input = prop_oneof![prop::collection::vec(any::<u8>(), 0..1024), csv_like()];
    let result = runner.run(&input, |bytes| {
        let src = csv_source(dir.path(), &bytes);
        match rt.block_on(fetch(src.as_ref())) {
            Ok(read) => {
                for r in &read.rejected {
                    prop_assert!(r.reason.len() < 1024, "reason of {} bytes", r.reason.len());
                }
            }
            Err(e) => check_error("hris", &e)?,
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    eprintln!(
        "csv reader: {} cases in {:.1}s",
        cases() * 4,
        started.elapsed().as_secs_f64()
    );
}

/// A valid export of `n` persons (some with a two-line quoted address), then one stray `"`
/// put at the start of one cell.
fn damaged_export() -> impl Strategy<Value = (Vec<u8>, usize, Vec<String>)> {
    (
        3usize..40,
        prop::collection::vec(any::<bool>(), 40),
        any::<prop::sample::Index>(),
        0usize..6,
    )
        .prop_map(|(n, multi, row, cell)| {
            let damaged = row.index(n);
            let mut text =
                String::from("employee_id,first_name,last_name,email,department,address\n");
            let mut keys = Vec::new();
            for (i, two_lines) in multi.iter().take(n).enumerate() {
                let key = format!("E{i:03}");
                let address = if *two_lines {
                    format!("\"{i} Main St\nSpringfield\"")
                } else {
                    format!("{i} Main St")
                };
                let mut cells = [
                    key.clone(),
                    format!("P{i}"),
                    "Test".into(),
                    format!("p{i}@corp.example"),
                    "Sales".into(),
                    address,
                ];
                if i == damaged && !cells[cell].starts_with('"') {
                    cells[cell].insert(0, '"');
                }
                keys.push(key);
                text.push_str(&cells.join(","));
                text.push('\n');
            }
            (text.into_bytes(), damaged, keys)
        })
}

#[test]
fn one_stray_quote_never_loses_a_person_silently() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let started = Instant::now();
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: cases() * 2,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let failed = std::cell::Cell::new(0u32);
    let result = runner.run(&damaged_export(), |(bytes, damaged, keys)| {
        let src = csv_source(dir.path(), &bytes);
        let Ok(read) = rt.block_on(fetch(src.as_ref())) else {
            failed.set(failed.get() + 1);
            return Ok(());
        };
        let seen: BTreeSet<&str> = read
            .persons
            .iter()
            .map(|p| p.key.as_str())
            .chain(read.rejected.iter().filter_map(|r| r.key.as_deref()))
            .collect();
        for (i, k) in keys.iter().enumerate() {
            prop_assert!(
                i == damaged || seen.contains(k.as_str()),
                "{k} vanished without the read failing:\n{}",
                String::from_utf8_lossy(&bytes)
            );
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    eprintln!(
        "stray quote: {} cases in {:.1}s, {} reads refused as damaged",
        cases() * 2,
        started.elapsed().as_secs_f64(),
        failed.get()
    );
}
