//! List and search requests: reading `filter`, `startIndex`, `count`, `cursor`, `sortBy`,
//! `attributes` from a query string or a `.search` body, checking them against the profile,
//! and shaping the ListResponse.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::discovery::LIST_URN;
use super::error::ScimError;
use super::eval::{compile, resolve, Node, Target};
use super::filter::{parse_attr_path, parse_filter};
use super::imitation::{self, Imitation as _, Paging, Profile};
use super::repo::{ListPage, ListQuery};
use super::resource::{parse_attr_list, project};
use super::schema::Kind;

/// A list request, ready to run and to answer.
#[derive(Debug, Clone)]
pub struct ListRequest {
    /// What to fetch.
    pub query: ListQuery,
    /// `attributes`.
    pub attributes: Vec<String>,
    /// `excludedAttributes`.
    pub excluded: Vec<String>,
}

/// Parameters from a `.search` body, as query-string-like text.
pub fn params_from_search(body: &Value) -> Result<BTreeMap<String, String>, ScimError> {
    let Some(obj) = body.as_object() else {
        return Err(ScimError::invalid_syntax(
            "a search body must be a JSON object",
        ));
    };
    let mut out = BTreeMap::new();
    for (k, v) in obj {
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Array(a) => a
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(","),
            _ => continue,
        };
        out.insert(k.clone(), text);
    }
    Ok(out)
}

fn param<'a>(params: &'a BTreeMap<String, String>, name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn int_param(params: &BTreeMap<String, String>, name: &str) -> Result<Option<i64>, ScimError> {
    param(params, name)
        .map(|v| {
            v.trim().parse::<i64>().map_err(|_| {
                ScimError::invalid_value(format!("{name} must be an integer, got {v:?}"))
            })
        })
        .transpose()
}

/// Reads and checks a list request.
pub fn parse(
    profile: &Profile,
    kind: Kind,
    params: &BTreeMap<String, String>,
) -> Result<ListRequest, ScimError> {
    let mut query = ListQuery {
        filter: read_filter(profile, kind, params)?,
        sort: read_sort(profile, kind, params)?,
        start: 1,
        count: 0,
        cursor: None,
        by_cursor: false,
    };
    read_paging(profile, params, &mut query)?;
    let (attributes, excluded) = if profile.list_projection {
        (
            parse_attr_list(param(params, "attributes"))?,
            parse_attr_list(param(params, "excludedAttributes"))?,
        )
    } else {
        (Vec::new(), Vec::new())
    };
    Ok(ListRequest {
        query,
        attributes,
        excluded,
    })
}

/// The filter, parsed in the app's syntax and refused where the app cannot filter so.
fn read_filter(
    profile: &Profile,
    kind: Kind,
    params: &BTreeMap<String, String>,
) -> Result<Option<Node>, ScimError> {
    match param(params, "filter")
        .map(str::trim)
        .filter(|f| !f.is_empty())
    {
        Some(text) => {
            let f = parse_filter(text, profile.parse_options())
                .map_err(|e| ScimError::invalid_filter(format!("filter {text:?}: {e}")))?;
            imitation::check_filter(profile, &f)?;
            Ok(Some(compile(kind, &f)?))
        }
        None if profile.filter_required => Err(ScimError::too_many(
            "this app requires a filter to list resources",
        )),
        None => Ok(None),
    }
}

/// `sortBy` and `sortOrder`, where the app sorts.
fn read_sort(
    profile: &Profile,
    kind: Kind,
    params: &BTreeMap<String, String>,
) -> Result<Option<(Target, bool)>, ScimError> {
    let Some(s) = param(params, "sortBy").filter(|_| profile.sort) else {
        return Ok(None);
    };
    let p = parse_attr_path(s.trim()).map_err(ScimError::invalid_value)?;
    let t = resolve(kind, &p).map_err(ScimError::invalid_value)?;
    let desc = param(params, "sortOrder").is_some_and(|o| o.eq_ignore_ascii_case("descending"));
    Ok(Some((t, desc)))
}

/// The page asked for, within what the app serves.
fn read_paging(
    profile: &Profile,
    params: &BTreeMap<String, String>,
    query: &mut ListQuery,
) -> Result<(), ScimError> {
    let count = int_param(params, "count")?;
    let start = int_param(params, "startIndex")?;
    let clamp = |c: i64, max: usize| usize::try_from(c.max(0)).unwrap_or(usize::MAX).min(max);
    match profile.paging() {
        Paging::Index {
            default_count,
            max_count,
        } => {
            query.count = count.map_or(default_count, |c| clamp(c, max_count));
            // RFC 7644 §3.4.2.4: a startIndex below 1 means 1.
            query.start = start.map_or(1, |s| usize::try_from(s.max(1)).unwrap_or(1));
        }
        Paging::Cursor { max_count } => {
            query.by_cursor = true;
            query.count = count.map_or(max_count, |c| clamp(c, max_count));
            query.cursor = param(params, "cursor")
                .map(|c| {
                    c.trim()
                        .parse::<i64>()
                        .map_err(|_| ScimError::invalid_value(format!("cursor {c:?} is not valid")))
                })
                .transpose()?;
        }
        Paging::Unpaged => query.count = usize::MAX,
    }
    Ok(())
}

/// The ListResponse for a page.
pub fn response(profile: &Profile, kind: Kind, req: &ListRequest, page: ListPage) -> Value {
    let items: Vec<Value> = page
        .items
        .into_iter()
        .map(|r| project(kind, r, &req.attributes, &req.excluded))
        .collect();
    let mut out = json!({
        "schemas": [LIST_URN],
        "totalResults": page.total,
        "itemsPerPage": items.len(),
    });
    if let Some(o) = out.as_object_mut() {
        match profile.paging() {
            Paging::Index { .. } => {
                o.insert("startIndex".into(), json!(req.query.start));
            }
            Paging::Cursor { .. } => {
                if let Some(c) = page.next_cursor {
                    o.insert("nextCursor".into(), json!(c));
                }
            }
            Paging::Unpaged => {}
        }
        o.insert("Resources".into(), Value::Array(items));
    }
    out
}
