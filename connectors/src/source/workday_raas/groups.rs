//! Flattening Workday `*_group` arrays (multi-instance fields) into single values by the
//! configured rules: the first entry, all entries joined, or the entry matching a value.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::source::config::GroupRule;
use crate::source::normalize::lookup;

/// Adds each rule's flattened value to `record` under the rule's output name (nothing
/// when the group is absent or no entry qualifies).
pub fn flatten(record: &mut Map<String, Value>, rules: &BTreeMap<String, GroupRule>) {
    for (group, rule) in rules {
        let entries: Vec<&Value> = match record.get(group) {
            Some(Value::Array(a)) => a.iter().collect(),
            // A group with one instance sometimes arrives as a bare object.
            Some(v @ Value::Object(_)) => vec![v],
            _ => continue,
        };
        let value = match rule {
            GroupRule::First { field, .. } => entries.iter().find_map(|e| text(e, field)),
            GroupRule::Join {
                field, separator, ..
            } => {
                let parts: Vec<String> = entries.iter().filter_map(|e| text(e, field)).collect();
                (!parts.is_empty()).then(|| parts.join(separator))
            }
            GroupRule::Where {
                field,
                where_field,
                equals,
                ..
            } => entries
                .iter()
                .find(|e| {
                    text(e, where_field)
                        .is_some_and(|v| v.trim().eq_ignore_ascii_case(equals.trim()))
                })
                .and_then(|e| text(e, field)),
        };
        if let Some(v) = value {
            record.insert(rule.output_name(group), Value::String(v));
        }
    }
}

fn text(entry: &Value, field: &str) -> Option<String> {
    let obj = entry.as_object()?;
    match lookup(obj, field)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn first_join_and_where() {
        let mut rec = match json!({
            "Email_group": [
                {"Email_Address": "home@mail.example", "Usage_Type": "HOME"},
                {"Email_Address": "ana@corp.example", "Usage_Type": "Work"}
            ],
            "Org_group": [{"Org": "Eng"}, {"Org": "Platform"}],
            "Phone_group": {"Phone": "+1 555"}
        }) {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        let mut rules = BTreeMap::new();
        rules.insert(
            "Email_group".to_string(),
            GroupRule::Where {
                field: "Email_Address".into(),
                where_field: "Usage_Type".into(),
                equals: "WORK".into(),
                into: Some("email".into()),
            },
        );
        rules.insert(
            "Org_group".to_string(),
            GroupRule::Join {
                field: "Org".into(),
                separator: " / ".into(),
                into: None,
            },
        );
        rules.insert(
            "Phone_group".to_string(),
            GroupRule::First {
                field: "Phone".into(),
                into: None,
            },
        );
        flatten(&mut rec, &rules);
        assert_eq!(rec.get("email"), Some(&json!("ana@corp.example")));
        assert_eq!(rec.get("Org"), Some(&json!("Eng / Platform")));
        assert_eq!(rec.get("Phone"), Some(&json!("+1 555")));
    }
}
