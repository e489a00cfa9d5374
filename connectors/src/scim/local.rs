//! Building a PUT body for apps that do not take PATCH: the current resource as the app
//! returned it, with the desired attributes merged in and hrsync's PATCH operations applied
//! locally, so attributes hrsync does not manage survive the replacement.

use serde_json::{Map, Value};

use super::patch::{PatchKind, PatchOp};
use super::path::AttrPath;
use super::resource::{remove_at, set_at};
use super::value::{get_ci, key_ci};

/// Read-only attributes a PUT should not carry (RFC 7643 §3.1, §4.1.2).
const READ_ONLY: &[&str] = &["meta", "groups"];

/// The body of a PUT replacing `current` with `desired` merged in and `ops` applied.
pub(crate) fn merge_for_put(current: &Value, desired: &Value, ops: &[PatchOp]) -> Value {
    let mut out = match current {
        Value::Object(o) => o.clone(),
        _ => Map::new(),
    };
    out.retain(|k, _| !READ_ONLY.iter().any(|r| r.eq_ignore_ascii_case(k)));
    if let Value::Object(d) = desired {
        deep_merge(&mut out, d);
    }
    for op in ops {
        apply_local(&mut out, op);
    }
    Value::Object(out)
}

/// Merges `src` into `dst`: objects recursively, typed multi-valued entries by `type`,
/// `schemas` as a union, anything else replaced.
fn deep_merge(dst: &mut Map<String, Value>, src: &Map<String, Value>) {
    for (k, v) in src {
        let key = key_ci(dst, k);
        if key == "schemas" {
            union_schemas(dst, v);
            continue;
        }
        match (dst.get_mut(&key), v) {
            (Some(Value::Object(d)), Value::Object(s)) => deep_merge(d, s),
            (Some(Value::Array(d)), Value::Array(s)) if s.iter().all(has_type) => merge_typed(d, s),
            _ => {
                dst.insert(key, v.clone());
            }
        }
    }
}

fn union_schemas(dst: &mut Map<String, Value>, v: &Value) {
    let slot = dst
        .entry("schemas")
        .or_insert_with(|| Value::Array(Vec::new()));
    if let (Value::Array(have), Value::Array(add)) = (slot, v) {
        for s in add {
            let known = have.iter().any(|h| match (h.as_str(), s.as_str()) {
                (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
                _ => h == s,
            });
            if !known {
                have.push(s.clone());
            }
        }
    }
}

fn has_type(v: &Value) -> bool {
    v.as_object()
        .and_then(|o| get_ci(o, "type"))
        .is_some_and(Value::is_string)
}

fn type_of(v: &Value) -> Option<String> {
    v.as_object()
        .and_then(|o| get_ci(o, "type"))
        .and_then(Value::as_str)
        .map(str::to_lowercase)
}

fn is_primary(v: &Value) -> bool {
    v.as_object()
        .and_then(|o| get_ci(o, "primary"))
        .is_some_and(|p| p == &Value::Bool(true))
}

/// Entries of the same `type` are updated in place; new types are appended; a new primary
/// takes the flag from the others (only one entry may be primary).
fn merge_typed(dst: &mut Vec<Value>, src: &[Value]) {
    if src.iter().any(is_primary) {
        for e in dst.iter_mut() {
            if let Value::Object(o) = e {
                let k = key_ci(o, "primary");
                o.remove(&k);
            }
        }
    }
    for s in src {
        let t = type_of(s);
        match dst.iter_mut().find(|d| type_of(d) == t) {
            Some(Value::Object(d)) => {
                if let Value::Object(so) = s {
                    deep_merge(d, so);
                }
            }
            _ => dst.push(s.clone()),
        }
    }
}

/// Applies one of hrsync's own PATCH operations to a resource held locally.
fn apply_local(root: &mut Map<String, Value>, op: &PatchOp) {
    let Some(path_text) = op.path.as_deref() else {
        if let Some(Value::Object(v)) = &op.value {
            deep_merge(root, v);
        }
        return;
    };
    let Ok(path) = AttrPath::parse_target(path_text) else {
        tracing::warn!(
            path = path_text,
            "PATCH path not understood locally; left out of the PUT."
        );
        return;
    };
    match (op.op, op.value.clone()) {
        (PatchKind::Remove, _) | (_, None) | (_, Some(Value::Null)) => remove_at(root, &path),
        (PatchKind::Add, Some(Value::Array(add)))
            if path.filter().is_none() && path.sub().is_none() && path.is_multi_valued() =>
        {
            let key = key_ci(root, path.attr());
            match root.get_mut(&key) {
                Some(Value::Array(have)) if add.iter().all(has_type) => merge_typed(have, &add),
                Some(Value::Array(have)) => {
                    for a in add {
                        if !have.contains(&a) {
                            have.push(a);
                        }
                    }
                }
                _ => {
                    root.insert(key, Value::Array(add));
                }
            }
        }
        (_, Some(v)) => {
            if let Err(reason) = set_at(root, &path, v) {
                tracing::warn!(path = path_text, reason, "PATCH value not applied locally.");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn put_body_keeps_unmanaged_attributes_and_applies_changes() {
        let current = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "id": "u1", "userName": "ana", "title": "Eng", "nickName": "Ani",
            "meta": {"version": "W/\"1\""},
            "groups": [{"value": "g1"}],
            "name": {"givenName": "Ana", "middleName": "M"},
            "emails": [{"type": "home", "value": "h@x"}, {"type": "work", "value": "old@x", "primary": true}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"costCenter": "42", "department": "Sales"}
        });
        let desired = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            "userName": "ana",
            "name": {"givenName": "Anna"},
            "emails": [{"type": "work", "value": "new@x", "primary": true}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Eng"}
        });
        let ops = vec![
            PatchOp::replace("name.givenName", json!("Anna")),
            PatchOp::remove("title"),
            PatchOp::replace("active", json!(false)),
        ];
        let body = merge_for_put(&current, &desired, &ops);
        assert_eq!(
            body,
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
                "id": "u1", "userName": "ana", "nickName": "Ani",
                "name": {"givenName": "Anna", "middleName": "M"},
                "emails": [{"type": "home", "value": "h@x"}, {"type": "work", "value": "new@x", "primary": true}],
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"costCenter": "42", "department": "Eng"},
                "active": false
            })
        );
    }

    #[test]
    fn local_add_to_multi_valued_merges_by_type() {
        let mut root = json!({"emails": [{"type": "work", "value": "a@x"}]})
            .as_object()
            .cloned()
            .unwrap_or_default();
        apply_local(
            &mut root,
            &PatchOp::add(Some("emails"), json!([{"type": "home", "value": "h@x"}])),
        );
        apply_local(
            &mut root,
            &PatchOp::replace("emails[type eq \"work\"].value", json!("b@x")),
        );
        apply_local(&mut root, &PatchOp::add(None, json!({"title": "T"})));
        assert_eq!(
            Value::Object(root),
            json!({"emails": [{"type": "work", "value": "b@x"}, {"type": "home", "value": "h@x"}], "title": "T"})
        );
    }
}
