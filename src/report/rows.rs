//! The table model shared by the markdown and HTML reports: one row per operation,
//! conflict, held operation, person set aside for the app, orphan and vanished link, and
//! one per quarantined record, in report order (the text report's order).

use super::{short_path, show_value};
use crate::reconcile::{AppPlan, Conflict, Held, Operation, Plan};

/// One part of a row's details column.
pub enum Detail {
    /// Plain words (a reason, a summary, a member list).
    Text(String),
    /// An attribute change or disagreement: path, then the words around the values.
    Path {
        /// Short SCIM path.
        path: String,
        /// The rest, e.g. `"Engineer" → "Senior Engineer"`.
        rest: String,
    },
}

/// One row of an app's table.
pub struct Row {
    /// Operation word (`create`, `conflict`, `held deactivate`...).
    pub op: String,
    /// Person key or group name.
    pub key: String,
    /// userName, if any.
    pub user_name: String,
    /// Details.
    pub details: Vec<Detail>,
}

/// The rows of one app, in report order: operations, conflicts, held operations, then
/// persons set aside, orphans and vanished links.
pub fn app_rows(a: &AppPlan) -> Vec<Row> {
    let mut rows: Vec<Row> = a.operations.iter().map(operation_row).collect();
    rows.extend(a.conflicts.iter().map(conflict_row));
    rows.extend(a.held.iter().map(held_row));
    rows.extend(finding_rows(a));
    rows
}

/// The rows of one app without its conflicts and held operations, which the HTML report
/// shows as tables of their own ([`conflict_cells`], [`held_cells`]).
pub fn action_rows(a: &AppPlan) -> Vec<Row> {
    let mut rows: Vec<Row> = a.operations.iter().map(operation_row).collect();
    rows.extend(finding_rows(a));
    rows
}

/// The app's conflicts as (key, userName, attribute, app value, HR value, rule).
pub fn conflict_cells(a: &AppPlan) -> Vec<[String; 6]> {
    a.conflicts
        .iter()
        .map(|c| {
            [
                c.key.clone(),
                c.user_name.clone().unwrap_or_default(),
                short_path(&c.path),
                show_value(c.app.as_ref()),
                show_value(c.hr.as_ref()),
                c.rule.as_str().to_string(),
            ]
        })
        .collect()
}

/// The app's held operations as (operation, key, userName, the guard's reason).
pub fn held_cells(a: &AppPlan) -> Vec<[String; 4]> {
    a.held
        .iter()
        .map(|h| {
            [
                h.operation.op.as_str().to_string(),
                h.operation.key.clone(),
                h.operation.user_name.clone().unwrap_or_default(),
                h.reason.clone(),
            ]
        })
        .collect()
}

fn operation_row(op: &Operation) -> Row {
    let mut details = Vec::new();
    if let Some(r) = super::note(op) {
        details.push(Detail::Text(r));
    }
    for c in &op.changes {
        details.push(Detail::Path {
            path: short_path(&c.path),
            rest: format!(
                "{} → {}",
                show_value(c.old.as_ref()),
                show_value(c.new.as_ref())
            ),
        });
    }
    if !op.members.is_empty() {
        details.push(Detail::Text(op.members.join(", ")));
    }
    Row {
        op: op.op.as_str().to_string(),
        key: op.key.clone(),
        user_name: op.user_name.clone().unwrap_or_default(),
        details,
    }
}

fn conflict_row(c: &Conflict) -> Row {
    Row {
        op: "conflict".into(),
        key: c.key.clone(),
        user_name: c.user_name.clone().unwrap_or_default(),
        details: vec![Detail::Path {
            path: short_path(&c.path),
            rest: format!(
                "app {}, HR {} (rule: {})",
                show_value(c.app.as_ref()),
                show_value(c.hr.as_ref()),
                c.rule.as_str()
            ),
        }],
    }
}

fn held_row(h: &Held) -> Row {
    Row {
        op: format!("held {}", h.operation.op.as_str()),
        key: h.operation.key.clone(),
        user_name: h.operation.user_name.clone().unwrap_or_default(),
        details: vec![Detail::Text(h.reason.clone())],
    }
}

/// What the plan found but does not act on: persons set aside, orphans, vanished links.
fn finding_rows(a: &AppPlan) -> impl Iterator<Item = Row> + '_ {
    let quarantined = a.quarantined.iter().map(|q| Row {
        op: "quarantined".into(),
        key: q.key.clone(),
        user_name: String::new(),
        details: vec![Detail::Text(q.reason.clone())],
    });
    let orphans = a.orphans.iter().map(|o| Row {
        op: "orphan".into(),
        key: o.external_id.clone().unwrap_or_else(|| "-".into()),
        user_name: o.user_name.clone(),
        details: vec![Detail::Text(format!(
            "not managed by hrsync{}",
            if o.active { "" } else { " (inactive)" }
        ))],
    });
    let vanished = a.vanished.iter().map(|k| Row {
        op: "vanished".into(),
        key: k.clone(),
        user_name: String::new(),
        details: vec![Detail::Text(
            "linked account no longer exists in the app".into(),
        )],
    });
    quarantined.chain(orphans).chain(vanished)
}

/// The quarantined HR records as (source, where, key, reason).
pub fn quarantine_rows(plan: &Plan) -> Vec<[String; 4]> {
    plan.quarantined
        .iter()
        .map(|q| {
            let at = q
                .line
                .map(|l| format!("line {l}"))
                .or_else(|| q.position.clone())
                .unwrap_or_default();
            [
                q.source.clone(),
                at,
                q.key.clone().unwrap_or_default(),
                q.reason.clone(),
            ]
        })
        .collect()
}
