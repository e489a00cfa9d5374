//! SCIM resources as JSON: building the User an app should hold from hrsync's flat
//! `path → value` map, reading values back from what an app returned (tolerant of the
//! spellings apps use), and the id/userName/externalId accessors.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::path::{AttrPath, PathError};
// Re-exported for the profiles, which read resources through this module.
pub(crate) use super::value::get_ci;
use super::value::key_ci;
use super::USER_SCHEMA;

fn str_at<'a>(resource: &'a Value, key: &str) -> Option<&'a str> {
    get_ci(resource.as_object()?, key)?.as_str()
}

/// The resource's `id`.
pub fn id(resource: &Value) -> Option<&str> {
    str_at(resource, "id")
}

/// The resource's `userName`.
pub fn user_name(resource: &Value) -> Option<&str> {
    str_at(resource, "userName")
}

/// The resource's `externalId`.
pub fn external_id(resource: &Value) -> Option<&str> {
    str_at(resource, "externalId")
}

/// The group's `displayName`.
pub fn display_name(resource: &Value) -> Option<&str> {
    str_at(resource, "displayName")
}

/// Every email value of a user, in the order the app returned them.
pub fn emails(resource: &Value) -> Vec<String> {
    values_at(resource, &AttrPath::simple("emails", Some("value")))
        .into_iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect()
}

/// The ids in a group's `members`.
pub fn member_ids(group: &Value) -> Vec<String> {
    values_at(group, &AttrPath::simple("members", Some("value")))
        .iter()
        .filter_map(id_text)
        .collect()
}

/// The id of one `members` entry (`{"value": id}`; some apps send numbers).
pub(crate) fn member_entry_id(entry: &Value) -> Option<String> {
    entry
        .as_object()
        .and_then(|o| get_ci(o, "value"))
        .and_then(id_text)
}

fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `"True"`/`"false"` (Entra and others send strings) read as JSON booleans.
fn coerce_bool(v: &Value) -> Value {
    match v {
        Value::String(s) if s.eq_ignore_ascii_case("true") => Value::Bool(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Value::Bool(false),
        other => other.clone(),
    }
}

/// The manager's id from `{"value": id}`, Slack's `{"managerId": id}`, or a bare string.
fn manager_id(v: &Value) -> Option<Value> {
    match v {
        Value::String(s) if !s.is_empty() => Some(v.clone()),
        Value::Object(o) => ["value", "managerId"]
            .iter()
            .find_map(|k| get_ci(o, k).filter(|x| x.as_str().is_some_and(|s| !s.is_empty())))
            .cloned(),
        _ => None,
    }
}

/// The value as it goes on the wire for this path: the manager reference as
/// `{"value": id}`, `active` as a JSON boolean, anything else unchanged.
pub(crate) fn wire_value(path: &AttrPath, v: &Value) -> Value {
    if path.is_manager() {
        if let Value::String(_) = v {
            let mut o = Map::new();
            o.insert("value".into(), v.clone());
            return Value::Object(o);
        }
    }
    if path.is_active() {
        return coerce_bool(v);
    }
    v.clone()
}

/// The value an attribute holds, before any filter or sub-attribute.
fn attr_value<'a>(resource: &'a Value, path: &AttrPath) -> Option<&'a Value> {
    let root = resource.as_object()?;
    match path.schema() {
        None => get_ci(root, path.attr()),
        Some(schema) => get_ci(root, schema)
            .and_then(Value::as_object)
            .and_then(|ext| get_ci(ext, path.attr()))
            // Some apps flatten extension attributes to a top-level "urn:…:attr" key.
            .or_else(|| get_ci(root, &format!("{schema}:{}", path.attr()))),
    }
}

fn is_primary(entry: &Value) -> bool {
    entry
        .as_object()
        .and_then(|o| get_ci(o, "primary"))
        .is_some_and(|p| coerce_bool(p) == Value::Bool(true))
}

/// Entries of a multi-valued attribute selected by the path's filter. When no entry carries
/// the filter's attribute at all (apps that drop `type`), the primary entry, or the only
/// entry, stands in for it: otherwise such apps would show permanent drift.
fn selected<'a>(entries: &'a [Value], path: &AttrPath) -> Vec<&'a Value> {
    let Some(f) = path.filter() else {
        return entries.iter().collect();
    };
    let hits: Vec<&Value> = entries.iter().filter(|e| f.selects(e)).collect();
    if !hits.is_empty() {
        return hits;
    }
    let carries = |e: &&Value| e.as_object().is_some_and(|o| get_ci(o, &f.attr).is_some());
    if entries.iter().any(|e| carries(&e)) {
        return Vec::new();
    }
    match entries {
        [only] => vec![only],
        _ => entries.iter().filter(|e| is_primary(e)).take(1).collect(),
    }
}

fn sub_of(entry: &Value, sub: &str) -> Option<Value> {
    entry.as_object().and_then(|o| get_ci(o, sub)).cloned()
}

/// Every value at the path: one for a single-valued attribute, one per selected entry of a
/// multi-valued one (`emails.value` gives all emails). Used for "any value matches" checks.
pub fn values_at(resource: &Value, path: &AttrPath) -> Vec<Value> {
    let Some(v) = attr_value(resource, path) else {
        return Vec::new();
    };
    if path.is_manager() {
        return manager_id(v).into_iter().collect();
    }
    if path.is_active() {
        return vec![coerce_bool(v)];
    }
    match (v, path.sub()) {
        (Value::Array(entries), None) => selected(entries, path).into_iter().cloned().collect(),
        (Value::Array(entries), Some(sub)) => selected(entries, path)
            .into_iter()
            .filter_map(|e| sub_of(e, sub))
            .collect(),
        (Value::Null, _) => Vec::new(),
        (other, None) => vec![other.clone()],
        (other, Some(sub)) => sub_of(other, sub).into_iter().collect(),
    }
}

/// The value at `path` in a resource an app returned, comparable with hrsync's desired
/// value: the manager as its id, `active` as a boolean, `emails.value` as the primary (or
/// first) email, `emails[type eq "work"].value` as the work email (type compared
/// case-insensitively). `None` when the app does not hold the attribute.
pub fn extract(resource: &Value, path: &AttrPath) -> Option<Value> {
    let v = attr_value(resource, path)?;
    match (v, path.filter(), path.sub()) {
        (Value::Null, _, _) => None,
        (_, None, None) if path.is_manager() => manager_id(v),
        (_, None, None) if path.is_active() => Some(coerce_bool(v)),
        (_, None, None) => Some(v.clone()),
        (Value::Array(entries), None, Some(sub)) => entries
            .iter()
            .find(|e| is_primary(e))
            .or_else(|| entries.first())
            .and_then(|e| sub_of(e, sub)),
        _ => values_at(resource, path).into_iter().next(),
    }
}

/// Builds the full SCIM User from hrsync's flat `path → value` map: nested objects,
/// multi-valued entries carrying their `type`, `active` as a boolean, the manager as `{"value": id}`, and `schemas` listing the
/// core schema and every extension used. Null values are left out.
pub fn build_user(attrs: &BTreeMap<String, Value>) -> Result<Value, PathError> {
    let mut schemas = vec![Value::String(USER_SCHEMA.to_string())];
    let mut body = Map::new();
    for (text, v) in attrs {
        if v.is_null() {
            continue;
        }
        let path = AttrPath::parse(text)?;
        if let Some(s) = path.schema() {
            let known = schemas
                .iter()
                .any(|x| x.as_str().is_some_and(|x| x.eq_ignore_ascii_case(s)));
            if !known {
                schemas.push(Value::String(s.to_string()));
            }
        }
        set_at(&mut body, &path, wire_value(&path, v)).map_err(|reason| PathError {
            path: text.clone(),
            reason,
        })?;
    }
    // No `primary` of hrsync's own: some apps refuse sub-attributes the mapping did not
    // produce. Apps that need one get it from their profile (`adapt_user`).
    let mut out = Map::new();
    out.insert("schemas".into(), Value::Array(schemas));
    out.extend(body);
    Ok(Value::Object(out))
}

/// Gives the work email (or the first) `primary: true` when no email is primary yet.
pub(crate) fn mark_primary_email(root: &mut Map<String, Value>) {
    let key = key_ci(root, "emails");
    let Some(Value::Array(entries)) = root.get_mut(&key) else {
        return;
    };
    if entries.is_empty() || entries.iter().any(is_primary) {
        return;
    }
    let work = entries.iter().position(|e| {
        e.as_object()
            .and_then(|o| get_ci(o, "type"))
            .and_then(Value::as_str)
            .is_some_and(|t| t.eq_ignore_ascii_case("work"))
    });
    if let Some(Value::Object(o)) = entries.get_mut(work.unwrap_or(0)) {
        o.insert("primary".into(), Value::Bool(true));
    }
}

/// The object holding the path's attribute (the root, or the extension's object).
fn container_mut<'a>(
    root: &'a mut Map<String, Value>,
    path: &AttrPath,
    create: bool,
) -> Result<Option<&'a mut Map<String, Value>>, String> {
    let Some(schema) = path.schema() else {
        return Ok(Some(root));
    };
    let key = key_ci(root, schema);
    if !root.contains_key(&key) {
        if !create {
            return Ok(None);
        }
        root.insert(key.clone(), Value::Object(Map::new()));
    }
    match root.get_mut(&key) {
        Some(Value::Object(o)) => Ok(Some(o)),
        _ => Err(format!("{schema} is not an object")),
    }
}

/// Sets the value at a path, creating objects and multi-valued entries as needed.
pub(crate) fn set_at(
    root: &mut Map<String, Value>,
    path: &AttrPath,
    value: Value,
) -> Result<(), String> {
    let Some(target) = container_mut(root, path, true)? else {
        return Ok(());
    };
    let key = key_ci(target, path.attr());
    match (path.filter(), path.sub()) {
        (None, None) => {
            target.insert(key, value);
            Ok(())
        }
        (None, Some(sub)) if !path.is_multi_valued() => {
            let slot = target
                .entry(key)
                .or_insert_with(|| Value::Object(Map::new()));
            let Value::Object(o) = slot else {
                return Err(format!("{} is not an object", path.attr()));
            };
            let sk = key_ci(o, sub);
            o.insert(sk, value);
            Ok(())
        }
        (_, sub) => {
            let slot = target
                .entry(key)
                .or_insert_with(|| Value::Array(Vec::new()));
            let Value::Array(entries) = slot else {
                return Err(format!("{} is not multi-valued here", path.attr()));
            };
            let entry = entry_for(entries, path)?;
            set_in_entry(entry, sub, value)
        }
    }
}

/// The entry of a multi-valued attribute a write goes to: the one the filter selects, or
/// without a filter the primary (or first) one; a fresh entry carrying the filter's
/// selector when there is none.
fn entry_for<'a>(
    entries: &'a mut Vec<Value>,
    path: &AttrPath,
) -> Result<&'a mut Map<String, Value>, String> {
    let filter = path.filter();
    let found = match filter {
        Some(f) => entries.iter().position(|e| f.selects(e)),
        None => entries
            .iter()
            .position(is_primary)
            .or(if entries.is_empty() { None } else { Some(0) }),
    };
    let idx = match found {
        Some(i) => i,
        None => {
            let mut fresh = Map::new();
            if let Some(f) = filter {
                fresh.insert(f.attr.clone(), f.value.clone());
            }
            entries.push(Value::Object(fresh));
            entries.len() - 1
        }
    };
    match entries.get_mut(idx) {
        Some(Value::Object(entry)) => Ok(entry),
        _ => Err(format!("{} entries are not objects", path.attr())),
    }
}

/// Writes a sub-attribute of an entry, or merges a whole object into it.
fn set_in_entry(
    entry: &mut Map<String, Value>,
    sub: Option<&str>,
    value: Value,
) -> Result<(), String> {
    match (sub, value) {
        (Some(sub), value) => {
            let sk = key_ci(entry, sub);
            entry.insert(sk, value);
        }
        (None, Value::Object(fields)) => entry.extend(fields),
        (None, _) => return Err("a selected entry can only be set to an object".into()),
    }
    Ok(())
}

/// Removes the value at a path; removing what is not there is not an error.
pub(crate) fn remove_at(root: &mut Map<String, Value>, path: &AttrPath) {
    let Ok(Some(target)) = container_mut(root, path, false) else {
        return;
    };
    let key = key_ci(target, path.attr());
    match (path.filter(), path.sub()) {
        (None, None) => {
            target.remove(&key);
        }
        (filter, sub) => {
            let Some(slot) = target.get_mut(&key) else {
                return;
            };
            match slot {
                Value::Object(o) => {
                    if let Some(sub) = sub {
                        let sk = key_ci(o, sub);
                        o.remove(&sk);
                    }
                }
                Value::Array(entries) => {
                    let filter_attr = filter.map(|f| f.attr.clone());
                    entries.retain_mut(|e| {
                        let chosen = filter.is_none_or(|f| f.selects(e));
                        if !chosen {
                            return true;
                        }
                        let (Some(sub), Value::Object(o)) = (sub, &mut *e) else {
                            return false;
                        };
                        let sk = key_ci(o, sub);
                        o.remove(&sk);
                        // An entry left with nothing but its selector and flags is gone.
                        o.keys().any(|k| {
                            !k.eq_ignore_ascii_case("primary")
                                && !filter_attr
                                    .as_deref()
                                    .is_some_and(|a| k.eq_ignore_ascii_case(a))
                        })
                    });
                    if entries.is_empty() {
                        target.remove(&key);
                    }
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
#[path = "resource_tests.rs"]
mod tests;
