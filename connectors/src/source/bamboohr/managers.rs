//! `supervisorEId` names the supervisor by employee number (`employeeNumber`, the number
//! the company assigns), not by BambooHR's internal `id`. Unless persons are keyed by the
//! employee number, the manager must be named by the supervisor's key instead, so that
//! `manager_id` points at a person of the same source whichever field is the key.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::source::normalize::{lookup, RawRecord};

/// The BambooHR field naming the supervisor's employee number.
pub const SUPERVISOR_FIELD: &str = "supervisorEId";

/// The BambooHR field holding an employee's number, which `supervisorEId` refers to.
pub const NUMBER_FIELD: &str = "employeeNumber";

/// Text of a scalar value ("" for anything else).
pub fn text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.trim().to_string(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

/// Employee number → key of every record that has both.
pub fn keys_by_number(records: &[RawRecord], key_spec: &str) -> BTreeMap<String, Value> {
    records
        .iter()
        .filter_map(|r| {
            let obj = r.value.as_object()?;
            let number = text(obj.get(NUMBER_FIELD));
            let key = lookup(obj, key_spec)?;
            (!number.is_empty() && !key.is_null()).then(|| (number, key.clone()))
        })
        .collect()
}

/// Supervisor numbers in `records` that `known` cannot translate.
pub fn unresolved(records: &[RawRecord], known: &BTreeMap<String, Value>) -> BTreeSet<String> {
    records
        .iter()
        .filter_map(|r| r.value.as_object())
        .map(|o| text(o.get(SUPERVISOR_FIELD)))
        .filter(|n| !n.is_empty() && !known.contains_key(n))
        .collect()
}

/// Rewrites each supervisor number to the supervisor's key; a number that cannot be
/// translated is removed (no manager is better than a manager pointing at the wrong person).
pub fn translate(records: &mut [RawRecord], known: &BTreeMap<String, Value>) {
    for r in records.iter_mut() {
        let Some(obj) = r.value.as_object_mut() else {
            continue;
        };
        let number = text(obj.get(SUPERVISOR_FIELD));
        if number.is_empty() {
            continue;
        }
        match known.get(&number) {
            Some(key) => {
                obj.insert(SUPERVISOR_FIELD.into(), key.clone());
            }
            None => {
                tracing::warn!(
                    supervisor = %number,
                    "No employee has the supervisor's employee number; manager left empty."
                );
                obj.remove(SUPERVISOR_FIELD);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Position;
    use serde_json::json;

    #[test]
    fn supervisor_numbers_become_keys_or_nothing() {
        let rec = |v| RawRecord {
            position: Position::Index(0),
            value: v,
        };
        // Numbers and ids overlap on purpose: employee number "1" is the person whose id
        // is "7", so reading the number as an id would name the wrong manager.
        let mut records = vec![
            rec(json!({"id": "7", "employeeNumber": "1", "workEmail": "ana@corp.example"})),
            rec(json!({"id": "1", "employeeNumber": "2", "supervisorEId": "1"})),
            rec(json!({"id": "3", "employeeNumber": "3", "supervisorEId": 9})),
        ];
        let known = keys_by_number(&records, "id");
        assert_eq!(
            unresolved(&records, &known),
            BTreeSet::from(["9".to_string()])
        );
        translate(&mut records, &known);
        assert_eq!(records[1].value["supervisorEId"], json!("7"));
        assert!(records[2].value.get("supervisorEId").is_none());
        let by_email = keys_by_number(&records, "workEmail");
        assert_eq!(by_email.get("1"), Some(&json!("ana@corp.example")));
        assert_eq!(
            by_email.len(),
            1,
            "records without the key field are left out"
        );
    }
}
