//! `ScimClient`: one per app. Owns the app's base URL, HTTP client and profile, what was
//! learned about the app at run time (capabilities, PATCH refused, the member-removal form
//! that works, attributes it cannot filter on), request plumbing and error mapping.
//! The operations live in `users.rs`, `lookup.rs`, `groups.rs` and `bulk.rs`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use reqwest::header::{HeaderName, HeaderValue, ACCEPT, LOCATION};
use reqwest::Method;
use serde_json::Value;
use url::Url;

use super::discovery::{parse_capabilities, Capabilities};
use super::error::{parse_error_body, ScimError};
use super::filter::Filter;
use super::patch::RemovalForm;
use super::profiles::{PatchSupport, Profile};
use super::MEDIA_TYPE;
use crate::http::{retry::retry_after, HttpClient, HttpError, Replay, Request, Response};

/// How updates are sent to the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    /// PATCH with the changed attributes only.
    Patch,
    /// GET, then PUT of the whole resource.
    Put,
}

/// The SCIM client of one app. Cheap to clone; clones share what was learned.
#[derive(Clone)]
pub struct ScimClient {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) app: String,
    base: Url,
    http: HttpClient,
    pub(crate) profile: Profile,
    caps: RwLock<Option<Capabilities>>,
    put_only: AtomicBool,
    pub(crate) removal_form: Mutex<Option<RemovalForm>>,
    pub(crate) unfilterable: Mutex<BTreeSet<String>>,
    /// List parameters (`count`, `attributes`…) the app refused; lists go without them.
    pub(crate) refused_params: Mutex<BTreeSet<String>>,
    locks: Mutex<BTreeMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Set once discovery has been tried before the first update.
    patch_learned: tokio::sync::OnceCell<()>,
}

impl std::fmt::Debug for ScimClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScimClient")
            .field("app", &self.inner.app)
            .field("base_url", &crate::http::redact_url(&self.inner.base))
            .field("profile", &self.inner.profile.name)
            .finish_non_exhaustive()
    }
}

/// The only place the SCIM client reads the clock: turning a `Retry-After` given as an
/// HTTP date into a delay for the error it reports.
#[allow(clippy::disallowed_methods)]
fn wall_clock() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

/// Locks a std mutex, recovering the data if a holder panicked (the data stays usable:
/// every critical section leaves it consistent).
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl ScimClient {
    /// A client for `app_name` at `base_url` (e.g. `https://api.slack.com/scim/v2`).
    pub fn new(
        app_name: impl Into<String>,
        base_url: Url,
        http: HttpClient,
        profile: Profile,
    ) -> Self {
        ScimClient {
            inner: Arc::new(Inner {
                app: app_name.into(),
                base: base_url,
                http,
                profile,
                caps: RwLock::new(None),
                put_only: AtomicBool::new(false),
                removal_form: Mutex::new(None),
                unfilterable: Mutex::new(BTreeSet::new()),
                refused_params: Mutex::new(BTreeSet::new()),
                locks: Mutex::new(BTreeMap::new()),
                patch_learned: tokio::sync::OnceCell::new(),
            }),
        }
    }

    /// The app's name.
    pub fn app(&self) -> &str {
        &self.inner.app
    }

    /// The app's profile.
    pub fn profile(&self) -> &Profile {
        &self.inner.profile
    }

    /// The base URL.
    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }

    /// Capabilities from the last successful [`ScimClient::discover`].
    pub fn capabilities(&self) -> Option<Capabilities> {
        self.inner
            .caps
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// How updates go out now: the profile's word, else the app's advertisement, and PUT
    /// for good once the app refused PATCH.
    pub fn write_mode(&self) -> WriteMode {
        if self.inner.put_only.load(Ordering::Relaxed) {
            return WriteMode::Put;
        }
        match self.inner.profile.patch {
            PatchSupport::Yes => WriteMode::Patch,
            PatchSupport::No => WriteMode::Put,
            PatchSupport::Discover => match self.capabilities() {
                Some(c) if !c.patch => WriteMode::Put,
                _ => WriteMode::Patch,
            },
        }
    }

    /// Takes capabilities learned earlier (kept in hrsync's state between runs), so a run
    /// need not read `ServiceProviderConfig` again.
    pub fn set_capabilities(&self, caps: Capabilities) {
        *self.inner.caps.write().unwrap_or_else(|e| e.into_inner()) = Some(caps);
    }

    /// List parameters the app refused (learned at run time or handed over from the state),
    /// which lists and lookups no longer send.
    pub fn refused_params(&self) -> Vec<String> {
        lock(&self.inner.refused_params).iter().cloned().collect()
    }

    /// Hands over list parameters the app is known to refuse (from an earlier run).
    pub fn set_refused_params(&self, params: &[String]) {
        lock(&self.inner.refused_params).extend(params.iter().cloned());
    }

    /// Before the first update of a run, reads the app's `ServiceProviderConfig` when the
    /// profile leaves PATCH support to it, so an app that says it has no PATCH gets PUT from
    /// the start. Tried once; if the read fails, PATCH is tried and its answer decides.
    pub(crate) async fn learn_patch_support(&self) {
        if self.inner.profile.patch != PatchSupport::Discover || self.capabilities().is_some() {
            return;
        }
        self.inner
            .patch_learned
            .get_or_init(|| async {
                if let Err(e) = self.discover().await {
                    tracing::debug!(app = %self.inner.app, error = %e, "No ServiceProviderConfig; PATCH will tell.");
                }
            })
            .await;
    }

    pub(crate) fn use_put_from_now_on(&self) {
        if !self.inner.put_only.swap(true, Ordering::Relaxed) {
            tracing::warn!(app = %self.inner.app, "App refused PATCH; using PUT of the whole resource from now on.");
        }
    }

    /// The member-removal form found to work, once one has.
    pub fn removal_form(&self) -> Option<RemovalForm> {
        *lock(&self.inner.removal_form)
    }

    /// Reads `ServiceProviderConfig` (trying the profile's paths in order, e.g. the plural
    /// form Salesforce serves) and keeps the result for later decisions.
    #[tracing::instrument(name = "scim", skip_all, fields(app = %self.inner.app, op = "discover"))]
    pub async fn discover(&self) -> Result<Capabilities, ScimError> {
        const OP: &str = "discover";
        let mut last = None;
        for path in self.inner.profile.discovery_paths {
            let url = self.endpoint(&[path])?;
            let resp = self.send(OP, Method::GET, url, None, Replay::Safe).await?;
            if resp.status.is_success() {
                let doc = self.json(OP, &resp)?;
                let caps = parse_capabilities(&doc);
                tracing::debug!(app = %self.inner.app, path, patch = caps.patch, bulk = caps.bulk.supported, "Discovered capabilities.");
                *self.inner.caps.write().unwrap_or_else(|e| e.into_inner()) = Some(caps.clone());
                return Ok(caps);
            }
            let err = self.error_from(OP, path, &resp);
            match resp.status.as_u16() {
                400 | 404 | 405 | 501 => last = Some(err),
                _ => return Err(err),
            }
        }
        Err(last.unwrap_or_else(|| self.invalid(OP, "no discovery path configured")))
    }

    /// One authenticated read of `/Users` (a `userName` filter matching nobody, one result
    /// at most): proves the credentials work where `ServiceProviderConfig`, which many apps
    /// serve without authentication, cannot. A 400 (the app refuses the filter) still shows
    /// the request was authorized.
    #[tracing::instrument(name = "scim", skip_all, fields(app = %self.inner.app, op = "check_access"))]
    pub async fn check_access(&self) -> Result<(), ScimError> {
        const OP: &str = "check_access";
        let filter = Filter::eq("userName", "hrsync-access-check.invalid")
            .map_err(|e| self.invalid(OP, e.to_string()))?;
        let query = [("filter", filter.to_string()), ("count", "1".to_string())];
        let resp = self.get_list(OP, "Users", &query).await?;
        if resp.status.is_success() || resp.status.as_u16() == 400 {
            return Ok(());
        }
        Err(self.error_from(OP, "Users", &resp))
    }

    /// Capabilities, discovering them first if needed.
    pub(crate) async fn ensure_capabilities(&self) -> Result<Capabilities, ScimError> {
        match self.capabilities() {
            Some(c) => Ok(c),
            None => self.discover().await,
        }
    }

    /// `base/seg1/seg2…`, each segment percent-encoded as a path segment.
    pub(crate) fn endpoint(&self, segments: &[&str]) -> Result<Url, ScimError> {
        let mut url = self.inner.base.clone();
        {
            let mut path = url.path_segments_mut().map_err(|_| ScimError::Transport {
                app: self.inner.app.clone(),
                op: "build URL",
                source: HttpError::Build(format!(
                    "base URL {} cannot take path segments",
                    crate::http::redact_url(&self.inner.base)
                )),
            })?;
            path.pop_if_empty();
            for s in segments {
                path.push(s);
            }
        }
        Ok(url)
    }

    /// Sends one request with the SCIM media type and the profile's headers.
    pub(crate) async fn send(
        &self,
        op: &'static str,
        method: Method,
        url: Url,
        body: Option<&Value>,
        replay: Replay,
    ) -> Result<Response, ScimError> {
        let mut req = Request::new(method, url, replay);
        let mut headers: Vec<(HeaderName, HeaderValue)> =
            vec![(ACCEPT, HeaderValue::from_static(MEDIA_TYPE))];
        // The profile's headers, unless the app's config sets its own value.
        for (k, v) in self.inner.profile.headers {
            if self.inner.http.sets_header(k) {
                continue;
            }
            let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(k.as_bytes()),
                HeaderValue::from_str(v),
            ) else {
                return Err(self.transport(op, HttpError::Build(format!("profile header {k}"))));
            };
            headers.retain(|(n, _)| n != name);
            headers.push((name, value));
        }
        for (name, value) in headers {
            req = req.header(name, value);
        }
        if let Some(b) = body {
            req = req.json(b, MEDIA_TYPE);
        }
        self.inner
            .http
            .send(&req)
            .await
            .map_err(|e| self.transport(op, e))
    }

    fn transport(&self, op: &'static str, e: HttpError) -> ScimError {
        match e {
            // The token endpoint refused or failed: the same reaction as a 401.
            HttpError::Auth(a) => ScimError::Unauthorized {
                app: self.inner.app.clone(),
                op,
                status: 0,
                detail: a.to_string(),
            },
            other => ScimError::Transport {
                app: self.inner.app.clone(),
                op,
                source: other,
            },
        }
    }

    /// Maps a non-success answer to the error the caller acts on.
    pub(crate) fn error_from(&self, op: &'static str, what: &str, resp: &Response) -> ScimError {
        let app = self.inner.app.clone();
        let status = resp.status.as_u16();
        let body = parse_error_body(&resp.body);
        let detail = body
            .detail
            .clone()
            .unwrap_or_else(|| format!("HTTP {status} without detail"));
        match status {
            // 501 says the operation is not supported: as permanent as a 4xx.
            400..=499 | 501 => refused(app, op, what, resp, body.scim_type, detail),
            500..=599 => ScimError::Server {
                app,
                op,
                status,
                detail,
            },
            _ => unexpected(app, op, resp),
        }
    }

    pub(crate) fn invalid(&self, op: &'static str, detail: impl Into<String>) -> ScimError {
        // The detail may quote the answer (a parser's message, a body excerpt).
        ScimError::InvalidResponse {
            app: self.inner.app.clone(),
            op,
            detail: crate::redact::network_text(&detail.into(), 600),
        }
    }

    /// The body as a JSON object, or `InvalidResponse`.
    pub(crate) fn json(&self, op: &'static str, resp: &Response) -> Result<Value, ScimError> {
        match serde_json::from_slice::<Value>(&resp.body) {
            Ok(v @ Value::Object(_)) => Ok(v),
            Ok(_) => Err(self.invalid(op, "expected a JSON object")),
            Err(_) => Err(self.invalid(
                op,
                format!(
                    "not JSON (HTTP {}): {}",
                    resp.status.as_u16(),
                    resp.body_excerpt()
                ),
            )),
        }
    }

    /// The body as a JSON object when there is one (PATCH/PUT may answer without).
    pub(crate) fn json_if_any(
        &self,
        op: &'static str,
        resp: &Response,
    ) -> Result<Option<Value>, ScimError> {
        if resp.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        self.json(op, resp).map(Some)
    }

    /// Serializes writes to one object when the app demands it (Slack); otherwise `None`.
    pub(crate) async fn write_guard(&self, key: &str) -> Option<tokio::sync::OwnedMutexGuard<()>> {
        if !self.inner.profile.serialize_object_writes {
            return None;
        }
        let m = {
            let mut locks = lock(&self.inner.locks);
            // Entries nobody holds or waits for are dropped so the map stays small.
            locks.retain(|_, m| Arc::strong_count(m) > 1);
            locks.entry(key.to_string()).or_default().clone()
        };
        Some(m.lock_owned().await)
    }
}

/// The error of a 4xx (or 501) answer: what the app refused, and so what the caller does.
fn refused(
    app: String,
    op: &'static str,
    what: &str,
    resp: &Response,
    scim_type: Option<String>,
    detail: String,
) -> ScimError {
    let status = resp.status.as_u16();
    let uniqueness = scim_type
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case("uniqueness"));
    match status {
        401 | 403 => ScimError::Unauthorized {
            app,
            op,
            status,
            detail,
        },
        404 => ScimError::NotFound {
            app,
            op,
            what: what.to_string(),
        },
        409 => ScimError::Conflict {
            app,
            op,
            scim_type,
            detail,
        },
        400 if uniqueness => ScimError::Conflict {
            app,
            op,
            scim_type,
            detail,
        },
        429 => ScimError::Throttled {
            app,
            op,
            retry_after: retry_after(&resp.headers, wall_clock()),
        },
        _ => ScimError::Rejected {
            app,
            op,
            status,
            scim_type,
            detail,
        },
    }
}

/// The error of an answer no SCIM app should give: a redirect (a wrong `base_url`, most
/// likely) or a status outside the error classes.
fn unexpected(app: String, op: &'static str, resp: &Response) -> ScimError {
    let status = resp.status.as_u16();
    let detail = if (300..=399).contains(&status) {
        format!(
            "redirect (HTTP {status}) to {}; check base_url",
            resp.headers
                .get(LOCATION)
                .and_then(|l| l.to_str().ok())
                .map_or_else(|| "?".into(), |l| crate::redact::network_text(l, 200))
        )
    } else {
        format!("unexpected HTTP {status}")
    };
    ScimError::InvalidResponse { app, op, detail }
}
