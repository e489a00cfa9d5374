//! Resource operations as they run on the database thread: create, read, replace, patch,
//! delete and list, each one transaction, with uniqueness, group-member resolution,
//! `If-Match` and version bookkeeping.

use std::sync::Arc;

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde_json::{json, Map, Value};

use super::error::ScimError;
use super::imitation::{self, DeleteMode, Imitation as _, Profile};
use super::patch::{self, PatchOp};
use super::resource::{render, validate, Meta};
use super::schema::Kind;
use super::store::email_keys;

mod query;

pub use query::{all_users, list, ListPage, ListQuery};

/// What every operation needs to know besides its arguments.
#[derive(Clone)]
pub struct Ctx {
    /// The active profile.
    pub profile: Arc<Profile>,
    /// Base URL for `meta.location` and `$ref`.
    pub base: String,
}

/// One stored row.
struct Row {
    seq: i64,
    meta: Meta,
    body: Map<String, Value>,
}

/// Now, as the sandbox writes timestamps (RFC 3339, milliseconds, UTC).
pub fn now() -> String {
    crate::clock::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn db(e: rusqlite::Error) -> ScimError {
    ScimError::internal(format!("sandbox database: {e}"))
}

const COLS: &str = "seq, id, version, created, modified, body";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, Meta, String)> {
    Ok((
        r.get(0)?,
        Meta {
            id: r.get(1)?,
            version: r.get(2)?,
            created: r.get(3)?,
            modified: r.get(4)?,
        },
        r.get(5)?,
    ))
}

fn parse_row((seq, meta, body): (i64, Meta, String)) -> Result<Row, ScimError> {
    let body = serde_json::from_str::<Map<String, Value>>(&body)
        .map_err(|e| ScimError::internal(format!("stored resource {} is corrupt: {e}", meta.id)))?;
    Ok(Row { seq, meta, body })
}

fn load(conn: &Connection, kind: Kind, id: &str) -> Result<Option<Row>, ScimError> {
    let sql = format!("SELECT {COLS} FROM resources WHERE kind = ?1 AND id = ?2");
    let raw = conn
        .query_row(&sql, params![kind.name(), id], row)
        .optional()
        .map_err(db)?;
    raw.map(parse_row).transpose()
}

fn load_or_404(conn: &Connection, kind: Kind, id: &str) -> Result<Row, ScimError> {
    load(conn, kind, id)?.ok_or_else(|| ScimError::not_found(kind.name(), id))
}

/// Whether an `If-Match` / `If-None-Match` header value names this version.
pub fn etag_matches(header: &str, meta: &Meta) -> bool {
    header.split(',').map(str::trim).any(|tag| {
        tag == "*" || tag.trim_start_matches("W/").trim_matches('"') == meta.version.to_string()
    })
}

fn check_if_match(ctx: &Ctx, if_match: Option<&str>, meta: &Meta) -> Result<(), ScimError> {
    match if_match {
        Some(h) if ctx.profile.etag && !etag_matches(h, meta) => Err(ScimError::new(
            412,
            None,
            format!(
                "Failed to update. Resource {} has changed on the server.",
                meta.id
            ),
        )),
        _ => Ok(()),
    }
}

fn groups_of(conn: &Connection, base: &str, id: &str) -> Result<Vec<Value>, ScimError> {
    let mut st = conn
        .prepare_cached(
            "SELECT r.id, r.name FROM memberships m JOIN resources r ON r.id = m.group_id \
             WHERE m.member_id = ?1 ORDER BY r.seq",
        )
        .map_err(db)?;
    let rows = st
        .query_map([id], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })
        .map_err(db)?;
    let mut out = Vec::new();
    for r in rows {
        let (gid, name) = r.map_err(db)?;
        out.push(json!({"value": gid, "$ref": format!("{base}/Groups/{gid}"),
                        "display": name, "type": "direct"}));
    }
    Ok(out)
}

fn show(conn: &Connection, ctx: &Ctx, kind: Kind, r: &Row) -> Result<Value, ScimError> {
    let groups = match kind {
        Kind::User => Some(groups_of(conn, &ctx.base, &r.meta.id)?),
        Kind::Group => None,
    };
    let mut v = render(kind, &r.meta, &r.body, &ctx.base, groups);
    if kind == Kind::Group && ctx.profile.hide_group_members() {
        if let Some(o) = v.as_object_mut() {
            o.insert("members".into(), json!([]));
        }
    }
    Ok(v)
}

/// Resolves member ids to their kinds and display names; unknown ids are refused.
fn resolve_members(
    tx: &Transaction<'_>,
    group_id: &str,
    body: &mut Map<String, Value>,
) -> Result<Vec<String>, ScimError> {
    let Some(Value::Array(items)) = body.get_mut("members") else {
        return Ok(Vec::new());
    };
    // A member is its `value` (RFC 7643 §4.2); without one it names nobody, and dropping it
    // silently would store a group other than the one the client sent.
    if let Some(i) = items.iter().position(|m| {
        m.get("value")
            .and_then(Value::as_str)
            .is_none_or(|v| v.trim().is_empty())
    }) {
        return Err(ScimError::invalid_value(format!(
            "members[{i}] has no value (the id of a User or Group)"
        )));
    }
    let mut seen = std::collections::BTreeSet::new();
    items.retain(|m| {
        m["value"]
            .as_str()
            .is_some_and(|v| seen.insert(v.to_string()))
    });
    let mut ids = Vec::new();
    for m in items.iter_mut() {
        let Some(obj) = m.as_object_mut() else {
            continue;
        };
        let id = obj
            .get("value")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if id == group_id {
            return Err(ScimError::invalid_value(
                "a group cannot be a member of itself",
            ));
        }
        let found: Option<(String, String)> = tx
            .query_row(
                "SELECT kind, name FROM resources WHERE id = ?1",
                [&id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(db)?;
        let Some((kind, name)) = found else {
            return Err(ScimError::invalid_value(format!(
                "member {id} does not exist"
            )));
        };
        obj.insert("type".into(), json!(kind));
        obj.entry("display").or_insert_with(|| json!(name));
        obj.remove("$ref");
        ids.push(id);
    }
    Ok(ids)
}

/// Validates, checks uniqueness, and writes `body` as resource `meta.id`.
fn write(
    tx: &Transaction<'_>,
    ctx: &Ctx,
    kind: Kind,
    meta: &Meta,
    mut body: Map<String, Value>,
    new: bool,
) -> Result<Map<String, Value>, ScimError> {
    apply_app_rules(ctx, kind, &mut body)?;
    let name = unique_name(tx, kind, meta, &body)?;
    let members = match kind {
        Kind::Group => resolve_members(tx, &meta.id, &mut body)?,
        Kind::User => Vec::new(),
    };
    store_row(tx, kind, meta, &body, &name, new)?;
    match kind {
        Kind::User => index_emails(tx, &meta.id, &body)?,
        Kind::Group => store_memberships(tx, &meta.id, &members)?,
    }
    Ok(body)
}

/// The app's userName rewrite, the schema's invariants, then the app's own refusals.
fn apply_app_rules(ctx: &Ctx, kind: Kind, body: &mut Map<String, Value>) -> Result<(), ScimError> {
    if kind == Kind::User {
        if let Some(Value::String(n)) = body.get("userName") {
            let fixed = imitation::user_name(&ctx.profile, n)?;
            body.insert("userName".into(), json!(fixed));
        }
    }
    validate(kind, body)?;
    if kind == Kind::User {
        imitation::check_user(&ctx.profile, body)?;
    }
    Ok(())
}

/// The resource's unique name (userName or displayName), refused when another resource of
/// the kind holds it in any case.
fn unique_name(
    tx: &Transaction<'_>,
    kind: Kind,
    meta: &Meta,
    body: &Map<String, Value>,
) -> Result<String, ScimError> {
    let name_key = if kind == Kind::User {
        "userName"
    } else {
        "displayName"
    };
    let name = body
        .get(name_key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let clash: Option<String> = tx
        .query_row(
            "SELECT id FROM resources WHERE kind = ?1 AND name_lc = ?2 AND id != ?3",
            params![kind.name(), name.to_lowercase(), meta.id],
            |r| r.get(0),
        )
        .optional()
        .map_err(db)?;
    if let Some(other) = clash {
        return Err(ScimError::uniqueness(format!(
            "{name_key} {name:?} is already taken by {} {other}",
            kind.name()
        )));
    }
    Ok(name)
}

/// Inserts or updates the resource's row.
fn store_row(
    tx: &Transaction<'_>,
    kind: Kind,
    meta: &Meta,
    body: &Map<String, Value>,
    name: &str,
    new: bool,
) -> Result<(), ScimError> {
    let name_lc = name.to_lowercase();
    let text = serde_json::to_string(body).map_err(|e| ScimError::internal(e.to_string()))?;
    let external = body.get("externalId").and_then(Value::as_str);
    if new {
        tx.execute(
            "INSERT INTO resources (id, kind, name, name_lc, external_id, version, created, modified, body) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![meta.id, kind.name(), name, name_lc, external, meta.version, meta.created, meta.modified, text],
        )
    } else {
        tx.execute(
            "UPDATE resources SET name = ?2, name_lc = ?3, external_id = ?4, version = ?5, modified = ?6, \
             body = ?7 WHERE id = ?1",
            params![meta.id, name, name_lc, external, meta.version, meta.modified, text],
        )
    }
    .map_err(db)?;
    Ok(())
}

/// Replaces the user's entries in the email index.
fn index_emails(
    tx: &Transaction<'_>,
    id: &str,
    body: &Map<String, Value>,
) -> Result<(), ScimError> {
    tx.execute("DELETE FROM user_emails WHERE id = ?1", [id])
        .map_err(db)?;
    for email in email_keys(body) {
        tx.execute(
            "INSERT OR IGNORE INTO user_emails (email_lc, id) VALUES (?1, ?2)",
            [email.as_str(), id],
        )
        .map_err(db)?;
    }
    Ok(())
}

/// Replaces the group's rows in the membership table.
fn store_memberships(tx: &Transaction<'_>, id: &str, members: &[String]) -> Result<(), ScimError> {
    tx.execute("DELETE FROM memberships WHERE group_id = ?1", [id])
        .map_err(db)?;
    for m in members {
        tx.execute(
            "INSERT OR IGNORE INTO memberships (group_id, member_id) VALUES (?1, ?2)",
            [id, m.as_str()],
        )
        .map_err(db)?;
    }
    Ok(())
}

/// Creates a resource from a normalised body.
pub fn create(
    conn: &mut Connection,
    ctx: &Ctx,
    kind: Kind,
    body: Map<String, Value>,
) -> Result<(Value, Meta), ScimError> {
    let tx = conn.transaction().map_err(db)?;
    let t = now();
    let meta = Meta {
        id: uuid::Uuid::new_v4().to_string(),
        version: 1,
        created: t.clone(),
        modified: t,
    };
    let body = write(&tx, ctx, kind, &meta, body, true)?;
    let shown = show(
        &tx,
        ctx,
        kind,
        &Row {
            seq: 0,
            meta: meta.clone(),
            body,
        },
    )?;
    tx.commit().map_err(db)?;
    Ok((shown, meta))
}

/// Reads one resource.
pub fn get(
    conn: &mut Connection,
    ctx: &Ctx,
    kind: Kind,
    id: &str,
) -> Result<(Value, Meta), ScimError> {
    let r = load_or_404(conn, kind, id)?;
    Ok((show(conn, ctx, kind, &r)?, r.meta))
}

fn update(
    conn: &mut Connection,
    ctx: &Ctx,
    kind: Kind,
    id: &str,
    if_match: Option<&str>,
    change: impl FnOnce(Map<String, Value>) -> Result<Map<String, Value>, ScimError>,
) -> Result<(Value, Meta), ScimError> {
    let tx = conn.transaction().map_err(db)?;
    let old = load_or_404(&tx, kind, id)?;
    check_if_match(ctx, if_match, &old.meta)?;
    let body = change(old.body.clone())?;
    if body == old.body {
        let shown = show(&tx, ctx, kind, &old)?;
        return Ok((shown, old.meta));
    }
    let meta = Meta {
        version: old.meta.version + 1,
        modified: now(),
        ..old.meta
    };
    let body = write(&tx, ctx, kind, &meta, body, false)?;
    let shown = show(
        &tx,
        ctx,
        kind,
        &Row {
            seq: old.seq,
            meta: meta.clone(),
            body,
        },
    )?;
    tx.commit().map_err(db)?;
    Ok((shown, meta))
}

/// Replaces a resource (PUT) with a normalised body.
pub fn replace(
    conn: &mut Connection,
    ctx: &Ctx,
    kind: Kind,
    id: &str,
    body: Map<String, Value>,
    if_match: Option<&str>,
) -> Result<(Value, Meta), ScimError> {
    update(conn, ctx, kind, id, if_match, |_| Ok(body))
}

/// Applies PATCH operations atomically: all of them or none.
pub fn patch(
    conn: &mut Connection,
    ctx: &Ctx,
    kind: Kind,
    id: &str,
    ops: &[PatchOp],
    if_match: Option<&str>,
) -> Result<(Value, Meta), ScimError> {
    imitation::check_patch(&ctx.profile, kind, ops)?;
    let parse = ctx.profile.parse_options();
    update(conn, ctx, kind, id, if_match, |mut body| {
        patch::apply(kind, &mut body, ops, parse)?;
        Ok(body)
    })
}

fn drop_memberships_of(tx: &Transaction<'_>, ctx: &Ctx, member: &str) -> Result<(), ScimError> {
    let groups: Vec<String> = {
        let mut st = tx
            .prepare("SELECT group_id FROM memberships WHERE member_id = ?1")
            .map_err(db)?;
        let rows = st.query_map([member], |r| r.get(0)).map_err(db)?;
        rows.collect::<Result<_, _>>().map_err(db)?
    };
    for gid in groups {
        let Some(mut g) = load(tx, Kind::Group, &gid)? else {
            continue;
        };
        if let Some(Value::Array(items)) = g.body.get_mut("members") {
            items.retain(|m| m["value"].as_str() != Some(member));
            if items.is_empty() {
                g.body.remove("members");
            }
        }
        g.meta.version += 1;
        g.meta.modified = now();
        write(tx, ctx, Kind::Group, &g.meta, g.body, false)?;
    }
    tx.execute("DELETE FROM memberships WHERE member_id = ?1", [member])
        .map_err(db)?;
    Ok(())
}

/// Deletes a resource, or deactivates a user where the profile's DELETE means that.
pub fn delete(
    conn: &mut Connection,
    ctx: &Ctx,
    kind: Kind,
    id: &str,
    if_match: Option<&str>,
) -> Result<(), ScimError> {
    if kind == Kind::User && ctx.profile.user_delete() == DeleteMode::Deactivate {
        update(conn, ctx, kind, id, if_match, |mut b| {
            b.insert("active".into(), json!(false));
            Ok(b)
        })?;
        return Ok(());
    }
    let tx = conn.transaction().map_err(db)?;
    let old = load_or_404(&tx, kind, id)?;
    check_if_match(ctx, if_match, &old.meta)?;
    drop_memberships_of(&tx, ctx, id)?;
    tx.execute("DELETE FROM memberships WHERE group_id = ?1", [id])
        .map_err(db)?;
    tx.execute("DELETE FROM user_emails WHERE id = ?1", [id])
        .map_err(db)?;
    tx.execute("DELETE FROM resources WHERE id = ?1", [id])
        .map_err(db)?;
    tx.commit().map_err(db)
}
