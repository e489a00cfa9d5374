//! RFC 8288 `Link` header parsing: finds the target of `rel="next"`.

/// The `rel="next"` target among all `Link` header values, as written (maybe relative).
pub fn next_link<'a>(values: impl IntoIterator<Item = &'a str>) -> Option<String> {
    for value in values {
        for (target, params) in parse(value) {
            let is_next = params.iter().any(|(name, v)| {
                name.eq_ignore_ascii_case("rel")
                    && v.split_ascii_whitespace()
                        .any(|r| r.eq_ignore_ascii_case("next"))
            });
            if is_next {
                return Some(target);
            }
        }
    }
    None
}

/// One link-value: its target and its `(param, value)` pairs.
type LinkValue = (String, Vec<(String, String)>);

/// Splits one header value into link-values. Malformed parts are skipped rather than
/// guessed at.
fn parse(value: &str) -> Vec<LinkValue> {
    let mut out = Vec::new();
    let mut rest = value;
    loop {
        rest = rest.trim_start_matches(|c: char| c == ',' || c.is_whitespace());
        let Some((target, after)) = target(rest) else {
            break;
        };
        let (params, after) = params(after);
        rest = after;
        out.push((target, params));
        // Anything but a comma or the end means a malformed remainder: stop rather than
        // misread it.
        if !rest.trim_start().starts_with(',') && !rest.trim().is_empty() {
            break;
        }
    }
    out
}

/// The `<target>` at the start of `rest`, and what follows it.
fn target(rest: &str) -> Option<(String, &str)> {
    let after_lt = rest.strip_prefix('<')?;
    let end = after_lt.find('>')?;
    Some((after_lt[..end].trim().to_string(), &after_lt[end + 1..]))
}

/// The `; name=value` parameters after a target, and what follows them.
fn params(mut rest: &str) -> (Vec<(String, String)>, &str) {
    let mut params = Vec::new();
    loop {
        rest = rest.trim_start();
        let Some(after_semi) = rest.strip_prefix(';') else {
            break;
        };
        rest = after_semi.trim_start();
        let name_end = rest
            .find(|c: char| c == '=' || c == ';' || c == ',' || c.is_whitespace())
            .unwrap_or(rest.len());
        let name = rest[..name_end].to_string();
        rest = rest[name_end..].trim_start();
        let mut val = String::new();
        if let Some(after_eq) = rest.strip_prefix('=') {
            (val, rest) = param_value(after_eq.trim_start());
        }
        if !name.is_empty() {
            params.push((name, val));
        }
    }
    (params, rest)
}

/// A parameter value, quoted (with backslash escapes) or bare, and what follows it.
fn param_value(rest: &str) -> (String, &str) {
    let Some(q) = rest.strip_prefix('"') else {
        let end = rest.find([';', ',']).unwrap_or(rest.len());
        return (rest[..end].trim().to_string(), &rest[end..]);
    };
    let mut val = String::new();
    let mut chars = q.char_indices();
    let mut consumed = q.len();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                if let Some((_, e)) = chars.next() {
                    val.push(e);
                }
            }
            '"' => {
                consumed = i + 1;
                break;
            }
            c => val.push(c),
        }
    }
    (val, &q[consumed..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_next_among_several_links() {
        let h = r#"<https://api.example/users?page=1>; rel="first", <https://api.example/users?page=3>; rel="next", <https://api.example/users?page=9>; rel="last""#;
        assert_eq!(
            next_link([h]).as_deref(),
            Some("https://api.example/users?page=3")
        );
    }

    #[test]
    fn unquoted_multi_rel_and_separate_headers() {
        assert_eq!(next_link(["</p2>; rel=next"]).as_deref(), Some("/p2"));
        assert_eq!(
            next_link([
                r#"</a>; rel="prev""#,
                r#"</b>; title="x, y"; rel="last next""#
            ])
            .as_deref(),
            Some("/b")
        );
        assert_eq!(next_link([r#"</a>; rel="prev""#]), None);
        assert_eq!(next_link(["garbage"]), None);
    }
}
