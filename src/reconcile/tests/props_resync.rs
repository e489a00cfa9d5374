//! Property tests with people editing the app by hand between cycles, and the state
//! sometimes lost: after a resync every app holds the desired state under the conflict
//! rules, plans converge, nobody has two accounts, every account carrying a person's key is
//! linked to them again (no create, no deprovision of anyone who should be active), and
//! accounts hrsync does not manage are never touched.

use std::collections::BTreeMap;

use chrono::Days;
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
    /// The state file is lost: every link is gone.
    LoseState,
}

/// What HR says of a person in a round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum St {
    Active,
    Terminated,
    /// Starts in 20 days, beyond `pre_provision_days`: no decision yet.
    NotYetDue,
}

fn st() -> impl Strategy<Value = St> {
    prop_oneof![
        12 => Just(St::Active),
        2 => Just(St::Terminated),
        1 => Just(St::NotYetDue)
    ]
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (0usize..KEYS.len()).prop_map(Edit::Title),
        (0usize..KEYS.len()).prop_map(Edit::Disable),
        (0usize..KEYS.len()).prop_map(Edit::Vanish),
        Just(Edit::Orphan),
        Just(Edit::LoseState),
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
        Edit::LoseState => w.links.clear(),
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

fn persons(
    titles: &[usize],
    states: &[St],
    now: chrono::DateTime<chrono::Utc>,
) -> BTreeMap<String, DesiredPerson> {
    let t = ["Engineer", "Manager"];
    let later = now.date_naive().checked_add_days(Days::new(20));
    KEYS.iter()
        .enumerate()
        .map(|(i, k)| {
            let (status, start) = match states[i] {
                St::Active => (Lifecycle::Active, None),
                St::Terminated => (Lifecycle::Terminated, None),
                St::NotYetDue => (Lifecycle::Active, later),
            };
            (
                k.to_string(),
                person(k, status, t[titles[i]], true, start, None, None, 0),
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
             prop::collection::vec(st(), KEYS.len()),
             prop::collection::vec(edit(), 0..4)),
            1..5),
    ) {
        let mut pol = policy();
        pol.conflicts.per_path.insert("title".into(), title_rule);
        let mut w = World::default();
        for (n, (titles, states, edits)) in rounds.iter().enumerate() {
            let now = day(n as u32);
            let ps = persons(titles, states, now);
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
            // Every account that carries a person's key, whatever HR says of them now.
            let stamped: BTreeMap<String, String> = w
                .accounts
                .iter()
                .filter_map(|(id, a)| a.external_id.clone().map(|k| (k, id.clone())))
                .collect();
            let resync = w.plan_with(&ps, now, &pol, true);
            for op in &resync.operations {
                prop_assert!(
                    !op.key.starts_with("orphan"),
                    "an unmanaged account was touched: {:?}", op
                );
                let i = KEYS.iter().position(|k| *k == op.key);
                if op.op.is_deprovision() {
                    prop_assert!(
                        i.is_some_and(|i| states[i] == St::Terminated),
                        "deprovisioned someone who should keep access: {:?}", op
                    );
                }
                if op.op == OpKind::Create {
                    prop_assert!(
                        op.remote_id.is_some() || !stamped.contains_key(&op.key),
                        "a new account for {} who has one", op.key
                    );
                }
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
            for (key, id) in &stamped {
                prop_assert_eq!(
                    w.links.get(key).map(|l| l.remote_id.as_str()), Some(id.as_str()),
                    "{}'s account is not linked to them after resync", key
                );
            }
            let again = w.plan_with(&ps, now, &pol, true);
            prop_assert!(again.operations.is_empty(), "resync did not converge: {:#?}", again.operations);
            let quiet = w.plan_with(&ps, now, &pol, false);
            prop_assert!(quiet.operations.is_empty(), "plan after resync not empty: {:#?}", quiet.operations);
            // The app holds the desired state under the rules.
            for (i, key) in KEYS.iter().enumerate() {
                let Some(l) = w.links.get(*key) else { continue };
                let Some(a) = w.accounts.get(&l.remote_id) else { continue };
                if states[i] == St::NotYetDue {
                    // No decision yet: the account stays as it is.
                    continue;
                }
                prop_assert_eq!(a.active, states[i] == St::Active, "{} active state", key);
                if title_rule == ConflictRule::HrWins && states[i] == St::Active {
                    let want = ["Engineer", "Manager"][titles[i]];
                    prop_assert_eq!(a.attrs.get("title").and_then(Value::as_str), Some(want), "{}", key);
                }
            }
        }
    }
}
