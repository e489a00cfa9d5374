//! Slack: DELETE deactivates, userName of at most 21 characters from a restricted alphabet
//! (others become `_`), an email is required, one write per object at a time, error
//! `status` as a number, 10 per page by default, filters on userName/email only, and the
//! documented user-write limit (180/min, burst 20) and read limit (300/min).

use serde_json::{Map, Value};

use super::{generic, DeleteMode, FilterRules, Hooks, Paging, Profile, RateSpec};
use crate::error::ScimError;
use crate::filter::ParseOptions;

const MAX_USER_NAME: usize = 21;

fn user_name(n: &str) -> Result<String, ScimError> {
    let cleaned: String = n
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if cleaned.chars().count() > MAX_USER_NAME {
        return Err(ScimError::invalid_value(format!(
            "invalid_username: userName may have at most {MAX_USER_NAME} characters"
        )));
    }
    Ok(cleaned)
}

fn check_user(u: &Map<String, Value>) -> Result<(), ScimError> {
    let has_email = u.get("emails").and_then(Value::as_array).is_some_and(|a| {
        a.iter()
            .any(|e| e["value"].as_str().is_some_and(|s| !s.is_empty()))
    });
    if !has_email {
        return Err(ScimError::invalid_value(
            "missing_schema_element: emails is required",
        ));
    }
    Ok(())
}

/// The Slack profile.
pub fn profile() -> Profile {
    Profile {
        name: "slack",
        status_as_int: true,
        user_delete: DeleteMode::Deactivate,
        paging: Paging::Index {
            default_count: 10,
            max_count: 1000,
        },
        filter: FilterRules {
            eq_only: true,
            or: false,
            not: false,
            value_paths: false,
            attrs: Some(&["userName", "emails", "emails.value"]),
            ..generic::ALL_FILTERS
        },
        bulk: None,
        etag: false,
        sort: false,
        per_object_write_lock: true,
        reads_limit: Some(RateSpec {
            per_sec: 5.0,
            burst: 50.0,
        }),
        writes_limit: Some(RateSpec {
            per_sec: 3.0,
            burst: 20.0,
        }),
        parse: ParseOptions {
            single_quotes: false,
            bare_values: true,
        },
        hooks: Hooks {
            user_name,
            check_user,
            ..Hooks::default()
        },
        ..generic::profile()
    }
}
