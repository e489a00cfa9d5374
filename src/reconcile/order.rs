//! Managers before their reports: a create whose reference (the manager) points at another
//! create of the same cycle goes after it, so the report's create can carry the manager's
//! account id (or, in one Bulk request, a `bulkId` reference) instead of a second pass.
//! References that form a cycle (A manages B manages A) cannot be ordered: they stay for
//! the second pass.

use std::collections::BTreeMap;

use super::plan::{MatchDecision, OpKind, Operation};

/// The wave of each create among `ops`, by key: 0 for a create that refers to no other
/// create of `ops`, otherwise one more than the highest wave it refers to. A create on a
/// reference cycle takes the wave its walk reached when it met the cycle.
pub fn create_waves(ops: &[Operation]) -> BTreeMap<String, usize> {
    // A create that skips or refuses the account it matched leaves no account to refer to.
    let refs: BTreeMap<&str, Vec<&str>> = ops
        .iter()
        .filter(|o| o.op == OpKind::Create)
        .filter(|o| {
            o.adopt
                .as_ref()
                .is_none_or(|a| a.decision == MatchDecision::Link)
        })
        .map(|o| {
            let targets = o.pending_refs.iter().map(|r| r.key.as_str()).collect();
            (o.key.as_str(), targets)
        })
        .collect();
    let mut waves: BTreeMap<String, usize> = BTreeMap::new();
    for &key in refs.keys() {
        wave_of(key, &refs, &mut waves, &mut Vec::new());
    }
    waves
}

/// The wave of one create, computed depth first; `path` holds the creates being walked,
/// so a reference back into it (a cycle) counts as no reference.
fn wave_of<'k>(
    key: &'k str,
    refs: &BTreeMap<&'k str, Vec<&'k str>>,
    waves: &mut BTreeMap<String, usize>,
    path: &mut Vec<&'k str>,
) -> usize {
    if let Some(w) = waves.get(key) {
        return *w;
    }
    path.push(key);
    let mut wave = 0;
    for &target in refs.get(key).into_iter().flatten() {
        if target == key || path.contains(&target) || !refs.contains_key(target) {
            continue;
        }
        wave = wave.max(wave_of(target, refs, waves, path) + 1);
    }
    path.pop();
    waves.insert(key.to_string(), wave);
    wave
}

/// Sorts operations into execution order: by phase, creates by wave (managers first),
/// then by key; a create's reference to a create of an earlier wave is marked as going
/// with the create.
pub fn execution_order(ops: &mut [Operation]) {
    let waves = create_waves(ops);
    // Only a create that POSTs carries its references; a link to an existing account sends
    // what the plan listed, and its references follow in the second pass.
    let posts = |o: &&mut Operation| o.op == OpKind::Create && o.remote_id.is_none();
    for op in ops.iter_mut().filter(posts) {
        let Some(&mine) = waves.get(&op.key) else {
            continue;
        };
        for r in &mut op.pending_refs {
            r.at_create = waves.get(&r.key).is_some_and(|&w| w < mine);
        }
    }
    let wave = |o: &Operation| match o.op {
        OpKind::Create => waves.get(&o.key).copied().unwrap_or(0),
        _ => 0,
    };
    // Each operation's phase and wave looked up once, not at every comparison; the
    // position breaks ties, so the order is the stable sort's.
    let ranks: Vec<(u8, usize)> = ops.iter().map(|o| (o.op.phase(), wave(o))).collect();
    let mut order: Vec<usize> = (0..ops.len()).collect();
    order.sort_unstable_by(|&i, &j| {
        let (a, b) = (&ops[i], &ops[j]);
        (ranks[i], &a.key, a.op, i).cmp(&(ranks[j], &b.key, b.op, j))
    });
    permute(ops, order);
}

/// Moves `ops[order[k]]` to position `k` for every `k`, in place: each cycle of the
/// permutation is followed once.
fn permute<T>(items: &mut [T], mut order: Vec<usize>) {
    for start in 0..items.len() {
        // Positions already placed point at themselves.
        let mut k = start;
        while order[k] != start {
            let from = order[k];
            items.swap(k, from);
            order[k] = k;
            k = from;
        }
        order[k] = k;
    }
}

/// Splits operations into the waves they must run in, in order: each create after the
/// creates it refers to; everything that is not a create goes in the first wave.
pub fn in_waves(ops: Vec<Operation>) -> Vec<Vec<Operation>> {
    let waves = create_waves(&ops);
    let mut out: Vec<Vec<Operation>> = Vec::new();
    for op in ops {
        let w = match op.op {
            OpKind::Create => waves.get(&op.key).copied().unwrap_or(0),
            _ => 0,
        };
        if out.len() <= w {
            out.resize_with(w + 1, Vec::new);
        }
        out[w].push(op);
    }
    out.retain(|w| !w.is_empty());
    out
}
