//! PATCH (RFC 7644 §3.5.2): operation parsing (case-insensitive ops, as Entra sends them),
//! path resolution (`attr`, `attr.sub`, `attr[filter]`, `attr[filter].sub`, URN-prefixed,
//! bare extension URN) and application to a resource held in memory. Atomicity comes from
//! the caller applying to a copy and storing it only when every operation succeeded.

use serde_json::{Map, Value};

use super::error::ScimError;
use super::filter::ParseOptions;
use super::schema::Kind;

mod apply;
mod path;

use apply::apply_path;
use path::parse_path;

/// The URN of a PATCH request.
pub const PATCH_URN: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// `add`, `remove` or `replace`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    /// add
    Add,
    /// remove
    Remove,
    /// replace
    Replace,
}

/// One PATCH operation as sent.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchOp {
    /// What to do.
    pub op: OpKind,
    /// The target path, if any.
    pub path: Option<String>,
    /// The value, if any.
    pub value: Option<Value>,
}

/// Reads a PatchOp request body.
pub fn parse_body(body: &Value) -> Result<Vec<PatchOp>, ScimError> {
    let schemas_ok = body["schemas"].as_array().is_some_and(|a| {
        a.iter().any(|s| {
            s.as_str()
                .is_some_and(|s| s.eq_ignore_ascii_case(PATCH_URN))
        })
    });
    if !schemas_ok {
        return Err(ScimError::invalid_syntax(format!(
            "schemas must list {PATCH_URN}"
        )));
    }
    let ops = body
        .get("Operations")
        .or_else(|| body.get("operations"))
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
        .ok_or_else(|| ScimError::invalid_syntax("Operations must be a non-empty array"))?;
    ops.iter()
        .enumerate()
        .map(|(i, o)| {
            let name = o["op"].as_str().unwrap_or_default();
            let op = match name.to_ascii_lowercase().as_str() {
                "add" => OpKind::Add,
                "remove" => OpKind::Remove,
                "replace" => OpKind::Replace,
                _ => {
                    return Err(ScimError::invalid_syntax(format!(
                        "operation {i}: op {name:?} is not add, remove or replace"
                    )))
                }
            };
            let path = match &o["path"] {
                Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
                Value::Null | Value::String(_) => None,
                _ => {
                    return Err(ScimError::invalid_path(format!(
                        "operation {i}: path must be a string"
                    )))
                }
            };
            let value = o.get("value").cloned().filter(|v| !v.is_null());
            if op != OpKind::Remove && value.is_none() {
                return Err(ScimError::invalid_syntax(format!(
                    "operation {i}: {name} needs a value"
                )));
            }
            Ok(PatchOp { op, path, value })
        })
        .collect()
}

/// Applies `ops` in order to `res` (a stored body); on error `res` may be half-changed, so
/// callers apply to a copy.
pub fn apply(
    kind: Kind,
    res: &mut Map<String, Value>,
    ops: &[PatchOp],
    opts: ParseOptions,
) -> Result<(), ScimError> {
    for (i, op) in ops.iter().enumerate() {
        apply_one(kind, res, op, opts).map_err(|mut e| {
            e.detail = format!("operation {i}: {}", e.detail);
            e
        })?;
    }
    Ok(())
}

fn apply_one(
    kind: Kind,
    res: &mut Map<String, Value>,
    op: &PatchOp,
    opts: ParseOptions,
) -> Result<(), ScimError> {
    let value = op.value.as_ref();
    let Some(path) = &op.path else {
        if op.op == OpKind::Remove {
            return Err(ScimError::no_target("remove needs a path"));
        }
        let Some(Value::Object(obj)) = value else {
            return Err(ScimError::invalid_value(
                "without a path, value must be an object",
            ));
        };
        for (k, v) in obj {
            if ["schemas", "id", "meta"]
                .iter()
                .any(|r| r.eq_ignore_ascii_case(k))
            {
                continue;
            }
            let target = parse_path(kind, k, opts)?;
            apply_path(kind, res, op.op, &target, Some(v))?;
        }
        return Ok(());
    };
    let target = parse_path(kind, path, opts)?;
    apply_path(kind, res, op.op, &target, value)
}
