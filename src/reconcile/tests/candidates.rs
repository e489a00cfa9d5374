//! Creates planned after reading the app's accounts: a person whose unstamped account
//! exists is linked (with the changes the link sends), skipped or failed as
//! `on_unlinked_match` says; everyone else is a create checked against the app.

use std::collections::BTreeMap;

use hrsync_connectors::source::Lifecycle;
use serde_json::{json, Value};

use super::model::{day, person, policy};
use crate::reconcile::input::{ConflictRules, DesiredPerson, RemoteUser};
use crate::reconcile::plan::{ConflictRule, MatchDecision, OpKind};
use crate::reconcile::{plan_app, plan_app_with, AppInput, AppPlan, AppPolicy, Candidates};

fn persons() -> BTreeMap<String, DesiredPerson> {
    ["E1", "E2"]
        .iter()
        .map(|k| {
            let p = person(k, Lifecycle::Active, "Rep", true, None, None, None, 0);
            (k.to_string(), p)
        })
        .collect()
}

/// E1's hand-made account: same userName, another title, no externalId.
fn accounts() -> BTreeMap<String, RemoteUser> {
    let mut attrs = BTreeMap::new();
    attrs.insert("userName".to_string(), json!("e1@corp.example"));
    attrs.insert("title".to_string(), json!("Boss"));
    let u = RemoteUser {
        id: "u-1".into(),
        user_name: "e1@corp.example".into(),
        external_id: None,
        active: true,
        attrs,
    };
    [("u-1".to_string(), u)].into()
}

fn plan(pol: &AppPolicy, on_match: Option<MatchDecision>) -> AppPlan {
    let persons = persons();
    let accounts = accounts();
    let input = AppInput {
        policy: pol,
        persons: &persons,
        links: &BTreeMap::new(),
        remote: None,
        groups: &BTreeMap::new(),
        manages_groups: false,
        now: day(0),
        forms: None,
        settled: None,
    };
    match on_match {
        Some(on_match) => plan_app_with(
            &input,
            Some(Candidates {
                accounts: &accounts,
                on_match,
                by_user_name: true,
                by_email: true,
            }),
        ),
        None => plan_app(&input),
    }
}

#[test]
fn an_existing_account_is_planned_as_a_link_with_the_changes_it_sends() {
    let p = plan(&policy(), Some(MatchDecision::Link));
    assert_eq!((p.summary.create, p.summary.link), (1, 1), "{p:#?}");
    let e1 = p.operations.iter().find(|o| o.key == "E1").expect("E1");
    let adopt = e1.adopt.as_ref().expect("a link");
    assert_eq!(
        (adopt.id.as_str(), adopt.decision),
        ("u-1", MatchDecision::Link)
    );
    assert!(!e1.looked_up);
    let changed: BTreeMap<&str, Option<&Value>> = e1
        .changes
        .iter()
        .map(|c| (c.path.as_str(), c.new.as_ref()))
        .collect();
    assert_eq!(changed.get("title"), Some(&Some(&json!("Rep"))));
    assert_eq!(changed.get("externalId"), Some(&Some(&json!("E1"))));
    let e2 = p.operations.iter().find(|o| o.key == "E2").expect("E2");
    assert!(e2.adopt.is_none() && e2.looked_up, "{e2:?}");
    assert!(p.accounts_read);
}

#[test]
fn a_report_rule_shows_the_conflict_and_still_stamps_the_key() {
    let mut pol = policy();
    pol.conflicts = ConflictRules {
        default: ConflictRule::Report,
        per_path: BTreeMap::new(),
    };
    let p = plan(&pol, Some(MatchDecision::Link));
    let e1 = p.operations.iter().find(|o| o.key == "E1").expect("E1");
    assert!(e1.changes.iter().all(|c| c.path != "title"), "{e1:?}");
    assert!(e1.changes.iter().any(|c| c.path == "externalId"), "{e1:?}");
    assert_eq!(p.conflicts.len(), 1, "{:?}", p.conflicts);
    assert_eq!(p.conflicts[0].path, "title");
}

#[test]
fn skip_and_fail_send_nothing_and_are_counted_apart() {
    for (d, counts) in [
        (MatchDecision::Skip, (1, 1, 0)),
        (MatchDecision::Fail, (1, 0, 1)),
    ] {
        let p = plan(&policy(), Some(d));
        let s = &p.summary;
        assert_eq!((s.create, s.skip, s.fail), counts, "{d:?}");
        assert_eq!(s.link, 0);
        let e1 = p.operations.iter().find(|o| o.key == "E1").expect("E1");
        assert!(e1.changes.is_empty() && p.conflicts.is_empty(), "{e1:?}");
    }
}

#[test]
fn without_a_read_every_create_looks_up_at_apply() {
    let p = plan(&policy(), None);
    assert_eq!(p.summary.create, 2);
    assert!(p
        .operations
        .iter()
        .all(|o| o.op == OpKind::Create && !o.looked_up));
    assert!(!p.accounts_read);
}
