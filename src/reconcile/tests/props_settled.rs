//! Property test of skipping the unchanged: over random histories (records that change or
//! stay, dates that come as days pass, references, userNames taken from another person,
//! records set aside, absences, group memberships, config changes), the plan of a cycle
//! that leaves settled persons out (their links in brief, as the engine loads them) is the
//! plan of a cycle that maps and plans everyone.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Days, NaiveDate};
use hrsync_connectors::source::Lifecycle;
use proptest::prelude::*;
use serde_json::Value;

use super::model::{day, frozen, person, policy, World};
use crate::mapping::Mapped;
use crate::reconcile::input::{AppInput, AppPolicy, DesiredPerson, GroupState, LinkState};
use crate::reconcile::plan::{AppPlan, OpKind};
use crate::reconcile::plan_app;
use crate::reconcile::settled::{bring_back, skippable, stamps, Basis, Settled, SettledByKey};

const KEYS: &[&str] = &["E1", "E2", "E3", "E4", "E5", "E6", "E7", "BREAKGLASS"];

/// One person's HR record.
#[derive(Debug, Clone, PartialEq)]
struct Rec {
    present: bool,
    status: Lifecycle,
    title: usize,
    in_scope: bool,
    /// Days from day 0 (absolute, so that time passing brings them).
    start: Option<u32>,
    end: Option<u32>,
    manager: Option<usize>,
    /// Whose userName they map to (usually their own).
    name_of: Option<usize>,
    dept: usize,
    duplicated: bool,
}

fn rec() -> impl Strategy<Value = Rec> {
    (
        (
            prop::bool::weighted(0.9),
            prop_oneof![
                6 => Just(Lifecycle::Active),
                1 => Just(Lifecycle::Leave),
                2 => Just(Lifecycle::Terminated)
            ],
            0usize..3,
            prop::bool::weighted(0.9),
        ),
        (
            prop::option::weighted(0.35, 0u32..16),
            prop::option::weighted(0.25, 0u32..16),
            prop::option::weighted(0.5, 0usize..KEYS.len()),
            prop::option::weighted(0.1, 0usize..KEYS.len()),
            0usize..3,
            prop::bool::weighted(0.06),
        ),
    )
        .prop_map(
            |(
                (present, status, title, in_scope),
                (start, end, manager, name_of, dept, duplicated),
            )| {
                Rec {
                    present,
                    status,
                    title,
                    in_scope,
                    start,
                    end,
                    manager,
                    name_of,
                    dept,
                    duplicated,
                }
            },
        )
}

/// The app's config: a title template variant, pre-provisioning days, group management.
#[derive(Debug, Clone, PartialEq)]
struct Config {
    title_suffix: bool,
    pre_provision_days: u32,
    groups: bool,
}

fn config() -> impl Strategy<Value = Config> {
    (any::<bool>(), 0u32..4, any::<bool>()).prop_map(|(t, p, g)| Config {
        title_suffix: t,
        pre_provision_days: p,
        groups: g,
    })
}

/// One step: days passing, each person's record changed (Some) or kept (None), and maybe a
/// new config.
type Step = (u32, Vec<Option<Rec>>, Option<Config>);

fn history() -> impl Strategy<Value = (Config, Vec<Rec>, Vec<Step>)> {
    let step = (
        0u32..4,
        prop::collection::vec(prop::option::weighted(0.25, rec()), KEYS.len()),
        prop::option::weighted(0.15, config()),
    );
    (
        config(),
        prop::collection::vec(rec(), KEYS.len()),
        prop::collection::vec(step, 1..10),
    )
}

fn date(n: u32) -> NaiveDate {
    day(0).date_naive() + Days::new(u64::from(n))
}

/// The person the app should hold, mapped from their record through the config.
fn map(key: &str, r: &Rec, c: &Config) -> DesiredPerson {
    let titles = ["Engineer", "Senior Engineer", ""];
    let title = match (titles[r.title], c.title_suffix) {
        ("", _) | (_, false) => titles[r.title].to_string(),
        (t, true) => format!("{t} (EMEA)"),
    };
    let mut p = person(
        key,
        r.status,
        &title,
        r.in_scope,
        r.start.map(date),
        r.end.map(date),
        r.manager.map(|m| KEYS[m]).filter(|m| *m != key),
        0,
    );
    if let Some(other) = r.name_of {
        let name = format!("{}@corp.example", KEYS[other].to_lowercase());
        p.attrs
            .insert("userName".into(), Mapped::Value(Value::String(name)));
    }
    if c.groups {
        p.groups = [format!("dept-{}", r.dept)].into();
    }
    p
}

fn app_policy(c: &Config) -> AppPolicy {
    let mut p = policy();
    p.pre_provision_days = c.pre_provision_days;
    p
}

/// The app's config digest: the config and policy as a whole.
fn app_digest(c: &Config) -> Vec<u8> {
    format!("{c:?} {:?}", app_policy(c)).into_bytes()
}

/// Applies the plan's group operations to the recorded groups, as the engine records them.
fn apply_groups(groups: &mut BTreeMap<String, GroupState>, plan: &AppPlan) {
    for op in &plan.operations {
        match op.op {
            OpKind::GroupCreate => {
                groups.entry(op.key.clone()).or_default().remote_id = Some(format!("g-{}", op.key));
            }
            OpKind::MembershipAdd => {
                let g = groups.entry(op.key.clone()).or_default();
                g.members.extend(op.members.iter().cloned());
            }
            OpKind::MembershipRemove => {
                if let Some(g) = groups.get_mut(&op.key) {
                    g.members.retain(|m| !op.members.contains(m));
                }
            }
            OpKind::GroupDelete => {
                groups.remove(&op.key);
            }
            _ => {}
        }
    }
}

/// Everything one cycle plans from.
struct Cycle<'a> {
    policy: &'a AppPolicy,
    persons: &'a BTreeMap<String, DesiredPerson>,
    links: &'a BTreeMap<String, LinkState>,
    groups: &'a BTreeMap<String, GroupState>,
    manages_groups: bool,
    now: chrono::DateTime<chrono::Utc>,
}

impl Cycle<'_> {
    fn input<'s>(
        &'s self,
        persons: &'s BTreeMap<String, DesiredPerson>,
        links: &'s BTreeMap<String, LinkState>,
        settled: Option<&'s BTreeSet<String>>,
    ) -> AppInput<'s> {
        AppInput {
            policy: self.policy,
            persons,
            links,
            remote: None,
            groups: self.groups,
            manages_groups: self.manages_groups,
            now: self.now,
            forms: None,
            settled,
        }
    }
}

/// Plans the cycle leaving settled persons out, as the engine does; records the stamps
/// the plan leaves; returns the plan.
fn plan_skipping(
    cycle: &Cycle<'_>,
    digest: &[u8],
    records: &BTreeMap<String, Vec<u8>>,
    stamped: &mut BTreeMap<String, Settled>,
) -> (AppPlan, usize) {
    // The engine starts from every link in brief.
    let brief: BTreeMap<String, LinkState> = cycle
        .links
        .iter()
        .map(|(k, l)| {
            let mut l = l.clone();
            l.last_pushed.clear();
            (k.clone(), l)
        })
        .collect();
    let basis = Basis::new(digest, &brief, cycle.groups, cycle.manages_groups);
    let present = records.iter().map(|(k, r)| (k.as_str(), r.as_slice()));
    // Read back as the engine reads them: a list in key order.
    let read: SettledByKey = stamped.clone().into_iter().collect();
    let mut skip = skippable(&basis, &read, present, cycle.now.date_naive());
    let mut persons: BTreeMap<String, DesiredPerson> = cycle
        .persons
        .iter()
        .filter(|(k, _)| !skip.contains(*k))
        .map(|(k, p)| (k.clone(), p.clone()))
        .collect();
    loop {
        let back = bring_back(&mut skip, &basis, &read, &persons);
        if back.is_empty() {
            break;
        }
        for k in back {
            persons.insert(k.clone(), cycle.persons[&k].clone());
        }
    }
    // Planned persons' links in full, the settled ones' in brief.
    let mut links = brief.clone();
    for (k, l) in cycle.links {
        if !skip.contains(k) {
            links.insert(k.clone(), l.clone());
        }
    }
    let input = cycle.input(&persons, &links, Some(&skip));
    let plan = plan_app(&input);
    let basis = Basis::new(digest, &links, cycle.groups, cycle.manages_groups);
    let left = stamps(&plan, &input, &basis, |k| records.get(k).map(Vec::as_slice));
    for k in &left.unsettled {
        stamped.remove(k);
    }
    stamped.extend(left.settled);
    (plan, skip.len())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn leaving_settled_persons_out_plans_what_planning_everyone_does(
        (first, start, steps) in history()
    ) {
        let mut world = World::default();
        let mut groups: BTreeMap<String, GroupState> = BTreeMap::new();
        let mut stamped: BTreeMap<String, Settled> = BTreeMap::new();
        let mut recs = start;
        let mut config = first;
        let mut last_seen: BTreeMap<String, DesiredPerson> = BTreeMap::new();
        let mut today = 0u32;
        for (advance, changes, new_config) in steps {
            today += advance;
            let now = day(today);
            for (r, c) in recs.iter_mut().zip(changes) {
                if let Some(c) = c {
                    *r = c;
                }
            }
            if let Some(c) = new_config {
                config = c;
            }
            let mut persons = BTreeMap::new();
            let mut records = BTreeMap::new();
            for (i, r) in recs.iter().enumerate() {
                let key = KEYS[i];
                if r.duplicated {
                    if let Some(prev) = last_seen.get_mut(key) {
                        prev.absent_cycles = 0;
                    }
                    persons.insert(key.to_string(), frozen(last_seen.get(key), key));
                } else if r.present {
                    let p = map(key, r, &config);
                    last_seen.insert(key.to_string(), p.clone());
                    persons.insert(key.to_string(), p);
                    records.insert(key.to_string(), format!("{r:?}").into_bytes());
                } else if let Some(prev) = last_seen.get_mut(key) {
                    prev.absent_cycles += 1;
                    persons.insert(key.to_string(), prev.clone());
                }
            }
            let app_policy = app_policy(&config);
            let cycle = Cycle {
                policy: &app_policy,
                persons: &persons,
                links: &world.links,
                groups: &groups,
                manages_groups: config.groups,
                now,
            };
            let full = plan_app(&cycle.input(&persons, &world.links, None));
            let (skipping, _) = plan_skipping(&cycle, &app_digest(&config), &records, &mut stamped);
            prop_assert_eq!(&skipping, &full, "day {}: the plans differ", today);
            world.apply(&full, now);
            apply_groups(&mut groups, &full);
        }
    }
}

/// A steady population is left out entirely the cycle after its plan found it settled,
/// and a person whose record changes comes back into the plan.
#[test]
fn settled_persons_are_left_out_of_a_steady_cycle() {
    let config = Config {
        title_suffix: false,
        pre_provision_days: 0,
        groups: true,
    };
    let recs: Vec<Rec> = (0..KEYS.len())
        .map(|i| Rec {
            present: true,
            status: Lifecycle::Active,
            title: 0,
            in_scope: true,
            start: None,
            end: None,
            manager: (i > 0).then_some(0),
            name_of: None,
            dept: i % 2,
            duplicated: false,
        })
        .collect();
    let mut world = World::default();
    let mut groups = BTreeMap::new();
    let mut stamped = BTreeMap::new();
    let digest = app_digest(&config);
    let app_policy = app_policy(&config);
    let mut left_out = Vec::new();
    for step in 0..4 {
        let mut recs = recs.clone();
        if step == 3 {
            recs[2].title = 1;
        }
        let persons: BTreeMap<String, DesiredPerson> = recs
            .iter()
            .enumerate()
            .map(|(i, r)| (KEYS[i].to_string(), map(KEYS[i], r, &config)))
            .collect();
        let records: BTreeMap<String, Vec<u8>> = recs
            .iter()
            .enumerate()
            .map(|(i, r)| (KEYS[i].to_string(), format!("{r:?}").into_bytes()))
            .collect();
        let cycle = Cycle {
            policy: &app_policy,
            persons: &persons,
            links: &world.links,
            groups: &groups,
            manages_groups: true,
            now: day(step),
        };
        let full = plan_app(&cycle.input(&persons, &world.links, None));
        let (plan, n) = plan_skipping(&cycle, &digest, &records, &mut stamped);
        assert_eq!(plan, full);
        left_out.push(n);
        world.apply(&full, day(step));
        apply_groups(&mut groups, &full);
    }
    // Step 0 creates, step 1 plans everyone (nothing stamped yet), step 2 leaves all out
    // (the exempt BREAKGLASS too: nothing is ever planned for it), step 3 plans E3 again.
    assert_eq!(left_out, vec![0, 0, KEYS.len(), KEYS.len() - 1]);
}
