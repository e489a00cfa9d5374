//! The creates an app's profile refuses (userName too long, a required attribute missing),
//! found before anything is sent: they are shown as refused and never sent. Checking a
//! create builds its whole SCIM body, so the apps of one mapping class with the same
//! profile check each person once: their creates share what is sent, and the first of
//! them to check hands its findings to the others.

use std::sync::Arc;

use hrsync_connectors::scim::Profile;
use rayon::prelude::*;
use serde_json::Value;

use super::app_api::AppApi;
use crate::mapping::AttrMap;
use crate::mapping::{SharedByClass, Taken};
use crate::reconcile::{AppPlan, Operation, Refusal};

/// What the apps of each mapping class found of their creates, within one cycle.
pub type SharedRefusals = SharedByClass<Arc<Checked>>;

/// One checked create: what is sent (the map the class shares, kept alive here so that
/// its address names it), whether the account is active, and the refusal if any.
type CheckedCreate = (Arc<AttrMap>, bool, Option<String>);

/// One app's checked creates, in the order of their maps' addresses.
pub struct Checked {
    profile: Profile,
    creates: Vec<CheckedCreate>,
}

impl Checked {
    /// The finding for a create sent exactly as one checked before, with the same key.
    fn finding(&self, op: &Operation, active: bool) -> Option<&Option<String>> {
        let at = Arc::as_ptr(&op.desired);
        let i = self
            .creates
            .binary_search_by(|(d, a, _)| (Arc::as_ptr(d), *a).cmp(&(at, active)))
            .ok()?;
        // The key goes into the body as externalId: a map that carries it is that person's.
        let keyed = op.desired.get("externalId").and_then(Value::as_str) == Some(&op.key);
        keyed.then_some(&self.creates[i].2)
    }
}

/// Where an app finds what the other apps of its class checked: the cache, the class,
/// and the class's size.
pub(super) type ClassCheck<'a> = (&'a SharedRefusals, (u64, usize), usize);

/// Takes out of the plan the creates the app's profile refuses.
pub(super) fn refuse_known(api: &AppApi, plan: &mut AppPlan, class: Option<ClassCheck<'_>>) {
    let reasons = match class {
        Some((shared, class, size)) => reasons_sharing(api, plan, shared, class, size),
        None => reasons(api, plan, None),
    };
    take_refused(plan, reasons);
}

/// Each operation's refusal, the class's findings taken where they apply and this app's
/// handed on when it checks first.
fn reasons_sharing(
    api: &AppApi,
    plan: &AppPlan,
    shared: &SharedRefusals,
    class: (u64, usize),
    size: usize,
) -> Vec<Option<String>> {
    let taken = shared.take(class, size, || {
        let own = reasons(api, plan, None);
        (
            Arc::new(checked_of(api.client().profile(), plan, &own)),
            own,
        )
    });
    match taken {
        Taken::Made(own) => own,
        Taken::Shared(checked) if checked.profile == *api.client().profile() => {
            reasons(api, plan, Some(&checked))
        }
        Taken::Shared(_) => reasons(api, plan, None),
    }
}

/// Each operation's refusal (None for all but refused creates), checked on every core.
fn reasons(api: &AppApi, plan: &AppPlan, known: Option<&Checked>) -> Vec<Option<String>> {
    plan.operations
        .par_iter()
        .with_min_len(256)
        .map(|op| {
            if !op.creates_account() {
                return None;
            }
            let active = op.active.unwrap_or(true);
            match known.and_then(|k| k.finding(op, active)) {
                Some(found) => found.clone(),
                None => api
                    .create_body(&op.key, &op.desired, active)
                    .err()
                    .map(|e| refusal_reason(&e)),
            }
        })
        .collect()
}

/// The plan's creates with their findings, in the order [`Checked::finding`] searches.
fn checked_of(profile: &Profile, plan: &AppPlan, reasons: &[Option<String>]) -> Checked {
    let mut creates: Vec<_> = plan
        .operations
        .iter()
        .zip(reasons)
        .filter(|(op, _)| op.creates_account())
        .map(|(op, r)| (op.desired.clone(), op.active.unwrap_or(true), r.clone()))
        .collect();
    creates.par_sort_unstable_by(|x, y| (Arc::as_ptr(&x.0), x.1).cmp(&(Arc::as_ptr(&y.0), y.1)));
    Checked {
        profile: profile.clone(),
        creates,
    }
}

/// Moves the refused creates out of the operations into the plan's refusals.
fn take_refused(plan: &mut AppPlan, reasons: Vec<Option<String>>) {
    if reasons.iter().all(Option::is_none) {
        return;
    }
    let mut refused = Vec::new();
    let mut reasons = reasons.into_iter();
    plan.operations.retain(|op| match reasons.next().flatten() {
        None => true,
        Some(reason) => {
            refused.push(Refusal {
                op: op.op,
                key: op.key.clone(),
                user_name: op.user_name.clone(),
                reason,
            });
            false
        }
    });
    plan.refused.extend(refused);
    plan.finish();
}

/// The profile's words for a refusal, without the client's framing.
fn refusal_reason(e: &hrsync_connectors::scim::ScimError) -> String {
    match e {
        hrsync_connectors::scim::ScimError::InvalidRecord { detail, .. } => detail.clone(),
        other => other.to_string(),
    }
}
