//! Settling on the app's own form: an app value that is the kept form of the current
//! desired value is in step (no update, no rebase, no conflict, under every rule); any
//! other app value, and any real HR change, still goes out as before.

use std::collections::BTreeMap;

use hrsync_connectors::source::Lifecycle;
use proptest::prelude::*;
use serde_json::{json, Value};

use super::model::{day, person, policy};
use crate::mapping::Mapped;
use crate::reconcile::form::{in_own_form, learned, Form, KeptForms};
use crate::reconcile::hash::state_hash;
use crate::reconcile::input::{DesiredPerson, LinkLifecycle, LinkState, RemoteUser};
use crate::reconcile::plan::{AppPlan, ConflictRule, OpKind};
use crate::reconcile::{plan_app, AppInput};

/// How the model app stores a userName: `@` becomes `_`, letters are lowercased.
fn app_form(s: &str) -> String {
    s.to_lowercase().replace('@', "_")
}

/// E1 with this userName (and title `Rep`).
fn e1(user_name: &str) -> BTreeMap<String, DesiredPerson> {
    let mut p = person("E1", Lifecycle::Active, "Rep", true, None, None, None, 0);
    p.attrs.insert(
        "userName".into(),
        Mapped::Value(Value::String(user_name.into())),
    );
    [("E1".to_string(), p)].into()
}

/// The attributes hrsync pushes for E1, as the planner resolves them (its key stamped).
fn pushed(persons: &BTreeMap<String, DesiredPerson>) -> BTreeMap<String, Value> {
    let mut out: BTreeMap<String, Value> = persons["E1"].attrs.values().to_map();
    out.insert("externalId".into(), json!("E1"));
    out
}

/// Plans E1 after a write of `sent_name` that the app returned in its form, with the app
/// showing `app_name` now and HR asking for `hr_name`; `keep` says whether the engine kept
/// the app's form.
fn plan(sent_name: &str, app_name: &str, hr_name: &str, keep: bool, rule: ConflictRule) -> AppPlan {
    let mut pol = policy();
    pol.conflicts.default = rule;
    let sent = pushed(&e1(sent_name));
    let link = LinkState {
        remote_id: "u1".into(),
        user_name: sent_name.into(),
        hash: state_hash(&sent, true),
        last_pushed: sent.clone(),
        lifecycle: LinkLifecycle::Active,
        deactivated_at: None,
    };
    let mut theirs = sent.clone();
    theirs.insert("userName".into(), json!(app_name));
    let remote: BTreeMap<String, RemoteUser> = [(
        "u1".to_string(),
        RemoteUser {
            id: "u1".into(),
            user_name: app_name.into(),
            external_id: Some("E1".into()),
            active: true,
            attrs: theirs.clone(),
        },
    )]
    .into();
    // The write returned the app's form of what was sent; the app may show another since.
    let mut returned = sent.clone();
    returned.insert("userName".into(), json!(app_form(sent_name)));
    let (kept, _) = learned(&sent, &returned);
    let forms: KeptForms = [("E1".to_string(), kept)].into();
    let persons = e1(hr_name);
    let links = [("E1".to_string(), link)].into();
    plan_app(&AppInput {
        policy: &pol,
        persons: &persons,
        links: &links,
        remote: Some(&remote),
        groups: &BTreeMap::new(),
        manages_groups: false,
        now: day(0),
        forms: keep.then_some(&forms),
        settled: None,
    })
}

/// The userName changes the plan sends for E1.
fn user_name_pushes(p: &AppPlan) -> Vec<Value> {
    p.operations
        .iter()
        .filter(|o| o.op == OpKind::Update)
        .flat_map(|o| o.changes.iter())
        .filter(|c| c.path == "userName")
        .filter_map(|c| c.new.clone())
        .collect()
}

#[test]
fn the_kept_form_of_the_desired_value_is_in_step() {
    let p = plan(
        "e1@corp.example",
        "e1_corp.example",
        "e1@corp.example",
        true,
        ConflictRule::HrWins,
    );
    assert!(p.operations.is_empty(), "{:#?}", p.operations);
    assert!(p.conflicts.is_empty());
    // Without the kept form, the same app value is pushed over again (the old behaviour).
    let p = plan(
        "e1@corp.example",
        "e1_corp.example",
        "e1@corp.example",
        false,
        ConflictRule::HrWins,
    );
    assert_eq!(user_name_pushes(&p), vec![json!("e1@corp.example")]);
}

#[test]
fn a_real_hr_change_still_goes_out_and_a_hand_edit_is_still_drift() {
    let p = plan(
        "e1@corp.example",
        "e1_corp.example",
        "e2@corp.example",
        true,
        ConflictRule::HrWins,
    );
    assert_eq!(user_name_pushes(&p), vec![json!("e2@corp.example")]);
    // The app shows something else than the kept form: someone changed it by hand.
    let p = plan(
        "e1@corp.example",
        "boss",
        "e1@corp.example",
        true,
        ConflictRule::HrWins,
    );
    assert_eq!(user_name_pushes(&p), vec![json!("e1@corp.example")]);
    let p = plan(
        "e1@corp.example",
        "boss",
        "e1@corp.example",
        true,
        ConflictRule::Report,
    );
    assert_eq!(p.conflicts.len(), 1, "{:#?}", p.conflicts);
}

#[test]
fn learned_keeps_only_what_the_app_changed_and_drops_what_it_kept() {
    let sent: BTreeMap<String, Value> = [
        ("userName".to_string(), json!("A@x")),
        ("title".to_string(), json!("Rep")),
        ("nick".to_string(), json!("n")),
    ]
    .into();
    let returned: BTreeMap<String, Value> = [
        ("userName".to_string(), json!("a_x")),
        ("title".to_string(), json!("Rep")),
    ]
    .into();
    let (keep, drop) = learned(&sent, &returned);
    assert_eq!(
        keep,
        [(
            "userName".to_string(),
            Form {
                sent: json!("A@x"),
                got: json!("a_x")
            }
        )]
        .into()
    );
    assert_eq!(drop, vec!["title".to_string()]);
}

proptest! {
    /// Whatever the names and the rule: after a write, the app's form of an unchanged HR
    /// value is never pushed, rebased or reported, and a changed HR value always is pushed
    /// (hr_wins) or pushed as HR's change (report).
    #[test]
    fn settles_on_the_form_and_still_sends_real_changes(
        sent in "[A-Za-z]{1,6}@[a-z]{1,4}\\.example",
        other in "[A-Za-z]{1,6}@[a-z]{1,4}\\.example",
        report in any::<bool>(),
    ) {
        let rule = if report { ConflictRule::Report } else { ConflictRule::HrWins };
        let shown = app_form(&sent);
        let p = plan(&sent, &shown, &sent, true, rule);
        prop_assert!(p.operations.is_empty(), "{:#?}", p.operations);
        prop_assert!(p.conflicts.is_empty());
        if other != sent {
            let p = plan(&sent, &shown, &other, true, rule);
            prop_assert_eq!(user_name_pushes(&p), vec![json!(other)]);
        }
    }

    /// `in_own_form` replaces a value only where the app shows exactly the kept form of
    /// exactly the desired value.
    #[test]
    fn in_own_form_replaces_only_exact_kept_forms(
        sent in "[a-z@]{1,5}", got in "[a-z_]{1,5}", ours in "[a-z@]{1,5}", theirs in "[a-z_]{1,5}",
    ) {
        let kept = [("p".to_string(), Form { sent: json!(sent), got: json!(got) })].into();
        let o: BTreeMap<String, Value> = [("p".to_string(), json!(ours))].into();
        let t: BTreeMap<String, Value> = [("p".to_string(), json!(theirs))].into();
        let out = in_own_form(&t, &o, Some(&kept));
        let replaced = ours == sent && theirs == got;
        prop_assert_eq!(&out["p"], if replaced { &o["p"] } else { &t["p"] });
    }
}
