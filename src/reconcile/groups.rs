//! Group planning: one managed group per distinct templated name; members follow HR.
//! Only groups hrsync manages are ever touched.

use std::collections::{BTreeMap, BTreeSet};

use super::input::{AppInput, GroupState, LinkLifecycle};
use super::plan::{AppPlan, OpKind, Operation};
use super::target::Target;

/// Adds group creation and membership operations to an app's plan.
pub fn plan_groups(plan: &mut AppPlan, input: &AppInput<'_>, targets: &BTreeMap<&str, Target>) {
    let quarantined: BTreeSet<&str> = plan.quarantined.iter().map(|q| q.key.as_str()).collect();
    let mut desired: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (key, p) in input.persons {
        if quarantined.contains(key.as_str()) || p.mapping_error.is_some() || p.frozen.is_some() {
            // Set aside this cycle (frozen HR record, userName collision, failed mapping):
            // nothing is pushed for them, memberships included; they stay as they are.
            for (name, g) in input.groups {
                if g.members.contains(key) {
                    desired.entry(name.clone()).or_default().insert(key.clone());
                }
            }
            continue;
        }
        let keep = match targets.get(key.as_str()) {
            Some(Target::Active) => true,
            // Absent within grace: memberships stay as they are.
            Some(Target::Keep(_)) => input
                .links
                .get(key)
                .is_some_and(|l| l.lifecycle == LinkLifecycle::Active),
            _ => false,
        };
        if !keep {
            continue;
        }
        let user_name = match p.attrs.get("userName") {
            Some(crate::mapping::Mapped::Value(serde_json::Value::String(u))) => Some(u.as_str()),
            _ => None,
        };
        if input.policy.is_exempt(key, user_name) {
            continue;
        }
        let groups: BTreeSet<String> = if matches!(targets.get(key.as_str()), Some(Target::Keep(_)))
        {
            input
                .groups
                .iter()
                .filter(|(_, g)| g.members.contains(key))
                .map(|(n, _)| n.clone())
                .collect()
        } else {
            p.groups.clone()
        };
        for g in groups {
            desired.entry(g).or_default().insert(key.clone());
        }
    }
    let empty = GroupState::default();
    let names: BTreeSet<String> = desired.keys().chain(input.groups.keys()).cloned().collect();
    for name in names {
        let want = desired.get(&name).cloned().unwrap_or_default();
        let have = input.groups.get(&name).unwrap_or(&empty);
        let name = name.as_str();
        if have.remote_id.is_none() && !want.is_empty() {
            plan.operations
                .push(Operation::new(OpKind::GroupCreate, name));
        }
        let add: Vec<String> = want.difference(&have.members).cloned().collect();
        let remove: Vec<String> = have.members.difference(&want).cloned().collect();
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
}
