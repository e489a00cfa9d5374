//! Property tests: over random HR histories, applying a plan and planning again yields
//! nothing; no plan creates twice for one person; nobody ever has two accounts; exempt
//! accounts are never touched; absence shorter than the grace never deprovisions; a person
//! whose key turns up twice (records set aside) is frozen: nothing is planned for them and
//! their account stays exactly as it was; a plan that stops at its first create of a new
//! account stops only when the plan has one, and is otherwise the same plan.

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate};
use hrsync_connectors::source::Lifecycle;
use proptest::prelude::*;

use super::model::{day, frozen, person, World};
use crate::reconcile::input::DesiredPerson;
use crate::reconcile::plan::OpKind;

const KEYS: &[&str] = &[
    "E1",
    "E2",
    "E3",
    "E4",
    "E5",
    "E6",
    "E7",
    "E8",
    "E9",
    "BREAKGLASS",
];

#[derive(Debug, Clone)]
struct Rec {
    present: bool,
    status: Lifecycle,
    title: usize,
    in_scope: bool,
    start: Option<i64>,
    end: Option<i64>,
    manager: Option<usize>,
    /// The key turns up twice in the source: every record with it is set aside.
    duplicated: bool,
}

fn rec() -> impl Strategy<Value = Rec> {
    (
        prop::bool::weighted(0.85),
        prop_oneof![
            6 => Just(Lifecycle::Active),
            1 => Just(Lifecycle::Leave),
            2 => Just(Lifecycle::Terminated)
        ],
        0usize..3,
        prop::bool::weighted(0.85),
        prop::option::weighted(0.3, -6i64..8),
        prop::option::weighted(0.2, -4i64..6),
        prop::option::weighted(0.4, 0usize..KEYS.len()),
        prop::bool::weighted(0.12),
    )
        .prop_map(
            |(present, status, title, in_scope, start, end, manager, duplicated)| Rec {
                present,
                status,
                title,
                in_scope,
                start,
                end,
                manager,
                duplicated,
            },
        )
}

fn offset(base: NaiveDate, d: i64) -> NaiveDate {
    if d >= 0 {
        base.checked_add_days(Days::new(d as u64)).unwrap_or(base)
    } else {
        base.checked_sub_days(Days::new(d.unsigned_abs()))
            .unwrap_or(base)
    }
}

fn history() -> impl Strategy<Value = Vec<(u32, Vec<Rec>)>> {
    prop::collection::vec((0u32..5, prop::collection::vec(rec(), KEYS.len())), 1..7)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn plans_converge_and_never_duplicate(history in history()) {
        let mut world = World::default();
        let mut today = 0u32;
        let mut last_seen: BTreeMap<String, DesiredPerson> = BTreeMap::new();
        let titles = ["Engineer", "Senior Engineer", ""];
        for (advance, recs) in history {
            today += advance;
            let now = day(today);
            let date = now.date_naive();
            let mut persons = BTreeMap::new();
            let mut frozen_keys = std::collections::BTreeSet::new();
            for (i, r) in recs.iter().enumerate() {
                let key = KEYS[i];
                if r.duplicated {
                    // In the source but unreadable: seen (absence reset), last record kept.
                    if let Some(prev) = last_seen.get_mut(key) {
                        prev.absent_cycles = 0;
                    }
                    persons.insert(key.to_string(), frozen(last_seen.get(key), key));
                    frozen_keys.insert(key);
                } else if r.present {
                    let p = person(
                        key,
                        r.status,
                        titles[r.title],
                        r.in_scope,
                        r.start.map(|d| offset(date, d)),
                        r.end.map(|d| offset(date, d)),
                        r.manager.map(|m| KEYS[m]).filter(|m| *m != key),
                        0,
                    );
                    last_seen.insert(key.to_string(), p.clone());
                    persons.insert(key.to_string(), p);
                } else if let Some(prev) = last_seen.get_mut(key) {
                    // Absent from a complete read: counted, not terminated.
                    prev.absent_cycles += 1;
                    persons.insert(key.to_string(), prev.clone());
                }
            }
            let plan = world.plan(&persons, now);
            // Stopping at the first create of a new account: only when the plan has one,
            // and otherwise the very same plan.
            let creates_any = plan.operations.iter().any(|o| o.creates_account());
            match world.plan_unless_creating(&persons, now) {
                Some(probed) => prop_assert!(!creates_any && probed == plan, "{:#?}", probed),
                None => prop_assert!(creates_any, "stopped without a create"),
            }
            let frozen_before: BTreeMap<&str, _> = frozen_keys
                .iter()
                .filter_map(|k| world.links.get(*k).map(|l| (*k, world.accounts.get(&l.remote_id).cloned())))
                .collect();
            let mut creates = BTreeMap::new();
            for op in &plan.operations {
                prop_assert_ne!(op.key.as_str(), "BREAKGLASS", "exempt account touched: {:?}", op);
                prop_assert!(
                    !frozen_keys.contains(op.key.as_str()),
                    "a person whose records were set aside got {:?}", op
                );
                if op.op == OpKind::Create {
                    *creates.entry(op.key.clone()).or_insert(0) += 1;
                }
                if op.op.is_deprovision() {
                    let p = &persons[&op.key];
                    prop_assert!(
                        p.absent_cycles == 0 || p.absent_cycles >= 3,
                        "deprovisioned after only {} absent reads", p.absent_cycles
                    );
                }
            }
            prop_assert!(creates.values().all(|n| *n == 1), "two creates: {:?}", creates);
            world.apply(&plan, now);
            for (k, acct) in &frozen_before {
                let now_acct = world.links.get(*k).and_then(|l| world.accounts.get(&l.remote_id));
                prop_assert_eq!(now_acct, acct.as_ref(), "frozen {}'s account changed", k);
            }
            for key in KEYS {
                let n = world
                    .accounts
                    .values()
                    .filter(|a| a.external_id.as_deref() == Some(*key))
                    .count();
                prop_assert!(n <= 1, "{} has {} accounts", key, n);
            }
            let again = world.plan(&persons, now);
            prop_assert!(again.operations.is_empty(), "not converged: {:#?}", again.operations);
        }
    }
}
