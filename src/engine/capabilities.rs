//! What each app advertised in `ServiceProviderConfig` (PATCH, Bulk, filters), kept in the
//! state between runs: a run with a handful of changes then costs one request per change,
//! not one more to re-read the configuration. Refreshed once a day, and whenever a run
//! learned something different. Apart from them, the list parameters the app refused
//! (`count`, `attributes`…): learned from its answers, not advertised, so kept until the
//! state is lost, and later cycles do not send them.

use chrono::{DateTime, Utc};
use hrsync_connectors::scim::Capabilities;
use hrsync_state::Store;
use serde::{Deserialize, Serialize};

use super::app_api::AppApi;

/// How long advertised capabilities are trusted before they are read again.
const FRESH_FOR_HOURS: i64 = 24;

#[derive(Debug, Serialize, Deserialize)]
struct Cached {
    caps: Capabilities,
    read_at: DateTime<Utc>,
}

fn key(app: &str) -> String {
    format!("scim_capabilities:{app}")
}

fn refused_key(app: &str) -> String {
    format!("scim_refused_params:{app}")
}

/// The list parameters the app refused in earlier runs, as the state keeps them.
pub async fn refused_params(store: &Store, app: &str) -> Vec<String> {
    match store.meta(&refused_key(app)).await {
        Ok(Some(t)) => serde_json::from_str(&t).unwrap_or_default(),
        Ok(None) => Vec::new(),
        Err(e) => {
            tracing::debug!(app, error = %e, "Cannot read the refused list parameters.");
            Vec::new()
        }
    }
}

/// Keeps the list parameters the client learned the app refuses, when there is news.
async fn remember_refused(store: &Store, app: &str, api: &AppApi) {
    let learned = api.client().refused_params();
    if learned.is_empty() || refused_params(store, app).await == learned {
        return;
    }
    let Ok(text) = serde_json::to_string(&learned) else {
        return;
    };
    if let Err(e) = store.set_meta(&refused_key(app), &text).await {
        tracing::warn!(app, error = %e, "Cannot keep the app's refused list parameters.");
    }
}

/// Hands the app's client what it advertised, if that was read recently; returns what was
/// handed over, so [`remember`] stores only news.
pub async fn recall(
    store: &Store,
    app: &str,
    api: &AppApi,
    now: DateTime<Utc>,
) -> Option<Capabilities> {
    api.client()
        .set_refused_params(&refused_params(store, app).await);
    let text = match store.meta(&key(app)).await {
        Ok(Some(t)) => t,
        Ok(None) => return None,
        Err(e) => {
            tracing::debug!(app, error = %e, "Cannot read cached capabilities.");
            return None;
        }
    };
    let cached: Cached = serde_json::from_str(&text).ok()?;
    if now - cached.read_at > chrono::Duration::hours(FRESH_FOR_HOURS) || cached.read_at > now {
        return None;
    }
    api.client().set_capabilities(cached.caps.clone());
    Some(cached.caps)
}

/// Stores what the client learned during the run when it differs from what it started with.
pub async fn remember(
    store: &Store,
    app: &str,
    api: &AppApi,
    recalled: Option<&Capabilities>,
    now: DateTime<Utc>,
) {
    remember_refused(store, app, api).await;
    let Some(caps) = api.client().capabilities() else {
        return;
    };
    if recalled == Some(&caps) {
        return;
    }
    let Ok(text) = serde_json::to_string(&Cached { caps, read_at: now }) else {
        return;
    };
    if let Err(e) = store.set_meta(&key(app), &text).await {
        tracing::warn!(app, error = %e, "Cannot keep the app's capabilities for the next run.");
    }
}
