//! Helpers shared by the source tests: a local HTTP server on 127.0.0.1:0, building a
//! source from TOML as the config file would, and compact views of a read.
#![allow(dead_code)]

pub mod bamboohr;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Router;
use chrono::NaiveDate;
use hrsync_connectors::source::{
    build, FetchContext, Lifecycle, Person, Position, Source, SourceConfig, SourceError, SourceRead,
};
use serde_json::Value;

/// Serves `router` on an ephemeral loopback port; returns `http://127.0.0.1:PORT`.
pub async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        axum::serve(listener, router).await.expect("test server");
    });
    format!("http://{addr}")
}

/// A JSON response with extra headers.
pub fn json(status: u16, headers: &[(&str, String)], body: &Value) -> Response {
    raw(status, headers, "application/json", body.to_string())
}

/// A response with any body.
pub fn raw(status: u16, headers: &[(&str, String)], content_type: &str, body: String) -> Response {
    let mut b = Response::builder()
        .status(StatusCode::from_u16(status).expect("status"))
        .header("content-type", content_type);
    for (k, v) in headers {
        b = b.header(*k, v.as_str());
    }
    b.body(Body::from(body)).expect("response")
}

/// The `Authorization` header, or "".
pub fn authorization(h: &HeaderMap) -> String {
    h.get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// `Basic base64(user:pass)`.
pub fn basic(user: &str, pass: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    )
}

/// Parses one `[[sources]]` table written as TOML.
pub fn config(toml_text: &str) -> SourceConfig {
    toml::from_str(toml_text).unwrap_or_else(|e| panic!("config does not parse: {e}"))
}

/// Builds a source from TOML, with `{ credential = ... }` secrets read from `creds`.
pub fn source(toml_text: &str, creds: Option<&Path>) -> Box<dyn Source> {
    let cfg = config(toml_text);
    match build(&cfg, creds) {
        Ok(s) => s,
        Err(e) => {
            panic!("source does not build: {e}")
        }
    }
}

/// A full read with no watermark.
pub async fn fetch(source: &dyn Source) -> Result<SourceRead, SourceError> {
    source.fetch(&FetchContext::default()).await
}

/// A read that must succeed.
pub async fn fetch_ok(source: &dyn Source) -> SourceRead {
    match fetch(source).await {
        Ok(r) => r,
        Err(e) => {
            panic!("read failed: {e}")
        }
    }
}

/// A read that must fail; its one-line message.
pub async fn fetch_err(source: &dyn Source) -> (SourceError, String) {
    match fetch(source).await {
        Ok(r) => {
            panic!("read should fail, got {} persons", r.persons.len())
        }
        Err(e) => {
            let text = e.to_string();
            assert!(!text.contains('\n'), "error is not one line: {text:?}");
            (e, text)
        }
    }
}

/// Keys of the persons, in read order.
pub fn keys(read: &SourceRead) -> Vec<String> {
    read.persons.iter().map(|p| p.key.clone()).collect()
}

/// Each rejection as displayed.
pub fn rejections(read: &SourceRead) -> Vec<String> {
    read.rejected.iter().map(|r| r.to_string()).collect()
}

/// A field of person `key` as text ("" when absent).
pub fn field(read: &SourceRead, key: &str, name: &str) -> String {
    read.persons
        .iter()
        .find(|p| p.key == key)
        .and_then(|p| p.fields.get(name))
        .map(|v| match v.to_value() {
            Value::String(s) => s,
            other => other.to_string(),
        })
        .unwrap_or_default()
}

/// A request counter shared with a server.
#[derive(Clone, Default)]
pub struct Counter(Arc<AtomicUsize>);

impl Counter {
    /// Adds one and returns the new count.
    pub fn hit(&self) -> usize {
        self.0.fetch_add(1, Ordering::SeqCst) + 1
    }
    /// The count.
    pub fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// A log of requests (e.g. query strings) shared with a server.
#[derive(Clone, Default)]
pub struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    /// Appends an entry.
    pub fn push(&self, s: impl Into<String>) {
        if let Ok(mut v) = self.0.lock() {
            v.push(s.into());
        }
    }
    /// All entries.
    pub fn all(&self) -> Vec<String> {
        self.0.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

/// The whole person a read should produce, stated as one JSON object of its fields: the
/// key is `fields[key_field]`, and status, dates and manager are read from the fields the
/// normaliser writes (`status`, `start_date`, `end_date`, `manager_id`).
pub fn person(source: &str, index: u64, key_field: &str, fields: Value) -> Person {
    let Value::Object(map) = fields else {
        panic!("expected fields must be a JSON object")
    };
    let text = |f: &str| map.get(f).and_then(Value::as_str).map(str::to_string);
    let date = |f: &str| {
        text(f).map(|d| {
            NaiveDate::parse_from_str(&d, "%Y-%m-%d")
                .unwrap_or_else(|e| panic!("expected {f} {d:?}: {e}"))
        })
    };
    let status = match text("status").as_deref() {
        Some("active") => Lifecycle::Active,
        Some("leave") => Lifecycle::Leave,
        Some("terminated") => Lifecycle::Terminated,
        other => panic!("expected status must be active, leave or terminated, not {other:?}"),
    };
    Person {
        key: text(key_field).unwrap_or_else(|| panic!("expected key field {key_field}")),
        source: source.to_string(),
        status,
        start_date: date("start_date"),
        end_date: date("end_date"),
        manager_id: text("manager_id"),
        fields: map.into_iter().collect(),
        position: Position::Index(index),
    }
}

/// Asserts that a read produced exactly these persons, every field of each compared.
pub fn assert_persons(read: &SourceRead, expected: &[Person]) {
    let want: Vec<String> = expected.iter().map(|p| p.key.clone()).collect();
    assert_eq!(keys(read), want, "keys of the read");
    for (got, want) in read.persons.iter().zip(expected) {
        assert_eq!(got, want, "person {}", want.key);
    }
}
