//! Group operations against one app: create the groups hrsync manages (marked by their
//! externalId so they are recognised again), add and remove members, delete managed groups.
//! A group of the same name that hrsync did not create is never touched. Each returns its
//! effect; the settle step records it.

use super::answer::Effect;
use super::context::ExecCtx;
use super::error::{OpError, PermanentFailure, SkipReason};
use crate::reconcile::{GroupState, LinkLifecycle, OpKind, Operation};

/// The externalId hrsync gives the groups it manages, so it can recognise them again.
pub fn group_marker(name: &str) -> String {
    format!("hrsync:{name}")
}

async fn group_state(ctx: &ExecCtx, name: &str) -> GroupState {
    ctx.groups
        .lock()
        .await
        .get(name)
        .cloned()
        .unwrap_or_default()
}

/// Creates a managed group, or takes over the one hrsync created before.
pub(super) async fn create(ctx: &ExecCtx, op: &Operation) -> Result<Effect, OpError> {
    let name = op.key.clone();
    let marker = group_marker(&name);
    let id = match ctx.api.find_group(&name).await? {
        Some((id, ext)) if ext.as_deref() == Some(marker.as_str()) => id,
        Some((id, _)) => return Err(PermanentFailure::ForeignGroup { name, id }.into()),
        None => ctx.api.create_group(&name, &marker).await?,
    };
    Ok(Effect::GroupCreated { id })
}

/// Adds or removes members by PATCH; members without an active account wait for a later cycle.
pub(super) async fn membership(ctx: &ExecCtx, op: &Operation) -> Result<Effect, OpError> {
    let name = op.key.clone();
    let g = group_state(ctx, &name).await;
    let Some(gid) = g.remote_id.clone().or_else(|| op.remote_id.clone()) else {
        return Err(SkipReason::GroupMissing { name }.into());
    };
    let links = ctx.links.lock().await.clone();
    let mut ids = Vec::new();
    let mut keys = Vec::new();
    for k in &op.members {
        let Some(l) = links.get(k) else { continue };
        let usable = match op.op {
            OpKind::MembershipAdd => l.lifecycle == LinkLifecycle::Active,
            _ => l.lifecycle != LinkLifecycle::Deleted,
        };
        if usable {
            ids.push(l.remote_id.clone());
        }
        keys.push(k.clone());
    }
    if op.op == OpKind::MembershipAdd {
        // Members without an account yet are added in a later cycle.
        keys.retain(|k| {
            links
                .get(k)
                .is_some_and(|l| l.lifecycle == LinkLifecycle::Active)
        });
    }
    if ids.is_empty() && op.op == OpKind::MembershipAdd {
        // Nobody to add exists in the app: nothing is sent, counted or recorded as done.
        return Err(SkipReason::MembersWaiting { name }.into());
    }
    if !ids.is_empty() {
        match op.op {
            OpKind::MembershipAdd => ctx.api.add_members(&gid, &ids).await?,
            _ => ctx.api.remove_members(&gid, &ids).await?,
        }
    }
    Ok(Effect::Members { gid, keys })
}

/// Deletes a managed group that became empty.
pub(super) async fn delete(ctx: &ExecCtx, op: &Operation) -> Result<Effect, OpError> {
    let g = group_state(ctx, &op.key).await;
    if let Some(id) = g.remote_id.clone().or_else(|| op.remote_id.clone()) {
        ctx.api.delete_group(&id).await?;
    }
    Ok(Effect::GroupDeleted {
        remote_id: g.remote_id,
    })
}
