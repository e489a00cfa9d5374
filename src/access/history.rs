//! What the audit trail says about each account: when access was granted and when it
//! last changed; and which managed groups each person is in.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use hrsync_state::{AuditOp, AuditQuery, AuditRow, Link, OpResult, StateError, Store};
use serde::Serialize;

/// When an account's access was granted and last changed.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Grant {
    /// Start of the current (or last) period of access: the create, adoption or
    /// reactivation that opened it. A rehire's reactivation starts a new period.
    pub granted_at: Option<DateTime<Utc>>,
    /// The operation that granted it (`create`, `adopt`, `reactivate`, `relink`).
    pub granted_by: Option<String>,
    /// The newest successful change to the account.
    pub last_changed_at: Option<DateTime<Utc>>,
    /// What that change was.
    pub last_change: Option<String>,
}

impl Grant {
    /// For a link with no audit rows (e.g. a trail pruned by hand): the link's own times.
    pub fn from_link(link: &Link) -> Grant {
        Grant {
            granted_at: Some(link.created_at),
            granted_by: None,
            last_changed_at: Some(link.updated_at),
            last_change: None,
        }
    }

    /// Folds one successful audit row (oldest first) into the account's history.
    fn apply(&mut self, row: &AuditRow, open: &mut bool) {
        match row.op {
            AuditOp::Create | AuditOp::Adopt | AuditOp::Reactivate if !*open => {
                self.granted_at = Some(row.at);
                self.granted_by = Some(row.op.as_str().to_string());
                *open = true;
            }
            // A relink repairs the state after a loss: it opens a period only when the
            // trail has none (the account was granted before the trail began).
            AuditOp::Relink if self.granted_at.is_none() => {
                self.granted_at = Some(row.at);
                self.granted_by = Some(row.op.as_str().to_string());
                *open = true;
            }
            AuditOp::Deactivate | AuditOp::Delete | AuditOp::Unlink => *open = false,
            _ => {}
        }
        if row.op != AuditOp::Rebase {
            self.last_changed_at = Some(row.at);
            self.last_change = Some(row.op.as_str().to_string());
        }
    }
}

/// Grants per (app, person key), from every successful audit row.
pub async fn grants(store: &Store) -> Result<BTreeMap<(String, String), Grant>, StateError> {
    let rows = store.audit(AuditQuery::default()).await?;
    Ok(fold(&rows))
}

/// The pure fold behind [`grants`]: rows oldest first.
fn fold(rows: &[AuditRow]) -> BTreeMap<(String, String), Grant> {
    let mut out: BTreeMap<(String, String), (Grant, bool)> = BTreeMap::new();
    for row in rows.iter().filter(|r| r.result == OpResult::Ok) {
        // Group and membership rows are keyed by the group, not a person; memberships
        // are shown from the groups themselves.
        if matches!(
            row.op,
            AuditOp::GroupCreate
                | AuditOp::GroupDelete
                | AuditOp::MembershipAdd
                | AuditOp::MembershipRemove
        ) {
            continue;
        }
        let (grant, open) = out
            .entry((row.app.clone(), row.person_key.clone()))
            .or_default();
        grant.apply(row, open);
    }
    out.into_iter().map(|(k, (g, _))| (k, g)).collect()
}

/// Managed groups of `app` each person key is a member of, names sorted.
pub async fn memberships(
    store: &Store,
    app: &str,
) -> Result<BTreeMap<String, Vec<String>>, StateError> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for g in store.groups(app).await? {
        for key in &g.members {
            out.entry(key.clone())
                .or_default()
                .push(g.group_name.clone());
        }
    }
    for names in out.values_mut() {
        names.sort();
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(id: i64, day: u32, op: AuditOp, result: OpResult) -> AuditRow {
        AuditRow {
            id,
            at: chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 1, day, 9, 0, 0).unwrap(),
            cycle_id: Some(id),
            app: "crm".into(),
            person_key: "E1".into(),
            op,
            remote_id: Some("r1".into()),
            result,
            detail: json!({}),
            error: None,
        }
    }

    #[test]
    fn a_rehire_starts_a_new_period_and_failures_change_nothing() {
        let rows = [
            row(1, 1, AuditOp::Create, OpResult::Ok),
            row(2, 2, AuditOp::Update, OpResult::Ok),
            row(3, 3, AuditOp::Deactivate, OpResult::Ok),
            row(4, 4, AuditOp::Reactivate, OpResult::Failed),
            row(5, 5, AuditOp::Reactivate, OpResult::Ok),
            row(6, 6, AuditOp::Update, OpResult::Ok),
        ];
        let g = &fold(&rows)[&("crm".to_string(), "E1".to_string())];
        assert_eq!(g.granted_at, Some(rows[4].at));
        assert_eq!(g.granted_by.as_deref(), Some("reactivate"));
        assert_eq!(g.last_changed_at, Some(rows[5].at));
        assert_eq!(g.last_change.as_deref(), Some("update"));
    }

    #[test]
    fn updates_while_granted_keep_the_first_grant() {
        let rows = [
            row(1, 1, AuditOp::Create, OpResult::Ok),
            row(2, 2, AuditOp::Reactivate, OpResult::Ok),
            row(3, 3, AuditOp::Relink, OpResult::Ok),
        ];
        let g = &fold(&rows)[&("crm".to_string(), "E1".to_string())];
        assert_eq!(g.granted_at, Some(rows[0].at));
        assert_eq!(g.last_change.as_deref(), Some("relink"));
    }
}
