//! Tests of building Users from flat paths and reading values back from app resources.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::*;
use crate::scim::ENTERPRISE_SCHEMA;

const DEPT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department";
const MANAGER: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager";

fn attrs(pairs: &[(&str, Value)]) -> BTreeMap<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

fn p(s: &str) -> AttrPath {
    AttrPath::parse(s).expect("path")
}

fn every_path_form() -> BTreeMap<String, Value> {
    attrs(&[
        ("userName", json!("ana@corp.example")),
        ("active", json!(true)),
        ("externalId", json!("E1001")),
        ("displayName", json!("Ana Lima")),
        ("title", json!("Engineer")),
        ("name.givenName", json!("Ana")),
        ("name.familyName", json!("Lima")),
        ("emails[type eq \"work\"].value", json!("ana@corp.example")),
        ("emails[type eq \"home\"].value", json!("ana@home.example")),
        (
            "phoneNumbers[type eq \"mobile\"].value",
            json!("+351 900 000 000"),
        ),
        (DEPT, json!("Engineering")),
        (MANAGER, json!("mgr-id-7")),
    ])
}

#[test]
fn build_user_nests_every_path_form() {
    let u = build_user(&every_path_form()).expect("build");
    assert_eq!(
        u["schemas"],
        json!([crate::scim::USER_SCHEMA, ENTERPRISE_SCHEMA])
    );
    assert_eq!(u["userName"], "ana@corp.example");
    assert_eq!(u["active"], json!(true));
    assert_eq!(u["name"], json!({"familyName": "Lima", "givenName": "Ana"}));
    let emails = u["emails"].as_array().expect("emails");
    assert_eq!(emails.len(), 2);
    let work = emails.iter().find(|e| e["type"] == "work").expect("work");
    assert_eq!(work["value"], "ana@corp.example");
    assert!(
        emails.iter().all(|e| e.get("primary").is_none()),
        "no primary the mapping did not produce: {emails:?}"
    );
    assert_eq!(
        u["phoneNumbers"],
        json!([{"type": "mobile", "value": "+351 900 000 000"}])
    );
    assert_eq!(u[ENTERPRISE_SCHEMA]["department"], "Engineering");
    assert_eq!(
        u[ENTERPRISE_SCHEMA]["manager"],
        json!({"value": "mgr-id-7"})
    );
}

#[test]
fn extract_round_trips_every_path_form() {
    let desired = every_path_form();
    let u = build_user(&desired).expect("build");
    for (path, want) in &desired {
        assert_eq!(extract(&u, &p(path)).as_ref(), Some(want), "path {path}");
    }
}

#[test]
fn active_strings_become_booleans() {
    let u = build_user(&attrs(&[
        ("userName", json!("a")),
        ("active", json!("False")),
    ]))
    .expect("build");
    assert_eq!(u["active"], json!(false));
    let from_app = json!({"active": "True"});
    assert_eq!(extract(&from_app, &p("active")), Some(json!(true)));
}

#[test]
fn emails_carry_only_what_the_mapping_produced() {
    let u = build_user(&attrs(&[
        ("userName", json!("a")),
        ("emails[type eq \"other\"].value", json!("a@x.example")),
    ]))
    .expect("build");
    assert_eq!(
        u["emails"],
        json!([{"type": "other", "value": "a@x.example"}])
    );
}

#[test]
fn null_values_are_left_out_and_bad_paths_name_themselves() {
    let u = build_user(&attrs(&[("userName", json!("a")), ("title", Value::Null)])).expect("build");
    assert!(u.get("title").is_none());
    assert_eq!(u["schemas"], json!([crate::scim::USER_SCHEMA]));
    let e = build_user(&attrs(&[("bad path", json!("x"))])).expect_err("bad");
    assert_eq!(e.path, "bad path");
}

#[test]
fn extract_tolerates_app_spellings() {
    let app = json!({
        "ID": "42",
        "USERNAME": "Ana",
        "Name": {"GivenName": "Ana"},
        "emails": [{"value": "x@home.example", "type": "HOME"},
                   {"Value": "ana@corp.example", "Type": "Work", "primary": "true"}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user": {
            "Department": "Eng",
            "manager": {"managerId": "U777", "displayName": "Boss"}
        }
    });
    assert_eq!(id(&app), Some("42"));
    assert_eq!(user_name(&app), Some("Ana"));
    assert_eq!(extract(&app, &p("name.givenName")), Some(json!("Ana")));
    assert_eq!(
        extract(&app, &p("emails[type eq \"work\"].value")),
        Some(json!("ana@corp.example"))
    );
    assert_eq!(
        extract(&app, &p("emails.value")),
        Some(json!("ana@corp.example"))
    );
    assert_eq!(extract(&app, &p(DEPT)), Some(json!("Eng")));
    assert_eq!(
        extract(&app, &p(MANAGER)),
        Some(json!("U777")),
        "Slack managerId"
    );
    assert_eq!(emails(&app), vec!["x@home.example", "ana@corp.example"]);
    assert_eq!(extract(&app, &p("title")), None);
    assert_eq!(
        extract(&app, &p("phoneNumbers[type eq \"mobile\"].value")),
        None
    );
}

#[test]
fn extract_reads_flattened_extension_and_untyped_single_email() {
    let app = json!({
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Sales",
        "emails": [{"value": "only@corp.example"}],
        "phoneNumbers": [{"value": "1", "type": "work"}]
    });
    assert_eq!(extract(&app, &p(DEPT)), Some(json!("Sales")));
    // The app dropped `type`: its single email stands for the work email.
    assert_eq!(
        extract(&app, &p("emails[type eq \"work\"].value")),
        Some(json!("only@corp.example"))
    );
    // But when entries do carry a type, a different type is not taken for the one asked.
    assert_eq!(
        extract(&app, &p("phoneNumbers[type eq \"mobile\"].value")),
        None
    );
}

#[test]
fn set_and_remove_at_paths() {
    let mut root = serde_json::Map::new();
    set_at(
        &mut root,
        &p("emails[type eq \"work\"].value"),
        json!("a@x"),
    )
    .expect("set");
    set_at(
        &mut root,
        &p("emails[type eq \"work\"].display"),
        json!("A"),
    )
    .expect("set");
    set_at(
        &mut root,
        &p("emails[type eq \"home\"].value"),
        json!("h@x"),
    )
    .expect("set");
    assert_eq!(
        Value::Object(root.clone()),
        json!({"emails": [{"type": "work", "value": "a@x", "display": "A"},
                          {"type": "home", "value": "h@x"}]})
    );
    remove_at(&mut root, &p("emails[type eq \"home\"].value"));
    remove_at(&mut root, &p("emails[type eq \"work\"].display"));
    assert_eq!(
        Value::Object(root.clone()),
        json!({"emails": [{"type": "work", "value": "a@x"}]})
    );
    set_at(&mut root, &p(DEPT), json!("Eng")).expect("set");
    remove_at(&mut root, &p(DEPT));
    remove_at(&mut root, &p("title"));
    remove_at(&mut root, &p("emails"));
    assert_eq!(Value::Object(root), json!({ENTERPRISE_SCHEMA: {}}));
}

#[test]
fn member_ids_read_strings_and_numbers() {
    let g = json!({"members": [{"value": "u1"}, {"value": 7}, {"display": "no id"}]});
    assert_eq!(member_ids(&g), vec!["u1", "7"]);
    assert!(member_ids(&json!({"displayName": "g"})).is_empty());
}
