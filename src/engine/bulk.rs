//! SCIM Bulk (RFC 7644 §3.7) for apps that advertise it: a phase's creates, updates,
//! deactivations and deletions go out in batches, and each operation's result comes back
//! as its own answer for the settle step. Whatever Bulk could not settle (409, 404, a
//! failed batch, an unknown outcome) falls back to the one-by-one path, which looks up
//! before any create.

use std::sync::Arc;

use hrsync_connectors::scim::{BulkOp, BulkResult, Deprovision, ScimError};
use hrsync_state::AuditOp;
use tokio::sync::Semaphore;
use tracing::Instrument as _;

use super::answer::{Answer, Effect, Returned};
use super::context::ExecCtx;
use super::error::{OpError, PermanentFailure};
use super::record::audit_op;
use crate::reconcile::{LinkLifecycle, OpKind, Operation};

/// The fewest operations worth a Bulk request.
const MIN_BATCH: usize = 2;

/// Answers what it can of `ops` with Bulk, preparing them (the lookups before creates)
/// `concurrency` at a time. Returns the answers, for the settle step, and the operations
/// left for the one-by-one path.
pub async fn run(
    ctx: &Arc<ExecCtx>,
    ops: Vec<Operation>,
    concurrency: usize,
) -> (Vec<(Operation, Answer)>, Vec<Operation>) {
    let mut answered = Vec::new();
    let mut rest = Vec::new();
    let mut batch: Vec<(Operation, BulkOp)> = Vec::new();
    for (op, prepared) in prepare(ctx, ops, concurrency).await {
        match prepared {
            Ok(Some(b)) => batch.push((op, b)),
            Ok(None) => rest.push(op),
            Err(e) => answered.push((op, Answer::Unaudited(e))),
        }
    }
    if batch.len() < MIN_BATCH {
        rest.extend(batch.into_iter().map(|(o, _)| o));
        return (answered, rest);
    }
    let (ops, bulk_ops): (Vec<Operation>, Vec<BulkOp>) = batch.into_iter().unzip();
    tracing::info!(count = ops.len(), "Sending operations with SCIM Bulk.");
    let results = match ctx.api.client().bulk(bulk_ops).await {
        Ok(r) => r,
        Err(e @ ScimError::Unauthorized { .. }) => {
            let detail = e.to_string();
            for op in ops {
                let refused = PermanentFailure::BulkUnauthorized {
                    detail: detail.clone(),
                };
                answered.push((op, Answer::Unaudited(refused.into())));
            }
            ctx.circuit.failure(&OpError::Scim(e));
            return (answered, rest);
        }
        Err(e) => {
            tracing::warn!(error = %e, "Bulk request failed; falling back to single requests.");
            rest.extend(ops);
            return (answered, rest);
        }
    };
    for (op, r) in ops.into_iter().zip(results) {
        match answer(ctx.app(), &op, &r) {
            Some(a) => answered.push((op, a)),
            None => rest.push(op),
        }
    }
    (answered, rest)
}

/// The Bulk forms of `ops`, in their order, computed `concurrency` at a time: each create
/// is looked up first, and one lookup after another would make Bulk slower than the
/// one-by-one path it is meant to beat.
async fn prepare(
    ctx: &Arc<ExecCtx>,
    ops: Vec<Operation>,
    concurrency: usize,
) -> Vec<(Operation, Result<Option<BulkOp>, OpError>)> {
    let sem = Arc::new(Semaphore::new(concurrency.max(1)));
    let mut set = tokio::task::JoinSet::new();
    for (i, op) in ops.into_iter().enumerate() {
        // The semaphore is never closed, so a permit always comes.
        let permit = sem.clone().acquire_owned().await.ok();
        let ctx = ctx.clone();
        set.spawn(
            async move {
                let r = bulk_op(&ctx, &op).await;
                drop(permit);
                (i, op, r)
            }
            .in_current_span(),
        );
    }
    let mut out = Vec::new();
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok(r) => out.push(r),
            Err(e) => tracing::error!(error = %e, "Preparing a Bulk operation failed."),
        }
    }
    out.sort_by_key(|(i, _, _)| *i);
    out.into_iter().map(|(_, op, r)| (op, r)).collect()
}

/// The Bulk form of an operation, when it has one. A create is looked up first: a match
/// goes the one-by-one way (adoption), never into a Bulk POST.
async fn bulk_op(ctx: &ExecCtx, op: &Operation) -> Result<Option<BulkOp>, OpError> {
    let api = &ctx.api;
    Ok(match (op.op, &op.remote_id) {
        (OpKind::Create, None) => {
            if ctx
                .recorder
                .deferred_until(&op.key, ctx.now)
                .await
                .is_some()
            {
                return Ok(None);
            }
            let unread = !op.looked_up || !ctx.first_create(&op.key);
            if unread && api.lookup(&op.key, &op.desired).await?.is_some() {
                return Ok(None);
            }
            let body = api.create_body(&op.key, &op.desired, op.active.unwrap_or(true))?;
            Some(BulkOp::create_user(&op.key, body))
        }
        (OpKind::Update | OpKind::Reactivate, Some(id)) => {
            let was_active = ctx
                .links
                .lock()
                .await
                .get(&op.key)
                .is_none_or(|l| l.lifecycle == LinkLifecycle::Active);
            let active = op.active.unwrap_or(true);
            let changed = op.op == OpKind::Reactivate || was_active != active;
            let patch = api.patch_ops(&op.changes, active, changed)?;
            (!patch.is_empty()).then(|| BulkOp::patch_user(id, &patch))
        }
        (OpKind::Deactivate, Some(id))
            if api.client().profile().deprovision == Deprovision::PatchActive =>
        {
            let patch = api.patch_ops(&[], false, true)?;
            Some(BulkOp::patch_user(id, &patch))
        }
        (OpKind::Delete, Some(id)) => Some(BulkOp::delete_user(id)),
        _ => None,
    })
}

/// The answer of one Bulk result; `None` sends the operation down the one-by-one path.
fn answer(app: &str, op: &Operation, r: &BulkResult) -> Option<Answer> {
    if r.is_success() {
        // Created without saying where: `None`, and the lookup finds it.
        let id = op.remote_id.clone().or_else(|| r.id.clone())?;
        let effect = match op.op {
            OpKind::Create => Effect::Linked {
                audit: AuditOp::Create,
                id,
                ownership: hrsync_state::Ownership::Created,
                recorded: None,
                returned: Returned::of_create(&op.desired, r.response.clone()),
            },
            OpKind::Update | OpKind::Reactivate => Effect::Linked {
                audit: audit_op(op.op),
                id,
                ownership: hrsync_state::Ownership::Adopted,
                recorded: None,
                returned: Returned::of_changes(&op.changes, r.response.clone()),
            },
            OpKind::Deactivate | OpKind::Delete => Effect::Removed {
                audit: audit_op(op.op),
                id,
                gone: false,
            },
            _ => return None,
        };
        return Some(Answer::Done(effect));
    }
    match r.status {
        // Conflicts, vanished accounts, unknown outcomes and server trouble: the
        // one-by-one path looks up, records vanished links and retries safely.
        0 | 404 | 409 | 408 | 429 | 500..=599 => None,
        status => Some(Answer::Failed(OpError::Scim(ScimError::Rejected {
            app: app.to_string(),
            op: "bulk",
            status,
            scim_type: r.error.as_ref().and_then(|e| e.scim_type.clone()),
            detail: r
                .error
                .as_ref()
                .and_then(|e| e.detail.clone())
                .unwrap_or_default(),
        }))),
    }
}
