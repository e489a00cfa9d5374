//! The per-app planner: persons + links (+ the app's accounts) → operations, conflicts,
//! quarantined persons, orphans. Pure and deterministic.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::accounts::{Accounts, Found};
use super::diff::{diff_against_base, diff_three_way, union_keys, AttrDiff};
use super::groups::plan_groups;
use super::input::{AppInput, DesiredPerson, LinkLifecycle, LinkState, RemoteUser};
use super::plan::{AppPlan, AppQuarantine, Conflict, OpKind, Operation, PendingRef};
use super::target::{target, Target};
use crate::mapping::Mapped;

/// Hash of an account's desired state, stored with the link to skip unchanged persons.
pub fn state_hash(attrs: &BTreeMap<String, Value>, active: bool) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    // BTreeMap serializes in key order, so equal states hash equally.
    h.update(serde_json::to_vec(attrs).unwrap_or_default());
    h.update(if active { b"1" } else { b"0" });
    hex::encode(&h.finalize()[..16])
}

struct Resolved {
    attrs: BTreeMap<String, Value>,
    pending: Vec<PendingRef>,
}

/// Plans one app.
pub fn plan_app(input: &AppInput<'_>) -> AppPlan {
    let policy = input.policy;
    let mut plan = AppPlan::new(&policy.name, &policy.profile);
    plan.remote_read = input.remote.is_some();
    let today = input.now.date_naive();

    let targets: BTreeMap<&str, Target> = input
        .persons
        .iter()
        .map(|(k, p)| (k.as_str(), target(p, policy, today)))
        .collect();
    let blocked = user_name_collisions(input, &targets, &mut plan);
    let will_have_account = |key: &str| -> bool {
        let linked = input
            .links
            .get(key)
            .is_some_and(|l| l.lifecycle != LinkLifecycle::Deleted);
        let creatable = input.persons.get(key).is_some_and(|p| {
            p.mapping_error.is_none()
                && p.frozen.is_none()
                && !blocked.contains(key)
                && !policy.is_exempt(key, user_name_of(p))
        }) && matches!(
            targets.get(key),
            Some(Target::Active) | Some(Target::Inactive(_))
        );
        linked || creatable
    };
    let mut accounts = Accounts::new(input.remote, input.links);

    for key in union_keys(input.persons, input.links) {
        let person = input.persons.get(key);
        let link = input
            .links
            .get(key)
            .filter(|l| l.lifecycle != LinkLifecycle::Deleted);
        if policy.is_exempt(key, person.and_then(user_name_of))
            || link.is_some_and(|l| policy.is_exempt(key, Some(&l.user_name)))
        {
            continue;
        }
        let Some(person) = person else {
            // Linked but unknown to every source and not in the snapshot: nothing to decide
            // on (absence is counted through the snapshot, never guessed here).
            continue;
        };
        let remote = match (input.remote, link) {
            (Some(r), Some(l)) => r.get(&l.remote_id),
            _ => None,
        };
        let vanished = input.remote.is_some() && link.is_some() && remote.is_none();
        let unlinked = link.is_none() || vanished;
        let deleted = link.is_none() && input.links.contains_key(key);
        let set_aside = person.frozen.is_some()
            || person.mapping_error.is_some()
            || blocked.contains(key.as_str());
        if set_aside {
            // Nothing is pushed for them this cycle, but their account is still theirs:
            // never an orphan, whatever the orphans policy says.
            if let Some(found) = accounts.find(key, person).filter(|_| unlinked) {
                accounts.claim(&found.account().id);
            }
            if let Some(why) = &person.frozen {
                plan.quarantined.push(AppQuarantine {
                    key: key.clone(),
                    reason: format!(
                        "HR record set aside at the source ({why}); the account is left as it is"
                    ),
                });
            } else if let Some(err) = &person.mapping_error {
                plan.quarantined.push(AppQuarantine {
                    key: key.clone(),
                    reason: err.clone(),
                });
            }
            continue;
        }
        let tgt = targets.get(key.as_str()).cloned().unwrap_or(Target::Active);
        let resolved = resolve(person, input, &will_have_account);
        if vanished {
            plan.vanished.push(key.clone());
        }
        match (&tgt, link) {
            (Target::Active | Target::Inactive(_), _) if unlinked => {
                let active = matches!(tgt, Target::Active);
                let found = accounts.find(key, person);
                if let Some(f) = found {
                    accounts.claim(&f.account().id);
                }
                create(&mut plan, input, key, person, resolved, active, found, &tgt);
            }
            (Target::Active | Target::Inactive(_), None) => {}
            (Target::Active | Target::Inactive(_), Some(l)) => {
                let want_active = match tgt {
                    Target::Active => true,
                    // An account already active stays so; pre-provisioned ones stay inactive.
                    _ => l.lifecycle == LinkLifecycle::Active,
                };
                update(
                    &mut plan,
                    input,
                    key,
                    person,
                    l,
                    remote,
                    resolved,
                    want_active,
                );
            }
            (Target::Deprovision(reason), Some(l)) if !vanished => {
                deprovision(&mut plan, input, key, l, remote, reason);
            }
            // An account hrsync deleted stays so: where the app's DELETE only deactivates,
            // relinking it would delete it again every cycle.
            (Target::Deprovision(_) | Target::Keep(_), _) if unlinked && !deleted => {
                // Resync after a lost state: the accounts of leavers, persons out of scope
                // and persons not yet due are theirs too.
                match accounts.find(key, person) {
                    Some(Found::ExternalId(u)) => {
                        accounts.claim(&u.id);
                        relink_idle(&mut plan, input, key, person, u, &tgt);
                    }
                    // No create is planned that would adopt it; it is theirs once one is.
                    Some(Found::Matches(u, _)) if matches!(tgt, Target::Keep(_)) => {
                        accounts.claim(&u.id)
                    }
                    // hrsync never stamped it, so it never offboards it as the person's
                    // (ownership); the orphans policy applies.
                    Some(Found::Matches(..)) | None => {}
                }
            }
            (Target::Deprovision(_) | Target::Keep(_), _) => {}
        }
    }

    accounts.orphans(&mut plan, input);
    if input.manages_groups {
        plan_groups(&mut plan, input, &targets);
    }
    plan.finish();
    plan
}

/// Relinks the account (carrying the person's key) of a person who should have no active
/// account now, recording it as the app has it (no request); a leaver's account that is
/// still active is then deprovisioned as usual, after the relink and under the guards.
fn relink_idle(
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
    let hash = state_hash(&desired, u.active);
    let mut op = Operation::new(OpKind::Rebase, key);
    op.remote_id = Some(u.id.clone());
    op.user_name = Some(u.user_name.clone());
    op.active = Some(u.active);
    op.summary = person.summary.clone();
    op.reason = Some(format!("relink by externalId; {why}"));
    op.hash = Some(hash.clone());
    op.desired = desired.clone();
    plan.operations.push(op);
    if let (Target::Deprovision(reason), true) = (tgt, u.active) {
        let relinked = LinkState {
            remote_id: u.id.clone(),
            user_name: u.user_name.clone(),
            last_pushed: desired,
            hash,
            lifecycle: LinkLifecycle::Active,
            deactivated_at: None,
        };
        deprovision(plan, input, key, &relinked, Some(u), reason);
    }
}

fn desired_user_name(p: &DesiredPerson) -> Option<String> {
    user_name_of(p).map(str::to_string)
}

/// The person's mapped userName, borrowed (asked for every person, twice).
fn user_name_of(p: &DesiredPerson) -> Option<&str> {
    match p.attrs.get("userName") {
        Some(Mapped::Value(Value::String(s))) => Some(s),
        _ => None,
    }
}

/// Two persons who would own the same userName are both set aside (never pushed).
fn user_name_collisions(
    input: &AppInput<'_>,
    targets: &BTreeMap<&str, Target>,
    plan: &mut AppPlan,
) -> BTreeSet<String> {
    let mut by_name: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for (key, p) in input.persons {
        if !matches!(
            targets.get(key.as_str()),
            Some(Target::Active | Target::Inactive(_))
        ) {
            continue;
        }
        match user_name_of(p) {
            Some(u) => by_name.entry(u.to_lowercase()).or_default().push(key),
            None if p.mapping_error.is_none() && p.frozen.is_none() => {
                plan.quarantined.push(AppQuarantine {
                    key: key.clone(),
                    reason: "userName template rendered empty".into(),
                })
            }
            None => {}
        }
    }
    let mut blocked: BTreeSet<String> = plan.quarantined.iter().map(|q| q.key.clone()).collect();
    for (name, keys) in by_name {
        if keys.len() < 2 {
            continue;
        }
        for k in &keys {
            if input.persons.get(*k).is_some_and(|p| p.frozen.is_some()) {
                // Frozen: still holds its userName (the other person is blocked), and is
                // reported as frozen rather than twice.
                continue;
            }
            let others: Vec<&str> = keys.iter().copied().filter(|o| o != k).collect();
            plan.quarantined.push(AppQuarantine {
                key: (*k).to_string(),
                reason: format!(
                    "userName {name:?} is also mapped from {}",
                    others.join(", ")
                ),
            });
            blocked.insert((*k).to_string());
        }
    }
    blocked
}

fn resolve(
    person: &DesiredPerson,
    input: &AppInput<'_>,
    will_have_account: &dyn Fn(&str) -> bool,
) -> Resolved {
    let mut attrs = BTreeMap::new();
    let mut pending = Vec::new();
    for (path, m) in &person.attrs {
        match m {
            Mapped::Value(v) => {
                attrs.insert(path.clone(), v.clone());
            }
            Mapped::PersonRef(target_key) => {
                let linked = input
                    .links
                    .get(target_key)
                    .filter(|l| l.lifecycle != LinkLifecycle::Deleted);
                match linked {
                    Some(l) => {
                        attrs.insert(path.clone(), Value::String(l.remote_id.clone()));
                    }
                    None if will_have_account(target_key) => pending.push(PendingRef {
                        path: path.clone(),
                        key: target_key.clone(),
                    }),
                    None => {}
                }
            }
        }
    }
    attrs.insert("externalId".into(), Value::String(person.key.clone()));
    Resolved { attrs, pending }
}

fn deprovision(
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
            o.hash = Some(state_hash(&link.last_pushed, false));
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
                o.hash = Some(state_hash(&link.last_pushed, false));
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

#[allow(clippy::too_many_arguments)]
fn create(
    plan: &mut AppPlan,
    input: &AppInput<'_>,
    key: &str,
    person: &DesiredPerson,
    resolved: Resolved,
    active: bool,
    existing: Option<Found<'_>>,
    tgt: &Target,
) {
    let mut op = Operation::new(OpKind::Create, key);
    op.user_name = desired_user_name(person);
    op.active = Some(active);
    op.summary = person.summary.clone();
    op.hash = Some(state_hash(&resolved.attrs, active));
    op.pending_refs = resolved.pending;
    let mut desired = resolved.attrs;
    match existing {
        Some(Found::ExternalId(u)) => {
            // Resync: the account exists and carries our key; link it instead of creating.
            op.remote_id = Some(u.id.clone());
            op.reason = Some("relink by externalId".into());
            let d = diff_three_way(None, &desired, &u.attrs, &input.policy.conflicts);
            push_conflicts(plan, key, op.user_name.as_deref(), &d);
            // What the app owns (app_wins) becomes the base of the new link; a reported
            // conflict keeps HR's value as the base so it stays reported, not pushed.
            for rb in &d.rebase {
                match &rb.new {
                    Some(v) => desired.insert(rb.path.clone(), v.clone()),
                    None => desired.remove(&rb.path),
                };
            }
            op.changes = d.push;
            op.hash = Some(state_hash(&desired, active));
        }
        Some(Found::Matches(u, by)) => {
            // The create's lookup finds this account first; `on_unlinked_match` decides
            // whether it is adopted. Either way it is the person's, never an orphan.
            op.reason = Some(format!(
                "existing account {} matches by {by}: linked per on_unlinked_match",
                u.id
            ));
        }
        None => {
            if let Target::Inactive(r) = tgt {
                op.reason = Some(format!("pre-provisioned inactive; {r}"));
            }
        }
    }
    op.desired = desired;
    plan.operations.push(op);
}

#[allow(clippy::too_many_arguments)]
fn update(
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
    let d = match remote {
        Some(r) => diff_three_way(Some(&link.last_pushed), &resolved.attrs, &r.attrs, rules),
        None => diff_against_base(&link.last_pushed, &resolved.attrs, rules),
    };
    // What the link will record as last pushed: HR's values, except that create-only
    // (app_wins) attributes keep their base, and rebased ones follow the app.
    let mut after = resolved.attrs;
    if rules.uses(super::plan::ConflictRule::AppWins) {
        let paths: BTreeSet<String> = after
            .keys()
            .chain(link.last_pushed.keys())
            .cloned()
            .collect();
        for path in paths {
            if rules.for_path(&path) == super::plan::ConflictRule::AppWins {
                match link.last_pushed.get(&path) {
                    Some(v) => after.insert(path, v.clone()),
                    None => after.remove(&path),
                };
            }
        }
    }
    for rb in &d.rebase {
        match &rb.new {
            Some(v) => after.insert(rb.path.clone(), v.clone()),
            None => after.remove(&rb.path),
        };
    }
    let hash = state_hash(&after, want_active);
    let kind = if want_active && !is_active {
        OpKind::Reactivate
    } else if !d.push.is_empty() || !resolved.pending.is_empty() {
        OpKind::Update
    } else if hash != link.hash || is_active != want_active {
        OpKind::Rebase
    } else {
        push_conflicts(plan, key, Some(&link.user_name), &d);
        return;
    };
    push_conflicts(plan, key, Some(&link.user_name), &d);
    let mut op = Operation::new(kind, key);
    op.user_name = desired_user_name(person).or_else(|| Some(link.user_name.clone()));
    op.remote_id = Some(link.remote_id.clone());
    op.active = Some(want_active);
    op.summary = person.summary.clone();
    op.pending_refs = resolved.pending;
    if kind == OpKind::Reactivate {
        op.reason = Some(match link.lifecycle {
            // Created inactive ahead of the start date and never deactivated since.
            LinkLifecycle::Inactive if link.deactivated_at.is_none() => match person.start_date {
                Some(d) => format!("starts {d}: pre-provisioned account activated"),
                None => "pre-provisioned account activated".into(),
            },
            LinkLifecycle::Inactive => "rehire or return: same account reactivated".into(),
            _ => "active in HR but inactive in the app".into(),
        });
    }
    op.changes = d.push;
    op.hash = Some(hash);
    op.desired = after;
    plan.operations.push(op);
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
