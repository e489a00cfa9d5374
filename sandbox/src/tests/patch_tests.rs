//! PATCH semantics on an in-memory resource: paths, value filters, Entra's forms, primary
//! handling, and the errors RFC 7644 §3.5.2 prescribes.

use serde_json::{json, Map, Value};

use crate::filter::ParseOptions;
use crate::patch::{apply, parse_body, PATCH_URN};
use crate::schema::Kind;

fn base_user() -> Map<String, Value> {
    let v = json!({
        "userName": "bjensen",
        "active": true,
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "emails": [
            {"value": "b@work.example", "type": "work", "primary": true},
            {"value": "b@home.example", "type": "home"}
        ]
    });
    v.as_object().cloned().unwrap_or_default()
}

fn patch(res: &mut Map<String, Value>, ops: Value) -> Result<(), String> {
    let body = json!({"schemas": [PATCH_URN], "Operations": ops});
    let ops = parse_body(&body).map_err(|e| e.to_string())?;
    apply(Kind::User, res, &ops, ParseOptions::default()).map_err(|e| e.to_string())
}

#[test]
fn value_path_replace_changes_only_the_matching_element() {
    let mut u = base_user();
    let r = patch(
        &mut u,
        json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "new@work.example"}]),
    );
    assert_eq!(r, Ok(()));
    assert_eq!(u["emails"][0]["value"], "new@work.example");
    assert_eq!(u["emails"][0]["primary"], true);
    assert_eq!(u["emails"][1]["value"], "b@home.example");
}

#[test]
fn value_path_on_an_absent_attribute_creates_the_element() {
    let mut u = base_user();
    u.remove("emails");
    let r = patch(
        &mut u,
        json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "x@work.example"}]),
    );
    assert_eq!(r, Ok(()));
    assert_eq!(
        u["emails"],
        json!([{"value": "x@work.example", "type": "work"}])
    );
}

#[test]
fn replace_with_a_filter_matching_nothing_is_no_target() {
    let mut u = base_user();
    let r = patch(
        &mut u,
        json!([{"op": "replace", "path": "emails[type eq \"other\"].value", "value": "x@o.example"}]),
    );
    assert!(r.is_err_and(|e| e.contains("noTarget")));
}

#[test]
fn entra_style_operations_are_understood() {
    let mut u = base_user();
    let r = patch(
        &mut u,
        json!([
            {"op": "Replace", "path": "active", "value": "False"},
            {"op": "Add", "path": "title", "value": "Guide"},
            {"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": "mgr-1"},
            {"op": "replace", "value": {
                "name.givenName": "Babs",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Tours"
            }}
        ]),
    );
    assert_eq!(r, Ok(()));
    assert_eq!(u["active"], false);
    assert_eq!(u["title"], "Guide");
    assert_eq!(u["name"]["givenName"], "Babs");
    assert_eq!(u["name"]["familyName"], "Jensen");
    let ext = &u["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"];
    assert_eq!(ext["manager"]["value"], "mgr-1");
    assert_eq!(ext["department"], "Tours");
}

#[test]
fn add_to_multi_valued_appends_without_duplicates_and_moves_primary() {
    let mut u = base_user();
    let r = patch(
        &mut u,
        json!([
            {"op": "add", "path": "emails", "value": [{"value": "b@home.example", "type": "home"}]},
            {"op": "add", "path": "emails", "value": [{"value": "n@new.example", "type": "other", "primary": true}]}
        ]),
    );
    assert_eq!(r, Ok(()));
    let emails = u["emails"].as_array().cloned().unwrap_or_default();
    assert_eq!(emails.len(), 3);
    let primaries: Vec<&str> = emails
        .iter()
        .filter(|e| e["primary"] == true)
        .filter_map(|e| e["value"].as_str())
        .collect();
    assert_eq!(primaries, vec!["n@new.example"]);
}

#[test]
fn removes_by_filter_by_value_list_and_whole() {
    let mut u = base_user();
    assert_eq!(
        patch(
            &mut u,
            json!([{"op": "remove", "path": "emails[type eq \"home\"]"}])
        ),
        Ok(())
    );
    assert_eq!(u["emails"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        patch(
            &mut u,
            json!([{"op": "remove", "path": "emails", "value": [{"value": "b@work.example"}]}])
        ),
        Ok(())
    );
    assert!(
        !u.contains_key("emails"),
        "an emptied attribute is unassigned"
    );
    assert_eq!(
        patch(&mut u, json!([{"op": "remove", "path": "name.givenName"}])),
        Ok(())
    );
    assert_eq!(u["name"], json!({"familyName": "Jensen"}));
    assert_eq!(
        patch(&mut u, json!([{"op": "remove", "path": "name"}])),
        Ok(())
    );
    assert!(!u.contains_key("name"));
}

#[test]
fn refusals_follow_the_rfc() {
    let cases = [
        (json!([{"op": "remove"}]), "noTarget"),
        (json!([{"op": "remove", "path": "userName"}]), "mutability"),
        (
            json!([{"op": "replace", "path": "id", "value": "x"}]),
            "mutability",
        ),
        (
            json!([{"op": "add", "path": "groups", "value": [{"value": "g"}]}]),
            "mutability",
        ),
        (
            json!([{"op": "replace", "path": "shoeSize", "value": 42}]),
            "invalidPath",
        ),
        (
            json!([{"op": "replace", "path": "active", "value": "maybe"}]),
            "invalidValue",
        ),
        (
            json!([{"op": "move", "path": "title", "value": "x"}]),
            "invalidSyntax",
        ),
        (json!([{"op": "add", "path": "title"}]), "invalidSyntax"),
        (
            json!([{"op": "replace", "path": "emails[type eq \"work\"", "value": "x"}]),
            "invalidPath",
        ),
        (
            json!([{"op": "replace", "path": "title[value eq \"x\"]", "value": "x"}]),
            "invalidPath",
        ),
    ];
    for (ops, want) in cases {
        let mut u = base_user();
        let r = patch(&mut u, ops.clone());
        assert!(
            r.as_ref().is_err_and(|e| e.contains(want)),
            "{ops}: {r:?}, want {want}"
        );
    }
    let no_schema = json!({"Operations": [{"op": "add", "path": "title", "value": "x"}]});
    assert!(parse_body(&no_schema).is_err());
}

#[test]
fn group_members_remove_by_filter_and_by_value_array() {
    let mut g = json!({"displayName": "eng", "members": [
        {"value": "u1"}, {"value": "u2"}, {"value": "u3"}
    ]})
    .as_object()
    .cloned()
    .unwrap_or_default();
    let body = json!({"schemas": [PATCH_URN], "Operations": [
        {"op": "remove", "path": "members[value eq \"u1\"]"},
        {"op": "Remove", "path": "members", "value": [{"value": "u3"}]},
        {"op": "add", "path": "members", "value": [{"value": "u2"}, {"value": "u4"}]}
    ]});
    let ops = parse_body(&body).unwrap_or_default();
    assert_eq!(
        apply(Kind::Group, &mut g, &ops, ParseOptions::default()),
        Ok(())
    );
    assert_eq!(g["members"], json!([{"value": "u2"}, {"value": "u4"}]));
    // Slack writes the id unquoted.
    let slack = ParseOptions {
        single_quotes: false,
        bare_values: true,
    };
    let body = json!({"schemas": [PATCH_URN], "Operations": [{"op": "remove", "path": "members[value eq u2]"}]});
    let ops = parse_body(&body).unwrap_or_default();
    assert_eq!(apply(Kind::Group, &mut g, &ops, slack), Ok(()));
    assert_eq!(g["members"], json!([{"value": "u4"}]));
}
