//! Helpers shared by the state tests.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use hrsync_state::{AuditOp, GroupChange, Link, LinkChange, OpResult, Outcome, Ownership};
use serde_json::json;
use tempfile::TempDir;

/// A temp dir and the state path inside it.
pub fn state_file() -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    (dir, path)
}

/// A timestamp from RFC 3339 text.
pub fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

/// An active, created link with one pushed attribute.
pub fn link(app: &str, key: &str, remote_id: &str) -> Link {
    let mut l = Link::new(
        app,
        key,
        remote_id,
        format!("{key}@corp.example"),
        Ownership::Created,
    );
    l.last_pushed
        .insert("userName".into(), json!(format!("{key}@corp.example")));
    l.hash = format!("hash-{key}");
    l
}

/// A successful outcome with the given link change.
pub fn outcome(app: &str, key: &str, op: AuditOp, change: LinkChange) -> Outcome {
    Outcome {
        cycle_id: None,
        app: app.into(),
        person_key: key.into(),
        op,
        link_change: change,
        group_change: GroupChange::None,
        remote_id: None,
        detail: json!({}),
        result: OpResult::Ok,
        error: None,
    }
}

/// A successful create of `key` as account `remote_id`.
pub fn created(app: &str, key: &str, remote_id: &str) -> Outcome {
    outcome(
        app,
        key,
        AuditOp::Create,
        LinkChange::Upsert(link(app, key, remote_id)),
    )
}

/// SQL that takes a current state file back to schema 2 (what migrations 3 and 4 added is
/// dropped), for tests of how an older file is read and converted.
pub const BACK_TO_SCHEMA_2: &str = "
    DROP TRIGGER kept_forms_unsettle_insert; DROP TRIGGER kept_forms_unsettle_update;
    DROP TRIGGER kept_forms_unsettle_delete; DROP TRIGGER links_unsettle_insert;
    DROP TRIGGER links_unsettle_update; DROP TRIGGER links_unsettle_delete;
    DROP TABLE settled; DROP TABLE link_paths; PRAGMA user_version = 2;";
