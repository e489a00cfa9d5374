//! SCIM PATCH (RFC 7644 §3.5.2): operations, the request body, operations computed from
//! attribute changes, and group member add/remove operations in bounded batches.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::path::{AttrPath, PathError};
use super::resource::wire_value;
use super::value::escape_string;
use super::PATCH_OP_SCHEMA;

/// The PATCH operation kind; rendered lowercase as the RFC writes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PatchKind {
    /// `add`: set, or append to a multi-valued attribute.
    Add,
    /// `replace`: set, replacing what is there.
    Replace,
    /// `remove`: delete the target (a path is required).
    Remove,
}

impl PatchKind {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            PatchKind::Add => "add",
            PatchKind::Replace => "replace",
            PatchKind::Remove => "remove",
        }
    }
}

/// One PATCH operation; `value` is already in wire form.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchOp {
    /// Kind.
    pub op: PatchKind,
    /// Target path; optional for `add`/`replace` whose value is an object of attributes.
    pub path: Option<String>,
    /// Value (absent for `remove`, except the member-array removal form).
    pub value: Option<Value>,
}

impl PatchOp {
    /// `add` at a path, or of an object of attributes when `path` is `None`.
    pub fn add(path: Option<&str>, value: Value) -> Self {
        PatchOp {
            op: PatchKind::Add,
            path: path.map(str::to_string),
            value: Some(value),
        }
    }

    /// `replace` at a path.
    pub fn replace(path: &str, value: Value) -> Self {
        PatchOp {
            op: PatchKind::Replace,
            path: Some(path.to_string()),
            value: Some(value),
        }
    }

    /// `remove` at a path.
    pub fn remove(path: &str) -> Self {
        PatchOp {
            op: PatchKind::Remove,
            path: Some(path.to_string()),
            value: None,
        }
    }

    /// The operation as JSON.
    pub fn to_json(&self) -> Value {
        let mut o = Map::new();
        o.insert("op".into(), Value::String(self.op.as_str().into()));
        if let Some(p) = &self.path {
            o.insert("path".into(), Value::String(p.clone()));
        }
        if let Some(v) = &self.value {
            o.insert("value".into(), v.clone());
        }
        Value::Object(o)
    }
}

/// The PATCH request body: the PatchOp schema and the operations in order.
pub fn patch_body(ops: &[PatchOp]) -> Value {
    json!({
        "schemas": [PATCH_OP_SCHEMA],
        "Operations": ops.iter().map(PatchOp::to_json).collect::<Vec<_>>(),
    })
}

/// Operations that turn an account holding `before` (the last pushed values) into one
/// holding `after` (the desired values), both flat `path → value` maps:
/// a changed value is a `replace` at its path; a value that disappeared (or became null)
/// is a `remove`; a new value is a `replace` too, except under a value filter
/// (`emails[type eq "work"].value`): a filter that matches nothing is an error for
/// `replace` (RFC 7644 §3.5.2.3 `noTarget`), so new entries are `add`ed to the
/// multi-valued attribute, one entry per selector carrying all its new sub-attributes.
pub fn ops_from_changes(
    before: &BTreeMap<String, Value>,
    after: &BTreeMap<String, Value>,
) -> Result<Vec<PatchOp>, PathError> {
    let mut replaces = Vec::new();
    // (attribute path, selector) → the new entry, in path order.
    let mut new_entries: BTreeMap<(String, String), (String, Map<String, Value>)> = BTreeMap::new();
    let mut removes = Vec::new();
    for (text, new) in after {
        let path = AttrPath::parse(text)?;
        let old = before.get(text).filter(|v| !v.is_null());
        if new.is_null() {
            if old.is_some() {
                removes.push(PatchOp::remove(&path.to_string()));
            }
            continue;
        }
        let wire = wire_value(&path, new);
        if old.is_some_and(|o| wire_value(&path, o) == wire) {
            continue;
        }
        match (old, path.filter(), path.sub()) {
            (None, Some(f), Some(sub)) => {
                let top = path.top().to_string();
                let selector = format!("{} {}", f.attr.to_lowercase(), f.value).to_lowercase();
                let (_, entry) = new_entries
                    .entry((top.to_lowercase(), selector))
                    .or_insert_with(|| {
                        let mut e = Map::new();
                        e.insert(f.attr.clone(), f.value.clone());
                        (top.clone(), e)
                    });
                entry.insert(sub.to_string(), wire);
            }
            _ => replaces.push(PatchOp::replace(&path.to_string(), wire)),
        }
    }
    for (text, old) in before {
        if !old.is_null() && !after.contains_key(text) {
            removes.push(PatchOp::remove(&AttrPath::parse(text)?.to_string()));
        }
    }
    let mut ops = replaces;
    ops.extend(
        new_entries
            .into_values()
            .map(|(top, entry)| PatchOp::add(Some(&top), Value::Array(vec![Value::Object(entry)]))),
    );
    ops.extend(removes);
    Ok(ops)
}

/// How an app accepts the removal of group members; apps differ (research/scim_servers.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RemovalForm {
    /// RFC: `remove` with path `members[value eq "id"]`, one operation per member.
    ValuePath,
    /// Entra/Okta style: `remove` with path `members` and a `value` array of `{value: id}`.
    ValueArray,
    /// `replace` of the whole `members` list with the members that remain.
    ReplaceMembers,
    /// PUT of the whole group with the members that remain.
    PutGroup,
}

/// `[{"value": id}, …]`.
pub fn members_value(ids: &[String]) -> Value {
    Value::Array(ids.iter().map(|id| json!({ "value": id })).collect())
}

/// One request's operations per batch, adding at most `max` members per request.
pub fn member_add_batches(ids: &[String], max: usize) -> Vec<Vec<PatchOp>> {
    ids.chunks(max.max(1))
        .map(|chunk| vec![PatchOp::add(Some("members"), members_value(chunk))])
        .collect()
}

/// One request's operations per batch, removing at most `max` members per request, in
/// `form` (only the two forms that need no knowledge of the current members; the others
/// are built from the group as read). `quoted: false` writes `members[value eq U123]`, as
/// Slack documents it.
pub fn member_remove_batches(
    ids: &[String],
    max: usize,
    form: RemovalForm,
    quoted: bool,
) -> Vec<Vec<PatchOp>> {
    ids.chunks(max.max(1))
        .map(|chunk| match form {
            RemovalForm::ValueArray => vec![PatchOp {
                op: PatchKind::Remove,
                path: Some("members".into()),
                value: Some(members_value(chunk)),
            }],
            _ => chunk
                .iter()
                .map(|id| {
                    let v = if quoted {
                        escape_string(id)
                    } else {
                        id.clone()
                    };
                    PatchOp::remove(&format!("members[value eq {v}]"))
                })
                .collect(),
        })
        .collect()
}

#[cfg(test)]
#[path = "patch_tests.rs"]
mod tests;
