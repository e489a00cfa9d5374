//! `POST /v1/hooks/{source}`: an HR system says something changed. The source must have
//! `webhook` configured (else 404), the body must fit in 1 MiB (else 413) and carry a
//! valid signature (else 401); then a debounced webhook cycle is queued for the persons the
//! body names. Nothing is started by a refused hook.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::hook_body::changed_keys;
use super::routes::error;
use super::signature;
use crate::control::{Control, Trigger};

/// The metric label of a source name the config does not have: an unauthenticated caller
/// must not be able to create label values.
const UNKNOWN_SOURCE: &str = "unknown";

/// Receives one hook.
pub(super) async fn receive(
    State(control): State<Control>,
    Path(source): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let settings = control.settings();
    let metrics = control.metrics();
    let Some(hook) = settings.webhooks.get(&source) else {
        metrics.webhook(UNKNOWN_SOURCE, "unknown_source");
        tracing::warn!("Webhook for a source without `webhook` configured refused (404).");
        return error(
            StatusCode::NOT_FOUND,
            "no source of that name accepts webhooks",
        );
    };
    let body = match body {
        Ok(b) => b,
        Err(rejection) => {
            let status = rejection.status();
            let result = if status == StatusCode::PAYLOAD_TOO_LARGE {
                "too_large"
            } else {
                "unreadable"
            };
            metrics.webhook(&source, result);
            tracing::warn!(source = %source, result, "Webhook refused.");
            return error(status, rejection.body_text());
        }
    };
    let now = crate::clock::now().timestamp();
    let secret = hook.secret.expose().as_bytes();
    if let Err(refusal) = signature::verify(hook.style, secret, &headers, &body, now) {
        metrics.webhook(&source, refusal.label());
        tracing::warn!(source = %source, reason = %refusal, "Webhook refused (401).");
        return error(StatusCode::UNAUTHORIZED, refusal.to_string());
    }
    let keys = changed_keys(&body);
    let named = keys.len();
    let id = control.submit(Trigger::Webhook {
        source: source.clone(),
        keys,
    });
    metrics.webhook(&source, "accepted");
    // The count of persons, never their keys: the log stays free of personal data.
    tracing::info!(source = %source, persons = named, cycle = id, "Webhook accepted.");
    (StatusCode::ACCEPTED, Json(json!({"cycle": id}))).into_response()
}
