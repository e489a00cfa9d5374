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

/// Splits one header value into `(target, [(param, value)])` link-values. Malformed
/// parts are skipped rather than guessed at.
fn parse(value: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut out = Vec::new();
    let mut rest = value;
    loop {
        rest = rest.trim_start_matches(|c: char| c == ',' || c.is_whitespace());
        let Some(after_lt) = rest.strip_prefix('<') else {
            break;
        };
        let Some(end) = after_lt.find('>') else {
            break;
        };
        let target = after_lt[..end].trim().to_string();
        rest = &after_lt[end + 1..];
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
                rest = after_eq.trim_start();
                if let Some(q) = rest.strip_prefix('"') {
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
                    rest = &q[consumed..];
                } else {
                    let end = rest.find([';', ',']).unwrap_or(rest.len());
                    val = rest[..end].trim().to_string();
                    rest = &rest[end..];
                }
            }
            if !name.is_empty() {
                params.push((name, val));
            }
        }
        out.push((target, params));
        if !rest.trim_start().starts_with(',') {
            // Anything else means a malformed remainder: stop rather than misread it.
            if !rest.trim().is_empty() {
                break;
            }
        }
    }
    out
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
