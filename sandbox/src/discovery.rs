//! Discovery documents (RFC 7644 §4): `/ServiceProviderConfig`, `/Schemas` and
//! `/ResourceTypes`, reflecting what the active profile supports.

use serde_json::{json, Value};

use super::error::ScimError;
use super::imitation::{Imitation as _, Profile};
use super::schema::{all_schemas, resource_type_json, schema_json, Kind};

/// The URN of a list response.
pub const LIST_URN: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

/// The service provider configuration.
pub fn service_provider_config(p: &Profile, base: &str) -> Value {
    let (bulk_ok, max_ops, max_payload) = match p.bulk_limits {
        Some(b) => (true, b.max_operations, b.max_payload_size),
        None => (false, 0, 0),
    };
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "patch": {"supported": true},
        "bulk": {"supported": bulk_ok, "maxOperations": max_ops, "maxPayloadSize": max_payload},
        "filter": {"supported": true, "maxResults": p.max_results()},
        "changePassword": {"supported": false},
        "sort": {"supported": p.sort},
        "etag": {"supported": p.etag},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "Authentication with a bearer token in the Authorization header",
            "primary": true,
        }],
        "meta": {"resourceType": "ServiceProviderConfig",
                 "location": format!("{base}/{}", p.config_endpoint())},
    })
}

fn list_of(items: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_URN],
        "totalResults": items.len(),
        "itemsPerPage": items.len(),
        "startIndex": 1,
        "Resources": items,
    })
}

/// `/Schemas`.
pub fn schemas(base: &str) -> Value {
    list_of(all_schemas().iter().map(|s| schema_json(s, base)).collect())
}

/// `/Schemas/{urn}`.
pub fn schema(base: &str, id: &str) -> Result<Value, ScimError> {
    all_schemas()
        .iter()
        .find(|s| s.id.eq_ignore_ascii_case(id))
        .map(|s| schema_json(s, base))
        .ok_or_else(|| ScimError::not_found("Schema", id))
}

/// `/ResourceTypes`.
pub fn resource_types(base: &str) -> Value {
    list_of(
        [Kind::User, Kind::Group]
            .iter()
            .map(|k| resource_type_json(*k, base))
            .collect(),
    )
}

/// `/ResourceTypes/{name}`.
pub fn resource_type(base: &str, name: &str) -> Result<Value, ScimError> {
    [Kind::User, Kind::Group]
        .iter()
        .find(|k| k.name().eq_ignore_ascii_case(name))
        .map(|k| resource_type_json(*k, base))
        .ok_or_else(|| ScimError::not_found("ResourceType", name))
}
