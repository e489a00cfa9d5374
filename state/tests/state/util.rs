//! Helpers shared by the state tests.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use hrsync_state::rusqlite::Connection;
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

/// The released migrations' SQL, in order: what a file of an older schema was built with.
const RELEASED: [&str; 4] = [
    include_str!("../../migrations/0001_initial.sql"),
    include_str!("../../migrations/0002_kept_forms.sql"),
    include_str!("../../migrations/0003_link_paths.sql"),
    include_str!("../../migrations/0004_settled.sql"),
];

/// A new state file at schema `version` (1 to 4), as the hrsync of that schema created it,
/// for tests of how an older file is read and converted.
pub fn file_at_schema(path: &Path, version: usize) -> Connection {
    let conn = Connection::open(path).unwrap();
    for sql in &RELEASED[..version] {
        conn.execute_batch(sql).unwrap();
    }
    conn.pragma_update(None, "user_version", version as i64)
        .unwrap();
    conn
}
