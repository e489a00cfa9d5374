//! SCIM JSON values as the RFC asks them read and written: attribute names looked up
//! case-insensitively, values compared case-insensitively, and strings rendered as
//! filter literals that no value can break out of.

use serde_json::{Map, Value};

/// Case-insensitive key lookup (RFC 7643 §2.1: attribute names are case-insensitive);
/// an exact match wins.
pub(crate) fn get_ci<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).or_else(|| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// The key under which `key` is stored in `obj`, whatever its case.
pub(crate) fn key_ci(obj: &Map<String, Value>, key: &str) -> String {
    if obj.contains_key(key) {
        return key.to_string();
    }
    obj.keys()
        .find(|k| k.eq_ignore_ascii_case(key))
        .cloned()
        .unwrap_or_else(|| key.to_string())
}

/// Compares two JSON values, strings case-insensitively.
pub(crate) fn values_equal_ci(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) => x.to_lowercase() == y.to_lowercase(),
        (Value::Bool(x), Value::String(y)) | (Value::String(y), Value::Bool(x)) => {
            y.eq_ignore_ascii_case(if *x { "true" } else { "false" })
        }
        _ => a == b,
    }
}

/// Renders a string as a filter literal: a JSON string in double quotes, with `"` and `\`
/// escaped, control characters escaped, and every other character (unicode) kept as is.
/// URL-encoding is a separate, later step, done when the filter goes into the query.
pub fn escape_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_table() {
        let table: &[(&str, &str)] = &[
            ("plain@corp.example", r#""plain@corp.example""#),
            ("", r#""""#),
            (r#"say "hi""#, r#""say \"hi\"""#),
            (r"back\slash", r#""back\\slash""#),
            (r#"\""#, r#""\\\"""#),
            ("Zoë Ğüneş 山田 😀", "\"Zoë Ğüneş 山田 😀\""),
            ("line\nbreak\ttab\rcr", r#""line\nbreak\ttab\rcr""#),
            (
                "nul\u{0}bell\u{7}esc\u{1b}",
                r#""nul\u0000bell\u0007esc\u001b""#,
            ),
            ("\u{8}\u{c}\u{7f}", r#""\b\f\u007f""#),
            (r#"x" or userName pr or ""#, r#""x\" or userName pr or \"""#),
            (r#"a") or (id pr"#, r#""a\") or (id pr""#),
            ("it's", r#""it's""#),
            ("a]b[c", r#""a]b[c""#),
        ];
        for (input, want) in table {
            let got = escape_string(input);
            assert_eq!(&got, want, "input {input:?}");
            // What a server parses back must be exactly the input: the value cannot escape.
            let back: String = serde_json::from_str(&got).expect("valid JSON string");
            assert_eq!(&back, input);
        }
    }
}
