//! SCIM attribute paths as hrsync writes them in `[apps.attributes]`: parsing, validation
//! and canonical rendering (`userName`, `name.givenName`, `emails[type eq "work"].value`,
//! `urn:…:enterprise:2.0:User:department`).

use std::fmt;

use serde_json::Value;

use super::value::{escape_string, get_ci, values_equal_ci};
use super::{ENTERPRISE_SCHEMA, GROUP_SCHEMA, USER_SCHEMA};

/// A path that is not a SCIM attribute path hrsync can use; names the path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid SCIM attribute path {path:?}: {reason}")]
pub struct PathError {
    /// The path as written.
    pub path: String,
    /// What is wrong with it.
    pub reason: String,
}

/// The `[sub eq value]` selector of a multi-valued attribute, e.g. `[type eq "work"]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueFilter {
    /// Sub-attribute compared, e.g. `type`.
    pub attr: String,
    /// Value it must equal (a JSON string, boolean or number).
    pub value: Value,
}

impl ValueFilter {
    /// True when an entry of the multi-valued attribute is selected by this filter
    /// (attribute names and string values compared case-insensitively).
    pub fn selects(&self, entry: &Value) -> bool {
        let Some(obj) = entry.as_object() else {
            return false;
        };
        match get_ci(obj, &self.attr) {
            Some(v) => values_equal_ci(v, &self.value),
            None => false,
        }
    }
}

/// A parsed SCIM attribute path: `[schema URN ":"] attr ["[" sub eq value "]"] ["." sub]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrPath {
    schema: Option<String>,
    attr: String,
    filter: Option<ValueFilter>,
    sub: Option<String>,
}

/// Core attributes that are multi-valued (RFC 7643 §4.1.2, §4.2).
const MULTI_VALUED: &[&str] = &[
    "emails",
    "phoneNumbers",
    "ims",
    "photos",
    "addresses",
    "groups",
    "entitlements",
    "roles",
    "x509Certificates",
    "members",
];

impl AttrPath {
    /// Parses and validates a path; the error names the path and what is wrong.
    pub fn parse(text: &str) -> Result<Self, PathError> {
        Self::parse_with(text, true)
    }

    /// Parses a PATCH target, which may also be a whole selected entry (`members[value eq "x"]`).
    pub(crate) fn parse_target(text: &str) -> Result<Self, PathError> {
        Self::parse_with(text, false)
    }

    fn parse_with(text: &str, need_sub: bool) -> Result<Self, PathError> {
        let err = |reason: &str| PathError {
            path: text.to_string(),
            reason: reason.to_string(),
        };
        let s = text.trim();
        if s.is_empty() {
            return Err(err("the path is empty"));
        }
        let (schema, rest) = split_schema(s).map_err(|r| err(&r))?;
        let name_end = rest.find(['[', '.']).unwrap_or(rest.len());
        let attr = &rest[..name_end];
        check_name(attr).map_err(|r| err(&r))?;
        let mut tail = &rest[name_end..];
        let mut filter = None;
        if let Some(inner) = tail.strip_prefix('[') {
            let (f, after) = parse_filter(inner).map_err(|r| err(&r))?;
            filter = Some(f);
            tail = after;
        }
        let mut sub = None;
        if let Some(name) = tail.strip_prefix('.') {
            check_name(name).map_err(|r| err(&format!("sub-attribute: {r}")))?;
            sub = Some(name.to_string());
            tail = "";
        }
        if !tail.is_empty() {
            return Err(err(&format!("unexpected {tail:?} after the attribute")));
        }
        if need_sub && filter.is_some() && sub.is_none() {
            return Err(err(
                "a value filter must be followed by a sub-attribute, e.g. emails[type eq \"work\"].value",
            ));
        }
        Ok(AttrPath {
            schema,
            attr: attr.to_string(),
            filter,
            sub,
        })
    }

    /// Builds a path from parts known to be valid (used for paths hrsync itself writes).
    pub(crate) fn simple(attr: &str, sub: Option<&str>) -> Self {
        AttrPath {
            schema: None,
            attr: attr.to_string(),
            filter: None,
            sub: sub.map(str::to_string),
        }
    }

    /// The extension schema URN, or `None` for a core attribute.
    pub fn schema(&self) -> Option<&str> {
        self.schema.as_deref()
    }

    /// The top-level attribute name.
    pub fn attr(&self) -> &str {
        &self.attr
    }

    /// The value filter of a multi-valued attribute.
    pub fn filter(&self) -> Option<&ValueFilter> {
        self.filter.as_ref()
    }

    /// The sub-attribute.
    pub fn sub(&self) -> Option<&str> {
        self.sub.as_deref()
    }

    /// True for the enterprise `manager` reference (whose value is the manager's id).
    pub fn is_manager(&self) -> bool {
        self.schema
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case(ENTERPRISE_SCHEMA))
            && self.attr.eq_ignore_ascii_case("manager")
            && self.sub.is_none()
    }

    /// True for the core `active` flag.
    pub fn is_active(&self) -> bool {
        self.schema.is_none() && self.attr.eq_ignore_ascii_case("active") && self.sub.is_none()
    }

    /// True when the attribute is multi-valued (a known one, or selected by a filter).
    pub fn is_multi_valued(&self) -> bool {
        self.filter.is_some()
            || (self.schema.is_none()
                && MULTI_VALUED
                    .iter()
                    .any(|m| m.eq_ignore_ascii_case(&self.attr)))
    }

    /// True when string comparisons on this attribute are case-exact (RFC 7643 `caseExact`).
    pub fn is_case_exact(&self) -> bool {
        self.schema.is_none()
            && self.sub.is_none()
            && (self.attr.eq_ignore_ascii_case("externalId")
                || self.attr.eq_ignore_ascii_case("id"))
    }

    /// The same attribute without filter and sub-attribute (`emails[…].value` → `emails`).
    pub fn top(&self) -> AttrPath {
        AttrPath {
            schema: self.schema.clone(),
            attr: self.attr.clone(),
            filter: None,
            sub: None,
        }
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(s) = &self.schema {
            write!(f, "{s}:")?;
        }
        f.write_str(&self.attr)?;
        if let Some(flt) = &self.filter {
            let value = match &flt.value {
                Value::String(s) => escape_string(s),
                other => other.to_string(),
            };
            write!(f, "[{} eq {}]", flt.attr, value)?;
        }
        if let Some(sub) = &self.sub {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for AttrPath {
    type Err = PathError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AttrPath::parse(s)
    }
}

/// Splits a leading schema URN off; core schema URNs are dropped (they name core attributes).
fn split_schema(s: &str) -> Result<(Option<String>, &str), String> {
    if !s.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:")) {
        return Ok((None, s));
    }
    // The URN itself contains dots ("2.0"), so the attribute starts after the last colon
    // that comes before any value filter.
    let head_end = s.find('[').unwrap_or(s.len());
    let Some(colon) = s[..head_end].rfind(':') else {
        return Err("schema URN without attribute".into());
    };
    let (schema, rest) = (&s[..colon], &s[colon + 1..]);
    if schema.len() <= 4 || rest.is_empty() {
        return Err("a schema URN must be followed by \":attribute\"".into());
    }
    if schema.eq_ignore_ascii_case(USER_SCHEMA) || schema.eq_ignore_ascii_case(GROUP_SCHEMA) {
        return Ok((None, rest));
    }
    Ok((Some(schema.to_string()), rest))
}

/// ATTRNAME = ALPHA *(nameChar), nameChar = "-" / "_" / DIGIT / ALPHA (RFC 7643 §2.1),
/// plus the `$ref` name.
fn check_name(name: &str) -> Result<(), String> {
    if name == "$ref" {
        return Ok(());
    }
    let mut chars = name.chars();
    match chars.next() {
        None => return Err("missing attribute name".into()),
        Some(c) if !c.is_ascii_alphabetic() => {
            return Err(format!("attribute name {name:?} must start with a letter"))
        }
        _ => {}
    }
    if let Some(bad) = chars.find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_')) {
        return Err(format!(
            "character {bad:?} is not allowed in attribute name {name:?}"
        ));
    }
    Ok(())
}

/// Parses `sub eq value]` and returns the filter and what follows the `]`.
fn parse_filter(s: &str) -> Result<(ValueFilter, &str), String> {
    let s = s.trim_start();
    let name_end = s
        .find(char::is_whitespace)
        .ok_or("incomplete value filter")?;
    let attr = &s[..name_end];
    check_name(attr)?;
    let s = s[name_end..].trim_start();
    let op_end = s
        .find(char::is_whitespace)
        .ok_or("incomplete value filter")?;
    if !s[..op_end].eq_ignore_ascii_case("eq") {
        return Err(format!(
            "only \"eq\" is supported in attribute path filters, not {:?}",
            &s[..op_end]
        ));
    }
    let s = s[op_end..].trim_start();
    let (value, rest) = if s.starts_with('"') {
        let end = closing_quote(s).ok_or("unterminated string in value filter")?;
        let v: Value = serde_json::from_str(&s[..=end])
            .map_err(|e| format!("invalid string in value filter: {e}"))?;
        (v, &s[end + 1..])
    } else {
        let end = s
            .find(|c: char| c == ']' || c.is_whitespace())
            .unwrap_or(s.len());
        let word = &s[..end];
        let v = match word.to_ascii_lowercase().as_str() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => match word.parse::<serde_json::Number>() {
                Ok(n) => Value::Number(n),
                Err(_) => {
                    return Err(format!(
                        "filter value {word:?} must be a quoted string, true, false or a number"
                    ))
                }
            },
        };
        (v, &s[end..])
    };
    let rest = rest.trim_start();
    let rest = rest
        .strip_prefix(']')
        .ok_or("missing \"]\" after the value filter")?;
    Ok((
        ValueFilter {
            attr: attr.to_string(),
            value,
        },
        rest,
    ))
}

/// Index of the quote closing the JSON string that starts at index 0.
fn closing_quote(s: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in s.char_indices().skip(1) {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return Some(i),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_paths_parse_and_render_canonically() {
        let table: &[(&str, &str)] = &[
            ("userName", "userName"),
            ("active", "active"),
            ("name.givenName", "name.givenName"),
            ("emails[type eq \"work\"].value", "emails[type eq \"work\"].value"),
            ("emails[ type  EQ \"work\" ].value", "emails[type eq \"work\"].value"),
            ("emails[primary eq true].value", "emails[primary eq true].value"),
            ("phoneNumbers[type eq \"mobile\"].value", "phoneNumbers[type eq \"mobile\"].value"),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
            ),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
            ),
            ("urn:ietf:params:scim:schemas:core:2.0:User:userName", "userName"),
            ("emails[type eq \"a]\\\"b\"].value", "emails[type eq \"a]\\\"b\"].value"),
            (
                "urn:ietf:params:scim:schemas:extension:zoom:1.0:User:loginType[type eq \"x:y\"].value",
                "urn:ietf:params:scim:schemas:extension:zoom:1.0:User:loginType[type eq \"x:y\"].value",
            ),
        ];
        for (input, canonical) in table {
            let p = AttrPath::parse(input)
                .map_err(|e| format!("{input}: {e}"))
                .expect("valid path");
            assert_eq!(&p.to_string(), canonical, "{input}");
            let again = AttrPath::parse(&p.to_string()).expect("reparse");
            assert_eq!(again, p, "{input} round trip");
        }
    }

    #[test]
    fn invalid_paths_are_rejected_with_the_path_named() {
        let table: &[&str] = &[
            "",
            "   ",
            "1userName",
            "user name",
            "name.",
            "name..givenName",
            "emails[type eq \"work\"]",
            "emails[type ne \"work\"].value",
            "emails[type eq work].value",
            "emails[type eq \"work\".value",
            "emails[type eq \"work].value",
            "emails[type eq \"work\"]value",
            "urn:",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:",
            "name.givenName.first",
            "userName;drop",
        ];
        for input in table {
            let e = AttrPath::parse(input).expect_err(input);
            assert_eq!(&e.path, input);
            assert!(e.to_string().contains("invalid SCIM attribute path"), "{e}");
        }
    }

    #[test]
    fn path_kinds() {
        let m =
            AttrPath::parse("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager")
                .expect("manager");
        assert!(m.is_manager());
        assert!(!AttrPath::parse(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value"
        )
        .expect("manager.value")
        .is_manager());
        assert!(AttrPath::parse("ACTIVE").expect("active").is_active());
        assert!(AttrPath::parse("emails.value")
            .expect("e")
            .is_multi_valued());
        assert!(!AttrPath::parse("name.givenName")
            .expect("n")
            .is_multi_valued());
        assert!(AttrPath::parse("externalId").expect("x").is_case_exact());
        assert!(!AttrPath::parse("userName").expect("u").is_case_exact());
    }
}
