//! What a link becomes once an operation succeeded: one pure function shared by the
//! engine (which records it) and the property tests (which model an app with it).

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::hash::state_hash;
use super::input::{LinkLifecycle, LinkState};
use super::plan::{OpKind, Operation};

/// The link after `op` succeeded against account `remote_id`; `None` for group operations.
pub fn link_after(
    op: &Operation,
    prev: Option<&LinkState>,
    remote_id: &str,
    now: DateTime<Utc>,
) -> Option<LinkState> {
    match op.op {
        OpKind::Create | OpKind::Update | OpKind::Reactivate | OpKind::Rebase => {
            Some(pushed_link(op, prev, remote_id, now))
        }
        OpKind::Deactivate => {
            let base = prev.cloned()?;
            Some(LinkState {
                remote_id: remote_id.to_string(),
                hash: op
                    .hash
                    .map_or_else(|| state_hash(&base.last_pushed, false), |h| h.to_string()),
                lifecycle: LinkLifecycle::Inactive,
                deactivated_at: Some(now),
                ..base
            })
        }
        OpKind::Delete => {
            let base = prev.cloned()?;
            Some(LinkState {
                lifecycle: LinkLifecycle::Deleted,
                ..base
            })
        }
        OpKind::GroupCreate
        | OpKind::MembershipAdd
        | OpKind::MembershipRemove
        | OpKind::GroupDelete => None,
    }
}

/// The link after a create, update, reactivation or rebase: what was pushed (or, for an
/// operation that carried no state, what the link held), active or not as the operation
/// says.
fn pushed_link(
    op: &Operation,
    prev: Option<&LinkState>,
    remote_id: &str,
    now: DateTime<Utc>,
) -> LinkState {
    let user_name = op
        .user_name
        .clone()
        .or_else(|| prev.map(|p| p.user_name.clone()))
        .unwrap_or_default();
    let active = op.active.unwrap_or(true);
    let last_pushed = if op.desired.is_empty() {
        prev.map(|p| p.last_pushed.clone()).unwrap_or_default()
    } else {
        op.desired.to_map()
    };
    let hash = op
        .hash
        .map_or_else(|| state_hash(&last_pushed, active), |h| h.to_string());
    LinkState {
        remote_id: remote_id.to_string(),
        user_name,
        last_pushed,
        hash,
        lifecycle: if active {
            LinkLifecycle::Active
        } else {
            LinkLifecycle::Inactive
        },
        deactivated_at: match (active, prev) {
            (true, _) => None,
            // An inactive account relinked without history (lost state): its
            // delete_after_days wait starts now, never earlier.
            (false, None) if op.op == OpKind::Rebase => Some(now),
            (false, None) => None,
            (false, Some(p)) if p.lifecycle == LinkLifecycle::Active => Some(now),
            (false, Some(p)) => p.deactivated_at,
        },
    }
}

/// Values for an operation's pending references whose targets now have accounts.
pub fn resolve_pending(
    op: &Operation,
    links: &dyn Fn(&str) -> Option<LinkState>,
) -> Vec<(String, Value)> {
    op.pending_refs
        .iter()
        .filter_map(|r| {
            let l = links(&r.key)?;
            (l.lifecycle != LinkLifecycle::Deleted)
                .then(|| (r.path.to_string(), Value::String(l.remote_id)))
        })
        .collect()
}

/// The link after resolved references were pushed in the second pass.
pub fn with_resolved(mut link: LinkState, resolved: &[(String, Value)]) -> LinkState {
    for (path, value) in resolved {
        link.last_pushed.insert(path.clone(), value.clone());
    }
    link.hash = state_hash(&link.last_pushed, link.lifecycle == LinkLifecycle::Active);
    link
}
