//! One app within a cycle: gather its links, groups and desired persons (and its real
//! accounts when reading apps), plan and guard; then, when executing, check its circuit
//! and run the plan.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use hrsync_state::{AppHealth, CircuitState, HeldOp, Store};
use tokio::sync::{watch, Mutex};

use super::app_api::AppApi;
use super::circuit::{may_probe, Circuit};
use super::cycle::{EngineError, Mode};
use super::desired::desired_for_app;
use super::execute::{execute_app, AppOutcome, ExecCtx};
use super::read::HrView;
use super::record::{audit_op, link_state, Recorder};
use crate::config::AppSettings;
use crate::mapping::Mapper;
use crate::reconcile::guards::{hold_mass_deprovision, DeprovisionLimits};
use crate::reconcile::{plan_app, AppInput, AppPlan, GroupState, LinkLifecycle, LinkState};

/// Linked accounts below which the percentage guard does not apply (one leaver in a
/// five-person app is not a mass deprovision).
pub const PERCENT_GUARD_MIN_ACCOUNTS: usize = 10;

/// Everything one app's part of a cycle needs.
pub struct AppRun {
    /// The app.
    pub app: AppSettings,
    /// Templates.
    pub mapper: Arc<Mapper>,
    /// Merged HR.
    pub view: Arc<HrView>,
    /// State (None: no state file yet, dry run).
    pub store: Option<Store>,
    /// Recorded cycle.
    pub cycle_id: Option<i64>,
    /// Kind of cycle.
    pub mode: Mode,
    /// Only these persons.
    pub users: Vec<String>,
    /// Release held deprovisions.
    pub allow_mass_deprovision: bool,
    /// Deprovision guards.
    pub limits: DeprovisionLimits,
    /// Cycle time.
    pub now: DateTime<Utc>,
    /// The saved plan's part for this app, if applying a saved plan.
    pub saved: Option<AppPlan>,
    /// Shutdown signal.
    pub stop: watch::Receiver<bool>,
}

/// An app planned, ready to execute.
pub struct Planned {
    run: AppRun,
    /// The plan.
    pub plan: AppPlan,
    /// Digest of this app's inputs (for saved-plan checks).
    pub input_digest: String,
    links: BTreeMap<String, LinkState>,
    groups: BTreeMap<String, GroupState>,
    api: Option<Arc<AppApi>>,
    /// Capabilities the client started with, from the state.
    recalled: Option<hrsync_connectors::scim::Capabilities>,
}

/// Plans one app.
pub async fn plan_app_run(run: AppRun) -> Result<Planned, EngineError> {
    let app = &run.app;
    let only = |k: &str| run.users.is_empty() || run.users.iter().any(|u| u == k);
    let mut links = BTreeMap::new();
    let mut groups = BTreeMap::new();
    if let Some(s) = &run.store {
        for l in s.links(Some(&app.name)).await? {
            if only(&l.person_key) {
                links.insert(l.person_key.clone(), link_state(&l));
            }
        }
        for g in s.groups(&app.name).await? {
            if g.managed {
                groups.insert(
                    g.group_name.clone(),
                    GroupState {
                        remote_id: g.remote_id.clone(),
                        members: g.members.clone(),
                    },
                );
            }
        }
    }
    let mut persons = desired_for_app(&run.mapper, &app.name, &run.view);
    persons.retain(|k, _| only(k));
    let needs_api = run.mode
        != (Mode::Plan {
            detect_drift: false,
        });
    let api = if needs_api {
        match AppApi::new(app) {
            Ok(a) => Some(Arc::new(a)),
            Err(e) => {
                let mut plan = AppPlan::new(&app.name, &app.profile);
                plan.error = Some(e.to_string());
                return Ok(Planned {
                    run,
                    plan,
                    input_digest: String::new(),
                    links,
                    groups,
                    api: None,
                    recalled: None,
                });
            }
        }
    } else {
        None
    };
    let recalled = match (&api, &run.store) {
        (Some(api), Some(store)) => {
            super::capabilities::recall(store, &app.name, api, run.now).await
        }
        _ => None,
    };
    let mut remote = None;
    let mut read_error = None;
    if run.mode.reads_apps() {
        if let Some(api) = &api {
            match api.list_remote(&app.attribute_paths).await {
                Ok(mut r) => {
                    if !run.users.is_empty() {
                        // A surgical resync sees only the persons it was asked about.
                        r.retain(|_, u| {
                            u.external_id.as_deref().is_some_and(only)
                                || links.values().any(|l| l.remote_id == u.id)
                                || persons.values().any(|p| {
                                    matches!(p.attrs.get("userName"),
                                        Some(crate::mapping::Mapped::Value(serde_json::Value::String(n)))
                                            if n.eq_ignore_ascii_case(&u.user_name))
                                })
                        });
                    }
                    remote = Some(r);
                }
                Err(e) => read_error = Some(format!("could not read the app's accounts: {e}")),
            }
        }
    }
    let digest = {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(app.name.as_bytes());
        h.update(serde_json::to_vec(&persons).unwrap_or_default());
        for (k, l) in &links {
            h.update(k.as_bytes());
            h.update(l.remote_id.as_bytes());
            h.update(l.hash.as_bytes());
            h.update(format!("{:?}{:?}", l.lifecycle, l.deactivated_at).as_bytes());
        }
        for (k, g) in &groups {
            h.update(k.as_bytes());
            h.update(format!("{:?}{:?}", g.remote_id, g.members).as_bytes());
        }
        hex::encode(h.finalize())
    };
    let mut plan = if let Some(saved) = run.saved.clone() {
        saved
    } else if let Some(err) = read_error {
        let mut p = AppPlan::new(&app.name, &app.profile);
        p.error = Some(err);
        p
    } else {
        plan_app(&AppInput {
            policy: &app.policy,
            persons: &persons,
            links: &links,
            remote: remote.as_ref(),
            groups: &groups,
            manages_groups: app.manages_groups,
            now: run.now,
        })
    };
    if run.saved.is_some() {
        if run.allow_mass_deprovision && !plan.held.is_empty() {
            let held = std::mem::take(&mut plan.held);
            plan.operations
                .extend(held.into_iter().map(|h| h.operation));
            plan.finish();
        }
    } else {
        let active = links
            .values()
            .filter(|l| l.lifecycle == LinkLifecycle::Active)
            .count();
        let last_day = match &run.store {
            Some(s) => {
                // Audit rows carry wall-clock time, so the window is measured on it too.
                let since = crate::clock::now() - chrono::Duration::hours(24);
                s.count_deprovisions_since(&app.name, since).await? as usize
            }
            None => 0,
        };
        let mut limits = run.limits.clone();
        if active < PERCENT_GUARD_MIN_ACCOUNTS {
            limits.max_percent = None;
        }
        if let Some(why) = hold_mass_deprovision(
            &mut plan,
            &limits,
            active,
            last_day,
            run.allow_mass_deprovision,
        ) {
            tracing::warn!(app = %app.name, reason = %why, "Deprovisions held by a guard.");
        }
    }
    Ok(Planned {
        run,
        plan,
        input_digest: digest,
        links,
        groups,
        api,
        recalled,
    })
}

/// Executes a planned app; returns the plan and what happened.
pub async fn execute_planned(p: Planned) -> Result<(AppPlan, AppOutcome), EngineError> {
    let Planned {
        run,
        plan,
        links,
        groups,
        api,
        recalled,
        ..
    } = p;
    let app = &run.app;
    let mut outcome = AppOutcome {
        app: app.name.clone(),
        ..AppOutcome::default()
    };
    let Some(store) = run.store.clone() else {
        return Err(EngineError::Usage("executing without a state store".into()));
    };
    let held = plan
        .held
        .iter()
        .map(|h| HeldOp {
            app: app.name.clone(),
            person_key: h.operation.key.clone(),
            op: audit_op(h.operation.op),
            reason: h.reason.clone(),
            cycle_id: run.cycle_id,
            held_at: run.now,
        })
        .collect();
    store.replace_held(&app.name, held).await?;
    if let Some(e) = &plan.error {
        outcome.circuit_open = Some(e.clone());
        record_health(&store, app, run.now, Some(e.clone()), None, None).await?;
        return Ok((plan, outcome));
    }
    let previous = store
        .app_health()
        .await?
        .into_iter()
        .find(|h| h.app == app.name);
    let was_open = previous
        .as_ref()
        .is_some_and(|h| h.circuit == CircuitState::Open);
    // With nothing to do, a healthy app gets no request at all; an open circuit still gets
    // its half-open probe, so `status` does not call a recovered app unhealthy forever.
    if plan.operations.is_empty() && !was_open {
        return Ok((plan, outcome));
    }
    let Some(api) = api else {
        return Err(EngineError::Usage(format!("app {}: no client", app.name)));
    };
    let mut circuit = Circuit::new();
    if let Some(h) = &previous {
        if h.circuit == CircuitState::Open {
            let opened = h.opened_at.unwrap_or(run.now);
            if !may_probe(opened, h.consecutive_failures.max(1), run.now) {
                circuit = Circuit::opened(format!(
                    "circuit open since {opened} after: {}",
                    h.last_error.clone().unwrap_or_default()
                ));
            } else if let Err(e) = api.probe().await {
                // Half-open probe failed: stay open, wait longer next time.
                circuit = Circuit::opened(format!("half-open probe failed: {e}"));
            }
        }
    }
    if let Some(reason) = circuit.open_reason() {
        outcome.circuit_open = Some(reason.clone());
        for op in &plan.operations {
            outcome.skipped.push(super::execute::OpFailure {
                op: op.op.as_str().into(),
                key: op.key.clone(),
                error: format!("circuit open: {reason}"),
            });
        }
        let waiting = previous.as_ref().is_some_and(|h| {
            h.circuit == CircuitState::Open
                && !may_probe(
                    h.opened_at.unwrap_or(run.now),
                    h.consecutive_failures.max(1),
                    run.now,
                )
        });
        if waiting {
            // Still cooling down: keep the record as it is.
        } else {
            record_health(&store, app, run.now, Some(reason), None, previous.as_ref()).await?;
        }
        return Ok((plan, outcome));
    }
    if plan.operations.is_empty() {
        // The probe passed and there is nothing to send: the app is healthy again.
        record_health(&store, app, run.now, None, None, previous.as_ref()).await?;
        return Ok((plan, outcome));
    }
    let circuit = Arc::new(circuit);
    let caps_api = api.clone();
    let ctx = Arc::new(ExecCtx {
        api,
        recorder: Recorder::new(Some(store.clone()), run.cycle_id, &app.name),
        links: Mutex::new(links),
        groups: Mutex::new(groups),
        circuit: circuit.clone(),
        now: run.now,
        stop: run.stop.clone(),
        on_unlinked_match: app.on_unlinked_match,
        match_on: app.match_on.clone(),
        conflicts: app.policy.conflicts.clone(),
    });
    outcome = execute_app(ctx, &plan, app.concurrency).await;
    super::capabilities::remember(&store, &app.name, &caps_api, recalled.as_ref(), run.now).await;
    let last_error = outcome.failed.last().map(|f| f.error.clone());
    record_health(
        &store,
        app,
        run.now,
        outcome.circuit_open.clone(),
        last_error,
        previous.as_ref(),
    )
    .await?;
    Ok((plan, outcome))
}

async fn record_health(
    store: &Store,
    app: &AppSettings,
    now: DateTime<Utc>,
    open: Option<String>,
    last_error: Option<String>,
    previous: Option<&AppHealth>,
) -> Result<(), EngineError> {
    let health = AppHealth {
        app: app.name.clone(),
        circuit: if open.is_some() {
            CircuitState::Open
        } else {
            CircuitState::Closed
        },
        last_error: open
            .clone()
            .or(last_error)
            .or_else(|| previous.and_then(|p| p.last_error.clone())),
        last_success_at: if open.is_some() {
            previous.and_then(|p| p.last_success_at)
        } else {
            Some(now)
        },
        consecutive_failures: if open.is_some() {
            previous.map_or(0, |p| p.consecutive_failures) + 1
        } else {
            0
        },
        // Each failed probe restarts the cool-down, which grows with the failures.
        opened_at: open.as_ref().map(|_| now),
        updated_at: now,
    };
    store.set_app_health(health).await?;
    Ok(())
}
