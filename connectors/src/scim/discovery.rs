//! What an app says it can do: `ServiceProviderConfig` (RFC 7643 §5) read into
//! [`Capabilities`], tolerating missing fields, string booleans and list-wrapped answers.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::value::get_ci;

/// Bulk support (RFC 7643 §5 `bulk`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkCaps {
    /// `bulk.supported`.
    pub supported: bool,
    /// `bulk.maxOperations`.
    pub max_operations: Option<usize>,
    /// `bulk.maxPayloadSize`, bytes.
    pub max_payload_size: Option<usize>,
}

/// Filter support (RFC 7643 §5 `filter`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilterCaps {
    /// `filter.supported`.
    pub supported: bool,
    /// `filter.maxResults`.
    pub max_results: Option<usize>,
}

/// An app's advertised capabilities; what is missing reads as "not supported".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    /// `patch.supported`.
    pub patch: bool,
    /// `bulk`.
    pub bulk: BulkCaps,
    /// `filter`.
    pub filter: FilterCaps,
    /// `etag.supported`.
    pub etag: bool,
    /// `sort.supported`.
    pub sort: bool,
    /// `changePassword.supported`.
    pub change_password: bool,
    /// `authenticationSchemes[].type` (or name).
    pub auth_schemes: Vec<String>,
    /// `documentationUri`.
    pub documentation_uri: Option<String>,
}

fn section<'a>(o: &'a Map<String, Value>, key: &str) -> Option<&'a Map<String, Value>> {
    get_ci(o, key).and_then(Value::as_object)
}

fn flag(o: &Map<String, Value>, key: &str) -> bool {
    section(o, key)
        .and_then(|s| get_ci(s, "supported"))
        .is_some_and(|v| match v {
            Value::Bool(b) => *b,
            Value::String(s) => s.eq_ignore_ascii_case("true"),
            _ => false,
        })
}

fn number(o: Option<&Map<String, Value>>, key: &str) -> Option<usize> {
    let v = get_ci(o?, key)?;
    let n = match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }?;
    usize::try_from(n).ok().filter(|n| *n > 0)
}

/// Reads a `ServiceProviderConfig` document (or a list response holding one).
pub fn parse_capabilities(doc: &Value) -> Capabilities {
    let Some(mut o) = doc.as_object() else {
        return Capabilities::default();
    };
    // Some servers answer the plural endpoint with a ListResponse.
    if let Some(first) = get_ci(o, "Resources")
        .and_then(Value::as_array)
        .and_then(|r| r.first())
        .and_then(Value::as_object)
    {
        o = first;
    }
    let bulk = section(o, "bulk");
    let filter = section(o, "filter");
    Capabilities {
        patch: flag(o, "patch"),
        bulk: BulkCaps {
            supported: flag(o, "bulk"),
            max_operations: number(bulk, "maxOperations"),
            max_payload_size: number(bulk, "maxPayloadSize"),
        },
        filter: FilterCaps {
            supported: flag(o, "filter"),
            max_results: number(filter, "maxResults"),
        },
        etag: flag(o, "etag"),
        sort: flag(o, "sort"),
        change_password: flag(o, "changePassword"),
        auth_schemes: get_ci(o, "authenticationSchemes")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_object)
                    .filter_map(|s| get_ci(s, "type").or_else(|| get_ci(s, "name")))
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
        documentation_uri: get_ci(o, "documentationUri")
            .and_then(Value::as_str)
            .map(str::to_string),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn full_document() {
        let doc = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
            "documentationUri": "https://example.com/help/scim.html",
            "patch": {"supported": true},
            "bulk": {"supported": true, "maxOperations": 1000, "maxPayloadSize": 1048576},
            "filter": {"supported": true, "maxResults": 200},
            "changePassword": {"supported": false},
            "sort": {"supported": true},
            "etag": {"supported": true},
            "authenticationSchemes": [{"type": "oauthbearertoken", "name": "OAuth Bearer Token"}]
        });
        let c = parse_capabilities(&doc);
        assert!(c.patch && c.sort && c.etag && !c.change_password);
        assert_eq!(
            c.bulk,
            BulkCaps {
                supported: true,
                max_operations: Some(1000),
                max_payload_size: Some(1_048_576)
            }
        );
        assert_eq!(
            c.filter,
            FilterCaps {
                supported: true,
                max_results: Some(200)
            }
        );
        assert_eq!(c.auth_schemes, vec!["oauthbearertoken"]);
        assert_eq!(
            c.documentation_uri.as_deref(),
            Some("https://example.com/help/scim.html")
        );
    }

    #[test]
    fn sparse_and_odd_documents() {
        assert_eq!(parse_capabilities(&json!({})), Capabilities::default());
        assert_eq!(parse_capabilities(&json!("nope")), Capabilities::default());
        let odd = json!({
            "Patch": {"Supported": "true"},
            "bulk": {"supported": true, "maxOperations": "50", "maxPayloadSize": 0},
            "filter": {"supported": false}
        });
        let c = parse_capabilities(&odd);
        assert!(c.patch);
        assert_eq!(c.bulk.max_operations, Some(50));
        assert_eq!(c.bulk.max_payload_size, None, "0 means unknown");
        assert!(!c.filter.supported);
        let listed = json!({"totalResults": 1, "Resources": [{"patch": {"supported": true}}]});
        assert!(parse_capabilities(&listed).patch);
    }
}
