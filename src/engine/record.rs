//! Writing outcomes to the state, for the settle step: each operation's link or group
//! change and its audit row in one transaction after the app answered; failures are
//! audited and counted towards the person's quarantine. Dry runs record nothing.

use chrono::{DateTime, Utc};
use hrsync_state::{
    AuditOp, FormChanges, Group, GroupChange, KeptForm, Link, LinkChange, OpResult, Outcome,
    Ownership, StateError, Store,
};
use serde_json::{json, Value};

use super::error::{FailureClass, OpError};
use crate::reconcile::form::{Form, KeptForms, PersonForms};
use crate::reconcile::{LinkLifecycle, LinkState, OpKind, Operation};
use hrsync_connectors::redact::redact;

/// Records outcomes of one app in one cycle.
#[derive(Clone)]
pub struct Recorder {
    store: Option<Store>,
    cycle_id: Option<i64>,
    app: String,
}

/// The audit op of a plan operation.
pub fn audit_op(op: OpKind) -> AuditOp {
    match op {
        OpKind::Create => AuditOp::Create,
        OpKind::Update => AuditOp::Update,
        OpKind::Reactivate => AuditOp::Reactivate,
        OpKind::Rebase => AuditOp::Rebase,
        OpKind::Deactivate => AuditOp::Deactivate,
        OpKind::Delete => AuditOp::Delete,
        OpKind::GroupCreate => AuditOp::GroupCreate,
        OpKind::GroupDelete => AuditOp::GroupDelete,
        OpKind::MembershipAdd => AuditOp::MembershipAdd,
        OpKind::MembershipRemove => AuditOp::MembershipRemove,
    }
}

/// The forms the state keeps for the app's persons, in the planner's terms (none without
/// a state).
pub async fn kept_forms(store: Option<&Store>, app: &str) -> Result<KeptForms, StateError> {
    let Some(store) = store else {
        return Ok(KeptForms::new());
    };
    Ok(store
        .kept_forms(app)
        .await?
        .into_iter()
        .map(|(key, paths)| {
            let forms = paths
                .into_iter()
                .map(|(path, f)| {
                    (
                        path,
                        Form {
                            sent: f.sent,
                            got: f.got,
                        },
                    )
                })
                .collect();
            (key, forms)
        })
        .collect())
}

/// What a write taught about the app's forms, in the state's terms.
pub fn form_changes(keep: PersonForms, drop: Vec<String>) -> FormChanges {
    FormChanges {
        keep: keep
            .into_iter()
            .map(|(path, f)| {
                (
                    path,
                    KeptForm {
                        sent: f.sent,
                        got: f.got,
                    },
                )
            })
            .collect(),
        drop,
    }
}

/// The planner's form of a stored link, moving its texts and what it pushed, not copying.
pub fn into_link_state(l: hrsync_state::Link) -> LinkState {
    LinkState {
        remote_id: l.remote_id,
        user_name: l.user_name,
        last_pushed: l.last_pushed,
        hash: l.hash,
        lifecycle: link_lifecycle(l.lifecycle),
        deactivated_at: l.deactivated_at,
    }
}

/// Converts a state link to the planner's view.
pub fn link_state(l: &Link) -> LinkState {
    into_link_state(l.clone())
}

/// A stored link's lifecycle in the planner's words.
pub fn link_lifecycle(l: hrsync_state::LinkLifecycle) -> LinkLifecycle {
    match l {
        hrsync_state::LinkLifecycle::Active => LinkLifecycle::Active,
        hrsync_state::LinkLifecycle::Inactive => LinkLifecycle::Inactive,
        hrsync_state::LinkLifecycle::Deleted => LinkLifecycle::Deleted,
    }
}

fn state_link(app: &str, key: &str, l: &LinkState, ownership: Ownership) -> Link {
    let mut link = Link::new(app, key, &l.remote_id, &l.user_name, ownership);
    link.last_pushed = l.last_pushed.clone();
    link.hash = l.hash.clone();
    link.lifecycle = match l.lifecycle {
        LinkLifecycle::Active => hrsync_state::LinkLifecycle::Active,
        LinkLifecycle::Inactive => hrsync_state::LinkLifecycle::Inactive,
        LinkLifecycle::Deleted => hrsync_state::LinkLifecycle::Deleted,
    };
    link.deactivated_at = l.deactivated_at;
    link
}

/// The audit detail of an operation: its changes and reason, never secrets.
pub fn detail(op: &Operation) -> Value {
    let mut d = json!({});
    if !op.changes.is_empty() {
        d["changes"] = json!(op.changes);
    }
    if let Some(r) = &op.reason {
        d["reason"] = json!(r);
    }
    if let Some(u) = &op.user_name {
        d["userName"] = json!(u);
    }
    if !op.members.is_empty() {
        d["members"] = json!(op.members);
    }
    d
}

impl Recorder {
    /// A recorder writing to `store` (None: a dry run, nothing recorded).
    pub fn new(store: Option<Store>, cycle_id: Option<i64>, app: &str) -> Self {
        Recorder {
            store,
            cycle_id,
            app: app.to_string(),
        }
    }

    /// The cycle this recorder writes for (None: a dry run).
    pub fn cycle_id(&self) -> Option<i64> {
        self.cycle_id
    }

    /// The app this recorder writes for.
    pub fn app(&self) -> &str {
        &self.app
    }

    async fn write(&self, outcome: Outcome) -> Result<(), OpError> {
        self.write_with_forms(outcome, FormChanges::default()).await
    }

    /// Writes an outcome and, in the same transaction, the forms its write taught.
    async fn write_with_forms(&self, outcome: Outcome, forms: FormChanges) -> Result<(), OpError> {
        match &self.store {
            Some(s) if forms.is_empty() => s.record_outcome(outcome).await,
            Some(s) => s.record_outcome_with_forms(outcome, forms).await,
            None => return Ok(()),
        }
        .map(|_| ())
        .map_err(OpError::State)
    }

    /// Records a successful account operation, the link it leaves and the forms the app
    /// returned for what it was sent.
    pub async fn link(
        &self,
        op: &Operation,
        audit: AuditOp,
        link: &LinkState,
        ownership: Ownership,
        forms: FormChanges,
    ) -> Result<(), OpError> {
        let outcome = Outcome {
            cycle_id: self.cycle_id,
            app: self.app.clone(),
            person_key: op.key.clone(),
            op: audit,
            link_change: LinkChange::Upsert(state_link(&self.app, &op.key, link, ownership)),
            group_change: GroupChange::None,
            remote_id: Some(link.remote_id.clone()),
            detail: detail(op),
            result: OpResult::Ok,
            error: None,
        };
        self.write_with_forms(outcome, forms).await?;
        if let Some(s) = &self.store {
            s.clear_op_failure(&self.app, &op.key)
                .await
                .map_err(OpError::State)?;
        }
        Ok(())
    }

    /// Records a successful operation that changes no link (orphans, groups).
    pub async fn done(
        &self,
        op: &Operation,
        remote_id: Option<String>,
        group: GroupChange,
    ) -> Result<(), OpError> {
        self.write(Outcome {
            cycle_id: self.cycle_id,
            app: self.app.clone(),
            person_key: op.key.clone(),
            op: audit_op(op.op),
            link_change: LinkChange::None,
            group_change: group,
            remote_id,
            detail: detail(op),
            result: OpResult::Ok,
            error: None,
        })
        .await
    }

    /// Records a group's new state after a group operation.
    pub async fn group(&self, op: &Operation, group: Group) -> Result<(), OpError> {
        let id = group.remote_id.clone();
        self.done(op, id, GroupChange::Upsert(group)).await
    }

    /// Records that a linked account no longer exists in the app.
    pub async fn vanished(&self, op: &Operation, prev: &LinkState) -> Result<(), OpError> {
        let mut gone = prev.clone();
        gone.lifecycle = LinkLifecycle::Deleted;
        self.write(Outcome {
            cycle_id: self.cycle_id,
            app: self.app.clone(),
            person_key: op.key.clone(),
            op: AuditOp::Unlink,
            link_change: LinkChange::Upsert(state_link(
                &self.app,
                &op.key,
                &gone,
                Ownership::Adopted,
            )),
            group_change: GroupChange::None,
            remote_id: Some(prev.remote_id.clone()),
            detail: json!({"reason": "account no longer exists in the app"}),
            result: OpResult::Ok,
            error: None,
        })
        .await
    }

    /// Audits a failed operation; permanent per-record failures count towards quarantine.
    pub async fn failed(&self, op: &Operation, err: &OpError, now: DateTime<Utc>) {
        let Some(store) = &self.store else {
            return;
        };
        let outcome = Outcome {
            cycle_id: self.cycle_id,
            app: self.app.clone(),
            person_key: op.key.clone(),
            op: audit_op(op.op),
            link_change: LinkChange::None,
            group_change: GroupChange::None,
            remote_id: op.remote_id.clone(),
            detail: detail(op),
            result: OpResult::Failed,
            // Redacted again where it is stored: no secret may reach the state file.
            error: Some(redact(&err.to_string())),
        };
        if let Err(e) = store.record_outcome(outcome).await {
            tracing::error!(error = %e, "Could not audit a failed operation.");
        }
        if err.class() == FailureClass::Record {
            if let Err(e) = store
                .note_op_failure(
                    &self.app,
                    &op.key,
                    audit_op(op.op),
                    &redact(&err.to_string()),
                    now,
                )
                .await
            {
                tracing::error!(error = %e, "Could not record the failure for quarantine.");
            }
        }
    }

    /// When the person's operations may be tried again, if they must wait.
    pub async fn deferred_until(&self, key: &str, now: DateTime<Utc>) -> Option<String> {
        let store = self.store.as_ref()?;
        match store.is_op_deferred(&self.app, key, now).await {
            Ok(true) => Some(
                store
                    .op_quarantine(Some(&self.app))
                    .await
                    .ok()
                    .and_then(|q| {
                        q.into_iter()
                            .find(|e| e.person_key == key)
                            .map(|e| e.next_attempt_at.to_rfc3339())
                    })
                    .unwrap_or_else(|| "later".into()),
            ),
            _ => None,
        }
    }
}
