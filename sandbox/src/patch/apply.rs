//! Applying one resolved PATCH operation to a stored body: whole attributes, sub-attributes
//! and value-filtered elements, with RFC 7643 primary handling and tidy unassignment.

use serde_json::{json, Map, Value};

use super::super::error::ScimError;
use super::super::eval::{Node, Target};
use super::super::filter::{CompValue, CompareOp, ParseOptions};
use super::super::resource::{coerce, coerce_single};
use super::super::schema::{AttrDef, AttrType, Kind};
use super::path::{parse_path, PathTarget};
use super::OpKind;

fn container<'a>(
    res: &'a mut Map<String, Value>,
    ext: Option<&str>,
) -> Result<&'a mut Map<String, Value>, ScimError> {
    match ext {
        None => Ok(res),
        Some(e) => res
            .entry(e.to_string())
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .ok_or_else(|| ScimError::internal(format!("stored {e} is not an object"))),
    }
}

fn tidy(res: &mut Map<String, Value>, ext: Option<&str>, attr: &str) {
    let c = match ext {
        None => Some(&mut *res),
        Some(e) => res.get_mut(e).and_then(Value::as_object_mut),
    };
    if let Some(c) = c {
        let empty = match c.get(attr) {
            Some(Value::Array(a)) => a.is_empty(),
            Some(Value::Object(o)) => o.is_empty(),
            Some(Value::Null) => true,
            _ => false,
        };
        if empty {
            c.remove(attr);
        }
    }
    if let Some(e) = ext {
        if res
            .get(e)
            .and_then(Value::as_object)
            .is_some_and(Map::is_empty)
        {
            res.remove(e);
        }
    }
}

fn same_element(a: &Value, b: &Value) -> bool {
    match (a.get("value"), b.get("value")) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// When an incoming element is primary, RFC 7643 §2.4 lets only it stay primary.
fn clear_other_primaries(items: &mut [Value], keep: &dyn Fn(usize) -> bool) {
    for (i, it) in items.iter_mut().enumerate() {
        if !keep(i) {
            if let Some(o) = it.as_object_mut() {
                if o.get("primary") == Some(&json!(true)) {
                    o.insert("primary".into(), json!(false));
                }
            }
        }
    }
}

fn is_primary(v: &Value) -> bool {
    v.get("primary") == Some(&json!(true))
}

pub(super) fn apply_path(
    kind: Kind,
    res: &mut Map<String, Value>,
    op: OpKind,
    target: &PathTarget,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    let (t, filter, sub_after) = match target {
        PathTarget::Extension(ext) => {
            if op == OpKind::Remove {
                res.remove(ext.id);
                return Ok(());
            }
            let Some(Value::Object(obj)) = value else {
                return Err(ScimError::invalid_value(format!(
                    "{} needs an object",
                    ext.id
                )));
            };
            for (k, v) in obj {
                let full = format!("{}:{k}", ext.id);
                let t = parse_path(kind, &full, ParseOptions::default())?;
                apply_path(kind, res, op, &t, Some(v))?;
            }
            return Ok(());
        }
        PathTarget::Attr {
            t,
            filter,
            sub_after,
        } => (t, filter, sub_after),
    };
    if op == OpKind::Remove && t.sub.is_none() && filter.is_none() && t.parent.required {
        return Err(ScimError::mutability(format!(
            "{} is required and cannot be removed",
            t.attr
        )));
    }
    let ext = t.ext;
    let c = container(res, ext)?;
    let result = match (filter, t.sub) {
        (Some(f), _) => apply_filtered(c, op, t, f, *sub_after, value),
        (None, Some(sub)) => apply_sub(c, op, t, sub, value),
        (None, None) => apply_whole(c, op, t.parent, value),
    };
    tidy(res, ext, t.attr);
    result
}

fn apply_whole(
    c: &mut Map<String, Value>,
    op: OpKind,
    def: &'static AttrDef,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    match op {
        OpKind::Remove => {
            remove_whole(c, def, value);
            Ok(())
        }
        OpKind::Add | OpKind::Replace => set_whole(c, op, def, value),
    }
}

/// `remove` of an attribute, or of the listed values of a multi-valued one.
fn remove_whole(c: &mut Map<String, Value>, def: &'static AttrDef, value: Option<&Value>) {
    let name = def.name;
    match (value, def.multi) {
        // Entra removes members by listing them in `value` instead of a filter.
        (Some(v), true) => {
            let gone: Vec<Value> = match v {
                Value::Array(a) => a.clone(),
                other => vec![other.clone()],
            };
            if let Some(Value::Array(items)) = c.get_mut(name) {
                items.retain(|i| !gone.iter().any(|g| same_element(i, g)));
            }
        }
        _ => {
            c.remove(name);
        }
    }
}

/// `add` or `replace` of a whole attribute.
fn set_whole(
    c: &mut Map<String, Value>,
    op: OpKind,
    def: &'static AttrDef,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    let name = def.name;
    let coerced = coerce(def, value.unwrap_or(&Value::Null))?;
    match (coerced, def.multi, def.ty) {
        (None, _, _) if op == OpKind::Replace => {
            c.remove(name);
        }
        (None, _, _) => {}
        (Some(Value::Array(new)), true, _) if op == OpKind::Add => add_values(c, name, new)?,
        (Some(Value::Object(new)), false, AttrType::Complex) => {
            // RFC 7644 §3.5.2.3: sub-attributes not given are left unchanged.
            match c.get_mut(name) {
                Some(Value::Object(old)) => old.extend(new),
                _ => {
                    c.insert(name.to_string(), Value::Object(new));
                }
            }
        }
        (Some(v), _, _) => {
            c.insert(name.to_string(), v);
        }
    }
    Ok(())
}

/// `add` to a multi-valued attribute: an equal element is merged, others appended, and a
/// new primary takes over from the old ones.
fn add_values(c: &mut Map<String, Value>, name: &str, new: Vec<Value>) -> Result<(), ScimError> {
    let items = c.entry(name).or_insert_with(|| json!([]));
    let Value::Array(items) = items else {
        return Err(ScimError::internal(format!(
            "stored {name} is not an array"
        )));
    };
    let before = items.len();
    for n in new {
        match items.iter_mut().position(|i| same_element(i, &n)) {
            Some(pos) => {
                if let (Some(old), Value::Object(nm)) = (items[pos].as_object_mut(), n) {
                    old.extend(nm);
                }
            }
            None => items.push(n),
        }
    }
    let fresh_primary = items[before..].iter().any(is_primary);
    if fresh_primary {
        clear_other_primaries(items, &|i| i >= before);
    }
    Ok(())
}

fn apply_sub(
    c: &mut Map<String, Value>,
    op: OpKind,
    t: &Target,
    sub: &str,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    let coerced = match op {
        OpKind::Remove => None,
        _ => coerce_single(t.def, value.unwrap_or(&Value::Null))?,
    };
    let set = |o: &mut Map<String, Value>| match &coerced {
        Some(v) => {
            o.insert(sub.to_string(), v.clone());
        }
        None => {
            o.remove(sub);
        }
    };
    match c.get_mut(t.attr) {
        Some(Value::Array(items)) if !items.is_empty() => {
            items
                .iter_mut()
                .filter_map(Value::as_object_mut)
                .for_each(set);
        }
        Some(Value::Object(o)) => set(o),
        _ => {
            if let Some(v) = coerced {
                let mut o = Map::new();
                o.insert(sub.to_string(), v);
                let v = if t.parent.multi {
                    json!([o])
                } else {
                    Value::Object(o)
                };
                c.insert(t.attr.to_string(), v);
            }
        }
    }
    Ok(())
}

/// The element a filter like `type eq "work"` describes, for creating it when absent.
fn seed_from_filter(f: &Node, out: &mut Map<String, Value>) -> bool {
    match f {
        Node::Cmp(t, CompareOp::Eq, v) => {
            let v = match v {
                CompValue::Str(s) => json!(s),
                CompValue::Bool(b) => json!(b),
                CompValue::Num(n) => json!(n),
                CompValue::Null => return false,
            };
            out.insert(t.attr.to_string(), v);
            true
        }
        Node::And(a, b) => seed_from_filter(a, out) && seed_from_filter(b, out),
        _ => false,
    }
}

fn apply_filtered(
    c: &mut Map<String, Value>,
    op: OpKind,
    t: &Target,
    f: &Node,
    sub_after: Option<&'static AttrDef>,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    let items = c.entry(t.attr).or_insert_with(|| json!([]));
    let Value::Array(items) = items else {
        return Err(ScimError::internal(format!(
            "stored {} is not an array",
            t.attr
        )));
    };
    let hits: Vec<usize> = (0..items.len()).filter(|&i| f.matches(&items[i])).collect();
    if op == OpKind::Remove {
        remove_hits(items, &hits, sub_after);
        return Ok(());
    }
    let v = value.unwrap_or(&Value::Null);
    let new_value = match sub_after {
        Some(sd) => coerce_single(sd, v)?,
        None => coerce_single(t.parent, v)?,
    };
    if hits.is_empty() {
        if op == OpKind::Replace && !items.is_empty() {
            return Err(no_match(t));
        }
        return add_seeded(items, t, f, sub_after, new_value);
    }
    set_hits(items, &hits, op, sub_after, &new_value);
    Ok(())
}

fn no_match(t: &Target) -> ScimError {
    ScimError::no_target(format!("no value of {} matches the filter", t.attr))
}

/// `remove` of the matching elements, or of their sub-attribute.
fn remove_hits(items: &mut Vec<Value>, hits: &[usize], sub_after: Option<&'static AttrDef>) {
    match sub_after {
        Some(sd) => hits.iter().for_each(|&i| {
            if let Some(o) = items[i].as_object_mut() {
                o.remove(sd.name);
            }
        }),
        None => {
            let mut i = 0;
            items.retain(|_| {
                i += 1;
                !hits.contains(&(i - 1))
            });
        }
    }
}

/// No element matches: the one the filter describes is created with the value.
fn add_seeded(
    items: &mut Vec<Value>,
    t: &Target,
    f: &Node,
    sub_after: Option<&'static AttrDef>,
    new_value: Option<Value>,
) -> Result<(), ScimError> {
    let mut seed = Map::new();
    if !seed_from_filter(f, &mut seed) {
        return Err(no_match(t));
    }
    match (sub_after, new_value) {
        (Some(sd), Some(nv)) => {
            seed.insert(sd.name.to_string(), nv);
        }
        (None, Some(Value::Object(m))) => seed.extend(m),
        _ => return Ok(()),
    }
    let elem = coerce_single(t.parent, &Value::Object(seed))?.unwrap_or_else(|| json!({}));
    let primary = is_primary(&elem);
    items.push(elem);
    if primary {
        let last = items.len() - 1;
        clear_other_primaries(items, &|i| i == last);
    }
    Ok(())
}

/// `add` or `replace` on the matching elements (or their sub-attribute); a primary among
/// them takes over from the others.
fn set_hits(
    items: &mut [Value],
    hits: &[usize],
    op: OpKind,
    sub_after: Option<&'static AttrDef>,
    new_value: &Option<Value>,
) {
    for &i in hits {
        let Some(o) = items[i].as_object_mut() else {
            continue;
        };
        match (sub_after, new_value) {
            (Some(sd), Some(nv)) => {
                o.insert(sd.name.to_string(), nv.clone());
            }
            (Some(sd), None) => {
                o.remove(sd.name);
            }
            (None, Some(Value::Object(m))) if op == OpKind::Add => o.extend(m.clone()),
            (None, Some(nv)) => items[i] = nv.clone(),
            (None, None) => {}
        }
    }
    if hits.iter().any(|&i| is_primary(&items[i])) {
        clear_other_primaries(items, &|i| hits.contains(&i));
    }
}
