//! Deprovision guards: the configured limits, and the floor that holds "more than half of
//! the app" whatever its size while letting a single leaver go.

use std::collections::BTreeSet;

use crate::reconcile::guards::{hold_mass_deprovision, DeprovisionLimits};
use crate::reconcile::plan::{AppPlan, OpKind, Operation};

/// The default `[guards]` (50 per cycle, 10 %, no daily limit).
fn defaults() -> DeprovisionLimits {
    DeprovisionLimits {
        max_count: Some(50),
        max_percent: Some(10.0),
        max_per_day: None,
    }
}

/// A plan deactivating `leavers` and creating one joiner.
fn plan(leavers: &[&str]) -> AppPlan {
    let mut p = AppPlan::new("app", "generic");
    p.operations = leavers
        .iter()
        .map(|k| Operation::new(OpKind::Deactivate, *k))
        .collect();
    p.operations.push(Operation::new(OpKind::Create, "J1"));
    p.finish();
    p
}

fn active(n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("E{i}")).collect()
}

fn run(leavers: &[&str], accounts: &[String], allow: bool) -> (Option<String>, AppPlan) {
    let mut p = plan(leavers);
    let keys: BTreeSet<&str> = accounts.iter().map(String::as_str).collect();
    let why = hold_mass_deprovision(&mut p, &defaults(), &keys, 0, allow);
    (why, p)
}

#[test]
fn everyone_in_a_small_app_is_held_but_the_creates_go_out() {
    let accounts = active(3);
    let (why, p) = run(&["E1", "E2", "E3"], &accounts, false);
    let why = why.unwrap_or_default();
    assert!(why.contains("3 of 3 active accounts"), "{why}");
    assert_eq!(p.held.len(), 3);
    assert_eq!(p.operations.len(), 1, "the joiner still goes out");
    assert_eq!(p.operations[0].op, OpKind::Create);
}

#[test]
fn more_than_half_of_any_app_is_held() {
    for (n, leaving) in [(2, 2), (3, 2), (5, 3), (9, 5)] {
        let accounts = active(n);
        let leavers: Vec<&str> = accounts.iter().take(leaving).map(String::as_str).collect();
        let (why, p) = run(&leavers, &accounts, false);
        assert!(why.is_some(), "{leaving} of {n} must be held");
        assert_eq!(p.held.len(), leaving);
    }
}

#[test]
fn a_single_leaver_or_at_most_half_of_a_small_app_goes() {
    for (n, leaving) in [(1, 1), (2, 1), (4, 2), (9, 4)] {
        let accounts = active(n);
        let leavers: Vec<&str> = accounts.iter().take(leaving).map(String::as_str).collect();
        let (why, p) = run(&leavers, &accounts, false);
        assert_eq!(why, None, "{leaving} of {n} must go");
        assert_eq!(p.held.len(), 0);
    }
}

#[test]
fn the_flag_releases_the_floor() {
    let accounts = active(3);
    let (why, p) = run(&["E1", "E2", "E3"], &accounts, true);
    assert_eq!(why, None);
    assert_eq!(p.held.len(), 0);
}

#[test]
fn deletes_of_already_inactive_accounts_do_not_count_towards_the_floor() {
    // Deletions after `delete_after_days` take no access away: those accounts are inactive.
    let accounts = active(1);
    let mut p = plan(&[]);
    p.operations.push(Operation::new(OpKind::Delete, "X1"));
    p.operations.push(Operation::new(OpKind::Delete, "X2"));
    p.finish();
    let keys: BTreeSet<&str> = accounts.iter().map(String::as_str).collect();
    let why = hold_mass_deprovision(&mut p, &defaults(), &keys, 0, false);
    assert_eq!(why, None);
}

#[test]
fn the_percentage_applies_from_ten_accounts_and_keeps_its_reason() {
    let accounts = active(20);
    let (why, _) = run(&["E1", "E2", "E3"], &accounts, false);
    let why = why.unwrap_or_default();
    assert!(why.contains("max_deprovision_percent = 10"), "{why}");
}
