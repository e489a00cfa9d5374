//! Property tests with people editing the app by hand between cycles: after a resync every
//! app holds the desired state under the conflict rules, plans converge, nobody has two
//! accounts, and accounts hrsync does not manage are never touched.

use std::collections::BTreeMap;

use hrsync_connectors::source::Lifecycle;
use proptest::prelude::*;
use serde_json::Value;

use super::model::{day, person, policy, Account, World};
use crate::reconcile::input::DesiredPerson;
use crate::reconcile::plan::{ConflictRule, OpKind};

const KEYS: &[&str] = &["E1", "E2", "E3", "E4", "E5", "E6"];

#[derive(Debug, Clone)]
enum Edit {
    Title(usize),
    Disable(usize),
    Vanish(usize),
    Orphan,
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (0usize..KEYS.len()).prop_map(Edit::Title),
        (0usize..KEYS.len()).prop_map(Edit::Disable),
        (0usize..KEYS.len()).prop_map(Edit::Vanish),
        Just(Edit::Orphan),
    ]
}

fn rule() -> impl Strategy<Value = ConflictRule> {
    prop_oneof![
        Just(ConflictRule::HrWins),
        Just(ConflictRule::AppWins),
        Just(ConflictRule::Report)
    ]
}

fn apply_edit(w: &mut World, e: &Edit, n: usize) {
    let id_of = |w: &World, i: usize| {
        w.links
            .get(KEYS[i])
            .map(|l| l.remote_id.clone())
            .filter(|id| w.accounts.contains_key(id))
    };
    match e {
        Edit::Title(i) => {
            if let Some(id) = id_of(w, *i) {
                if let Some(a) = w.accounts.get_mut(&id) {
                    a.attrs
                        .insert("title".into(), Value::String(format!("Hand Edit {n}")));
                }
            }
        }
        Edit::Disable(i) => {
            if let Some(id) = id_of(w, *i) {
                if let Some(a) = w.accounts.get_mut(&id) {
                    a.active = false;
                }
            }
        }
        Edit::Vanish(i) => {
            if let Some(id) = id_of(w, *i) {
                w.accounts.remove(&id);
            }
        }
        Edit::Orphan => {
            w.accounts.insert(
                format!("orphan{n}"),
                Account {
                    external_id: None,
                    user_name: format!("orphan{n}@corp.example"),
                    active: true,
                    attrs: BTreeMap::new(),
                },
            );
        }
    }
}

fn persons(titles: &[usize], terminated: &[bool]) -> BTreeMap<String, DesiredPerson> {
    let t = ["Engineer", "Manager"];
    KEYS.iter()
        .enumerate()
        .map(|(i, k)| {
            let status = if terminated[i] {
                Lifecycle::Terminated
            } else {
                Lifecycle::Active
            };
            (
                k.to_string(),
                person(k, status, t[titles[i]], true, None, None, None, 0),
            )
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, .. ProptestConfig::default() })]

    #[test]
    fn resync_converges_under_every_rule_and_never_touches_orphans(
        title_rule in rule(),
        rounds in prop::collection::vec(
            (prop::collection::vec(0usize..2, KEYS.len()),
             prop::collection::vec(prop::bool::weighted(0.15), KEYS.len()),
             prop::collection::vec(edit(), 0..4)),
            1..5),
    ) {
        let mut pol = policy();
        pol.conflicts.per_path.insert("title".into(), title_rule);
        let mut w = World::default();
        for (n, (titles, terminated, edits)) in rounds.iter().enumerate() {
            let now = day(n as u32);
            let ps = persons(titles, terminated);
            let plan = w.plan_with(&ps, now, &pol, false);
            w.apply(&plan, now);
            for e in edits {
                apply_edit(&mut w, e, n);
            }
            let orphans_before: BTreeMap<String, Account> = w
                .accounts
                .iter()
                .filter(|(_, a)| a.external_id.is_none())
                .map(|(k, a)| (k.clone(), a.clone()))
                .collect();
            let resync = w.plan_with(&ps, now, &pol, true);
            for op in &resync.operations {
                prop_assert!(
                    !op.key.starts_with("orphan"),
                    "an unmanaged account was touched: {:?}", op
                );
            }
            let creates = resync.operations.iter().filter(|o| o.op == OpKind::Create).count();
            let keys: std::collections::BTreeSet<&String> = resync
                .operations
                .iter()
                .filter(|o| o.op == OpKind::Create)
                .map(|o| &o.key)
                .collect();
            prop_assert_eq!(creates, keys.len(), "two creates for one person");
            w.apply(&resync, now);
            for (id, a) in &orphans_before {
                prop_assert_eq!(w.accounts.get(id), Some(a), "orphan changed");
            }
            for key in KEYS {
                let n = w.accounts.values().filter(|a| a.external_id.as_deref() == Some(*key)).count();
                prop_assert!(n <= 1, "{} has {} accounts", key, n);
            }
            let again = w.plan_with(&ps, now, &pol, true);
            prop_assert!(again.operations.is_empty(), "resync did not converge: {:#?}", again.operations);
            let quiet = w.plan_with(&ps, now, &pol, false);
            prop_assert!(quiet.operations.is_empty(), "plan after resync not empty: {:#?}", quiet.operations);
            // The app holds the desired state under the rules.
            for (i, key) in KEYS.iter().enumerate() {
                let Some(l) = w.links.get(*key) else { continue };
                let Some(a) = w.accounts.get(&l.remote_id) else { continue };
                prop_assert_eq!(a.active, !terminated[i], "{} active state", key);
                if title_rule == ConflictRule::HrWins && !terminated[i] {
                    let want = ["Engineer", "Manager"][titles[i]];
                    prop_assert_eq!(a.attrs.get("title").and_then(Value::as_str), Some(want), "{}", key);
                }
            }
        }
    }
}
