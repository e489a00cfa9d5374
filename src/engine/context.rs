//! What one app's execution shares between its operations: the app's client, the recorder,
//! the links and groups as they stand now, the circuit, the cycle's time and stop signal.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::{watch, Mutex};

use super::app_api::AppApi;
use super::circuit::Circuit;
use super::record::Recorder;
use crate::reconcile::{GroupState, LinkState, OpKind, Operation};

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
    /// Persons whose create was sent this cycle (alone or in a Bulk request): a second
    /// attempt always looks the account up first.
    pub sent_creates: std::sync::Mutex<BTreeSet<String>>,
    /// The members each membership change was sent for, by (kind, group): members
    /// without an account wait, and are neither counted nor recorded.
    pub members_sent: std::sync::Mutex<BTreeMap<(OpKind, String), Vec<String>>>,
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

    /// True the first time a create is about to be sent for the person this cycle; every
    /// later attempt (a retry, a Bulk failure sent alone) must look up before it POSTs.
    pub fn first_create(&self, key: &str) -> bool {
        self.sent_creates
            .lock()
            .map(|mut s| s.insert(key.to_string()))
            .unwrap_or(false)
    }

    /// Notes the members a membership change was sent for.
    pub fn members_sent(&self, op: &Operation, keys: &[String]) {
        if let Ok(mut m) = self.members_sent.lock() {
            m.insert((op.op, op.key.clone()), keys.to_vec());
        }
    }

    /// The operation as it was sent: a membership change lists only the members it was
    /// sent for.
    pub fn as_sent(&self, mut op: Operation) -> Operation {
        let sent = self
            .members_sent
            .lock()
            .ok()
            .and_then(|m| m.get(&(op.op, op.key.clone())).cloned());
        if let Some(keys) = sent {
            op.members = keys;
        }
        op
    }

    /// The link the person has now, if any.
    pub async fn link(&self, key: &str) -> Option<LinkState> {
        self.links.lock().await.get(key).cloned()
    }
}
