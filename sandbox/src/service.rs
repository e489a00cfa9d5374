//! The HTTP front of the sandbox: routing under `/scim/v2`, the gates every request passes
//! (counting, app-specific header rules, bearer token, injected faults, rate limits,
//! per-object write lock, latency, stalls) and SCIM-shaped answers. Also the uncounted
//! `/_sandbox/stats` and `/_sandbox/reset` endpoints.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{ConnectInfo, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::Value;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::bulk;
use super::discovery;
use super::error::ScimError;
use super::faults::{Decision, Faults, ObjectGuard};
use super::imitation::Imitation as _;
use super::listener::ConnHandle;
use super::ops::{App, Reply};
use super::schema::Kind;

/// Largest request body read at all (Bulk limits are checked separately).
const MAX_BODY: usize = 32 * 1024 * 1024;

/// The media type of every SCIM answer.
const SCIM_JSON: &str = "application/scim+json";

/// The router: SCIM under `/scim/v2`, controls under `/_sandbox`.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/_sandbox/stats", get(stats))
        .route("/_sandbox/reset", post(reset))
        .fallback(dispatch)
        .with_state(app)
}

async fn stats(State(app): State<Arc<App>>) -> Response {
    Json(app.stats.snapshot()).into_response()
}

async fn reset(State(app): State<Arc<App>>) -> Response {
    app.stats.reset();
    StatusCode::NO_CONTENT.into_response()
}

/// Where a request goes.
#[derive(Debug, Clone, PartialEq)]
enum Route {
    Spc,
    Schemas,
    Schema(String),
    ResourceTypes,
    ResourceType(String),
    List(Kind),
    Search(Kind),
    Create(Kind),
    Get(Kind, String),
    Put(Kind, String),
    Patch(Kind, String),
    Delete(Kind, String),
    Bulk,
}

impl Route {
    /// The object a write targets, for the per-object lock.
    fn object(&self) -> Option<String> {
        match self {
            Route::Put(k, id) | Route::Patch(k, id) | Route::Delete(k, id) => {
                Some(format!("{}/{id}", k.endpoint()))
            }
            _ => None,
        }
    }
}

fn kind_of(seg: &str) -> Option<Kind> {
    match seg {
        "Users" => Some(Kind::User),
        "Groups" => Some(Kind::Group),
        _ => None,
    }
}

fn route(app: &App, method: &Method, segs: &[&str]) -> Result<Route, ScimError> {
    let not_found = || ScimError::new(404, None, format!("no endpoint /{}", segs.join("/")));
    let wrong_method = || {
        ScimError::new(
            405,
            None,
            format!("{method} is not allowed on /{}", segs.join("/")),
        )
    };
    let is = |m: &Method| method == m;
    Ok(match segs {
        [s] if *s == app.profile.config_endpoint() => {
            if !is(&Method::GET) {
                return Err(wrong_method());
            }
            Route::Spc
        }
        ["Schemas"] if is(&Method::GET) => Route::Schemas,
        ["Schemas", id] if is(&Method::GET) => Route::Schema((*id).to_string()),
        ["ResourceTypes"] if is(&Method::GET) => Route::ResourceTypes,
        ["ResourceTypes", n] if is(&Method::GET) => Route::ResourceType((*n).to_string()),
        ["Bulk"] if is(&Method::POST) => Route::Bulk,
        ["Me"] => return Err(ScimError::new(501, None, "/Me is not supported")),
        [ep] => match (kind_of(ep), method.clone()) {
            (Some(k), Method::GET) => Route::List(k),
            (Some(k), Method::POST) => Route::Create(k),
            (Some(_), _) => return Err(wrong_method()),
            (None, _) => return Err(not_found()),
        },
        [ep, ".search"] if kind_of(ep).is_some() && is(&Method::POST) => {
            Route::Search(kind_of(ep).ok_or_else(not_found)?)
        }
        [ep, id] => {
            let k = kind_of(ep).ok_or_else(not_found)?;
            let id = (*id).to_string();
            match method.clone() {
                Method::GET => Route::Get(k, id),
                Method::PUT => Route::Put(k, id),
                Method::PATCH => Route::Patch(k, id),
                Method::DELETE => Route::Delete(k, id),
                _ => return Err(wrong_method()),
            }
        }
        _ => return Err(not_found()),
    })
}

/// The SCIM answer for an error, counted as throttled when it is a 429.
fn error_response(app: &App, e: &ScimError) -> Response {
    if e.status == 429 {
        app.stats.throttled();
    }
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = (status, json_body(&e.body(app.profile.status_as_int()))).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
    if let Some(secs) = e.retry_after {
        h.insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    if e.status == 401 {
        h.insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"hrsync-sandbox\""),
        );
    }
    resp
}

fn json_body(v: &Value) -> Body {
    Body::from(serde_json::to_vec(v).unwrap_or_default())
}

fn reply_response(r: Reply) -> Response {
    let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::OK);
    let mut resp = match &r.body {
        Some(b) => (status, json_body(b)).into_response(),
        None => status.into_response(),
    };
    let h = resp.headers_mut();
    if r.body.is_some() {
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
    }
    if let Some(e) = r.etag.and_then(|e| HeaderValue::from_str(&e).ok()) {
        h.insert(header::ETAG, e);
    }
    if let Some(l) = r.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        h.insert(header::LOCATION, l);
    }
    resp
}

fn header_str(h: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// The headers the app requires and the bearer token.
fn gate(app: &App, headers: &HeaderMap) -> Result<(), ScimError> {
    let required = app.profile.headers;
    for (name, _) in required.iter().filter(|(n, _)| !is_accept(n)) {
        let given = headers.get(*name).and_then(|v| v.to_str().ok());
        if given.is_none_or(|v| v.trim().is_empty()) {
            return Err(ScimError::new(
                403,
                None,
                format!("Request forbidden by administrative rules. Please make sure your request has a {name} header"),
            ));
        }
    }
    check_token(app, headers)?;
    for (_, media) in required.iter().filter(|(n, _)| is_accept(n)) {
        check_accept(headers, media)?;
    }
    Ok(())
}

fn is_accept(name: &str) -> bool {
    name.eq_ignore_ascii_case("accept")
}

fn check_token(app: &App, headers: &HeaderMap) -> Result<(), ScimError> {
    let Some(want) = &app.token_digest else {
        return Ok(());
    };
    let presented = header_str(headers, header::AUTHORIZATION)
        .and_then(|a| a.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim());
    let ok = presented.is_some_and(|t| {
        let got: [u8; 32] = Sha256::digest(t.as_bytes()).into();
        bool::from(got.ct_eq(want))
    });
    if !ok {
        return Err(ScimError::new(
            401,
            None,
            "a valid bearer token is required",
        ));
    }
    Ok(())
}

/// An app that requires an `Accept` header refuses one that does not allow its media type.
fn check_accept(headers: &HeaderMap, media: &str) -> Result<(), ScimError> {
    let ok = header_str(headers, header::ACCEPT).is_some_and(|a| {
        [media, "application/json", "*/*", "application/*"]
            .iter()
            .any(|m| a.contains(m))
    });
    if !ok {
        return Err(ScimError::new(
            406,
            None,
            format!("Accept must allow {media}"),
        ));
    }
    Ok(())
}

fn base_url(headers: &HeaderMap, conn: &ConnHandle, local: Option<std::net::SocketAddr>) -> String {
    let host = header_str(headers, header::HOST)
        .map(str::to_string)
        .or_else(|| local.map(|a| a.to_string()))
        .unwrap_or_else(|| conn.peer.to_string());
    format!("http://{host}/scim/v2")
}

/// Every request that is not a sandbox control lands here.
async fn dispatch(
    State(app): State<Arc<App>>,
    ConnectInfo(conn): ConnectInfo<ConnHandle>,
    req: Request,
) -> Response {
    let path = req.uri().path().to_string();
    let Some(rest) = path
        .strip_prefix("/scim/v2")
        .filter(|r| r.is_empty() || r.starts_with('/'))
    else {
        return error_response(
            &app,
            &ScimError::new(404, None, format!("{path} is not a SCIM endpoint")),
        );
    };
    let method = req.method().clone();
    let segs: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let is_write =
        method != Method::GET && !(method == Method::POST && segs.last() == Some(&".search"));
    app.stats.request(method.as_str(), is_write);
    let resp = handle(
        app.clone(),
        conn,
        req,
        method.clone(),
        segs.iter().map(|s| s.to_string()).collect(),
        is_write,
    )
    .await;
    tracing::debug!(method = %method, path = %path, status = resp.status().as_u16(), "Sandbox request.");
    resp
}

/// One SCIM request through the gates, in this order: app header rules and the token,
/// injected faults (drop, error, throttle), rate limits, routing, the per-object write lock,
/// then latency and stall before the operation runs.
async fn handle(
    app: Arc<App>,
    conn: ConnHandle,
    req: Request,
    method: Method,
    segs: Vec<String>,
    is_write: bool,
) -> Response {
    let headers = req.headers().clone();
    let query: BTreeMap<String, String> =
        Query::<BTreeMap<String, String>>::try_from_uri(req.uri())
            .map(|q| q.0)
            .unwrap_or_default();
    if let Err(e) = check_access(&app, &headers, &segs) {
        return error_response(&app, &e);
    }
    let d = app.injector.decide();
    let f = app.injector.faults().clone();
    if d.drop {
        app.stats.fault();
        conn.kill();
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    if let Err(e) = refuse_by_fault_or_rate(&app, &d, &f, is_write) {
        return error_response(&app, &e);
    }
    let seg_refs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let r = match route(&app, &method, &seg_refs) {
        Ok(r) => r,
        Err(e) => return error_response(&app, &e),
    };
    let guard = match lock_object(&app, &r) {
        Ok(g) => g,
        Err(e) => return error_response(&app, &e),
    };
    let body = match to_bytes(req.into_body(), MAX_BODY).await {
        Ok(b) => b,
        Err(_) => {
            return error_response(&app, &ScimError::new(413, None, "request body too large"))
        }
    };
    let base = base_url(&headers, &conn, None);
    let work_app = app.clone();
    let work = async move {
        delay(&work_app, &d, &f, is_write).await?;
        let out = run(&work_app, r, &query, &headers, &body, &base).await;
        drop(guard);
        out
    };
    match finish(work, is_write || d.stall).await {
        Ok(reply) => reply_response(reply),
        Err(e) => error_response(&app, &e),
    }
}

/// Runs the request's work; writes (and stalls) in their own task, so that a client that
/// gives up (a timeout) does not cancel them halfway: what was decided to happen, happens.
async fn finish(
    work: impl std::future::Future<Output = Result<Reply, ScimError>> + Send + 'static,
    detached: bool,
) -> Result<Reply, ScimError> {
    if !detached {
        return work.await;
    }
    match tokio::spawn(work).await {
        Ok(o) => o,
        Err(e) => Err(ScimError::internal(format!("request task failed: {e}"))),
    }
}

/// The app's header rules and token, unless this is discovery and discovery is public.
fn check_access(app: &App, headers: &HeaderMap, segs: &[String]) -> Result<(), ScimError> {
    let discovery = matches!(
        segs.first().map(String::as_str),
        Some("ServiceProviderConfig" | "ServiceProviderConfigs" | "Schemas" | "ResourceTypes")
    );
    if discovery && app.public_discovery {
        return Ok(());
    }
    gate(app, headers)
}

/// An injected error or throttle, or the rate limit: the request is refused untouched.
fn refuse_by_fault_or_rate(
    app: &App,
    d: &Decision,
    f: &Faults,
    is_write: bool,
) -> Result<(), ScimError> {
    if let Some(code) = d.error {
        app.stats.fault();
        let mut e = ScimError::new(code, None, "injected fault: nothing was done");
        if code == 503 {
            // As configured, zero included ("again at once").
            e.retry_after = Some(f.retry_after_secs);
        }
        return Err(e);
    }
    if d.throttle {
        app.stats.fault();
        let mut e = ScimError::new(429, None, "injected throttle: too many requests");
        e.retry_after = Some(f.retry_after_secs);
        return Err(e);
    }
    if let Err(wait) = app.limiter.admit(is_write) {
        let secs = wait.as_secs_f64().ceil() as u64;
        return Err(ScimError::throttled("rate limit exceeded", secs));
    }
    Ok(())
}

/// The object's write lock where the app takes one write per object at a time.
fn lock_object(app: &App, r: &Route) -> Result<Option<ObjectGuard>, ScimError> {
    let Some(key) = r.object().filter(|_| app.profile.serialize_object_writes) else {
        return Ok(None);
    };
    match app.locks.try_lock(&key) {
        Some(g) => Ok(Some(g)),
        None => Err(ScimError::throttled(
            format!("another write to {key} is in progress"),
            1,
        )),
    }
}

/// The configured latency, then any stall; a stalled write the faults do not let apply
/// is abandoned with nothing written.
async fn delay(app: &App, d: &Decision, f: &Faults, is_write: bool) -> Result<(), ScimError> {
    if f.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(f.latency_ms)).await;
    }
    if d.stall {
        app.stats.fault();
        tokio::time::sleep(Duration::from_millis(f.stall_ms)).await;
        if is_write && !d.stall_applies {
            let mut e = ScimError::new(503, None, "stalled request abandoned: nothing was written");
            e.retry_after = Some(f.retry_after_secs);
            return Err(e);
        }
    }
    Ok(())
}

fn parse_json(body: &Bytes) -> Result<Value, ScimError> {
    serde_json::from_slice(body)
        .map_err(|e| ScimError::invalid_syntax(format!("the body is not valid JSON: {e}")))
}

async fn run(
    app: &App,
    r: Route,
    query: &BTreeMap<String, String>,
    headers: &HeaderMap,
    body: &Bytes,
    base: &str,
) -> Result<Reply, ScimError> {
    let if_match = header_str(headers, header::IF_MATCH);
    match r {
        Route::Spc => Ok(Reply::json(
            200,
            discovery::service_provider_config(&app.profile, base),
        )),
        Route::Schemas => Ok(Reply::json(200, discovery::schemas(base))),
        Route::Schema(id) => discovery::schema(base, &id).map(|v| Reply::json(200, v)),
        Route::ResourceTypes => Ok(Reply::json(200, discovery::resource_types(base))),
        Route::ResourceType(n) => discovery::resource_type(base, &n).map(|v| Reply::json(200, v)),
        Route::List(k) => app.list(k, query, base).await,
        Route::Search(k) => {
            let params = super::list::params_from_search(&parse_json(body)?)?;
            app.list(k, &params, base).await
        }
        Route::Create(k) => app.create(k, &parse_json(body)?, base).await,
        Route::Get(k, id) => {
            let inm = header_str(headers, header::IF_NONE_MATCH);
            app.get(k, &id, query, inm, base).await
        }
        Route::Put(k, id) => {
            app.replace(k, &id, &parse_json(body)?, if_match, base)
                .await
        }
        Route::Patch(k, id) => {
            app.patch(k, &id, &parse_json(body)?, if_match, query, base)
                .await
        }
        Route::Delete(k, id) => app.delete(k, &id, if_match, base).await,
        Route::Bulk => bulk::run(app, body, base).await,
    }
}
