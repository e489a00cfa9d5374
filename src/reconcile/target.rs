//! What a person's account in an app should be today: the date-aware lifecycle decision.

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate};
use hrsync_connectors::source::Lifecycle;

use super::input::{AppInput, AppPolicy, DesiredPerson, LeavePolicy};

/// The state an account should be in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Exists and is active.
    Active,
    /// Exists but inactive (pre-provisioned before the start date).
    Inactive(String),
    /// Should not have access: deactivate (and later delete).
    Deprovision(String),
    /// No decision yet (absent within grace, or start date not yet near): leave as is.
    Keep(String),
}

/// Where each of an app's persons should stand today. Active, most persons' target, is
/// not held: a map of a million of them took about 60 bytes a person in each app.
pub struct Targets<'i> {
    /// The persons whose target is not Active.
    other: BTreeMap<&'i str, Target>,
}

/// The target of every person [`Targets`] does not hold.
static ACTIVE: Target = Target::Active;

impl<'i> Targets<'i> {
    /// Every person's target in the app on the day of its plan.
    pub fn of_app(input: &AppInput<'i>) -> Self {
        let today = input.now.date_naive();
        let other = input
            .persons
            .iter()
            .map(|(k, p)| (k.as_str(), target(p, input.policy, today)))
            .filter(|(_, t)| *t != Target::Active)
            .collect();
        Targets { other }
    }

    /// The target of one of the app's persons (of a key no person has: Active, as if
    /// nothing were known against it).
    pub fn of(&self, key: &str) -> &Target {
        self.other.get(key).unwrap_or(&ACTIVE)
    }
}

/// Decides the target for a person in an app on `today`.
pub fn target(p: &DesiredPerson, policy: &AppPolicy, today: NaiveDate) -> Target {
    if p.absent_cycles > 0 {
        if p.absent_cycles >= policy.absence_grace_cycles.max(1) {
            return Target::Deprovision(format!(
                "absent from HR for {} consecutive reads",
                p.absent_cycles
            ));
        }
        return Target::Keep(format!(
            "absent from HR ({} of {} reads before deprovisioning)",
            p.absent_cycles, policy.absence_grace_cycles
        ));
    }
    match p.status {
        // A termination entered ahead of time keeps access until its date arrives; on that
        // date (or with no date) access ends at once — HR marks someone terminated today
        // precisely when access must go now.
        Lifecycle::Terminated if p.end_date.is_some_and(|d| d > today) => {}
        Lifecycle::Terminated => {
            return Target::Deprovision(match p.end_date {
                Some(d) => format!("terminated {d}"),
                None => "terminated".into(),
            })
        }
        Lifecycle::Leave if policy.leave == LeavePolicy::Deactivate => {
            return Target::Deprovision("on leave".into())
        }
        _ => {}
    }
    if let Some(end) = p.end_date {
        // The end date is the last working day: access ends once it has passed.
        if end < today {
            return Target::Deprovision(format!("end date {end} passed"));
        }
    }
    if !p.in_scope {
        return Target::Deprovision("left scope".into());
    }
    if let Some(start) = p.start_date {
        if start > today {
            let window_opens = start
                .checked_sub_days(Days::new(u64::from(policy.pre_provision_days)))
                .unwrap_or(start);
            if policy.pre_provision_days > 0 && window_opens <= today {
                return Target::Inactive(format!("starts {start}"));
            }
            return Target::Keep(format!("starts {start}"));
        }
    }
    Target::Active
}
