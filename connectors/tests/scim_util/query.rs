//! Query strings and the few filters the fake understands: `attr eq value` terms joined by
//! `and`, on userName, externalId, id, displayName and emails.value, parsed from the JSON
//! string literal exactly as a server would (so escaping bugs show up as mismatches).

use std::collections::BTreeMap;

use serde_json::Value;

/// Decodes a query string.
pub fn parse_query(q: Option<&str>) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(q.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

fn closing_quote(s: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in s.char_indices().skip(1) {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return Some(i),
            _ => {}
        }
    }
    None
}

/// Parses a filter into (attribute, value) terms.
pub fn parse_filter(filter: &str) -> Result<Vec<(String, Value)>, String> {
    let mut terms = Vec::new();
    let mut rest = filter.trim();
    loop {
        let sp = rest.find(' ').ok_or("incomplete filter")?;
        let attr = rest[..sp].to_string();
        rest = rest[sp..].trim_start();
        let op = rest.get(..3).ok_or("incomplete filter")?;
        if !op.eq_ignore_ascii_case("eq ") {
            return Err(format!("unsupported operator in {filter:?}"));
        }
        rest = rest[3..].trim_start();
        let value = if rest.starts_with('"') {
            let end = closing_quote(rest).ok_or("unterminated string")?;
            let v: Value = serde_json::from_str(&rest[..=end]).map_err(|e| e.to_string())?;
            rest = &rest[end + 1..];
            v
        } else {
            let end = rest.find(' ').unwrap_or(rest.len());
            let v = serde_json::from_str(&rest[..end]).map_err(|e| e.to_string())?;
            rest = &rest[end..];
            v
        };
        terms.push((attr, value));
        rest = rest.trim_start();
        if rest.is_empty() {
            return Ok(terms);
        }
        let and = rest.get(..4).ok_or("trailing text")?;
        if !and.eq_ignore_ascii_case("and ") {
            return Err(format!("unexpected {rest:?}"));
        }
        rest = &rest[4..];
    }
}

fn get<'a>(r: &'a Value, key: &str) -> Option<&'a Value> {
    r.as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

/// Whether a resource matches the filter; `Err` for filters the fake does not support.
pub fn eval_filter(filter: &str, r: &Value) -> Result<bool, String> {
    for (attr, want) in parse_filter(filter)? {
        let want_s = want.as_str().unwrap_or_default();
        let ok = match attr.to_ascii_lowercase().as_str() {
            "externalid" | "id" => get(r, &attr).and_then(Value::as_str) == Some(want_s),
            "username" | "displayname" => get(r, &attr)
                .and_then(Value::as_str)
                .is_some_and(|v| v.eq_ignore_ascii_case(want_s)),
            "emails.value" => get(r, "emails")
                .and_then(Value::as_array)
                .is_some_and(|es| {
                    es.iter().any(|e| {
                        get(e, "value")
                            .and_then(Value::as_str)
                            .is_some_and(|v| v.eq_ignore_ascii_case(want_s))
                    })
                }),
            other => return Err(format!("cannot filter on {other}")),
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}
