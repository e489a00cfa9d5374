//! One structured log event per identity change, written by the settle step as each
//! outcome is recorded, whether the change went one by one or inside a Bulk request:
//! `event="identity_change"` with `app`, `key`, `op`, `account_id`, `result`, `cycle`
//! (INFO; failures at WARN), so a journal query can drive alerts. Every field is a plain
//! string or number. The same outcome is counted in `hrsync_operations_total`.

use hrsync_state::AuditOp;

use super::answer::{Answer, Effect};
use super::context::ExecCtx;
use super::error::OpError;
use crate::reconcile::{OpKind, Operation};

/// The account an answer is about, when it names one.
pub fn account_of(answer: &Answer) -> Option<String> {
    match answer {
        Answer::Done(effect) => match effect {
            Effect::Linked { id, .. } | Effect::Removed { id, .. } => Some(id.clone()),
            Effect::GroupCreated { id } => Some(id.clone()),
            Effect::Members { gid, .. } => Some(gid.clone()),
            Effect::GroupDeleted { remote_id } => remote_id.clone(),
            Effect::References { link, .. } => Some(link.remote_id.clone()),
            Effect::Unchanged(_) => None,
        },
        Answer::Vanished { id } => Some(id.clone()),
        Answer::Failed(_) | Answer::Unaudited(_) => None,
    }
}

/// Emits the event of one settled operation and counts it. A skipped operation (circuit
/// open, shutdown) changed nothing and a rebase sends nothing to the app: neither is an
/// identity change.
pub fn identity_change(
    ctx: &ExecCtx,
    op: &Operation,
    account: Option<String>,
    result: &Result<AuditOp, OpError>,
) {
    if op.op == OpKind::Rebase || matches!(result, Err(OpError::Skipped(_))) {
        return;
    }
    crate::control::health::global().beat();
    let app = ctx.app();
    let account_id = account.or_else(|| op.remote_id.clone()).unwrap_or_default();
    let cycle = ctx.recorder.cycle_id().unwrap_or_default();
    let members = op.members.join(",");
    match result {
        Ok(audit) => {
            let name = audit.as_str();
            crate::control::metrics::global().operation(app, name, true);
            tracing::info!(
                event = "identity_change",
                app,
                key = %op.key,
                op = name,
                account_id = %account_id,
                result = "ok",
                cycle,
                members = %members,
                "Identity change."
            );
        }
        Err(e) => {
            let name = op.op.as_str();
            crate::control::metrics::global().operation(app, name, false);
            tracing::warn!(
                event = "identity_change",
                app,
                key = %op.key,
                op = name,
                account_id = %account_id,
                result = "failed",
                cycle,
                members = %members,
                error = %e,
                "Identity change failed."
            );
        }
    }
}
