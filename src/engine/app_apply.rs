//! Executing one planned app: record what the guards held, pass the app's circuit (a
//! half-open probe after the cool-down), run the plan through the executor, and record the
//! app's health and what it advertised.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use hrsync_state::{AppHealth, CircuitState, HeldOp, Store};
use tokio::sync::Mutex;

use super::app_api::AppApi;
use super::app_plan::Planned;
use super::circuit::{may_probe, Circuit};
use super::context::ExecCtx;
use super::error::{EngineError, InternalError, SkipReason};
use super::execute::{execute_app, AppOutcome, OpFailure};
use super::record::{audit_op, Recorder};
use crate::config::AppSettings;
use crate::reconcile::AppPlan;

/// Executes a planned app; returns the plan and what happened.
pub async fn execute_planned(mut p: Planned) -> Result<(AppPlan, AppOutcome), EngineError> {
    let app = &p.run.app;
    let mut outcome = AppOutcome {
        app: app.name.clone(),
        ..AppOutcome::default()
    };
    let Some(store) = p.run.store.clone() else {
        return Err(InternalError::NoStore {
            app: app.name.clone(),
        }
        .into());
    };
    record_held(&store, &p).await?;
    if let Some(stamps) = p.stamps.take() {
        // Those the plan found settled get no operation: what they stand on stays as it is.
        super::unchanged::record(&store, &app.name, stamps).await?;
    }
    let now = p.run.now;
    if let Some(e) = &p.plan.error {
        outcome.circuit_open = Some(e.clone());
        record_health(&store, app, now, Some(e.clone()), None, None).await?;
        return Ok((p.plan, outcome));
    }
    let previous = store
        .app_health()
        .await?
        .into_iter()
        .find(|h| h.app == app.name);
    let was_open = previous.as_ref().is_some_and(is_open);
    // With nothing to do, a healthy app gets no request at all; an open circuit still gets
    // its half-open probe, so `status` does not call a recovered app unhealthy forever.
    if p.plan.operations.is_empty() && !was_open {
        return Ok((p.plan, outcome));
    }
    let Some(api) = p.api.clone() else {
        return Err(InternalError::NoClient {
            app: app.name.clone(),
        }
        .into());
    };
    let circuit = pass_circuit(&api, app.concurrency, previous.as_ref(), now).await;
    if let Some(reason) = circuit.open_reason() {
        outcome.circuit_open = Some(reason.clone());
        outcome.skipped = skip_all(&p.plan, &reason);
        if !cooling_down(previous.as_ref(), now) {
            record_health(&store, app, now, Some(reason), None, previous.as_ref()).await?;
        }
        return Ok((p.plan, outcome));
    }
    if p.plan.operations.is_empty() {
        // The probe passed and there is nothing to send: the app is healthy again.
        record_health(&store, app, now, None, None, previous.as_ref()).await?;
        return Ok((p.plan, outcome));
    }
    let outcome = execute(p, &store, api, circuit, previous.as_ref()).await?;
    Ok(outcome)
}

/// Replaces the app's held deprovisions with those of this plan.
async fn record_held(store: &Store, p: &Planned) -> Result<(), EngineError> {
    let run = &p.run;
    let held = p
        .plan
        .held
        .iter()
        .map(|h| HeldOp {
            app: run.app.name.clone(),
            person_key: h.operation.key.clone(),
            op: audit_op(h.operation.op),
            reason: h.reason.clone(),
            cycle_id: run.cycle_id,
            held_at: run.now,
        })
        .collect();
    store.replace_held(&run.app.name, held).await?;
    Ok(())
}

fn is_open(h: &AppHealth) -> bool {
    h.circuit == CircuitState::Open
}

/// True while an open circuit waits out its cool-down: its record stays as it is.
fn cooling_down(previous: Option<&AppHealth>, now: DateTime<Utc>) -> bool {
    previous.is_some_and(|h| {
        is_open(h)
            && !may_probe(
                h.opened_at.unwrap_or(now),
                h.consecutive_failures.max(1),
                now,
            )
    })
}

/// The app's circuit for this cycle: closed, or still open (cooling down, or its half-open
/// probe failed).
async fn pass_circuit(
    api: &AppApi,
    concurrency: usize,
    previous: Option<&AppHealth>,
    now: DateTime<Utc>,
) -> Circuit {
    let Some(h) = previous.filter(|h| is_open(h)) else {
        return Circuit::new(concurrency);
    };
    let opened = h.opened_at.unwrap_or(now);
    if !may_probe(opened, h.consecutive_failures.max(1), now) {
        return Circuit::opened(format!(
            "circuit open since {opened} after: {}",
            h.last_error.clone().unwrap_or_default()
        ));
    }
    match api.probe().await {
        Ok(_) => Circuit::new(concurrency),
        // Half-open probe failed: stay open, wait longer next time.
        Err(e) => Circuit::opened(format!("half-open probe failed: {e}")),
    }
}

/// Every operation of the plan, skipped because the circuit is open.
fn skip_all(plan: &AppPlan, reason: &str) -> Vec<OpFailure> {
    let why = SkipReason::CircuitOpen(reason.to_string()).to_string();
    plan.operations
        .iter()
        .map(|op| OpFailure {
            op: op.op.as_str().into(),
            key: op.key.clone(),
            error: why.clone(),
        })
        .collect()
}

/// Runs the plan through the executor, then records what the client learned and the app's
/// health.
async fn execute(
    p: Planned,
    store: &Store,
    api: Arc<AppApi>,
    circuit: Circuit,
    previous: Option<&AppHealth>,
) -> Result<(AppPlan, AppOutcome), EngineError> {
    let Planned {
        run,
        plan,
        links,
        groups,
        recalled,
        ..
    } = p;
    let app = &run.app;
    let ctx = Arc::new(ExecCtx {
        api: api.clone(),
        recorder: Recorder::new(Some(store.clone()), run.cycle_id, &app.name),
        links: Mutex::new(links),
        groups: Mutex::new(groups),
        circuit: Arc::new(circuit),
        now: run.now,
        stop: run.stop.clone(),
        on_unlinked_match: app.on_unlinked_match,
        conflicts: app.policy.conflicts.clone(),
        progress: crate::progress::AppProgress::start(&app.name, plan.operations.len()),
        sent_creates: Default::default(),
        members_sent: Default::default(),
    });
    let outcome = execute_app(ctx, &plan, app.concurrency).await;
    super::capabilities::remember(store, &app.name, &api, recalled.as_ref(), run.now).await;
    let last_error = outcome.failed.last().map(|f| f.error.clone());
    let open = outcome.circuit_open.clone();
    record_health(store, app, run.now, open, last_error, previous).await?;
    Ok((plan, outcome))
}

/// Records the app's health after its turn: open (why, since when, how often) or closed.
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
        // Redacted again where it is stored: no secret may reach the state file.
        last_error: open
            .clone()
            .or(last_error)
            .map(|e| hrsync_connectors::redact::redact(&e))
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
