//! Finding a source field in a raw record: by exact name, RFC 6901 JSON pointer
//! (`/work/email`) or dotted path (`work.email`, array indexes as numbers).

use serde_json::{Map, Value};

use super::{cut, RawRecord};

/// Looks `spec` up in `record`. An exact top-level name wins over pointer and path
/// readings, so a CSV column literally named `a.b` is still found.
pub fn lookup<'a>(record: &'a Map<String, Value>, spec: &str) -> Option<&'a Value> {
    if let Some(v) = record.get(spec) {
        return Some(v);
    }
    if let Some(rest) = spec.strip_prefix('/') {
        let mut tokens = rest.split('/').map(unescape);
        let first = tokens.next()?;
        let mut cur = record.get(first.as_str())?;
        for t in tokens {
            cur = step(cur, &t)?;
        }
        return Some(cur);
    }
    if spec.contains('.') {
        let mut parts = spec.split('.');
        let first = parts.next()?;
        let mut cur = record.get(first)?;
        for p in parts {
            cur = step(cur, p)?;
        }
        return Some(cur);
    }
    None
}

/// One warning per mapping (hrsync field, source field) that no record of a read has at
/// all, not even empty: a misspelt column or JSON pointer, which would otherwise read as
/// "nobody has this field" and clear it in every app.
pub(super) fn unresolved(mappings: &[(String, String)], records: &[RawRecord]) -> Vec<String> {
    let objects: Vec<&Map<String, Value>> =
        records.iter().filter_map(|r| r.value.as_object()).collect();
    if objects.is_empty() {
        return Vec::new();
    }
    mappings
        .iter()
        .filter(|(_, spec)| objects.iter().all(|o| lookup(o, spec).is_none()))
        .map(|(field, spec)| {
            format!(
                "fields.{field} = {:?} resolves to nothing in any of the {} records read (a wrong column or JSON pointer?)",
                cut(spec, 200),
                objects.len()
            )
        })
        .collect()
}

/// Resolves an RFC 6901 pointer against any value ("" is the value itself).
pub fn pointer<'a>(value: &'a Value, ptr: &str) -> Option<&'a Value> {
    if ptr.is_empty() {
        return Some(value);
    }
    let rest = ptr.strip_prefix('/')?;
    let mut cur = value;
    for t in rest.split('/').map(unescape) {
        cur = step(cur, &t)?;
    }
    Some(cur)
}

fn step<'a>(v: &'a Value, token: &str) -> Option<&'a Value> {
    match v {
        Value::Object(m) => m.get(token),
        Value::Array(a) => {
            // RFC 6901: indexes are decimal without leading zeros.
            if token.len() > 1 && token.starts_with('0') {
                return None;
            }
            a.get(token.parse::<usize>().ok()?)
        }
        _ => None,
    }
}

fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn name_pointer_and_dotted_path() {
        let r = obj(json!({
            "a.b": "literal",
            "a": {"b": "nested", "x/y": 1, "m~n": 2},
            "list": [{"v": "first"}, {"v": "second"}]
        }));
        assert_eq!(lookup(&r, "a.b"), Some(&json!("literal")));
        assert_eq!(lookup(&r, "/a/b"), Some(&json!("nested")));
        assert_eq!(lookup(&r, "/a/x~1y"), Some(&json!(1)));
        assert_eq!(lookup(&r, "/a/m~0n"), Some(&json!(2)));
        assert_eq!(lookup(&r, "list.1.v"), Some(&json!("second")));
        assert_eq!(lookup(&r, "/list/0/v"), Some(&json!("first")));
        assert_eq!(lookup(&r, "/list/01/v"), None);
        assert_eq!(lookup(&r, "missing"), None);
        assert_eq!(lookup(&r, "a.missing"), None);
        assert_eq!(pointer(&json!({"d": [1]}), "/d/0"), Some(&json!(1)));
        assert_eq!(pointer(&json!([1]), ""), Some(&json!([1])));
    }
}
