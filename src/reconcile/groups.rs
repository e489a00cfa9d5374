//! Group planning: one managed group per distinct templated name; members follow HR.
//! Only groups hrsync manages are ever touched.

use std::collections::{BTreeMap, BTreeSet};

use super::input::{AppInput, DesiredPerson, GroupState, LinkLifecycle};
use super::plan::{AppPlan, OpKind, Operation};
use super::target::{Target, Targets};

/// Adds group creation and membership operations to an app's plan.
pub fn plan_groups(plan: &mut AppPlan, input: &AppInput<'_>, targets: &Targets<'_>) {
    let desired = desired_members(plan, input, targets);
    let empty = GroupState::default();
    let names: BTreeSet<String> = desired.keys().chain(input.groups.keys()).cloned().collect();
    for name in names {
        let want = desired.get(&name).cloned().unwrap_or_default();
        let have = input.groups.get(&name).unwrap_or(&empty);
        plan_group(plan, input, &name, &want, have);
    }
}

/// The members each group should have, by group name.
fn desired_members(
    plan: &AppPlan,
    input: &AppInput<'_>,
    targets: &Targets<'_>,
) -> BTreeMap<String, BTreeSet<String>> {
    let quarantined: BTreeSet<&str> = plan.quarantined.iter().map(|q| q.key.as_str()).collect();
    let mut desired: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (key, p) in input.persons {
        let groups = if quarantined.contains(key.as_str())
            || p.mapping_error.is_some()
            || p.frozen.is_some()
        {
            // Set aside this cycle (frozen HR record, userName collision, failed mapping):
            // nothing is pushed for them, memberships included; they stay as they are.
            current_groups(input, key)
        } else {
            match groups_of(input, key, p, targets.of(key)) {
                Some(groups) => groups,
                None => continue,
            }
        };
        for g in groups {
            desired.entry(g).or_default().insert(key.clone());
        }
    }
    // A person left out as settled was last planned into exactly the groups they are in.
    if let Some(settled) = input.settled {
        for (name, g) in input.groups {
            for m in g.members.iter().filter(|m| settled.contains(*m)) {
                desired.entry(name.clone()).or_default().insert(m.clone());
            }
        }
    }
    desired
}

/// The groups a person who is not set aside should be in; `None` for a person whose
/// memberships hrsync does not decide (not active, or exempt).
fn groups_of(
    input: &AppInput<'_>,
    key: &str,
    p: &DesiredPerson,
    target: &Target,
) -> Option<BTreeSet<String>> {
    let keep = match target {
        Target::Active => true,
        // Absent within grace: memberships stay as they are.
        Target::Keep(_) => input
            .links
            .get(key)
            .is_some_and(|l| l.lifecycle == LinkLifecycle::Active),
        _ => false,
    };
    if !keep || input.policy.is_exempt(key, p.user_name()) {
        return None;
    }
    Some(if matches!(target, Target::Keep(_)) {
        current_groups(input, key)
    } else {
        p.groups.clone()
    })
}

/// The managed groups the person is a member of now.
fn current_groups(input: &AppInput<'_>, key: &str) -> BTreeSet<String> {
    input
        .groups
        .iter()
        .filter(|(_, g)| g.members.contains(key))
        .map(|(n, _)| n.clone())
        .collect()
}

/// The operations that take one group from the members it has to the ones it should
/// have: create it, add, remove, and delete it once empty when the policy says so.
fn plan_group(
    plan: &mut AppPlan,
    input: &AppInput<'_>,
    name: &str,
    want: &BTreeSet<String>,
    have: &GroupState,
) {
    if have.remote_id.is_none() && !want.is_empty() {
        plan.operations
            .push(Operation::new(OpKind::GroupCreate, name));
    }
    let add: Vec<String> = want.difference(&have.members).cloned().collect();
    let remove: Vec<String> = have.members.difference(want).cloned().collect();
    if !add.is_empty() {
        let mut op = Operation::new(OpKind::MembershipAdd, name);
        op.remote_id = have.remote_id.clone();
        op.members = add;
        plan.operations.push(op);
    }
    if !remove.is_empty() && have.remote_id.is_some() {
        let mut op = Operation::new(OpKind::MembershipRemove, name);
        op.remote_id = have.remote_id.clone();
        op.members = remove;
        plan.operations.push(op);
    }
    if want.is_empty() && have.remote_id.is_some() && input.policy.delete_empty_groups {
        let mut op = Operation::new(OpKind::GroupDelete, name);
        op.remote_id = have.remote_id.clone();
        op.reason = Some("no members left".into());
        plan.operations.push(op);
    }
}
