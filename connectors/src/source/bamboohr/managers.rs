//! `supervisorEId` names the supervisor by BambooHR id. When persons are keyed by another
//! field (e.g. `employeeNumber`), the manager must be named by that key instead, so that
//! `manager_id` points at a person of the same source.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::source::normalize::{lookup, RawRecord};

/// The BambooHR field naming the supervisor's id.
pub const SUPERVISOR_FIELD: &str = "supervisorEId";

/// Text of a scalar value ("" for anything else).
pub fn text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.trim().to_string(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

/// id → key of every record that has both.
pub fn keys_by_id(records: &[RawRecord], key_spec: &str) -> BTreeMap<String, Value> {
    records
        .iter()
        .filter_map(|r| {
            let obj = r.value.as_object()?;
            let id = text(obj.get("id"));
            let key = lookup(obj, key_spec)?;
            (!id.is_empty() && !key.is_null()).then(|| (id, key.clone()))
        })
        .collect()
}

/// Supervisor ids in `records` that `known` cannot translate.
pub fn unresolved(records: &[RawRecord], known: &BTreeMap<String, Value>) -> BTreeSet<String> {
    records
        .iter()
        .filter_map(|r| r.value.as_object())
        .map(|o| text(o.get(SUPERVISOR_FIELD)))
        .filter(|id| !id.is_empty() && !known.contains_key(id))
        .collect()
}

/// Rewrites each supervisor id to the supervisor's key; an id that cannot be translated
/// is removed (no manager is better than a manager pointing at the wrong person).
pub fn translate(records: &mut [RawRecord], known: &BTreeMap<String, Value>) {
    for r in records.iter_mut() {
        let Some(obj) = r.value.as_object_mut() else {
            continue;
        };
        let id = text(obj.get(SUPERVISOR_FIELD));
        if id.is_empty() {
            continue;
        }
        match known.get(&id) {
            Some(key) => {
                obj.insert(SUPERVISOR_FIELD.into(), key.clone());
            }
            None => {
                tracing::warn!(supervisor = %id, "Supervisor not found; manager left empty.");
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
    fn supervisor_ids_become_keys_or_nothing() {
        let rec = |v| RawRecord {
            position: Position::Index(0),
            value: v,
        };
        let mut records = vec![
            rec(json!({"id": "1", "employeeNumber": "E-1"})),
            rec(json!({"id": "2", "employeeNumber": "E-2", "supervisorEId": "1"})),
            rec(json!({"id": "3", "employeeNumber": "E-3", "supervisorEId": 9})),
        ];
        let known = keys_by_id(&records, "employeeNumber");
        assert_eq!(
            unresolved(&records, &known),
            BTreeSet::from(["9".to_string()])
        );
        translate(&mut records, &known);
        assert_eq!(records[1].value["supervisorEId"], json!("E-1"));
        assert!(records[2].value.get("supervisorEId").is_none());
    }
}
