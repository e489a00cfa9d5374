//! AWS IAM Identity Center: cursor paging (`cursor`/`nextCursor`, count ≤ 100, `startIndex`
//! ignored), filters only `eq` joined by `and`, one value per multi-valued attribute with a
//! primary email, givenName/familyName/displayName required, at most 100 member changes per
//! group PATCH, no replacing or removing all members, groups read back with empty
//! `members`, no Bulk, no `attributes`/`excludedAttributes` on lists.

use serde_json::{Map, Value};

use super::{generic, FilterRules, Hooks, Paging, Profile};
use crate::error::ScimError;
use crate::patch::{OpKind, PatchOp};
use crate::schema::{Kind, ENTERPRISE_URN};

const MAX_MEMBER_CHANGES: usize = 100;

fn check_user(u: &Map<String, Value>) -> Result<(), ScimError> {
    for (label, v) in [
        (
            "name.givenName",
            &u.get("name").and_then(|n| n.get("givenName")).cloned(),
        ),
        (
            "name.familyName",
            &u.get("name").and_then(|n| n.get("familyName")).cloned(),
        ),
        ("displayName", &u.get("displayName").cloned()),
    ] {
        if v.as_ref().and_then(Value::as_str).is_none_or(str::is_empty) {
            return Err(ScimError::invalid_value(format!("{label} is required")));
        }
    }
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

fn check_patch(kind: Kind, ops: &[PatchOp]) -> Result<(), ScimError> {
    if kind != Kind::Group {
        return Ok(());
    }
    let mut changes = 0usize;
    for op in ops {
        let path = op.path.as_deref().unwrap_or_default();
        let members_value = match &op.path {
            Some(_) => op.value.as_ref(),
            None => op.value.as_ref().and_then(|v| v.get("members")),
        };
        let whole_members =
            path.eq_ignore_ascii_case("members") || (op.path.is_none() && members_value.is_some());
        if whole_members && op.op == OpKind::Replace {
            return Err(ScimError::invalid_value(
                "replacing all members is not supported",
            ));
        }
        if whole_members && op.op == OpKind::Remove && members_value.is_none() {
            return Err(ScimError::invalid_value(
                "removing all members is not supported",
            ));
        }
        if path.to_ascii_lowercase().starts_with("members") || members_value.is_some() {
            changes += match members_value {
                Some(Value::Array(a)) => a.len(),
                _ => 1,
            };
        }
    }
    if changes > MAX_MEMBER_CHANGES {
        return Err(ScimError::invalid_value(format!(
            "at most {MAX_MEMBER_CHANGES} membership changes per request, got {changes}"
        )));
    }
    Ok(())
}

/// The AWS IAM Identity Center profile.
pub fn profile() -> Profile {
    Profile {
        name: "aws_identity_center",
        paging: Paging::Cursor { max_count: 100 },
        filter: FilterRules {
            eq_only: true,
            or: false,
            not: false,
            value_paths: false,
            ..generic::ALL_FILTERS
        },
        bulk: None,
        etag: false,
        sort: false,
        list_projection: false,
        hide_group_members: true,
        hooks: Hooks {
            check_user,
            check_patch,
            ..Hooks::default()
        },
        ..generic::profile()
    }
}
