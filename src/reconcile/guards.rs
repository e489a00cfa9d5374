//! Deprovision guards: per-app limits on how much access one cycle may take away.
//! Over a limit, every deprovision of the app is held; creates and updates still go out.
//! Besides the configured limits, a floor holds any cycle that would take access from more
//! than half of an app's active accounts (and more than one), whatever the app's size.

use std::collections::BTreeSet;

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

/// Active linked accounts below which `max_deprovision_percent` does not apply (one leaver
/// in a five-person app is not a mass deprovision; the half-of-the-app floor still is).
pub const PERCENT_GUARD_MIN_ACCOUNTS: usize = 10;

/// Holds the app's deprovisions when they exceed a limit or the floor, unless `allow` (the
/// `--allow-mass-deprovision` flag). `active` holds the HR keys of the app's active linked
/// accounts. Returns the reason when something was held.
pub fn hold_mass_deprovision(
    plan: &mut AppPlan,
    limits: &DeprovisionLimits,
    active: &BTreeSet<&str>,
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
    let why = limit_reason(limits, count, active.len(), deprovisioned_last_day)
        .or_else(|| floor_reason(plan, active))?;
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

/// The first configured limit `count` deprovisions exceed.
fn limit_reason(
    limits: &DeprovisionLimits,
    count: usize,
    linked_accounts: usize,
    deprovisioned_last_day: usize,
) -> Option<String> {
    let mut reason = None;
    if let Some(max) = limits.max_count {
        if count > max {
            reason = Some(format!(
                "{count} deprovisions exceed max_deprovision_count = {max}"
            ));
        }
    }
    if reason.is_none() && linked_accounts >= PERCENT_GUARD_MIN_ACCOUNTS {
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
    reason
}

/// The floor: more than half of the app's active accounts, and more than one, losing
/// access in one cycle. A single leaver always goes (a one-person app can offboard them);
/// two of three, or everyone in a small app after a bad read, are held.
fn floor_reason(plan: &AppPlan, active: &BTreeSet<&str>) -> Option<String> {
    let taken = plan
        .operations
        .iter()
        .filter(|o| o.op.is_deprovision() && active.contains(o.key.as_str()))
        .count();
    (taken > 1 && taken * 2 > active.len()).then(|| {
        format!(
            "{taken} deprovisions would take access from {taken} of {} active accounts, more than half of the app",
            active.len()
        )
    })
}
