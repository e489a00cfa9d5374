//! Managers before their reports: a create whose reference (the manager) points at another
//! create of the same cycle goes after it, so the report's create can carry the manager's
//! account id (or, in one Bulk request, a `bulkId` reference) instead of a second pass.
//! References that form a cycle (A manages B manages A) cannot be ordered: they stay for
//! the second pass.

use super::plan::{MatchDecision, OpKind, Operation};

/// The wave of each create among some operations, looked up by key: 0 for a create that
/// refers to no other create of them, otherwise one more than the highest wave it refers
/// to. A create on a reference cycle takes the wave its walk reached when it met the cycle.
/// Held as positions into the operations (a plan holds a million creates at most: a few
/// bytes each, no copy of their keys).
#[derive(Debug)]
pub struct Waves<'o> {
    ops: &'o [Operation],
    /// The creates that leave an account, by key (the last of a repeated key), as
    /// positions in `ops`.
    creates: Vec<u32>,
    /// The wave of `creates[i]`.
    waves: Vec<u32>,
}

impl<'o> Waves<'o> {
    /// The wave of the create for `key`, if there is one.
    pub fn get(&self, key: &str) -> Option<usize> {
        self.find(key).map(|at| self.waves[at] as usize)
    }

    /// Every create's (key, wave), by key.
    pub fn iter(&self) -> impl Iterator<Item = (&'o str, usize)> + '_ {
        let ops = self.ops;
        self.creates
            .iter()
            .zip(&self.waves)
            .map(move |(&i, &w)| (ops[i as usize].key.as_str(), w as usize))
    }

    fn find(&self, key: &str) -> Option<usize> {
        self.creates
            .binary_search_by(|&i| self.ops[i as usize].key.as_str().cmp(key))
            .ok()
    }

    /// The wave of `creates[at]`, computed depth first; `path` holds the creates being
    /// walked, so a reference back into it (a cycle) counts as no reference.
    fn walk(&mut self, at: usize, path: &mut Vec<usize>) -> u32 {
        const UNKNOWN: u32 = u32::MAX;
        if self.waves[at] != UNKNOWN {
            return self.waves[at];
        }
        path.push(at);
        let ops = self.ops;
        let mut wave = 0;
        for r in &ops[self.creates[at] as usize].pending_refs {
            let Some(target) = self.find(&r.key) else {
                continue;
            };
            if target == at || path.contains(&target) {
                continue;
            }
            wave = wave.max(self.walk(target, path) + 1);
        }
        path.pop();
        self.waves[at] = wave;
        wave
    }
}

/// The waves of the creates among `ops`.
pub fn create_waves(ops: &[Operation]) -> Waves<'_> {
    // A create that skips or refuses the account it matched leaves no account to refer to.
    let leaves_account = |o: &Operation| {
        o.op == OpKind::Create
            && o.adopt
                .as_ref()
                .is_none_or(|a| a.decision == MatchDecision::Link)
    };
    let mut creates: Vec<u32> = (0..ops.len())
        .filter(|&i| leaves_account(&ops[i]))
        .filter_map(|i| u32::try_from(i).ok())
        .collect();
    // Stable by key, then the last of each key kept: a repeated key is the last create's.
    creates.sort_by(|&a, &b| ops[a as usize].key.cmp(&ops[b as usize].key));
    creates.reverse();
    creates.dedup_by(|a, b| ops[*a as usize].key == ops[*b as usize].key);
    creates.reverse();
    let mut waves = Waves {
        ops,
        waves: vec![u32::MAX; creates.len()],
        creates,
    };
    let mut path = Vec::new();
    for at in 0..waves.creates.len() {
        waves.walk(at, &mut path);
    }
    waves
}

/// Sorts operations into execution order: by phase, creates by wave (managers first),
/// then by key; a create's reference to a create of an earlier wave is marked as going
/// with the create.
pub fn execution_order(ops: &mut [Operation]) {
    let (ranks, carried) = {
        let waves = create_waves(ops);
        let wave = |o: &Operation| match o.op {
            OpKind::Create => waves.get(&o.key).unwrap_or(0),
            _ => 0,
        };
        // Each operation's phase and wave looked up once, not at every comparison.
        let ranks: Vec<(u8, usize)> = ops.iter().map(|o| (o.op.phase(), wave(o))).collect();
        (ranks, carried_references(ops, &waves))
    };
    let mut flags = carried.flags.into_iter();
    for i in carried.creates {
        for r in &mut ops[i as usize].pending_refs {
            r.at_create = flags.next().unwrap_or(false);
        }
    }
    // The position breaks ties, so the order is the stable sort's.
    let mut order: Vec<usize> = (0..ops.len()).collect();
    order.sort_unstable_by(|&i, &j| {
        let (a, b) = (&ops[i], &ops[j]);
        (ranks[i], &a.key, a.op, i).cmp(&(ranks[j], &b.key, b.op, j))
    });
    permute(ops, order);
}

/// Which references go with their creates, flat (one flag per reference, for two
/// bytes of heap each at most instead of a list per create).
struct Carried {
    /// The creates that POST and refer to someone, by position.
    creates: Vec<u32>,
    /// For each of their references in turn, whether it goes with the create.
    flags: Vec<bool>,
}

/// For each create that POSTs and refers to someone, whether each of its references goes
/// with it: those to a create of an earlier wave. Only a create that POSTs carries its
/// references; a link to an existing account sends what the plan listed, and its
/// references follow in the second pass.
fn carried_references(ops: &[Operation], waves: &Waves<'_>) -> Carried {
    let posts = |o: &Operation| o.op == OpKind::Create && o.remote_id.is_none();
    let mut carried = Carried {
        creates: Vec::new(),
        flags: Vec::new(),
    };
    for (i, o) in ops.iter().enumerate() {
        let mine = match waves.get(&o.key) {
            Some(w) if posts(o) && !o.pending_refs.is_empty() => w,
            _ => continue,
        };
        let Ok(i) = u32::try_from(i) else { continue };
        carried.creates.push(i);
        let flags = o
            .pending_refs
            .iter()
            .map(|r| waves.get(&r.key).is_some_and(|w| w < mine));
        carried.flags.extend(flags);
    }
    carried
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
    let each: Vec<usize> = {
        let waves = create_waves(&ops);
        ops.iter()
            .map(|op| match op.op {
                OpKind::Create => waves.get(&op.key).unwrap_or(0),
                _ => 0,
            })
            .collect()
    };
    let mut out: Vec<Vec<Operation>> = Vec::new();
    for (op, w) in ops.into_iter().zip(each) {
        if out.len() <= w {
            out.resize_with(w + 1, Vec::new);
        }
        out[w].push(op);
    }
    out.retain(|w| !w.is_empty());
    out
}
