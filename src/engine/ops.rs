//! One operation against one app, done safely: a create looks up first and links what it
//! finds (never a second account), a 409 or an ambiguous failure is resolved by lookup,
//! a missing account on update is recorded as gone, a delete of a missing account is done.

use hrsync_connectors::scim::{self, ScimError};
use hrsync_state::{AuditOp, Ownership};
use serde_json::Value;

use super::app_api::OpError;
use super::execute::ExecCtx;
use super::group_ops;
use crate::config::OnUnlinkedMatch;
use crate::reconcile::outcome::{link_after, resolve_pending, with_resolved};
use crate::reconcile::{Change, LinkLifecycle, LinkState, OpKind, Operation};

/// The id of a resource the app returned; never link an account without one.
fn resource_id(resource: &Value) -> Result<String, OpError> {
    scim::id(resource)
        .filter(|id| !id.is_empty())
        .map(str::to_string)
        .ok_or_else(|| OpError::Permanent("the app returned an account without an id".into()))
}

/// Executes one operation and records its outcome.
pub async fn execute(ctx: &ExecCtx, op: &Operation) -> Result<AuditOp, OpError> {
    match op.op {
        OpKind::Create => create(ctx, op).await,
        OpKind::Update | OpKind::Reactivate => update(ctx, op).await.map(|()| {
            if op.op == OpKind::Reactivate {
                AuditOp::Reactivate
            } else {
                AuditOp::Update
            }
        }),
        OpKind::Rebase => rebase(ctx, op).await.map(|()| AuditOp::Rebase),
        OpKind::Deactivate => deactivate(ctx, op).await.map(|()| AuditOp::Deactivate),
        OpKind::Delete => delete(ctx, op).await.map(|()| AuditOp::Delete),
        OpKind::GroupCreate => group_ops::create(ctx, op)
            .await
            .map(|()| AuditOp::GroupCreate),
        OpKind::MembershipAdd | OpKind::MembershipRemove => group_ops::membership(ctx, op)
            .await
            .map(|()| super::record::audit_op(op.op)),
        OpKind::GroupDelete => group_ops::delete(ctx, op)
            .await
            .map(|()| AuditOp::GroupDelete),
    }
}

async fn prev_link(ctx: &ExecCtx, key: &str) -> Option<LinkState> {
    ctx.links.lock().await.get(key).cloned()
}

async fn remember(ctx: &ExecCtx, key: &str, link: LinkState) {
    ctx.links.lock().await.insert(key.to_string(), link);
}

async fn create(ctx: &ExecCtx, op: &Operation) -> Result<AuditOp, OpError> {
    let active = op.active.unwrap_or(true);
    if let Some(id) = &op.remote_id {
        // Relink found by resync: bring it to the desired state, then link it.
        adopt(ctx, op, id, None, AuditOp::Relink).await?;
        return Ok(AuditOp::Relink);
    }
    if let Some(found) = ctx.api.lookup(&op.key, &op.desired).await? {
        adopt_found(ctx, op, &found).await?;
        return Ok(AuditOp::Adopt);
    }
    let mut posts = 1;
    loop {
        match ctx.api.create(&op.key, &op.desired, active).await {
            Ok(created) => {
                let id = resource_id(&created)?;
                link_created(ctx, op, &id, Ownership::Created, AuditOp::Create, None).await?;
                return Ok(AuditOp::Create);
            }
            Err(e) if e.needs_lookup() => {
                // 409, a 5xx, or an answer lost on the way: the account may exist now.
                // Look, never POST again blindly.
                tracing::info!(key = %op.key, error = %e, "Create unresolved; looking the account up.");
                match ctx.api.lookup(&op.key, &op.desired).await? {
                    Some(found) if scim::external_id(&found) == Some(op.key.as_str()) => {
                        let id = resource_id(&found)?;
                        adopt(ctx, op, &id, Some(&found), AuditOp::Create).await?;
                        return Ok(AuditOp::Create);
                    }
                    Some(found) => {
                        adopt_found(ctx, op, &found).await?;
                        return Ok(AuditOp::Adopt);
                    }
                    None if repost_after(&e) && posts < CREATE_POSTS && !*ctx.stop.borrow() => {
                        // The app answered with a server error and holds no such account:
                        // the create did not happen, and the app's userName uniqueness turns
                        // any late twin into a 409 that the lookup resolves.
                        let policy = hrsync_connectors::http::RetryPolicy::default();
                        let delay =
                            hrsync_connectors::http::retry::backoff_delay(posts, None, &policy);
                        tracing::info!(key = %op.key, posts, "No account after a server error; creating again.");
                        tokio::time::sleep(delay).await;
                        posts += 1;
                    }
                    None => return Err(OpError::Scim(e)),
                }
            }
            Err(e) => return Err(OpError::Scim(e)),
        }
    }
}

/// POSTs one create may send within a cycle, each after a lookup that found nothing.
const CREATE_POSTS: u32 = 3;

/// True when a failed create may be sent again once a lookup found no account: the app
/// answered with a server error, or closed the connection (whatever served the request is
/// gone). A timeout is different — the create may still be running in the app — so that
/// one waits for the next cycle, whose lookup comes first.
fn repost_after(e: &ScimError) -> bool {
    match e {
        ScimError::Server { .. } => true,
        ScimError::Transport { source, .. } => {
            source.transport_kind() == Some(hrsync_connectors::http::TransportKind::Broken)
        }
        _ => false,
    }
}

/// An unlinked account matched the person: `on_unlinked_match` decides.
async fn adopt_found(ctx: &ExecCtx, op: &Operation, found: &Value) -> Result<(), OpError> {
    let id = resource_id(found)?;
    if let Some(ext) = scim::external_id(found) {
        if ext != op.key {
            // Another person's account (by our key): linking it would offboard the wrong
            // person one day.
            return Err(OpError::Permanent(format!(
                "account {id} ({}) matches by name but carries externalId {ext:?}, not {:?}; not linking it",
                scim::user_name(found).unwrap_or(""),
                op.key
            )));
        }
    }
    let claimed = ctx
        .links
        .lock()
        .await
        .iter()
        .find(|(k, l)| l.remote_id == id && l.lifecycle != LinkLifecycle::Deleted && *k != &op.key)
        .map(|(k, _)| k.clone());
    if let Some(other) = claimed {
        return Err(OpError::Permanent(format!(
            "account {id} matched but is already linked to {other}; not linking it twice"
        )));
    }
    match ctx.on_unlinked_match {
        OnUnlinkedMatch::Adopt => adopt(ctx, op, &id, Some(found), AuditOp::Adopt).await,
        OnUnlinkedMatch::Skip => Err(OpError::Skipped(format!(
            "existing account {id} matches; on_unlinked_match = \"skip\""
        ))),
        OnUnlinkedMatch::Fail => Err(OpError::Permanent(format!(
            "existing account {id} matches; on_unlinked_match = \"fail\""
        ))),
    }
}

/// Links an existing account and pushes what differs from the desired state.
async fn adopt(
    ctx: &ExecCtx,
    op: &Operation,
    id: &str,
    found: Option<&Value>,
    audit: AuditOp,
) -> Result<(), OpError> {
    let active = op.active.unwrap_or(true);
    let mut kept = std::collections::BTreeMap::new();
    let (changes, active_changed) = match found {
        Some(res) => {
            let mut changes = Vec::new();
            for (path, want) in &op.desired {
                let Ok(p) = scim::AttrPath::parse(path) else {
                    continue;
                };
                let have = scim::extract(res, &p);
                if have.is_some()
                    && ctx.conflicts.for_path(path) == crate::reconcile::ConflictRule::AppWins
                {
                    // Create-only: an account that already exists keeps its value.
                    kept.insert(path.clone(), have.clone().unwrap_or_default());
                    continue;
                }
                if have.as_ref() != Some(want) {
                    changes.push(Change {
                        path: path.clone(),
                        old: have,
                        new: Some(want.clone()),
                    });
                }
            }
            let is_active = res.get("active").and_then(Value::as_bool).unwrap_or(true);
            (changes, is_active != active)
        }
        None => (op.changes.clone(), true),
    };
    ctx.api
        .update(id, &op.key, &changes, &op.desired, active, active_changed)
        .await?;
    let mut recorded = op.clone();
    recorded.changes = changes;
    if !kept.is_empty() {
        recorded.desired.extend(kept);
        recorded.hash = Some(crate::reconcile::state_hash(&recorded.desired, active));
    }
    link_created(ctx, &recorded, id, Ownership::Adopted, audit, None).await
}

pub(super) async fn link_created(
    ctx: &ExecCtx,
    op: &Operation,
    id: &str,
    ownership: Ownership,
    audit: AuditOp,
    extra: Option<Value>,
) -> Result<(), OpError> {
    let prev = prev_link(ctx, &op.key).await;
    let Some(link) = link_after(op, prev.as_ref(), id, ctx.now) else {
        return Ok(());
    };
    ctx.recorder
        .link(op, audit, &link, ownership, extra)
        .await?;
    remember(ctx, &op.key, link).await;
    Ok(())
}

pub(super) async fn update(ctx: &ExecCtx, op: &Operation) -> Result<(), OpError> {
    let Some(id) = op.remote_id.clone() else {
        return Err(OpError::Permanent("update without an account id".into()));
    };
    let prev = prev_link(ctx, &op.key).await;
    let active = op.active.unwrap_or(true);
    let was_active = prev
        .as_ref()
        .is_none_or(|l| l.lifecycle == LinkLifecycle::Active);
    let active_changed = op.op == OpKind::Reactivate || was_active != active;
    match ctx
        .api
        .update(
            &id,
            &op.key,
            &op.changes,
            &op.desired,
            active,
            active_changed,
        )
        .await
    {
        Ok(()) => {}
        Err(ScimError::NotFound { .. }) => {
            if let Some(p) = &prev {
                ctx.recorder.vanished(op, p).await?;
                let mut gone = p.clone();
                gone.lifecycle = LinkLifecycle::Deleted;
                remember(ctx, &op.key, gone).await;
            }
            return Err(OpError::Permanent(format!(
                "account {id} no longer exists in the app; it will be re-created next cycle"
            )));
        }
        Err(e) => return Err(e.into()),
    }
    finish_update(ctx, op, &id).await
}

/// Records a successful update or reactivation.
pub(super) async fn finish_update(ctx: &ExecCtx, op: &Operation, id: &str) -> Result<(), OpError> {
    let prev = prev_link(ctx, &op.key).await;
    let audit = if op.op == OpKind::Reactivate {
        AuditOp::Reactivate
    } else {
        AuditOp::Update
    };
    let Some(link) = link_after(op, prev.as_ref(), id, ctx.now) else {
        return Ok(());
    };
    ctx.recorder
        .link(op, audit, &link, Ownership::Adopted, None)
        .await?;
    remember(ctx, &op.key, link).await;
    Ok(())
}

async fn rebase(ctx: &ExecCtx, op: &Operation) -> Result<(), OpError> {
    let Some(id) = op.remote_id.clone() else {
        return Ok(());
    };
    let prev = prev_link(ctx, &op.key).await;
    let Some(link) = link_after(op, prev.as_ref(), &id, ctx.now) else {
        return Ok(());
    };
    ctx.recorder
        .link(op, AuditOp::Rebase, &link, Ownership::Adopted, None)
        .await?;
    remember(ctx, &op.key, link).await;
    Ok(())
}

async fn deactivate(ctx: &ExecCtx, op: &Operation) -> Result<(), OpError> {
    let Some(id) = op.remote_id.clone() else {
        return Err(OpError::Permanent(
            "deactivate without an account id".into(),
        ));
    };
    let prev = prev_link(ctx, &op.key).await;
    let last = prev
        .as_ref()
        .map(|l| l.last_pushed.clone())
        .unwrap_or_default();
    let gone = match ctx.api.deactivate(&id, &op.key, &last).await {
        Ok(()) => false,
        // Already gone: access is removed either way.
        Err(ScimError::NotFound { .. }) => true,
        Err(e) => return Err(e.into()),
    };
    finish_deactivate(ctx, op, &id, gone).await
}

/// Records a successful deactivation (`gone`: the account had already disappeared).
pub(super) async fn finish_deactivate(
    ctx: &ExecCtx,
    op: &Operation,
    id: &str,
    gone: bool,
) -> Result<(), OpError> {
    let prev = prev_link(ctx, &op.key).await;
    let Some(p) = prev else {
        // An orphan deactivated by policy: no link to update.
        return ctx
            .recorder
            .done(op, Some(id.to_string()), hrsync_state::GroupChange::None)
            .await;
    };
    let mut link = link_after(op, Some(&p), id, ctx.now).unwrap_or(p);
    if gone {
        link.lifecycle = LinkLifecycle::Deleted;
    }
    ctx.recorder
        .link(op, AuditOp::Deactivate, &link, Ownership::Adopted, None)
        .await?;
    remember(ctx, &op.key, link).await;
    Ok(())
}

async fn delete(ctx: &ExecCtx, op: &Operation) -> Result<(), OpError> {
    let Some(id) = op.remote_id.clone() else {
        return Err(OpError::Permanent("delete without an account id".into()));
    };
    ctx.api.delete(&id).await?;
    finish_delete(ctx, op, &id).await
}

/// Records a successful deletion.
pub(super) async fn finish_delete(ctx: &ExecCtx, op: &Operation, id: &str) -> Result<(), OpError> {
    let prev = prev_link(ctx, &op.key).await;
    let Some(p) = prev else {
        return ctx
            .recorder
            .done(op, Some(id.to_string()), hrsync_state::GroupChange::None)
            .await;
    };
    let link = link_after(op, Some(&p), id, ctx.now).unwrap_or(p);
    ctx.recorder
        .link(op, AuditOp::Delete, &link, Ownership::Adopted, None)
        .await?;
    remember(ctx, &op.key, link).await;
    Ok(())
}

/// Second pass: push references (the manager) whose targets got accounts this cycle.
pub async fn resolve_references(ctx: &ExecCtx, op: &Operation) -> Result<(), OpError> {
    let links = ctx.links.lock().await.clone();
    let resolved = resolve_pending(op, &|k| links.get(k).cloned());
    if resolved.is_empty() {
        return Ok(());
    }
    let Some(link) = links.get(&op.key).cloned() else {
        return Ok(());
    };
    let changes: Vec<Change> = resolved
        .iter()
        .map(|(p, v)| Change {
            path: p.clone(),
            old: link.last_pushed.get(p).cloned(),
            new: Some(v.clone()),
        })
        .collect();
    let updated = with_resolved(link.clone(), &resolved);
    let active = updated.lifecycle == LinkLifecycle::Active;
    ctx.api
        .update(
            &link.remote_id,
            &op.key,
            &changes,
            &updated.last_pushed,
            active,
            false,
        )
        .await?;
    let mut recorded = Operation::new(OpKind::Update, &op.key);
    recorded.changes = changes;
    recorded.reason = Some("references resolved in the second pass".into());
    recorded.user_name = Some(link.user_name.clone());
    ctx.recorder
        .link(
            &recorded,
            AuditOp::Update,
            &updated,
            Ownership::Adopted,
            None,
        )
        .await?;
    remember(ctx, &op.key, updated).await;
    Ok(())
}
