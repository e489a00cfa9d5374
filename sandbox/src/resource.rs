//! Resource shapes: incoming JSON coerced to the schema (canonical attribute names, types,
//! Entra's string booleans), validation, rendering with `meta`, and `attributes` /
//! `excludedAttributes` projection.

use serde_json::{json, Map, Value};

use super::error::ScimError;
use super::eval::{resolve, Target};
use super::filter::parse_attr_path;
use super::schema::{find, AttrDef, AttrType, Kind, Mutability, SchemaDef};

/// Server-kept facts of a stored resource, rendered into `id` and `meta`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    /// The resource id.
    pub id: String,
    /// Version counter; the weak ETag is `W/"<version>"`.
    pub version: i64,
    /// RFC 3339 creation time.
    pub created: String,
    /// RFC 3339 time of the last change.
    pub modified: String,
}

impl Meta {
    /// The weak ETag of this version.
    pub fn etag(&self) -> String {
        format!("W/\"{}\"", self.version)
    }
}

/// Coerces one value (one element, for a multi-valued attribute) to the attribute's type;
/// `None` means unassigned.
pub fn coerce_single(def: &'static AttrDef, v: &Value) -> Result<Option<Value>, ScimError> {
    let bad = || {
        ScimError::invalid_value(format!(
            "{} must be a {:?} value, got {}",
            def.name,
            def.ty,
            short(v)
        ))
    };
    Ok(match (def.ty, v) {
        (_, Value::Null) => None,
        (AttrType::Complex, Value::Object(m)) => {
            let mut out = Map::new();
            for (k, x) in m {
                let Some(sd) = def.sub_attr(k) else { continue };
                if let Some(c) = coerce_single(sd, x)? {
                    out.insert(sd.name.to_string(), c);
                }
            }
            (!out.is_empty()).then_some(Value::Object(out))
        }
        // Entra sends the manager (and some clients members) as a bare id.
        (AttrType::Complex, Value::String(s)) if def.sub_attr("value").is_some() => {
            (!s.is_empty()).then(|| json!({ "value": s }))
        }
        (AttrType::Bool, Value::Bool(b)) => Some(Value::Bool(*b)),
        (AttrType::Bool, Value::String(s)) if s.eq_ignore_ascii_case("true") => Some(json!(true)),
        (AttrType::Bool, Value::String(s)) if s.eq_ignore_ascii_case("false") => Some(json!(false)),
        (AttrType::Integer, Value::Number(n)) if n.is_i64() || n.is_u64() => Some(v.clone()),
        (AttrType::Decimal, Value::Number(_)) => Some(v.clone()),
        (AttrType::DateTime, Value::String(s)) => {
            chrono::DateTime::parse_from_rfc3339(s).map_err(|_| bad())?;
            Some(v.clone())
        }
        (AttrType::Str | AttrType::Reference | AttrType::Binary, Value::String(_)) => {
            Some(v.clone())
        }
        _ => return Err(bad()),
    })
}

/// Coerces a whole attribute value: a multi-valued attribute takes an array (a lone value is
/// wrapped); an empty result means unassigned.
pub fn coerce(def: &'static AttrDef, v: &Value) -> Result<Option<Value>, ScimError> {
    if !def.multi {
        return coerce_single(def, v);
    }
    let items: Vec<&Value> = match v {
        Value::Null => Vec::new(),
        Value::Array(a) => a.iter().collect(),
        other => vec![other],
    };
    let mut out = Vec::new();
    for i in items {
        if let Some(c) = coerce_single(def, i)? {
            out.push(c);
        }
    }
    Ok((!out.is_empty()).then_some(Value::Array(out)))
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 60 {
        format!("{}…", s.chars().take(60).collect::<String>())
    } else {
        s
    }
}

fn schemas_list(body: &Map<String, Value>) -> Vec<String> {
    match body.get("schemas") {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|s| s.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// Turns a client's POST/PUT body into the stored shape: canonical names, coerced values;
/// read-only, write-only and unknown attributes are dropped, as RFC 7644 §3.3 allows.
pub fn normalize(kind: Kind, body: &Value) -> Result<Map<String, Value>, ScimError> {
    let Some(obj) = body.as_object() else {
        return Err(ScimError::invalid_syntax("the body must be a JSON object"));
    };
    check_schemas(kind, obj)?;
    let mut out = Map::new();
    for (k, v) in obj {
        if ["schemas", "id", "meta"]
            .iter()
            .any(|r| r.eq_ignore_ascii_case(k))
        {
            continue;
        }
        if k.eq_ignore_ascii_case("externalId") {
            match v {
                Value::String(s) if !s.is_empty() => {
                    out.insert("externalId".into(), v.clone());
                }
                Value::Null | Value::String(_) => {}
                _ => return Err(ScimError::invalid_value("externalId must be a string")),
            }
            continue;
        }
        if let Some(ext) = kind
            .extensions()
            .iter()
            .find(|e| e.id.eq_ignore_ascii_case(k))
        {
            let m = normalize_extension(ext, v)?;
            if !m.is_empty() {
                out.insert(ext.id.to_string(), Value::Object(m));
            }
            continue;
        }
        let Some(def) = find(kind.core().attrs, k) else {
            continue;
        };
        if matches!(def.mutability, Mutability::ReadOnly | Mutability::WriteOnly) {
            continue;
        }
        if let Some(c) = coerce(def, v)? {
            out.insert(def.name.to_string(), c);
        }
    }
    if kind == Kind::User && !out.contains_key("active") {
        out.insert("active".into(), json!(true));
    }
    Ok(out)
}

/// The body's `schemas` must list the kind's core schema.
fn check_schemas(kind: Kind, obj: &Map<String, Value>) -> Result<(), ScimError> {
    let listed = schemas_list(obj)
        .iter()
        .any(|s| s.eq_ignore_ascii_case(kind.core().id));
    if !listed {
        return Err(ScimError::invalid_syntax(format!(
            "schemas must list {}",
            kind.core().id
        )));
    }
    Ok(())
}

/// An extension object with its known attributes coerced and the rest dropped.
fn normalize_extension(ext: &SchemaDef, v: &Value) -> Result<Map<String, Value>, ScimError> {
    let Some(inner) = v.as_object() else {
        return Err(ScimError::invalid_syntax(format!(
            "{} must be an object",
            ext.id
        )));
    };
    let mut m = Map::new();
    for (k2, v2) in inner {
        if let Some(def) = find(ext.attrs, k2) {
            if let Some(c) = coerce(def, v2)? {
                m.insert(def.name.to_string(), c);
            }
        }
    }
    Ok(m)
}

/// Checks the invariants every stored resource keeps (required attributes, one primary).
pub fn validate(kind: Kind, body: &Map<String, Value>) -> Result<(), ScimError> {
    for def in kind.core().attrs.iter().filter(|d| d.required) {
        if body
            .get(def.name)
            .and_then(Value::as_str)
            .is_none_or(|s| s.trim().is_empty())
        {
            return Err(ScimError::invalid_value(format!(
                "{} is required",
                def.name
            )));
        }
    }
    for def in kind.core().attrs.iter().filter(|d| d.multi) {
        if let Some(Value::Array(items)) = body.get(def.name) {
            let primaries = items.iter().filter(|i| i["primary"] == json!(true)).count();
            if primaries > 1 {
                return Err(ScimError::invalid_value(format!(
                    "at most one of {} may be primary",
                    def.name
                )));
            }
        }
    }
    Ok(())
}

/// The full representation of a stored resource as clients see it.
pub fn render(
    kind: Kind,
    meta: &Meta,
    body: &Map<String, Value>,
    base: &str,
    groups: Option<Vec<Value>>,
) -> Value {
    let mut schemas = vec![json!(kind.core().id)];
    for e in kind.extensions() {
        if body.contains_key(e.id) {
            schemas.push(json!(e.id));
        }
    }
    let mut out = Map::new();
    out.insert("schemas".into(), Value::Array(schemas));
    out.insert("id".into(), json!(meta.id));
    if let Some(x) = body.get("externalId") {
        out.insert("externalId".into(), x.clone());
    }
    for (k, v) in body {
        if k == "externalId" {
            continue;
        }
        if k == "members" {
            out.insert(k.clone(), with_refs(v, base));
        } else {
            out.insert(k.clone(), v.clone());
        }
    }
    if let Some(g) = groups.filter(|g| !g.is_empty()) {
        out.insert("groups".into(), Value::Array(g));
    }
    out.insert(
        "meta".into(),
        json!({
            "resourceType": kind.name(),
            "created": meta.created,
            "lastModified": meta.modified,
            "location": format!("{base}/{}/{}", kind.endpoint(), meta.id),
            "version": meta.etag(),
        }),
    );
    Value::Object(out)
}

fn with_refs(members: &Value, base: &str) -> Value {
    let Value::Array(items) = members else {
        return members.clone();
    };
    Value::Array(
        items
            .iter()
            .map(|m| {
                let mut m = m.clone();
                if let Some(obj) = m.as_object_mut() {
                    let ty = obj.get("type").and_then(Value::as_str).unwrap_or("User");
                    let ep = if ty == "Group" { "Groups" } else { "Users" };
                    if let Some(id) = obj.get("value").and_then(Value::as_str) {
                        let r = format!("{base}/{ep}/{id}");
                        obj.insert("$ref".into(), json!(r));
                    }
                }
                m
            })
            .collect(),
    )
}

/// Parses a comma-separated `attributes`/`excludedAttributes` parameter.
pub fn parse_attr_list(param: Option<&str>) -> Result<Vec<String>, ScimError> {
    let Some(p) = param else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for part in p.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        parse_attr_path(part).map_err(ScimError::invalid_value)?;
        out.push(part.to_string());
    }
    Ok(out)
}

/// Applies `attributes` (keep only these, plus `id` and `schemas`) or `excludedAttributes`.
pub fn project(kind: Kind, res: Value, attributes: &[String], excluded: &[String]) -> Value {
    let Value::Object(mut src) = res else {
        return res;
    };
    if !attributes.is_empty() {
        return Value::Object(keep_only(&src, &targets(kind, attributes)));
    }
    drop_excluded(&mut src, &targets(kind, excluded));
    Value::Object(src)
}

/// The attribute paths of a list that resolve against the kind's schemas.
fn targets(kind: Kind, list: &[String]) -> Vec<Target> {
    list.iter()
        .filter_map(|p| parse_attr_path(p).ok())
        .filter_map(|p| resolve(kind, &p).ok())
        .collect()
}

/// `attributes`: only these (with `schemas` and `id`).
fn keep_only(src: &Map<String, Value>, targets: &[Target]) -> Map<String, Value> {
    let mut out = Map::new();
    for k in ["schemas", "id"] {
        if let Some(v) = src.get(k) {
            out.insert(k.into(), v.clone());
        }
    }
    for t in targets {
        let from = match t.ext {
            Some(e) => src.get(e).and_then(|x| x.get(t.attr)),
            None => src.get(t.attr),
        };
        let Some(v) = from else { continue };
        let picked = match t.sub {
            None => v.clone(),
            Some(s) => pick_sub(v, s),
        };
        let dest = match t.ext {
            Some(e) => match out.entry(e).or_insert_with(|| json!({})).as_object_mut() {
                Some(m) => m,
                None => continue,
            },
            None => &mut out,
        };
        merge_into(dest, t.attr, picked);
    }
    out
}

/// `excludedAttributes`: all but these (`id` always stays).
fn drop_excluded(src: &mut Map<String, Value>, targets: &[Target]) {
    for t in targets {
        if t.attr == "id" && t.ext.is_none() {
            continue;
        }
        let container = match t.ext {
            Some(e) => src.get_mut(e).and_then(Value::as_object_mut),
            None => Some(&mut *src),
        };
        let Some(c) = container else { continue };
        match t.sub {
            None => {
                c.remove(t.attr);
            }
            Some(s) => match c.get_mut(t.attr) {
                Some(Value::Object(o)) => {
                    o.remove(s);
                }
                Some(Value::Array(items)) => {
                    for i in items.iter_mut().filter_map(Value::as_object_mut) {
                        i.remove(s);
                    }
                }
                _ => {}
            },
        }
    }
}

fn pick_sub(v: &Value, sub: &str) -> Value {
    let one = |x: &Value| {
        let mut m = Map::new();
        if let Some(s) = x.get(sub) {
            m.insert(sub.to_string(), s.clone());
        }
        Value::Object(m)
    };
    match v {
        Value::Array(items) => Value::Array(items.iter().map(one).collect()),
        other => one(other),
    }
}

fn merge_into(dest: &mut Map<String, Value>, key: &str, v: Value) {
    match (dest.get_mut(key), v) {
        (Some(Value::Object(a)), Value::Object(b)) => a.extend(b),
        (Some(Value::Array(a)), Value::Array(b)) => {
            for (x, y) in a.iter_mut().zip(b) {
                if let (Some(xo), Value::Object(yo)) = (x.as_object_mut(), y) {
                    xo.extend(yo);
                }
            }
        }
        (_, v) => {
            dest.insert(key.to_string(), v);
        }
    }
}
