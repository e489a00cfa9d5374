//! What one app's execution shares between its operations: the app's client, the recorder,
//! the links and groups as they stand now, the circuit, the cycle's time and stop signal.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::{watch, Mutex};

use super::app_api::AppApi;
use super::circuit::Circuit;
use super::record::Recorder;
use crate::reconcile::{GroupState, LinkState};

/// Shared context of one app's execution.
pub struct ExecCtx {
    /// The app.
    pub api: Arc<AppApi>,
    /// Records outcomes.
    pub recorder: Recorder,
    /// Links as they are now (updated as operations are settled).
    pub links: Mutex<BTreeMap<String, LinkState>>,
    /// Managed groups as they are now.
    pub groups: Mutex<BTreeMap<String, GroupState>>,
    /// The app's circuit breaker.
    pub circuit: Arc<Circuit>,
    /// Cycle time.
    pub now: DateTime<Utc>,
    /// Flips to true on shutdown: no new operation starts.
    pub stop: watch::Receiver<bool>,
    /// What to do with an existing account that matches an unlinked person.
    pub on_unlinked_match: crate::config::OnUnlinkedMatch,
    /// The app's conflict rules (create-only attributes are kept on adoption).
    pub conflicts: crate::reconcile::ConflictRules,
    /// Shows how far the app's operations have got (nothing when progress is off).
    pub progress: crate::progress::AppProgress,
}

impl ExecCtx {
    /// The app's name.
    pub fn app(&self) -> &str {
        self.recorder.app()
    }

    /// True once the cycle was asked to stop.
    pub fn stopping(&self) -> bool {
        *self.stop.borrow()
    }

    /// The link the person has now, if any.
    pub async fn link(&self, key: &str) -> Option<LinkState> {
        self.links.lock().await.get(key).cloned()
    }
}
