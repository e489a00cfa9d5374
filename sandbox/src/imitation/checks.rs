//! The app's own refusals, read from its profile: the userName rules, the attributes a
//! create must carry, one value per multi-valued attribute, and what a PATCH may do to
//! emails and group members.

use hrsync_connectors::scim::profiles::Profile;
use serde_json::{Map, Value};

use super::detail;
use crate::error::ScimError;
use crate::patch::{OpKind, PatchOp};
use crate::schema::{Kind, ENTERPRISE_URN};

/// The userName as the app stores it, or its refusal of one that is too long.
pub fn user_name(p: &Profile, name: &str) -> Result<String, ScimError> {
    let cleaned = p.user_name_rules.apply(name);
    if let Some(max) = p.user_name_max_len {
        if cleaned.chars().count() > max {
            return Err(ScimError::invalid_value(detail(
                p,
                "invalid_username",
                format!("userName may have at most {max} characters"),
            )));
        }
    }
    Ok(cleaned)
}

/// Checks a user about to be stored against the app's rules beyond the schema.
pub fn check_user(p: &Profile, u: &Map<String, Value>) -> Result<(), ScimError> {
    for path in p.required_on_create {
        if !present(u, path) {
            // A multi-valued attribute is named by itself (`emails`, not `emails.value`).
            let label = path.strip_suffix(".value").unwrap_or(path);
            return Err(ScimError::invalid_value(detail(
                p,
                "missing_schema_element",
                format!("{label} is required"),
            )));
        }
    }
    if p.single_valued_multi {
        check_single_values(u)?;
    }
    Ok(())
}

/// Whether `path` (`attr` or `attr.sub`) holds a non-empty string; for a multi-valued
/// attribute, in at least one of its values.
fn present(u: &Map<String, Value>, path: &str) -> bool {
    let (attr, sub) = match path.split_once('.') {
        Some((a, s)) => (a, Some(s)),
        None => (path, None),
    };
    let non_empty = |v: Option<&Value>| v.and_then(Value::as_str).is_some_and(|s| !s.is_empty());
    match (u.get(attr), sub) {
        (Some(Value::Array(items)), Some(sub)) => items.iter().any(|e| non_empty(e.get(sub))),
        (Some(v), Some(sub)) => non_empty(v.get(sub)),
        (v, None) => non_empty(v),
        (None, Some(_)) => false,
    }
}

/// One value per multi-valued attribute, and that email marked primary.
fn check_single_values(u: &Map<String, Value>) -> Result<(), ScimError> {
    for (k, v) in u {
        if k == ENTERPRISE_URN {
            continue;
        }
        if let Value::Array(items) = v {
            if items.len() > 1 {
                return Err(ScimError::invalid_value(format!(
                    "{k}: only one value is supported"
                )));
            }
        }
    }
    if let Some(Value::Array(emails)) = u.get("emails") {
        if emails.iter().any(|e| e["primary"] != Value::Bool(true)) {
            return Err(ScimError::invalid_value(
                "emails: the email must be primary",
            ));
        }
    }
    Ok(())
}

/// Checks a PATCH request before it is applied.
pub fn check_patch(p: &Profile, kind: Kind, ops: &[PatchOp]) -> Result<(), ScimError> {
    match kind {
        Kind::User if p.primary_email_in_patch => check_primary_email(ops),
        Kind::Group => {
            if !p.whole_member_writes {
                check_no_whole_members(ops)?;
            }
            match p.member_changes_limit {
                Some(max) => check_member_changes(ops, max),
                None => Ok(()),
            }
        }
        Kind::User => Ok(()),
    }
}

fn has_primary(v: &Value) -> bool {
    match v {
        Value::Array(a) => a.iter().any(has_primary),
        other => other.get("primary") == Some(&Value::Bool(true)),
    }
}

/// A `replace` of emails must mark one of them primary.
fn check_primary_email(ops: &[PatchOp]) -> Result<(), ScimError> {
    for op in ops.iter().filter(|o| o.op == OpKind::Replace) {
        let emails = match &op.path {
            Some(p) if p.eq_ignore_ascii_case("emails") => op.value.clone(),
            Some(_) => None,
            None => op.value.as_ref().and_then(|v| {
                v.as_object()
                    .and_then(|m| m.iter().find(|(k, _)| k.eq_ignore_ascii_case("emails")))
                    .map(|(_, v)| v.clone())
            }),
        };
        if emails.is_some_and(|e| !has_primary(&e)) {
            return Err(ScimError::invalid_value(
                "One email address need to be marked as primary",
            ));
        }
    }
    Ok(())
}

/// The members an operation writes: its value at path `members…`, or the `members` key
/// of a path-less value.
fn members_value(op: &PatchOp) -> Option<&Value> {
    match &op.path {
        Some(_) => op.value.as_ref(),
        None => op.value.as_ref().and_then(|v| v.get("members")),
    }
}

/// No replacing, and no removing, of the whole member list.
fn check_no_whole_members(ops: &[PatchOp]) -> Result<(), ScimError> {
    for op in ops {
        let path = op.path.as_deref().unwrap_or_default();
        let members = members_value(op);
        let whole =
            path.eq_ignore_ascii_case("members") || (op.path.is_none() && members.is_some());
        if whole && op.op == OpKind::Replace {
            return Err(ScimError::invalid_value(
                "replacing all members is not supported",
            ));
        }
        if whole && op.op == OpKind::Remove && members.is_none() {
            return Err(ScimError::invalid_value(
                "removing all members is not supported",
            ));
        }
    }
    Ok(())
}

/// At most `max` membership changes in one request.
fn check_member_changes(ops: &[PatchOp], max: usize) -> Result<(), ScimError> {
    let mut changes = 0usize;
    for op in ops {
        let path = op.path.as_deref().unwrap_or_default();
        let members = members_value(op);
        if path.to_ascii_lowercase().starts_with("members") || members.is_some() {
            changes += match members {
                Some(Value::Array(a)) => a.len(),
                _ => 1,
            };
        }
    }
    if changes > max {
        return Err(ScimError::invalid_value(format!(
            "at most {max} membership changes per request, got {changes}"
        )));
    }
    Ok(())
}
