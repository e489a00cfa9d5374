//! One operation against one app, done safely: a create looks up first and links what it
//! finds (never a second account), a 409 or an ambiguous failure is resolved by lookup,
//! a missing account on update is reported as gone, a delete of a missing account is done.
//! Each function talks to the app and returns its [`Answer`]; the settle step records it.

use hrsync_connectors::scim::{self, ScimError};
use hrsync_state::{AuditOp, Ownership};
use serde_json::Value;

use super::answer::{Answer, Effect, Returned};
use super::context::ExecCtx;
use super::error::{OpError, PermanentFailure, SkipReason};
use super::group_ops;
use super::record::audit_op;
use crate::config::OnUnlinkedMatch;
use crate::mapping::AttrMap;
use crate::reconcile::outcome::{resolve_pending, with_resolved};
use crate::reconcile::{Change, LinkLifecycle, MatchDecision, OpKind, Operation};

/// POSTs one create may send within a cycle, each after a lookup that found nothing.
const CREATE_POSTS: u32 = 3;

/// The id of a resource the app returned; never link an account without one.
fn resource_id(resource: &Value) -> Result<String, OpError> {
    scim::id(resource)
        .filter(|id| !id.is_empty())
        .map(str::to_string)
        .ok_or_else(|| PermanentFailure::NoId.into())
}

/// Executes one operation against the app; returns its answer, unrecorded.
pub async fn execute(ctx: &ExecCtx, op: &Operation) -> Answer {
    match op.op {
        OpKind::Create => create(ctx, op).await.into(),
        OpKind::Update | OpKind::Reactivate => update(ctx, op).await,
        OpKind::Rebase => Answer::Done(rebase(op)),
        OpKind::Deactivate => deactivate(ctx, op).await.into(),
        OpKind::Delete => delete(ctx, op).await.into(),
        OpKind::GroupCreate => group_ops::create(ctx, op).await.into(),
        OpKind::MembershipAdd | OpKind::MembershipRemove => {
            group_ops::membership(ctx, op).await.into()
        }
        OpKind::GroupDelete => group_ops::delete(ctx, op).await.into(),
    }
}

/// The account id an operation on an existing account needs.
fn account_id(op: &Operation, name: &'static str) -> Result<String, OpError> {
    op.remote_id
        .clone()
        .ok_or_else(|| PermanentFailure::NoAccountId { op: name }.into())
}

async fn create(ctx: &ExecCtx, op: &Operation) -> Result<Effect, OpError> {
    if let Some(a) = &op.adopt {
        // The plan read the app and showed what happens to this account: do exactly that.
        return match a.decision {
            MatchDecision::Link => adopt(ctx, op, &a.id, None, AuditOp::Adopt).await,
            MatchDecision::Skip => Err(SkipReason::MatchSkipped { id: a.id.clone() }.into()),
            MatchDecision::Fail => Err(PermanentFailure::MatchRefused { id: a.id.clone() }.into()),
        };
    }
    if let Some(id) = &op.remote_id {
        // Relink found by resync: bring it to the desired state, then link it.
        return adopt(ctx, op, id, None, AuditOp::Relink).await;
    }
    // References to accounts created earlier this cycle (a manager) go in the create.
    let sent = with_known_refs(ctx, op).await;
    let op = sent.as_ref().unwrap_or(op);
    if !op.looked_up || !ctx.first_create(&op.key) {
        // Planned without reading the app, or sent before this cycle: look before a POST.
        if let Some(found) = ctx.api.lookup(&op.key, &op.desired).await? {
            return adopt_found(ctx, op, &found).await;
        }
    }
    let mut effect = post_until_known(ctx, op).await?;
    if let (Some(sent), Effect::Linked { recorded, .. }) = (sent, &mut effect) {
        // The link records the references the create carried.
        recorded.get_or_insert_with(|| Box::new(sent));
    }
    Ok(effect)
}

/// The create with its pending references whose targets have accounts now (created earlier
/// this cycle) resolved into what it sends; `None` when there are none. The others stay
/// pending for the second pass.
async fn with_known_refs(ctx: &ExecCtx, op: &Operation) -> Option<Operation> {
    if op.pending_refs.is_empty() {
        return None;
    }
    let resolved = {
        let links = ctx.links.lock().await;
        resolve_pending(op, &|k| links.get(k).cloned())
    };
    if resolved.is_empty() {
        return None;
    }
    let mut sent = op.clone();
    for (path, value) in resolved {
        sent.pending_refs.retain(|r| *r.path != *path);
        std::sync::Arc::make_mut(&mut sent.desired).insert(path, value);
    }
    sent.hash = Some(crate::reconcile::state_digest(
        &sent.desired,
        sent.active.unwrap_or(true),
    ));
    Some(sent)
}

/// POSTs the account; a create whose fate is unknown is looked up before any second POST.
async fn post_until_known(ctx: &ExecCtx, op: &Operation) -> Result<Effect, OpError> {
    let active = op.active.unwrap_or(true);
    let mut posts = 1;
    loop {
        let e = match ctx.api.create(&op.key, &op.desired, active).await {
            Ok(created) => {
                return Ok(Effect::Linked {
                    audit: AuditOp::Create,
                    id: resource_id(&created)?,
                    ownership: Ownership::Created,
                    recorded: None,
                    returned: Returned::of_create(&op.desired, Some(created)),
                })
            }
            Err(e) if e.needs_lookup() => e,
            Err(e) => return Err(OpError::Scim(e)),
        };
        // 409, a 5xx, or an answer lost on the way: the account may exist now.
        // Look, never POST again blindly.
        tracing::info!(key = %op.key, error = %e, "Create unresolved; looking the account up.");
        match ctx.api.lookup(&op.key, &op.desired).await? {
            Some(found) if scim::external_id(&found) == Some(op.key.as_str()) => {
                let id = resource_id(&found)?;
                return adopt(ctx, op, &id, Some(&found), AuditOp::Create).await;
            }
            Some(found) => return adopt_found(ctx, op, &found).await,
            None if repost_after(&e) && posts < CREATE_POSTS && !ctx.stopping() => {
                // The app answered with a server error and holds no such account: the
                // create did not happen, and the app's userName uniqueness turns any late
                // twin into a 409 that the lookup resolves.
                let policy = hrsync_connectors::http::RetryPolicy::default();
                let delay = hrsync_connectors::http::retry::backoff_delay(posts, None, &policy);
                tracing::info!(key = %op.key, posts, "No account after a server error; creating again.");
                tokio::time::sleep(delay).await;
                posts += 1;
            }
            None => return Err(OpError::Scim(e)),
        }
    }
}

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
async fn adopt_found(ctx: &ExecCtx, op: &Operation, found: &Value) -> Result<Effect, OpError> {
    let id = resource_id(found)?;
    if let Some(ext) = scim::external_id(found) {
        if ext != op.key {
            // Another person's account (by our key): linking it would offboard the wrong
            // person one day.
            return Err(PermanentFailure::ForeignExternalId {
                id,
                user_name: scim::user_name(found).unwrap_or("").to_string(),
                external_id: ext.to_string(),
                key: op.key.clone(),
            }
            .into());
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
        return Err(PermanentFailure::AlreadyLinked { id, other }.into());
    }
    match ctx.on_unlinked_match {
        OnUnlinkedMatch::Adopt => adopt(ctx, op, &id, Some(found), AuditOp::Adopt).await,
        OnUnlinkedMatch::Skip => Err(SkipReason::MatchSkipped { id }.into()),
        OnUnlinkedMatch::Fail => Err(PermanentFailure::MatchRefused { id }.into()),
    }
}

/// Pushes what an existing account lacks of the desired state; its link is recorded as
/// adopted.
async fn adopt(
    ctx: &ExecCtx,
    op: &Operation,
    id: &str,
    found: Option<&Value>,
    audit: AuditOp,
) -> Result<Effect, OpError> {
    let active = op.active.unwrap_or(true);
    let mut kept = std::collections::BTreeMap::new();
    let (changes, active_changed) = match found {
        Some(res) => {
            let is_active = res.get("active").and_then(Value::as_bool).unwrap_or(true);
            (found_changes(ctx, op, res, &mut kept), is_active != active)
        }
        None => (op.changes.clone(), true),
    };
    let resource = ctx
        .api
        .update(id, &op.key, &changes, &op.desired, active, active_changed)
        .await?;
    let returned = Returned::of_changes(&changes, resource);
    let mut recorded = op.clone();
    recorded.changes = changes;
    if !kept.is_empty() {
        std::sync::Arc::make_mut(&mut recorded.desired).extend(kept);
        recorded.hash = Some(crate::reconcile::state_digest(&recorded.desired, active));
    }
    Ok(Effect::Linked {
        audit,
        id: id.to_string(),
        ownership: Ownership::Adopted,
        recorded: Some(Box::new(recorded)),
        returned,
    })
}

/// What differs between the desired attributes and a found account; create-only values
/// the account already has go to `kept` instead.
fn found_changes(
    ctx: &ExecCtx,
    op: &Operation,
    res: &Value,
    kept: &mut std::collections::BTreeMap<String, Value>,
) -> Vec<Change> {
    let mut changes = Vec::new();
    for (path, want) in op.desired.iter() {
        let Ok(p) = scim::AttrPath::parse(path) else {
            continue;
        };
        let have = scim::extract(res, &p);
        if have.is_some() && ctx.conflicts.for_path(path) == crate::reconcile::ConflictRule::AppWins
        {
            // Create-only: an account that already exists keeps its value.
            kept.insert(path.to_string(), have.clone().unwrap_or_default());
            continue;
        }
        if have.as_ref() != Some(want) {
            changes.push(Change {
                path: path.to_string(),
                old: have,
                new: Some(want.clone()),
            });
        }
    }
    changes
}

async fn update(ctx: &ExecCtx, op: &Operation) -> Answer {
    let id = match account_id(op, "update") {
        Ok(id) => id,
        Err(e) => return Answer::Failed(e),
    };
    let active = op.active.unwrap_or(true);
    let was_active = ctx
        .link(&op.key)
        .await
        .is_none_or(|l| l.lifecycle == LinkLifecycle::Active);
    let active_changed = op.op == OpKind::Reactivate || was_active != active;
    let pushed = ctx
        .api
        .update(
            &id,
            &op.key,
            &op.changes,
            &op.desired,
            active,
            active_changed,
        )
        .await;
    match pushed {
        Ok(resource) => Answer::Done(Effect::Linked {
            audit: audit_op(op.op),
            id,
            ownership: Ownership::Adopted,
            recorded: None,
            returned: Returned::of_changes(&op.changes, resource),
        }),
        Err(ScimError::NotFound { .. }) => Answer::Vanished { id },
        Err(e) => Answer::Failed(e.into()),
    }
}

/// A rebase sends nothing: it records what the app already holds as pushed.
fn rebase(op: &Operation) -> Effect {
    match &op.remote_id {
        Some(id) => Effect::Linked {
            audit: AuditOp::Rebase,
            id: id.clone(),
            ownership: Ownership::Adopted,
            recorded: None,
            returned: None,
        },
        None => Effect::Unchanged(AuditOp::Rebase),
    }
}

async fn deactivate(ctx: &ExecCtx, op: &Operation) -> Result<Effect, OpError> {
    let id = account_id(op, "deactivate")?;
    let last = ctx
        .link(&op.key)
        .await
        .map(|l| l.last_pushed)
        .unwrap_or_default();
    let gone = match ctx.api.deactivate(&id, &op.key, &last).await {
        Ok(()) => false,
        // Already gone: access is removed either way.
        Err(ScimError::NotFound { .. }) => true,
        Err(e) => return Err(e.into()),
    };
    Ok(Effect::Removed {
        audit: AuditOp::Deactivate,
        id,
        gone,
    })
}

async fn delete(ctx: &ExecCtx, op: &Operation) -> Result<Effect, OpError> {
    let id = account_id(op, "delete")?;
    ctx.api.delete(&id).await?;
    Ok(Effect::Removed {
        audit: AuditOp::Delete,
        id,
        gone: false,
    })
}

/// Second pass: pushes references (the manager) whose targets got accounts this cycle.
pub async fn resolve_references(ctx: &ExecCtx, op: &Operation) -> Result<Effect, OpError> {
    // Only the links this operation needs: copying them all for each person of a large
    // initial sync made the second pass quadratic.
    let (mut resolved, link) = {
        let links = ctx.links.lock().await;
        let resolved = resolve_pending(op, &|k| links.get(k).cloned());
        (resolved, links.get(&op.key).cloned())
    };
    let Some(link) = link else {
        return Ok(Effect::Unchanged(AuditOp::Update));
    };
    // What the create already carried (a manager created before it) needs no second push.
    resolved.retain(|(p, v)| link.last_pushed.get(p) != Some(v));
    if resolved.is_empty() {
        return Ok(Effect::Unchanged(AuditOp::Update));
    }
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
            &AttrMap::from(updated.last_pushed.clone()),
            active,
            false,
        )
        .await?;
    let mut recorded = Operation::new(OpKind::Update, &op.key);
    recorded.changes = changes;
    recorded.reason = Some("references resolved in the second pass".into());
    recorded.user_name = Some(link.user_name.clone());
    Ok(Effect::References {
        recorded: Box::new(recorded),
        link: updated,
    })
}
