//! Reading many resources: list with filter (narrowed by an index hint), sort and paging by
//! index or cursor, straight from the table when nothing needs evaluating.

use rusqlite::{params, Connection};
use serde_json::{json, Value};

use super::super::error::ScimError;
use super::super::eval::{sort_cmp, Hint, Node, Target};
use super::super::imitation::Imitation as _;
use super::super::resource::render;
use super::super::schema::Kind;
use super::{db, groups_of, parse_row, row, show, Ctx, Row, COLS};

/// What a list request asks for, already validated against the profile.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// The compiled filter.
    pub filter: Option<Node>,
    /// `sortBy` target and descending flag.
    pub sort: Option<(Target, bool)>,
    /// 1-based first index (index paging).
    pub start: usize,
    /// Page size.
    pub count: usize,
    /// Cursor paging: the position to continue from, when paging by cursor.
    pub cursor: Option<i64>,
    /// Whether the page is cut by cursor rather than index.
    pub by_cursor: bool,
}

/// One page of results.
#[derive(Debug, Clone)]
pub struct ListPage {
    /// All matches.
    pub total: usize,
    /// The page.
    pub items: Vec<Value>,
    /// Cursor for the next page, when paging by cursor and more remain.
    pub next_cursor: Option<String>,
}

fn candidates(conn: &Connection, kind: Kind, hint: Option<Hint>) -> Result<Vec<Row>, ScimError> {
    // `+kind` keeps SQLite from preferring the kind index over the selective one.
    let (cond, arg) = match hint {
        Some(Hint::Id(v)) => ("+kind = ?1 AND id = ?2", Some(v)),
        Some(Hint::Name(v)) => ("kind = ?1 AND name_lc = ?2", Some(v)),
        Some(Hint::ExternalId(v)) => ("kind = ?1 AND external_id = ?2", Some(v)),
        Some(Hint::Email(v)) => (
            "+kind = ?1 AND id IN (SELECT id FROM user_emails WHERE email_lc = ?2)",
            Some(v),
        ),
        None => ("kind = ?1", None),
    };
    let sql = format!("SELECT {COLS} FROM resources WHERE {cond} ORDER BY seq");
    let mut st = conn.prepare_cached(&sql).map_err(db)?;
    let raw: Vec<_> = match arg {
        Some(a) => st
            .query_map(params![kind.name(), a], row)
            .map_err(db)?
            .collect(),
        None => st
            .query_map(params![kind.name()], row)
            .map_err(db)?
            .collect(),
    };
    raw.into_iter().map(|r| parse_row(r.map_err(db)?)).collect()
}

fn count_all(conn: &Connection, kind: Kind) -> Result<usize, ScimError> {
    let n: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM resources WHERE kind = ?1",
            [kind.name()],
            |r| r.get(0),
        )
        .map_err(db)?;
    Ok(usize::try_from(n).unwrap_or(0))
}

/// Pages straight from the table when nothing needs evaluating.
fn list_plain(
    conn: &mut Connection,
    ctx: &Ctx,
    kind: Kind,
    q: &ListQuery,
) -> Result<ListPage, ScimError> {
    let total = count_all(conn, kind)?;
    let limit = i64::try_from(q.count).unwrap_or(i64::MAX);
    let (sql, a, b) = if q.by_cursor {
        let s = format!(
            "SELECT {COLS} FROM resources WHERE kind = ?1 AND seq >= ?2 ORDER BY seq LIMIT ?3"
        );
        (s, q.cursor.unwrap_or(0), limit.saturating_add(1))
    } else {
        let s =
            format!("SELECT {COLS} FROM resources WHERE kind = ?1 ORDER BY seq LIMIT ?3 OFFSET ?2");
        let offset = i64::try_from(q.start.saturating_sub(1)).unwrap_or(i64::MAX);
        (s, offset, limit)
    };
    let raw: Vec<_> = {
        let mut st = conn.prepare_cached(&sql).map_err(db)?;
        let rows = st.query_map(params![kind.name(), a, b], row).map_err(db)?;
        rows.collect::<Result<_, _>>().map_err(db)?
    };
    let mut rows: Vec<Row> = raw.into_iter().map(parse_row).collect::<Result<_, _>>()?;
    let next_cursor = if q.by_cursor && rows.len() > q.count {
        rows.pop().map(|r| r.seq.to_string())
    } else {
        None
    };
    let items = rows
        .iter()
        .map(|r| show(conn, ctx, kind, r))
        .collect::<Result<_, _>>()?;
    Ok(ListPage {
        total,
        items,
        next_cursor,
    })
}

/// Lists resources: filter, sort, then one page.
pub fn list(
    conn: &mut Connection,
    ctx: &Ctx,
    kind: Kind,
    q: &ListQuery,
) -> Result<ListPage, ScimError> {
    if q.filter.is_none() && q.sort.is_none() {
        return list_plain(conn, ctx, kind, q);
    }
    let needs_groups = kind == Kind::User
        && (q.filter.as_ref().is_some_and(|f| f.reads("groups"))
            || q.sort.as_ref().is_some_and(|(t, _)| t.attr == "groups"));
    let mut matched = matching(conn, ctx, kind, q, needs_groups)?;
    if let Some((t, desc)) = &q.sort {
        matched.sort_by(|a, b| {
            let o = sort_cmp(&a.1, &b.1, t);
            if *desc {
                o.reverse()
            } else {
                o
            }
        });
    }
    let total = matched.len();
    let (page, next_cursor) = cut_page(matched, q);
    let mut items = Vec::with_capacity(page.len());
    for (_, v) in page {
        items.push(finish_item(conn, ctx, kind, v, needs_groups)?);
    }
    Ok(ListPage {
        total,
        items,
        next_cursor,
    })
}

/// The resources the filter matches, as clients see them, with their sequence numbers.
fn matching(
    conn: &mut Connection,
    ctx: &Ctx,
    kind: Kind,
    q: &ListQuery,
    needs_groups: bool,
) -> Result<Vec<(i64, Value)>, ScimError> {
    let hint = q.filter.as_ref().and_then(|f| f.hint(kind));
    let mut matched: Vec<(i64, Value)> = Vec::new();
    for r in candidates(conn, kind, hint)? {
        let groups = if needs_groups {
            Some(groups_of(conn, &ctx.base, &r.meta.id)?)
        } else {
            None
        };
        let view = render(kind, &r.meta, &r.body, &ctx.base, groups);
        if q.filter.as_ref().is_none_or(|f| f.matches(&view)) {
            matched.push((r.seq, view));
        }
    }
    Ok(matched)
}

/// The requested page of the matches, and the cursor after it when paging by cursor.
fn cut_page(matched: Vec<(i64, Value)>, q: &ListQuery) -> (Vec<(i64, Value)>, Option<String>) {
    if q.by_cursor {
        let from = q.cursor.unwrap_or(0);
        let mut rest = matched.into_iter().filter(|(seq, _)| *seq >= from);
        let page = rest.by_ref().take(q.count).collect();
        let next_cursor = rest.next().map(|(seq, _)| seq.to_string());
        (page, next_cursor)
    } else {
        let page = matched
            .into_iter()
            .skip(q.start.saturating_sub(1))
            .take(q.count)
            .collect();
        (page, None)
    }
}

/// A listed resource as served: a user's groups (before `meta`), a group's members hidden
/// where the app hides them.
fn finish_item(
    conn: &mut Connection,
    ctx: &Ctx,
    kind: Kind,
    mut v: Value,
    needs_groups: bool,
) -> Result<Value, ScimError> {
    let id = v["id"].as_str().unwrap_or_default().to_string();
    if kind == Kind::User && !needs_groups {
        let g = groups_of(conn, &ctx.base, &id)?;
        if let (false, Some(o)) = (g.is_empty(), v.as_object_mut()) {
            let meta = o.remove("meta");
            o.insert("groups".into(), Value::Array(g));
            if let Some(m) = meta {
                o.insert("meta".into(), m);
            }
        }
    }
    if kind == Kind::Group && ctx.profile.hide_group_members() {
        if let Some(o) = v.as_object_mut() {
            o.insert("members".into(), json!([]));
        }
    }
    Ok(v)
}

/// Every stored user, ordered by id.
pub fn all_users(conn: &mut Connection, ctx: &Ctx) -> Result<Vec<Value>, ScimError> {
    let mut rows = candidates(conn, Kind::User, None)?;
    rows.sort_by(|a, b| a.meta.id.cmp(&b.meta.id));
    rows.iter()
        .map(|r| show(conn, ctx, Kind::User, r))
        .collect()
}
