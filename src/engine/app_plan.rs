//! Planning one app within a cycle: its links and groups loaded, the settled left out and
//! the others mapped (`unchanged`), its client opened and its accounts read when the mode
//! reads apps, the inputs digested, the plan made, the deprovision guards applied, and the
//! stamps the plan leaves computed.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use hrsync_connectors::scim::Capabilities;

use super::app_api::{AppApi, ClientError};
pub use super::app_run::AppRun;
use super::cpu::heavy;
use super::error::EngineError;
use super::refusals;
use super::unchanged;
use crate::config::{MatchAttr, OnUnlinkedMatch};
use crate::reconcile::guards::hold_mass_deprovision;
use crate::reconcile::settled::Stamps;
use crate::reconcile::{
    plan_app_unless_creating, plan_app_with, AppInput, AppPlan, Candidates, DesiredPerson,
    GroupState, KeptForms, LinkState, MatchDecision, RemoteUser,
};

/// An app planned, ready to execute.
pub struct Planned {
    /// What the app's part of the cycle was given.
    pub(super) run: AppRun,
    /// The plan.
    pub plan: AppPlan,
    /// Digest of this app's inputs (for saved-plan checks).
    pub input_digest: String,
    /// The app's links, as the state holds them.
    pub(super) links: BTreeMap<String, LinkState>,
    /// The app's managed groups, as the state holds them.
    pub(super) groups: BTreeMap<String, GroupState>,
    /// The app's client (None for a plain `plan`, or when it could not be built).
    pub(super) api: Option<Arc<AppApi>>,
    /// Capabilities the client started with, from the state.
    pub(super) recalled: Option<Capabilities>,
    /// What the plan found settled, to record when the app's part goes ahead.
    pub(super) stamps: Option<Stamps>,
}

impl Planned {
    /// The app's name.
    pub fn app_name(&self) -> &str {
        &self.run.app.name
    }
}

/// Plans one app.
pub async fn plan_app_run(run: AppRun) -> Result<Planned, EngineError> {
    let started = std::time::Instant::now();
    let ms = |t: std::time::Instant| t.elapsed().as_millis() as u64;
    let app_digest = unchanged::app_digest(&run);
    let (run, start) = unchanged::prepare(run, &app_digest, started).await?;
    let unchanged::Prepared {
        links,
        active,
        groups,
        settled: skip,
        persons,
        gone,
    } = start;
    let api = match open_client(&run) {
        Ok(api) => api,
        Err(e) => return Ok(unplannable(run, e.to_string(), links, groups)),
    };
    let recalled = match (&api, &run.store) {
        (Some(api), Some(store)) if run.mode.needs_apps() => {
            super::capabilities::recall(store, &run.app.name, api, run.now).await
        }
        _ => None,
    };
    let remote = read_app(&run, api.as_deref(), &links, &persons).await;
    let input_digest = input_digest(&run.app.name, &app_digest, &links, &groups);
    // The forms the app keeps values in: its own form of a value it was sent is in step.
    let forms = super::record::kept_forms(run.store.as_ref(), &run.app.name).await?;
    let from = PlanFrom {
        persons: &persons,
        links: &links,
        groups: &groups,
        forms: &forms,
        settled: &skip,
    };
    let mut plan = plan_reading_for_creates(&run, api.as_deref(), &from, remote).await?;
    tracing::debug!(app = %run.app.name, elapsed_ms = ms(started), rss_mib = super::memory::rss_mib(), "Planned.");
    if run.saved.is_none() {
        if let Some(api) = api.as_deref() {
            let class = run.mapper.class_of(&run.app.name);
            let class = class.map(|(class, size)| (&run.view.refusals, class, size));
            heavy(|| refusals::refuse_known(api, &mut plan, class));
        }
    }
    apply_guards(&run, &active, &links, &mut plan).await?;
    let input = from.input(&run, None);
    let stamps = heavy(|| unchanged::stamps_of(&run, &plan, &input, &app_digest, gone));
    Ok(Planned {
        run,
        plan,
        input_digest,
        links,
        groups,
        api,
        recalled,
        stamps,
    })
}

/// What an app's plan is computed from, besides its policy and the app's accounts.
struct PlanFrom<'a> {
    persons: &'a BTreeMap<String, DesiredPerson>,
    links: &'a BTreeMap<String, LinkState>,
    groups: &'a BTreeMap<String, GroupState>,
    forms: &'a KeptForms,
    /// Persons left out as settled.
    settled: &'a BTreeSet<String>,
}

impl<'a> PlanFrom<'a> {
    /// The planner's input, with the app's accounts when they were read.
    fn input(
        &self,
        run: &'a AppRun,
        remote: Option<&'a BTreeMap<String, RemoteUser>>,
    ) -> AppInput<'a> {
        let app = &run.app;
        AppInput {
            policy: &app.policy,
            persons: self.persons,
            links: self.links,
            remote,
            groups: self.groups,
            manages_groups: app.manages_groups,
            now: run.now,
            forms: Some(self.forms),
            settled: Some(self.settled),
        }
    }
}

/// The app's client. A plain `plan` only reads with it (to plan creates), and goes on
/// without it when it cannot be built.
fn open_client(run: &AppRun) -> Result<Option<Arc<AppApi>>, ClientError> {
    match AppApi::new(&run.app) {
        Ok(a) => Ok(Some(Arc::new(a))),
        Err(e) if run.mode.needs_apps() => Err(e),
        Err(_) => Ok(None),
    }
}

/// The decision `on_unlinked_match` makes, in the planner's words.
fn on_match(run: &AppRun) -> MatchDecision {
    match run.app.on_unlinked_match {
        OnUnlinkedMatch::Adopt => MatchDecision::Link,
        OnUnlinkedMatch::Skip => MatchDecision::Skip,
        OnUnlinkedMatch::Fail => MatchDecision::Fail,
    }
}

/// True when the app's circuit is open: it gets no request but its half-open probe, so
/// its creates are planned unread.
async fn circuit_open(run: &AppRun) -> Result<bool, EngineError> {
    let Some(store) = &run.store else {
        return Ok(false);
    };
    Ok(store
        .app_health()
        .await?
        .iter()
        .any(|h| h.app == run.app.name && h.circuit == hrsync_state::CircuitState::Open))
}

/// The app's accounts as candidates for its creates, matched per `match_on`.
fn candidates<'a>(run: &AppRun, accounts: &'a BTreeMap<String, RemoteUser>) -> Candidates<'a> {
    let m = &run.app.match_on;
    Candidates {
        accounts,
        on_match: on_match(run),
        by_user_name: m.contains(&MatchAttr::UserName),
        by_email: m.contains(&MatchAttr::Emails),
    }
}

/// The app's plan. A fresh plan made without the app's accounts that creates an account
/// reads them first (once) and is made with them, so the plan shows the links, skips and
/// failures apply will meet; a plan with nothing to create reads nothing. When the read
/// fails, the plan is made without them and says so: each create then looks its account
/// up at apply.
async fn plan_reading_for_creates(
    run: &AppRun,
    api: Option<&AppApi>,
    from: &PlanFrom<'_>,
    remote: Result<Option<BTreeMap<String, RemoteUser>>, String>,
) -> Result<AppPlan, EngineError> {
    let api = match api {
        Some(api) if run.saved.is_none() && matches!(remote, Ok(None)) => api,
        _ => return Ok(plan(run, from, remote)),
    };
    if let Some(plan) = heavy(|| plan_app_unless_creating(&from.input(run, None))) {
        return Ok(surgical(run, plan));
    }
    if circuit_open(run).await? {
        return Ok(plan(run, from, remote));
    }
    match list_with_progress(api, &run.app).await {
        Ok(accounts) => {
            let candidates = candidates(run, &accounts);
            Ok(heavy(|| {
                plan_app_with(&from.input(run, None), Some(candidates))
            }))
        }
        Err(e) => {
            tracing::warn!(app = %run.app.name, error = %e, "Could not read the app's accounts to plan creates; each create looks its account up.");
            let mut plan = plan(run, from, remote);
            plan.accounts_unread = Some(e.to_string());
            Ok(plan)
        }
    }
}

/// An app whose client cannot be built: its plan carries the error and nothing else.
fn unplannable(
    run: AppRun,
    error: String,
    links: BTreeMap<String, LinkState>,
    groups: BTreeMap<String, GroupState>,
) -> Planned {
    let mut plan = AppPlan::new(&run.app.name, &run.app.profile);
    plan.error = Some(error);
    Planned {
        run,
        plan,
        input_digest: String::new(),
        links,
        groups,
        api: None,
        recalled: None,
        stamps: None,
    }
}

/// The app's accounts, when the mode reads apps: `None` when it does not, an error when
/// the read failed.
async fn read_app(
    run: &AppRun,
    api: Option<&AppApi>,
    links: &BTreeMap<String, LinkState>,
    persons: &BTreeMap<String, DesiredPerson>,
) -> Result<Option<BTreeMap<String, RemoteUser>>, String> {
    let Some(api) = api.filter(|_| run.mode.reads_apps()) else {
        return Ok(None);
    };
    let read = if api.can_list() {
        list_with_progress(api, &run.app).await
    } else {
        let (linked, unlinked) = wanted(run, links, persons);
        api.find_remote(&run.app.attribute_paths, &linked, &unlinked)
            .await
    };
    let mut remote = read.map_err(|e| format!("could not read the app's accounts: {e}"))?;
    if !run.users.is_empty() {
        // A surgical resync sees only the persons it was asked about.
        remote.retain(|_, u| concerns_covered(run, u, links, persons));
    }
    Ok(Some(remote))
}

/// Every account of the app, its progress shown page by page (a bar on a terminal, a log
/// line now and then elsewhere).
async fn list_with_progress(
    api: &AppApi,
    app: &crate::config::AppSettings,
) -> Result<BTreeMap<String, RemoteUser>, hrsync_connectors::scim::ScimError> {
    let progress = crate::progress::ReadProgress::start(&app.name);
    let read = api
        .list_remote_observed(&app.attribute_paths, &|n| progress.page(n))
        .await;
    progress.finish();
    read
}

/// For an app read person by person: the linked account ids, and the covered persons
/// without a link with their desired plain values (what a lookup matches on).
type Wanted = (Vec<String>, Vec<(String, Arc<crate::mapping::AttrMap>)>);

fn wanted(
    run: &AppRun,
    links: &BTreeMap<String, LinkState>,
    persons: &BTreeMap<String, DesiredPerson>,
) -> Wanted {
    let linked = links.values().map(|l| l.remote_id.clone()).collect();
    let unlinked = persons
        .iter()
        .filter(|(k, _)| run.covers(k) && !links.contains_key(*k))
        .map(|(k, p)| (k.clone(), p.attrs.values().clone()))
        .collect();
    (linked, unlinked)
}

/// True when an account belongs to a covered person: by externalId, link or userName.
fn concerns_covered(
    run: &AppRun,
    u: &RemoteUser,
    links: &BTreeMap<String, LinkState>,
    persons: &BTreeMap<String, DesiredPerson>,
) -> bool {
    u.external_id.as_deref().is_some_and(|k| run.covers(k))
        || links.values().any(|l| l.remote_id == u.id)
        || persons.values().any(|p| {
            matches!(p.attrs.value("userName"),
                Some(serde_json::Value::String(n)) if n.eq_ignore_ascii_case(&u.user_name))
        })
}

/// Digest of what the app's plan is computed from besides the HR view, which the cycle's
/// digest covers (for saved-plan checks): the app's config and templates, its links as the
/// state holds them, its groups. The same whichever persons are left out as settled.
fn input_digest(
    app: &str,
    app_digest: &[u8],
    links: &BTreeMap<String, LinkState>,
    groups: &BTreeMap<String, GroupState>,
) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(app.as_bytes());
    h.update(app_digest);
    for (k, l) in links {
        h.update(k.as_bytes());
        h.update(l.remote_id.as_bytes());
        h.update(l.hash.as_bytes());
        h.update(format!("{:?}{:?}", l.lifecycle, l.deactivated_at).as_bytes());
    }
    for (k, g) in groups {
        h.update(k.as_bytes());
        h.update(format!("{:?}{:?}", g.remote_id, g.members).as_bytes());
    }
    hex::encode(h.finalize())
}

/// The app's plan: the saved one, an error plan when its accounts could not be read, or a
/// fresh one.
fn plan(
    run: &AppRun,
    from: &PlanFrom<'_>,
    remote: Result<Option<BTreeMap<String, RemoteUser>>, String>,
) -> AppPlan {
    if let Some(saved) = run.saved.clone() {
        return saved;
    }
    let app = &run.app;
    match remote {
        Err(error) => {
            let mut p = AppPlan::new(&app.name, &app.profile);
            p.error = Some(error);
            p
        }
        Ok(remote) => {
            let candidates = remote.as_ref().map(|accounts| candidates(run, accounts));
            let input = from.input(run, remote.as_ref());
            surgical(run, heavy(|| plan_app_with(&input, candidates)))
        }
    }
}

/// A plan of some persons only: a surgical read saw only some accounts, so each create
/// still looks its account up.
fn surgical(run: &AppRun, mut plan: AppPlan) -> AppPlan {
    if !run.users.is_empty() {
        plan.operations.iter_mut().for_each(|o| o.looked_up = false);
    }
    plan
}

/// Holds mass deprovisions back (a saved plan keeps what it held, unless released).
async fn apply_guards(
    run: &AppRun,
    active: &BTreeSet<String>,
    links: &BTreeMap<String, LinkState>,
    plan: &mut AppPlan,
) -> Result<(), EngineError> {
    if run.saved.is_some() {
        if run.allow_mass_deprovision && !plan.held.is_empty() {
            let held = std::mem::take(&mut plan.held);
            plan.operations
                .extend(held.into_iter().map(|h| h.operation));
            plan.finish();
        }
        return Ok(());
    }
    let deprovisions = plan.operations.iter().any(|o| o.op.is_deprovision());
    if !deprovisions || run.allow_mass_deprovision {
        return Ok(());
    }
    let active = active_keys(run, active, links);
    let last_day = match &run.store {
        Some(s) => {
            // Audit rows carry wall-clock time, so the window is measured on it too.
            let since = crate::clock::now() - chrono::Duration::hours(24);
            s.count_deprovisions_since(&run.app.name, since).await? as usize
        }
        None => 0,
    };
    let allow = run.allow_mass_deprovision;
    if let Some(why) = hold_mass_deprovision(plan, &run.limits, &active, last_day, allow) {
        tracing::warn!(app = %run.app.name, reason = %why, "Deprovisions held by a guard.");
    }
    Ok(())
}

/// The HR keys of the app's active accounts: from its links when the run covers everyone,
/// else as loaded for the whole app (`active`), since the guards weigh the whole app.
fn active_keys<'a>(
    run: &AppRun,
    active: &'a BTreeSet<String>,
    links: &'a BTreeMap<String, LinkState>,
) -> BTreeSet<&'a str> {
    if !run.users.is_empty() {
        return active.iter().map(String::as_str).collect();
    }
    links
        .iter()
        .filter(|(_, l)| l.lifecycle == crate::reconcile::LinkLifecycle::Active)
        .map(|(k, _)| k.as_str())
        .collect()
}

/// Feeds `value`'s JSON text into `h` through a small buffer, never holding the whole
/// text: the same bytes as `serde_json::to_vec`. Serialising the planner's maps (string
/// keys, plain values) does not fail; were it to, the hash takes what was written before.
pub(super) fn hash_json<T: serde::Serialize + ?Sized>(h: &mut sha2::Sha256, value: &T) {
    use std::io::Write as _;
    /// Writes into the hash.
    struct Feed<'a>(&'a mut sha2::Sha256);
    impl std::io::Write for Feed<'_> {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            sha2::Digest::update(self.0, buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut w = std::io::BufWriter::with_capacity(1 << 16, Feed(h));
    let _ = serde_json::to_writer(&mut w, value);
    let _ = w.flush();
}
