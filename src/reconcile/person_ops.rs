//! The operations one person's account needs in one app: a create (or the relink of an
//! account that carries their key), an update, reactivation or rebase of a linked account,
//! a deprovision, and the relink of an idle account after the state was lost.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde_json::Value;

use super::accounts::Found;
use super::diff::{diff_against_base, diff_three_way, AttrDiff};
use super::form::in_own_form;
use super::hash::state_digest;
use super::input::{AppInput, ConflictRules, DesiredPerson, LinkLifecycle, LinkState, RemoteUser};
use super::plan::{
    Adoption, AppPlan, Change, Conflict, ConflictRule, MatchDecision, OpKind, Operation, PendingRef,
};
use super::target::Target;
use crate::mapping::AttrMap;

/// A person's attributes with references to other persons resolved to account ids, and
/// the references still waiting for an account that this cycle creates.
pub(super) struct Resolved {
    pub(super) attrs: Arc<AttrMap>,
    pub(super) pending: Vec<PendingRef>,
}

/// Relinks the account (carrying the person's key) of a person who should have no active
/// account now, recording it as the app has it (no request); a leaver's account that is
/// still active is then deprovisioned as usual, after the relink and under the guards.
pub(super) fn relink_idle(
    plan: &mut AppPlan,
    input: &AppInput<'_>,
    key: &str,
    person: &DesiredPerson,
    u: &RemoteUser,
    tgt: &Target,
) {
    let why = match tgt {
        Target::Deprovision(r) | Target::Keep(r) | Target::Inactive(r) => r.as_str(),
        Target::Active => "active",
    };
    let mut desired = u.attrs.clone();
    desired.insert("externalId".into(), Value::String(key.to_string()));
    let hash = state_digest(&desired, u.active);
    let mut op = Operation::new(OpKind::Rebase, key);
    op.remote_id = Some(u.id.clone());
    op.user_name = Some(u.user_name.clone());
    op.active = Some(u.active);
    op.summary = person.summary.clone();
    op.reason = Some(format!("relink by externalId; {why}"));
    op.hash = Some(hash);
    op.desired = Arc::new(AttrMap::from(desired.clone()));
    plan.operations.push(op);
    if let (Target::Deprovision(reason), true) = (tgt, u.active) {
        let relinked = LinkState {
            remote_id: u.id.clone(),
            user_name: u.user_name.clone(),
            last_pushed: desired,
            hash: hash.to_string(),
            lifecycle: LinkLifecycle::Active,
            deactivated_at: None,
        };
        deprovision(plan, input, key, &relinked, Some(u), reason);
    }
}

/// Deactivates or deletes a leaver's account, per `delete_after_days`; an account the app
/// already shows inactive is only recorded so.
pub(super) fn deprovision(
    plan: &mut AppPlan,
    input: &AppInput<'_>,
    key: &str,
    link: &LinkState,
    remote: Option<&RemoteUser>,
    reason: &str,
) {
    let policy = input.policy;
    let active_now = match remote {
        Some(r) => r.active,
        None => link.lifecycle == LinkLifecycle::Active,
    };
    let mut op = if active_now {
        if policy.delete_after_days == Some(0) {
            Operation::new(OpKind::Delete, key)
        } else {
            let mut o = Operation::new(OpKind::Deactivate, key);
            o.active = Some(false);
            o.hash = Some(state_digest(&link.last_pushed, false));
            o
        }
    } else {
        let due = match (policy.delete_after_days, link.deactivated_at) {
            (Some(days), Some(at)) => input.now >= at + chrono::Duration::days(i64::from(days)),
            (Some(0), None) => true,
            _ => false,
        };
        if !due {
            if link.lifecycle == LinkLifecycle::Active {
                // The app already shows it inactive (resync): record that.
                let mut o = Operation::new(OpKind::Rebase, key);
                o.active = Some(false);
                o.remote_id = Some(link.remote_id.clone());
                o.user_name = Some(link.user_name.clone());
                o.reason = Some(format!("{reason}; already inactive in the app"));
                o.hash = Some(state_digest(&link.last_pushed, false));
                plan.operations.push(o);
            }
            return;
        }
        Operation::new(OpKind::Delete, key)
    };
    op.remote_id = Some(link.remote_id.clone());
    op.user_name = Some(link.user_name.clone());
    op.reason = Some(reason.to_string());
    plan.operations.push(op);
}

/// How a create is planned: the account's activity, what the app's accounts showed, and
/// what `on_unlinked_match` decides.
pub(super) struct CreateHow<'a> {
    /// Whether the account is to be active.
    pub(super) active: bool,
    /// The person's account found among the app's accounts, if any.
    pub(super) existing: Option<Found<'a>>,
    /// The decision for an unstamped match.
    pub(super) on_match: MatchDecision,
    /// Whether the app's accounts were read (no match means no account).
    pub(super) checked: bool,
    /// Whether they were read only to plan creates (apply, not resync): an account
    /// carrying the person's key is then shown and recorded as a link (adoption).
    pub(super) pre_read: bool,
}

/// Creates the person's account, or links the one the app already holds for them.
pub(super) fn create(
    plan: &mut AppPlan,
    input: &AppInput<'_>,
    key: &str,
    person: &DesiredPerson,
    resolved: Resolved,
    how: &CreateHow<'_>,
    tgt: &Target,
) {
    let active = how.active;
    let mut op = Operation::new(OpKind::Create, key);
    op.user_name = person.user_name().map(str::to_string);
    op.active = Some(active);
    op.summary = person.summary.clone();
    op.hash = Some(state_digest(&resolved.attrs, active));
    op.pending_refs = resolved.pending;
    let mut desired = resolved.attrs;
    match how.existing {
        Some(Found::ExternalId(u)) => {
            // Resync: the account exists and carries our key; link it instead of creating.
            op.remote_id = Some(u.id.clone());
            op.reason = Some("relink by externalId".into());
            if how.pre_read {
                op.adopt = Some(Box::new(Adoption {
                    id: u.id.clone(),
                    by: "externalId".into(),
                    decision: MatchDecision::Link,
                }));
            }
            let mut mine = desired.to_map();
            let theirs = in_own_form(&u.attrs, &mine, kept(input, key));
            let d = diff_three_way(None, &mine, &theirs, &input.policy.conflicts);
            push_conflicts(plan, key, op.user_name.as_deref(), &d);
            // What the app owns (app_wins) becomes the base of the new link; a reported
            // conflict keeps HR's value as the base so it stays reported, not pushed.
            apply_rebase(&mut mine, &d);
            op.changes = d.push;
            op.hash = Some(state_digest(&mine, active));
            desired = Arc::new(AttrMap::from(mine));
        }
        Some(Found::Matches(u, by)) => {
            let mut mine = desired.to_map();
            adopt_match(plan, input, &mut op, &mut mine, u, by, how.on_match);
            desired = Arc::new(AttrMap::from(mine));
        }
        None => {
            op.looked_up = how.checked;
            if let Target::Inactive(r) = tgt {
                op.reason = Some(format!("pre-provisioned inactive; {r}"));
            }
        }
    }
    op.desired = desired;
    plan.operations.push(op);
}

/// An unstamped account matches the person: `on_unlinked_match` decides. A link sends
/// the attribute changes listed (always the person's key as `externalId`) and reports what
/// a `report` rule leaves as it is; a skip or a failure sends nothing.
fn adopt_match(
    plan: &mut AppPlan,
    input: &AppInput<'_>,
    op: &mut Operation,
    desired: &mut BTreeMap<String, Value>,
    u: &RemoteUser,
    by: &str,
    decision: MatchDecision,
) {
    op.remote_id = Some(u.id.clone());
    op.adopt = Some(Box::new(Adoption {
        id: u.id.clone(),
        by: by.to_string(),
        decision,
    }));
    op.reason = Some(format!(
        "existing account {} matches by {by}: on_unlinked_match = \"{}\"",
        u.id,
        match decision {
            MatchDecision::Link => "adopt",
            other => other.as_str(),
        }
    ));
    if decision != MatchDecision::Link {
        return;
    }
    let mut d = diff_three_way(None, desired, &u.attrs, &input.policy.conflicts);
    // The HR key is stamped on every adoption, whatever the rules say of other paths.
    d.conflicts.retain(|c| c.0 != "externalId");
    d.rebase.retain(|c| c.path != "externalId");
    if !d.push.iter().any(|c| c.path == "externalId") {
        d.push.push(Change {
            path: "externalId".into(),
            old: u.external_id.clone().map(Value::String),
            new: Some(Value::String(op.key.clone())),
        });
    }
    push_conflicts(plan, &op.key, op.user_name.as_deref(), &d);
    apply_rebase(desired, &d);
    let active = op.active.unwrap_or(true);
    op.changes = d.push;
    op.hash = Some(state_digest(desired, active));
}

/// Brings a linked account in line: reactivates it, pushes what changed, or only records
/// (rebases) what the link should hold; nothing when it already matches.
#[allow(clippy::too_many_arguments)]
pub(super) fn update(
    plan: &mut AppPlan,
    input: &AppInput<'_>,
    key: &str,
    person: &DesiredPerson,
    link: &LinkState,
    remote: Option<&RemoteUser>,
    resolved: Resolved,
    want_active: bool,
) {
    let rules = &input.policy.conflicts;
    let is_active = match remote {
        Some(r) => r.active,
        None => link.lifecycle == LinkLifecycle::Active,
    };
    let ours = resolved.attrs.to_map();
    let d = match remote {
        Some(r) => {
            let theirs = in_own_form(&r.attrs, &ours, kept(input, key));
            diff_three_way(Some(&link.last_pushed), &ours, &theirs, rules)
        }
        None => diff_against_base(&link.last_pushed, &ours, rules),
    };
    let after = recorded_after(ours, link, rules, &d);
    let hash = state_digest(&after, want_active);
    push_conflicts(plan, key, Some(&link.user_name), &d);
    let kind = if want_active && !is_active {
        OpKind::Reactivate
    } else if !d.push.is_empty() || !resolved.pending.is_empty() {
        OpKind::Update
    } else if !hash.is(&link.hash) || is_active != want_active {
        OpKind::Rebase
    } else {
        return;
    };
    let mut op = Operation::new(kind, key);
    op.user_name = person
        .user_name()
        .map(str::to_string)
        .or_else(|| Some(link.user_name.clone()));
    op.remote_id = Some(link.remote_id.clone());
    op.active = Some(want_active);
    op.summary = person.summary.clone();
    op.pending_refs = resolved.pending;
    if kind == OpKind::Reactivate {
        op.reason = Some(reactivation_reason(link, person));
    }
    op.changes = d.push;
    op.hash = Some(hash);
    op.desired = Arc::new(AttrMap::from(after));
    plan.operations.push(op);
}

/// The forms the app returned for the person's values, when any are kept.
fn kept<'i>(input: &AppInput<'i>, key: &str) -> Option<&'i super::form::PersonForms> {
    input.forms.and_then(|f| f.get(key))
}

/// What the link will record as last pushed: HR's values, except that create-only
/// (app_wins) attributes keep their base, and rebased ones follow the app.
fn recorded_after(
    hr: BTreeMap<String, Value>,
    link: &LinkState,
    rules: &ConflictRules,
    d: &AttrDiff,
) -> BTreeMap<String, Value> {
    let mut after = hr;
    if rules.uses(ConflictRule::AppWins) {
        let paths: BTreeSet<String> = after
            .keys()
            .chain(link.last_pushed.keys())
            .cloned()
            .collect();
        for path in paths {
            if rules.for_path(&path) == ConflictRule::AppWins {
                match link.last_pushed.get(&path) {
                    Some(v) => after.insert(path, v.clone()),
                    None => after.remove(&path),
                };
            }
        }
    }
    apply_rebase(&mut after, d);
    after
}

/// Takes the app's value for every attribute the diff rebases.
fn apply_rebase(attrs: &mut BTreeMap<String, Value>, d: &AttrDiff) {
    for rb in &d.rebase {
        match &rb.new {
            Some(v) => attrs.insert(rb.path.clone(), v.clone()),
            None => attrs.remove(&rb.path),
        };
    }
}

/// Why an inactive account is activated again, as the plan reports it.
fn reactivation_reason(link: &LinkState, person: &DesiredPerson) -> String {
    match link.lifecycle {
        // Created inactive ahead of the start date and never deactivated since.
        LinkLifecycle::Inactive if link.deactivated_at.is_none() => match person.start_date {
            Some(d) => format!("starts {d}: pre-provisioned account activated"),
            None => "pre-provisioned account activated".into(),
        },
        LinkLifecycle::Inactive => "rehire or return: same account reactivated".into(),
        _ => "active in HR but inactive in the app".into(),
    }
}

fn push_conflicts(plan: &mut AppPlan, key: &str, user_name: Option<&str>, d: &AttrDiff) {
    for (path, app, hr, rule) in &d.conflicts {
        plan.conflicts.push(Conflict {
            key: key.to_string(),
            user_name: user_name.map(str::to_string),
            path: path.clone(),
            app: app.clone(),
            hr: hr.clone(),
            rule: *rule,
        });
    }
}
