//! What every network source shares: sending through [`HttpClient`], turning statuses and
//! bodies into one-line [`SourceError`]s that name the source, and guarding against
//! paging that repeats itself.

use std::collections::BTreeMap;

use reqwest::StatusCode;
use serde_json::Value;
use sha2::{Digest, Sha256};
use url::Url;

use super::SourceError;
use crate::http::{redact_url, HttpClient, HttpError, Request, Response};
use crate::redact::{network_bytes, network_text};

/// Longest server text quoted in an error.
const EXCERPT_CHARS: usize = 200;
/// Room for a quoted server text and its cut marker, so `one_line` does not cut it again.
const CUT_CHARS: usize = EXCERPT_CHARS + 60;

/// One source's HTTP endpoint.
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    /// Source name, for errors.
    pub source: String,
    /// The authenticated, retrying client.
    pub client: HttpClient,
    /// A header in which the vendor explains errors (BambooHR's `X-BambooHR-Error-Message`).
    pub error_header: Option<&'static str>,
}

impl Endpoint {
    /// An endpoint for `source`.
    pub fn new(source: &str, client: HttpClient) -> Self {
        Endpoint {
            source: source.to_string(),
            client,
            error_header: None,
        }
    }

    /// Sends a request; transport failures (after retries) become [`SourceError`]s.
    pub async fn send(&self, req: &Request) -> Result<Response, SourceError> {
        self.client.send(req).await.map_err(|e| self.transport(e))
    }

    /// Sends a request and reads a 2xx JSON body; any other outcome is an error.
    pub async fn json(&self, req: &Request, what: &str) -> Result<(Response, Value), SourceError> {
        let resp = self.send(req).await?;
        if !resp.status.is_success() {
            return Err(self.status_error(&resp, &req.url, what));
        }
        let value = self.parse(&resp, what)?;
        Ok((resp, value))
    }

    /// Maps a transport-level error.
    pub fn transport(&self, e: HttpError) -> SourceError {
        let message = one_line(&network_text(&e.to_string(), 400), CUT_CHARS + 200);
        match e {
            HttpError::Auth(_) => SourceError::Unauthorized {
                source_name: self.source.clone(),
                message,
            },
            HttpError::Transport { .. } => SourceError::Transport {
                source_name: self.source.clone(),
                message,
            },
            HttpError::InsecureUrl(_) | HttpError::Build(_) => SourceError::Unreadable {
                source_name: self.source.clone(),
                message,
            },
        }
    }

    /// The error for a non-2xx answer, by what the engine should do about it.
    pub fn status_error(&self, resp: &Response, url: &Url, what: &str) -> SourceError {
        let detail = self.detail(resp);
        let status = resp.status;
        let at = format!("{what} ({})", redact_url(url));
        let source_name = self.source.clone();
        match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => SourceError::Unauthorized {
                source_name,
                message: format!("HTTP {} from {at}{detail}", status.as_u16()),
            },
            s if s == StatusCode::TOO_MANY_REQUESTS || s.is_server_error() => {
                SourceError::Transport {
                    source_name,
                    message: format!(
                        "HTTP {} from {at} after {} attempt(s){detail}",
                        s.as_u16(),
                        resp.attempts
                    ),
                }
            }
            s if s.is_redirection() => {
                let to = resp
                    .headers
                    .get(reqwest::header::LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .and_then(|l| url.join(l).ok())
                    .map(|u| redact_url(&u))
                    .unwrap_or_else(|| "nowhere".into());
                SourceError::InvalidResponse {
                    source_name,
                    message: format!(
                        "unexpected redirect (HTTP {}) from {at} to {to}",
                        s.as_u16()
                    ),
                }
            }
            s => SourceError::InvalidResponse {
                source_name,
                message: format!("HTTP {} from {at}{detail}", s.as_u16()),
            },
        }
    }

    fn detail(&self, resp: &Response) -> String {
        if let Some(h) = self.error_header {
            if let Some(v) = resp.headers.get(h).and_then(|v| v.to_str().ok()) {
                if !v.trim().is_empty() {
                    return format!(
                        ": {h}: {}",
                        one_line(&network_text(v, EXCERPT_CHARS), CUT_CHARS)
                    );
                }
            }
        }
        let body = one_line(&network_bytes(&resp.body, EXCERPT_CHARS), CUT_CHARS);
        if body.is_empty() {
            String::new()
        } else {
            format!(": {body}")
        }
    }

    /// Parses a body as JSON, naming what is wrong with it.
    pub fn parse(&self, resp: &Response, what: &str) -> Result<Value, SourceError> {
        parse_json(&resp.body).map_err(|m| self.invalid(format!("{what}: {m}")))
    }

    /// An [`SourceError::InvalidResponse`] for this source.
    pub fn invalid(&self, message: impl std::fmt::Display) -> SourceError {
        SourceError::InvalidResponse {
            source_name: self.source.clone(),
            message: one_line(&message.to_string(), 600),
        }
    }
}

/// What is wrong with a response body or the run of pages, found while reading: the read
/// fails as an invalid response and the cycle aborts, never taken for "fewer persons".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Malformed {
    /// Nothing came back.
    #[error("empty response body, expected JSON")]
    EmptyBody,
    /// An HTML or XML page (a login or maintenance page) instead of JSON.
    #[error("response is HTML/XML, not JSON: {0}")]
    Markup(String),
    /// The JSON breaks off.
    #[error("truncated JSON (ends at line {line} column {column})")]
    Truncated {
        /// Line where it ends.
        line: usize,
        /// Column where it ends.
        column: usize,
    },
    /// Not JSON for another reason (the parser's message).
    #[error("response is not valid JSON: {0}")]
    NotJson(String),
    /// More pages than `max_pages`.
    #[error("more than {0} pages (max_pages); the paging does not end")]
    Runaway(u32),
    /// A non-empty page equal to an earlier one.
    #[error("page {page} repeats page {first} (the server ignored the paging parameters)")]
    RepeatedPage {
        /// This page.
        page: u32,
        /// The page it repeats.
        first: u32,
    },
    /// A count header that is not a non-negative number.
    #[error("header {name} is not a count: {value}")]
    HeaderCount {
        /// The header.
        name: String,
        /// Its value, quoted.
        value: String,
    },
    /// A count in the body that is not a non-negative number.
    #[error("{pointer} is not a count: {value}")]
    PointerCount {
        /// Where it sits.
        pointer: String,
        /// What is there.
        value: String,
    },
}

/// Parses JSON; the error says whether it was empty, HTML, truncated or otherwise broken.
pub(crate) fn parse_json(body: &[u8]) -> Result<Value, Malformed> {
    let text = String::from_utf8_lossy(body);
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        return Err(Malformed::EmptyBody);
    }
    if trimmed.starts_with('<') {
        return Err(Malformed::Markup(one_line(
            &network_text(trimmed, 120),
            CUT_CHARS,
        )));
    }
    serde_json::from_slice(body).map_err(|e| {
        if e.is_eof() {
            Malformed::Truncated {
                line: e.line(),
                column: e.column(),
            }
        } else {
            Malformed::NotJson(e.to_string())
        }
    })
}

/// Collapses whitespace (newlines included) and bounds the length, for one-line errors.
pub(crate) fn one_line(s: &str, max_chars: usize) -> String {
    let mut out = String::new();
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    if out.chars().count() > max_chars {
        let mut cut: String = out.chars().take(max_chars).collect();
        cut.push('…');
        return cut;
    }
    out
}

/// Remembers the pages of one read so a server that ignores the paging parameters (and
/// returns the same page again) is caught instead of looping or double-counting.
#[derive(Debug, Default)]
pub(crate) struct PageGuard {
    seen: BTreeMap<[u8; 32], u32>,
    pages: u32,
}

impl PageGuard {
    /// Records page `records`; errors when a non-empty page repeats an earlier one or the
    /// page count passes `max_pages`.
    pub fn page(&mut self, records: &[Value], max_pages: u32) -> Result<u32, Malformed> {
        self.pages += 1;
        if self.pages > max_pages {
            return Err(Malformed::Runaway(max_pages));
        }
        if records.is_empty() {
            return Ok(self.pages);
        }
        let mut h = Sha256::new();
        for r in records {
            h.update(r.to_string().as_bytes());
            h.update([0u8]);
        }
        let digest: [u8; 32] = h.finalize().into();
        if let Some(first) = self.seen.insert(digest, self.pages) {
            return Err(Malformed::RepeatedPage {
                page: self.pages,
                first,
            });
        }
        Ok(self.pages)
    }

    /// Pages seen so far.
    pub fn pages(&self) -> u32 {
        self.pages
    }
}

/// Reads a non-negative count from a header.
pub(crate) fn header_count(resp: &Response, name: &str) -> Result<Option<u64>, Malformed> {
    match resp.headers.get(name) {
        None => Ok(None),
        Some(v) => v
            .to_str()
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .map(Some)
            .ok_or_else(|| Malformed::HeaderCount {
                name: name.to_string(),
                value: format!("{v:?}"),
            }),
    }
}

/// Reads a non-negative count at a JSON pointer (absent or null = unknown).
pub(crate) fn pointer_count(body: &Value, ptr: &str) -> Result<Option<u64>, Malformed> {
    let not_a_count = |value: String| Malformed::PointerCount {
        pointer: ptr.to_string(),
        value,
    };
    match super::normalize::pointer(body, ptr) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .map(Some)
            .ok_or_else(|| not_a_count(n.to_string())),
        Some(Value::String(s)) => s
            .trim()
            .parse::<u64>()
            .map(Some)
            .map_err(|_| not_a_count(format!("{s:?}"))),
        Some(other) => Err(not_a_count(other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_errors_say_what_is_wrong() {
        assert!(parse_json(b"")
            .expect_err("empty")
            .to_string()
            .contains("empty"));
        assert!(parse_json(b"<!DOCTYPE html><html>Maintenance</html>")
            .expect_err("html")
            .to_string()
            .contains("HTML"));
        assert!(parse_json(b"{\"data\": [1, 2")
            .expect_err("truncated")
            .to_string()
            .contains("truncated"));
        assert!(parse_json(b"{\"a\" 1}")
            .expect_err("broken")
            .to_string()
            .contains("not valid JSON"));
        assert_eq!(parse_json(b" [1] ").expect("ok"), json!([1]));
    }

    #[test]
    fn one_line_collapses_and_bounds() {
        assert_eq!(one_line("a\n b\r\n\tc", 10), "a b c");
        assert_eq!(one_line("abcdef", 3), "abc…");
    }

    #[test]
    fn page_guard_catches_repeats_and_runaway_paging() {
        let mut g = PageGuard::default();
        assert_eq!(g.page(&[json!({"id": 1})], 10), Ok(1));
        assert_eq!(g.page(&[json!({"id": 2})], 10), Ok(2));
        let e = g
            .page(&[json!({"id": 1})], 10)
            .expect_err("repeat")
            .to_string();
        assert!(e.contains("page 3 repeats page 1"), "{e}");
        let mut g = PageGuard::default();
        assert!(g.page(&[], 1).is_ok());
        assert!(g
            .page(&[], 1)
            .expect_err("bound")
            .to_string()
            .contains("more than 1 pages"));
    }
}
