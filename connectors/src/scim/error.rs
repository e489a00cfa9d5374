//! Errors of the SCIM client, each variant documented by what the caller does about it,
//! and tolerant parsing of the error bodies apps send (RFC 7644 §3.12 and deviations).

use std::time::Duration;

use serde_json::Value;

use crate::http::{HttpError, TransportKind};
use crate::redact::network_text;

use super::value::get_ci;

/// A failed SCIM operation. Every variant names the app and the operation.
#[derive(Debug, thiserror::Error)]
pub enum ScimError {
    /// The request did not get an answer (after retries): back off, and let the app's
    /// circuit breaker count it. For a create this may mean it was applied: look up.
    #[error("app {app}: {op}: {source}")]
    Transport {
        /// App name.
        app: String,
        /// Operation.
        op: &'static str,
        /// Transport failure.
        #[source]
        source: HttpError,
    },
    /// 401/403 or credentials that cannot be obtained: stop this app and alert.
    #[error("app {app}: {op}: not authorized (HTTP {status}): {detail}")]
    Unauthorized {
        /// App name.
        app: String,
        /// Operation.
        op: &'static str,
        /// HTTP status (0 when the token endpoint failed).
        status: u16,
        /// What the app said.
        detail: String,
    },
    /// 409 (with or without `scimType`), or 400 `uniqueness`: the account or group already
    /// exists. Look it up and link it; never create again blindly.
    #[error("app {app}: {op}: conflict{}: {detail}", scim_type.as_deref().map(|t| format!(" ({t})")).unwrap_or_default())]
    Conflict {
        /// App name.
        app: String,
        /// Operation.
        op: &'static str,
        /// `scimType`, usually `uniqueness`.
        scim_type: Option<String>,
        /// What the app said.
        detail: String,
    },
    /// 404: the resource is gone; treat it as deleted (re-link or re-create).
    #[error("app {app}: {op}: {what} not found")]
    NotFound {
        /// App name.
        app: String,
        /// Operation.
        op: &'static str,
        /// What was looked for, e.g. `Users/2819c223`.
        what: String,
    },
    /// 429 even after the retries: slow this app down and try again later.
    #[error("app {app}: {op}: throttled (HTTP 429){}", retry_after.map(|d| format!(", retry after {}s", d.as_secs())).unwrap_or_default())]
    Throttled {
        /// App name.
        app: String,
        /// Operation.
        op: &'static str,
        /// The app's last `Retry-After`.
        retry_after: Option<Duration>,
    },
    /// Another 4xx (or 501): permanent for this operation; quarantine the record.
    #[error("app {app}: {op}: rejected (HTTP {status}{}): {detail}", scim_type.as_deref().map(|t| format!(", {t}")).unwrap_or_default())]
    Rejected {
        /// App name.
        app: String,
        /// Operation.
        op: &'static str,
        /// HTTP status.
        status: u16,
        /// `scimType`, e.g. `invalidValue`, `mutability`, `invalidFilter`.
        scim_type: Option<String>,
        /// What the app said.
        detail: String,
    },
    /// 5xx after the retries: the app is failing; back off. For a create, look up first.
    #[error("app {app}: {op}: server error (HTTP {status}): {detail}")]
    Server {
        /// App name.
        app: String,
        /// Operation.
        op: &'static str,
        /// HTTP status.
        status: u16,
        /// What the app said.
        detail: String,
    },
    /// A success answer that is not the SCIM JSON the operation needs: treat like a server
    /// error; the app may be misconfigured (wrong base URL, a login page).
    #[error("app {app}: {op}: invalid response: {detail}")]
    InvalidResponse {
        /// App name.
        app: String,
        /// Operation.
        op: &'static str,
        /// What is wrong with it.
        detail: String,
    },
    /// Several different accounts (or groups) match one person (or name): never guess;
    /// report it and leave the person unlinked until someone resolves it.
    #[error("app {app}: {op}: {criteria} match several resources ({}); refusing to guess", ids.join(", "))]
    Ambiguous {
        /// App name.
        app: String,
        /// Operation.
        op: &'static str,
        /// Which criteria matched, e.g. `externalId "E1", userName "a@x"`.
        criteria: String,
        /// The ids of the resources that matched.
        ids: Vec<String>,
    },
    /// The record cannot be sent to this app as it is (a required attribute is missing, a
    /// value breaks the app's documented limits): quarantine the record, go on.
    #[error("app {app}: {op}: invalid record: {detail}")]
    InvalidRecord {
        /// App name.
        app: String,
        /// Operation.
        op: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// The app cannot do this at all (e.g. list users without a filter): skip this step.
    #[error("app {app}: {op}: not supported by this app: {detail}")]
    Unsupported {
        /// App name.
        app: String,
        /// Operation.
        op: &'static str,
        /// Why.
        detail: String,
    },
}

impl ScimError {
    /// The app this error belongs to.
    pub fn app(&self) -> &str {
        match self {
            ScimError::Transport { app, .. }
            | ScimError::Unauthorized { app, .. }
            | ScimError::Conflict { app, .. }
            | ScimError::NotFound { app, .. }
            | ScimError::Throttled { app, .. }
            | ScimError::Rejected { app, .. }
            | ScimError::Server { app, .. }
            | ScimError::InvalidResponse { app, .. }
            | ScimError::Ambiguous { app, .. }
            | ScimError::InvalidRecord { app, .. }
            | ScimError::Unsupported { app, .. } => app,
        }
    }

    /// The HTTP status the app answered, when there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            ScimError::Unauthorized { status, .. } if *status != 0 => Some(*status),
            ScimError::Conflict { .. } => Some(409),
            ScimError::NotFound { .. } => Some(404),
            ScimError::Throttled { .. } => Some(429),
            ScimError::Rejected { status, .. } | ScimError::Server { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The `scimType` the app gave, if any.
    pub fn scim_type(&self) -> Option<&str> {
        match self {
            ScimError::Conflict { scim_type, .. } | ScimError::Rejected { scim_type, .. } => {
                scim_type.as_deref()
            }
            _ => None,
        }
    }

    /// True when a write may have been applied although it failed (timeout, broken
    /// connection, 5xx, 409): the caller must look the resource up before trying again.
    pub fn needs_lookup(&self) -> bool {
        match self {
            ScimError::Transport { source, .. } => matches!(
                source.transport_kind(),
                Some(TransportKind::Timeout | TransportKind::Broken)
            ),
            ScimError::Conflict { .. } | ScimError::Server { .. } => true,
            _ => false,
        }
    }

    /// True when the app as a whole is failing (auth or transport), so its circuit should
    /// count this error, rather than one record being bad.
    pub fn is_app_failure(&self) -> bool {
        matches!(
            self,
            ScimError::Transport { .. }
                | ScimError::Unauthorized { .. }
                | ScimError::Server { .. }
                | ScimError::Throttled { .. }
                | ScimError::InvalidResponse { .. }
        )
    }
}

/// What an error body said, whatever its shape.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorBody {
    /// `status` (a string per the RFC, an integer in some apps).
    pub status: Option<u16>,
    /// `scimType`.
    pub scim_type: Option<String>,
    /// `detail` or the closest thing to it; a short excerpt for non-JSON bodies.
    pub detail: Option<String>,
}

/// The longest `detail` kept from an error body.
const DETAIL_CHARS: usize = 300;
/// The longest text kept from a page that is not JSON.
const PAGE_CHARS: usize = 200;
/// The longest `scimType` kept (the RFC's are under 20 characters).
const SCIM_TYPE_CHARS: usize = 64;

/// Reads an error body (every text in it redacted and bounded): SCIM JSON with `status` as a string or integer, other JSON error
/// shapes (`message`, `error_description`, `Errors`), HTML pages (their title or text),
/// plain text, or nothing.
pub fn parse_error_body(body: &[u8]) -> ErrorBody {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return ErrorBody::default();
    }
    if let Ok(Value::Object(o)) = serde_json::from_str::<Value>(text) {
        let status = get_ci(&o, "status").and_then(|s| match s {
            Value::String(s) => s.trim().parse().ok(),
            Value::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
            _ => None,
        });
        let scim_type = get_ci(&o, "scimType")
            .and_then(Value::as_str)
            .map(|t| network_text(t, SCIM_TYPE_CHARS));
        let nested = get_ci(&o, "Errors").and_then(|e| match e {
            Value::Array(a) => a.first().cloned(),
            other => Some(other.clone()),
        });
        let detail = ["detail", "message", "error_description", "error"]
            .iter()
            .find_map(|k| get_ci(&o, k).and_then(Value::as_str))
            .or_else(|| {
                nested
                    .as_ref()
                    .and_then(Value::as_object)
                    .and_then(|n| get_ci(n, "description").or_else(|| get_ci(n, "detail")))
                    .and_then(Value::as_str)
            })
            .map(|s| network_text(s, DETAIL_CHARS));
        return ErrorBody {
            status,
            scim_type,
            detail,
        };
    }
    ErrorBody {
        status: None,
        scim_type: None,
        detail: Some(network_text(&html_text(text), PAGE_CHARS)).filter(|s| !s.is_empty()),
    }
}

/// The title of an HTML page, or its text without tags; plain text unchanged.
fn html_text(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    if !lower.contains('<') {
        return text.to_string();
    }
    if let (Some(a), Some(b)) = (lower.find("<title>"), lower.find("</title>")) {
        if a + 7 <= b {
            return text[a + 7..b].trim().to_string();
        }
    }
    let mut out = String::new();
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_of_every_shape() {
        // (body, status, scimType, detail)
        type Row = (
            &'static str,
            Option<u16>,
            Option<&'static str>,
            Option<&'static str>,
        );
        let table: &[Row] = &[
            (
                r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"409","scimType":"uniqueness","detail":"userName taken"}"#,
                Some(409),
                Some("uniqueness"),
                Some("userName taken"),
            ),
            (
                r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":400,"detail":"missing_schema_element"}"#,
                Some(400),
                None,
                Some("missing_schema_element"),
            ),
            (
                r#"{"Errors":{"description":"no_such_user","code":404}}"#,
                None,
                None,
                Some("no_such_user"),
            ),
            (
                r#"{"message":"Rate exceeded"}"#,
                None,
                None,
                Some("Rate exceeded"),
            ),
            (
                "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
                None,
                None,
                Some("502 Bad Gateway"),
            ),
            (
                "<html><body><h1>Oops</h1> <p>try later</p></body></html>",
                None,
                None,
                Some("Oops try later"),
            ),
            (
                "Service Unavailable",
                None,
                None,
                Some("Service Unavailable"),
            ),
            ("", None, None, None),
            ("   \n", None, None, None),
            (r#"{"status":"not a number"}"#, None, None, None),
        ];
        for &(body, status, scim_type, detail) in table {
            let got = parse_error_body(body.as_bytes());
            assert_eq!(got.status, status, "{body}");
            assert_eq!(got.scim_type.as_deref(), scim_type, "{body}");
            assert_eq!(got.detail.as_deref(), detail, "{body}");
        }
    }

    #[test]
    fn messages_name_the_app_and_operation() {
        let e = ScimError::Conflict {
            app: "slack".into(),
            op: "create_user",
            scim_type: Some("uniqueness".into()),
            detail: "taken".into(),
        };
        assert_eq!(
            e.to_string(),
            "app slack: create_user: conflict (uniqueness): taken"
        );
        assert!(e.needs_lookup());
        assert_eq!(e.status(), Some(409));
        let t = ScimError::Throttled {
            app: "zoom".into(),
            op: "get_user",
            retry_after: Some(Duration::from_secs(3)),
        };
        assert_eq!(
            t.to_string(),
            "app zoom: get_user: throttled (HTTP 429), retry after 3s"
        );
        assert!(t.is_app_failure());
        let r = ScimError::Rejected {
            app: "github".into(),
            op: "update_user",
            status: 400,
            scim_type: Some("invalidValue".into()),
            detail: "bad email".into(),
        };
        assert!(!r.needs_lookup() && !r.is_app_failure());
        assert_eq!(r.app(), "github");
    }
}
