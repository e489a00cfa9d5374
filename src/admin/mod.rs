//! The admin endpoint (axum) on `daemon.admin_listen`: health, readiness and metrics for
//! probes and Prometheus (no token, no personal data); status, sync, resync and cycle
//! progress behind the admin token; HR webhooks behind their HMAC signatures. It only
//! produces triggers and reads the control surface: cycles are run by the daemon loop.

pub mod client;
pub mod handoff;
mod hook_body;
mod hooks;
mod routes;
pub mod signature;
#[cfg(test)]
mod tests;
mod token;

use std::future::Future;
use std::pin::Pin;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use tracing::Instrument;

use crate::control::metrics::WebhookLabels;
use crate::control::{AdminListener, Control};

pub use hook_body::{changed_keys, MAX_BODY};

/// Builds the endpoint's routes over the control surface.
pub fn router(control: Control) -> Router {
    Router::new()
        .route("/healthz", get(routes::healthz))
        .route("/readyz", get(routes::readyz))
        .route("/metrics", get(routes::metrics))
        .route("/v1/status", get(routes::status))
        .route("/v1/sync", post(routes::sync))
        .route("/v1/resync", post(routes::resync))
        .route("/v1/cycles/{id}", get(routes::cycle))
        .route(
            "/v1/hooks/{source}",
            post(hooks::receive).layer(DefaultBodyLimit::max(MAX_BODY)),
        )
        // The JSON bodies of /v1/sync and /v1/resync are tiny; anything big is refused
        // before it is read.
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn(in_span))
        .with_state(control)
}

/// Runs each request in a span named by its route (the route's pattern, so that no
/// caller-chosen text reaches the log), and logs refusals at debug.
async fn in_span(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_string();
    let span = tracing::info_span!("admin", method = %request.method(), route = %route);
    let response = next.run(request).instrument(span.clone()).await;
    span.in_scope(|| {
        tracing::debug!(
            status = response.status().as_u16(),
            "Admin request answered."
        );
    });
    response
}

/// Serves the endpoint on a bound listener until the process ends (the daemon's
/// [`crate::control::ServeAdmin`]).
pub fn serve(
    listener: AdminListener,
    control: Control,
) -> Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(async move {
        let at = listener.describe();
        // Every hook-enabled source shows in the metrics from the start, so an alert on
        // its refusals has a series to compare with before the first hook arrives.
        for source in control.settings().webhooks.keys() {
            for result in ["accepted", "bad_signature"] {
                let labels = WebhookLabels {
                    source: source.clone(),
                    result: result.to_string(),
                };
                let _ = control.metrics().webhooks.get_or_create(&labels);
            }
        }
        let app = router(control);
        let served = match listener {
            AdminListener::Tcp(l) => axum::serve(l, app).await,
            AdminListener::Unix(l) => axum::serve(l, app).await,
        };
        if let Err(e) = served {
            tracing::error!(listen = %at, error = %e, "The admin endpoint stopped.");
        }
    })
}
