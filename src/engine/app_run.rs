//! What one app's part of a cycle is given: the app, the templates, the merged HR view,
//! the state, the kind of cycle and its time.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use hrsync_state::Store;
use tokio::sync::watch;

use super::mode::Mode;
use super::read::HrView;
use crate::config::AppSettings;
use crate::mapping::Mapper;
use crate::reconcile::guards::DeprovisionLimits;
use crate::reconcile::AppPlan;

/// Everything one app's part of a cycle needs.
pub struct AppRun {
    /// The app.
    pub app: AppSettings,
    /// Templates.
    pub mapper: Arc<Mapper>,
    /// Merged HR.
    pub view: Arc<HrView>,
    /// State (None: no state file yet, dry run).
    pub store: Option<Store>,
    /// Recorded cycle.
    pub cycle_id: Option<i64>,
    /// Kind of cycle.
    pub mode: Mode,
    /// Only these persons.
    pub users: Vec<String>,
    /// Release held deprovisions.
    pub allow_mass_deprovision: bool,
    /// Deprovision guards.
    pub limits: DeprovisionLimits,
    /// Cycle time.
    pub now: DateTime<Utc>,
    /// The saved plan's part for this app, if applying a saved plan.
    pub saved: Option<AppPlan>,
    /// Shutdown signal.
    pub stop: watch::Receiver<bool>,
}

impl AppRun {
    /// True when `key` is among the persons this run covers.
    pub(super) fn covers(&self, key: &str) -> bool {
        covers(&self.users, key)
    }
}

/// True when `key` is among `users`, or `users` is empty (everyone).
pub(super) fn covers(users: &[String], key: &str) -> bool {
    users.is_empty() || users.iter().any(|u| u == key)
}
