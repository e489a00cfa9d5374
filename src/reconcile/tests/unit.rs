//! Example-based planner tests: one per lifecycle rule.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use hrsync_connectors::source::Lifecycle;

use super::model::{day, person, World};
use crate::reconcile::input::DesiredPerson;
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

fn date(d: u32) -> NaiveDate {
    day(d).date_naive()
}

#[test]
fn joiner_mover_leaver_rehire() {
    let mut w = World::default();
    let p1 = set(vec![
        person(
            "E1",
            Lifecycle::Active,
            "Engineer",
            true,
            None,
            None,
            None,
            0,
        ),
        person(
            "E2",
            Lifecycle::Active,
            "Analyst",
            true,
            None,
            None,
            Some("E1"),
            0,
        ),
    ]);
    let plan = w.plan(&p1, day(1));
    assert_eq!(
        ops(&plan),
        vec![(OpKind::Create, "E1".into()), (OpKind::Create, "E2".into())]
    );
    assert_eq!(
        plan.operations[1].pending_refs.len(),
        1,
        "manager resolved in second pass"
    );
    w.apply(&plan, day(1));
    assert!(w.plan(&p1, day(1)).operations.is_empty());

    // Mover: one attribute-level change.
    let p2 = set(vec![
        person(
            "E1",
            Lifecycle::Active,
            "Senior Engineer",
            true,
            None,
            None,
            None,
            0,
        ),
        person(
            "E2",
            Lifecycle::Active,
            "Analyst",
            true,
            None,
            None,
            Some("E1"),
            0,
        ),
    ]);
    let plan = w.plan(&p2, day(2));
    assert_eq!(ops(&plan), vec![(OpKind::Update, "E1".into())]);
    assert_eq!(plan.operations[0].changes.len(), 1);
    assert_eq!(plan.operations[0].changes[0].path, "title");
    w.apply(&plan, day(2));

    // Leaver: deactivated, never deleted before delete_after_days.
    let p3 = set(vec![
        person(
            "E1",
            Lifecycle::Terminated,
            "Senior Engineer",
            true,
            None,
            Some(date(3)),
            None,
            0,
        ),
        person(
            "E2",
            Lifecycle::Active,
            "Analyst",
            true,
            None,
            None,
            Some("E1"),
            0,
        ),
    ]);
    let plan = w.plan(&p3, day(3));
    assert_eq!(ops(&plan), vec![(OpKind::Deactivate, "E1".into())]);
    w.apply(&plan, day(3));
    assert!(w.plan(&p3, day(10)).operations.is_empty());
    let id = w.links["E1"].remote_id.clone();

    // Rehire: the same account is reactivated.
    let plan = w.plan(&p2, day(12));
    assert_eq!(ops(&plan), vec![(OpKind::Reactivate, "E1".into())]);
    w.apply(&plan, day(12));
    assert_eq!(w.links["E1"].remote_id, id);
    assert_eq!(w.creates["E1"], 1);
    assert!(w.accounts[&id].active);
}

#[test]
fn delete_after_days_and_absence_grace() {
    let mut w = World::default();
    let p = set(vec![person(
        "E1",
        Lifecycle::Active,
        "",
        true,
        None,
        None,
        None,
        0,
    )]);
    w.apply(&w.plan(&p, day(0)), day(0));
    for absent in 1..3 {
        let gone = set(vec![person(
            "E1",
            Lifecycle::Active,
            "",
            true,
            None,
            None,
            None,
            absent,
        )]);
        assert!(
            w.plan(&gone, day(absent)).operations.is_empty(),
            "grace cycle {absent}"
        );
    }
    let gone = set(vec![person(
        "E1",
        Lifecycle::Active,
        "",
        true,
        None,
        None,
        None,
        3,
    )]);
    let plan = w.plan(&gone, day(3));
    assert_eq!(ops(&plan), vec![(OpKind::Deactivate, "E1".into())]);
    w.apply(&plan, day(3));
    assert!(w.plan(&gone, day(20)).operations.is_empty());
    let plan = w.plan(&gone, day(33));
    assert_eq!(ops(&plan), vec![(OpKind::Delete, "E1".into())]);
}

#[test]
fn pre_provisioned_inactive_then_activated_on_start_date() {
    let mut w = World::default();
    let p = set(vec![person(
        "E1",
        Lifecycle::Active,
        "",
        true,
        Some(date(10)),
        None,
        None,
        0,
    )]);
    assert!(w.plan(&p, day(5)).operations.is_empty(), "too early");
    let plan = w.plan(&p, day(8));
    assert_eq!(ops(&plan), vec![(OpKind::Create, "E1".into())]);
    assert_eq!(plan.operations[0].active, Some(false));
    w.apply(&plan, day(8));
    assert!(w.plan(&p, day(9)).operations.is_empty());
    let plan = w.plan(&p, day(10));
    assert_eq!(ops(&plan), vec![(OpKind::Reactivate, "E1".into())]);
}

#[test]
fn exempt_and_colliding_user_names_are_never_pushed() {
    let w = World::default();
    let mut a = person("E1", Lifecycle::Active, "", true, None, None, None, 0);
    let mut b = person("E2", Lifecycle::Active, "", true, None, None, None, 0);
    let name = crate::mapping::Mapped::Value(serde_json::Value::String("Same@corp.example".into()));
    a.attrs.insert("userName".into(), name.clone());
    b.attrs.insert("userName".into(), name);
    let ex = person(
        "BREAKGLASS",
        Lifecycle::Active,
        "",
        true,
        None,
        None,
        None,
        0,
    );
    let plan = w.plan(&set(vec![a, b, ex]), day(1));
    assert!(plan.operations.is_empty(), "{:?}", plan.operations);
    assert_eq!(plan.quarantined.len(), 2);
    assert!(plan.quarantined[0].reason.contains("also mapped from E2"));
}

#[test]
fn exempt_matches_keys_and_user_names_whatever_their_case() {
    let w = World::default();
    let mut policy = super::model::policy();
    // The config stores exempt entries lowercased; HR and templates may not be.
    policy.exempt.insert("e7".into());
    let mut admin = person("E1", Lifecycle::Active, "", true, None, None, None, 0);
    admin.attrs.insert(
        "userName".into(),
        crate::mapping::Mapped::Value(serde_json::Value::String("BreakGlass@Corp.Example".into())),
    );
    let by_key = person("E7", Lifecycle::Active, "", true, None, None, None, 0);
    let other = person("E2", Lifecycle::Active, "", true, None, None, None, 0);
    let plan = w.plan_with(&set(vec![admin, by_key, other]), day(1), &policy, false);
    assert_eq!(ops(&plan), vec![(OpKind::Create, "E2".into())]);
}

#[test]
fn end_date_keeps_access_until_it_passes() {
    let mut w = World::default();
    let p = set(vec![person(
        "E1",
        Lifecycle::Active,
        "",
        true,
        None,
        Some(date(5)),
        None,
        0,
    )]);
    w.apply(&w.plan(&p, day(1)), day(1));
    assert!(
        w.plan(&p, day(5)).operations.is_empty(),
        "last day still active"
    );
    assert_eq!(
        ops(&w.plan(&p, day(6))),
        vec![(OpKind::Deactivate, "E1".into())]
    );
}

#[test]
fn termination_entered_ahead_keeps_access_until_its_date() {
    let mut w = World::default();
    let active = set(vec![person(
        "E1",
        Lifecycle::Active,
        "",
        true,
        None,
        None,
        None,
        0,
    )]);
    w.apply(&w.plan(&active, day(1)), day(1));
    let leaving = set(vec![person(
        "E1",
        Lifecycle::Terminated,
        "",
        true,
        None,
        Some(date(5)),
        None,
        0,
    )]);
    assert!(
        w.plan(&leaving, day(2)).operations.is_empty(),
        "notice period: access stays"
    );
    assert!(
        w.plan(&leaving, day(4)).operations.is_empty(),
        "the day before"
    );
    assert_eq!(
        ops(&w.plan(&leaving, day(5))),
        vec![(OpKind::Deactivate, "E1".into())],
        "on the termination date access ends"
    );
    let gone = set(vec![person(
        "E1",
        Lifecycle::Terminated,
        "",
        true,
        None,
        Some(date(1)),
        None,
        0,
    )]);
    assert_eq!(
        ops(&w.plan(&gone, day(2))),
        vec![(OpKind::Deactivate, "E1".into())],
        "a termination dated in the past ends access at once"
    );
}

#[test]
fn operations_run_deprovisions_first_then_updates_then_creates() {
    let mut w = World::default();
    let day0 = set(vec![
        person("E1", Lifecycle::Active, "A", true, None, None, None, 0),
        person("E2", Lifecycle::Active, "A", true, None, None, None, 0),
    ]);
    w.apply(&w.plan(&day0, day(0)), day(0));
    let day1 = set(vec![
        person("E0", Lifecycle::Active, "A", true, None, None, None, 0),
        person(
            "E1",
            Lifecycle::Terminated,
            "A",
            true,
            None,
            Some(date(0)),
            None,
            0,
        ),
        person("E2", Lifecycle::Active, "B", true, None, None, None, 0),
    ]);
    let plan = w.plan(&day1, day(1));
    assert_eq!(
        ops(&plan),
        vec![
            (OpKind::Deactivate, "E1".into()),
            (OpKind::Update, "E2".into()),
            (OpKind::Create, "E0".into()),
        ],
        "offboarding never waits behind joiners"
    );
}
