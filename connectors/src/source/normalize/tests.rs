//! Field mapping, key handling, lifecycle fields and duplicates, on hand-made records.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::*;
use crate::source::config::CommonConfig;

fn common() -> CommonConfig {
    CommonConfig {
        name: "hris".into(),
        key: None,
        priority: 0,
        fields: BTreeMap::new(),
        status_map: BTreeMap::new(),
        required: Vec::new(),
        date_formats: Vec::new(),
        email_fields: Vec::new(),
        webhook: None,
    }
}

fn rec(i: u64, v: Value) -> RawRecord {
    RawRecord {
        position: Position::Line(i + 2),
        value: v,
    }
}

#[test]
fn passthrough_mapping_and_lifecycle_copies() {
    let mut c = common();
    c.fields.insert("email".into(), "work_mail".into());
    c.fields.insert("team".into(), "/org/team".into());
    c.fields.insert("start_date".into(), "hired".into());
    let n = Normalizer::new(&c, "employee_id", &VendorRules::default());
    let read = n.finish(
        vec![rec(
            0,
            json!({
                "employee_id": " E1 ", "email": "stale@corp.example",
                "work_mail": "ana@corp.example", "org": {"team": "Core"},
                "hired": "2024-01-15", "status": "Active", "level": 3, "contractor": false
            }),
        )],
        Vec::new(),
    );
    assert!(read.rejected.is_empty(), "{:?}", read.rejected);
    let p = &read.persons[0];
    assert_eq!(p.key, "E1");
    assert_eq!(p.fields.to_map()["employee_id"], json!("E1"));
    assert_eq!(p.fields.to_map()["email"], json!("ana@corp.example"));
    assert_eq!(p.fields.to_map()["team"], json!("Core"));
    assert_eq!(p.fields.to_map()["status"], json!("active"));
    assert_eq!(p.fields.to_map()["start_date"], json!("2024-01-15"));
    assert_eq!(p.fields.to_map()["level"], json!(3));
    assert_eq!(p.fields.to_map()["contractor"], json!(false));
    assert!(
        !p.fields.contains_key("org"),
        "objects are not passed through"
    );
    assert_eq!(p.status, Lifecycle::Active);
    assert_eq!(p.start_date, chrono::NaiveDate::from_ymd_opt(2024, 1, 15));
}

#[test]
fn configured_mapping_never_falls_back_to_a_same_named_field() {
    let mut c = common();
    c.fields.insert("email".into(), "work_mail".into());
    let n = Normalizer::new(&c, "employee_id", &VendorRules::default());
    let read = n.finish(
        vec![rec(
            0,
            json!({"employee_id": "E1", "email": "old@corp.example"}),
        )],
        Vec::new(),
    );
    assert!(!read.persons[0].fields.contains_key("email"));
}

#[test]
fn vendor_mappings_apply_only_where_their_field_exists() {
    let vendor = VendorRules {
        fields: vec![("email", "Email_Address"), ("employee_id", "Employee_ID")],
        ..VendorRules::default()
    };
    let n = Normalizer::new(&common(), "employee_id", &vendor);
    let read = n.finish(
        vec![
            rec(
                0,
                json!({"Employee_ID": "W1", "Email_Address": "a@corp.example"}),
            ),
            rec(1, json!({"employee_id": "W2", "email": "b@corp.example"})),
        ],
        Vec::new(),
    );
    assert!(read.rejected.is_empty(), "{:?}", read.rejected);
    let keys: Vec<&str> = read.persons.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(keys, ["W1", "W2"]);
    assert_eq!(
        read.persons[0].fields.to_map()["email"],
        json!("a@corp.example")
    );
    assert_eq!(
        read.persons[1].fields.to_map()["email"],
        json!("b@corp.example")
    );
}

#[test]
fn numeric_keys_and_managers_become_text() {
    let n = Normalizer::new(&common(), "id", &VendorRules::default());
    let read = n.finish(vec![rec(0, json!({"id": 42, "manager_id": 7}))], Vec::new());
    let p = &read.persons[0];
    assert_eq!(p.key, "42");
    assert_eq!(p.manager_id.as_deref(), Some("7"));
    assert_eq!(p.fields.to_map()["manager_id"], json!("7"));
}

#[test]
fn status_map_is_case_insensitive_and_overrides_vendor() {
    let mut c = common();
    c.status_map.insert("On Leave".into(), Lifecycle::Leave);
    c.status_map.insert("inactive".into(), Lifecycle::Leave);
    let vendor = VendorRules {
        statuses: vec![("inactive", Lifecycle::Terminated)],
        ..VendorRules::default()
    };
    let n = Normalizer::new(&c, "employee_id", &vendor);
    let read = n.finish(
        vec![
            rec(0, json!({"employee_id": "E1", "status": "ON LEAVE"})),
            rec(1, json!({"employee_id": "E2", "status": "Inactive"})),
            rec(2, json!({"employee_id": "E3", "status": "TERMINATED"})),
            rec(3, json!({"employee_id": "E4"})),
        ],
        Vec::new(),
    );
    let st: Vec<Lifecycle> = read.persons.iter().map(|p| p.status).collect();
    assert_eq!(
        st,
        [
            Lifecycle::Leave,
            Lifecycle::Leave,
            Lifecycle::Terminated,
            Lifecycle::Active
        ]
    );
}

#[test]
fn three_records_with_one_key_are_all_set_aside() {
    let n = Normalizer::new(&common(), "employee_id", &VendorRules::default());
    let read = n.finish(
        vec![
            rec(0, json!({"employee_id": "E1"})),
            rec(1, json!({"employee_id": "E2"})),
            rec(2, json!({"employee_id": "E1 "})),
            rec(3, json!({"employee_id": "E1", "email": "bad@"})),
        ],
        Vec::new(),
    );
    assert_eq!(read.persons.len(), 1);
    assert_eq!(read.persons[0].key, "E2");
    let reasons: Vec<String> = read.rejected.iter().map(|r| r.reason.clone()).collect();
    assert_eq!(
        reasons,
        [
            "duplicate key (also at line 4, line 5)",
            "duplicate key (also at line 2, line 5)",
            "duplicate key (also at line 2, line 4)",
        ]
    );
    assert!(read.rejected.iter().all(|r| r.key.as_deref() == Some("E1")));
}

#[test]
fn problems_found_while_reading_are_kept_in_order() {
    let n = Normalizer::new(&common(), "employee_id", &VendorRules::default());
    let early = n.reject(Position::Line(3), None, None, "row has 2 columns");
    let read = n.finish(
        vec![
            rec(5, json!({"employee_id": ""})),
            rec(0, json!({"employee_id": "E9"})),
        ],
        vec![early],
    );
    assert_eq!(read.persons.len(), 1);
    let at: Vec<String> = read
        .rejected
        .iter()
        .map(|r| r.position.to_string())
        .collect();
    assert_eq!(at, ["line 3", "line 7"]);
    assert_eq!(
        read.rejected[1].reason,
        "missing key (field `employee_id` is empty)"
    );
    assert_eq!(read.rejected[1].field.as_deref(), Some("employee_id"));
}

#[test]
fn lists_are_normalised_element_by_element() {
    let n = Normalizer::new(&common(), "employee_id", &VendorRules::default());
    let read = n.finish(
        vec![rec(
            0,
            json!({"employee_id": "E1", "groups": [" eng ", "", "ops"]}),
        )],
        Vec::new(),
    );
    assert_eq!(
        read.persons[0].fields.to_map()["groups"],
        json!(["eng", "ops"])
    );
}

/// A read large enough to be normalised on every core gives exactly what normalising its
/// records one after another gives: the same persons, rejections and order, duplicates
/// across the parts included.
#[test]
fn a_large_read_normalised_on_every_core_is_the_read_normalised_in_order() {
    let n = Normalizer::new(&common(), "employee_id", &VendorRules::default());
    let count = PARALLEL_FROM as u64 + 5_000;
    let records: Vec<RawRecord> = (0..count)
        .map(|i| {
            // One key twice, far apart; every 997th record without a key.
            let key = match i {
                3 => "E0000042".to_string(),
                _ if i % 997 == 0 => String::new(),
                _ => format!("E{i:07}"),
            };
            rec(
                i,
                json!({"employee_id": key, "email": format!("p{i}@corp.example")}),
            )
        })
        .collect();
    let one_by_one: Vec<_> = records
        .iter()
        .cloned()
        .map(|r| {
            let pos = r.position.clone();
            let (key, result) = n.record(r);
            (pos, key, result)
        })
        .collect();
    assert_eq!(n.records(records.clone()), one_by_one);
    let read = n.finish(records, Vec::new());
    let dup = |r: &&Rejected| r.key.as_deref() == Some("E0000042");
    assert_eq!(read.rejected.iter().filter(dup).count(), 2);
    let no_key = (0..count).filter(|i| i % 997 == 0 && *i != 3).count();
    assert_eq!(read.rejected.len(), 2 + no_key);
    assert_eq!(read.persons.len(), count as usize - 2 - no_key);
    assert!(read.persons.windows(2).all(|w| w[0].key < w[1].key));
    assert!(read
        .rejected
        .windows(2)
        .all(|w| w[0].position <= w[1].position));
}
