//! What a webhook's body says changed: the HR keys it names, in hrsync's own shape
//! (`{"keys": [...]}`) or BambooHR's (`{"employees": [{"id": ...}, ...]}`).

use serde_json::Value;

/// The largest body a hook may have (1 MiB); larger ones are refused with 413.
pub const MAX_BODY: usize = 1024 * 1024;

/// The HR keys the body names, in order, without repeats. A body that names none (or is
/// not JSON at all) yields none: the hook then asks for a cycle over everyone.
pub fn changed_keys(body: &[u8]) -> Vec<String> {
    let Ok(doc) = serde_json::from_slice::<Value>(body) else {
        return Vec::new();
    };
    let named = doc
        .get("keys")
        .and_then(Value::as_array)
        .map(|keys| keys.iter().filter_map(plain).collect::<Vec<String>>());
    let employees = doc.get("employees").and_then(Value::as_array).map(|es| {
        es.iter()
            .filter_map(|e| e.get("id").and_then(plain))
            .collect::<Vec<String>>()
    });
    let mut out: Vec<String> = Vec::new();
    for k in named.into_iter().chain(employees).flatten() {
        if !out.contains(&k) {
            out.push(k);
        }
    }
    out
}

/// A key as text: HR systems send ids as strings or as numbers.
fn plain(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::changed_keys;

    #[test]
    fn keys_come_from_either_shape_and_anything_else_names_none() {
        assert_eq!(
            changed_keys(br#"{"keys": ["E1", "E2", "E1"]}"#),
            ["E1", "E2"]
        );
        assert_eq!(
            changed_keys(br#"{"employees": [{"id": "7", "action": "Updated"}, {"id": 12}]}"#),
            ["7", "12"]
        );
        assert!(changed_keys(br#"{"something": 1}"#).is_empty());
        assert!(changed_keys(b"not json").is_empty());
        assert!(changed_keys(br#"{"keys": [null, {"a": 1}, " "]}"#).is_empty());
    }
}
