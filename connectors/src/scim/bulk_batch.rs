//! The pure arithmetic of SCIM Bulk: batching operations within the app's limits,
//! resolving `bulkId:` references to created ids, and reading operation statuses in the
//! forms apps write them.

use std::collections::BTreeMap;

use serde_json::Value;

use super::value::get_ci;

/// Bytes of the request envelope around the operations.
const ENVELOPE: usize = 128;

/// Replaces `bulkId:X` references by the ids created so far.
pub(super) fn resolve_refs(v: &mut Value, ids: &BTreeMap<String, String>) {
    match v {
        Value::String(s) => {
            if let Some(real) = s.strip_prefix("bulkId:").and_then(|r| ids.get(r)) {
                *s = real.clone();
            } else if s.contains("bulkId:") {
                for (b, real) in ids {
                    *s = s.replace(&format!("bulkId:{b}"), real);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| resolve_refs(x, ids)),
        Value::Object(o) => o.values_mut().for_each(|x| resolve_refs(x, ids)),
        _ => {}
    }
}

/// An operation's status as apps write it: a number, a string, or SCIM 1.1's
/// `{"code": "201"}`; 0 when there is none.
pub(super) fn status_of(v: Option<&Value>) -> u16 {
    match v {
        Some(Value::Number(n)) => n.as_u64().and_then(|n| u16::try_from(n).ok()).unwrap_or(0),
        Some(Value::String(s)) => s.trim().parse().unwrap_or(0),
        // SCIM 1.1 wrote {"code": "201"}.
        Some(Value::Object(o)) => status_of(get_ci(o, "code")),
        _ => 0,
    }
}

/// Splits operation indices into batches within both limits; operations too large on
/// their own are returned apart.
pub(super) fn batches(
    sizes: &[usize],
    max_ops: usize,
    max_bytes: usize,
) -> (Vec<Vec<usize>>, Vec<usize>) {
    let mut out = Vec::new();
    let mut too_big = Vec::new();
    let mut cur = Vec::new();
    let mut bytes = ENVELOPE;
    for (i, &size) in sizes.iter().enumerate() {
        if size + ENVELOPE > max_bytes {
            too_big.push(i);
            continue;
        }
        if !cur.is_empty() && (cur.len() >= max_ops || bytes + size + 1 > max_bytes) {
            out.push(std::mem::take(&mut cur));
            bytes = ENVELOPE;
        }
        bytes += size + 1;
        cur.push(i);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    (out, too_big)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn batches_respect_both_limits() {
        let (b, big) = batches(&[10, 10, 10, 10, 10], 2, 10_000);
        assert_eq!(b, vec![vec![0, 1], vec![2, 3], vec![4]]);
        assert!(big.is_empty());
        // 128 envelope + 3 * (100 + 1) > 400, so two per batch.
        let (b, _) = batches(&[100, 100, 100, 100], 10, 400);
        assert_eq!(b, vec![vec![0, 1], vec![2, 3]]);
        let (b, big) = batches(&[10, 1000, 10], 10, 500);
        assert_eq!(b, vec![vec![0, 2]]);
        assert_eq!(big, vec![1]);
    }

    #[test]
    fn references_and_statuses() {
        let mut ids = BTreeMap::new();
        ids.insert("u1".to_string(), "abc".to_string());
        let mut v = json!({"members": [{"value": "bulkId:u1"}], "path": "/Users/bulkId:u1", "x": "bulkId:u2"});
        resolve_refs(&mut v, &ids);
        assert_eq!(
            v,
            json!({"members": [{"value": "abc"}], "path": "/Users/abc", "x": "bulkId:u2"})
        );
        assert_eq!(status_of(Some(&json!("201"))), 201);
        assert_eq!(status_of(Some(&json!(409))), 409);
        assert_eq!(status_of(Some(&json!({"code": "200"}))), 200);
        assert_eq!(status_of(None), 0);
    }
}
