//! SCIM Bulk (RFC 7644 §3.7) for apps that advertise it: a phase's creates, updates,
//! deactivations and deletions go out in batches, and each operation's result comes back
//! as its own answer for the settle step. Whatever Bulk could not settle (409, 404, a
//! failed batch, an unknown outcome) falls back to the one-by-one path, which looks up
//! before any create.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use hrsync_connectors::scim::{BulkOp, BulkResult, Deprovision, ScimError};
use hrsync_state::AuditOp;
use tokio::sync::Semaphore;
use tracing::Instrument as _;

use super::answer::{Answer, Effect, Returned};
use super::context::ExecCtx;
use super::error::{OpError, PermanentFailure};
use super::record::audit_op;
use crate::reconcile::plan::PendingRef;
use crate::reconcile::{state_digest, LinkLifecycle, MatchDecision, OpKind, Operation};
use serde_json::Value;

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
    let mut eligible = Vec::new();
    for (op, ok) in prepare(ctx, ops, concurrency).await {
        match ok {
            Ok(true) => eligible.push(op),
            Ok(false) => rest.push(op),
            Err(e) => answered.push((op, Answer::Unaudited(e))),
        }
    }
    let targets = Targets::of(&eligible);
    let mut ops = Vec::new();
    let mut bulk_ops = Vec::new();
    let mut sent_ops = Vec::new();
    for op in eligible {
        match bulk_form(ctx, &op, &targets).await {
            Ok(Some((b, sent))) => {
                ops.push(op);
                bulk_ops.push(b);
                sent_ops.push(sent);
            }
            Ok(None) => rest.push(op),
            Err(e) => answered.push((op, Answer::Unaudited(e))),
        }
    }
    if ops.len() < MIN_BATCH {
        rest.extend(ops);
        return (answered, rest);
    }
    send(ctx, ops, bulk_ops, sent_ops, &mut answered, &mut rest).await;
    (answered, rest)
}

/// Sends the batch and adds each operation to `answered`, or to `rest` for the one-by-one
/// path; `sent` holds, per operation, the create as sent when it carried references.
async fn send(
    ctx: &Arc<ExecCtx>,
    ops: Vec<Operation>,
    bulk_ops: Vec<BulkOp>,
    sent_ops: Vec<Option<Operation>>,
    answered: &mut Vec<(Operation, Answer)>,
    rest: &mut Vec<Operation>,
) {
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
            return;
        }
        Err(e) => {
            tracing::warn!(error = %e, "Bulk request failed; falling back to single requests.");
            rest.extend(ops);
            return;
        }
    };
    let created = created_ids(ctx, &ops, &results).await;
    for ((op, r), sent) in ops.into_iter().zip(results).zip(sent_ops) {
        let sent = sent.map(|s| with_ids(s, &created));
        match answer(ctx.app(), &op, &r, sent) {
            Some(a) => answered.push((op, a)),
            None => rest.push(op),
        }
    }
}

/// The account ids of the persons this request created, and of every linked person: what
/// a `bulkId:` reference of the request stands for.
async fn created_ids(
    ctx: &ExecCtx,
    ops: &[Operation],
    results: &[BulkResult],
) -> BTreeMap<String, String> {
    let mut ids: BTreeMap<String, String> = ctx
        .links
        .lock()
        .await
        .iter()
        .filter(|(_, l)| l.lifecycle != LinkLifecycle::Deleted)
        .map(|(k, l)| (k.clone(), l.remote_id.clone()))
        .collect();
    for (op, r) in ops.iter().zip(results) {
        if let (OpKind::Create, true, Some(id)) = (op.op, r.is_success(), &r.id) {
            ids.insert(op.key.clone(), id.clone());
        }
    }
    ids
}

/// The create as sent, with each `bulkId:` reference replaced by the account id it stood
/// for; one whose account is unknown goes back to pending (the second pass).
fn with_ids(mut sent: Operation, ids: &BTreeMap<String, String>) -> Operation {
    let refs: Vec<(String, String)> = sent
        .desired
        .iter()
        .filter_map(|(p, v)| {
            Some((
                p.to_string(),
                v.as_str()?.strip_prefix(BULK_REF)?.to_string(),
            ))
        })
        .collect();
    for (path, key) in refs {
        match ids.get(&key) {
            Some(id) => {
                std::sync::Arc::make_mut(&mut sent.desired).insert(path, Value::String(id.clone()));
            }
            None => {
                std::sync::Arc::make_mut(&mut sent.desired).remove(&path);
                sent.pending_refs.push(PendingRef {
                    path: path.into(),
                    key: key.into(),
                    at_create: false,
                });
            }
        }
    }
    sent.hash = Some(state_digest(&sent.desired, sent.active.unwrap_or(true)));
    sent
}

/// How a Bulk operation refers to a resource another operation of the request creates.
const BULK_REF: &str = "bulkId:";

/// Whether each of `ops` may go in the Bulk request, in their order, decided `concurrency`
/// at a time: each create is looked up first, and one lookup after another would make
/// Bulk slower than the one-by-one path it is meant to beat.
async fn prepare(
    ctx: &Arc<ExecCtx>,
    ops: Vec<Operation>,
    concurrency: usize,
) -> Vec<(Operation, Result<bool, OpError>)> {
    let sem = Arc::new(Semaphore::new(concurrency.max(1)));
    let mut set = tokio::task::JoinSet::new();
    for (i, op) in ops.into_iter().enumerate() {
        // The semaphore is never closed, so a permit always comes.
        let permit = sem.clone().acquire_owned().await.ok();
        let ctx = ctx.clone();
        set.spawn(
            async move {
                let r = eligible(&ctx, &op).await;
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

/// Whether an operation may go in the Bulk request. A create is looked up first: a match
/// goes the one-by-one way (adoption), never into a Bulk POST; so does a create deferred
/// by quarantine.
async fn eligible(ctx: &ExecCtx, op: &Operation) -> Result<bool, OpError> {
    if (op.op, &op.remote_id) != (OpKind::Create, &None) {
        return Ok(true);
    }
    if ctx
        .recorder
        .deferred_until(&op.key, ctx.now)
        .await
        .is_some()
    {
        return Ok(false);
    }
    let unread = !op.looked_up || !ctx.first_create(&op.key);
    Ok(!(unread && ctx.api.lookup(&op.key, &op.desired).await?.is_some()))
}

/// What a reference of a create in this request may point at besides a linked person.
struct Targets {
    /// The persons this request creates: a reference to one goes as `bulkId:<key>`.
    posted: BTreeSet<String>,
    /// The persons whose existing account this cycle links (adoption, relink): their id.
    linking: BTreeMap<String, String>,
}

impl Targets {
    fn of(ops: &[Operation]) -> Self {
        let creates = || ops.iter().filter(|o| o.op == OpKind::Create);
        let linking = creates()
            .filter(|o| {
                o.adopt
                    .as_ref()
                    .is_none_or(|a| a.decision == MatchDecision::Link)
            })
            .filter_map(|o| Some((o.key.clone(), o.remote_id.clone()?)))
            .collect();
        Targets {
            posted: creates()
                .filter(|o| o.remote_id.is_none())
                .map(|o| o.key.clone())
                .collect(),
            linking,
        }
    }
}

/// A create with its references resolved: to the account id of a linked person or of one
/// being linked, or to `bulkId:<key>` for a person this request creates; the others stay
/// pending. `None` when nothing was resolved.
async fn with_refs(ctx: &ExecCtx, op: &Operation, targets: &Targets) -> Option<Operation> {
    if op.pending_refs.is_empty() {
        return None;
    }
    let links = ctx.links.lock().await;
    let mut sent = op.clone();
    sent.pending_refs.clear();
    for r in &op.pending_refs {
        let linked = links
            .get(&*r.key)
            .filter(|l| l.lifecycle != LinkLifecycle::Deleted);
        let value = match (linked, targets.linking.get(&*r.key)) {
            (Some(l), _) => l.remote_id.clone(),
            (None, Some(id)) => id.clone(),
            (None, None) if targets.posted.contains(&*r.key) && *r.key != *op.key => {
                format!("{BULK_REF}{}", r.key)
            }
            (None, None) => {
                sent.pending_refs.push(r.clone());
                continue;
            }
        };
        std::sync::Arc::make_mut(&mut sent.desired).insert(r.path.clone(), Value::String(value));
    }
    (sent.pending_refs.len() < op.pending_refs.len()).then_some(sent)
}

/// The Bulk form of an operation, when it has one, and for a create that carries
/// references, the create as sent.
async fn bulk_form(
    ctx: &ExecCtx,
    op: &Operation,
    targets: &Targets,
) -> Result<Option<(BulkOp, Option<Operation>)>, OpError> {
    let api = &ctx.api;
    Ok(match (op.op, &op.remote_id) {
        (OpKind::Create, None) => {
            let sent = with_refs(ctx, op, targets).await;
            let o = sent.as_ref().unwrap_or(op);
            let body = api.create_body(&o.key, &o.desired, o.active.unwrap_or(true))?;
            return Ok(Some((BulkOp::create_user(&op.key, body), sent)));
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
            (!patch.is_empty()).then(|| (BulkOp::patch_user(id, &patch), None))
        }
        (OpKind::Deactivate, Some(id))
            if api.client().profile().deprovision == Deprovision::PatchActive =>
        {
            let patch = api.patch_ops(&[], false, true)?;
            Some((BulkOp::patch_user(id, &patch), None))
        }
        (OpKind::Delete, Some(id)) => Some((BulkOp::delete_user(id), None)),
        _ => None,
    })
}

/// The answer of one Bulk result (`sent`: the create as sent, when it carried references);
/// `None` sends the operation down the one-by-one path.
fn answer(app: &str, op: &Operation, r: &BulkResult, sent: Option<Operation>) -> Option<Answer> {
    if r.is_success() {
        // Created without saying where: `None`, and the lookup finds it.
        let id = op.remote_id.clone().or_else(|| r.id.clone())?;
        let effect = match op.op {
            OpKind::Create => Effect::Linked {
                audit: AuditOp::Create,
                id,
                ownership: hrsync_state::Ownership::Created,
                returned: Returned::of_create(
                    &sent.as_ref().unwrap_or(op).desired,
                    r.response.clone(),
                ),
                recorded: sent.map(Box::new),
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
