//! Deprovision guards: per-app limits on how much access one cycle may take away.
//! Over a limit, every deprovision of the app is held; creates and updates still go out.

use serde::{Deserialize, Serialize};

use super::plan::{AppPlan, Held};

/// The per-app deprovision limits of `[guards]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeprovisionLimits {
    /// At most this many deprovisions per app per cycle.
    pub max_count: Option<usize>,
    /// At most this percentage of the app's linked accounts per cycle.
    pub max_percent: Option<f64>,
    /// At most this many deprovisions per app in the last 24 hours.
    pub max_per_day: Option<usize>,
}

/// Holds the app's deprovisions when they exceed a limit, unless `allow` (the
/// `--allow-mass-deprovision` flag). Returns the reason when something was held.
pub fn hold_mass_deprovision(
    plan: &mut AppPlan,
    limits: &DeprovisionLimits,
    linked_accounts: usize,
    deprovisioned_last_day: usize,
    allow: bool,
) -> Option<String> {
    let count = plan
        .operations
        .iter()
        .filter(|o| o.op.is_deprovision())
        .count();
    if count == 0 || allow {
        return None;
    }
    let mut reason = None;
    if let Some(max) = limits.max_count {
        if count > max {
            reason = Some(format!(
                "{count} deprovisions exceed max_deprovision_count = {max}"
            ));
        }
    }
    if reason.is_none() {
        if let Some(pct) = limits.max_percent {
            let share = if linked_accounts == 0 {
                100.0
            } else {
                count as f64 * 100.0 / linked_accounts as f64
            };
            if share > pct {
                reason = Some(format!(
                    "{count} deprovisions are {share:.1}% of {linked_accounts} linked accounts, over max_deprovision_percent = {pct}"
                ));
            }
        }
    }
    if reason.is_none() {
        if let Some(max) = limits.max_per_day {
            if deprovisioned_last_day + count > max {
                reason = Some(format!(
                    "{count} deprovisions after {deprovisioned_last_day} in the last 24 h exceed max_deprovision_per_day = {max}"
                ));
            }
        }
    }
    let why = reason?;
    let (held, kept): (Vec<_>, Vec<_>) = plan
        .operations
        .drain(..)
        .partition(|o| o.op.is_deprovision());
    plan.operations = kept;
    plan.held.extend(held.into_iter().map(|operation| Held {
        operation,
        reason: why.clone(),
    }));
    plan.finish();
    Some(why)
}
