//! Settled persons: those whose last full plan in an app asked for nothing, with what that
//! plan was computed from (a fingerprint) and the first day a date may change it. A cycle
//! leaves them out of mapping and planning while the fingerprint holds; and links in brief
//! (without what was pushed), which is all a left-out person's plan needs of the state.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{params, Connection, Row};

use crate::error::{Ctx, StateError};
use crate::links::LinkLifecycle;
use crate::sql::to_json;
use crate::store::Store;
use crate::stored::{col_account_id, col_hex_text, col_opt_ms, Code, HexText};

/// A person settled in an app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    /// HR key.
    pub person_key: String,
    /// What their plan was computed from, hashed.
    pub fingerprint: String,
    /// The lowercase userName they hold in the app (None: they claim none).
    pub user_name: Option<String>,
    /// HR keys their references point to.
    pub refs: Vec<String>,
    /// The first day (UTC) their target may change; None when no date can.
    pub due: Option<NaiveDate>,
}

/// A link without what was pushed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkBrief {
    /// HR key.
    pub person_key: String,
    /// The account's id in the app.
    pub remote_id: String,
    /// The userName last pushed.
    pub user_name: String,
    /// Hash of the last pushed state.
    pub hash: String,
    /// The account's lifecycle.
    pub lifecycle: LinkLifecycle,
    /// When the account was deactivated.
    pub deactivated_at: Option<DateTime<Utc>>,
}

fn stamp_from_row(row: &Row<'_>) -> rusqlite::Result<Stamp> {
    let refs: String = row.get(3)?;
    let due: Option<String> = row.get(4)?;
    Ok(Stamp {
        person_key: row.get(0)?,
        fingerprint: col_hex_text(row, 1)?,
        user_name: row.get(2)?,
        // A list that cannot be read names a person nobody is, and a date that cannot be
        // read has come: either way the stamp never holds and the person is planned.
        refs: serde_json::from_str(&refs).unwrap_or_else(|_| vec![String::new()]),
        due: due.map(|d| d.parse().unwrap_or(NaiveDate::MIN)),
    })
}

fn stamps<A>(
    conn: &Connection,
    app: &str,
    today: NaiveDate,
    mut acc: A,
    mut f: impl FnMut(&mut A, Stamp),
) -> Result<A, StateError> {
    // One pass over the app's stamps in key order; those whose day has come are dropped
    // as they are read, so no person's dates are looked at again before their due day.
    let mut st = conn
        .prepare_cached(
            "SELECT person_key, fingerprint, user_name, refs, due FROM settled WHERE app = ?1 \
             ORDER BY person_key",
        )
        .ctx("read settled persons")?;
    let rows = st
        .query_map(params![app], stamp_from_row)
        .ctx("read settled persons")?;
    for row in rows {
        let stamp = row.ctx("read settled persons")?;
        if stamp.due.is_none_or(|d| d > today) {
            f(&mut acc, stamp);
        }
    }
    Ok(acc)
}

fn briefs<A>(
    conn: &Connection,
    app: &str,
    mut acc: A,
    mut f: impl FnMut(&mut A, LinkBrief),
) -> Result<A, StateError> {
    let mut st = conn
        .prepare_cached(
            "SELECT person_key, remote_id, user_name, hash, lifecycle, deactivated_at \
             FROM links WHERE app = ?1 ORDER BY person_key",
        )
        .ctx("read links in brief")?;
    let rows = st
        .query_map([app], |r| {
            Ok(LinkBrief {
                person_key: r.get(0)?,
                remote_id: col_account_id(r, 1)?,
                user_name: r.get(2)?,
                hash: col_hex_text(r, 3)?,
                lifecycle: r.get::<_, Code<LinkLifecycle>>(4)?.0,
                deactivated_at: col_opt_ms(r, 5)?,
            })
        })
        .ctx("read links in brief")?;
    for row in rows {
        f(&mut acc, row.ctx("read links in brief")?);
    }
    Ok(acc)
}

impl Store {
    /// The persons settled in `app` with nothing due by `today` (a stamp whose day has come
    /// is left out: its person is planned), folded into `acc` by `f` as they are read.
    pub async fn stamps<A, F>(
        &self,
        app: &str,
        today: NaiveDate,
        acc: A,
        f: F,
    ) -> Result<A, StateError>
    where
        A: Send + 'static,
        F: FnMut(&mut A, Stamp) + Send + 'static,
    {
        let app = app.to_owned();
        self.read_aside(move |conn| stamps(conn, &app, today, acc, f))
            .await
    }

    /// Every link of `app` in brief, in person-key order, folded into `acc` by `f` as
    /// they are read (no list of them is held).
    pub async fn link_briefs<A, F>(&self, app: &str, acc: A, f: F) -> Result<A, StateError>
    where
        A: Send + 'static,
        F: FnMut(&mut A, LinkBrief) + Send + 'static,
    {
        let app = app.to_owned();
        self.read_aside(move |conn| briefs(conn, &app, acc, f))
            .await
    }

    /// Records the persons a full plan of `app` found settled, and forgets the stamps of
    /// `unsettled` (planned, and something was planned for them), in one transaction.
    pub async fn stamp(
        &self,
        app: &str,
        settled: Vec<Stamp>,
        unsettled: BTreeSet<String>,
    ) -> Result<(), StateError> {
        if settled.is_empty() && unsettled.is_empty() {
            return Ok(());
        }
        let app = app.to_owned();
        self.write("record settled persons", move |tx| {
            let mut put = tx
                .prepare_cached(
                    "INSERT INTO settled (app, person_key, fingerprint, user_name, refs, due) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (app, person_key) DO UPDATE \
                     SET fingerprint = ?3, user_name = ?4, refs = ?5, due = ?6",
                )
                .ctx("record settled persons")?;
            for s in &settled {
                let refs = to_json(&s.refs, "settled.refs")?;
                let due = s.due.map(|d| d.to_string());
                put.execute(params![
                    app,
                    s.person_key,
                    HexText(&s.fingerprint),
                    s.user_name,
                    refs,
                    due
                ])
                .with_ctx(|| format!("record {} settled in {app}", s.person_key))?;
            }
            let mut forget = tx
                .prepare_cached("DELETE FROM settled WHERE app = ?1 AND person_key = ?2")
                .ctx("forget settled persons")?;
            for key in &unsettled {
                forget
                    .execute(params![app, key])
                    .with_ctx(|| format!("forget {key} settled in {app}"))?;
            }
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AuditOp, FormChanges, GroupChange, KeptForm, Link, LinkChange, OpResult, Outcome};
    use crate::{Ownership, Store};
    use serde_json::json;

    fn stamp(key: &str, due: Option<NaiveDate>) -> Stamp {
        Stamp {
            person_key: key.into(),
            fingerprint: format!("fp-{key}"),
            user_name: Some(format!("{}@x", key.to_lowercase())),
            refs: vec!["E1".into()],
            due,
        }
    }

    fn upsert(key: &str) -> Outcome {
        let mut link = Link::new("chat", key, format!("r-{key}"), "u@x", Ownership::Created);
        link.hash = "h".into();
        Outcome {
            cycle_id: None,
            app: "chat".into(),
            person_key: key.into(),
            op: AuditOp::Update,
            link_change: LinkChange::Upsert(link),
            group_change: GroupChange::None,
            remote_id: None,
            detail: json!({}),
            result: OpResult::Ok,
            error: None,
        }
    }

    fn keys(stamps: &[Stamp]) -> Vec<&str> {
        stamps.iter().map(|s| s.person_key.as_str()).collect()
    }

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, d).expect("date")
    }

    #[tokio::test]
    async fn stamps_round_trip_and_a_stamp_whose_day_has_come_is_not_read() {
        let store = Store::open_in_memory().await.expect("open");
        let stamps = vec![stamp("E1", None), stamp("E2", Some(day(10)))];
        store
            .stamp("chat", stamps.clone(), BTreeSet::new())
            .await
            .expect("stamp");
        assert_eq!(
            store
                .stamps("chat", day(9), Vec::new(), Vec::push)
                .await
                .expect("read"),
            stamps
        );
        // On its due day, E2 is planned again: its stamp is not read.
        assert_eq!(
            keys(
                &store
                    .stamps("chat", day(10), Vec::new(), Vec::push)
                    .await
                    .expect("read")
            ),
            ["E1"]
        );
        assert!(store
            .stamps("other", day(9), Vec::new(), Vec::push)
            .await
            .expect("read")
            .is_empty());
        store
            .stamp("chat", Vec::new(), ["E1".to_string()].into())
            .await
            .expect("forget");
        assert_eq!(
            keys(
                &store
                    .stamps("chat", day(9), Vec::new(), Vec::push)
                    .await
                    .expect("read")
            ),
            ["E2"]
        );
    }

    #[tokio::test]
    async fn writing_a_link_or_a_kept_form_forgets_the_persons_stamp() {
        let store = Store::open_in_memory().await.expect("open");
        store.record_outcome(upsert("E1")).await.expect("link");
        store.record_outcome(upsert("E2")).await.expect("link");
        let all = vec![stamp("E1", None), stamp("E2", None), stamp("E3", None)];
        store
            .stamp("chat", all, BTreeSet::new())
            .await
            .expect("stamp");

        store
            .record_outcome(upsert("E1"))
            .await
            .expect("link again");
        let mut forms = FormChanges::default();
        forms.keep.insert(
            "userName".into(),
            KeptForm {
                sent: json!("E3@x"),
                got: json!("e3@x"),
            },
        );
        let mut e3 = upsert("E3");
        e3.link_change = LinkChange::None;
        store
            .record_outcome_with_forms(e3, forms)
            .await
            .expect("form");
        assert_eq!(
            keys(
                &store
                    .stamps("chat", day(1), Vec::new(), Vec::push)
                    .await
                    .expect("read")
            ),
            ["E2"]
        );

        let briefs = store
            .link_briefs("chat", Vec::new(), Vec::push)
            .await
            .expect("briefs");
        assert_eq!(briefs.len(), 2);
        assert_eq!(briefs[0].remote_id, "r-E1");
        assert_eq!(briefs[1].hash, "h");
    }
}
