//! Nobody is offboarded by a quarantine, an orphans policy or a lost state: a frozen HR
//! record freezes the person; an unstamped account with a person's userName is theirs, not
//! an orphan; after the links are lost, resync relinks leavers and persons not yet due.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use hrsync_connectors::source::Lifecycle;

use super::model::{day, frozen, person, policy, Account, World};
use crate::reconcile::input::{DesiredPerson, LinkLifecycle, OrphanPolicy};
use crate::reconcile::plan::OpKind;

fn set(ps: Vec<DesiredPerson>) -> BTreeMap<String, DesiredPerson> {
    ps.into_iter().map(|p| (p.key.clone(), p)).collect()
}

fn ops(plan: &crate::reconcile::AppPlan) -> Vec<(OpKind, String)> {
    plan.operations
        .iter()
        .map(|o| (o.op, o.key.clone()))
        .collect()
}

fn active(key: &str) -> DesiredPerson {
    person(key, Lifecycle::Active, "Rep", true, None, None, None, 0)
}

fn date(d: u32) -> NaiveDate {
    day(d).date_naive()
}

#[test]
fn a_frozen_person_gets_no_operation_and_keeps_the_account_even_without_links() {
    let mut pol = policy();
    pol.orphans = OrphanPolicy::Deactivate;
    let mut w = World::default();
    let before = set(vec![active("E1"), active("E2")]);
    w.apply(&w.plan(&before, day(0)), day(0));
    let id = w.links["E1"].remote_id.clone();
    let account = w.accounts[&id].clone();

    // E1 turns up twice, now with another title: nothing is pushed for E1.
    let mut changed = active("E1");
    changed
        .attrs
        .insert("title".into(), crate::mapping::Mapped::Value("Boss".into()));
    let now = set(vec![frozen(Some(&changed), "E1"), active("E2")]);
    for remote in [false, true] {
        let plan = w.plan_with(&now, day(1), &pol, remote);
        assert!(plan.operations.is_empty(), "{:?}", plan.operations);
        assert_eq!(plan.quarantined.len(), 1);
        assert_eq!(plan.quarantined[0].key, "E1");
        assert!(plan.orphans.is_empty(), "{:?}", plan.orphans);
    }

    // The state is lost as well, and E1's only record is set aside: the account carrying
    // E1 is still E1's, never an orphan to deactivate.
    w.links.clear();
    let now = set(vec![frozen(None, "E1"), active("E2")]);
    let plan = w.plan_with(&now, day(2), &pol, true);
    assert_eq!(
        ops(&plan),
        vec![(OpKind::Create, "E2".into())],
        "E2 relinks"
    );
    assert!(plan.orphans.is_empty(), "{:?}", plan.orphans);
    w.apply(&plan, day(2));
    assert_eq!(w.accounts[&id], account, "E1's account untouched");
    assert!(w.deactivated.is_empty());
}

#[test]
fn an_unstamped_account_with_the_persons_user_name_is_adopted_not_an_orphan() {
    let mut pol = policy();
    pol.orphans = OrphanPolicy::Deactivate;
    let mut w = World::default();
    w.accounts.insert(
        "hand".into(),
        Account {
            external_id: None,
            user_name: "E1@Corp.Example".into(),
            active: true,
            attrs: BTreeMap::new(),
        },
    );
    let ps = set(vec![active("E1")]);
    let plan = w.plan_with(&ps, day(0), &pol, true);
    assert!(plan.orphans.is_empty(), "{:?}", plan.orphans);
    assert_eq!(ops(&plan), vec![(OpKind::Create, "E1".into())]);
    assert!(
        plan.operations[0]
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("hand") && r.contains("userName")),
        "{:?}",
        plan.operations[0].reason
    );
    w.apply(&plan, day(0));
    assert!(w.deactivated.is_empty());
    assert_eq!(w.accounts.len(), 1, "no second account");
    assert_eq!(w.links["E1"].remote_id, "hand");
    assert!(w.accounts["hand"].active);
    assert!(w.plan_with(&ps, day(0), &pol, true).operations.is_empty());
}

#[test]
fn after_the_links_are_lost_resync_relinks_leavers_and_persons_not_yet_due() {
    let mut pol = policy();
    pol.orphans = OrphanPolicy::Deactivate;
    let mut w = World::default();
    let start = set(vec![active("E1"), active("E2"), active("E3"), active("E4")]);
    w.apply(&w.plan(&start, day(0)), day(0));
    let leaver = |k: &str| {
        person(
            k,
            Lifecycle::Terminated,
            "Rep",
            true,
            None,
            Some(date(0)),
            None,
            0,
        )
    };
    let later = person(
        "E3",
        Lifecycle::Active,
        "Rep",
        true,
        Some(date(30)),
        None,
        None,
        0,
    );
    let hr = set(vec![active("E1"), leaver("E2"), later, leaver("E4")]);
    let plan = w.plan(&hr, day(1));
    assert_eq!(
        ops(&plan),
        vec![
            (OpKind::Deactivate, "E2".into()),
            (OpKind::Deactivate, "E4".into())
        ]
    );
    w.apply(&plan, day(1));
    let ids: BTreeMap<String, String> = w
        .links
        .iter()
        .map(|(k, l)| (k.clone(), l.remote_id.clone()))
        .collect();
    // Someone turns E4 back on by hand; then the state is lost.
    w.accounts.get_mut(&ids["E4"]).expect("E4").active = true;
    w.links.clear();

    let plan = w.plan_with(&hr, day(2), &pol, true);
    assert!(plan.orphans.is_empty(), "{:?}", plan.orphans);
    assert_eq!(
        ops(&plan),
        vec![
            (OpKind::Rebase, "E2".into()),
            (OpKind::Rebase, "E3".into()),
            (OpKind::Rebase, "E4".into()),
            (OpKind::Deactivate, "E4".into()),
            (OpKind::Create, "E1".into()),
        ],
        "relinks first, then the still-active leaver is deactivated; E1 relinks"
    );
    assert!(
        plan.operations.iter().all(|o| o.remote_id.is_some()),
        "no new account"
    );
    w.apply(&plan, day(2));
    let relinked: BTreeMap<String, String> = w
        .links
        .iter()
        .map(|(k, l)| (k.clone(), l.remote_id.clone()))
        .collect();
    assert_eq!(relinked, ids, "every link restored to the same account");
    assert_eq!(w.accounts.len(), 4, "no duplicate");
    assert!(w.accounts[&ids["E1"]].active && w.accounts[&ids["E3"]].active);
    assert!(!w.accounts[&ids["E2"]].active && !w.accounts[&ids["E4"]].active);
    assert_eq!(w.links["E2"].lifecycle, LinkLifecycle::Inactive);
    // The leaver's delete_after_days wait restarts at the relink: not lost, never shorter.
    assert_eq!(w.links["E2"].deactivated_at, Some(day(2)));
    assert!(w.plan_with(&hr, day(2), &pol, true).operations.is_empty());
    assert!(
        w.plan(&hr, day(31)).operations.is_empty(),
        "30 days not over"
    );
    assert_eq!(
        ops(&w.plan(&hr, day(32))),
        vec![(OpKind::Delete, "E2".into()), (OpKind::Delete, "E4".into())]
    );
}

#[test]
fn an_account_hrsync_deleted_is_not_relinked_when_the_app_only_deactivated_it() {
    let mut w = World::default();
    w.apply(&w.plan(&set(vec![active("E1")]), day(0)), day(0));
    let gone = set(vec![person(
        "E1",
        Lifecycle::Terminated,
        "Rep",
        true,
        None,
        Some(date(0)),
        None,
        0,
    )]);
    w.apply(&w.plan(&gone, day(1)), day(1));
    let plan = w.plan(&gone, day(40));
    assert_eq!(ops(&plan), vec![(OpKind::Delete, "E1".into())]);
    let kept = w.accounts.values().next().cloned().expect("account");
    w.apply(&plan, day(40));
    assert_eq!(w.links["E1"].lifecycle, LinkLifecycle::Deleted);
    // The app's DELETE only deactivated it: the account is still there, carrying E1.
    w.accounts.insert(
        "kept".into(),
        Account {
            active: false,
            ..kept
        },
    );
    let resync = w.plan_with(&gone, day(41), &policy(), true);
    assert!(resync.operations.is_empty(), "{:?}", resync.operations);
}

#[test]
fn a_frozen_person_keeps_their_group_memberships() {
    let w = World::default();
    let mut pol = policy();
    pol.delete_empty_groups = true;
    let mut ana = active("E2");
    ana.groups.insert("dept-sales".into());
    let persons = set(vec![frozen(None, "E1"), ana]);
    let group = crate::reconcile::GroupState {
        remote_id: Some("g1".into()),
        members: ["E1".to_string(), "E2".to_string()].into(),
    };
    let groups = [("dept-sales".to_string(), group)].into();
    let links = w.links.clone();
    let plan = crate::reconcile::plan_app(&crate::reconcile::AppInput {
        policy: &pol,
        persons: &persons,
        links: &links,
        remote: None,
        groups: &groups,
        manages_groups: true,
        now: day(0),
        forms: None,
        settled: None,
    });
    assert!(
        plan.operations
            .iter()
            .all(|o| o.op != OpKind::MembershipRemove && o.op != OpKind::GroupDelete),
        "{:?}",
        plan.operations
    );
}
