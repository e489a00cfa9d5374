//! The engine's side of skipping the unchanged (the rules are in `reconcile::settled`):
//! each present person's record digest and each app's config digest, the app's links in
//! brief and its stamps from the state, the persons one app's cycle maps and plans, the
//! full links of those only, and the stamps its plan leaves.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use hrsync_connectors::source::Person;
use hrsync_state::{LinkBrief, Stamp, Store};
use serde::Serialize;

use super::app_run::AppRun;
use super::desired::{desired_everyone, desired_of};
use super::error::EngineError;
use super::error::InternalError;
use super::packed::Packed;
use super::read::HrView;
use super::record::link_lifecycle;
use crate::reconcile::settled::{self, Basis, Settled, SettledByKey, Stamps};
use crate::reconcile::{AppInput, AppPlan, DesiredPerson, GroupState, LinkState};

/// The digest of each present person's record: what mapping reads of it (not where in
/// the source it was read).
pub fn record_digests(view: &HrView) -> BTreeMap<String, [u8; 32]> {
    use rayon::prelude::*;
    let persons: Vec<(&String, &Person)> = view.present.iter().collect();
    // Records are independent: every core digests a share, in key order.
    persons
        .par_iter()
        .with_min_len(1024)
        .map_init(Vec::new, |text, (k, p)| {
            ((*k).clone(), record_digest(p, text))
        })
        .collect::<Vec<_>>()
        .into_iter()
        .collect()
}

/// A record as mapping sees it.
#[derive(Serialize)]
struct Mapped<'a> {
    key: &'a str,
    source: &'a str,
    status: hrsync_connectors::source::Lifecycle,
    start_date: Option<chrono::NaiveDate>,
    end_date: Option<chrono::NaiveDate>,
    manager_id: Option<&'a str>,
    fields: &'a hrsync_connectors::source::Fields,
}

fn record_digest(p: &Person, text: &mut Vec<u8>) -> [u8; 32] {
    use sha2::Digest as _;
    let seen = Mapped {
        key: &p.key,
        source: &p.source,
        status: p.status,
        start_date: p.start_date,
        end_date: p.end_date,
        manager_id: p.manager_id.as_deref(),
        fields: &p.fields,
    };
    text.clear();
    // Serialising plain maps of JSON values into memory does not fail; were it to, the
    // digest is of what was written before.
    let _ = serde_json::to_writer(&mut *text, &seen);
    sha2::Sha256::digest(&text[..]).into()
}

/// The digest of everything in an app's config its plan is computed from (its settings
/// as a whole, and its templates, scope and groups).
pub fn app_digest(run: &AppRun) -> [u8; 32] {
    use sha2::Digest as _;
    let mut h = sha2::Sha256::new();
    h.update(format!("{:?}", run.app).as_bytes());
    h.update(run.mapper.config_digest(&run.app.name));
    h.finalize().into()
}

/// True when this run may leave settled persons out: a cycle of the whole population that
/// plans from the state alone (no read of the app, no saved plan).
fn skips(run: &AppRun) -> bool {
    run.store.is_some() && !run.mode.reads_apps() && run.users.is_empty() && run.saved.is_none()
}

/// True when this run records what its plan found settled: it writes, and planned from
/// the state alone.
fn stamps_after(run: &AppRun) -> bool {
    run.mode.executes() && skips(run)
}

/// What an app's plan starts from once the settled are chosen.
pub struct Prepared {
    /// Links of the covered persons: in full for the planned, in brief for the settled.
    pub links: BTreeMap<String, LinkState>,
    /// Keys of every active account when the run covers only some persons (see [`Start`]).
    pub active: BTreeSet<String>,
    /// Managed groups.
    pub groups: BTreeMap<String, GroupState>,
    /// The persons left out as settled.
    pub settled: BTreeSet<String>,
    /// The others, mapped (shared with the other apps of the app's mapping class when
    /// they are everyone).
    pub persons: Arc<BTreeMap<String, DesiredPerson>>,
    /// Stamped persons no source knows any more: their stamps are forgotten.
    pub gone: BTreeSet<String>,
}

/// Loads the app's links in brief and its stamps, leaves the settled out, maps the others
/// and reads their full links; each step logged with the time since `started`.
pub async fn prepare(
    run: AppRun,
    app_digest: &[u8; 32],
    started: std::time::Instant,
) -> Result<(AppRun, Prepared), EngineError> {
    let ms = |t: std::time::Instant| t.elapsed().as_millis() as u64;
    let rss_mib = super::memory::rss_mib;
    let start = start(&run).await?;
    tracing::debug!(app = %run.app.name, elapsed_ms = ms(started), rss_mib = rss_mib(), "Loaded the links in brief.");
    // Choosing and mapping is CPU work: off the runtime's workers, so that the other apps'
    // reads start meanwhile.
    let app = run.app.name.clone();
    let digest = *app_digest;
    let (run, start, (settled, persons)) = tokio::task::spawn_blocking(move || {
        let mut start = start;
        let chosen = choose(&run, &mut start, &digest);
        (run, start, chosen)
    })
    .await
    .map_err(|e| InternalError::AppTask {
        app,
        detail: e.to_string(),
    })?;
    tracing::debug!(app = %run.app.name, elapsed_ms = ms(started), rss_mib = rss_mib(), "Mapped the persons.");
    let Start {
        mut links,
        active,
        groups,
        gone,
        ..
    } = start;
    fill_links(&run, &mut links, &settled).await?;
    tracing::debug!(app = %run.app.name, elapsed_ms = ms(started), rss_mib = rss_mib(), "Loaded the planned persons' links.");
    let prepared = Prepared {
        links,
        active,
        groups,
        settled,
        persons,
        gone,
    };
    Ok((run, prepared))
}

/// What an app's part of the cycle starts from: its links (in brief), the keys of its
/// active accounts, its managed groups, and its stamps.
struct Start {
    /// Links of the covered persons, in brief.
    pub links: BTreeMap<String, LinkState>,
    /// Keys of every active account, covered or not (the guards weigh the whole app), when
    /// the run covers only some persons; empty otherwise (the links tell).
    pub active: BTreeSet<String>,
    /// Managed groups.
    pub groups: BTreeMap<String, GroupState>,
    /// Settled persons with nothing due today.
    pub stamps: SettledByKey,
    /// Keys with a stamp who are known to no source any more (see [`gone_keys`]).
    pub gone: BTreeSet<String>,
}

/// Loads what the app's part of the cycle starts from.
async fn start(run: &AppRun) -> Result<Start, EngineError> {
    let mut start = Start {
        links: BTreeMap::new(),
        active: BTreeSet::new(),
        groups: BTreeMap::new(),
        stamps: SettledByKey::default(),
        gone: BTreeSet::new(),
    };
    let Some(s) = &run.store else {
        return Ok(start);
    };
    let app = &run.app.name;
    let users = run.users.clone();
    let covers = move |key: &str| super::app_run::covers(&users, key);
    // Each row goes into the maps on the reading thread: no list of the stored form is held.
    let links = (Packed::default(), BTreeSet::new());
    let whole = run.users.is_empty();
    let briefs = s.link_briefs(app, links, move |(links, active), mut b| {
        let key = std::mem::take(&mut b.person_key);
        // A cycle of everyone finds the active accounts among its links.
        if !whole && b.lifecycle == hrsync_state::LinkLifecycle::Active {
            active.insert(key.clone());
        }
        if covers(&key) {
            links.push(key, in_brief(b));
        }
    });
    let stamps = async {
        let into = |list: &mut Vec<(String, Settled)>, s: Stamp| list.extend(settled_of(s));
        match skips(run) {
            true => s
                .stamps(app, run.now.date_naive(), Vec::new(), into)
                .await
                .map(SettledByKey::from),
            false => Ok(SettledByKey::default()),
        }
    };
    let (briefs, stamps) = tokio::join!(briefs, stamps);
    let (links, active) = briefs?;
    (start.links, start.active) = (links.finish(), active);
    start.stamps = stamps?;
    for g in s.groups(app).await? {
        if g.managed {
            let state = GroupState {
                remote_id: g.remote_id,
                members: g.members,
            };
            start.groups.insert(g.group_name, state);
        }
    }
    Ok(start)
}

/// A link in brief, in the planner's form: everything but what was pushed.
fn in_brief(b: LinkBrief) -> LinkState {
    LinkState {
        remote_id: b.remote_id,
        user_name: b.user_name,
        last_pushed: BTreeMap::new(),
        hash: b.hash,
        lifecycle: link_lifecycle(b.lifecycle),
        deactivated_at: b.deactivated_at,
    }
}

/// A stored stamp in the planner's form; None when its fingerprint cannot be read (the
/// stamp never holds: its person is planned).
fn settled_of(s: Stamp) -> Option<(String, Settled)> {
    let mut fingerprint = [0; 16];
    hex::decode_to_slice(&s.fingerprint, &mut fingerprint).ok()?;
    let mut refs = s.refs;
    refs.shrink_to_fit();
    let stamp = Settled {
        fingerprint,
        user_name: s.user_name,
        refs,
        due: s.due,
    };
    Some((s.person_key, stamp))
}

/// The persons the app's plan leaves out as settled, and the others mapped: mapping the
/// planned persons may bring settled ones back (a shared userName), who are mapped too.
fn choose(
    run: &AppRun,
    start: &mut Start,
    app_digest: &[u8],
) -> (BTreeSet<String>, Arc<BTreeMap<String, DesiredPerson>>) {
    // The stamps serve only this choice: they are freed as soon as it is made.
    let stamps = std::mem::take(&mut start.stamps);
    start.gone = gone_keys(&run.view, &stamps);
    let chosen = choose_with(run, start, &stamps, app_digest);
    super::release::release(stamps);
    chosen
}

/// The stamped persons no source knows any more (not present, absent or frozen): their
/// stamps are forgotten, so that the table does not keep persons who left long ago and never
/// had an account in the app (a link's removal forgets the others).
fn gone_keys(view: &HrView, stamps: &SettledByKey) -> BTreeSet<String> {
    stamps
        .keys()
        .filter(|k| {
            !view.present.contains_key(*k)
                && !view.absent.contains_key(*k)
                && !view.frozen.contains_key(*k)
        })
        .map(str::to_owned)
        .collect()
}

fn choose_with(
    run: &AppRun,
    start: &Start,
    stamps: &SettledByKey,
    app_digest: &[u8],
) -> (BTreeSet<String>, Arc<BTreeMap<String, DesiredPerson>>) {
    let view = &run.view;
    let basis = Basis::new(
        app_digest,
        &start.links,
        &start.groups,
        run.app.manages_groups,
    );
    let present = view
        .digests
        .iter()
        .filter(|(k, _)| !view.frozen.contains_key(*k))
        .map(|(k, d)| (k.as_str(), d.as_slice()));
    let mut skip = if skips(run) && !stamps.is_empty() {
        settled::skippable(&basis, stamps, present, run.now.date_naive())
    } else {
        BTreeSet::new()
    };
    // A cycle about some persons (`--user`, a webhook) maps only them.
    let planned = |k: &str| !skip.contains(k) && run.covers(k);
    let mut persons = match skip.is_empty() && run.users.is_empty() {
        true => desired_everyone(&run.mapper, &run.app.name, view),
        false => Arc::new(desired_of(&run.mapper, &run.app.name, view, &planned)),
    };
    loop {
        let back = settled::bring_back(&mut skip, &basis, stamps, &persons);
        if back.is_empty() {
            break;
        }
        let back: BTreeSet<String> = back.into_iter().collect();
        let mapped = desired_of(&run.mapper, &run.app.name, view, &|k| back.contains(k));
        Arc::make_mut(&mut persons).extend(mapped);
    }
    if !skip.is_empty() {
        tracing::debug!(app = %run.app.name, settled = skip.len(), planned = persons.len(),
            "Left settled persons out of the plan.");
    }
    (skip, persons)
}

/// Replaces the brief links of every person the plan covers (all but the settled) with
/// their full links, read from the state.
async fn fill_links(
    run: &AppRun,
    links: &mut BTreeMap<String, LinkState>,
    skip: &BTreeSet<String>,
) -> Result<(), EngineError> {
    let Some(s) = &run.store else {
        return Ok(());
    };
    let wanted: BTreeSet<String> = links
        .keys()
        .filter(|k| !skip.contains(*k))
        .cloned()
        .collect();
    let full = s
        .each_link_of(&run.app.name, wanted, |mut l| {
            let key = std::mem::take(&mut l.person_key);
            Some((key, super::record::into_link_state(l)))
        })
        .await?;
    links.extend(full);
    Ok(())
}

/// The stamps the app's plan leaves, when this run records them.
pub fn stamps_of(
    run: &AppRun,
    plan: &AppPlan,
    input: &AppInput<'_>,
    app_digest: &[u8],
    gone: BTreeSet<String>,
) -> Option<Stamps> {
    if !stamps_after(run) || plan.error.is_some() {
        return None;
    }
    let basis = Basis::new(app_digest, input.links, input.groups, input.manages_groups);
    let digests = &run.view.digests;
    let mut stamps = settled::stamps(plan, input, &basis, |k| {
        digests.get(k).map(|d| d.as_slice())
    });
    stamps.unsettled.extend(gone);
    Some(stamps)
}

/// Records the stamps a plan left.
pub async fn record(store: &Store, app: &str, stamps: Stamps) -> Result<(), EngineError> {
    let settled = stamps
        .settled
        .into_iter()
        .map(|(person_key, s)| Stamp {
            person_key,
            fingerprint: hex::encode(s.fingerprint),
            user_name: s.user_name,
            refs: s.refs,
            due: s.due,
        })
        .collect();
    store.stamp(app, settled, stamps.unsettled).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::read::tests::person;

    #[test]
    fn only_stamps_of_persons_no_source_knows_are_gone() {
        let mut view = HrView::default();
        view.present.insert("E1".into(), person("E1", "Rep"));
        view.absent.insert("E2".into(), (person("E2", "Rep"), 1));
        view.frozen.insert("E3".into(), "set aside".into());
        let stamp = Settled {
            fingerprint: [0; 16],
            user_name: None,
            refs: Vec::new(),
            due: None,
        };
        let stamps: SettledByKey = ["E4", "E1", "E3", "E2"]
            .into_iter()
            .map(|k| (k.to_string(), stamp.clone()))
            .collect();
        let gone: Vec<String> = gone_keys(&view, &stamps).into_iter().collect();
        assert_eq!(gone, ["E4"]);
    }
}
