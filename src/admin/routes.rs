//! The endpoint's handlers other than webhooks: probes and metrics (open), status, sync,
//! resync and cycle progress (admin token).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::token::authorized;
use crate::config::Settings;
use crate::control::{Control, Readiness, Trigger};

/// The content type Prometheus expects of the OpenMetrics text the registry renders.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// A refusal before anything is queued: its status and what to say.
type Refused = (StatusCode, String);

/// An error answer: `{"error": "..."}` with its status.
pub(super) fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({"error": message.into()}))).into_response()
}

/// 401 with the challenge a client expects; nothing was started.
pub(super) fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        Json(json!({"error": "the admin token is required (Authorization: Bearer ...)"})),
    )
        .into_response()
}

/// 202 `{"cycle": id}`: the request is queued; `GET /v1/cycles/{id}` follows it.
fn accepted(id: u64) -> Response {
    (StatusCode::ACCEPTED, Json(json!({"cycle": id}))).into_response()
}

/// `GET /healthz`: 200 while the daemon loop keeps beating, 503 once it has been silent
/// for longer than `daemon.stall_timeout_secs`.
pub(super) async fn healthz(State(control): State<Control>) -> Response {
    let bound = control.settings().daemon.stall_timeout;
    let health = control.health();
    if health.alive(bound) {
        (
            StatusCode::OK,
            Json(json!({"status": "alive", "pid": control.pid()})),
        )
            .into_response()
    } else {
        let silent = health.silence().as_secs();
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "stalled", "silent_secs": silent, "pid": control.pid()})),
        )
            .into_response()
    }
}

/// `GET /readyz`: 200 once the config is loaded and the state open, else 503 and why.
pub(super) async fn readyz(State(control): State<Control>) -> Response {
    match control.health().readiness() {
        Readiness::Ready => (StatusCode::OK, Json(json!({"ready": true}))).into_response(),
        Readiness::Starting => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"ready": false, "reason": "starting"})),
        )
            .into_response(),
        Readiness::NotReady(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"ready": false, "reason": reason})),
        )
            .into_response(),
    }
}

/// `GET /metrics`: every metric in the Prometheus text format.
pub(super) async fn metrics(State(control): State<Control>) -> Response {
    (
        [(header::CONTENT_TYPE, OPENMETRICS)],
        control.metrics().render(),
    )
        .into_response()
}

/// `GET /v1/status`: the document of `hrsync status --format json`.
pub(super) async fn status(State(control): State<Control>, headers: HeaderMap) -> Response {
    let settings = control.settings();
    if !authorized(admin_token(&settings), &headers) {
        return unauthorized();
    }
    match crate::commands::status::document(&settings).await {
        Ok(doc) => Json(doc).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "GET /v1/status could not read the state.");
            error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
        }
    }
}

/// The body of `POST /v1/sync` (optional).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SyncBody {
    /// Only these apps (all when absent or empty).
    #[serde(default)]
    apps: Vec<String>,
    /// Release deprovisions a guard would hold.
    #[serde(default)]
    allow_mass_deprovision: bool,
}

/// A JSON field that may be one string or a list of them (`"app": "slack"`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

/// The body of `POST /v1/resync`: `{"app", "user", "dry_run"}` (each optional; `app` and
/// `user` take one name or a list, `apps` and `users` are accepted too).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResyncBody {
    #[serde(default, alias = "apps")]
    app: Option<OneOrMany>,
    #[serde(default, alias = "users")]
    user: Option<OneOrMany>,
    #[serde(default)]
    dry_run: bool,
    #[serde(default)]
    allow_mass_deprovision: bool,
}

/// `POST /v1/sync`: queue an apply cycle of the named apps (all when none).
pub(super) async fn sync(
    State(control): State<Control>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let req: SyncBody = match admit(&control, &headers, &body, |r: &SyncBody| r.apps.clone()) {
        Ok(req) => req,
        Err(refused) => return *refused,
    };
    let id = control.submit(Trigger::Sync {
        apps: req.apps,
        allow_mass_deprovision: req.allow_mass_deprovision,
    });
    tracing::info!(cycle = id, "Sync requested on the admin endpoint.");
    accepted(id)
}

/// `POST /v1/resync`: queue a resync of the named apps and persons (all when none).
pub(super) async fn resync(
    State(control): State<Control>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let apps_of = |r: &ResyncBody| r.app.clone().map(OneOrMany::into_vec).unwrap_or_default();
    let req: ResyncBody = match admit(&control, &headers, &body, apps_of) {
        Ok(req) => req,
        Err(refused) => return *refused,
    };
    let apps = apps_of(&req);
    let users = req.user.map(OneOrMany::into_vec).unwrap_or_default();
    let id = control.submit(Trigger::Resync {
        apps,
        users,
        dry_run: req.dry_run,
        allow_mass_deprovision: req.allow_mass_deprovision,
    });
    tracing::info!(
        cycle = id,
        dry_run = req.dry_run,
        "Resync requested on the admin endpoint."
    );
    accepted(id)
}

/// `GET /v1/cycles/{id}`: where a requested cycle stands and, once done, its result.
pub(super) async fn cycle(
    State(control): State<Control>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if !authorized(admin_token(&control.settings()), &headers) {
        return unauthorized();
    }
    let Ok(id) = id.parse::<u64>() else {
        return error(StatusCode::BAD_REQUEST, "a cycle id is a number");
    };
    match control.board().get(id) {
        Some(entry) => Json(entry).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            format!("no cycle {id} (unknown, or too old to be remembered)"),
        ),
    }
}

/// What every request that queues a cycle passes first: the admin token, a JSON body, and
/// apps the config knows. The refusal is the response to send.
fn admit<T: Default + for<'de> Deserialize<'de>>(
    control: &Control,
    headers: &HeaderMap,
    body: &[u8],
    apps_of: impl Fn(&T) -> Vec<String>,
) -> Result<T, Box<Response>> {
    let settings = control.settings();
    if !authorized(admin_token(&settings), headers) {
        return Err(Box::new(unauthorized()));
    }
    let refuse = |(status, message): Refused| Box::new(error(status, message));
    let req: T = parse(body).map_err(refuse)?;
    known_apps(&settings, &apps_of(&req)).map_err(refuse)?;
    Ok(req)
}

fn admin_token(settings: &Settings) -> Option<&hrsync_connectors::secret::Secret> {
    settings
        .daemon
        .admin
        .as_ref()
        .and_then(|a| a.token.as_ref())
}

/// Parses an optional JSON body: empty means all defaults; anything unreadable is a 400.
fn parse<T: Default + for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, Refused> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body)
        .map_err(|e| (StatusCode::BAD_REQUEST, format!("invalid JSON body: {e}")))
}

/// 400 naming an app the config does not have (nothing is queued).
fn known_apps(settings: &Settings, apps: &[String]) -> Result<(), Refused> {
    match apps.iter().find(|a| settings.app(a).is_none()) {
        None => Ok(()),
        Some(unknown) => {
            let known: Vec<&str> = settings.apps.iter().map(|a| a.name.as_str()).collect();
            Err((
                StatusCode::BAD_REQUEST,
                format!("unknown app {unknown:?}; configured: {}", known.join(", ")),
            ))
        }
    }
}
