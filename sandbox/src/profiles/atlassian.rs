//! Atlassian Cloud user provisioning: a single `eq` on userName or externalId, pages of at
//! most 100, and a PATCH `replace` of emails without a primary one refused with 400
//! (jira ID-8027).

use serde_json::Value;

use super::{generic, FilterRules, Hooks, Paging, Profile};
use crate::error::ScimError;
use crate::patch::{OpKind, PatchOp};
use crate::schema::Kind;

fn has_primary(v: &Value) -> bool {
    match v {
        Value::Array(a) => a.iter().any(has_primary),
        other => other.get("primary") == Some(&Value::Bool(true)),
    }
}

fn check_patch(kind: Kind, ops: &[PatchOp]) -> Result<(), ScimError> {
    if kind != Kind::User {
        return Ok(());
    }
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

/// The Atlassian profile.
pub fn profile() -> Profile {
    Profile {
        name: "atlassian",
        paging: Paging::Index {
            default_count: 100,
            max_count: 100,
        },
        filter: FilterRules {
            eq_only: true,
            and: false,
            or: false,
            not: false,
            value_paths: false,
            max_comparisons: Some(1),
            attrs: Some(&["userName", "externalId"]),
            ..generic::ALL_FILTERS
        },
        bulk: None,
        sort: false,
        hooks: Hooks {
            check_patch,
            ..Hooks::default()
        },
        ..generic::profile()
    }
}
