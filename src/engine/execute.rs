//! The per-app executor: runs an app's operations phase by phase (deprovisions, updates,
//! creates, groups), bounded by the app's concurrency, retries what failed transiently once
//! before moving on, records every outcome with its audit row in one transaction after the
//! app answers, then resolves references in a second pass.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::{watch, Mutex, Semaphore};
use tracing::Instrument;

use hrsync_connectors::http::TransportKind;
use hrsync_connectors::scim::ScimError;
use hrsync_state::AuditOp;

use super::app_api::{AppApi, FailureClass, OpError};
use super::circuit::Circuit;
use super::ops;
use super::record::Recorder;
use crate::reconcile::{AppPlan, GroupState, LinkState, OpKind, Operation};

/// What happened to one app's operations.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct AppOutcome {
    /// App name.
    pub app: String,
    /// Succeeded operations by kind.
    pub done: BTreeMap<String, usize>,
    /// Failed operations.
    pub failed: Vec<OpFailure>,
    /// Operations not attempted, with why (circuit open, deferred by quarantine, shutdown).
    pub skipped: Vec<OpFailure>,
    /// Set when the app's circuit opened during the cycle.
    pub circuit_open: Option<String>,
}

/// One operation that did not succeed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OpFailure {
    /// Operation kind.
    pub op: String,
    /// Person key or group name.
    pub key: String,
    /// Why.
    pub error: String,
}

/// Shared context of one app's execution.
pub struct ExecCtx {
    /// The app.
    pub api: Arc<AppApi>,
    /// Records outcomes.
    pub recorder: Recorder,
    /// Links as they are now (updated as operations succeed).
    pub links: Mutex<BTreeMap<String, LinkState>>,
    /// Managed groups as they are now.
    pub groups: Mutex<BTreeMap<String, GroupState>>,
    /// The app's circuit breaker.
    pub circuit: Arc<Circuit>,
    /// Cycle time.
    pub now: DateTime<Utc>,
    /// Flips to true on shutdown: no new operation starts.
    pub stop: watch::Receiver<bool>,
    /// What to do with an existing account that matches an unlinked person.
    pub on_unlinked_match: crate::config::OnUnlinkedMatch,
    /// Lookup order before a create.
    pub match_on: Vec<crate::config::MatchAttr>,
    /// The app's conflict rules (create-only attributes are kept on adoption).
    pub conflicts: crate::reconcile::ConflictRules,
}

impl ExecCtx {
    /// The app's name.
    pub fn recorder_app(&self) -> &str {
        self.recorder.app()
    }
}

/// Executes an app's plan.
pub async fn execute_app(ctx: Arc<ExecCtx>, plan: &AppPlan, concurrency: usize) -> AppOutcome {
    let mut outcome = AppOutcome {
        app: plan.name.clone(),
        ..AppOutcome::default()
    };
    let span = tracing::info_span!("app", app = %plan.name);
    async {
        let mut phases: BTreeMap<u8, Vec<Operation>> = BTreeMap::new();
        for op in &plan.operations {
            phases.entry(op.op.phase()).or_default().push(op.clone());
        }
        let mut second_pass = Vec::new();
        for (_, ops) in phases {
            let mut results = run_phase(&ctx, ops, concurrency).await;
            let (again, kept): (Vec<_>, Vec<_>) = results
                .into_iter()
                .partition(|(op, r)| r.as_ref().is_err_and(|e| retry_in_cycle(op, e)));
            results = kept;
            if !again.is_empty() && ctx.circuit.open_reason().is_none() && !*ctx.stop.borrow() {
                // The app had transient trouble with these: one more try each, before the
                // next phase, instead of leaving them all to the next cycle.
                tracing::info!(
                    count = again.len(),
                    "Retrying operations that failed transiently."
                );
                let ops = again.into_iter().map(|(op, _)| op).collect();
                results.extend(run_phase(&ctx, ops, concurrency).await);
                results.sort_by(|a, b| a.0.key.cmp(&b.0.key));
            } else {
                results.extend(again);
            }
            for (op, result) in results {
                tally(&mut outcome, &op, &result);
                if result.is_ok() && !op.pending_refs.is_empty() {
                    second_pass.push(op);
                }
            }
        }
        for op in second_pass {
            if *ctx.stop.borrow() {
                break;
            }
            if let Err(e) = ops::resolve_references(&ctx, &op).await {
                outcome.failed.push(OpFailure {
                    op: "resolve_references".into(),
                    key: op.key.clone(),
                    error: e.to_string(),
                });
            }
        }
        outcome.circuit_open = ctx.circuit.open_reason();
        tracing::info!(
            app = %plan.name,
            done = outcome.done.values().sum::<usize>(),
            failed = outcome.failed.len(),
            skipped = outcome.skipped.len(),
            "App finished."
        );
    }
    .instrument(span)
    .await;
    outcome
}

/// True when an operation that failed may be tried once more in the same cycle: the app
/// had transient trouble (server errors, throttling, a broken connection, after the HTTP
/// retries). Not a create that timed out: it may still be running in the app, and the next
/// cycle's lookup is the safe way to learn its fate.
fn retry_in_cycle(op: &Operation, e: &OpError) -> bool {
    if e.class() != FailureClass::Transport {
        return false;
    }
    let timed_out = matches!(
        e,
        OpError::Scim(ScimError::Transport { source, .. })
            if source.transport_kind() == Some(TransportKind::Timeout)
    );
    !(op.op == OpKind::Create && timed_out)
}

fn tally(outcome: &mut AppOutcome, op: &Operation, result: &Result<AuditOp, OpError>) {
    match result {
        Ok(done) => {
            // Memberships count members, as the plan's summary does, not requests.
            let n = match op.op {
                OpKind::MembershipAdd | OpKind::MembershipRemove => op.members.len().max(1),
                _ => 1,
            };
            *outcome.done.entry(done.as_str().to_string()).or_default() += n;
        }
        Err(OpError::Skipped(why)) => outcome.skipped.push(OpFailure {
            op: op.op.as_str().into(),
            key: op.key.clone(),
            error: why.clone(),
        }),
        Err(e) => outcome.failed.push(OpFailure {
            op: op.op.as_str().into(),
            key: op.key.clone(),
            error: e.to_string(),
        }),
    }
}

async fn run_phase(
    ctx: &Arc<ExecCtx>,
    ops: Vec<Operation>,
    concurrency: usize,
) -> Vec<(Operation, Result<AuditOp, OpError>)> {
    let sem = Arc::new(Semaphore::new(concurrency.max(1)));
    let mut set = tokio::task::JoinSet::new();
    let mut results = Vec::new();
    let ops =
        if ops.len() > 1 && ctx.circuit.open_reason().is_none() && ctx.api.bulk_enabled().await {
            let (settled, rest) = super::bulk::run(ctx, ops, concurrency).await;
            results.extend(settled);
            rest
        } else {
            ops
        };
    for op in ops {
        if *ctx.stop.borrow() {
            results.push((op, Err(OpError::Skipped("shutting down".into()))));
            continue;
        }
        if let Some(reason) = ctx.circuit.open_reason() {
            results.push((op, Err(OpError::Skipped(format!("circuit open: {reason}")))));
            continue;
        }
        let Ok(permit) = sem.clone().acquire_owned().await else {
            break;
        };
        // The wait for a slot may have outlasted a stop signal: start nothing new then.
        if *ctx.stop.borrow() {
            drop(permit);
            results.push((op, Err(OpError::Skipped("shutting down".into()))));
            continue;
        }
        let ctx = ctx.clone();
        let span = tracing::info_span!("op", op = op.op.as_str(), key = %op.key);
        set.spawn(
            async move {
                let result = run_one(&ctx, &op).await;
                drop(permit);
                (op, result)
            }
            .instrument(span),
        );
    }
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok(r) => results.push(r),
            Err(e) => tracing::error!(error = %e, "Operation task failed."),
        }
    }
    results.sort_by(|a, b| a.0.key.cmp(&b.0.key));
    results
}

async fn run_one(ctx: &ExecCtx, op: &Operation) -> Result<AuditOp, OpError> {
    if let Some(reason) = ctx.circuit.open_reason() {
        return Err(OpError::Skipped(format!("circuit open: {reason}")));
    }
    if matches!(
        op.op,
        OpKind::Create | OpKind::Update | OpKind::Reactivate | OpKind::Deactivate | OpKind::Delete
    ) {
        if let Some(until) = ctx.recorder.deferred_until(&op.key, ctx.now).await {
            return Err(OpError::Skipped(format!(
                "quarantined after repeated failures; next attempt after {until}"
            )));
        }
    }
    let result = ops::execute(ctx, op).await;
    match &result {
        Ok(_) => ctx.circuit.success(),
        Err(e) => ctx.circuit.failure(e),
    }
    if let Err(e) = &result {
        if !matches!(e, OpError::Skipped(_)) {
            ctx.recorder.failed(op, e, ctx.now).await;
        }
    }
    result
}
