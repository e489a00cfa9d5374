//! SCIM filters hrsync sends (RFC 7644 §3.4.2.2): `eq` terms joined by `and`, with values
//! escaped as JSON strings so that no value can change the filter's meaning, and the same
//! filter checked client-side against what the server returned.

use std::fmt;

use serde_json::Value;

use super::path::{AttrPath, PathError};
use super::resource::values_at;
pub use super::value::escape_string;
use super::value::values_equal_ci;

/// A conjunction of `attr eq value` terms, e.g. `userName eq "a@corp.example"`.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    terms: Vec<(AttrPath, Value)>,
}

impl Filter {
    /// `attr eq value`; the attribute path is validated, the value escaped when rendered.
    pub fn eq(attr: &str, value: impl Into<Value>) -> Result<Self, PathError> {
        Ok(Filter {
            terms: vec![(AttrPath::parse(attr)?, value.into())],
        })
    }

    /// `userName eq value`.
    pub fn user_name(value: &str) -> Self {
        Self::term("userName", None, value)
    }

    /// `externalId eq value`.
    pub fn external_id(value: &str) -> Self {
        Self::term("externalId", None, value)
    }

    /// `emails.value eq value` (matches any of the account's emails).
    pub fn email(value: &str) -> Self {
        Self::term("emails", Some("value"), value)
    }

    /// `displayName eq value` (groups).
    pub fn display_name(value: &str) -> Self {
        Self::term("displayName", None, value)
    }

    fn term(attr: &str, sub: Option<&str>, value: &str) -> Self {
        Filter {
            terms: vec![(
                AttrPath::simple(attr, sub),
                Value::String(value.to_string()),
            )],
        }
    }

    /// Both filters must hold.
    pub fn and(mut self, other: Filter) -> Self {
        self.terms.extend(other.terms);
        self
    }

    /// The terms, in order.
    pub fn terms(&self) -> &[(AttrPath, Value)] {
        &self.terms
    }

    /// A filter of these terms (a subset of another filter's).
    pub(crate) fn from_terms(terms: Vec<(AttrPath, Value)>) -> Filter {
        Filter { terms }
    }

    /// Whether a resource satisfies every term, the way a conforming server would decide:
    /// attribute names case-insensitive, strings case-insensitive unless the attribute is
    /// case-exact (`externalId`, `id`), a multi-valued attribute matching if any value does.
    pub fn matches(&self, resource: &Value) -> bool {
        self.terms.iter().all(|(path, want)| {
            values_at(resource, path).iter().any(|have| {
                if path.is_case_exact() {
                    have == want
                } else {
                    values_equal_ci(have, want)
                }
            })
        })
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (path, value)) in self.terms.iter().enumerate() {
            if i > 0 {
                f.write_str(" and ")?;
            }
            let v = match value {
                Value::String(s) => escape_string(s),
                other => other.to_string(),
            };
            write!(f, "{path} eq {v}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rendering_and_conjunction() {
        assert_eq!(
            Filter::user_name("a@corp.example").to_string(),
            r#"userName eq "a@corp.example""#
        );
        assert_eq!(
            Filter::external_id("E1")
                .and(Filter::user_name("x\"y"))
                .to_string(),
            r#"externalId eq "E1" and userName eq "x\"y""#
        );
        assert_eq!(Filter::email("a@b").to_string(), r#"emails.value eq "a@b""#);
        assert_eq!(
            Filter::eq("active", true).expect("path").to_string(),
            "active eq true"
        );
        assert!(Filter::eq("bad name", "x").is_err());
    }

    #[test]
    fn injection_attempt_stays_one_value() {
        let f = Filter::user_name(r#"x" or userName pr or ""#);
        let text = f.to_string();
        assert_eq!(text, r#"userName eq "x\" or userName pr or \"""#);
        // A user literally named that matches; a different user does not.
        assert!(f.matches(&json!({"userName": "x\" or userName pr or \""})));
        assert!(!f.matches(&json!({"userName": "x"})));
    }

    #[test]
    fn client_side_matching() {
        let u = json!({
            "id": "1", "userName": "Ana@Corp.Example", "externalId": "E1",
            "emails": [{"value": "ana@home.example", "type": "home"},
                       {"value": "ANA@corp.example", "type": "work", "primary": true}]
        });
        assert!(Filter::user_name("ana@corp.example").matches(&u));
        assert!(Filter::external_id("E1").matches(&u));
        assert!(
            !Filter::external_id("e1").matches(&u),
            "externalId is case-exact"
        );
        assert!(Filter::email("ana@corp.example").matches(&u));
        assert!(Filter::email("ana@home.example").matches(&u));
        assert!(!Filter::email("bob@corp.example").matches(&u));
        assert!(Filter::external_id("E1")
            .and(Filter::user_name("ana@corp.example"))
            .matches(&u));
        assert!(!Filter::external_id("E1")
            .and(Filter::user_name("bob"))
            .matches(&u));
        let keys_differ = json!({"ID": "1", "USERNAME": "ana@corp.example"});
        assert!(Filter::user_name("ana@corp.example").matches(&keys_differ));
    }
}
