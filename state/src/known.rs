//! What the state knows by name: the apps and persons it has links, audit rows or HR
//! snapshot rows for. Read-only commands use it to refuse a name it has never seen.

use std::collections::BTreeSet;

use crate::error::{Ctx, StateError};
use crate::outcome::AuditOp;
use crate::store::Store;
use crate::stored::Coded;

impl Store {
    /// Every app named by a link or an audit row, sorted.
    pub async fn known_apps(&self) -> Result<BTreeSet<String>, StateError> {
        self.read(|conn| {
            distinct(
                conn,
                "SELECT app FROM links UNION SELECT app FROM audit",
                "list the apps the state knows",
            )
        })
        .await
    }

    /// Every person key named by a link, an account's audit row or a snapshot row, sorted
    /// (group and membership rows carry the group's name, not a person).
    pub async fn known_persons(&self) -> Result<BTreeSet<String>, StateError> {
        let group_ops = [
            AuditOp::GroupCreate,
            AuditOp::GroupDelete,
            AuditOp::MembershipAdd,
            AuditOp::MembershipRemove,
        ]
        .map(|op| op.code().to_string())
        .join(", ");
        self.read(move |conn| {
            distinct(
                conn,
                &format!(
                    "SELECT person_key FROM links UNION SELECT person_key FROM audit \
                     WHERE op NOT IN ({group_ops}) UNION SELECT person_key FROM snapshot"
                ),
                "list the persons the state knows",
            )
        })
        .await
    }
}

/// The first column of `sql`'s rows as a set.
fn distinct(
    conn: &rusqlite::Connection,
    sql: &str,
    what: &'static str,
) -> Result<BTreeSet<String>, StateError> {
    let mut st = conn.prepare(sql).ctx(what)?;
    let rows = st
        .query_map([], |r| r.get::<_, String>(0))
        .and_then(|rows| rows.collect::<rusqlite::Result<BTreeSet<_>>>())
        .ctx(what)?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use crate::{AuditOp, GroupChange, LinkChange, OpResult, Outcome, Store};
    use serde_json::json;

    #[tokio::test]
    async fn apps_and_persons_come_from_links_and_audit_rows() {
        let store = Store::open_in_memory().await.expect("open");
        assert!(store.known_apps().await.expect("apps").is_empty());
        store
            .record_outcome(Outcome {
                cycle_id: None,
                app: "crm".into(),
                person_key: "E1".into(),
                op: AuditOp::Deactivate,
                link_change: LinkChange::None,
                group_change: GroupChange::None,
                remote_id: Some("r1".into()),
                detail: json!({}),
                result: OpResult::Failed,
                error: Some("boom".into()),
            })
            .await
            .expect("record");
        let apps: Vec<String> = store
            .known_apps()
            .await
            .expect("apps")
            .into_iter()
            .collect();
        assert_eq!(apps, ["crm"]);
        let persons: Vec<String> = store
            .known_persons()
            .await
            .expect("persons")
            .into_iter()
            .collect();
        assert_eq!(persons, ["E1"]);
    }
}
