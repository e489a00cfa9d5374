//! Group operations against one app: create the groups hrsync manages (marked by their
//! externalId so they are recognised again), add and remove members, delete managed groups.
//! A group of the same name that hrsync did not create is never touched.

use hrsync_state::Group;

use super::app_api::OpError;
use super::execute::ExecCtx;
use crate::reconcile::{LinkLifecycle, OpKind, Operation};

/// The externalId hrsync gives the groups it manages, so it can recognise them again.
pub fn group_marker(name: &str) -> String {
    format!("hrsync:{name}")
}

async fn group_state(ctx: &ExecCtx, name: &str) -> crate::reconcile::GroupState {
    ctx.groups
        .lock()
        .await
        .get(name)
        .cloned()
        .unwrap_or_default()
}

/// Applies `change` to the group's current state and records the result, all under the
/// groups lock: an add and a remove on the same group run concurrently, and each must
/// start from what the other saved, or one of them is lost from the state.
async fn save_group(
    ctx: &ExecCtx,
    op: &Operation,
    name: &str,
    change: impl FnOnce(&mut crate::reconcile::GroupState),
) -> Result<(), OpError> {
    let mut groups = ctx.groups.lock().await;
    let mut g = groups.get(name).cloned().unwrap_or_default();
    change(&mut g);
    let mut row = Group::new(ctx.recorder_app(), name);
    row.remote_id = g.remote_id.clone();
    row.members = g.members.clone();
    ctx.recorder.group(op, row).await?;
    groups.insert(name.to_string(), g);
    Ok(())
}

/// Creates a managed group, or takes over the one hrsync created before.
pub(super) async fn create(ctx: &ExecCtx, op: &Operation) -> Result<(), OpError> {
    let name = op.key.clone();
    let marker = group_marker(&name);
    let id = match ctx.api.find_group(&name).await? {
        Some((id, ext)) if ext.as_deref() == Some(marker.as_str()) => id,
        Some((id, _)) => {
            return Err(OpError::Permanent(format!(
                "group {name:?} exists ({id}) but hrsync did not create it; it is left alone"
            )))
        }
        None => ctx.api.create_group(&name, &marker).await?,
    };
    save_group(ctx, op, &name, |g| g.remote_id = Some(id)).await
}

/// Adds or removes members by PATCH; members without an active account wait for a later cycle.
pub(super) async fn membership(ctx: &ExecCtx, op: &Operation) -> Result<(), OpError> {
    let name = op.key.clone();
    let g = group_state(ctx, &name).await;
    let Some(gid) = g.remote_id.clone().or_else(|| op.remote_id.clone()) else {
        return Err(OpError::Skipped(format!(
            "group {name:?} does not exist yet"
        )));
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
    if !ids.is_empty() {
        match op.op {
            OpKind::MembershipAdd => ctx.api.add_members(&gid, &ids).await?,
            _ => ctx.api.remove_members(&gid, &ids).await?,
        }
    }
    let adding = op.op == OpKind::MembershipAdd;
    save_group(ctx, op, &name, |g| {
        for k in keys {
            if adding {
                g.members.insert(k);
            } else {
                g.members.remove(&k);
            }
        }
        g.remote_id = Some(gid);
    })
    .await
}

/// Deletes a managed group that became empty.
pub(super) async fn delete(ctx: &ExecCtx, op: &Operation) -> Result<(), OpError> {
    let name = op.key.clone();
    let g = group_state(ctx, &name).await;
    if let Some(id) = g.remote_id.clone().or_else(|| op.remote_id.clone()) {
        ctx.api.delete_group(&id).await?;
    }
    ctx.recorder
        .done(
            op,
            g.remote_id.clone(),
            hrsync_state::GroupChange::Remove {
                group_name: name.clone(),
            },
        )
        .await?;
    ctx.groups.lock().await.remove(&name);
    Ok(())
}
