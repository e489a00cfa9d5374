//! Table tests of PATCH building.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::*;

const MANAGER: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager";

fn map(pairs: &[(&str, Value)]) -> BTreeMap<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

fn ids(n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("u{i}")).collect()
}

#[test]
fn ops_from_changes_table() {
    struct Case {
        name: &'static str,
        before: Vec<(&'static str, Value)>,
        after: Vec<(&'static str, Value)>,
        want: Value,
    }
    let cases = vec![
        Case {
            name: "nothing changed",
            before: vec![("title", json!("Eng")), ("active", json!(true))],
            after: vec![("title", json!("Eng")), ("active", json!("true"))],
            want: json!([]),
        },
        Case {
            name: "changed value is a replace",
            before: vec![("title", json!("Eng"))],
            after: vec![("title", json!("Senior Eng"))],
            want: json!([{"op": "replace", "path": "title", "value": "Senior Eng"}]),
        },
        Case {
            name: "new simple value is a replace",
            before: vec![],
            after: vec![("name.givenName", json!("Ana"))],
            want: json!([{"op": "replace", "path": "name.givenName", "value": "Ana"}]),
        },
        Case {
            name: "disappeared value is a remove",
            before: vec![("title", json!("Eng")), ("userName", json!("a"))],
            after: vec![("userName", json!("a"))],
            want: json!([{"op": "remove", "path": "title"}]),
        },
        Case {
            name: "null value is a remove",
            before: vec![("title", json!("Eng"))],
            after: vec![("title", Value::Null)],
            want: json!([{"op": "remove", "path": "title"}]),
        },
        Case {
            name: "changed filtered value is a replace at the value path",
            before: vec![("emails[type eq \"work\"].value", json!("a@x"))],
            after: vec![("emails[type eq \"work\"].value", json!("b@x"))],
            want: json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "b@x"}]),
        },
        Case {
            name: "new filtered values are one added entry per selector",
            before: vec![],
            after: vec![
                ("emails[type eq \"work\"].value", json!("a@x")),
                ("emails[type eq \"work\"].display", json!("A")),
                ("phoneNumbers[type eq \"mobile\"].value", json!("+1")),
            ],
            want: json!([
                {"op": "add", "path": "emails", "value": [{"type": "work", "display": "A", "value": "a@x"}]},
                {"op": "add", "path": "phoneNumbers", "value": [{"type": "mobile", "value": "+1"}]}
            ]),
        },
        Case {
            name: "manager is sent as a reference, active as a boolean",
            before: vec![(MANAGER, json!("m1")), ("active", json!(true))],
            after: vec![(MANAGER, json!("m2")), ("active", json!("false"))],
            want: json!([
                {"op": "replace", "path": "active", "value": false},
                {"op": "replace", "path": MANAGER, "value": {"value": "m2"}}
            ]),
        },
        Case {
            name: "replaces, then adds, then removes",
            before: vec![("title", json!("x")), ("displayName", json!("d"))],
            after: vec![
                ("displayName", json!("e")),
                ("emails[type eq \"work\"].value", json!("a@x")),
            ],
            want: json!([
                {"op": "replace", "path": "displayName", "value": "e"},
                {"op": "add", "path": "emails", "value": [{"type": "work", "value": "a@x"}]},
                {"op": "remove", "path": "title"}
            ]),
        },
    ];
    for c in cases {
        let ops = ops_from_changes(&map(&c.before), &map(&c.after)).expect(c.name);
        let got = Value::Array(ops.iter().map(PatchOp::to_json).collect());
        assert_eq!(got, c.want, "case: {}", c.name);
    }
    assert!(ops_from_changes(&map(&[]), &map(&[("bad path!", json!(1))])).is_err());
}

#[test]
fn body_has_the_patch_schema_and_ops_in_order() {
    let body = patch_body(&[
        PatchOp::replace("active", json!(false)),
        PatchOp::add(None, json!({"title": "x"})),
        PatchOp::remove("title"),
    ]);
    assert_eq!(
        body,
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [
                {"op": "replace", "path": "active", "value": false},
                {"op": "add", "value": {"title": "x"}},
                {"op": "remove", "path": "title"}
            ]
        })
    );
}

#[test]
fn member_batches_respect_the_maximum() {
    let table: &[(usize, usize, &[usize])] = &[
        (0, 100, &[]),
        (1, 100, &[1]),
        (100, 100, &[100]),
        (101, 100, &[100, 1]),
        (250, 100, &[100, 100, 50]),
        (3, 0, &[1, 1, 1]),
    ];
    for &(n, max, sizes) in table {
        let adds = member_add_batches(&ids(n), max);
        let got: Vec<usize> = adds
            .iter()
            .map(|ops| {
                assert_eq!(ops.len(), 1);
                ops[0]
                    .value
                    .as_ref()
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len)
            })
            .collect();
        assert_eq!(got, sizes, "add n={n} max={max}");
        let removes = member_remove_batches(&ids(n), max, RemovalForm::ValuePath, true);
        let got: Vec<usize> = removes.iter().map(Vec::len).collect();
        assert_eq!(got, sizes, "remove n={n} max={max}");
    }
    // Every id appears exactly once across the batches, in order.
    let all: Vec<Value> = member_add_batches(&ids(5), 2)
        .into_iter()
        .flat_map(|ops| {
            ops[0]
                .value
                .clone()
                .and_then(|v| v.as_array().cloned())
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(
        all,
        ids(5)
            .iter()
            .map(|i| json!({"value": i}))
            .collect::<Vec<_>>()
    );
}

#[test]
fn member_removal_forms() {
    let two = vec!["u1".to_string(), "a\"b".to_string()];
    let quoted = member_remove_batches(&two, 10, RemovalForm::ValuePath, true);
    assert_eq!(
        Value::Array(quoted[0].iter().map(PatchOp::to_json).collect()),
        json!([
            {"op": "remove", "path": "members[value eq \"u1\"]"},
            {"op": "remove", "path": "members[value eq \"a\\\"b\"]"}
        ])
    );
    let bare = member_remove_batches(&two[..1], 10, RemovalForm::ValuePath, false);
    assert_eq!(bare[0][0].path.as_deref(), Some("members[value eq u1]"));
    let array = member_remove_batches(&two, 10, RemovalForm::ValueArray, true);
    assert_eq!(
        array[0][0].to_json(),
        json!({"op": "remove", "path": "members", "value": [{"value": "u1"}, {"value": "a\"b"}]})
    );
    let adds = member_add_batches(&two[..1], 10);
    assert_eq!(
        adds[0][0].to_json(),
        json!({"op": "add", "path": "members", "value": [{"value": "u1"}]})
    );
}
