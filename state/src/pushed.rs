//! How a link's `last_pushed` is stored: each SCIM path once in `link_paths`, and per link
//! a JSON array of `[path id, value]` pairs (migration 0002). The paths of an app's links
//! are the same few dozen, so this keeps the long path names out of every row.

use std::collections::BTreeMap;

use rusqlite::types::Type;
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;

use crate::error::{Ctx, StateError};
use crate::sql::to_json;

/// The path table, id → path, read once per query that decodes links.
pub(crate) type Paths = BTreeMap<i64, String>;

/// Reads the path table.
pub(crate) fn load_paths(conn: &Connection) -> Result<Paths, StateError> {
    let mut st = conn
        .prepare_cached("SELECT id, path FROM link_paths")
        .ctx("read link paths")?;
    let rows = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .ctx("read link paths")?;
    rows.collect::<rusqlite::Result<Paths>>()
        .ctx("read link paths")
}

/// The id of `path`, added to the table when it is new.
fn path_id(conn: &Connection, path: &str) -> Result<i64, StateError> {
    let ctx = || format!("record link path {path}");
    let found: Option<i64> = conn
        .prepare_cached("SELECT id FROM link_paths WHERE path = ?1")
        .and_then(|mut st| st.query_row([path], |r| r.get(0)).optional())
        .with_ctx(ctx)?;
    if let Some(id) = found {
        return Ok(id);
    }
    conn.prepare_cached("INSERT INTO link_paths (path) VALUES (?1)")
        .and_then(|mut st| st.execute(params![path]))
        .with_ctx(ctx)?;
    Ok(conn.last_insert_rowid())
}

/// The stored text of what a link pushed.
pub(crate) fn encode(
    conn: &Connection,
    pushed: &BTreeMap<String, Value>,
) -> Result<String, StateError> {
    let mut pairs: Vec<(i64, &Value)> = Vec::with_capacity(pushed.len());
    for (path, value) in pushed {
        pairs.push((path_id(conn, path)?, value));
    }
    to_json(&pairs, "links.last_pushed")
}

/// What a link pushed, from its stored text: the pairs form, or the object form of a
/// row written before migration 0002 converted it (or by the column's default).
pub(crate) fn decode(
    paths: &Paths,
    idx: usize,
    text: &str,
) -> rusqlite::Result<BTreeMap<String, Value>> {
    let bad = |e: String| rusqlite::Error::FromSqlConversionFailure(idx, Type::Text, e.into());
    if text.trim_start().starts_with('{') {
        return serde_json::from_str(text).map_err(|e| bad(e.to_string()));
    }
    let pairs: Vec<(i64, Value)> = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
    let mut out = BTreeMap::new();
    for (id, value) in pairs {
        let path = paths
            .get(&id)
            .ok_or_else(|| bad(format!("unknown link path id {id}")))?;
        out.insert(path.clone(), value);
    }
    Ok(out)
}
