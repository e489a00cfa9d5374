//! What a person's account in an app should be today: the date-aware lifecycle decision.

use chrono::{Days, NaiveDate};
use hrsync_connectors::source::Lifecycle;

use super::input::{AppPolicy, DesiredPerson, LeavePolicy};

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
