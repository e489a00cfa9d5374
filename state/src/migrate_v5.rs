//! The Rust step of migration 0005_compact: every row of the schema-4 `links`, `snapshot`
//! and `audit` tables (renamed `*_v4` by the migration's SQL) read as schema 4 stored it and
//! written in the compact form, and `settled` fingerprints stored as bytes. A row that cannot
//! be read as schema 4 would have been read fails the migration, naming its table and key;
//! the migration's transaction then leaves the file as it was.

use std::collections::BTreeMap;
use std::fmt::Display;

use chrono::{DateTime, Utc};
use rusqlite::types::ValueRef;
use rusqlite::{params, Row, Transaction};
use serde_json::Value;

use crate::error::{Ctx, StateError, UnknownValue};
use crate::links::{Link, LinkLifecycle, Ownership};
use crate::names::Names;
use crate::outcome::{AuditOp, OpResult};
use crate::packed::pack_value;
use crate::pushed::encode;
use crate::snapshot_save::stored_record;
use crate::stored::{ms, AccountId, Code, HexText};

const MIGRATION: &str = "0005_compact";

/// Rows converted per batch where a table is rewritten in place.
const BATCH: usize = 10_000;

fn unconvertible(row: String, why: impl Display) -> StateError {
    StateError::Unconvertible {
        migration: MIGRATION.to_owned(),
        row,
        why: why.to_string(),
    }
}

/// Converts every row; see the module doc.
pub(crate) fn convert(tx: &Transaction<'_>) -> Result<(), StateError> {
    let paths = legacy_paths(tx)?;
    let mut names = Names::new(tx);
    links(tx, &paths, &mut names)?;
    snapshot(tx, &mut names)?;
    audit(tx, &mut names)?;
    settled(tx)
}

/// The SCIM paths of schema 4's `link_paths`, by id.
fn legacy_paths(tx: &Transaction<'_>) -> Result<BTreeMap<i64, String>, StateError> {
    let mut st = tx
        .prepare("SELECT id, path FROM link_paths")
        .ctx("read link paths to convert")?;
    let rows = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .ctx("read link paths to convert")?;
    rows.collect::<rusqlite::Result<_>>()
        .ctx("read link paths to convert")
}

/// Column `idx` as text, as schema 4 stored every column read here.
fn text(row: &Row<'_>, idx: usize) -> Result<String, String> {
    match row.get_ref(idx).map_err(|e| e.to_string())? {
        ValueRef::Text(t) => String::from_utf8(t.to_vec()).map_err(|e| e.to_string()),
        other => Err(format!(
            "column {idx} holds {:?}, not text",
            other.data_type()
        )),
    }
}

fn opt_text(row: &Row<'_>, idx: usize) -> Result<Option<String>, String> {
    match row.get_ref(idx).map_err(|e| e.to_string())? {
        ValueRef::Null => Ok(None),
        _ => text(row, idx).map(Some),
    }
}

/// An RFC 3339 timestamp as schema 4 stored it.
fn timestamp(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("timestamp {text:?}: {e}"))
}

/// What a link pushed as schema 4 stored it: `[path id, value]` pairs, or (written before
/// 0003_link_paths, or the column's default) an object keyed by path.
fn legacy_pushed(
    paths: &BTreeMap<i64, String>,
    text: &str,
) -> Result<BTreeMap<String, Value>, String> {
    if text.trim_start().starts_with('{') {
        return serde_json::from_str(text).map_err(|e| format!("last_pushed: {e}"));
    }
    let pairs: Vec<(i64, Value)> =
        serde_json::from_str(text).map_err(|e| format!("last_pushed: {e}"))?;
    let mut out = BTreeMap::new();
    for (id, value) in pairs {
        let path = paths
            .get(&id)
            .ok_or_else(|| format!("last_pushed names the unknown path id {id}"))?;
        out.insert(path.clone(), value);
    }
    Ok(out)
}

/// A schema-4 `links` row.
fn legacy_link(row: &Row<'_>, paths: &BTreeMap<i64, String>) -> Result<Link, String> {
    let word = |idx| text(row, idx);
    Ok(Link {
        app: word(0)?,
        person_key: word(1)?,
        remote_id: word(2)?,
        user_name: word(3)?,
        last_pushed: legacy_pushed(paths, &word(4)?)?,
        hash: word(5)?,
        lifecycle: word(6)?
            .parse::<LinkLifecycle>()
            .map_err(|e| e.to_string())?,
        ownership: word(7)?.parse::<Ownership>().map_err(|e| e.to_string())?,
        deactivated_at: opt_text(row, 8)?.map(|t| timestamp(&t)).transpose()?,
        created_at: timestamp(&word(9)?)?,
        updated_at: timestamp(&word(10)?)?,
    })
}

/// The key columns of a row, for naming it in an error.
fn key_of(row: &Row<'_>, a: usize, b: usize) -> String {
    let part = |idx| match row.get_ref(idx) {
        Ok(ValueRef::Text(t)) => String::from_utf8_lossy(t).into_owned(),
        Ok(other) => format!("{other:?}"),
        Err(e) => e.to_string(),
    };
    format!("({}, {})", part(a), part(b))
}

fn links(
    tx: &Transaction<'_>,
    paths: &BTreeMap<i64, String>,
    names: &mut Names<'_>,
) -> Result<(), StateError> {
    let ctx = "convert links";
    let mut read = tx
        .prepare(
            "SELECT app, person_key, remote_id, user_name, last_pushed, hash, lifecycle, \
             ownership, deactivated_at, created_at, updated_at FROM links_v4",
        )
        .ctx(ctx)?;
    let mut write = tx
        .prepare(
            "INSERT INTO links (app, person_key, remote_id, user_name, last_pushed, hash, \
             lifecycle, ownership, deactivated_at, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )
        .ctx(ctx)?;
    let mut rows = read.query([]).ctx(ctx)?;
    while let Some(row) = rows.next().ctx(ctx)? {
        let name = || format!("links row {}", key_of(row, 0, 1));
        let l = legacy_link(row, paths).map_err(|why| unconvertible(name(), why))?;
        let pushed = encode(names, &l.last_pushed, &l.person_key, &l.user_name)
            .map_err(|e| e.packing(name))?;
        crate::links::write_row(
            &mut write,
            &l,
            &pushed,
            ms(&l.created_at),
            ms(&l.updated_at),
        )
        .with_ctx(|| format!("write the converted {}", name()))?;
    }
    Ok(())
}

fn snapshot(tx: &Transaction<'_>, names: &mut Names<'_>) -> Result<(), StateError> {
    let ctx = "convert the snapshot";
    let mut read = tx
        .prepare(
            "SELECT source, person_key, record, hash, first_seen_cycle, last_seen_cycle, \
             absent_cycles, last_absent_cycle FROM snapshot_v4",
        )
        .ctx(ctx)?;
    let mut write = tx
        .prepare(
            "INSERT INTO snapshot (source, person_key, record, hash, first_seen_cycle, \
             last_seen_cycle, absent_cycles, last_absent_cycle) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )
        .ctx(ctx)?;
    let mut rows = read.query([]).ctx(ctx)?;
    while let Some(row) = rows.next().ctx(ctx)? {
        let name = || format!("snapshot row {}", key_of(row, 0, 1));
        let words = (text(row, 0), text(row, 1), text(row, 2), text(row, 3));
        let (Ok(source), Ok(key), Ok(record), Ok(hash)) = words else {
            return Err(unconvertible(name(), "a column is not text"));
        };
        let stored = stored_record(names, &record, &key, &source)?;
        // The cycle counters, copied as they are.
        let count = |i| row.get::<_, rusqlite::types::Value>(i);
        let counts = (count(4), count(5), count(6), count(7));
        let (Ok(first), Ok(last), Ok(absent), Ok(last_absent)) = counts else {
            return Err(unconvertible(name(), "a cycle counter cannot be read"));
        };
        write
            .execute(params![
                source,
                key,
                stored,
                HexText(&hash),
                first,
                last,
                absent,
                last_absent
            ])
            .with_ctx(|| format!("write the converted {}", name()))?;
    }
    Ok(())
}

/// A schema-4 `audit` row, read as schema 4 read it.
struct LegacyAudit {
    at: DateTime<Utc>,
    cycle_id: Option<i64>,
    app: String,
    person_key: String,
    op: AuditOp,
    remote_id: Option<String>,
    result: OpResult,
    detail: Value,
    error: Option<String>,
}

fn legacy_audit(row: &Row<'_>) -> Result<LegacyAudit, String> {
    let detail = match opt_text(row, 8)? {
        None => Value::Null,
        Some(t) => serde_json::from_str(&t).map_err(|e| format!("detail: {e}"))?,
    };
    Ok(LegacyAudit {
        at: timestamp(&text(row, 1)?)?,
        cycle_id: row.get(2).map_err(|e| e.to_string())?,
        app: text(row, 3)?,
        person_key: text(row, 4)?,
        op: text(row, 5)?
            .parse()
            .map_err(|e: UnknownValue| e.to_string())?,
        remote_id: opt_text(row, 6)?,
        result: text(row, 7)?
            .parse()
            .map_err(|e: UnknownValue| e.to_string())?,
        detail,
        error: opt_text(row, 9)?,
    })
}

fn audit(tx: &Transaction<'_>, names: &mut Names<'_>) -> Result<(), StateError> {
    let ctx = "convert the audit trail";
    let mut read = tx
        .prepare(
            "SELECT id, at, cycle_id, app, person_key, op, remote_id, result, detail, error \
             FROM audit_v4 ORDER BY id",
        )
        .ctx(ctx)?;
    let mut write = tx
        .prepare(
            "INSERT INTO audit (id, at, cycle_id, app, person_key, op, remote_id, result, \
             detail, error) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )
        .ctx(ctx)?;
    let mut rows = read.query([]).ctx(ctx)?;
    while let Some(row) = rows.next().ctx(ctx)? {
        let id: i64 = row.get(0).ctx(ctx)?;
        let name = || format!("audit row {id}");
        let a = legacy_audit(row).map_err(|why| unconvertible(name(), why))?;
        let detail = pack_value(&a.detail, &[], names).map_err(|e| e.packing(name))?;
        write
            .execute(params![
                id,
                ms(&a.at),
                a.cycle_id,
                a.app,
                a.person_key,
                Code(a.op),
                a.remote_id.as_deref().map(AccountId),
                Code(a.result),
                detail,
                a.error
            ])
            .with_ctx(|| format!("write the converted {}", name()))?;
    }
    Ok(())
}

/// Stores every lowercase-hex fingerprint as its bytes, a batch of rows at a time in key
/// order (the table is rewritten in place, so it is not read while written).
fn settled(tx: &Transaction<'_>) -> Result<(), StateError> {
    let ctx = "convert settled fingerprints";
    let mut read = tx
        .prepare(
            "SELECT app, person_key, fingerprint FROM settled WHERE (app, person_key) > (?1, ?2) \
             ORDER BY app, person_key LIMIT ?3",
        )
        .ctx(ctx)?;
    let mut write = tx
        .prepare("UPDATE settled SET fingerprint = ?3 WHERE app = ?1 AND person_key = ?2")
        .ctx(ctx)?;
    let mut after = (String::new(), String::new());
    loop {
        let batch = read
            .query_map(params![after.0, after.1, BATCH as i64], |r| {
                let fingerprint = r.get_ref(2)?.as_str().map(str::to_owned).ok();
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, fingerprint))
            })
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .ctx(ctx)?;
        let Some(last) = batch.last() else {
            return Ok(());
        };
        after = (last.0.clone(), last.1.clone());
        for (app, key, fingerprint) in &batch {
            // A fingerprint that is not text was never written by hrsync: the stamp is
            // left as it is, and never matches (its person is planned).
            if let Some(fp) = fingerprint {
                write
                    .execute(params![app, key, HexText(fp)])
                    .with_ctx(|| format!("convert the settled row ({app}, {key})"))?;
            }
        }
    }
}
