//! One cycle across all apps: lock, read and guard the sources, record the snapshot,
//! plan and execute every app concurrently, and record how the cycle ended.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use hrsync_state::{CycleKind, CycleStatus, RejectedRecord, StateError, Store, WriterLock};
use serde_json::json;
use tokio::sync::watch;

use super::app_cycle::{execute_planned, plan_app_run, AppRun};
use super::execute::AppOutcome;
use super::read::{self, HrView, Snapshot};
use crate::config::Settings;
use crate::reconcile::{Plan, QuarantinedRecord};

/// What kind of cycle to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Dry run; with `detect_drift` the apps are read (GET only).
    Plan {
        /// Read the apps to show drift and orphans.
        detect_drift: bool,
    },
    /// Execute the plan.
    Apply,
    /// Read the apps' real state, re-link and correct drift (unless `dry_run`).
    Resync {
        /// Show what would be done; change nothing.
        dry_run: bool,
    },
}

impl Mode {
    fn executes(self) -> bool {
        matches!(self, Mode::Apply | Mode::Resync { dry_run: false })
    }

    /// True when the apps' accounts are read (drift detection, resync).
    pub fn reads_apps(self) -> bool {
        matches!(
            self,
            Mode::Plan { detect_drift: true } | Mode::Resync { .. }
        )
    }
}

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

    /// Exit code of an executing cycle: 1 on failures, else 3 when guards held, else 0.
    pub fn exit_code(&self) -> u8 {
        if self.failures() > 0 {
            1
        } else if self.held() > 0 {
            3
        } else {
            0
        }
    }
}

/// Why a cycle could not run.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A source guard stopped the cycle before any write (exit 3).
    #[error("{0}")]
    Guard(String),
    /// The request does not fit the current state (a stale saved plan) (exit 2).
    #[error("{0}")]
    Usage(String),
    /// The state database failed (exit 1).
    #[error("state: {0}")]
    State(#[from] StateError),
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
        Some(WriterLock::acquire_wait(&settings.state_path, opts.lock_wait).await?)
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
        let (status, summary, error) = match &result {
            Ok(r) => (
                if r.failures() > 0 {
                    CycleStatus::Failed
                } else if r.held() > 0 {
                    CycleStatus::Guarded
                } else {
                    CycleStatus::Ok
                },
                summary(r, &opts.users),
                None,
            ),
            Err(EngineError::Guard(g)) => (CycleStatus::Guarded, json!({}), Some(g.clone())),
            Err(e) => (CycleStatus::Failed, json!({}), Some(e.to_string())),
        };
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

async fn open_store(settings: &Settings, write: bool) -> Result<Option<Store>, EngineError> {
    if write {
        if let Some(dir) = settings.state_path.parent() {
            if !dir.as_os_str().is_empty() && !dir.exists() {
                std::fs::create_dir_all(dir).map_err(|e| {
                    EngineError::Usage(format!(
                        "cannot create the state directory {}: {e}",
                        dir.display()
                    ))
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
    let executes = opts.mode.executes();
    let mut snapshots: BTreeMap<String, Snapshot> = BTreeMap::new();
    let mut watermarks = BTreeMap::new();
    if let Some(s) = &store {
        for src in &settings.sources {
            let rows = s.snapshot(src.name()).await?;
            let mut snap = Snapshot::new();
            for (k, row) in rows {
                match serde_json::from_value(row.record.clone()) {
                    Ok(p) => {
                        snap.insert(k, (p, row.absent_cycles));
                    }
                    Err(e) => tracing::warn!(source = %src.name(), key = %k, error = %e,
                        "Snapshot record unreadable; ignored."),
                }
            }
            snapshots.insert(src.name().to_string(), snap);
            watermarks.insert(
                src.name().to_string(),
                s.watermark(src.name()).await?.map(|w| w.value),
            );
        }
    }
    let fetched = read::fetch_all(settings, &watermarks, false).await;
    read::check_guards(&fetched, &snapshots, &settings.guards)
        .map_err(|g| EngineError::Guard(g.0))?;
    let results: Vec<read::SourceResult> =
        fetched.into_iter().filter_map(|(_, r)| r.ok()).collect();
    let view = read::merge(&results, &snapshots);

    let app_names: Vec<String> = settings
        .apps
        .iter()
        .filter(|a| opts.apps.is_empty() || opts.apps.contains(&a.name))
        .map(|a| a.name.clone())
        .collect();
    let view = Arc::new(view);
    let mut tasks = tokio::task::JoinSet::new();
    for (i, name) in app_names.iter().enumerate() {
        let Some(app) = settings.app(name).cloned() else {
            continue;
        };
        let run = AppRun {
            app,
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
                .and_then(|p| p.apps.iter().find(|a| &a.name == name).cloned()),
            stop: opts.stop.clone(),
        };
        tasks.spawn(async move { (i, plan_app_run(run).await) });
    }
    let mut planned = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((i, r)) => planned.push((i, r?)),
            Err(e) => {
                return Err(EngineError::Usage(format!("an app task failed: {e}")));
            }
        }
    }
    planned.sort_by_key(|(i, _)| *i);
    let inputs_hash = inputs_hash(&view, planned.iter().map(|(_, r)| r.input_digest.as_str()));
    if let Some(saved) = &opts.saved_plan {
        if saved.inputs_hash != inputs_hash {
            return Err(EngineError::Usage(
                "the saved plan is stale: HR or the state changed since it was computed; run `hrsync plan --save` again and review the new plan".into(),
            ));
        }
    }
    // Only a cycle that goes ahead records its reads: a refused saved plan must not count
    // as an HR read (absence counters, snapshot, watermarks).
    if let (true, Some(s), Some(id)) = (executes, &store, cycle_id) {
        save_reads(s, id, &results).await?;
    }
    let mut outcomes = Vec::new();
    let mut plans = Vec::new();
    if executes {
        let mut tasks = tokio::task::JoinSet::new();
        for (i, p) in planned {
            tasks.spawn(async move { (i, execute_planned(p).await) });
        }
        let mut done = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok((i, r)) => done.push((i, r?)),
                Err(e) => return Err(EngineError::Usage(format!("an app task failed: {e}"))),
            }
        }
        done.sort_by_key(|(i, _)| *i);
        for (_, (plan, outcome)) in done {
            plans.push(plan);
            outcomes.push(outcome);
        }
    } else {
        plans = planned.into_iter().map(|(_, p)| p.plan).collect();
    }
    let plan = Plan {
        format_version: 1,
        generated_at: opts.now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        sources: view.sources.clone(),
        apps: plans,
        quarantined: view.quarantined.clone(),
        inputs_hash,
    };
    Ok(CycleReport {
        plan,
        outcomes,
        cycle_id,
    })
}

/// Records what the sources said: snapshots (absence counting), watermarks, quarantine.
async fn save_reads(
    s: &Store,
    cycle_id: i64,
    results: &[read::SourceResult],
) -> Result<(), EngineError> {
    for r in results {
        let records = r
            .read
            .persons
            .iter()
            .map(|p| (p.key.clone(), serde_json::to_value(p).unwrap_or_default()))
            .collect();
        // A person whose records were set aside is in the source: seen, never absent.
        let frozen = read::frozen_keys(r).into_keys().collect();
        s.save_read(&r.name, cycle_id, records, frozen, r.read.complete)
            .await?;
        if let Some(w) = &r.read.watermark {
            s.set_watermark(&r.name, w).await?;
        }
        let rows = r
            .read
            .rejected
            .iter()
            .map(|q| RejectedRecord {
                key: q.key.clone(),
                position: q.position.to_string(),
                field: q.field.clone(),
                reason: q.reason.clone(),
            })
            .collect();
        s.replace_record_quarantine(&r.name, rows).await?;
    }
    Ok(())
}

/// Hash of everything a plan was computed from (HR view and each app's state and mapping).
fn inputs_hash<'a>(view: &HrView, apps: impl Iterator<Item = &'a str>) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for (k, p) in &view.present {
        h.update(k.as_bytes());
        h.update(serde_json::to_vec(p).unwrap_or_default());
    }
    for (k, (p, n)) in &view.absent {
        h.update(k.as_bytes());
        h.update(serde_json::to_vec(p).unwrap_or_default());
        h.update(n.to_le_bytes());
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
