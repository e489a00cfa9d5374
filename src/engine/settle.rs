//! The settle step: the one place where an operation's outcome is recorded. Called by the
//! executor as soon as the app answered, it writes the link or group the operation leaves
//! and its audit row in one transaction, updates the execution's view of links and groups,
//! tells the circuit, and audits failures (counting per-record ones towards quarantine).
//! Each settled operation is also one `identity_change` log event and one count in the
//! operations metric (see `events`).

use std::collections::BTreeMap;

use hrsync_connectors::scim;
use hrsync_state::{AuditOp, FormChanges, Group, GroupChange, Ownership};
use serde_json::Value;

use super::answer::{Answer, Effect, Returned};
use super::context::ExecCtx;
use super::error::{OpError, PermanentFailure};
use super::events::{account_of, identity_change};
use super::record::{audit_op, form_changes};
use crate::reconcile::form::learned;
use crate::reconcile::outcome::link_after;
use crate::reconcile::{GroupState, LinkLifecycle, LinkState, OpKind, Operation};

/// Records the app's answer to `op`; returns what the executor tallies.
pub async fn settle(ctx: &ExecCtx, op: &Operation, answer: Answer) -> Result<AuditOp, OpError> {
    let account = account_of(&answer);
    let result = match answer {
        Answer::Done(effect) => record(ctx, op, effect).await,
        Answer::Vanished { id } => vanished(ctx, op, id).await,
        Answer::Failed(e) => Err(e),
        Answer::Unaudited(e) => {
            let result = Err(e);
            identity_change(ctx, op, account, &result);
            return result;
        }
    };
    identity_change(ctx, op, account, &result);
    match &result {
        Ok(_) => ctx.circuit.success(),
        Err(e) => {
            ctx.circuit.failure(e);
            if !matches!(e, OpError::Skipped(_)) {
                ctx.recorder.failed(op, e, ctx.now).await;
            }
        }
    }
    result
}

/// Records what the second pass pushed. Its failures are only reported: the operation
/// itself succeeded and is recorded already.
pub async fn settle_references(
    ctx: &ExecCtx,
    op: &Operation,
    pushed: Result<Effect, OpError>,
) -> Result<(), OpError> {
    if matches!(pushed, Ok(Effect::Unchanged(_))) {
        // Nothing was left to push (the create carried its references).
        return Ok(());
    }
    let account = pushed.as_ref().ok().map(account_of_effect);
    let result = match pushed {
        Ok(effect) => record(ctx, op, effect).await,
        Err(e) => Err(e),
    };
    identity_change(ctx, op, account.flatten(), &result);
    result.map(|_| ())
}

/// The account a second-pass push touched.
fn account_of_effect(effect: &Effect) -> Option<String> {
    match effect {
        Effect::References { link, .. } => Some(link.remote_id.clone()),
        Effect::Linked { id, .. } | Effect::Removed { id, .. } => Some(id.clone()),
        _ => None,
    }
}

/// Writes a success and keeps the execution's view in step.
async fn record(ctx: &ExecCtx, op: &Operation, effect: Effect) -> Result<AuditOp, OpError> {
    match effect {
        Effect::Linked {
            audit,
            id,
            ownership,
            recorded,
            returned,
        } => {
            let recorded = recorded.as_deref().unwrap_or(op);
            let forms = returned.map(|r| forms_of(&r)).unwrap_or_default();
            linked(ctx, recorded, audit, &id, ownership, forms).await?;
            Ok(audit)
        }
        Effect::Removed { audit, id, gone } => removed(ctx, op, audit, id, gone).await,
        Effect::Unchanged(audit) => Ok(audit),
        Effect::GroupCreated { id } => {
            save_group(ctx, op, |g| g.remote_id = Some(id)).await?;
            Ok(AuditOp::GroupCreate)
        }
        Effect::Members { gid, keys } => {
            let adding = op.op == OpKind::MembershipAdd;
            // The audit row names the members the change was sent for, not those waiting.
            let mut sent = op.clone();
            sent.members = keys.clone();
            ctx.members_sent(op, &keys);
            save_group(ctx, &sent, |g| {
                for k in keys {
                    if adding {
                        g.members.insert(k);
                    } else {
                        g.members.remove(&k);
                    }
                }
                g.remote_id = Some(gid);
            })
            .await?;
            Ok(audit_op(op.op))
        }
        Effect::GroupDeleted { remote_id } => {
            let change = GroupChange::Remove {
                group_name: op.key.clone(),
            };
            ctx.recorder.done(op, remote_id, change).await?;
            ctx.groups.lock().await.remove(&op.key);
            Ok(AuditOp::GroupDelete)
        }
        Effect::References { recorded, link } => {
            let forms = FormChanges::default();
            save_link(
                ctx,
                &recorded,
                AuditOp::Update,
                link,
                Ownership::Adopted,
                forms,
            )
            .await?;
            Ok(AuditOp::Update)
        }
    }
}

/// Records the link an account operation leaves, with the forms its answer taught.
async fn linked(
    ctx: &ExecCtx,
    recorded: &Operation,
    audit: AuditOp,
    id: &str,
    ownership: Ownership,
    forms: FormChanges,
) -> Result<(), OpError> {
    let prev = ctx.link(&recorded.key).await;
    match link_after(recorded, prev.as_ref(), id, ctx.now) {
        Some(link) => save_link(ctx, recorded, audit, link, ownership, forms).await,
        None => Ok(()),
    }
}

/// The forms the app returned for the values sent: the value at each path sent, where
/// the returned resource shows one.
fn forms_of(r: &Returned) -> FormChanges {
    let returned: BTreeMap<String, Value> = r
        .sent
        .keys()
        .filter_map(|path| {
            let p = scim::AttrPath::parse(path).ok()?;
            scim::extract(&r.resource, &p).map(|v| (path.clone(), v))
        })
        .collect();
    let (keep, mut drop) = learned(&r.sent, &returned);
    if r.create {
        // Nothing to drop for a new account; most creates then write no form at all.
        drop.clear();
    }
    form_changes(keep, drop)
}

/// Records a link and keeps it as the person's current one.
async fn save_link(
    ctx: &ExecCtx,
    recorded: &Operation,
    audit: AuditOp,
    link: LinkState,
    ownership: Ownership,
    forms: FormChanges,
) -> Result<(), OpError> {
    ctx.recorder
        .link(recorded, audit, &link, ownership, forms)
        .await?;
    ctx.links.lock().await.insert(recorded.key.clone(), link);
    Ok(())
}

/// Records a deactivation or deletion (`gone`: the account had already disappeared).
async fn removed(
    ctx: &ExecCtx,
    op: &Operation,
    audit: AuditOp,
    id: String,
    gone: bool,
) -> Result<AuditOp, OpError> {
    let Some(prev) = ctx.link(&op.key).await else {
        // An orphan removed by policy: no link to update.
        ctx.recorder.done(op, Some(id), GroupChange::None).await?;
        return Ok(audit);
    };
    let mut link = link_after(op, Some(&prev), &id, ctx.now).unwrap_or(prev);
    if gone {
        link.lifecycle = LinkLifecycle::Deleted;
    }
    save_link(
        ctx,
        op,
        audit,
        link,
        Ownership::Adopted,
        FormChanges::default(),
    )
    .await?;
    Ok(audit)
}

/// Records that the linked account disappeared, then fails the operation: the person is
/// created again next cycle.
async fn vanished(ctx: &ExecCtx, op: &Operation, id: String) -> Result<AuditOp, OpError> {
    if let Some(prev) = ctx.link(&op.key).await {
        ctx.recorder.vanished(op, &prev).await?;
        let mut gone = prev;
        gone.lifecycle = LinkLifecycle::Deleted;
        ctx.links.lock().await.insert(op.key.clone(), gone);
    }
    Err(PermanentFailure::AccountGone { id }.into())
}

/// Applies `change` to the group's current state and records the result, all under the
/// groups lock: an add and a remove on the same group run concurrently, and each must
/// start from what the other saved, or one of them is lost from the state.
async fn save_group(
    ctx: &ExecCtx,
    op: &Operation,
    change: impl FnOnce(&mut GroupState),
) -> Result<(), OpError> {
    let mut groups = ctx.groups.lock().await;
    let mut g = groups.get(&op.key).cloned().unwrap_or_default();
    change(&mut g);
    let mut row = Group::new(ctx.app(), &op.key);
    row.remote_id = g.remote_id.clone();
    row.members = g.members.clone();
    ctx.recorder.group(op, row).await?;
    groups.insert(op.key.clone(), g);
    Ok(())
}
