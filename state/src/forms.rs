//! The forms apps keep values in: after a successful write, per (app, person, attribute
//! path), the value hrsync sent and the value the app returned for it. Written with the
//! operation's outcome in one transaction, read by the planner so that an app value equal
//! to the kept form of the current desired value counts as in step.

use std::collections::BTreeMap;

use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Ctx, StateError};
use crate::outcome::{record, OpResult, Outcome};
use crate::sql::{now, to_json, ts};
use crate::store::Store;

/// The value an app returned for one attribute, and the value hrsync had sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeptForm {
    /// What hrsync sent.
    pub sent: Value,
    /// What the app returned for it.
    pub got: Value,
}

/// What one write taught about the app's forms, per attribute path.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FormChanges {
    /// Paths whose value the app returned in a form of its own.
    pub keep: BTreeMap<String, KeptForm>,
    /// Paths whose value the app returned as sent: any form kept for them is dropped.
    pub drop: Vec<String>,
}

impl FormChanges {
    /// True when the write taught nothing.
    pub fn is_empty(&self) -> bool {
        self.keep.is_empty() && self.drop.is_empty()
    }
}

/// Kept forms of one app: person key → attribute path → form.
pub type AppForms = BTreeMap<String, BTreeMap<String, KeptForm>>;

/// Writes what one write taught for `(app, key)`; runs inside the caller's transaction.
fn write_forms(
    conn: &Connection,
    app: &str,
    key: &str,
    changes: &FormChanges,
) -> Result<(), StateError> {
    let at = ts(&now());
    for (path, f) in &changes.keep {
        let sent = to_json(&f.sent, "kept_forms.sent")?;
        let got = to_json(&f.got, "kept_forms.got")?;
        conn.prepare_cached(
            "INSERT INTO kept_forms (app, person_key, path, sent, got, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (app, person_key, path) \
             DO UPDATE SET sent = excluded.sent, got = excluded.got, updated_at = excluded.updated_at",
        )
        .and_then(|mut st| st.execute(params![app, key, path, sent, got, at]))
        .with_ctx(|| format!("keep the app's form of {path} for {key} in {app}"))?;
    }
    for path in &changes.drop {
        conn.prepare_cached(
            "DELETE FROM kept_forms WHERE app = ?1 AND person_key = ?2 AND path = ?3",
        )
        .and_then(|mut st| st.execute(params![app, key, path]))
        .with_ctx(|| format!("drop the app's form of {path} for {key} in {app}"))?;
    }
    Ok(())
}

impl Store {
    /// Records an operation's outcome as [`Store::record_outcome`] does and, when it
    /// succeeded, the forms the app returned, all in one transaction.
    pub async fn record_outcome_with_forms(
        &self,
        outcome: Outcome,
        forms: FormChanges,
    ) -> Result<i64, StateError> {
        self.write("record an outcome", move |tx| {
            let id = record(tx, &outcome, &now())?;
            if outcome.result == OpResult::Ok {
                write_forms(tx, &outcome.app, &outcome.person_key, &forms)?;
            }
            Ok(id)
        })
        .await
    }

    /// The forms kept for one app's persons.
    pub async fn kept_forms(&self, app: &str) -> Result<AppForms, StateError> {
        let app = app.to_string();
        self.read(move |conn| {
            let what = "read the app's kept forms";
            let mut st = conn
                .prepare("SELECT person_key, path, sent, got FROM kept_forms WHERE app = ?1")
                .ctx(what)?;
            let rows = st
                .query_map(params![app], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                    ))
                })
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
                .ctx(what)?;
            let mut out = AppForms::new();
            for (key, path, sent, got) in rows {
                // A value that does not parse is skipped: the worst is one more update.
                if let (Ok(sent), Ok(got)) =
                    (serde_json::from_str(&sent), serde_json::from_str(&got))
                {
                    out.entry(key)
                        .or_default()
                        .insert(path, KeptForm { sent, got });
                }
            }
            Ok(out)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AuditOp, GroupChange, LinkChange};
    use serde_json::json;

    fn outcome(result: OpResult) -> Outcome {
        Outcome {
            cycle_id: None,
            app: "chat".into(),
            person_key: "E1".into(),
            op: AuditOp::Update,
            link_change: LinkChange::None,
            group_change: GroupChange::None,
            remote_id: Some("r1".into()),
            detail: json!({}),
            result,
            error: None,
        }
    }

    fn form(sent: &str, got: &str) -> FormChanges {
        let mut c = FormChanges::default();
        c.keep.insert(
            "userName".into(),
            KeptForm {
                sent: json!(sent),
                got: json!(got),
            },
        );
        c
    }

    #[tokio::test]
    async fn forms_are_kept_replaced_dropped_and_never_kept_for_a_failure() {
        let store = Store::open_in_memory().await.expect("open");
        store
            .record_outcome_with_forms(outcome(OpResult::Failed), form("a@x", "a_x"))
            .await
            .expect("record");
        assert!(store.kept_forms("chat").await.expect("read").is_empty());

        store
            .record_outcome_with_forms(outcome(OpResult::Ok), form("a@x", "a_x"))
            .await
            .expect("record");
        store
            .record_outcome_with_forms(outcome(OpResult::Ok), form("b@x", "b_x"))
            .await
            .expect("record");
        let kept = store.kept_forms("chat").await.expect("read");
        assert_eq!(kept["E1"]["userName"].sent, json!("b@x"));
        assert_eq!(kept["E1"]["userName"].got, json!("b_x"));
        assert!(store.kept_forms("other").await.expect("read").is_empty());

        let drop = FormChanges {
            drop: vec!["userName".into()],
            ..FormChanges::default()
        };
        store
            .record_outcome_with_forms(outcome(OpResult::Ok), drop)
            .await
            .expect("record");
        assert!(store.kept_forms("chat").await.expect("read").is_empty());
    }
}
