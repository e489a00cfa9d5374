//! One cycle across all apps: lock, read and guard the sources, record the snapshot,
//! plan and execute every app concurrently, and record how the cycle ended.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use hrsync_state::{CycleKind, CycleStatus, Store};
use serde_json::json;
use tokio::sync::watch;

use super::app_apply::execute_planned;
use super::app_plan::{plan_app_run, AppRun, Planned};
use super::error::{EngineError, InternalError, UsageError};
use super::execute::AppOutcome;
use super::focus::Focus;
use super::mode::Mode;
use super::read::{self, HrView, StoredSnapshot};
use crate::config::{ConfigError, Settings};
use crate::reconcile::{AppPlan, Plan, QuarantinedRecord};

/// Each source's watermark, as the state keeps it.
type Watermarks = BTreeMap<String, Option<String>>;

/// Options of one cycle.
#[derive(Debug, Clone)]
pub struct CycleOptions {
    /// Kind of cycle.
    pub mode: Mode,
    /// Recorded as (`apply`, `run`, ...).
    pub kind: CycleKind,
    /// Only these apps (all when empty).
    pub apps: Vec<String>,
    /// Only these persons (resync `--user`; all when empty).
    pub users: Vec<String>,
    /// Release held deprovisions.
    pub allow_mass_deprovision: bool,
    /// The cycle's time (never read from the clock inside the planner).
    pub now: DateTime<Utc>,
    /// Apply exactly this saved plan.
    pub saved_plan: Option<Plan>,
    /// Flips to true on shutdown.
    pub stop: watch::Receiver<bool>,
    /// How long to wait for another writer's lock.
    pub lock_wait: Duration,
    /// Which apps and persons get every change (the rest: deprovisions only).
    pub focus: Focus,
}

impl CycleOptions {
    /// Options for a mode with defaults (all apps, now, no saved plan).
    pub fn new(mode: Mode, kind: CycleKind) -> Self {
        let (_tx, rx) = watch::channel(false);
        CycleOptions {
            mode,
            kind,
            apps: Vec::new(),
            users: Vec::new(),
            allow_mass_deprovision: false,
            now: crate::clock::now(),
            saved_plan: None,
            stop: rx,
            lock_wait: Duration::from_secs(600),
            focus: Focus::default(),
        }
    }
}

/// What a cycle did.
#[derive(Debug, Clone)]
pub struct CycleReport {
    /// The plan (as executed, for apply).
    pub plan: Plan,
    /// Per-app results (empty for dry runs).
    pub outcomes: Vec<AppOutcome>,
    /// The recorded cycle id.
    pub cycle_id: Option<i64>,
}

impl CycleReport {
    /// Failed operations across apps.
    pub fn failures(&self) -> usize {
        self.outcomes.iter().map(|o| o.failed.len()).sum::<usize>()
            + self
                .outcomes
                .iter()
                .filter(|o| o.circuit_open.is_some())
                .count()
    }

    /// Operations held by guards.
    pub fn held(&self) -> usize {
        self.plan.apps.iter().map(|a| a.held.len()).sum()
    }
}

/// Runs one cycle.
pub async fn run_cycle(
    settings: &Settings,
    opts: CycleOptions,
) -> Result<CycleReport, EngineError> {
    let span = tracing::info_span!("cycle", kind = %opts.kind);
    tracing::Instrument::instrument(run_cycle_inner(settings, opts), span).await
}

async fn run_cycle_inner(
    settings: &Settings,
    opts: CycleOptions,
) -> Result<CycleReport, EngineError> {
    let executes = opts.mode.executes();
    let lock = if executes {
        Some(super::lock::take(&settings.state_path, opts.lock_wait).await?)
    } else {
        None
    };
    let store = open_store(settings, executes).await?;
    let cycle_id = match (&store, executes) {
        (Some(s), true) => Some(s.begin_cycle(opts.kind).await?),
        _ => None,
    };
    let result = cycle_body(settings, &opts, store.clone(), cycle_id).await;
    if let (Some(s), Some(id)) = (&store, cycle_id) {
        let (status, summary, error) = how_it_ended(&result, &opts.users);
        s.finish_cycle(id, status, summary, error).await?;
    }
    drop(lock);
    match &result {
        Ok(r) => tracing::info!(
            kind = %opts.kind,
            failures = r.failures(),
            held = r.held(),
            "Cycle finished."
        ),
        Err(e) => tracing::warn!(kind = %opts.kind, error = %e, "Cycle stopped."),
    }
    result
}

/// The recorded end of a cycle: its status, its summary for `status`, and its error.
fn how_it_ended(
    result: &Result<CycleReport, EngineError>,
    users: &[String],
) -> (CycleStatus, serde_json::Value, Option<String>) {
    match result {
        Ok(r) => {
            let status = if r.failures() > 0 {
                CycleStatus::Failed
            } else if r.held() > 0 {
                CycleStatus::Guarded
            } else {
                CycleStatus::Ok
            };
            (status, summary(r, users), None)
        }
        Err(EngineError::Guard(g)) => (CycleStatus::Guarded, json!({}), Some(g.to_string())),
        Err(e) => (CycleStatus::Failed, json!({}), Some(e.to_string())),
    }
}

async fn open_store(settings: &Settings, write: bool) -> Result<Option<Store>, EngineError> {
    if write {
        if let Some(dir) = settings.state_path.parent() {
            if !dir.as_os_str().is_empty() && !dir.exists() {
                std::fs::create_dir_all(dir).map_err(|source| UsageError::StateDir {
                    dir: dir.to_path_buf(),
                    source,
                })?;
            }
        }
        return Ok(Some(Store::open(&settings.state_path).await?));
    }
    if !settings.state_path.exists() {
        return Ok(None);
    }
    Ok(Some(Store::open_read_only(&settings.state_path).await?))
}

async fn cycle_body(
    settings: &Settings,
    opts: &CycleOptions,
    store: Option<Store>,
    cycle_id: Option<i64>,
) -> Result<CycleReport, EngineError> {
    let started = std::time::Instant::now();
    let (reads, view) = read_hr(settings, store.as_ref(), opts.mode.executes()).await?;
    super::memory::return_freed();
    phase(started, "Read and merged the sources.");
    // Before any plan: a template reading a field nobody provides would empty it for all.
    let persons = view
        .present
        .values()
        .chain(view.absent.values().map(|(p, _)| p));
    crate::config::check_fields(settings, &opts.apps, persons).map_err(UsageError::Config)?;
    let mut view = view;
    view.digests = super::unchanged::record_digests(&view);
    phase(started, "Digested the records.");
    let view = Arc::new(view);
    let planned = plan_apps(settings, opts, &view, &store, cycle_id).await?;
    phase(started, "Planned the apps.");
    let inputs_hash = inputs_hash(&view, planned.iter().map(|p| p.input_digest.as_str()));
    phase(started, "Hashed the inputs.");
    check_saved_plan(opts, &inputs_hash)?;
    let executes = opts.mode.executes();
    // Only a cycle that goes ahead records its reads: a refused saved plan must not count
    // as an HR read (absence counters, snapshot, watermarks).
    if let (true, Some(s), Some(id)) = (executes, &store, cycle_id) {
        super::reads_saved::save(s, id, reads).await?;
    }
    let (plans, outcomes) = if executes {
        execute_apps(planned).await?
    } else {
        let mut planned = planned;
        let plans = planned
            .iter_mut()
            .map(|p| std::mem::replace(&mut p.plan, AppPlan::new("", "")))
            .collect();
        super::release::release(planned);
        (plans, Vec::new())
    };
    let plan = Plan {
        format_version: 1,
        generated_at: opts.now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        sources: view.sources.clone(),
        apps: plans,
        quarantined: view.quarantined.clone(),
        inputs_hash,
    };
    super::release::release(view);
    Ok(CycleReport {
        plan,
        outcomes,
        cycle_id,
    })
}

/// Each source's watermark, as the state remembers it.
async fn load_watermarks(
    settings: &Settings,
    store: Option<&Store>,
) -> Result<Watermarks, EngineError> {
    let mut watermarks = BTreeMap::new();
    let Some(s) = store else {
        return Ok(watermarks);
    };
    for src in &settings.sources {
        let mark = s.watermark(src.name()).await?.map(|w| w.value);
        watermarks.insert(src.name().to_string(), mark);
    }
    Ok(watermarks)
}

/// Each source's snapshot as an index: every key with its absent count, no record yet, and
/// the stored hashes when the cycle saves its reads (an unchanged record then keeps no text).
async fn load_snapshots(
    settings: &Settings,
    store: Option<&Store>,
    hashes: bool,
) -> Result<BTreeMap<String, StoredSnapshot>, EngineError> {
    let mut snapshots = BTreeMap::new();
    let Some(s) = store else {
        return Ok(snapshots);
    };
    for src in &settings.sources {
        let name = src.name();
        let index = s.snapshot_index(name, hashes).await?;
        let stored = index
            .into_iter()
            .map(|(k, (n, hash))| (k, (read::StoredRecord { text: None, hash }, n)))
            .collect();
        snapshots.insert(name.to_string(), stored);
    }
    Ok(snapshots)
}

/// Loads the snapshot records merging will read for each source's read.
async fn load_needed_records(
    store: Option<&Store>,
    results: &[read::SourceResult],
    snapshots: &mut BTreeMap<String, StoredSnapshot>,
) -> Result<(), EngineError> {
    let Some(s) = store else {
        return Ok(());
    };
    for r in results {
        let Some(snapshot) = snapshots.get_mut(&r.name) else {
            continue;
        };
        let needed = read::records_needed(r, snapshot)
            .into_iter()
            .cloned()
            .collect();
        for (key, text) in s.snapshot_texts_of(&r.name, needed).await? {
            if let Some(entry) = snapshot.get_mut(&key) {
                entry.0.text = Some(text);
            }
        }
    }
    Ok(())
}

/// Reads every source, applies the source guards, and merges the reads with the snapshot.
/// The snapshots' indexes load from the state while the sources are read; then only the
/// records merging needs. The merged view holds what planning needs: the snapshot is
/// dropped once merged, and the reads' persons move into the view; a cycle that records the
/// reads (`keep_reads`) gets them prepared for the state first.
async fn read_hr(
    settings: &Settings,
    store: Option<&Store>,
    keep_reads: bool,
) -> Result<(Vec<super::reads_saved::ReadToSave>, HrView), EngineError> {
    let watermarks = load_watermarks(settings, store).await?;
    let (fetched, snapshots) = tokio::join!(
        read::fetch_all(settings, &watermarks, false),
        load_snapshots(settings, store, keep_reads)
    );
    let mut snapshots = snapshots?;
    read::check_guards(&fetched, &snapshots, &settings.guards)?;
    let results: Vec<read::SourceResult> =
        fetched.into_iter().filter_map(|(_, r)| r.ok()).collect();
    load_needed_records(store, &results, &mut snapshots).await?;
    let reads = match keep_reads {
        true => super::reads_saved::prepare(&results, &snapshots)?,
        false => Vec::new(),
    };
    Ok((reads, read::merge_owned(results, &snapshots)))
}

/// For `check`, which keeps no state: reads every source once and checks every app's
/// templates against the fields the read provides. Reads nothing when the sources' configs
/// declare every field the templates read, and checks nothing when a source cannot be read
/// (its own row reports that, and a partial read would blame the wrong fields).
pub async fn check_template_fields(settings: &Settings) -> Result<(), ConfigError> {
    if crate::config::check_fields(settings, &[], std::iter::empty()).is_ok() {
        return Ok(());
    }
    let fetched = read::fetch_all(settings, &Watermarks::new(), true).await;
    let mut reads = Vec::new();
    for (_, result) in &fetched {
        match result {
            Ok(r) => reads.push(r),
            Err(_) => return Ok(()),
        }
    }
    let mut persons = reads.iter().flat_map(|r| r.read.persons.iter()).peekable();
    // No record at all is no evidence about fields: the table's source rows say the
    // sources are empty, which is what plan and apply would refuse.
    if persons.peek().is_none() {
        return Ok(());
    }
    crate::config::check_fields(settings, &[], persons)
}

/// Plans every selected app concurrently; the plans come back in the config's order.
async fn plan_apps(
    settings: &Settings,
    opts: &CycleOptions,
    view: &Arc<HrView>,
    store: &Option<Store>,
    cycle_id: Option<i64>,
) -> Result<Vec<Planned>, EngineError> {
    let mut jobs = Vec::new();
    for app in &settings.apps {
        if !opts.apps.is_empty() && !opts.apps.contains(&app.name) {
            continue;
        }
        let run = AppRun {
            app: app.clone(),
            mapper: settings.mapper.clone(),
            view: view.clone(),
            store: store.clone(),
            cycle_id,
            mode: opts.mode,
            users: opts.users.clone(),
            allow_mass_deprovision: opts.allow_mass_deprovision,
            limits: settings.guards.limits.clone(),
            now: opts.now,
            saved: opts
                .saved_plan
                .as_ref()
                .and_then(|p| p.apps.iter().find(|a| a.name == app.name).cloned()),
            stop: opts.stop.clone(),
        };
        jobs.push((app.name.clone(), plan_app_run(run)));
    }
    let mut planned = per_app(jobs).await?;
    for p in &mut planned {
        opts.focus.limit(&mut p.plan);
    }
    Ok(planned)
}

/// Refuses a saved plan computed from other inputs than the cycle's.
fn check_saved_plan(opts: &CycleOptions, inputs_hash: &str) -> Result<(), EngineError> {
    match &opts.saved_plan {
        Some(saved) if saved.inputs_hash != inputs_hash => Err(UsageError::PlanStale.into()),
        _ => Ok(()),
    }
}

/// Executes every planned app concurrently; returns the plans as executed and the outcomes.
async fn execute_apps(
    planned: Vec<Planned>,
) -> Result<(Vec<AppPlan>, Vec<AppOutcome>), EngineError> {
    let jobs = planned
        .into_iter()
        .map(|p| (p.app_name().to_string(), execute_planned(p)))
        .collect();
    Ok(per_app(jobs).await?.into_iter().unzip())
}

/// Runs one task per app and returns their results in the jobs' order. The first error
/// stops the cycle; a task that panicked is an internal error that names its app.
async fn per_app<T, F>(jobs: Vec<(String, F)>) -> Result<Vec<T>, EngineError>
where
    T: Send + 'static,
    F: std::future::Future<Output = Result<T, EngineError>> + Send + 'static,
{
    let mut tasks = tokio::task::JoinSet::new();
    let mut names = Vec::new();
    for (i, (app, job)) in jobs.into_iter().enumerate() {
        let handle = tasks.spawn(job);
        names.push((handle.id(), i, app));
    }
    let find = |id: tokio::task::Id| names.iter().find(|(t, _, _)| *t == id);
    let mut done = Vec::new();
    while let Some(joined) = tasks.join_next_with_id().await {
        match joined {
            Ok((id, result)) => done.push((find(id).map_or(usize::MAX, |(_, i, _)| *i), result?)),
            Err(e) => {
                let app = find(e.id()).map_or_else(String::new, |(_, _, a)| a.clone());
                let detail = e.to_string();
                return Err(InternalError::AppTask { app, detail }.into());
            }
        }
    }
    done.sort_by_key(|(i, _)| *i);
    Ok(done.into_iter().map(|(_, r)| r).collect())
}
/// Logs how long the cycle has run when it finishes a phase (debug level).
fn phase(started: std::time::Instant, what: &'static str) {
    let elapsed_ms = started.elapsed().as_millis() as u64;
    tracing::debug!(elapsed_ms, rss_mib = super::memory::rss_mib(), "{what}");
}

/// Hash of everything a plan was computed from (HR view and each app's state and mapping).
fn inputs_hash<'a>(view: &HrView, apps: impl Iterator<Item = &'a str>) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for (k, d) in &view.digests {
        h.update(k.as_bytes());
        h.update(d);
    }
    for (k, (p, n)) in &view.absent {
        h.update(k.as_bytes());
        super::app_plan::hash_json(&mut h, p);
        h.update(n.to_le_bytes());
    }
    for (k, why) in &view.frozen {
        h.update(k.as_bytes());
        h.update(why.as_bytes());
    }
    for d in apps {
        h.update(d.as_bytes());
    }
    hex::encode(h.finalize())
}

/// What `status` shows of a finished cycle; `only_users` marks a surgical cycle (`--user`),
/// whose per-app findings cover those persons only.
fn summary(r: &CycleReport, only_users: &[String]) -> serde_json::Value {
    let apps: Vec<_> = r
        .plan
        .apps
        .iter()
        .map(|a| {
            let o = r.outcomes.iter().find(|o| o.app == a.name);
            json!({
                "name": a.name,
                "planned": a.summary,
                "done": o.map(|o| o.done.clone()).unwrap_or_default(),
                "failed": o.map(|o| o.failed.clone()).unwrap_or_default(),
                "skipped": o.map(|o| o.skipped.len()).unwrap_or(0),
                "circuit_open": o.and_then(|o| o.circuit_open.clone()),
                "conflicts": a.conflicts,
                "quarantined": a.quarantined,
                // What the app is known to refuse, never sent (listed by `status`).
                "refused": a.refused,
                // What a resync found in the app linked to nobody (the access review).
                "orphans": a.orphans,
            })
        })
        .collect();
    let quarantined: Vec<&QuarantinedRecord> = r.plan.quarantined.iter().collect();
    json!({
        "sources": r.plan.sources,
        "apps": apps,
        "quarantined": quarantined,
        "only_users": only_users,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::panic)] // the panic is what the test is about
    async fn job(app_panics: bool) -> Result<u8, EngineError> {
        if app_panics {
            panic!("boom");
        }
        Ok(1)
    }

    #[tokio::test]
    async fn a_panicking_app_task_is_an_internal_error_naming_the_app() {
        let jobs = vec![
            ("crm".to_string(), job(false)),
            ("slack".to_string(), job(true)),
        ];
        let err = per_app(jobs).await.err();
        assert!(
            matches!(&err, Some(EngineError::Internal(InternalError::AppTask { app, .. })) if app == "slack"),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn per_app_results_come_back_in_the_jobs_order() {
        let jobs = (0..5u8).map(|i| (format!("app{i}"), async move { Ok::<_, EngineError>(i) }));
        let done = per_app(jobs.collect()).await.ok();
        assert_eq!(done, Some(vec![0, 1, 2, 3, 4]));
    }
}
