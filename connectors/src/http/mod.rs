//! HTTP transport shared by SCIM apps and HR sources: URL policy (TLS unless loopback or
//! explicitly opted in), authentication, throttling and retries decided in one place.

pub mod auth;
mod error;
pub mod retry;
pub mod throttle;

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};
use url::Url;

use crate::secret::Secret;

pub use auth::{Auth, AuthConfig, AuthError, Authenticator};
use error::{error_chain, transport_kind};
pub use error::{HttpError, TransportKind};
pub use retry::{classify, classify_at, Attempt, Decision};
pub use throttle::{RateLimit, RateLimitError, Throttle, ThrottleStats, ThrottleTuning};

/// How a request may be repeated when an attempt fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replay {
    /// Idempotent (GET, PUT, PATCH of absolute values, DELETE): retry on any retryable failure.
    Safe,
    /// Not idempotent (POST create): retry only when the server certainly did not act on it
    /// (connection refused, 429). Anything ambiguous is returned so the caller can look up.
    OnlyIfUnprocessed,
}

/// Retry bounds.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts in total, the first included.
    pub max_attempts: u32,
    /// First backoff delay; doubled per attempt, with full jitter.
    pub base_delay: Duration,
    /// Cap on one backoff delay (and on an honoured `Retry-After`).
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(30),
        }
    }
}

/// Settings of one HTTP endpoint (an app or a source).
#[derive(Clone)]
pub struct HttpSettings {
    /// Bound on every single attempt, connect included.
    pub timeout: Duration,
    /// Allow `http://` to a non-loopback host.
    pub allow_insecure_http: bool,
    /// `User-Agent` header sent on every request.
    pub user_agent: String,
    /// Headers sent on every request.
    pub default_headers: Vec<(String, String)>,
    /// Headers from the config, whose values may be API keys: held redacted, sent marked
    /// sensitive, and applied after `default_headers` so that they override them.
    pub secret_headers: Vec<(String, Secret)>,
    /// Retry bounds.
    pub retry: RetryPolicy,
}

impl std::fmt::Debug for HttpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Header names only: a value may be a credential.
        let plain: Vec<&str> = self.default_headers.iter().map(|h| h.0.as_str()).collect();
        let secret: Vec<&str> = self.secret_headers.iter().map(|h| h.0.as_str()).collect();
        f.debug_struct("HttpSettings")
            .field("timeout", &self.timeout)
            .field("allow_insecure_http", &self.allow_insecure_http)
            .field("user_agent", &self.user_agent)
            .field("default_headers", &plain)
            .field("secret_headers", &secret)
            .field("retry", &self.retry)
            .finish()
    }
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            timeout: Duration::from_secs(30),
            allow_insecure_http: false,
            user_agent: concat!("hrsync/", env!("CARGO_PKG_VERSION")).to_string(),
            default_headers: Vec::new(),
            secret_headers: Vec::new(),
            retry: RetryPolicy::default(),
        }
    }
}

/// One request, rebuilt for every attempt.
#[derive(Debug, Clone)]
pub struct Request {
    /// HTTP method.
    pub method: Method,
    /// Absolute URL.
    pub url: Url,
    /// Extra headers for this request.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Body bytes and their content type.
    pub body: Option<(Vec<u8>, &'static str)>,
    /// Whether the request may be repeated.
    pub replay: Replay,
}

impl Request {
    /// A request with no body and no extra headers.
    pub fn new(method: Method, url: Url, replay: Replay) -> Self {
        Request {
            method,
            url,
            headers: Vec::new(),
            body: None,
            replay,
        }
    }

    /// Sets a JSON body with the given content type.
    pub fn json(mut self, value: &serde_json::Value, content_type: &'static str) -> Self {
        self.body = Some((value.to_string().into_bytes(), content_type));
        self
    }

    /// Adds a header.
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }
}

/// A complete HTTP response (the body is read in full, bounded by the timeout).
#[derive(Debug, Clone)]
pub struct Response {
    /// Final status.
    pub status: StatusCode,
    /// Response headers.
    pub headers: HeaderMap,
    /// Body bytes.
    pub body: Vec<u8>,
    /// How many attempts it took.
    pub attempts: u32,
}

impl Response {
    /// The body as text, lossy, for error messages: redacted and bounded.
    pub fn body_excerpt(&self) -> String {
        crate::redact::network_bytes(&self.body, 300)
    }
}

/// Checks the TLS policy for a URL: https always; http only to loopback or when opted in.
pub fn check_url(url: &Url, allow_insecure_http: bool) -> Result<(), HttpError> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if allow_insecure_http || is_loopback(url) => Ok(()),
        _ => Err(HttpError::InsecureUrl(url.to_string())),
    }
}

/// True when the URL's host is a loopback address or `localhost`.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Hook consulted before every attempt (retries included) and told each attempt's result:
/// the per-app rate limiter and concurrency bound implement it.
#[async_trait::async_trait]
pub trait Gate: Send + Sync {
    /// Waits until an attempt may start; the returned guard is held for the attempt.
    async fn admit(&self) -> Box<dyn Send>;
    /// Reports the attempt's result (status and headers, or a transport failure).
    fn observe(&self, attempt: &Attempt<'_>);
}

/// An authenticated, retrying HTTP client for one endpoint.
#[derive(Clone)]
pub struct HttpClient {
    inner: reqwest::Client,
    auth: Arc<Authenticator>,
    gate: Option<Arc<dyn Gate>>,
    settings: Arc<HttpSettings>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    /// True when the settings put header `name` on every request (a config header), so a
    /// caller's own default for it (an app profile's) must give way.
    pub fn sets_header(&self, name: &str) -> bool {
        let s = &self.settings;
        s.default_headers
            .iter()
            .map(|(k, _)| k)
            .chain(s.secret_headers.iter().map(|(k, _)| k))
            .any(|k| k.eq_ignore_ascii_case(name))
    }

    /// Builds a client. TLS is rustls with the webpki roots.
    pub fn new(settings: HttpSettings, auth: Auth) -> Result<Self, HttpError> {
        let mut headers = HeaderMap::new();
        for (k, v) in &settings.default_headers {
            let name = HeaderName::from_bytes(k.as_bytes())
                .map_err(|e| HttpError::Build(format!("header name {k:?}: {e}")))?;
            let value = HeaderValue::from_str(v)
                .map_err(|e| HttpError::Build(format!("header {k}: {e}")))?;
            headers.insert(name, value);
        }
        for (k, v) in &settings.secret_headers {
            let name = HeaderName::from_bytes(k.as_bytes())
                .map_err(|e| HttpError::Build(format!("header name {k:?}: {e}")))?;
            crate::redact::register(v.expose());
            // The error names the header, never its value.
            let mut value = HeaderValue::from_str(v.expose())
                .map_err(|_| HttpError::Build(format!("header {k}: invalid value")))?;
            value.set_sensitive(true);
            headers.insert(name, value);
        }
        let inner = reqwest::Client::builder()
            .use_rustls_tls()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            .user_agent(settings.user_agent.clone())
            .default_headers(headers)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| HttpError::Build(e.to_string()))?;
        let auth = Arc::new(Authenticator::new(
            auth,
            inner.clone(),
            settings.allow_insecure_http,
        ));
        Ok(HttpClient {
            inner,
            auth,
            gate: None,
            settings: Arc::new(settings),
        })
    }

    /// Installs the gate (rate limiter, concurrency bound) consulted before every attempt.
    pub fn with_gate(mut self, gate: Arc<dyn Gate>) -> Self {
        self.gate = Some(gate);
        self
    }

    /// The settings this client was built with.
    pub fn settings(&self) -> &HttpSettings {
        &self.settings
    }

    /// The authenticator (exposed for token-endpoint tests and `check`).
    pub fn authenticator(&self) -> &Authenticator {
        &self.auth
    }

    /// Sends a request, retrying what [`classify`] says to retry within the policy.
    /// Every attempt passes the gate first. Returns the final response whatever its status;
    /// errors are transport-level (or credentials) only.
    pub async fn send(&self, req: &Request) -> Result<Response, HttpError> {
        check_url(&req.url, self.settings.allow_insecure_http)?;
        let policy = &self.settings.retry;
        let mut attempt: u32 = 0;
        let mut refreshed_after_401 = false;
        loop {
            attempt += 1;
            let guard = match &self.gate {
                Some(g) => Some(g.admit().await),
                None => None,
            };
            let (builder, token_generation) = self.build(req).await?;
            let outcome = execute(builder, attempt).await;
            drop(guard);
            let observed = match &outcome {
                Ok(r) => Attempt::Status {
                    status: r.status,
                    headers: &r.headers,
                },
                Err((k, _)) => Attempt::Transport(*k),
            };
            if let Some(g) = &self.gate {
                g.observe(&observed);
            }
            if let (Ok(r), Some(generation)) = (&outcome, token_generation) {
                if r.status == StatusCode::UNAUTHORIZED && !refreshed_after_401 {
                    // A cached OAuth2 token may have been revoked early: fetch a new one once.
                    refreshed_after_401 = true;
                    self.auth.invalidate_generation(generation).await;
                    attempt -= 1;
                    continue;
                }
            }
            let decision = classify(&observed, req.replay);
            match decision {
                Decision::Retry { after } if attempt < policy.max_attempts => {
                    let delay = retry::backoff_delay(attempt, after, policy);
                    tracing::debug!(
                        url = %redact_url(&req.url),
                        attempt,
                        delay_ms = delay.as_millis() as u64,
                        "Retrying request."
                    );
                    tokio::time::sleep(delay).await;
                }
                _ => {
                    return outcome.map_err(|(kind, message)| HttpError::Transport {
                        kind,
                        url: redact_url(&req.url),
                        attempts: attempt,
                        message,
                    })
                }
            }
        }
    }

    async fn build(
        &self,
        req: &Request,
    ) -> Result<(reqwest::RequestBuilder, Option<u64>), HttpError> {
        let mut b = self.inner.request(req.method.clone(), req.url.clone());
        for (k, v) in &req.headers {
            b = b.header(k, v);
        }
        if let Some((body, ct)) = &req.body {
            b = b
                .header(reqwest::header::CONTENT_TYPE, *ct)
                .body(body.clone());
        }
        Ok(self.auth.apply_tracked(b).await?)
    }
}

/// Sends one attempt and reads its whole body. A body that fails mid-way is a failure of
/// the transport, not an answer: the status alone cannot be trusted without it.
async fn execute(
    builder: reqwest::RequestBuilder,
    attempt: u32,
) -> Result<Response, (TransportKind, String)> {
    let resp = builder
        .send()
        .await
        .map_err(|e| (transport_kind(&e), transport_text(e)))?;
    let status = resp.status();
    let headers = resp.headers().clone();
    match resp.bytes().await {
        Ok(body) => Ok(Response {
            status,
            headers,
            body: body.to_vec(),
            attempts: attempt,
        }),
        Err(e) => {
            let kind = if e.is_timeout() {
                TransportKind::Timeout
            } else {
                TransportKind::Broken
            };
            Err((
                kind,
                format!("response body interrupted: {}", transport_text(e)),
            ))
        }
    }
}

/// A transport error's text as hrsync keeps it: its causes, redacted and bounded.
fn transport_text(e: reqwest::Error) -> String {
    crate::redact::network_text(&error_chain(&e.without_url()), MESSAGE_CHARS)
}

/// The longest transport message kept.
const MESSAGE_CHARS: usize = 500;

/// The one place the HTTP transport reads the wall clock: `Retry-After` dates and epoch
/// rate-limit resets are points in wall-clock time, everything else runs on tokio time.
#[allow(clippy::disallowed_methods)]
pub(crate) fn wall_clock() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

/// The URL without query string or credentials, for logs and errors.
pub fn redact_url(url: &Url) -> String {
    let mut u = url.clone();
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.set_query(None);
    u.to_string()
}
