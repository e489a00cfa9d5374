//! Managers before their reports: creates go in waves after the creates they refer to,
//! references to an earlier wave are marked as going with the create, and a reference
//! cycle is left for the second pass.

use crate::reconcile::order::{create_waves, execution_order, in_waves};
use crate::reconcile::plan::{OpKind, Operation, PendingRef};

fn create(key: &str, manager: Option<&str>) -> Operation {
    let mut op = Operation::new(OpKind::Create, key);
    if let Some(m) = manager {
        op.pending_refs.push(PendingRef {
            path: "manager".into(),
            key: m.into(),
            at_create: false,
        });
    }
    op
}

#[test]
fn managers_come_first_and_their_reports_carry_the_reference() {
    // A (top) manages B, who manages C; D refers to someone outside the cycle.
    let mut ops = vec![
        create("C", Some("B")),
        Operation::new(OpKind::Deactivate, "Z"),
        create("A", None),
        create("D", Some("X")),
        create("B", Some("A")),
    ];
    execution_order(&mut ops);
    let keys: Vec<&str> = ops.iter().map(|o| o.key.as_str()).collect();
    assert_eq!(keys, ["Z", "A", "D", "B", "C"]);
    let carried = |k: &str| {
        ops.iter()
            .find(|o| o.key == k)
            .map(|o| o.pending_refs.iter().all(|r| r.at_create))
    };
    assert_eq!(carried("B"), Some(true));
    assert_eq!(carried("C"), Some(true));
    assert_eq!(
        carried("D"),
        Some(false),
        "a manager outside the cycle waits"
    );
    let waves: Vec<Vec<String>> = in_waves(ops)
        .into_iter()
        .map(|w| w.into_iter().map(|o| o.key).collect())
        .collect();
    assert_eq!(waves, [vec!["Z", "A", "D"], vec!["B"], vec!["C"]]);
}

#[test]
fn a_reference_cycle_is_left_for_the_second_pass() {
    let mut ops = vec![
        create("A", Some("B")),
        create("B", Some("A")),
        create("S", Some("S")),
    ];
    let waves = create_waves(&ops);
    assert!(waves.iter().all(|(_, w)| w <= 1), "{waves:?}");
    execution_order(&mut ops);
    // At most one side of the cycle can go with its create; the other waits.
    let carried = ops
        .iter()
        .flat_map(|o| o.pending_refs.iter())
        .filter(|r| r.at_create)
        .count();
    assert!(carried <= 1, "{ops:#?}");
    assert!(ops
        .iter()
        .find(|o| o.key == "S")
        .is_some_and(|o| !o.pending_refs[0].at_create));
}

proptest::proptest! {
    /// The order is the stable sort by (phase, wave, key, kind), whatever order the
    /// operations came in, with repeated keys and kinds.
    #[test]
    fn the_order_is_the_stable_sort_by_phase_wave_and_key(
        ops in proptest::collection::vec((0usize..4, 0usize..6, proptest::option::of(0usize..6)), 0..40)
    ) {
        let kinds = [OpKind::Create, OpKind::Update, OpKind::Deactivate, OpKind::Rebase];
        let key = |i: usize| format!("E{i}");
        let mut ops: Vec<Operation> = ops
            .into_iter()
            .enumerate()
            .map(|(n, (kind, k, manager))| {
                let mut op = match kinds[kind] {
                    OpKind::Create => create(&key(k), manager.map(key).as_deref()),
                    other => Operation::new(other, key(k)),
                };
                // Tells apart operations the sort finds equal.
                op.reason = Some(n.to_string());
                op
            })
            .collect();
        let waves = create_waves(&ops);
        let wave = |o: &Operation| match o.op {
            OpKind::Create => waves.get(&o.key).unwrap_or(0),
            _ => 0,
        };
        let mut expected = ops.clone();
        expected.sort_by(|a, b| {
            (a.op.phase(), wave(a), &a.key, a.op).cmp(&(b.op.phase(), wave(b), &b.key, b.op))
        });
        execution_order(&mut ops);
        let seen = |v: &[Operation]| v.iter().map(|o| o.reason.clone()).collect::<Vec<_>>();
        proptest::prop_assert_eq!(seen(&ops), seen(&expected));
    }
}
