//! The engine's write path: an operation's outcome changes a link (or a group) and adds its
//! audit row in one transaction, after the app answered.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Ctx, StateError};
use crate::groups::{remove_group_row, upsert_group_row, Group};
use crate::links::{mark_link, remove_link, upsert_link, Link, LinkLifecycle};
use crate::names::Names;
use crate::packed::pack_value;
use crate::sql::{now, text_enum};
use crate::store::Store;
use crate::stored::{coded, ms, AccountId, Code};

text_enum! {
    /// What was done to an account or group (the `op` of audit rows).
    pub enum AuditOp {
        /// An account was created.
        Create => "create",
        /// An existing, unlinked account was linked (on_unlinked_match = adopt).
        Adopt => "adopt",
        /// Attributes were updated.
        Update => "update",
        /// The account was deactivated.
        Deactivate => "deactivate",
        /// The account was activated again.
        Reactivate => "reactivate",
        /// The account was deleted.
        Delete => "delete",
        /// A link was repaired to the account the app really has (resync, lost state).
        Relink => "relink",
        /// The app's value became the new base (app_wins); nothing was sent.
        Rebase => "rebase",
        /// A managed group was created.
        GroupCreate => "group_create",
        /// A managed group was deleted.
        GroupDelete => "group_delete",
        /// A person was added to a group.
        MembershipAdd => "membership_add",
        /// A person was removed from a group.
        MembershipRemove => "membership_remove",
        /// A link was dropped without touching the account.
        Unlink => "unlink",
    }
}

coded!(AuditOp {
    Create = 0,
    Adopt = 1,
    Update = 2,
    Deactivate = 3,
    Reactivate = 4,
    Delete = 5,
    Relink = 6,
    Rebase = 7,
    GroupCreate = 8,
    GroupDelete = 9,
    MembershipAdd = 10,
    MembershipRemove = 11,
    Unlink = 12,
});

impl AuditOp {
    /// True for operations that take access away (counted by `max_deprovision_per_day`).
    pub fn is_deprovision(self) -> bool {
        matches!(self, AuditOp::Deactivate | AuditOp::Delete)
    }
}

text_enum! {
    /// Whether the app accepted the operation.
    pub enum OpResult {
        /// Done.
        Ok => "ok",
        /// Failed after retries.
        Failed => "failed",
    }
}

coded!(OpResult { Ok = 0, Failed = 1 });

/// What a successful outcome does to the person's link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum LinkChange {
    /// Insert or replace the link (its own `app`/`person_key` are the row written).
    Upsert(Link),
    /// Change only the lifecycle of the existing link; an error if there is none.
    Mark {
        /// The new lifecycle.
        lifecycle: LinkLifecycle,
        /// When it was deactivated (`None` clears it).
        deactivated_at: Option<DateTime<Utc>>,
    },
    /// Drop the link (unlink); the account is left as it is.
    Remove,
    /// Leave links alone (group operations).
    None,
}

/// What a successful outcome does to a managed group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum GroupChange {
    /// Insert or replace the group row.
    Upsert(Group),
    /// Forget the group.
    Remove {
        /// The group's name.
        group_name: String,
    },
    /// Leave groups alone.
    None,
}

/// The outcome of one operation against one app.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// The cycle it ran in.
    pub cycle_id: Option<i64>,
    /// App name.
    pub app: String,
    /// HR key of the person (for group create/delete: the group name).
    pub person_key: String,
    /// What was done.
    pub op: AuditOp,
    /// The link change, applied only when `result` is `Ok`.
    pub link_change: LinkChange,
    /// The group change, applied only when `result` is `Ok`.
    pub group_change: GroupChange,
    /// The account (or group) id; defaults to the upserted link's.
    pub remote_id: Option<String>,
    /// Facts for the audit trail (changed attributes, reason, group).
    pub detail: Value,
    /// Whether the app accepted it.
    pub result: OpResult,
    /// The error, when it failed.
    pub error: Option<String>,
}

/// Writes the audit row of `o`.
fn insert_audit_row(
    conn: &Connection,
    o: &Outcome,
    remote_id: Option<&str>,
    at: &DateTime<Utc>,
) -> Result<(), StateError> {
    let what = || format!("the audit detail of {} {} in {}", o.op, o.person_key, o.app);
    let detail = pack_value(&o.detail, &[], &mut Names::new(conn)).map_err(|e| e.packing(what))?;
    conn.prepare_cached(
        "INSERT INTO audit (at, cycle_id, app, person_key, op, remote_id, result, detail, error) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )
    .and_then(|mut st| {
        st.execute(params![
            ms(at),
            o.cycle_id,
            o.app,
            o.person_key,
            Code(o.op),
            remote_id.map(AccountId),
            Code(o.result),
            detail,
            o.error,
        ])
    })
    .with_ctx(|| {
        format!(
            "write the audit row for {} {} in {}",
            o.op, o.person_key, o.app
        )
    })?;
    Ok(())
}

/// Writes the audit row and, for a success, the link and group changes; returns the
/// audit row id. Runs inside the caller's transaction.
pub(crate) fn record(
    conn: &Connection,
    o: &Outcome,
    at: &DateTime<Utc>,
) -> Result<i64, StateError> {
    let remote_id = o.remote_id.clone().or_else(|| match &o.link_change {
        LinkChange::Upsert(link) => Some(link.remote_id.clone()),
        _ => None,
    });
    insert_audit_row(conn, o, remote_id.as_deref(), at)?;
    let id = conn.last_insert_rowid();
    if o.result == OpResult::Failed {
        return Ok(id);
    }
    match &o.link_change {
        LinkChange::Upsert(link) => upsert_link(conn, link, at)?,
        LinkChange::Mark {
            lifecycle,
            deactivated_at,
        } => mark_link(
            conn,
            &o.app,
            &o.person_key,
            *lifecycle,
            deactivated_at.as_ref(),
            at,
        )?,
        LinkChange::Remove => remove_link(conn, &o.app, &o.person_key)?,
        LinkChange::None => {}
    }
    match &o.group_change {
        GroupChange::Upsert(group) => upsert_group_row(conn, group, at)?,
        GroupChange::Remove { group_name } => remove_group_row(conn, &o.app, group_name)?,
        GroupChange::None => {}
    }
    Ok(id)
}

impl Store {
    /// Records one operation's outcome: its link/group change and audit row commit
    /// together or not at all. A failed outcome writes only the audit row. Returns the
    /// audit row id.
    pub async fn record_outcome(&self, outcome: Outcome) -> Result<i64, StateError> {
        self.write("record an outcome", move |tx| {
            let id = record(tx, &outcome, &now())?;
            tracing::debug!(app = %outcome.app, person = %outcome.person_key, op = %outcome.op,
                result = %outcome.result, audit_id = id, "Recorded outcome.");
            Ok(id)
        })
        .await
    }

    /// Records several outcomes in one transaction (all or none); returns their audit ids.
    pub async fn record_outcomes(&self, outcomes: Vec<Outcome>) -> Result<Vec<i64>, StateError> {
        self.write("record outcomes", move |tx| {
            let at = now();
            outcomes.iter().map(|o| record(tx, o, &at)).collect()
        })
        .await
    }
}
