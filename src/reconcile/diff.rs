//! Attribute-level three-way diff: base (last pushed), ours (HR), theirs (the app, when
//! read), decided per attribute by the app's conflict rules.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::input::ConflictRules;
use super::plan::{Change, ConflictRule};

/// The outcome of diffing one account.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct AttrDiff {
    /// Changes to push to the app.
    pub push: Vec<Change>,
    /// Paths whose base becomes the app's value, without a request.
    pub rebase: Vec<Change>,
    /// Differences left in place and reported: (path, app value, HR value, rule).
    pub conflicts: Vec<(String, Option<Value>, Option<Value>, ConflictRule)>,
}

impl AttrDiff {
    /// True when nothing is pushed, rebased or reported.
    pub fn is_empty(&self) -> bool {
        self.push.is_empty() && self.rebase.is_empty() && self.conflicts.is_empty()
    }
}

/// Values equal for SCIM purposes (strings compared exactly; numbers and booleans by value).
pub fn same(a: Option<&Value>, b: Option<&Value>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(Value::Null), None) | (None, Some(Value::Null)) => true,
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

/// Diffs without the app's values: what HR changed since the last push.
/// `existing` is false for a create (every rule pushes on create).
pub fn diff_against_base(
    base: &BTreeMap<String, Value>,
    ours: &BTreeMap<String, Value>,
    rules: &ConflictRules,
) -> AttrDiff {
    let mut d = AttrDiff::default();
    for path in union(base, ours) {
        if rules.for_path(path) == ConflictRule::AppWins {
            continue; // create-only
        }
        let (b, o) = (base.get(path), ours.get(path));
        if !same(b, o) {
            d.push.push(Change {
                path: path.clone(),
                old: b.cloned(),
                new: o.cloned(),
            });
        }
    }
    d
}

/// Three-way diff with the app's current values. `base` is `None` for an account that was
/// never pushed by hrsync (a relink), where the app's values stand in for the base.
pub fn diff_three_way(
    base: Option<&BTreeMap<String, Value>>,
    ours: &BTreeMap<String, Value>,
    theirs: &BTreeMap<String, Value>,
    rules: &ConflictRules,
) -> AttrDiff {
    let mut d = AttrDiff::default();
    let mut paths: BTreeSet<String> = ours.keys().cloned().collect();
    if let Some(b) = base {
        paths.extend(b.keys().cloned());
    }
    for path in paths {
        let rule = rules.for_path(&path);
        let o = ours.get(&path);
        let t = theirs.get(&path);
        let b = match base {
            Some(b) => b.get(&path),
            None => t,
        };
        if same(o, t) {
            if !same(b, t) {
                d.rebase.push(change(&path, b, t));
            }
            continue;
        }
        let hr_changed = !same(b, o) || base.is_none();
        let app_changed = !same(b, t);
        match rule {
            ConflictRule::AppWins => {
                if app_changed || base.is_none() {
                    d.rebase.push(change(&path, b, t));
                }
            }
            ConflictRule::HrWins => d.push.push(change(&path, t, o)),
            ConflictRule::Report if hr_changed && base.is_some() => {
                d.push.push(change(&path, t, o))
            }
            ConflictRule::Report => {
                d.conflicts
                    .push((path.clone(), t.cloned(), o.cloned(), ConflictRule::Report))
            }
        }
    }
    d
}

fn change(path: &str, old: Option<&Value>, new: Option<&Value>) -> Change {
    Change {
        path: path.to_string(),
        old: old.cloned(),
        new: new.cloned(),
    }
}

fn union<'m>(
    a: &'m BTreeMap<String, Value>,
    b: &'m BTreeMap<String, Value>,
) -> BTreeSet<&'m String> {
    a.keys().chain(b.keys()).collect()
}

/// The keys of both maps, each once, in order: a merge of the two sorted key sequences
/// (collecting them into a set cost a tree insert per person).
pub(super) fn union_keys<'k, A, B>(
    a: &'k BTreeMap<String, A>,
    b: &'k BTreeMap<String, B>,
) -> impl Iterator<Item = &'k String> {
    use std::cmp::Ordering;
    let (mut a, mut b) = (a.keys().peekable(), b.keys().peekable());
    std::iter::from_fn(move || match (a.peek(), b.peek()) {
        (Some(x), Some(y)) => match x.cmp(y) {
            Ordering::Less => a.next(),
            Ordering::Greater => b.next(),
            Ordering::Equal => {
                b.next();
                a.next()
            }
        },
        (Some(_), None) => a.next(),
        (None, _) => b.next(),
    })
}
