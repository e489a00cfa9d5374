//! SCIM error answers of the sandbox (RFC 7644 §3.12): status, `scimType`, detail, and the
//! JSON body in the shape the active profile uses.

use serde_json::{json, Value};

/// The URN of a SCIM error message.
pub const ERROR_URN: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// One SCIM error: what the client is told, and the HTTP status it comes with.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{status} {}: {detail}", scim_type.unwrap_or("-"))]
pub struct ScimError {
    /// HTTP status code.
    pub status: u16,
    /// RFC 7644 Table 9 keyword, when one applies.
    pub scim_type: Option<&'static str>,
    /// Human-readable explanation.
    pub detail: String,
    /// Seconds for a `Retry-After` header (429 and 503).
    pub retry_after: Option<u64>,
}

impl ScimError {
    /// An error with the given status and keyword.
    pub fn new(status: u16, scim_type: Option<&'static str>, detail: impl Into<String>) -> Self {
        ScimError {
            status,
            scim_type,
            detail: detail.into(),
            retry_after: None,
        }
    }

    /// 400 `invalidFilter`.
    pub fn invalid_filter(detail: impl Into<String>) -> Self {
        Self::new(400, Some("invalidFilter"), detail)
    }

    /// 400 `invalidSyntax`.
    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        Self::new(400, Some("invalidSyntax"), detail)
    }

    /// 400 `invalidValue`.
    pub fn invalid_value(detail: impl Into<String>) -> Self {
        Self::new(400, Some("invalidValue"), detail)
    }

    /// 400 `invalidPath`.
    pub fn invalid_path(detail: impl Into<String>) -> Self {
        Self::new(400, Some("invalidPath"), detail)
    }

    /// 400 `noTarget`.
    pub fn no_target(detail: impl Into<String>) -> Self {
        Self::new(400, Some("noTarget"), detail)
    }

    /// 400 `mutability`.
    pub fn mutability(detail: impl Into<String>) -> Self {
        Self::new(400, Some("mutability"), detail)
    }

    /// 400 `tooMany`.
    pub fn too_many(detail: impl Into<String>) -> Self {
        Self::new(400, Some("tooMany"), detail)
    }

    /// 409 `uniqueness`.
    pub fn uniqueness(detail: impl Into<String>) -> Self {
        Self::new(409, Some("uniqueness"), detail)
    }

    /// 404 for a resource that does not exist.
    pub fn not_found(kind: &str, id: &str) -> Self {
        Self::new(404, None, format!("{kind} {id} not found"))
    }

    /// 429 with `Retry-After`.
    pub fn throttled(detail: impl Into<String>, retry_after_secs: u64) -> Self {
        let mut e = Self::new(429, None, detail);
        e.retry_after = Some(retry_after_secs.max(1));
        e
    }

    /// 500 for a failure of the sandbox's own storage.
    pub fn internal(detail: impl Into<String>) -> Self {
        Self::new(500, None, detail)
    }

    /// The SCIM error body; `status_as_int` reproduces apps that send the status as a number.
    pub fn body(&self, status_as_int: bool) -> Value {
        let status = if status_as_int {
            json!(self.status)
        } else {
            json!(self.status.to_string())
        };
        let mut body = json!({
            "schemas": [ERROR_URN],
            "status": status,
            "detail": self.detail,
        });
        if let (Some(t), Some(map)) = (self.scim_type, body.as_object_mut()) {
            map.insert("scimType".into(), json!(t));
        }
        body
    }
}

/// The database thread has stopped; the sandbox is shutting down.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the sandbox store is closed")]
pub struct StoreClosed;

impl From<StoreClosed> for ScimError {
    fn from(e: StoreClosed) -> Self {
        ScimError::internal(e.to_string())
    }
}
