//! `kind = "personio"`: the v1 API — a token from `POST /v1/auth` (kept for the read,
//! fetched again once on a 401), employees paged with `limit` (at most 100) and `offset`,
//! and the `{label, value}` attribute shape flattened into plain fields.

use reqwest::header::{HeaderName, HeaderValue, AUTHORIZATION};
use reqwest::{Method, StatusCode};
use serde_json::{json, Map, Value};
use tokio::sync::Mutex;
use url::Url;

use super::config::{CommonConfig, PersonioConfig};
use super::net::{pointer_count, Endpoint, PageGuard};
use super::normalize::{Normalizer, RawRecord, VendorRules};
use super::{FetchContext, Lifecycle, Position, Source, SourceError, SourceRead};
use crate::http::{HttpClient, Replay, Request, Response};
use crate::secret::Secret;

/// Bound on pages in one read (100 per page: a million employees).
const MAX_PAGES: u32 = 10_000;

/// Personio's attribute names mapped onto hrsync's, and its status vocabulary.
pub fn vendor_rules() -> VendorRules {
    VendorRules {
        fields: vec![
            ("start_date", "hire_date"),
            ("end_date", "termination_date"),
            ("manager_id", "supervisor"),
            ("job_title", "position"),
        ],
        statuses: vec![
            // Onboarding people are employees-to-be: active, with their start date kept so
            // the lifecycle can provision them ahead of time.
            ("onboarding", Lifecycle::Active),
            ("inactive", Lifecycle::Terminated),
        ],
        zero_date_is_none: false,
        offset_dates: false,
    }
}

/// Reads persons from Personio.
#[derive(Debug)]
pub struct PersonioSource {
    endpoint: Endpoint,
    base: String,
    client_id: String,
    client_secret: Secret,
    page_size: u32,
    normalizer: Normalizer,
    token: Mutex<Option<Secret>>,
}

impl PersonioSource {
    /// A source for a checked config.
    pub fn new(
        common: &CommonConfig,
        key: &str,
        config: &PersonioConfig,
        client: HttpClient,
        client_secret: Secret,
    ) -> Self {
        PersonioSource {
            endpoint: Endpoint::new(&common.name, client),
            base: config.base_url.trim_end_matches('/').to_string(),
            client_id: config.client_id.clone(),
            client_secret,
            page_size: config.page_size.min(100),
            normalizer: Normalizer::new(common, key, &vendor_rules()),
            token: Mutex::new(None),
        }
    }

    fn url(&self, path: &str) -> Result<Url, SourceError> {
        Url::parse(&format!("{}{path}", self.base))
            .map_err(|e| self.endpoint.invalid(format!("base_url: {e}")))
    }

    /// The cached token, or a new one from `/v1/auth`.
    async fn token(&self) -> Result<Secret, SourceError> {
        let mut cached = self.token.lock().await;
        if let Some(t) = cached.as_ref() {
            return Ok(t.clone());
        }
        let ep = &self.endpoint;
        let url = self.url("/v1/auth")?;
        let body =
            json!({"client_id": self.client_id, "client_secret": self.client_secret.expose()});
        let req =
            Request::new(Method::POST, url.clone(), Replay::Safe).json(&body, "application/json");
        let resp = ep.send(&req).await?;
        if !resp.status.is_success() {
            return Err(ep.status_error(&resp, &url, "authentication"));
        }
        let value = ep.parse(&resp, "authentication")?;
        let token = value
            .pointer("/data/token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| SourceError::Unauthorized {
                source_name: ep.source.clone(),
                message: "authentication answered without data.token".into(),
            })?;
        let token = Secret::new(token.to_string());
        *cached = Some(token.clone());
        Ok(token)
    }

    /// GETs the employees from `offset` on and checks Personio's own success flag.
    async fn employees_page(&self, offset: usize, what: &str) -> Result<Value, SourceError> {
        let ep = &self.endpoint;
        let mut url = self.url("/v1/company/employees")?;
        // Personio's `offset` is the position of the first record returned (its paging
        // guide), so it advances by the records read, not by pages.
        url.query_pairs_mut()
            .append_pair("limit", &self.page_size.to_string())
            .append_pair("offset", &offset.to_string());
        let resp = self.get(&url).await?;
        if !resp.status.is_success() {
            return Err(ep.status_error(&resp, &url, what));
        }
        let body = ep.parse(&resp, what)?;
        if body.get("success") == Some(&Value::Bool(false)) {
            let msg = body
                .pointer("/error/message")
                .and_then(Value::as_str)
                .unwrap_or("no message");
            return Err(ep.invalid(format!("{what}: success=false: {msg}")));
        }
        Ok(body)
    }

    /// Whether this page (of `n` records, `collected` so far) was the last, by the totals
    /// in its metadata; an empty page while more are promised is an error, never the end.
    fn last_page(
        &self,
        body: &Value,
        what: &str,
        n: usize,
        collected: u64,
        guard: &PageGuard,
    ) -> Result<bool, SourceError> {
        let ep = &self.endpoint;
        let total = pointer_count(body, "/metadata/total_elements").map_err(|m| ep.invalid(m))?;
        let pages = pointer_count(body, "/metadata/total_pages").map_err(|m| ep.invalid(m))?;
        match (total, pages) {
            (Some(t), _) if collected >= t => Ok(true),
            (Some(t), _) if n == 0 => Err(ep.invalid(format!(
                "{what} is empty but total_elements is {t} and only {collected} were read"
            ))),
            (Some(_), _) => Ok(false),
            (None, Some(p)) if u64::from(guard.pages()) >= p => Ok(true),
            (None, Some(p)) if n == 0 => {
                Err(ep.invalid(format!("{what} is empty but total_pages is {p}")))
            }
            (None, Some(_)) => Ok(false),
            (None, None) => Ok(n == 0),
        }
    }

    /// GETs one page with the token, fetching a new token once if it was refused.
    async fn get(&self, url: &Url) -> Result<Response, SourceError> {
        let mut renewed = false;
        loop {
            let token = self.token().await?;
            let mut value =
                HeaderValue::from_str(&format!("Bearer {}", token.expose())).map_err(|_| {
                    self.endpoint
                        .invalid("the token is not a valid header value")
                })?;
            value.set_sensitive(true);
            let header: HeaderName = AUTHORIZATION;
            let req = Request::new(Method::GET, url.clone(), Replay::Safe).header(header, value);
            let resp = self.endpoint.send(&req).await?;
            if resp.status == StatusCode::UNAUTHORIZED && !renewed {
                tracing::info!(source = %self.endpoint.source, "Token refused; authenticating again.");
                *self.token.lock().await = None;
                renewed = true;
                continue;
            }
            return Ok(resp);
        }
    }
}

/// Flattens one employee: every attribute's `value`; an employee reference becomes its
/// id, any other object (department, office, team) its name.
pub fn flatten(item: &Value) -> Value {
    let attrs = item
        .get("attributes")
        .and_then(Value::as_object)
        .or_else(|| item.as_object());
    let mut out = Map::new();
    if let Some(attrs) = attrs {
        for (name, attr) in attrs {
            let v = match attr {
                Value::Object(o) if o.contains_key("value") => &o["value"],
                other => other,
            };
            let v = simplify(v);
            if !v.is_null() {
                out.insert(name.clone(), v);
            }
        }
    }
    Value::Object(out)
}

fn simplify(v: &Value) -> Value {
    match v {
        Value::Object(o) => {
            let attrs = o.get("attributes").and_then(Value::as_object).unwrap_or(o);
            let is_employee = o.get("type").and_then(Value::as_str) == Some("Employee");
            let pick = |k: &str| attrs.get(k).map(unwrap_value).filter(|v| !v.is_null());
            let chosen = if is_employee {
                pick("id")
            } else {
                pick("name").or_else(|| pick("value"))
            };
            chosen.unwrap_or(Value::Null)
        }
        Value::Array(items) => {
            let parts: Vec<Value> = items
                .iter()
                .map(simplify)
                .filter(|v| !v.is_null())
                .collect();
            Value::Array(parts)
        }
        other => other.clone(),
    }
}

fn unwrap_value(v: &Value) -> Value {
    match v {
        Value::Object(o) if o.contains_key("value") => simplify(&o["value"]),
        other => simplify(other),
    }
}

#[async_trait::async_trait]
impl Source for PersonioSource {
    fn name(&self) -> &str {
        self.normalizer.source()
    }

    fn kind(&self) -> &'static str {
        "personio"
    }

    async fn fetch(&self, _ctx: &FetchContext) -> Result<SourceRead, SourceError> {
        // The token is kept for one read only: the source lives as long as the loaded
        // config, and a read starting with a token from hours ago would open with a 401.
        *self.token.lock().await = None;
        let ep = &self.endpoint;
        let mut guard = PageGuard::default();
        let mut records: Vec<RawRecord> = Vec::new();
        loop {
            let what = format!("employees page {}", guard.pages() + 1);
            let body = self.employees_page(records.len(), &what).await?;
            let items = match body.get("data") {
                Some(Value::Array(a)) => a.clone(),
                _ => return Err(ep.invalid(format!("{what}: no `data` array in the response"))),
            };
            guard.page(&items, MAX_PAGES).map_err(|m| ep.invalid(m))?;
            for item in &items {
                records.push(RawRecord {
                    position: Position::Index(records.len() as u64),
                    value: flatten(item),
                });
            }
            if self.last_page(&body, &what, items.len(), records.len() as u64, &guard)? {
                break;
            }
        }
        let read = self.normalizer.finish(records, Vec::new());
        tracing::info!(
            source = %self.normalizer.source(),
            pages = guard.pages(),
            persons = read.persons.len(),
            rejected = read.rejected.len(),
            "Read Personio."
        );
        Ok(read)
    }
}
