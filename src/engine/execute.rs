//! The per-app executor: runs an app's operations phase by phase (deprovisions, updates,
//! creates, groups), bounded by the app's concurrency, retries what failed transiently once
//! at the end of the phase, hands every answer to the settle step as soon as the app gave
//! it, then resolves references in a second pass.

use std::collections::BTreeMap;
use std::sync::Arc;

use hrsync_state::AuditOp;
use tokio::sync::Semaphore;
use tracing::Instrument;

use super::answer::Answer;
use super::bulk;
use super::context::ExecCtx;
use super::error::{FailureClass, OpError, SkipReason};
use super::ops;
use super::settle::{settle, settle_references};
use crate::reconcile::order::in_waves;
use crate::reconcile::{AppPlan, OpKind, Operation};

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

/// One operation and what became of it, once settled.
type Settled = (Operation, Result<AuditOp, OpError>);

/// Executes an app's plan.
pub async fn execute_app(ctx: Arc<ExecCtx>, plan: &AppPlan, concurrency: usize) -> AppOutcome {
    let span = tracing::info_span!("app", app = %plan.name);
    async {
        let mut outcome = AppOutcome {
            app: plan.name.clone(),
            ..AppOutcome::default()
        };
        let mut second_pass = Vec::new();
        for ops in phases(plan) {
            for (op, result) in run_phase_and_retry(&ctx, ops, concurrency).await {
                let op = ctx.as_sent(op);
                tally(&mut outcome, &op, &result);
                if result.is_ok() && !op.pending_refs.is_empty() {
                    second_pass.push(op);
                }
            }
        }
        resolve_references(&ctx, second_pass, &mut outcome).await;
        outcome.circuit_open = ctx.circuit.open_reason();
        tracing::info!(
            app = %plan.name,
            done = outcome.done.values().sum::<usize>(),
            failed = outcome.failed.len(),
            skipped = outcome.skipped.len(),
            "App finished."
        );
        ctx.progress.finish(&result_line(&outcome));
        outcome
    }
    .instrument(span)
    .await
}

/// The plan's operations by phase, in phase order.
fn phases(plan: &AppPlan) -> impl Iterator<Item = Vec<Operation>> {
    let mut phases: BTreeMap<u8, Vec<Operation>> = BTreeMap::new();
    for op in &plan.operations {
        phases.entry(op.op.phase()).or_default().push(op.clone());
    }
    phases.into_values()
}

/// Runs one phase, then tries once more what failed transiently.
async fn run_phase_and_retry(
    ctx: &Arc<ExecCtx>,
    ops: Vec<Operation>,
    concurrency: usize,
) -> Vec<Settled> {
    let results = run_phase(ctx, ops, concurrency).await;
    let (again, mut results): (Vec<_>, Vec<_>) = results
        .into_iter()
        .partition(|(op, r)| r.as_ref().is_err_and(|e| retry_in_cycle(op, e)));
    if again.is_empty() || ctx.circuit.open_reason().is_some() || ctx.stopping() {
        results.extend(again);
        return results;
    }
    // The app had transient trouble with these: one more try each, before the next
    // phase, instead of leaving them all to the next cycle.
    ctx.progress.retrying(again.len());
    tracing::info!(
        count = again.len(),
        "Retrying operations that failed transiently."
    );
    let ops = again.into_iter().map(|(op, _)| op).collect();
    results.extend(run_phase(ctx, ops, concurrency).await);
    results.sort_by(|a, b| a.0.key.cmp(&b.0.key));
    results
}

/// Second pass: pushes the references whose targets got accounts this cycle.
async fn resolve_references(ctx: &ExecCtx, ops: Vec<Operation>, outcome: &mut AppOutcome) {
    for op in ops {
        if ctx.stopping() {
            break;
        }
        let pushed = ops::resolve_references(ctx, &op).await;
        if let Err(e) = settle_references(ctx, &op, pushed).await {
            outcome.failed.push(OpFailure {
                op: "resolve_references".into(),
                key: op.key.clone(),
                error: e.to_string(),
            });
        }
    }
}

/// True when an operation that failed may be tried once more in the same cycle: the app
/// had transient trouble (server errors, throttling, a broken connection, after the HTTP
/// retries). Not a create that timed out: it may still be running in the app, and the next
/// cycle's lookup is the safe way to learn its fate.
fn retry_in_cycle(op: &Operation, e: &OpError) -> bool {
    e.class() == FailureClass::Transport && !(op.op == OpKind::Create && e.timed_out())
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
            error: why.to_string(),
        }),
        Err(e) => outcome.failed.push(OpFailure {
            op: op.op.as_str().into(),
            key: op.key.clone(),
            error: e.to_string(),
        }),
    }
}

/// Runs one phase's operations: with Bulk when the app takes it, the rest one by one;
/// every answer is settled as it comes.
async fn run_phase(ctx: &Arc<ExecCtx>, ops: Vec<Operation>, concurrency: usize) -> Vec<Settled> {
    let mut results = Vec::new();
    let ops =
        if ops.len() > 1 && ctx.circuit.open_reason().is_none() && ctx.api.bulk_enabled().await {
            let (answered, rest) = bulk::run(ctx, ops, concurrency).await;
            for (op, answer) in answered {
                let result = settle(ctx, &op, answer).await;
                ctx.progress.settled(failed(&result));
                results.push((op, result));
            }
            rest
        } else {
            ops
        };
    // A manager's create settles before their reports' creates start, so theirs carry
    // the manager's account id.
    for wave in in_waves(ops) {
        results.extend(run_one_by_one(ctx, wave, concurrency).await);
    }
    results.sort_by(|a, b| a.0.key.cmp(&b.0.key));
    results
}

/// Runs operations one request each, `concurrency` at a time; each task settles its own
/// answer before it frees its slot.
async fn run_one_by_one(
    ctx: &Arc<ExecCtx>,
    ops: Vec<Operation>,
    concurrency: usize,
) -> Vec<Settled> {
    let sem = Arc::new(Semaphore::new(concurrency.max(1)));
    let mut set = tokio::task::JoinSet::new();
    let mut results = Vec::new();
    for op in ops {
        if let Some(why) = not_started(ctx) {
            ctx.progress.settled(false);
            results.push((op, Err(why.into())));
            continue;
        }
        let Ok(permit) = sem.clone().acquire_owned().await else {
            break;
        };
        // As many operations in progress as the app's in-flight limit allows (it adapts when
        // `concurrency` is not configured); the rest wait here, before the circuit check.
        let slot = ctx.api.throttle().operation_slot().await;
        // The wait for a slot may have outlasted a stop signal: start nothing new then.
        if ctx.stopping() {
            drop(permit);
            ctx.progress.settled(false);
            results.push((op, Err(SkipReason::ShuttingDown.into())));
            continue;
        }
        let ctx = ctx.clone();
        let span = tracing::info_span!("op", op = op.op.as_str(), key = %op.key);
        set.spawn(
            async move {
                let answer = run_one(&ctx, &op).await;
                let result = settle(&ctx, &op, answer).await;
                ctx.progress.settled(failed(&result));
                drop((slot, permit));
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
    results
}

/// True when a settled operation failed (one skipped did not).
fn failed(result: &Result<AuditOp, OpError>) -> bool {
    matches!(result, Err(e) if !matches!(e, OpError::Skipped(_)))
}

/// The line a finished app's progress bar ends with.
fn result_line(outcome: &AppOutcome) -> String {
    let mut line = format!(
        "done: {}, failed: {}, skipped: {}",
        outcome.done.values().sum::<usize>(),
        outcome.failed.len(),
        outcome.skipped.len()
    );
    if let Some(why) = &outcome.circuit_open {
        line.push_str(&format!(
            ", circuit open: {}",
            crate::report::printable(why)
        ));
    }
    line
}

/// Why no new operation may start now, if none may.
fn not_started(ctx: &ExecCtx) -> Option<SkipReason> {
    if ctx.stopping() {
        return Some(SkipReason::ShuttingDown);
    }
    ctx.circuit.open_reason().map(SkipReason::CircuitOpen)
}

/// One operation, unless the circuit opened meanwhile or the person waits in quarantine.
async fn run_one(ctx: &ExecCtx, op: &Operation) -> Answer {
    if let Some(reason) = ctx.circuit.open_reason() {
        return Answer::Failed(SkipReason::CircuitOpen(reason).into());
    }
    if matches!(
        op.op,
        OpKind::Create | OpKind::Update | OpKind::Reactivate | OpKind::Deactivate | OpKind::Delete
    ) {
        if let Some(until) = ctx.recorder.deferred_until(&op.key, ctx.now).await {
            return Answer::Failed(SkipReason::Deferred { until }.into());
        }
    }
    ops::execute(ctx, op).await
}
