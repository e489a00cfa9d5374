//! The per-app planner: persons + links (+ the app's accounts) → operations, conflicts,
//! quarantined persons, orphans. Pure and deterministic.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde_json::Value;

use super::accounts::{Accounts, Found};
use super::diff::union_keys;
use super::groups::plan_groups;
use super::input::{AppInput, DesiredPerson, LinkLifecycle, LinkState, RemoteUser};
use super::person_ops::{create, deprovision, relink_idle, update, Resolved};
use super::plan::{AppPlan, AppQuarantine, MatchDecision, Operation, PendingRef};
use super::target::{Target, Targets};

/// Plans one app: every person's target, userName collisions set aside, then each
/// person's operations, the orphaned accounts, the groups, and the plan put in order.
pub fn plan_app(input: &AppInput<'_>) -> AppPlan {
    plan_app_with(input, None)
}

/// The app's accounts read only to plan its creates (not for drift or orphans), and what
/// `on_unlinked_match` decides for an unstamped account that matches a person.
#[derive(Debug, Clone, Copy)]
pub struct Candidates<'a> {
    /// The accounts, by id.
    pub accounts: &'a BTreeMap<String, RemoteUser>,
    /// The decision for a match by userName or email.
    pub on_match: MatchDecision,
    /// Whether an unstamped account is the person's by userName (`match_on`).
    pub by_user_name: bool,
    /// Whether an unstamped account is the person's by email (`match_on`).
    pub by_email: bool,
}

/// [`plan_app`], with the app's accounts read to plan creates: a person whose account
/// exists is linked (or skipped, or failed) instead of created, and every other create is
/// marked as checked against the app.
pub fn plan_app_with(input: &AppInput<'_>, candidates: Option<Candidates<'_>>) -> AppPlan {
    let mut planning = Planning::start(input, candidates);
    planning.persons(false);
    planning.finish()
}

/// [`plan_app`], unless the app gets a new account: `None` as soon as the first create
/// of one is planned. A caller that reads the app's accounts before its creates stops
/// there and plans once with them, instead of planning everyone twice.
pub fn plan_app_unless_creating(input: &AppInput<'_>) -> Option<AppPlan> {
    let mut planning = Planning::start(input, None);
    let stopped = planning.persons(true);
    (!stopped).then(|| planning.finish())
}

/// One app's plan in the making.
struct Planning<'a, 'i> {
    plan: AppPlan,
    app: AppView<'a, 'i>,
    accounts: Accounts<'i>,
}

impl<'a, 'i> Planning<'a, 'i> {
    /// Every person's target, and userName collisions set aside.
    fn start(input: &'a AppInput<'i>, candidates: Option<Candidates<'i>>) -> Self {
        let mut plan = AppPlan::new(&input.policy.name, &input.policy.profile);
        plan.remote_read = input.remote.is_some();
        plan.accounts_read = input.remote.is_some() || candidates.is_some();
        let targets = Targets::of_app(input);
        plan.operations.reserve(creates_expected(input, &targets));
        let blocked = user_name_collisions(input, &targets, &mut plan);
        let on_match = candidates.map_or(MatchDecision::Link, |c| c.on_match);
        let app = AppView {
            input,
            targets,
            blocked,
            on_match,
        };
        let mut accounts = Accounts::new(input.remote, candidates.map(|c| c.accounts), input.links);
        if let Some(c) = candidates {
            accounts.match_on(c.by_user_name, c.by_email);
        }
        Planning {
            plan,
            app,
            accounts,
        }
    }

    /// Each person's operations; with `stop_at_create`, stops at the first create of a
    /// new account and returns true (creates are only ever added, so one planned here
    /// is one in the finished plan).
    fn persons(&mut self, stop_at_create: bool) -> bool {
        let input = self.app.input;
        for key in union_keys(input.persons, input.links) {
            // A person left out as settled has no record here: nothing to plan for them.
            if input.settled.is_some_and(|s| s.contains(key)) {
                continue;
            }
            let before = self.plan.operations.len();
            self.app
                .plan_person(&mut self.plan, &mut self.accounts, key);
            let new = &self.plan.operations[before..];
            if stop_at_create && new.iter().any(Operation::creates_account) {
                return true;
            }
        }
        false
    }

    /// The orphaned accounts, the groups, and the plan put in order.
    fn finish(self) -> AppPlan {
        let Planning {
            mut plan,
            app,
            accounts,
        } = self;
        drop_refs_to_unmade(&mut plan);
        accounts.orphans(&mut plan, app.input);
        if app.input.manages_groups {
            plan_groups(&mut plan, app.input, &app.targets);
        }
        plan.finish();
        plan
    }
}

/// References to a person whose create is skipped or failed for a matching account wait:
/// no account comes of it this cycle.
fn drop_refs_to_unmade(plan: &mut AppPlan) {
    let unmade: BTreeSet<String> = plan
        .operations
        .iter()
        .filter(|o| {
            o.adopt
                .as_ref()
                .is_some_and(|a| a.decision != MatchDecision::Link)
        })
        .map(|o| o.key.clone())
        .collect();
    if unmade.is_empty() {
        return;
    }
    for op in &mut plan.operations {
        op.pending_refs.retain(|r| !unmade.contains(&*r.key));
    }
}

/// How many creates the plan is to hold: the persons with no link who should have an
/// account (all but the few set aside). Room for them is made at once, so that an initial
/// sync's list of a million operations is not copied as it grows, the old list alive
/// while it is.
fn creates_expected(input: &AppInput<'_>, targets: &Targets<'_>) -> usize {
    input
        .persons
        .keys()
        .filter(|k| !input.links.contains_key(*k))
        .filter(|k| matches!(targets.of(k), Target::Active | Target::Inactive(_)))
        .count()
}

/// What planning one app knows before it looks at each person.
struct AppView<'a, 'i> {
    input: &'a AppInput<'i>,
    /// Where each person should stand.
    targets: Targets<'i>,
    /// Persons set aside for a userName collision (or an empty userName).
    blocked: BTreeSet<String>,
    /// What `on_unlinked_match` decides for a matching unstamped account.
    on_match: MatchDecision,
}

/// Where one person stands in the app before anything is decided for them.
struct Standing<'i> {
    person: &'i DesiredPerson,
    /// Their link, unless hrsync deleted the account.
    link: Option<&'i LinkState>,
    /// Their account as the app holds it (when the app was read).
    remote: Option<&'i RemoteUser>,
    /// Linked, but the app read no longer holds the account.
    vanished: bool,
    /// No live link, or a link to a vanished account.
    unlinked: bool,
    /// hrsync deleted their account.
    deleted: bool,
}

impl<'i> AppView<'_, 'i> {
    /// Plans one person: skipped when exempt or unknown to every source, set aside when
    /// their record cannot be pushed, otherwise the operations their target asks for.
    fn plan_person(&self, plan: &mut AppPlan, accounts: &mut Accounts<'i>, key: &str) {
        let Some(st) = self.standing(key) else {
            return;
        };
        if self.is_set_aside(key, st.person) {
            set_aside(plan, accounts, key, &st);
            return;
        }
        let tgt = self.targets.of(key).clone();
        let resolved = self.resolve(st.person);
        if st.vanished {
            plan.vanished.push(key.to_string());
        }
        self.plan_lifecycle(plan, accounts, key, &st, &tgt, resolved);
    }

    /// The person's standing; `None` when the app exempts them, or when they are linked
    /// but unknown to every source and not in the snapshot: nothing to decide on (absence
    /// is counted through the snapshot, never guessed here).
    fn standing(&self, key: &str) -> Option<Standing<'i>> {
        let input = self.input;
        let policy = input.policy;
        let person = input.persons.get(key);
        let link = input
            .links
            .get(key)
            .filter(|l| l.lifecycle != LinkLifecycle::Deleted);
        if policy.is_exempt(key, person.and_then(DesiredPerson::user_name))
            || link.is_some_and(|l| policy.is_exempt(key, Some(&l.user_name)))
        {
            return None;
        }
        let person = person?;
        let remote = match (input.remote, link) {
            (Some(r), Some(l)) => r.get(&l.remote_id),
            _ => None,
        };
        let vanished = input.remote.is_some() && link.is_some() && remote.is_none();
        Some(Standing {
            person,
            link,
            remote,
            vanished,
            unlinked: link.is_none() || vanished,
            deleted: link.is_none() && input.links.contains_key(key),
        })
    }

    /// Nothing is pushed for a person whose record is frozen, failed to map, or collides.
    fn is_set_aside(&self, key: &str, person: &DesiredPerson) -> bool {
        person.frozen.is_some() || person.mapping_error.is_some() || self.blocked.contains(key)
    }

    /// The operations the person's target asks for, given their link and account.
    fn plan_lifecycle(
        &self,
        plan: &mut AppPlan,
        accounts: &mut Accounts<'i>,
        key: &str,
        st: &Standing<'i>,
        tgt: &Target,
        resolved: Resolved,
    ) {
        let input = self.input;
        match (tgt, st.link) {
            (Target::Active | Target::Inactive(_), _) if st.unlinked => {
                let active = matches!(tgt, Target::Active);
                let found = accounts.find(key, st.person);
                if let Some(f) = found {
                    accounts.claim(&f.account().id);
                }
                let how = super::person_ops::CreateHow {
                    active,
                    existing: found,
                    on_match: self.on_match,
                    checked: accounts.was_read(),
                    pre_read: input.remote.is_none(),
                };
                create(plan, input, key, st.person, resolved, &how, tgt);
            }
            (Target::Active | Target::Inactive(_), None) => {}
            (Target::Active | Target::Inactive(_), Some(l)) => {
                let want_active = match tgt {
                    Target::Active => true,
                    // An account already active stays so; pre-provisioned ones stay inactive.
                    _ => l.lifecycle == LinkLifecycle::Active,
                };
                update(
                    plan,
                    input,
                    key,
                    st.person,
                    l,
                    st.remote,
                    resolved,
                    want_active,
                );
            }
            (Target::Deprovision(reason), Some(l)) if !st.vanished => {
                deprovision(plan, input, key, l, st.remote, reason);
            }
            // An account hrsync deleted stays so: where the app's DELETE only deactivates,
            // relinking it would delete it again every cycle.
            (Target::Deprovision(_) | Target::Keep(_), _) if st.unlinked && !st.deleted => {
                claim_idle(plan, accounts, input, key, st.person, tgt);
            }
            (Target::Deprovision(_) | Target::Keep(_), _) => {}
        }
    }

    /// Whether the person has, or will have this cycle, an account references can point
    /// to: linked, or about to be created.
    fn will_have_account(&self, key: &str) -> bool {
        let input = self.input;
        let linked = input
            .links
            .get(key)
            .is_some_and(|l| l.lifecycle != LinkLifecycle::Deleted);
        let creatable = input.persons.get(key).is_some_and(|p| {
            p.mapping_error.is_none()
                && p.frozen.is_none()
                && !self.blocked.contains(key)
                && !input.policy.is_exempt(key, p.user_name())
        }) && matches!(self.targets.of(key), Target::Active | Target::Inactive(_));
        linked || creatable
    }

    /// The person's attributes with references to other persons resolved to their
    /// account ids, or left pending for accounts this cycle creates; and the person's key
    /// as `externalId`. Without a resolved reference, the map is the one every app of
    /// the person's mapping class shares.
    fn resolve(&self, person: &DesiredPerson) -> Resolved {
        let mut ids = Vec::new();
        let mut pending = Vec::new();
        for (path, target_key) in person.attrs.refs() {
            let linked = self
                .input
                .links
                .get(&**target_key)
                .filter(|l| l.lifecycle != LinkLifecycle::Deleted);
            match linked {
                Some(l) => ids.push((path.clone(), Value::String(l.remote_id.clone()))),
                None if self.will_have_account(target_key) => pending.push(PendingRef {
                    path: path.clone(),
                    key: target_key.clone(),
                    at_create: false,
                }),
                None => {}
            }
        }
        // A pending list lives as long as the plan, one per create: it keeps no room for
        // more than it holds.
        pending.shrink_to_fit();
        let mut attrs = person.attrs.values_with(&person.key);
        if !ids.is_empty() {
            let map = Arc::make_mut(&mut attrs);
            map.extend(ids);
            // A reference's path is the person's own; the key stays theirs.
            map.insert("externalId", Value::String(person.key.clone()));
        }
        Resolved { attrs, pending }
    }
}

/// A person set aside: nothing is pushed for them this cycle, but their account is still
/// theirs (never an orphan, whatever the orphans policy says), and the plan says why.
fn set_aside(plan: &mut AppPlan, accounts: &mut Accounts<'_>, key: &str, st: &Standing<'_>) {
    let person = st.person;
    if let Some(found) = accounts.find(key, person).filter(|_| st.unlinked) {
        accounts.claim(&found.account().id);
    }
    if let Some(why) = &person.frozen {
        plan.quarantined.push(AppQuarantine {
            key: key.to_string(),
            reason: format!(
                "HR record set aside at the source ({why}); the account is left as it is"
            ),
        });
    } else if let Some(err) = &person.mapping_error {
        plan.quarantined.push(AppQuarantine {
            key: key.to_string(),
            reason: err.clone(),
        });
    }
}

/// Resync after a lost state: the accounts of leavers, persons out of scope and persons
/// not yet due are theirs too.
fn claim_idle(
    plan: &mut AppPlan,
    accounts: &mut Accounts<'_>,
    input: &AppInput<'_>,
    key: &str,
    person: &DesiredPerson,
    tgt: &Target,
) {
    match accounts.find(key, person) {
        Some(Found::ExternalId(u)) => {
            accounts.claim(&u.id);
            relink_idle(plan, input, key, person, u, tgt);
        }
        // No create is planned that would adopt it; it is theirs once one is.
        Some(Found::Matches(u, _)) if matches!(tgt, Target::Keep(_)) => accounts.claim(&u.id),
        // hrsync never stamped it, so it never offboards it as the person's
        // (ownership); the orphans policy applies.
        Some(Found::Matches(..)) | None => {}
    }
}

/// Two persons who would own the same userName are both set aside (never pushed).
fn user_name_collisions(
    input: &AppInput<'_>,
    targets: &Targets<'_>,
    plan: &mut AppPlan,
) -> BTreeSet<String> {
    // (lowercased userName, key), sorted by name with each name's keys in key order: a
    // list sorted once instead of a map with a list per person.
    let mut names: Vec<(Cow<'_, str>, &str)> = Vec::with_capacity(input.persons.len());
    for (key, p) in input.persons {
        if !matches!(targets.of(key), Target::Active | Target::Inactive(_)) {
            continue;
        }
        match p.user_name() {
            Some(u) => names.push((lowercased(u), key)),
            None if p.mapping_error.is_none() && p.frozen.is_none() => {
                plan.quarantined.push(AppQuarantine {
                    key: key.clone(),
                    reason: "userName template rendered empty".into(),
                })
            }
            None => {}
        }
    }
    let mut blocked: BTreeSet<String> = plan.quarantined.iter().map(|q| q.key.clone()).collect();
    names.sort_by(|a, b| a.0.cmp(&b.0));
    for same in names.chunk_by(|a, b| a.0 == b.0) {
        if same.len() < 2 {
            continue;
        }
        let name = &same[0].0;
        let keys: Vec<&str> = same.iter().map(|(_, k)| *k).collect();
        for k in &keys {
            if input.persons.get(*k).is_some_and(|p| p.frozen.is_some()) {
                // Frozen: still holds its userName (the other person is blocked), and is
                // reported as frozen rather than twice.
                continue;
            }
            let others: Vec<&str> = keys.iter().copied().filter(|o| o != k).collect();
            plan.quarantined.push(AppQuarantine {
                key: (*k).to_string(),
                reason: format!(
                    "userName {name:?} is also mapped from {}",
                    others.join(", ")
                ),
            });
            blocked.insert((*k).to_string());
        }
    }
    blocked
}

/// `s` lowercased; text without uppercase (most userNames) is borrowed as it is.
fn lowercased(s: &str) -> Cow<'_, str> {
    match s.is_ascii() && !s.bytes().any(|b| b.is_ascii_uppercase()) {
        true => Cow::Borrowed(s),
        false => Cow::Owned(s.to_lowercase()),
    }
}
