//! Skipping the unchanged. A person whose last full plan in an app asked for nothing is
//! *settled*; while what that plan was computed from stays the same (the fingerprint) and
//! no date-driven change is due, a cycle leaves them out of mapping and planning, and
//! plans exactly what mapping everyone would. Pure: the engine loads and stores the stamps.
//!
//! What one person's plan depends on beyond their own record and the app's config, and how
//! each is covered:
//! - their link (account id, last pushed hash, lifecycle): in the fingerprint;
//! - the accounts their references point to: each target's account id in the fingerprint,
//!   and a target without an account keeps them planned unless the target is settled too;
//! - their group memberships (apps managing groups): in the fingerprint, and a left-out
//!   person's memberships stand as they are ([`AppInput::settled`]);
//! - the date: the first day their target may change is kept (`due`), and they are planned
//!   from that day on;
//! - a userName another planned person maps to: both are planned ([`bring_back`]).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Days, NaiveDate, Utc};
use sha2::{Digest, Sha256};

use super::input::{AppInput, AppPolicy, DesiredPerson, GroupState, LinkLifecycle, LinkState};
use super::plan::AppPlan;
use super::target::{target, Target};

/// What a person's last full plan in an app was computed from, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settled {
    /// The fingerprint of the plan's inputs.
    pub fingerprint: Fingerprint,
    /// The lowercase userName they hold (None: they claim none).
    pub user_name: Option<String>,
    /// HR keys their references point to.
    pub refs: Vec<String>,
    /// The first day (UTC) their target may change.
    pub due: Option<NaiveDate>,
}

/// The stamps a cycle read, by person key: a list in key order, looked up and never
/// edited (a map of a million stamps, filled in key order, leaves half of each node empty).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct SettledByKey(Vec<(String, Settled)>);

impl SettledByKey {
    /// The stamp of `key`.
    pub fn get(&self, key: &str) -> Option<&Settled> {
        let i = self.0.binary_search_by(|(k, _)| k.as_str().cmp(key)).ok()?;
        Some(&self.0[i].1)
    }

    /// A lookup for keys asked in order: each costs a step or two instead of a search
    /// (a key asked out of order is searched for).
    pub fn walk(&self) -> Walk<'_> {
        Walk {
            stamps: self,
            at: 0,
        }
    }

    /// The stamped keys, in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> + '_ {
        self.0.iter().map(|(k, _)| k.as_str())
    }

    /// True when nobody is stamped.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Looks stamps up for keys that mostly come in key order (see [`SettledByKey::walk`]).
pub struct Walk<'a> {
    stamps: &'a SettledByKey,
    at: usize,
}

impl<'a> Walk<'a> {
    /// The stamp of `key`.
    pub fn get(&mut self, key: &str) -> Option<&'a Settled> {
        let list = &self.stamps.0;
        // Behind the walk: searched for, and the walk stays where it is.
        let passed = self.at.checked_sub(1).and_then(|i| list.get(i));
        if passed.is_some_and(|(k, _)| k.as_str() >= key) {
            return self.stamps.get(key);
        }
        while list.get(self.at).is_some_and(|(k, _)| k.as_str() < key) {
            self.at += 1;
        }
        match list.get(self.at) {
            Some((k, s)) if k == key => Some(s),
            _ => None,
        }
    }
}

impl From<Vec<(String, Settled)>> for SettledByKey {
    /// Orders the list by key; of stamps of one key, one stays.
    fn from(mut stamps: Vec<(String, Settled)>) -> Self {
        // Stamps are read in key order: sorting only checks it, and allocates nothing.
        stamps.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        stamps.dedup_by(|a, b| a.0 == b.0);
        stamps.shrink_to_fit();
        SettledByKey(stamps)
    }
}

impl FromIterator<(String, Settled)> for SettledByKey {
    fn from_iter<I: IntoIterator<Item = (String, Settled)>>(iter: I) -> Self {
        Self::from(iter.into_iter().collect::<Vec<_>>())
    }
}

/// A fingerprint: the first 16 bytes of a SHA-256 of a plan's inputs.
pub type Fingerprint = [u8; 16];

/// What fingerprints are computed against: the app's config digest, its links (a left-out
/// person's link may be in brief: what was pushed is not read) and group memberships.
pub struct Basis<'a> {
    app: &'a [u8],
    links: &'a BTreeMap<String, LinkState>,
    /// Per member: the managed groups they are in, and whether each exists in the app.
    member_of: BTreeMap<&'a str, Vec<(&'a str, bool)>>,
}

impl<'a> Basis<'a> {
    /// The basis of one app; memberships count only when the app manages groups.
    pub fn new(
        app: &'a [u8],
        links: &'a BTreeMap<String, LinkState>,
        groups: &'a BTreeMap<String, GroupState>,
        manages_groups: bool,
    ) -> Self {
        let mut member_of: BTreeMap<&str, Vec<(&str, bool)>> = BTreeMap::new();
        if manages_groups {
            for (name, g) in groups {
                for m in &g.members {
                    member_of
                        .entry(m.as_str())
                        .or_default()
                        .push((name.as_str(), g.remote_id.is_some()));
                }
            }
        }
        Basis {
            app,
            links,
            member_of,
        }
    }

    /// The account a reference to `key` resolves to: their live link's id.
    fn account_of(&self, key: &str) -> Option<&str> {
        self.links
            .get(key)
            .filter(|l| l.lifecycle != LinkLifecycle::Deleted)
            .map(|l| l.remote_id.as_str())
    }

    /// The fingerprint of a person's plan inputs: the app's config, their record, their
    /// link, the accounts their references resolve to, and their memberships.
    pub fn fingerprint(&self, key: &str, record: &[u8], refs: &[String]) -> Fingerprint {
        self.fingerprint_linked(key, self.links.get(key), record, refs)
    }

    /// [`Basis::fingerprint`] with the person's link already found.
    fn fingerprint_linked(
        &self,
        key: &str,
        link: Option<&LinkState>,
        record: &[u8],
        refs: &[String],
    ) -> Fingerprint {
        let mut h = Sha256::new();
        let mut feed = |b: &[u8]| {
            h.update((b.len() as u64).to_le_bytes());
            h.update(b);
        };
        feed(self.app);
        feed(key.as_bytes());
        feed(record);
        match link {
            Some(l) => {
                feed(l.remote_id.as_bytes());
                feed(l.user_name.as_bytes());
                feed(l.hash.as_bytes());
                feed(&[l.lifecycle as u8]);
                let at = l.deactivated_at.map(|t| t.timestamp_micros());
                feed(&at.map_or([0xff; 8], i64::to_le_bytes));
            }
            None => feed(b"\x00unlinked"),
        }
        for r in refs {
            feed(r.as_bytes());
            feed(self.account_of(r).unwrap_or("\x00none").as_bytes());
        }
        for (group, exists) in self.member_of.get(key).into_iter().flatten() {
            feed(group.as_bytes());
            feed(&[u8::from(*exists)]);
        }
        let mut fp = [0; 16];
        fp.copy_from_slice(&h.finalize()[..16]);
        fp
    }
}

/// The persons present with a record digest whom the app's plan can leave out today: settled,
/// the same fingerprint now, nothing due. [`bring_back`] then returns those the persons
/// planned concern.
pub fn skippable<'k>(
    basis: &Basis<'_>,
    stamps: &SettledByKey,
    present: impl Iterator<Item = (&'k str, &'k [u8])>,
    today: NaiveDate,
) -> BTreeSet<String> {
    let mut stamps = stamps.walk();
    // The present persons come in key order, as do the links: each is found by walking.
    let mut links = basis.links.iter().peekable();
    let skip: BTreeSet<String> = present
        .filter(|(key, record)| {
            stamps.get(key).is_some_and(|s| {
                let link = walk_to(&mut links, key).or_else(|| basis.links.get(*key));
                s.due.is_none_or(|d| d > today)
                    && basis.fingerprint_linked(key, link, record, &s.refs) == s.fingerprint
            })
        })
        .map(|(key, _)| key.to_string())
        .collect();
    skip
}

/// Advances `links` to `key` and returns its link; `None` when `key` has none or lies
/// behind the walk (the caller then looks it up).
fn walk_to<'l>(
    links: &mut std::iter::Peekable<std::collections::btree_map::Iter<'l, String, LinkState>>,
    key: &str,
) -> Option<&'l LinkState> {
    while links.next_if(|(k, _)| k.as_str() < key).is_some() {}
    links
        .peek()
        .filter(|(k, _)| k.as_str() == key)
        .map(|(_, l)| *l)
}

/// Takes out of `skip` every person a reference of whom points to a person without an
/// account who is planned (their plan may now wait for that account); returns them.
fn hold_references(
    skip: &mut BTreeSet<String>,
    basis: &Basis<'_>,
    stamps: &SettledByKey,
) -> Vec<String> {
    let mut back = Vec::new();
    loop {
        let mut walk = stamps.walk();
        let waiting: Vec<String> = skip
            .iter()
            .filter(|k| {
                walk.get(k).is_some_and(|s| {
                    s.refs
                        .iter()
                        .any(|r| basis.account_of(r).is_none() && !skip.contains(r))
                })
            })
            .cloned()
            .collect();
        if waiting.is_empty() {
            return back;
        }
        for k in waiting {
            skip.remove(&k);
            back.push(k);
        }
    }
}

/// Brings back into the plan the left-out persons whose userName a planned person maps to
/// (a collision sets both aside), and then those whose references now wait on a planned
/// person; returns them, to be mapped and planned too.
pub fn bring_back(
    skip: &mut BTreeSet<String>,
    basis: &Basis<'_>,
    stamps: &SettledByKey,
    planned: &BTreeMap<String, DesiredPerson>,
) -> Vec<String> {
    let names: BTreeSet<String> = planned
        .values()
        .filter_map(DesiredPerson::user_name)
        .map(str::to_lowercase)
        .collect();
    let mut walk = stamps.walk();
    let mut back: Vec<String> = match names.is_empty() {
        true => Vec::new(),
        false => skip
            .iter()
            .filter(|k| {
                walk.get(k)
                    .and_then(|s| s.user_name.as_ref())
                    .is_some_and(|u| names.contains(u))
            })
            .cloned()
            .collect(),
    };
    for k in &back {
        skip.remove(k);
    }
    back.extend(hold_references(skip, basis, stamps));
    back
}

/// What a cycle records after a full plan of the planned persons: the stamps of those it
/// found settled, and the keys of those it did not.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Stamps {
    /// Settled persons by key.
    pub settled: BTreeMap<String, Settled>,
    /// Planned persons something was planned for (or who cannot be settled).
    pub unsettled: BTreeSet<String>,
}

/// The stamps a plan leaves: every planned person with a record digest, no operation,
/// hold, quarantine, conflict or refusal in the plan, and references that resolve is
/// settled, with the fingerprint of what their plan was computed from.
pub fn stamps<'r>(
    plan: &AppPlan,
    input: &AppInput<'_>,
    basis: &Basis<'_>,
    record: impl Fn(&str) -> Option<&'r [u8]>,
) -> Stamps {
    let mentioned = mentioned(plan);
    let mut out = Stamps::default();
    for (key, p) in input.persons {
        let settled = (p.absent_cycles == 0
            && p.frozen.is_none()
            && p.mapping_error.is_none()
            && !mentioned.contains(key.as_str()))
        .then(|| record(key))
        .flatten()
        .map(|rec| settle(input, basis, p, rec));
        match settled {
            Some(s) => {
                out.settled.insert(key.clone(), s);
            }
            None => {
                out.unsettled.insert(key.clone());
            }
        }
    }
    out
}

/// The stamp of a person their plan found settled.
fn settle(input: &AppInput<'_>, basis: &Basis<'_>, p: &DesiredPerson, record: &[u8]) -> Settled {
    let refs: Vec<String> = p.attrs.refs().map(|(_, k)| k.to_string()).collect();
    let claims = matches!(
        target(p, input.policy, input.now.date_naive()),
        Target::Active | Target::Inactive(_)
    );
    let link = input.links.get(&p.key);
    Settled {
        fingerprint: basis.fingerprint(&p.key, record, &refs),
        user_name: claims
            .then(|| p.user_name().map(str::to_lowercase))
            .flatten(),
        refs,
        due: due(p, input.policy, link, input.now),
    }
}

/// Every person key a plan names: operations (and their members), holds, quarantines,
/// conflicts, refusals, vanished links.
fn mentioned(plan: &AppPlan) -> BTreeSet<&str> {
    let ops = plan
        .operations
        .iter()
        .chain(plan.held.iter().map(|h| &h.operation));
    let mut keys: BTreeSet<&str> = BTreeSet::new();
    for op in ops {
        keys.insert(op.key.as_str());
        keys.extend(op.members.iter().map(String::as_str));
    }
    keys.extend(plan.quarantined.iter().map(|q| q.key.as_str()));
    keys.extend(plan.conflicts.iter().map(|c| c.key.as_str()));
    keys.extend(plan.refused.iter().map(|r| r.key.as_str()));
    keys.extend(plan.vanished.iter().map(String::as_str));
    keys
}

/// The first day after today on which the person's target may change: the pre-provision
/// window opening, the start date, the end date and the day after it (dates are compared
/// by day), or the day a deactivated account is due for deletion (an instant: that whole
/// day counts).
pub fn due(
    p: &DesiredPerson,
    policy: &AppPolicy,
    link: Option<&LinkState>,
    now: DateTime<Utc>,
) -> Option<NaiveDate> {
    let today = now.date_naive();
    let mut days = Vec::new();
    if let Some(start) = p.start_date {
        let pre = Days::new(u64::from(policy.pre_provision_days));
        days.push(start.checked_sub_days(pre).unwrap_or(start));
        days.push(start);
    }
    if let Some(end) = p.end_date {
        days.push(end);
        days.extend(end.checked_add_days(Days::new(1)));
    }
    let by_date = days.into_iter().filter(|d| *d > today).min();
    let deletion = match (
        policy.delete_after_days,
        link.and_then(|l| l.deactivated_at),
    ) {
        (Some(n), Some(at)) => Some(at + chrono::Duration::days(i64::from(n))),
        _ => None,
    }
    .filter(|when| *when > now)
    .map(|when| when.date_naive());
    by_date.into_iter().chain(deletion).min()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn stamp() -> Settled {
        Settled {
            fingerprint: [0; 16],
            user_name: None,
            refs: Vec::new(),
            due: None,
        }
    }

    proptest! {
        /// Walking finds what a search finds, whatever order the keys are asked in.
        #[test]
        fn a_walk_finds_what_a_search_finds(
            stored in proptest::collection::btree_set(0u16..400, 0..60),
            asked in proptest::collection::vec(0u16..420, 0..80),
            sorted in any::<bool>(),
        ) {
            let stamps: SettledByKey =
                stored.iter().map(|k| (format!("E{k:04}"), stamp())).collect();
            let mut asked: Vec<String> = asked.iter().map(|k| format!("E{k:04}")).collect();
            if sorted {
                asked.sort();
            }
            let mut walk = stamps.walk();
            for k in &asked {
                prop_assert_eq!(walk.get(k).is_some(), stamps.get(k).is_some(), "{}", k);
                prop_assert_eq!(stamps.get(k).is_some(), stored.iter().any(|s| format!("E{s:04}") == *k));
            }
        }
    }
}
