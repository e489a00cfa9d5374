//! A cycle's focus: which apps and persons get every change this cycle. The rest get their
//! deprovisions only, so a leaver's deactivation goes out on the next cycle of any kind (a
//! webhook naming someone else, a faster app's schedule), never held back by a narrower
//! trigger or a slower schedule.

use std::collections::BTreeSet;

use crate::reconcile::{AppPlan, OpKind, Operation};

/// Which apps and persons get every change; the default is everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Focus {
    /// Apps that get every change (None: all).
    pub apps: Option<BTreeSet<String>>,
    /// Persons (HR keys) that get every change (None: all).
    pub keys: Option<BTreeSet<String>>,
}

impl Focus {
    /// True when nothing is left out.
    pub fn is_everything(&self) -> bool {
        self.apps.is_none() && self.keys.is_none()
    }

    /// Drops from an app's plan what is outside the focus, keeping every deprovision.
    pub fn limit(&self, plan: &mut AppPlan) {
        if self.is_everything() {
            return;
        }
        let app_in = self.apps.as_ref().is_none_or(|a| a.contains(&plan.name));
        if !app_in {
            plan.operations.retain(|o| o.op.is_deprovision());
            plan.finish();
            return;
        }
        let Some(keys) = &self.keys else {
            return;
        };
        let mut kept: Vec<Operation> = Vec::with_capacity(plan.operations.len());
        for mut o in std::mem::take(&mut plan.operations) {
            match o.op {
                k if k.is_deprovision() => kept.push(o),
                OpKind::MembershipAdd | OpKind::MembershipRemove => {
                    o.members.retain(|m| keys.contains(m));
                    if !o.members.is_empty() {
                        kept.push(o);
                    }
                }
                OpKind::GroupCreate | OpKind::GroupDelete => kept.push(o),
                _ if keys.contains(&o.key) => kept.push(o),
                _ => {}
            }
        }
        // A group is created only when a focused person joins it this cycle.
        let joined: BTreeSet<String> = kept
            .iter()
            .filter(|o| o.op == OpKind::MembershipAdd)
            .map(|o| o.key.clone())
            .collect();
        kept.retain(|o| match o.op {
            OpKind::GroupCreate => joined.contains(&o.key),
            OpKind::GroupDelete => false,
            _ => true,
        });
        plan.operations = kept;
        plan.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> AppPlan {
        let mut p = AppPlan::new("wiki", "generic");
        p.operations = vec![
            Operation::new(OpKind::Deactivate, "E9"),
            Operation::new(OpKind::Update, "E1"),
            Operation::new(OpKind::Create, "E2"),
            Operation::new(OpKind::GroupCreate, "dept-sales"),
            Operation {
                members: vec!["E2".into(), "E3".into()],
                ..Operation::new(OpKind::MembershipAdd, "dept-sales")
            },
        ];
        p.finish();
        p
    }

    fn set(items: &[&str]) -> Option<BTreeSet<String>> {
        Some(items.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn an_app_outside_the_focus_gets_its_deprovisions_only() {
        let mut p = plan();
        Focus {
            apps: set(&["crm"]),
            keys: None,
        }
        .limit(&mut p);
        let ops: Vec<_> = p
            .operations
            .iter()
            .map(|o| (o.op, o.key.as_str()))
            .collect();
        assert_eq!(ops, vec![(OpKind::Deactivate, "E9")]);
        assert_eq!(p.summary.deactivate, 1);
        assert_eq!(p.summary.update, 0);
    }

    #[test]
    fn named_persons_get_everything_and_everyone_keeps_deprovisions() {
        let mut p = plan();
        Focus {
            apps: None,
            keys: set(&["E2"]),
        }
        .limit(&mut p);
        let ops: Vec<_> = p
            .operations
            .iter()
            .map(|o| (o.op, o.key.as_str()))
            .collect();
        assert_eq!(
            ops,
            vec![
                (OpKind::Deactivate, "E9"),
                (OpKind::Create, "E2"),
                (OpKind::GroupCreate, "dept-sales"),
                (OpKind::MembershipAdd, "dept-sales"),
            ]
        );
        assert_eq!(p.operations[3].members, vec!["E2".to_string()]);
    }
}
