//! Property tests of the SCIM client's parsers of outside text: attribute and PATCH paths
//! (from the config and from apps), filters built from any value, and error bodies of any
//! shape. Any input is parsed or refused, never a panic; what parses renders back to
//! itself; what an error body says is bounded.

use proptest::prelude::*;
use serde_json::{json, Value};

use super::error::parse_error_body;
use super::filter::Filter;
use super::path::AttrPath;

/// Words of the path grammar, so generated inputs reach deep into the parser.
const WORDS: &[&str] = &[
    "emails",
    "members",
    "name",
    "value",
    "type",
    "givenName",
    "$ref",
    "userName",
    "x-1",
    "urn:",
    "urn:ietf:params:scim:schemas:core:2.0:User:",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:",
    "urn:a:b:",
    ":",
    "[",
    "]",
    ".",
    " eq ",
    " EQ ",
    " ne ",
    "\"",
    "\\",
    "\"work\"",
    "\"a\\\"]b\"",
    "\"\\u00e9\"",
    "\"\\ud800\"",
    "true",
    "false",
    "null",
    "1e308",
    "-0",
    "99999999999999999999",
    " ",
    "é",
    "\u{0}",
    "\u{1b}[2J",
    "\u{202e}",
];

/// Path-like text: grammar words and arbitrary strings run together.
fn path_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => proptest::sample::select(WORDS).prop_map(str::to_string),
        1 => "\\PC{0,6}",
        1 => ".{0,4}",
    ];
    proptest::collection::vec(piece, 0..12).prop_map(|p| p.concat())
}

fn resource() -> Value {
    json!({
        "userName": "a@x", "externalId": "E1", "name": {"givenName": "A"},
        "emails": [{"value": "a@x", "type": "work"}, "not an object", null],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": "m"}},
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8192))]

    /// An attribute or PATCH path of any text is parsed or refused; a parsed one renders
    /// to text that parses back to the same path, and can be used as a filter.
    #[test]
    fn any_path_text_is_parsed_or_refused(text in prop_oneof![path_text(), ".{0,48}"]) {
        if let Ok(p) = AttrPath::parse(&text) {
            let again = AttrPath::parse(&p.to_string());
            prop_assert_eq!(again.as_ref(), Ok(&p), "{} renders as {}", text, p);
            let f = Filter::eq(&text, "v").map_err(|e| TestCaseError::fail(e.to_string()))?;
            let _ = f.matches(&resource());
            let _ = (p.top(), p.is_multi_valued(), p.is_case_exact(), p.is_manager());
        }
        if let Ok(p) = AttrPath::parse_target(&text) {
            let again = AttrPath::parse_target(&p.to_string());
            prop_assert_eq!(again.as_ref(), Ok(&p), "{} renders as {}", text, p);
        }
    }

    /// A filter for any value renders, and matches exactly the resources holding it.
    #[test]
    fn filters_for_any_value_render_and_match(value in ".{0,32}", other in ".{0,8}") {
        let f = Filter::external_id(&value).and(Filter::user_name(&other));
        let _ = f.to_string();
        let holder = json!({"externalId": value, "userName": other});
        prop_assert!(f.matches(&holder));
        let near = json!({"externalId": format!("{value}x"), "userName": other});
        prop_assert!(!f.matches(&near));
    }

    /// An error body of any bytes is read, its texts bounded.
    #[test]
    fn any_error_body_is_read(body in prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..600),
        path_text().prop_map(|s| json!({"detail": s.repeat(40), "scimType": s, "status": s}).to_string().into_bytes()),
        path_text().prop_map(|s| format!("<html><title>{s}</title>{}</html>", s.repeat(50)).into_bytes()),
    ]) {
        let e = parse_error_body(&body);
        let shown = |t: &Option<String>| t.as_deref().map_or(0, |t| t.split("… [cut: ").next().unwrap_or("").chars().count());
        prop_assert!(shown(&e.detail) <= 300);
        prop_assert!(shown(&e.scim_type) <= 64);
    }
}
